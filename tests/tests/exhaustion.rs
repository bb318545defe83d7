//! Resource exhaustion: fields that fold the log cost what they cost, so one request
//! cannot ask for hundreds of folds.
#![allow(clippy::unwrap_used)]

use seguimiento_system_tests::*;
use serde_json::json;

fn aliased_as_of(n: usize) -> String {
    let fields: String = (0..n)
        .map(|i| {
            format!(
                "a{i}: compliance(scope: COMMITMENT_ACTIONS, asOf: \"2030-01-01T00:00:00Z\") {{ total {{ items }} }} "
            )
        })
        .collect();
    format!("{{ {fields} }}")
}

async fn many_folds_in_one_request_are_refused_before_any_runs(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    // A handful of past-date views is an ordinary dashboard request.
    let data = s.ok(&s.viewer, &aliased_as_of(5), json!({})).await;
    assert_eq!(data["a4"]["total"]["items"], 2, "{data}");
    // Hundreds of them are refused as a whole, before any fold starts.
    let (status, body) = s.gql(Some(&s.viewer), &aliased_as_of(600), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(&body).as_deref(), Some("LIMIT_EXCEEDED"), "{body}");
    assert!(body["data"].is_null(), "{body}");
    // The same number of live reads is cheap, and allowed up to the plain field limit.
    let live: String = (0..100)
        .map(|i| format!("a{i}: compliance(scope: COMMITMENT_ACTIONS) {{ total {{ items }} }} "))
        .collect();
    let data = s.ok(&s.viewer, &format!("{{ {live} }}"), json!({})).await;
    assert_eq!(data["a99"]["total"]["items"], 2, "{data}");
    s.stop().await;
}
on_both_backends!(Db: many_folds_in_one_request_are_refused_before_any_runs);

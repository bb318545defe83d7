//! The response cache of pure read-model queries, through the real router: what is kept,
//! for whom, and when a kept answer stops being served.

mod common;

use common::*;
use seguimiento_api::cache::CACHEABLE_ROOT_FIELDS;
use serde_json::{json, Value};

const COMPLIANCE: &str = "{ compliance(scope: COMMITMENT_ACTIONS) { reportDate \
    rows { key compliancePct concluded inProgress } total { compliancePct } } }";

fn hits(s: &Server) -> u64 {
    s.state.response_cache().map_or(0, |c| c.hits())
}

fn stored(s: &Server) -> u64 {
    s.state.response_cache().map_or(0, |c| c.stored())
}

/// The answer to `query` as `token`, which must have no errors.
async fn answer(s: &Server, token: &str, query: &str) -> Value {
    s.ok(token, query, json!({})).await
}

async fn a_cached_compliance_answer_changes_after_a_mutation_that_changes_it(s: &Server) {
    seed(s).await;
    let first = answer(s, &s.viewer, COMPLIANCE).await;
    assert_eq!(stored(s), 1, "a live compliance answer is kept");
    let again = answer(s, &s.viewer, COMPLIANCE).await;
    assert_eq!(hits(s), 1, "the same request is served from the cache");
    assert_eq!(first, again);
    assert_eq!(first["compliance"]["rows"][1]["key"], "CEA");
    assert_eq!(first["compliance"]["rows"][1]["compliancePct"], "30.00");

    // CEA concludes a second action: its figure moves from 30 % to 65 %.
    s.must(
        &s.admin,
        "registerAction",
        json!({
        "number": 1, "actionId": "00000000-0000-4000-8000-000000000003", "agency": "CEA",
        "description": "Obra", "status": "CONCLUDED", "progress": null,
        "investmentMxn": "10", "date": "2023-07-02"}),
    )
    .await;
    let after = answer(s, &s.viewer, COMPLIANCE).await;
    assert_eq!(hits(s), 1, "the old answer is not served after the change");
    assert_ne!(after, first);
    let cea = after["compliance"]["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["key"] == "CEA"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(cea["compliancePct"], "65.00", "{after}");
    // And the new answer is the one kept from now on.
    let again = answer(s, &s.viewer, COMPLIANCE).await;
    assert_eq!(hits(s), 2);
    assert_eq!(again, after);
}
seguimiento_eventstore::on_both_backends!(common::Server: a_cached_compliance_answer_changes_after_a_mutation_that_changes_it);

async fn answers_are_kept_per_role_and_agency(s: &Server) {
    seed(s).await;
    let viewer = answer(s, &s.viewer, COMPLIANCE).await;
    for token in [&s.admin, &s.auditor, &s.capturista] {
        let before = hits(s);
        let other = answer(s, token, COMPLIANCE).await;
        assert_eq!(hits(s), before, "another role's answer was served");
        assert_eq!(other, viewer, "aggregates read the same for every role");
    }
    assert_eq!(stored(s), 4, "one entry per role (and agency)");
    answer(s, &s.capturista, COMPLIANCE).await;
    assert_eq!(hits(s), 1);
}
seguimiento_eventstore::on_both_backends!(common::Server: answers_are_kept_per_role_and_agency);

async fn history_records_personal_data_catalog_and_as_of_are_never_cached(s: &Server) {
    seed(s).await;
    let agreement = format!("agreement-{AGREEMENT_ID}");
    let never = [
        (&s.auditor, format!(r#"{{ history(stream: "{agreement}") {{ edges {{ node {{ type }} }} }} }}"#)),
        (&s.auditor, format!(r#"{{ verify(stream: "{agreement}") {{ ok }} }}"#)),
        (&s.auditor, format!(r#"{{ petition(id: "{PETITION_ID}") {{ topic }} }}"#)),
        (&s.admin, format!(r#"{{ agreement(id: "{AGREEMENT_ID}") {{ description }} }}"#)),
        (&s.admin, "{ commitment(number: 1) { text } }".to_owned()),
        (&s.viewer, "{ agencies { acronym } }".to_owned()),
        (&s.viewer, "{ commitments { edges { node { number agencies { acronym } } } } }".to_owned()),
        (&s.viewer, "{ correspondenceByAgency(year: 2023) { acronym agency { name } } }".to_owned()),
        (&s.viewer, r#"{ compliance(scope: COMMITMENT_ACTIONS, asOf: "2030-01-01T00:00:00Z") { total { compliancePct } } }"#.to_owned()),
        (&s.viewer, r#"{ cabinetReport(effectiveAt: "2023-06-30T00:00:00Z") { overall { agreements } } }"#.to_owned()),
        (&s.auditor, format!(r#"{{ compliance(scope: COMMITMENT_ACTIONS) {{ total {{ items }} }} history(stream: "{agreement}") {{ edges {{ cursor }} }} }}"#)),
        (&s.viewer, "{ __schema { queryType { name } } }".to_owned()),
    ];
    for (token, query) in &never {
        for _ in 0..2 {
            answer(s, token, query).await;
        }
        assert_eq!(stored(s), 0, "kept: {query}");
    }
    assert_eq!(hits(s), 0);
    // Mutations neither.
    let commitment = json!({"number": 2, "text": "Otro"});
    s.must(&s.admin, "registerCommitment", commitment).await;
    assert_eq!(stored(s), 0);
    // Each root field allowed is one whose resolver records what it read.
    assert!(!CACHEABLE_ROOT_FIELDS.contains(&"history"));
}
seguimiento_eventstore::on_both_backends!(common::Server: history_records_personal_data_catalog_and_as_of_are_never_cached);

async fn answers_with_errors_are_not_cached(s: &Server) {
    seed(s).await;
    let failing = [
        // A cacheable field failing on its own.
        "{ commitments(first: 1000) { edges { cursor } } }",
        // A partial answer: data for one field, an error for the other.
        "{ compliance(scope: COMMITMENT_ACTIONS) { total { items } } verify { ok } }",
        // Not even valid.
        "{ compliance(scope: COMMITMENT_ACTIONS) { nope } }",
    ];
    for query in failing {
        for _ in 0..2 {
            let (_, body) = s.gql(Some(&s.viewer), query, json!({})).await;
            assert!(body.get("errors").is_some(), "{query}: {body}");
        }
    }
    assert_eq!(stored(s), 0);
    assert_eq!(hits(s), 0);
}
seguimiento_eventstore::on_both_backends!(common::Server: answers_with_errors_are_not_cached);

async fn every_pure_report_is_served_again_until_it_changes(s: &Server) {
    seed(s).await;
    let reports = [
        "{ compliance(scope: CABINET_AGREEMENTS) { total { items } } }",
        r#"{ complianceExplain(scope: ACTIVITIES, key: "Ana") { itemId } }"#,
        "{ cabinetReport(year: 2023) { overall { agreements compliancePct } } }",
        "{ commitments { actions edges { node { number } } } }",
        "{ correspondenceMonthly(year: 2023) { total { relevantes } } }",
        "{ correspondenceByAgency(year: 2023) { acronym lettersTurned } }",
        "{ petitionsMonthly(year: 2023) { total { received } } }",
    ];
    for query in reports {
        // The explanation lists records, which viewers do not read.
        let who = if query.contains("complianceExplain") {
            &s.auditor
        } else {
            &s.viewer
        };
        let first = answer(s, who, query).await;
        let before = hits(s);
        assert_eq!(answer(s, who, query).await, first, "{query}");
        assert_eq!(hits(s), before + 1, "not served again: {query}");
    }
}
seguimiento_eventstore::on_both_backends!(common::Server: every_pure_report_is_served_again_until_it_changes);

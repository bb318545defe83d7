//! Poison input: values that used to be stored and then took reports down for good (an
//! immutable log keeps them forever). New ones are refused with `VALIDATION` before
//! anything is stored; ones an older release stored leave only the affected row without
//! its figure, with a typed error naming the event's position, while every other row and
//! every other report answers as usual. Also: a reused `commandId` with another command is
//! `IDEMPOTENCY_CONFLICT`, never a silent loss.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use seguimiento_domain::values::{Mxn, Status};
use seguimiento_domain::DomainEvent;
use seguimiento_eventstore::{ExpectedVersion, Metadata, NewEvent};
use seguimiento_system_tests::*;
use serde_json::{json, Value};
use uuid::Uuid;

/// The largest value a 96-bit decimal holds: two of them overflow a sum.
const DECIMAL_MAX: &str = "79228162514264337593543950335";

async fn head(s: &Server) -> u64 {
    s.app.store().head_position().await.unwrap()
}

/// What an older release, which did not bound amounts, could store: an action of `agency`
/// on commitment 1 with a huge investment. Returns its position.
async fn store_legacy_action(s: &Server, agency: &str) -> u64 {
    let event = DomainEvent::ActionRegistered {
        action_id: Uuid::new_v4(),
        agency: agency.into(),
        description: "Obra".into(),
        status: Status::InProgress,
        progress: None,
        investment_mxn: DECIMAL_MAX.parse::<Mxn>().unwrap(),
        date: chrono::NaiveDate::from_ymd_opt(2023, 7, 1).unwrap(),
    };
    let (event_type, schema_version, payload) = event.to_stored();
    let r = s
        .app
        .store()
        .append(
            "commitment-1",
            ExpectedVersion::Any,
            vec![NewEvent {
                id: Uuid::new_v4(),
                event_type,
                schema_version,
                payload,
                metadata: Metadata {
                    actor: "older-release".into(),
                    ..Metadata::default()
                },
                effective_at: None,
            }],
        )
        .await
        .unwrap();
    r.positions[0]
}

const COMPLIANCE: &str = "query($asOf: DateTime, $effectiveAt: DateTime) {
    compliance(scope: COMMITMENT_ACTIONS, asOf: $asOf, effectiveAt: $effectiveAt) {
        rows { key concluded inProgress investmentMxn error { code position message } }
        total { key inProgress investmentMxn error { code position } } } }";

fn row<'a>(data: &'a Value, key: &str) -> &'a Value {
    data["compliance"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row {key} in {data}"))
}

async fn amounts_are_bounded_and_stored_overflows_stay_in_their_row(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let before = head(&s).await;

    // A new amount over the documented maximum is refused before anything is stored.
    let action = |investment: &str| {
        json!({"number": 1, "actionId": Uuid::new_v4(), "agency": "SIDUR",
               "description": "Obra", "status": "IN_PROGRESS", "progress": null,
               "investmentMxn": investment, "date": "2023-07-01"})
    };
    for bad in [DECIMAL_MAX, "1000000000000000.00"] {
        let (status, body) = s
            .mutate(&s.admin, "registerAction", action(bad), json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(code(&body).as_deref(), Some("VALIDATION"), "{bad}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("investmentMxn"), "{message}");
    }
    s.must(&s.admin, "registerAction", action("999999999999999.99"))
        .await;
    assert_eq!(head(&s).await, before + 1);

    // Huge amounts an older release stored: SIDUR's sum (already over a thousand pesos)
    // overflows at the first of them.
    let poison = store_legacy_action(&s, "SIDUR").await;
    store_legacy_action(&s, "SIDUR").await;
    s.settle().await;

    let now = chrono::Utc::now().to_rfc3339();
    for vars in [json!({}), json!({"asOf": now}), json!({"effectiveAt": now})] {
        let data = s.ok(&s.viewer, COMPLIANCE, vars.clone()).await;
        let sidur = row(&data, "SIDUR");
        assert_eq!(sidur["investmentMxn"], Value::Null, "{vars}: {sidur}");
        assert_eq!(sidur["error"]["code"], "AMOUNT_OVERFLOW", "{vars}: {sidur}");
        assert_eq!(sidur["error"]["position"], poison, "{vars}: {sidur}");
        // Its counts are still there, and every other row answers normally.
        assert_eq!(sidur["inProgress"], 4, "{vars}: {sidur}");
        let cea = row(&data, "CEA");
        assert_eq!(cea["investmentMxn"], "200.00", "{vars}: {cea}");
        assert_eq!(cea["error"], Value::Null, "{vars}: {cea}");
        let total = &data["compliance"]["total"];
        assert_eq!(total["investmentMxn"], Value::Null, "{vars}: {total}");
        assert_eq!(total["error"]["code"], "AMOUNT_OVERFLOW", "{vars}: {total}");
    }

    let data = s
        .ok(
            &s.viewer,
            "{ commitments { investmentMxn error { code position }
                 edges { node { number actions investmentMxn error { code position } } } } }",
            json!({}),
        )
        .await;
    let node = &data["commitments"]["edges"][0]["node"];
    assert_eq!(node["actions"], 5, "{data}");
    assert_eq!(node["investmentMxn"], Value::Null, "{data}");
    assert_eq!(node["error"]["position"], poison, "{data}");
    assert_eq!(data["commitments"]["error"]["code"], "AMOUNT_OVERFLOW");

    let data = s
        .ok(
            &s.auditor,
            "{ commitment(number: 1) { number investmentMxn error { code } actions { investmentMxn } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["commitment"]["investmentMxn"], Value::Null, "{data}");
    assert_eq!(data["commitment"]["error"]["code"], "AMOUNT_OVERFLOW");
    assert_eq!(data["commitment"]["actions"].as_array().unwrap().len(), 5);

    assert_eq!(s.get("/healthz").await.0, 200);
    s.stop().await;
}
on_both_backends!(Db: amounts_are_bounded_and_stored_overflows_stay_in_their_row);

async fn the_semaforo_report_of_a_poisoned_log_still_prints(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let poison = store_legacy_action(&s, "SIDUR").await;
    store_legacy_action(&s, "SIDUR").await;
    s.stop().await;
    for args in [
        vec!["report", "semaforo-compromisos", "--db", &db.url],
        vec![
            "report",
            "semaforo-compromisos",
            "--db",
            &db.url,
            "--effective-at",
            "2030-01-01",
        ],
    ] {
        let out = run_cli(&args, Duration::from_secs(120));
        let stdout = expect_success("report semaforo-compromisos", &out);
        assert!(
            stdout.contains(&format!("AMOUNT_OVERFLOW (posición {poison})")),
            "{stdout}"
        );
        assert!(stdout.contains("CEA"), "{stdout}");
    }
}
on_both_backends!(Db: the_semaforo_report_of_a_poisoned_log_still_prints);

async fn text_dates_and_numbers_outside_the_policy_are_refused(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let before = head(&s).await;
    let refused = [
        (
            "registerAgency",
            json!({"acronym": "SI\u{0}DUR", "name": "Con NUL", "sectorHead": null}),
            "acronym",
        ),
        (
            "receiveLetter",
            json!({"folio": "F".repeat(3000), "unit": "DGGD", "classification": "RELEVANT",
                   "sender": "X", "subject": "Y", "receivedAt": "2023-02-01T16:00:00Z"}),
            "folio",
        ),
        (
            "receiveLetter",
            json!({"folio": "DGGD-9", "unit": "DGGD", "classification": "RELEVANT",
                   "sender": "Línea\nrota", "subject": "Y", "receivedAt": "2023-02-01T16:00:00Z"}),
            "sender",
        ),
        (
            "registerAction",
            json!({"number": 1, "actionId": Uuid::new_v4(), "agency": "SIDUR",
                   "description": "Obra", "status": "PENDING", "progress": null,
                   "investmentMxn": "1", "date": "-2023-01-01"}),
            "date",
        ),
        (
            "registerCommitment",
            json!({"number": 10000, "text": "Fuera de rango"}),
            "number",
        ),
        (
            "createAgreement",
            json!({"agreementId": Uuid::new_v4(), "kind": "AGREEMENT", "origin": "SPECIAL_PROJECT",
                   "meetingId": null, "description": "D", "agencies": ["SIDUR"],
                   "responsiblePerson": "P", "issuer": "G", "issuedOn": "2023-03-01",
                   "dueOn": null, "budget": [{"year": 2023, "amountMxn": DECIMAL_MAX}]}),
            "amountMxn",
        ),
    ];
    for (name, input, field) in refused {
        let (status, body) = s.mutate(&s.admin, name, input, json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(code(&body).as_deref(), Some("VALIDATION"), "{name}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{name}: {message}");
    }
    assert_eq!(head(&s).await, before, "nothing refused may be stored");

    let (_, body) = s
        .gql(
            Some(&s.auditor),
            "{ commitment(number: 2147483648) { number } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_some(), "{body}");
    let (_, body) = s
        .gql(
            Some(&s.auditor),
            "{ commitment(number: 100000) { number } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body).as_deref(), Some("VALIDATION"), "{body}");
    s.stop().await;
}
on_both_backends!(Db: text_dates_and_numbers_outside_the_policy_are_refused);

async fn a_command_id_reused_for_another_command_is_a_conflict(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let id = Uuid::now_v7().to_string();
    let run = |token: String, text: &'static str| {
        let s = &s;
        let id = id.clone();
        async move {
            s.mutate(
                &token,
                "registerCommitment",
                json!({"number": 7, "text": text}),
                json!({"commandId": id}),
            )
            .await
        }
    };
    let (_, first) = run(s.admin.clone(), "Hospital").await;
    assert_eq!(
        first["data"]["registerCommitment"]["replayed"], false,
        "{first}"
    );
    let after_first = head(&s).await;

    let (_, other) = run(s.admin.clone(), "Otra cosa").await;
    assert_eq!(
        code(&other).as_deref(),
        Some("IDEMPOTENCY_CONFLICT"),
        "{other}"
    );
    assert_eq!(
        head(&s).await,
        after_first,
        "nothing stored for the conflict"
    );

    let (_, again) = run(s.admin.clone(), "Hospital").await;
    assert_eq!(
        again["data"]["registerCommitment"]["replayed"], true,
        "{again}"
    );
    assert_eq!(
        again["data"]["registerCommitment"]["positions"],
        first["data"]["registerCommitment"]["positions"]
    );

    // A caller who may not run the command never gets a success answer for it.
    let (_, viewer) = run(s.viewer.clone(), "Hospital").await;
    assert_eq!(code(&viewer).as_deref(), Some("FORBIDDEN"), "{viewer}");
    assert_eq!(head(&s).await, after_first);
    s.stop().await;
}
on_both_backends!(Db: a_command_id_reused_for_another_command_is_a_conflict);

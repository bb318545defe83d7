//! Bad input: arbitrary text and JSON fed to the import parser, to `App::import` and to
//! command validation (`serde_json::from_value::<Command>` + `decide`) never panic, every bad
//! line is a typed error with its line number and nothing is stored; hostile GraphQL
//! requests (over the limits, oversized, invalid UTF-8, invalid dates, time zones and
//! amounts, SQL metacharacters) get a typed error each, or are stored verbatim as data, and
//! the server stays healthy.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use chrono::Utc;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use seguimiento_app::import::ImportOptions;
use seguimiento_app::{App, ImportLine, Principal};
use seguimiento_domain::agency::AgencyCatalog;
use seguimiento_domain::{decide, Aggregate as _, Command, Context};
use seguimiento_system_tests::*;
use serde_json::{json, Value};

const COMMAND_NAMES: &[&str] = &[
    "registerAgency",
    "renameAgency",
    "designateLiaison",
    "holdCabinetMeeting",
    "createAgreement",
    "reportAgreementProgress",
    "correctAgreementEvent",
    "registerCommitment",
    "registerAction",
    "reportActionProgress",
    "createActivity",
    "receiveLetter",
    "turnLetter",
    "receivePetition",
    "turnPetition",
    "closePetition",
    "noSuchCommand",
];

const FIELD_NAMES: &[&str] = &[
    "acronym",
    "name",
    "sectorHead",
    "number",
    "text",
    "agencies",
    "actionId",
    "agency",
    "description",
    "status",
    "progress",
    "investmentMxn",
    "date",
    "folio",
    "unit",
    "classification",
    "sender",
    "subject",
    "receivedAt",
    "petitionId",
    "citizenId",
    "contact",
    "meetingId",
    "meetingType",
    "agreementId",
    "kind",
    "origin",
];

/// Arbitrary JSON, biased towards the shapes the parser looks for.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".*".prop_map(Value::from),
        prop::sample::select(vec![
            "2023-02-30",
            "2023-06-30T17:00:00+25:00",
            "-5",
            "NaN",
            "1e400",
            "SIDUR",
            "IN_PROGRESS",
            "00000000-0000-4000-8000-000000000001",
            "'; DROP TABLE events; --",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
                    ".{0,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A command-shaped object with a (mostly) real command name and arbitrary input.
fn command_json() -> impl Strategy<Value = Value> {
    (prop::sample::select(COMMAND_NAMES), any_json())
        .prop_map(|(name, input)| json!({"command": name, "input": input}))
}

/// One line of an import file: any text, any JSON, a command line or an event line.
fn any_line() -> impl Strategy<Value = String> {
    prop_oneof![
        ".*",
        any_json().prop_map(|v| v.to_string()),
        command_json().prop_map(|v| v.to_string()),
        (any_json(), ".{0,12}").prop_map(|(payload, t)| json!({
            "eventType": t, "id": "00000000-0000-4000-8000-00000000000f", "stream": "x",
            "schemaVersion": 1, "payload": payload, "effectiveAt": "2023-01-01T00:00:00Z"
        })
        .to_string()),
    ]
}

#[test]
fn arbitrary_import_lines_are_rejected_with_their_line_number_and_store_nothing_else() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(Db::new(Backend::Sqlite)).unwrap();
    let app = App::from_store(db.store().clone());
    let admin = Principal::system("proptest");
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(any_line(), 1..8), |texts| {
            let mut parsed = Vec::new();
            let mut parse_errors = BTreeSet::new();
            for (i, text) in texts.iter().enumerate() {
                let r = ImportLine::parse(i + 1, text);
                if let Err(e) = &r {
                    prop_assert_eq!(e.line, i + 1, "rejection with the wrong line number");
                    prop_assert!(!e.reason.trim().is_empty(), "rejection without a reason");
                    parse_errors.insert(e.line);
                }
                parsed.push(r);
            }
            let (before, report, after) = rt.block_on(async {
                let before = app.store().head_position().await.unwrap();
                let report = app
                    .import(parsed, &admin, ImportOptions::default())
                    .await
                    .unwrap();
                let after = app.store().head_position().await.unwrap();
                (before, report, after)
            });
            let rejected: BTreeSet<usize> = report.rejected.iter().map(|r| r.line).collect();
            prop_assert!(
                parse_errors.is_subset(&rejected),
                "unparsable lines not reported"
            );
            prop_assert_eq!(report.lines, texts.len());
            prop_assert_eq!(
                report.accepted + report.already_imported + report.rejected.len(),
                texts.len(),
                "every line is accounted for"
            );
            for r in &report.rejected {
                prop_assert!((1..=texts.len()).contains(&r.line));
            }
            // Nothing but the accepted lines' events is stored.
            prop_assert_eq!(after - before, report.events_appended);
            if report.accepted == 0 {
                prop_assert_eq!(after, before, "rejected lines stored events");
            }
            Ok(())
        })
        .unwrap();
    rt.block_on(db.cleanup());
}

proptest! {
    #![proptest_config(Config { cases: 512, failure_persistence: None, ..Config::default() })]

    #[test]
    fn arbitrary_json_never_panics_command_validation_or_decide(value in prop_oneof![any_json(), command_json()]) {
        let mut catalog_events = Vec::new();
        let reg: Command = serde_json::from_value(json!({"command": "registerAgency",
            "input": {"acronym": "SIDUR", "name": "Infraestructura", "sectorHead": null}})).unwrap();
        let empty = AgencyCatalog::default();
        catalog_events.extend(decide(&[], &reg, &Context::new(&empty, Utc::now())).unwrap());
        let catalog = AgencyCatalog::from_events(&catalog_events);
        if let Ok(cmd) = serde_json::from_value::<Command>(value) {
            let ctx = Context::new(&catalog, Utc::now());
            let fresh = decide(&[], &cmd, &ctx);
            // Deciding again on top of its own events must not panic either.
            if let Ok(events) = fresh {
                let _ = decide(&events, &cmd, &ctx);
            } else if let Err(e) = fresh {
                prop_assert!(!e.to_string().is_empty());
            }
            let _ = decide(&catalog_events, &cmd, &ctx);
        }
    }

    #[test]
    fn arbitrary_text_never_panics_the_line_parser(text in ".*", line in 1usize..100_000) {
        if let Err(e) = ImportLine::parse(line, &text) {
            prop_assert_eq!(e.line, line);
        }
    }
}

// ---------------------------------------------------------------------------------------
// GraphQL
// ---------------------------------------------------------------------------------------

/// Asserts a request got exactly a typed error with one of `expected` codes and no data.
fn typed_error(what: &str, status: impl Into<u16>, body: &Value, expected: &[&str]) {
    let status: u16 = status.into();
    assert!(status < 500, "{what}: HTTP {status}: {body}");
    let cs = codes(body);
    assert!(!cs.is_empty(), "{what}: accepted: {body}");
    assert!(
        cs.iter().all(|c| expected.contains(&c.as_str())),
        "{what}: codes {cs:?}, expected {expected:?}: {body}"
    );
    let data = &body["data"];
    assert!(
        data.is_null()
            || data
                .as_object()
                .is_some_and(|o| o.values().all(Value::is_null)),
        "{what}: data alongside the error: {body}"
    );
}

const SQL: &str = "'; DROP TABLE events; --";
const SQL2: &str = "\" OR 1=1; DELETE FROM api_tokens; /*";

async fn hostile_graphql_requests_get_typed_errors_and_the_server_stays_healthy(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let admin = s.admin.clone();
    let head0 = s.app.store().head_position().await.unwrap();

    // Depth: sectorHead nested 20 times.
    let mut q = String::from("name");
    for _ in 0..20 {
        q = format!("sectorHead {{ {q} }}");
    }
    let (st, b) = s
        .gql(
            Some(&admin),
            &format!("{{ agency(acronym: \"CEA\") {{ {q} }} }}"),
            json!({}),
        )
        .await;
    typed_error("query deeper than the limit", st, &b, &["LIMIT_EXCEEDED"]);

    // Complexity: 1,500 aliased fields.
    let fields: String = (0..1500)
        .map(|i| format!("a{i}: agencies {{ acronym }} "))
        .collect();
    let (st, b) = s
        .gql(Some(&admin), &format!("{{ {fields} }}"), json!({}))
        .await;
    typed_error(
        "query over the complexity limit",
        st,
        &b,
        &["LIMIT_EXCEEDED"],
    );

    // Oversized body (300 KiB against the 256 KiB limit). The server may answer 413 before
    // the body is fully written (a broken pipe on our side): try again to read its answer.
    let padding = "#".repeat(300 * 1024);
    let big = json!({"query": format!("{{ agencies {{ acronym }} }}\n{padding}")}).to_string();
    // Its own unpooled client: the server closes that connection without reading the
    // body, and a pooled client would hand the dead connection to the next request.
    let unpooled = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("HTTP client");
    let mut answer = None;
    for _ in 0..5 {
        let req = unpooled
            .post(format!("{}/graphql", s.base))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {admin}"))
            .body(big.clone());
        if let Ok(resp) = req.send().await {
            let st = resp.status().as_u16();
            let b: Value = resp.json().await.unwrap_or(Value::Null);
            answer = Some((st, b));
            break;
        }
    }
    let (st, b) = answer.expect("the oversized request never got an answer");
    assert_eq!(st, 413, "{b}");
    typed_error("oversized body", st, &b, &["LIMIT_EXCEEDED"]);

    // Huge and negative pages.
    for (what, q) in [
        ("commitments(first: 100000)", "{ commitments(first: 100000) { edges { cursor } } }".to_owned()),
        ("history(first: 100000)", format!("{{ history(stream: \"petition-{PETITION_ID}\", first: 100000) {{ edges {{ cursor }} }} }}")),
    ] {
        let (st, b) = s.gql(Some(&admin), &q, json!({})).await;
        typed_error(what, st, &b, &["LIMIT_EXCEEDED"]);
    }
    let (st, b) = s
        .gql(
            Some(&admin),
            "{ commitments(first: -1) { edges { cursor } } }",
            json!({}),
        )
        .await;
    typed_error("negative page", st, &b, &["VALIDATION"]);
    let (st, b) = s
        .gql(
            Some(&admin),
            "{ commitments(first: 99999999999) { edges { cursor } } }",
            json!({}),
        )
        .await;
    typed_error("page beyond Int", st, &b, &["VALIDATION", "LIMIT_EXCEEDED"]);

    // Bodies that are not a GraphQL request.
    let http = http_client();
    for (what, body, ct) in [
        (
            "invalid UTF-8",
            vec![0xff, 0xfe, 0xfd, b'{', 0xc3, 0x28],
            "application/json",
        ),
        (
            "invalid UTF-8 inside a JSON string",
            [
                &b"{\"query\": \"{ agencies { acronym } }"[..],
                &[0xc3, 0x28],
                b"\"}",
            ]
            .concat(),
            "application/json",
        ),
        ("empty body", Vec::new(), "application/json"),
        (
            "not JSON",
            b"query { agencies { acronym } }".to_vec(),
            "text/plain",
        ),
        (
            "JSON but not a request",
            b"[1, 2, 3]".to_vec(),
            "application/json",
        ),
        (
            "a GraphQL syntax error",
            json!({"query": "{ agencies { acronym "})
                .to_string()
                .into_bytes(),
            "application/json",
        ),
    ] {
        let (st, b) = post_raw(&http, &s.base, Some(&admin), body, ct).await;
        typed_error(what, st, &b, &["VALIDATION"]);
    }

    // Invalid dates and time zones, in inputs, extras and query arguments.
    let action = |date: &str, amount: &str, progress: &str| {
        json!({"number": 1,
        "actionId": "00000000-0000-4000-8000-0000000000f1", "agency": "SIDUR", "description": "x",
        "status": "IN_PROGRESS", "progress": progress, "investmentMxn": amount, "date": date})
    };
    for date in [
        "2023-02-30",
        "30/06/2023",
        "2023-13-01",
        "",
        "2023-06-30T00:00:00Z",
        "0000-00-00",
    ] {
        let (st, b) = s
            .mutate(
                &admin,
                "registerAction",
                action(date, "10", "10"),
                json!({}),
            )
            .await;
        typed_error(&format!("date {date:?}"), st, &b, &["VALIDATION"]);
    }
    for at in [
        "2023-06-30T17:00:00+25:00",
        "2023-06-30T17:00:00 America/Hermosillo",
        "2023-06-30T17:00:00",
        "2023-06-31T17:00:00Z",
        "yesterday",
    ] {
        let (st, b) = s
            .mutate(
                &admin,
                "registerAction",
                action("2023-06-01", "10", "10"),
                json!({"effectiveAt": at}),
            )
            .await;
        typed_error(&format!("effectiveAt {at:?}"), st, &b, &["VALIDATION"]);
        let (st, b) = s
            .mutate(
                &admin,
                "receiveLetter",
                json!({"folio": "BAD-DATE", "unit": "DGGD",
            "classification": "RELEVANT", "sender": "x", "subject": "x", "receivedAt": at}),
                json!({}),
            )
            .await;
        typed_error(&format!("receivedAt {at:?}"), st, &b, &["VALIDATION"]);
        let (st, b) = s
            .gql(
                Some(&admin),
                "query($t: DateTime) { compliance(scope: COMMITMENT_ACTIONS, asOf: $t) { scope } }",
                json!({"t": at}),
            )
            .await;
        typed_error(&format!("asOf {at:?}"), st, &b, &["VALIDATION"]);
    }
    // Negative, non-decimal and over-precise amounts and progress.
    for amount in [
        json!("-5"),
        json!(-5),
        json!("abc"),
        json!("NaN"),
        json!("Infinity"),
        json!("1,000.00"),
        json!("$100"),
        json!("0x10"),
        json!(""),
        json!("1.234"),
        json!("-0.01"),
        json!(true),
        json!([1]),
    ] {
        let mut input = action("2023-06-01", "1", "10");
        input["investmentMxn"] = amount.clone();
        let (st, b) = s.mutate(&admin, "registerAction", input, json!({})).await;
        typed_error(&format!("amount {amount}"), st, &b, &["VALIDATION"]);
    }
    for progress in ["-1", "101", "abc", "50%", "NaN"] {
        let (st, b) = s
            .mutate(
                &admin,
                "reportActionProgress",
                json!({"number": 1, "actionId": ACTION_SIDUR, "progress": progress}),
                json!({}),
            )
            .await;
        typed_error(&format!("progress {progress:?}"), st, &b, &["VALIDATION"]);
    }
    assert_eq!(
        s.app.store().head_position().await.unwrap(),
        head0,
        "a rejected request stored something"
    );

    // SQL metacharacters in every string field: refused with a typed error, or stored
    // verbatim as data.
    let mut stored_verbatim = 0u64;
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "receiveLetter",
            json!({"folio": SQL, "unit": "DGGD", "classification": "RELEVANT",
            "sender": SQL2, "subject": SQL, "receivedAt": "2023-02-01T16:00:00Z"}),
            vec!["folio", "sender", "subject"],
        ),
        (
            "receiveLetter",
            json!({"folio": "SQL-2", "unit": "OEE", "classification": "CC",
            "sender": SQL, "subject": SQL2, "receivedAt": "2023-02-01T16:00:00Z"}),
            vec!["sender", "subject"],
        ),
        (
            "recordLetterFollowUp",
            json!({"folio": "DGGD-0001", "note": SQL, "recordedAt": "2023-02-03T16:00:00Z"}),
            vec!["note"],
        ),
        (
            "openCaseFile",
            json!({"folio": "DGGD-0001", "caseFile": SQL, "openedAt": "2023-02-03T16:00:00Z"}),
            vec!["caseFile"],
        ),
        (
            "issueOutgoingLetter",
            json!({"folio": "DGGD-0001", "number": SQL2, "recipient": SQL, "issuedAt": "2023-02-03T16:00:00Z"}),
            vec!["number", "recipient"],
        ),
        (
            "registerAgency",
            json!({"acronym": SQL, "name": SQL, "sectorHead": null}),
            vec!["name"],
        ),
        (
            "registerAgency",
            json!({"acronym": "SQLI", "name": SQL2, "sectorHead": SQL}),
            vec!["name"],
        ),
        (
            "renameAgency",
            json!({"acronym": "CEA", "name": SQL}),
            vec!["name"],
        ),
        (
            "designateLiaison",
            json!({"acronym": "CEA", "name": SQL, "position": SQL2, "contact": SQL,
            "designationLetter": SQL2}),
            vec!["name", "position", "contact", "designationLetter"],
        ),
        (
            "createAgreement",
            json!({"agreementId": "00000000-0000-4000-8000-0000000000b9", "kind": "INSTRUCTION",
            "origin": "SPECIAL_PROJECT", "meetingId": null, "description": SQL, "agencies": ["CEA"],
            "responsiblePerson": SQL2, "issuer": SQL, "issuedOn": "2023-03-01", "dueOn": null, "budget": []}),
            vec!["description", "responsiblePerson", "issuer"],
        ),
        (
            "registerCommitment",
            json!({"number": 77, "text": SQL}),
            vec!["text"],
        ),
        (
            "registerAction",
            json!({"number": 1, "actionId": "00000000-0000-4000-8000-0000000000f9",
            "agency": SQL, "description": SQL, "status": "PENDING", "progress": null,
            "investmentMxn": "0", "date": "2023-06-01"}),
            vec!["description"],
        ),
        (
            "registerAction",
            json!({"number": 1, "actionId": "00000000-0000-4000-8000-0000000000fa",
            "agency": "CEA", "description": SQL2, "status": "PENDING", "progress": null,
            "investmentMxn": "0", "date": "2023-06-01"}),
            vec!["description"],
        ),
        (
            "createActivity",
            json!({"activityId": "00000000-0000-4000-8000-0000000000d9", "title": SQL,
            "priority": "ALTA", "dueOn": "2023-12-15", "responsibles": [SQL, SQL2]}),
            vec!["title"],
        ),
        (
            "receivePetition",
            json!({"petitionId": "00000000-0000-4000-8000-0000000000c9", "channel": "CHAT",
            "topic": "LEGAL_ADVICE", "municipality": SQL, "citizenId": "00000000-0000-4000-8000-0000000000e9",
            "contact": {"name": SQL, "phone": SQL2, "email": SQL, "address": SQL2}, "tourId": SQL,
            "receivedAt": "2023-04-10T18:00:00Z"}),
            vec!["municipality"],
        ),
        (
            "receivePetition",
            json!({"petitionId": "00000000-0000-4000-8000-0000000000ca", "channel": "CHAT",
            "topic": "LEGAL_ADVICE", "municipality": SQL2, "citizenId": "00000000-0000-4000-8000-0000000000ea",
            "contact": {"name": SQL, "phone": null, "email": null, "address": null}, "tourId": null,
            "receivedAt": "2023-04-10T18:00:00Z"}),
            vec!["municipality"],
        ),
    ];
    for (name, input, fields) in cases {
        let before = s.app.store().head_position().await.unwrap();
        let (st, b) = s.mutate(&admin, name, input.clone(), json!({})).await;
        let after = s.app.store().head_position().await.unwrap();
        if b.get("errors").is_some() {
            typed_error(
                &format!("{name} with SQL metacharacters"),
                st,
                &b,
                &["VALIDATION", "NOT_FOUND"],
            );
            assert_eq!(after, before, "{name}: refused but stored");
            continue;
        }
        assert_eq!(
            after,
            before + b["data"][name]["positions"].as_array().unwrap().len() as u64
        );
        let rows = event_rows(s.app.store()).await;
        let last = rows.last().unwrap();
        let payload: Value = serde_json::from_str(&last.payload).unwrap();
        let text = payload.to_string();
        for f in fields {
            let sent = input[f].as_str().unwrap();
            assert!(
                text.contains(&serde_json::to_string(sent).unwrap()),
                "{name}.{f} not stored verbatim: {text}"
            );
        }
        stored_verbatim += after - before;
    }
    println!("SQL metacharacters: {stored_verbatim} events stored verbatim");

    // Nothing else stored; the tables are intact; the server is healthy.
    assert_eq!(
        s.app.store().head_position().await.unwrap(),
        head0 + stored_verbatim
    );
    let events = text_rows(s.app.store(), "SELECT CAST(COUNT(*) AS TEXT) FROM events").await;
    assert_eq!(
        events[0][0].as_deref(),
        Some((head0 + stored_verbatim).to_string().as_str())
    );
    let tokens = text_rows(
        s.app.store(),
        "SELECT CAST(COUNT(*) AS TEXT) FROM api_tokens",
    )
    .await;
    assert_eq!(tokens[0][0].as_deref(), Some("4"));
    let (st, _) = s.get("/healthz").await;
    assert_eq!(st, 200);
    let d = s.ok(&s.viewer, "{ agencies { acronym } }", json!({})).await;
    assert!(d["agencies"].as_array().unwrap().len() >= 2);
    let v = s.ok(&s.auditor, "{ verify { ok } }", json!({})).await;
    assert_eq!(v["verify"]["ok"], true);
    s.stop().await;
}
on_both_backends!(Db: hostile_graphql_requests_get_typed_errors_and_the_server_stays_healthy);

/// The domain refuses business dates in the future (beyond a few minutes of clock skew); the
/// envelope's `effectiveAt` given with a mutation is a business time too.
async fn an_effective_time_in_the_future_is_refused_and_not_stored(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let head0 = s.app.store().head_position().await.unwrap();
    for (name, input) in [
        (
            "reportActionProgress",
            json!({"number": 1, "actionId": ACTION_SIDUR, "progress": "55"}),
        ),
        (
            "recordLetterFollowUp",
            json!({"folio": "DGGD-0001", "note": "x", "recordedAt": "2023-02-03T16:00:00Z"}),
        ),
    ] {
        let (st, b) = s
            .mutate(
                &s.admin,
                name,
                input,
                json!({"effectiveAt": "2999-01-01T00:00:00Z"}),
            )
            .await;
        typed_error(
            &format!("{name} effective in 2999"),
            st,
            &b,
            &["VALIDATION"],
        );
    }
    assert_eq!(s.app.store().head_position().await.unwrap(), head0);
    s.stop().await;
}
on_both_backends!(Db: an_effective_time_in_the_future_is_refused_and_not_stored);

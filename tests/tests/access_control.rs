//! Access control over HTTP and the CLI: tokens shown once and stored only as hashes,
//! revocation, capturistas confined to their agency, viewers kept from history and personal
//! data, read-only auditors, and the actor of every event being the token's subject
//! whatever the client sends.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use seguimiento_api::ApiConfig;
use seguimiento_system_tests::*;
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(60);

async fn a_cli_token_is_shown_once_stored_only_as_a_hash_and_revocation_makes_it_unauthenticated(
    db: &Db,
) {
    let out = run_cli(
        &[
            "token",
            "--db",
            &db.url,
            "create",
            "--role",
            "capturista",
            "--agency",
            "SIDUR",
            "--subject",
            "enlace@sidur",
        ],
        LIMIT,
    );
    let stdout = expect_success("token create", &out);
    let (_, stderr) = texts(&out);
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };
    let secret = field("token:");
    let id = field("id:");
    assert!(secret.len() >= 32, "a short secret: {secret}");
    assert_eq!(
        stdout.matches(&secret).count(),
        1,
        "the secret is shown once"
    );
    assert!(!stderr.contains(&secret));

    // Never again: not in the list, not in the database.
    let out = run_cli(&["token", "--db", &db.url, "list", "--json"], LIMIT);
    let list = expect_success("token list", &out);
    assert!(list.contains(&id) && !list.contains(&secret), "{list}");
    let out = run_cli(&["token", "--db", &db.url, "list"], LIMIT);
    assert!(!expect_success("token list", &out).contains(&secret));
    let rows = text_rows(
        db.store(),
        "SELECT id, token_hash, subject, role, agency, created_at, revoked_at FROM api_tokens",
    )
    .await;
    assert_eq!(rows.len(), 1);
    let secret_body = secret.trim_start_matches("seg_");
    for cell in rows[0].iter().flatten() {
        assert!(
            !cell.contains(&secret) && !cell.contains(secret_body),
            "the api_tokens table holds the secret: {cell}"
        );
    }
    let hash = rows[0][1].clone().unwrap();
    assert_eq!(hash.len(), 64, "a SHA-256 hex digest, not {hash}");

    // The token works over HTTP, as a capturista of SIDUR. The revocation below is made
    // by another process, which a server trusting verified tokens for a while (the
    // default, see `ApiConfig::token_cache_ttl`) would only notice after that TTL.
    let config = ApiConfig {
        token_cache_ttl: Duration::ZERO,
        ..ApiConfig::default()
    };
    let s = Server::start_with(db.store(), config).await;
    let (st, b) = s
        .gql(Some(&secret), "{ agencies { acronym } }", json!({}))
        .await;
    assert_eq!(st, 200, "{b}");
    assert!(b.get("errors").is_none(), "{b}");

    // Revoked: UNAUTHENTICATED, for queries and mutations.
    let out = run_cli(&["token", "--db", &db.url, "revoke", &id], LIMIT);
    expect_success("token revoke", &out);
    let (st, b) = s
        .gql(Some(&secret), "{ agencies { acronym } }", json!({}))
        .await;
    assert_eq!(st, 401, "{b}");
    assert_eq!(code(&b).as_deref(), Some("UNAUTHENTICATED"));
    let (_, b) = s
        .mutate(
            &secret,
            "registerCommitment",
            json!({"number": 9, "text": "x"}),
            json!({}),
        )
        .await;
    assert_eq!(code(&b).as_deref(), Some("UNAUTHENTICATED"));
    // Revoking twice, or an unknown id, fails.
    let out = run_cli(&["token", "--db", &db.url, "revoke", &id], LIMIT);
    assert!(!out.status.success());
    let out = run_cli(&["token", "--db", &db.url, "revoke", "nosuchtoken"], LIMIT);
    assert!(!out.status.success());
    // Bad roles and a capturista without an agency are refused.
    for args in [
        vec!["create", "--role", "root"],
        vec!["create", "--role", "capturista"],
    ] {
        let mut a = vec!["token", "--db", &db.url];
        a.extend(args.iter().copied());
        let out = run_cli(&a, LIMIT);
        assert!(!out.status.success(), "{args:?} succeeded");
    }
    assert_eq!(
        text_rows(db.store(), "SELECT id FROM api_tokens")
            .await
            .len(),
        5
    );
    s.stop().await;
}
on_both_backends!(Db: a_cli_token_is_shown_once_stored_only_as_a_hash_and_revocation_makes_it_unauthenticated);

/// Writes a SIDUR capturista must not make (other agency's records, the catalog).
fn writes_outside_sidur() -> Vec<(&'static str, Value)> {
    vec![
        (
            "registerAgency",
            json!({"acronym": "NUEVA", "name": "Nueva", "sectorHead": null}),
        ),
        ("renameAgency", json!({"acronym": "SIDUR", "name": "Otra"})),
        ("deactivateAgency", json!({"acronym": "CEA"})),
        (
            "designateLiaison",
            json!({"acronym": "CEA", "name": "x", "position": "x", "contact": "x", "designationLetter": "x"}),
        ),
        (
            "registerAction",
            json!({"number": 1, "actionId": "00000000-0000-4000-8000-0000000000f3",
            "agency": "CEA", "description": "x", "status": "PENDING", "progress": null,
            "investmentMxn": "0", "date": "2023-06-01"}),
        ),
        (
            "reportActionProgress",
            json!({"number": 1, "actionId": ACTION_CEA, "progress": "90"}),
        ),
        (
            "changeActionStatus",
            json!({"number": 1, "actionId": ACTION_CEA, "status": "CONCLUDED"}),
        ),
        (
            "reportAgreementProgress",
            json!({"agreementId": AGREEMENT_CEA, "progress": "90", "note": null}),
        ),
        (
            "recordFollowUpAction",
            json!({"agreementId": AGREEMENT_CEA, "text": "x", "date": "2023-04-01"}),
        ),
        (
            "changeAgreementStatus",
            json!({"agreementId": AGREEMENT_CEA, "status": "CONCLUDED"}),
        ),
        (
            "cancelAgreement",
            json!({"agreementId": AGREEMENT_CEA, "reason": "x"}),
        ),
        (
            "reassignAgreement",
            json!({"agreementId": AGREEMENT_CEA, "agencies": ["SIDUR"], "responsiblePerson": "x"}),
        ),
        (
            "reassignAgreement",
            json!({"agreementId": AGREEMENT_SIDUR, "agencies": ["CEA"], "responsiblePerson": "x"}),
        ),
        (
            "createAgreement",
            json!({"agreementId": "00000000-0000-4000-8000-0000000000b7", "kind": "INSTRUCTION",
            "origin": "SPECIAL_PROJECT", "meetingId": null, "description": "x", "agencies": ["CEA"],
            "responsiblePerson": "x", "issuer": "x", "issuedOn": "2023-03-01", "dueOn": null, "budget": []}),
        ),
        (
            "createAgreement",
            json!({"agreementId": "00000000-0000-4000-8000-0000000000b8", "kind": "INSTRUCTION",
            "origin": "SPECIAL_PROJECT", "meetingId": null, "description": "x", "agencies": ["SIDUR", "CEA"],
            "responsiblePerson": "x", "issuer": "x", "issuedOn": "2023-03-01", "dueOn": null, "budget": []}),
        ),
        (
            "recordLetterFollowUp",
            json!({"folio": "DGGD-0001", "note": "x", "recordedAt": "2023-02-03T16:00:00Z"}),
        ),
        (
            "answerLetter",
            json!({"folio": "DGGD-0001", "answeredAt": "2023-02-03T16:00:00Z"}),
        ),
        ("registerCommitment", json!({"number": 50, "text": "x"})),
        // Routing, assigning and creating are the Office's, even for the liaison's own
        // agency.
        (
            "createAgreement",
            json!({"agreementId": "00000000-0000-4000-8000-0000000000b9", "kind": "INSTRUCTION",
            "origin": "SPECIAL_PROJECT", "meetingId": null, "description": "x", "agencies": ["SIDUR"],
            "responsiblePerson": "x", "issuer": "x", "issuedOn": "2023-03-01", "dueOn": null, "budget": []}),
        ),
        (
            "turnLetter",
            json!({"folio": "DGGD-0001", "agency": "SIDUR", "turnedAt": "2023-02-03T16:00:00Z"}),
        ),
        (
            "turnPetition",
            json!({"petitionId": PETITION_ID, "target": {"agency": "SIDUR"},
                   "turnedAt": "2023-04-11T16:00:00Z"}),
        ),
        (
            "closePetition",
            json!({"petitionId": PETITION_ID, "at": "2023-04-12T16:00:00Z"}),
        ),
        (
            "assignCommitment",
            json!({"number": 1, "agencies": ["SIDUR"]}),
        ),
        (
            "receivePetition",
            petition_input(
                "00000000-0000-4000-8000-0000000000c7",
                "00000000-0000-4000-8000-0000000000e7",
            ),
        ),
        (
            "createActivity",
            json!({"activityId": "00000000-0000-4000-8000-0000000000d7", "title": "x",
            "priority": "ALTA", "dueOn": "2023-12-15", "responsibles": ["Ana"]}),
        ),
    ]
}

/// A write a SIDUR capturista may make.
fn sidur_write() -> (&'static str, Value) {
    (
        "reportActionProgress",
        json!({"number": 1, "actionId": ACTION_SIDUR, "progress": "40"}),
    )
}

const HISTORY: &str =
    "query($s: ID!) { history(stream: $s) { edges { node { type actor payload } } } }";

async fn every_forbidden_path_over_http_is_refused_and_stores_nothing(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let head0 = s.app.store().head_position().await.unwrap();

    // Capturista of SIDUR: nothing outside SIDUR.
    for (name, input) in writes_outside_sidur() {
        let (st, b) = s.mutate(&s.capturista, name, input, json!({})).await;
        assert!(!st.is_server_error(), "{b}");
        assert_eq!(
            code(&b).as_deref(),
            Some("FORBIDDEN"),
            "capturista {name}: {b}"
        );
    }
    assert_eq!(
        s.app.store().head_position().await.unwrap(),
        head0,
        "a forbidden write was stored"
    );

    // Viewer and auditor: no writes at all, not even SIDUR's.
    for token in [&s.viewer, &s.auditor] {
        let mut all = writes_outside_sidur();
        all.push(sidur_write());
        for (name, input) in all {
            let (st, b) = s.mutate(token, name, input, json!({})).await;
            assert!(!st.is_server_error(), "{b}");
            assert_eq!(
                code(&b).as_deref(),
                Some("FORBIDDEN"),
                "read-only {name}: {b}"
            );
        }
    }
    assert_eq!(
        s.app.store().head_position().await.unwrap(),
        head0,
        "a read-only write was stored"
    );

    // Viewer: no history, no verify, no single records, no petitions (personal data).
    let petition_stream = format!("petition-{PETITION_ID}");
    let forbidden_reads = [
        (HISTORY.to_owned(), json!({"s": petition_stream})),
        (
            HISTORY.to_owned(),
            json!({"s": format!("agreement-{AGREEMENT_CEA}")}),
        ),
        ("{ verify { ok } }".to_owned(), json!({})),
        ("{ logHead { position link } }".to_owned(), json!({})),
        (
            format!(
                "{{ petition(id: \"{PETITION_ID}\") {{ municipality contact {{ name email }} }} }}"
            ),
            json!({}),
        ),
        (
            format!("{{ petition(id: \"{PETITION_ID}\") {{ municipality }} }}"),
            json!({}),
        ),
        (
            format!("{{ agreement(id: \"{AGREEMENT_CEA}\") {{ description }} }}"),
            json!({}),
        ),
        ("{ commitment(number: 1) { text } }".to_owned(), json!({})),
        (
            "{ letter(folio: \"DGGD-0001\") { folio } }".to_owned(),
            json!({}),
        ),
    ];
    for (q, vars) in &forbidden_reads {
        let (st, b) = s.gql(Some(&s.viewer), q, vars.clone()).await;
        assert!(!st.is_server_error());
        assert_eq!(
            code(&b).as_deref(),
            Some("FORBIDDEN"),
            "viewer read {q}: {b}"
        );
        assert!(shows_personal_data(&b.to_string()).is_empty(), "{b}");
    }
    // The capturista reads its own agency's records but neither history nor petitions.
    for (q, vars) in &forbidden_reads[..5] {
        let (_, b) = s.gql(Some(&s.capturista), q, vars.clone()).await;
        assert_eq!(
            code(&b).as_deref(),
            Some("FORBIDDEN"),
            "capturista read {q}: {b}"
        );
    }
    // What a viewer may read carries no personal data.
    for q in [
        "{ petitionsMonthly(year: 2023) { total { received byTopic { topic count } byChannel { channel count } } } }",
        "{ compliance(scope: COMMITMENT_ACTIONS) { rows { key compliancePct } } }",
        "{ agencies { acronym name } }",
        "{ cabinetReport(year: 2023) { overall { agreements } } }",
    ] {
        let d = s.ok(&s.viewer, q, json!({})).await;
        assert!(shows_personal_data(&d.to_string()).is_empty(), "viewer saw personal data: {d}");
    }

    // Unauthenticated: no token, a malformed one, another scheme.
    for auth in [None, Some("seg_0000"), Some("not-a-token"), Some("")] {
        let (st, b) = s.gql(auth, "{ agencies { acronym } }", json!({})).await;
        assert_eq!(
            (st.as_u16(), code(&b).as_deref()),
            (401, Some("UNAUTHENTICATED")),
            "{auth:?}: {b}"
        );
        let (name, input) = sidur_write();
        let (st, b) = s.gql(auth, &mutation(name), json!({"input": input})).await;
        assert_eq!(
            (st.as_u16(), code(&b).as_deref()),
            (401, Some("UNAUTHENTICATED")),
            "{auth:?}: {b}"
        );
    }
    let resp = http_client()
        .post(format!("{}/graphql", s.base))
        .header("authorization", format!("Basic {}", s.admin))
        .json(&json!({"query": "{ agencies { acronym } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(s.app.store().head_position().await.unwrap(), head0);

    // Sanity: the same paths are open to whom they belong.
    let (name, input) = sidur_write();
    s.must(&s.capturista, name, input).await;
    s.ok(&s.auditor, HISTORY, json!({"s": petition_stream}))
        .await;
    s.ok(
        &s.capturista,
        &format!("{{ agreement(id: \"{AGREEMENT_SIDUR}\") {{ description }} }}"),
        json!({}),
    )
    .await;
    // Another agency's records are not the capturista's to read.
    for q in [
        "{ letter(folio: \"DGGD-0001\") { folio } }".to_owned(),
        format!("{{ agreement(id: \"{AGREEMENT_CEA}\") {{ description }} }}"),
    ] {
        let (_, b) = s.gql(Some(&s.capturista), &q, json!({})).await;
        assert_eq!(code(&b).as_deref(), Some("FORBIDDEN"), "{q}: {b}");
    }
    s.stop().await;
}
on_both_backends!(Db: every_forbidden_path_over_http_is_refused_and_stores_nothing);

async fn the_actor_recorded_is_the_tokens_subject_whatever_the_client_sends(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let head0 = s.app.store().head_position().await.unwrap();
    let name = "reportActionProgress";

    // An actor field in the input, or an actor argument: refused by the schema.
    let (st, b) = s
        .mutate(
            &s.capturista,
            name,
            json!({"number": 1, "actionId": ACTION_SIDUR, "progress": "41", "actor": "gobernador"}),
            json!({}),
        )
        .await;
    assert!(!st.is_server_error());
    assert_eq!(code(&b).as_deref(), Some("VALIDATION"), "{b}");
    let q = format!(
        "mutation($input: {}!) {{ {name}(input: $input, actor: \"gobernador\") {{ positions }} }}",
        input_type(name)
    );
    let (_, b) = s
        .gql(
            Some(&s.capturista),
            &q,
            json!({"input": {"number": 1, "actionId": ACTION_SIDUR, "progress": "42"}}),
        )
        .await;
    assert_eq!(code(&b).as_deref(), Some("VALIDATION"), "{b}");
    assert_eq!(s.app.store().head_position().await.unwrap(), head0);

    // Actor-ish headers and variables are ignored: the subject of the token is recorded.
    let body = json!({
        "query": mutation(name),
        "variables": {"input": {"number": 1, "actionId": ACTION_SIDUR, "progress": "43"},
                      "actor": "gobernador"},
        "extensions": {"actor": "gobernador"},
    });
    let resp = http_client()
        .post(format!("{}/graphql", s.base))
        .header("authorization", format!("Bearer {}", s.capturista))
        .header("x-actor", "gobernador")
        .header("x-forwarded-user", "gobernador")
        .header("x-remote-user", "gobernador")
        .json(&body)
        .send()
        .await
        .unwrap();
    let b: Value = resp.json().await.unwrap();
    assert!(b.get("errors").is_none(), "{b}");
    let positions: Vec<u64> = b["data"][name]["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    let rows = event_rows(s.app.store()).await;
    for p in &positions {
        let row = rows.iter().find(|r| r.position as u64 == *p).unwrap();
        let meta: Value = serde_json::from_str(&row.metadata).unwrap();
        assert_eq!(meta["actor"], "enlace.sidur@test", "stored actor: {meta}");
    }
    assert!(!rows.iter().any(|r| r.metadata.contains("gobernador")));
    // Every write by a token is attributed to its subject (admin's seed included).
    for r in &rows {
        let meta: Value = serde_json::from_str(&r.metadata).unwrap();
        assert!(
            ["admin@test", "enlace.sidur@test"].contains(&meta["actor"].as_str().unwrap()),
            "unexpected actor {meta}"
        );
    }
    // And the audit history shows it.
    let d = s
        .ok(&s.auditor, HISTORY, json!({"s": "commitment-1"}))
        .await;
    let last = d["history"]["edges"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last["node"]["actor"], "enlace.sidur@test");
    s.stop().await;
}
on_both_backends!(Db: the_actor_recorded_is_the_tokens_subject_whatever_the_client_sends);

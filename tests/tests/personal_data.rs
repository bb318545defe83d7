//! Personal data: a citizen's contact is sealed in the stored payload, forgetting the
//! citizen (crypto-shredding) leaves events, chain and reports as they were while the
//! contact can no longer be read, and neither logs, GraphQL errors nor a viewer's responses
//! ever show the citizen's name or e-mail.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use seguimiento_app::import::{ImportItem, ImportOptions};
use seguimiento_app::{ImportLine, Principal};
use seguimiento_system_tests::*;
use serde_json::{json, Value};
use uuid::Uuid;

const LIMIT: Duration = Duration::from_secs(120);
const PETITION_QUERY: &str = "query($id: UUID!) { petition(id: $id) { municipality followUps contact { name phone email address } } }";
const HISTORY: &str =
    "query($s: ID!) { history(stream: $s) { edges { node { type actor payload } } } }";
const IMPORTED_PETITION: &str = "00000000-0000-4000-8000-0000000000c2";
const IMPORTED_CITIZEN: &str = "00000000-0000-4000-8000-0000000000e2";

/// Every text column of every stored event, as one string.
async fn raw_log_text(db: &Db) -> String {
    text_rows(
        db.store(),
        "SELECT CAST(position AS TEXT), CAST(id AS TEXT), stream, event_type, payload, metadata, prev_hash, hash FROM events",
    )
    .await
    .into_iter()
    .flatten()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n")
}

/// Adds a petition of the same citizen name through `App::import` (the import path).
async fn import_a_petition(s: &Server) {
    let line = json!({"command": "receivePetition",
        "input": petition_input(IMPORTED_PETITION, IMPORTED_CITIZEN)})
    .to_string();
    import_lines(s, &[line], 1).await;
}

/// Imports `lines` through `App::import`; every one must be accepted.
async fn import_lines(s: &Server, lines: &[String], expected: usize) {
    let parsed = lines
        .iter()
        .enumerate()
        .map(|(i, l)| ImportLine::parse(i + 1, l));
    let report = s
        .app
        .import(
            parsed,
            &Principal::system("import"),
            ImportOptions::default(),
        )
        .await
        .unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.accepted, expected, "{report:?}");
}

async fn petitions_report(s: &Server) -> Value {
    s.ok(&s.viewer, "{ petitionsMonthly(year: 2023) { annualGoal goalPct total { received attended byTopic { topic count } byChannel { channel count } } months { month received } } }", json!({})).await
}

async fn forgetting_a_citizen_makes_the_sealed_contact_unreadable_and_leaves_log_chain_and_reports_intact(
    db: &Db,
) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    import_a_petition(&s).await;
    s.settle().await;

    // Sealed at rest: no name, e-mail, phone or address in any column of the log.
    let raw = raw_log_text(db).await;
    assert!(
        shows_personal_data(&raw).is_empty(),
        "the log holds personal data in clear: {:?}",
        shows_personal_data(&raw)
    );
    let rows = event_rows(db.store()).await;
    let received: Vec<_> = rows
        .iter()
        .filter(|r| r.event_type == "PetitionReceived")
        .collect();
    assert_eq!(received.len(), 2);
    for r in &received {
        let p: Value = serde_json::from_str(&r.payload).unwrap();
        assert!(p["contact"]["sealed"].is_string(), "not sealed: {p}");
    }
    // ... yet readable by an admin or auditor while the citizen's key exists.
    for token in [&s.admin, &s.auditor] {
        let d = s
            .ok(token, PETITION_QUERY, json!({"id": PETITION_ID}))
            .await;
        assert_eq!(d["petition"]["contact"]["name"], CITIZEN_NAME, "{d}");
        assert_eq!(d["petition"]["contact"]["email"], CITIZEN_EMAIL);
    }

    let report_before = petitions_report(&s).await;
    let rows_before = projection_snapshot(db.store()).await;

    // Forget the GraphQL-received citizen.
    let citizen: Uuid = CITIZEN_ID.parse().unwrap();
    assert!(
        s.app.vault().forget(citizen).await.unwrap(),
        "no key to forget"
    );
    assert!(
        !s.app.vault().forget(citizen).await.unwrap(),
        "forgotten twice"
    );

    // The log and its chain are untouched.
    assert_eq!(
        event_rows(db.store()).await,
        rows,
        "forgetting changed the log"
    );
    let v = db.store().verify(None).await.unwrap();
    assert!(v.first_broken.is_none(), "{v:?}");
    let d = s
        .ok(&s.auditor, "{ verify { ok eventsChecked } }", json!({}))
        .await;
    assert_eq!(d["verify"]["ok"], true);
    // The auditor reads the anchor the store reports.
    let head = db.store().log_head().await.unwrap();
    let d = s
        .ok(&s.auditor, "{ logHead { position link } }", json!({}))
        .await;
    assert_eq!(d["logHead"]["position"], head.position);
    assert_eq!(d["logHead"]["link"], head.link.as_str());
    // Projections and reports are unchanged, also after a full rebuild.
    assert_eq!(petitions_report(&s).await, report_before);
    assert_eq!(projection_snapshot(db.store()).await, rows_before);
    seguimiento_projections::rebuild_all(db.store())
        .await
        .unwrap();
    assert_eq!(projection_snapshot(db.store()).await, rows_before);
    assert_eq!(petitions_report(&s).await, report_before);

    // The contact can no longer be read, by anyone, anywhere.
    for token in [&s.admin, &s.auditor] {
        let d = s
            .ok(token, PETITION_QUERY, json!({"id": PETITION_ID}))
            .await;
        assert_eq!(
            d["petition"]["municipality"], "Hermosillo",
            "the petition itself remains"
        );
        assert!(
            d["petition"]["contact"].is_null(),
            "contact still readable: {d}"
        );
        let h = s
            .ok(
                token,
                HISTORY,
                json!({"s": format!("petition-{PETITION_ID}")}),
            )
            .await;
        let text = h.to_string();
        assert!(
            shows_personal_data(&text).is_empty(),
            "history shows it: {text}"
        );
        assert_eq!(
            h["history"]["edges"][0]["node"]["payload"]["contact"],
            json!({"redacted": true})
        );
    }
    // Another citizen is unaffected.
    let d = s
        .ok(&s.admin, PETITION_QUERY, json!({"id": IMPORTED_PETITION}))
        .await;
    assert_eq!(d["petition"]["contact"]["name"], CITIZEN_NAME);
    // The key is gone from the database.
    let keys = text_rows(db.store(), "SELECT citizen_id FROM citizen_keys").await;
    assert!(!keys.iter().any(|k| k[0].as_deref() == Some(CITIZEN_ID)));
    // Further writes on the forgotten citizen's petition still work.
    s.must(
        &s.admin,
        "attendPetition",
        json!({"petitionId": PETITION_ID, "at": "2023-04-12T18:00:00Z"}),
    )
    .await;
    s.stop().await;
}
on_both_backends!(Db: forgetting_a_citizen_makes_the_sealed_contact_unreadable_and_leaves_log_chain_and_reports_intact);

/// A bulk import seals every petition under its citizen's key, looked up or created for
/// the whole chunk at once: one key per citizen (more citizens than one key statement
/// holds, each with two petitions), an existing citizen keeps the key it had, and every
/// contact opens again.
async fn a_bulk_import_seals_each_petition_under_one_key_per_citizen(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    const CITIZENS: usize = 1_100;
    let id = |kind: u32, n: usize| format!("00000000-0000-4000-{kind:04x}-{n:012x}");
    let mut lines: Vec<String> = (0..2 * CITIZENS)
        .map(|n| {
            let input = petition_input(&id(0x8001, n), &id(0x8002, n % CITIZENS));
            json!({"command": "receivePetition", "input": input}).to_string()
        })
        .collect();
    // The seeded citizen already has a key; their second petition must reuse it.
    lines.push(
        json!({"command": "receivePetition",
            "input": petition_input(&id(0x8001, 9_999), CITIZEN_ID)})
        .to_string(),
    );
    import_lines(&s, &lines, 2 * CITIZENS + 1).await;

    let keys = text_rows(db.store(), "SELECT citizen_id FROM citizen_keys").await;
    assert_eq!(keys.len(), CITIZENS + 1, "one key per citizen");
    let raw = raw_log_text(db).await;
    assert!(shows_personal_data(&raw).is_empty(), "a contact in clear");
    s.settle().await;
    for petition in [
        PETITION_ID.to_owned(),
        id(0x8001, 0),
        id(0x8001, 2 * CITIZENS - 1),
        id(0x8001, 9_999),
    ] {
        let d = s
            .ok(&s.admin, PETITION_QUERY, json!({"id": petition}))
            .await;
        assert_eq!(
            d["petition"]["contact"]["name"], CITIZEN_NAME,
            "{petition}: {d}"
        );
    }
    s.stop().await;
}
on_both_backends!(Db: a_bulk_import_seals_each_petition_under_one_key_per_citizen);

async fn the_cli_forgets_a_citizen_and_verify_still_passes(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let rows = event_rows(db.store()).await;
    let help = texts(&run_cli(&["--help"], LIMIT)).0;
    assert!(
        help.contains("forget-citizen"),
        "GAP: the CLI has no `forget-citizen` command (crates/cli/src/cli.rs Command):\n{help}"
    );
    let out = run_cli(&["forget-citizen", CITIZEN_ID, "--db", &db.url], LIMIT);
    expect_success("seguimiento forget-citizen", &out);
    let d = s
        .ok(&s.admin, PETITION_QUERY, json!({"id": PETITION_ID}))
        .await;
    assert!(d["petition"]["contact"].is_null(), "{d}");
    assert_eq!(event_rows(db.store()).await, rows);
    let out = run_cli(&["verify", "--db", &db.url], LIMIT);
    expect_success("seguimiento verify", &out);
    s.stop().await;
}
on_both_backends!(Db: the_cli_forgets_a_citizen_and_verify_still_passes);

async fn logs_errors_and_viewer_responses_never_show_a_citizens_name_or_email(db: &Db) {
    let debug = [("RUST_LOG", "debug")];
    let mut all_output = String::new();
    let mut token = |role: &str, subject: &str| {
        let mut cmd = cli();
        cmd.env("RUST_LOG", "debug").args([
            "token",
            "--db",
            &db.url,
            "create",
            "--role",
            role,
            "--subject",
            subject,
        ]);
        let out = run_command(&mut cmd, LIMIT);
        let stdout = expect_success("token create", &out);
        let (o, e) = texts(&out);
        all_output.push_str(&o);
        all_output.push_str(&e);
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("token:").map(|t| t.trim().to_owned()))
            .unwrap()
    };
    let admin = token("admin", "admin@test");
    let viewer = token("viewer", "viewer@test");
    let mut seed_catalogues = cli();
    seed_catalogues
        .env("RUST_LOG", "debug")
        .args(["seed-catalogues", "--db", &db.url]);
    let out = run_command(&mut seed_catalogues, LIMIT);
    let seeded = expect_success("seed-catalogues", &out);
    assert!(seeded.contains("entries registered"), "{seeded}");

    // Import a petition (and a bad line carrying the name) with debug logging.
    let dir = std::env::temp_dir().join(format!("seg_pd_{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("petitions.jsonl");
    let lines = [
        json!({"command": "registerAgency", "input": {"acronym": "CEA", "name": "Comisión Estatal del Agua", "sectorHead": null}}),
        json!({"command": "receivePetition", "input": petition_input(IMPORTED_PETITION, IMPORTED_CITIZEN)}),
        json!({"command": "receivePetition", "input": {"contact": {"name": CITIZEN_NAME, "email": CITIZEN_EMAIL}}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect::<String>()
        + &format!("{{\"command\": \"receivePetition\", \"input\": {{\"contact\": \"{CITIZEN_NAME} <{CITIZEN_EMAIL}>\"\n");
    std::fs::write(&file, text).unwrap();
    let mut cmd = cli();
    cmd.env("RUST_LOG", "debug")
        .args(["import", file.to_str().unwrap(), "--db", &db.url]);
    let out = run_command(&mut cmd, LIMIT);
    let (o, e) = texts(&out);
    assert!(
        o.contains("rejected"),
        "the bad lines were not rejected:\n{o}\n{e}"
    );
    all_output.push_str(&o);
    all_output.push_str(&e);

    // Serve with debug logs through a whole petition's life.
    let mut server = Spawned::serve(&db.url, &["-vv"], &debug);
    let http = http_client();
    let base = server.base.clone();
    let m = |name: &str| mutation(name);
    let mut responses = Vec::new();
    for (name, input) in [
        ("receivePetition", petition_input(PETITION_ID, CITIZEN_ID)),
        (
            "turnPetition",
            json!({"petitionId": PETITION_ID, "target": {"agency": "CEA"}, "turnedAt": "2023-04-11T18:00:00Z"}),
        ),
        (
            "recordPetitionFollowUp",
            json!({"petitionId": PETITION_ID, "kind": "EMAIL", "at": "2023-04-12T18:00:00Z"}),
        ),
        (
            "attendPetition",
            json!({"petitionId": PETITION_ID, "at": "2023-04-13T18:00:00Z"}),
        ),
        (
            "closePetition",
            json!({"petitionId": PETITION_ID, "at": "2023-04-14T18:00:00Z"}),
        ),
    ] {
        let (st, b) = gql_at(
            &http,
            &base,
            Some(&admin),
            &m(name),
            json!({"input": input}),
        )
        .await;
        assert!(b.get("errors").is_none(), "{name}: HTTP {st} {b}");
    }
    // The admin may read the contact (so the data really went through the server).
    let (_, b) = gql_at(
        &http,
        &base,
        Some(&admin),
        PETITION_QUERY,
        json!({"id": PETITION_ID}),
    )
    .await;
    assert_eq!(
        b["data"]["petition"]["contact"]["name"], CITIZEN_NAME,
        "{b}"
    );
    let (_, b) = gql_at(
        &http,
        &base,
        Some(&admin),
        HISTORY,
        json!({"s": format!("petition-{PETITION_ID}")}),
    )
    .await;
    assert!(b.get("errors").is_none(), "{b}");

    // Errors around personal data: a duplicate, wrong types, a bad enum, a bad date.
    let mut dup = petition_input(PETITION_ID, CITIZEN_ID);
    dup["municipality"] = json!("Cajeme");
    let mut wrong_type = petition_input("00000000-0000-4000-8000-0000000000c4", CITIZEN_ID);
    wrong_type["contact"]["phone"] = json!([CITIZEN_EMAIL, CITIZEN_NAME]);
    let mut bad_date = petition_input("00000000-0000-4000-8000-0000000000c6", CITIZEN_ID);
    bad_date["receivedAt"] = json!("mañana");
    let mut future = petition_input("00000000-0000-4000-8000-0000000000c8", CITIZEN_ID);
    future["receivedAt"] = json!("2999-01-01T00:00:00Z");
    for input in [dup, wrong_type, bad_date, future] {
        let (st, b) = gql_at(
            &http,
            &base,
            Some(&admin),
            &m("receivePetition"),
            json!({"input": input}),
        )
        .await;
        assert!(b.get("errors").is_some(), "accepted: HTTP {st} {b}");
        responses.push(("an error", b.to_string()));
    }
    // Viewer: reports fine, personal reads refused.
    for q in [
        "{ petitionsMonthly(year: 2023) { total { received byTopic { topic count } byChannel { channel count } } months { month received } } }",
        "{ agencies { acronym name } }",
    ] {
        let (_, b) = gql_at(&http, &base, Some(&viewer), q, json!({})).await;
        assert!(b.get("errors").is_none(), "{b}");
        responses.push(("a viewer response", b.to_string()));
    }
    for (q, vars) in [
        (PETITION_QUERY, json!({"id": PETITION_ID})),
        (HISTORY, json!({"s": format!("petition-{PETITION_ID}")})),
    ] {
        let (_, b) = gql_at(&http, &base, Some(&viewer), q, vars).await;
        assert_eq!(code(&b).as_deref(), Some("FORBIDDEN"), "{b}");
        responses.push(("a viewer response", b.to_string()));
    }
    let (_, metrics) = get_text(&http, &format!("{base}/metrics")).await;
    responses.push(("/metrics", metrics));

    tokio::time::sleep(Duration::from_millis(300)).await;
    server.proc.kill9();
    all_output.push_str(&server.proc.stdout.text());
    all_output.push_str(&server.proc.stderr.text());
    assert!(
        all_output.contains("DEBUG") || all_output.contains("debug"),
        "debug logging was not on; the scan proves nothing"
    );
    for (what, text) in &responses {
        let found = shows_personal_data(text);
        assert!(found.is_empty(), "{what} shows {found:?}: {text}");
    }
    let found = shows_personal_data(&all_output);
    let context: Vec<&str> = all_output
        .lines()
        .filter(|l| !shows_personal_data(l).is_empty())
        .take(5)
        .collect();
    assert!(
        found.is_empty(),
        "the logs show {found:?}, e.g.:\n{}",
        context.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
on_both_backends!(Db: logs_errors_and_viewer_responses_never_show_a_citizens_name_or_email);

/// A client that puts a citizen's e-mail or name in the wrong field (an enum, a date, a
/// number) gets a VALIDATION error that does not echo the value back (it would end up in
/// client logs and error trackers).
async fn graphql_errors_do_not_echo_personal_data_put_in_the_wrong_field(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let head0 = s.app.store().head_position().await.unwrap();
    let id = "00000000-0000-4000-8000-0000000000c5";
    let mut cases = Vec::new();
    for (field, value) in [
        ("topic", json!(CITIZEN_EMAIL)),
        ("channel", json!(CITIZEN_NAME)),
        ("receivedAt", json!(CITIZEN_EMAIL)),
        ("citizenId", json!(CITIZEN_NAME)),
    ] {
        let mut input = petition_input(id, CITIZEN_ID);
        input[field] = value;
        cases.push((field, input));
    }
    for (field, input) in cases {
        let (st, b) = s
            .mutate(&s.admin, "receivePetition", input, json!({}))
            .await;
        assert!(!st.is_server_error());
        assert_eq!(code(&b).as_deref(), Some("VALIDATION"), "{b}");
        let found = shows_personal_data(&b.to_string());
        assert!(
            found.is_empty(),
            "the error for a bad {field} echoes {found:?}: {b}"
        );
    }
    assert_eq!(s.app.store().head_position().await.unwrap(), head0);
    s.stop().await;
}
on_both_backends!(Db: graphql_errors_do_not_echo_personal_data_put_in_the_wrong_field);

/// An import line with a citizen's data in the wrong field (a catalogue code, a date, a
/// uuid) is rejected with a reason that does not quote the value (the reason is printed
/// and logged).
#[test]
fn an_import_rejection_never_quotes_the_personal_data_it_refused() {
    for (field, value) in [
        ("channel", json!(CITIZEN_NAME)),
        ("topic", json!(CITIZEN_EMAIL)),
        ("receivedAt", json!(CITIZEN_NAME)),
        ("citizenId", json!(CITIZEN_EMAIL)),
        (
            "contact",
            json!(format!("{CITIZEN_NAME} <{CITIZEN_EMAIL}>")),
        ),
    ] {
        let mut input = petition_input(PETITION_ID, CITIZEN_ID);
        input[field] = value;
        let line = json!({"command": "receivePetition", "input": input}).to_string();
        let reason = match ImportLine::parse(7, &line) {
            Err(err) => {
                assert_eq!(err.line, 7);
                err.reason
            }
            // A catalogue code is a string: the line parses, and the input check every
            // command passes before it is decided refuses it.
            Ok(ImportLine {
                item: ImportItem::Command { command, .. },
                ..
            }) => command
                .check()
                .expect_err("a bad code passes the check")
                .to_string(),
            Ok(other) => panic!("a bad {field} parsed as {other:?}"),
        };
        let found = shows_personal_data(&reason);
        assert!(
            found.is_empty(),
            "the reason for a bad {field} quotes {found:?}: {reason}"
        );
    }
}

/// A backup that keeps personal data: `export --with-keys` writes the citizens' keys to a
/// passphrase-sealed file of their own; `import --keys` stores them before the log, and
/// the contacts read as before. Without the keys the import says how many contacts
/// arrived unreadable; with a wrong passphrase it refuses.
async fn an_export_with_keys_imports_with_readable_contacts_and_one_without_says_what_is_lost(
    db: &Db,
) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    import_a_petition(&s).await;
    s.settle().await;
    let dir = std::env::temp_dir().join(format!("seg_bk_{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log.jsonl");
    let keys = dir.join("keys.json");
    let (log_s, keys_s) = (log.to_str().unwrap(), keys.to_str().unwrap());
    let pass = ("SEGUIMIENTO_KEYS_PASSPHRASE", "una frase larga y secreta");
    let out = run_command(
        cli().env(pass.0, pass.1).args([
            "export",
            "--db",
            &db.url,
            "--out",
            log_s,
            "--with-keys",
            keys_s,
        ]),
        LIMIT,
    );
    expect_success("export --with-keys", &out);
    let key_text = std::fs::read_to_string(&keys).unwrap();
    assert!(shows_personal_data(&key_text).is_empty());
    assert!(
        !key_text.contains(CITIZEN_ID),
        "the key file names citizens in clear"
    );

    // Without the keys: imported, but the report says the contacts cannot be read.
    let bare = Db::new(db.backend).await.unwrap();
    let out = run_cli(&["import", log_s, "--db", &bare.url], LIMIT);
    let text = expect_success("import without keys", &out);
    assert!(
        text.contains("2 contacts arrived without their keys and cannot be read"),
        "{text}"
    );
    bare.cleanup().await;

    // A wrong passphrase is refused before anything is imported.
    let wrong = Db::new(db.backend).await.unwrap();
    let out = run_command(
        cli()
            .env(pass.0, "otra")
            .args(["import", log_s, "--keys", keys_s, "--db", &wrong.url]),
        LIMIT,
    );
    assert!(!out.status.success(), "a wrong passphrase was accepted");
    assert_eq!(wrong.store().head_position().await.unwrap(), 0);
    wrong.cleanup().await;

    // With the keys: every contact opens again.
    let restored = Db::new(db.backend).await.unwrap();
    let out = run_command(
        cli()
            .env(pass.0, pass.1)
            .args(["import", log_s, "--keys", keys_s, "--db", &restored.url]),
        LIMIT,
    );
    let text = expect_success("import --keys", &out);
    assert!(!text.contains("without their keys"), "{text}");
    let app = seguimiento_app::App::from_store(restored.store().clone());
    let mut opened = 0;
    for r in event_rows(restored.store()).await {
        if r.event_type != "PetitionReceived" {
            continue;
        }
        let mut p: Value = serde_json::from_str(&r.payload).unwrap();
        assert!(
            app.vault().unseal(&r.event_type, &mut p).await.unwrap(),
            "{p}"
        );
        assert_eq!(p["contact"]["name"], CITIZEN_NAME);
        opened += 1;
    }
    assert_eq!(opened, 2);
    restored.cleanup().await;
    let _ = std::fs::remove_dir_all(&dir);
    s.stop().await;
}
on_both_backends!(Db: an_export_with_keys_imports_with_readable_contacts_and_one_without_says_what_is_lost);

/// `citizen-export` prints the citizen's petitions with every event and the contact
/// opened, and records the request.
async fn the_cli_exports_everything_held_about_a_citizen_and_records_it(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let out = run_cli(&["citizen-export", CITIZEN_ID, "--db", &db.url], LIMIT);
    let text = expect_success("citizen-export", &out);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["citizenId"], CITIZEN_ID);
    let petitions = v["petitions"].as_array().unwrap();
    assert_eq!(petitions.len(), 1, "{v}");
    assert_eq!(petitions[0]["contact"]["name"], CITIZEN_NAME);
    assert_eq!(petitions[0]["events"][0]["type"], "PetitionReceived");
    let rows = text_rows(
        db.store(),
        "SELECT citizen_id, kind, actor FROM citizen_data_requests",
    )
    .await;
    assert_eq!(
        rows,
        vec![vec![
            Some(CITIZEN_ID.to_owned()),
            Some("export".to_owned()),
            Some("cli".to_owned())
        ]]
    );
    s.stop().await;
}
on_both_backends!(Db: the_cli_exports_everything_held_about_a_citizen_and_records_it);

/// Rectifying a contact (ARCO) is a new event, sealed like the received one; the petition
/// shows the latest contact; only an admin may rectify; forgetting the citizen makes the
/// rectified contact unreadable too.
async fn a_rectified_contact_is_a_new_sealed_event_and_the_petition_shows_it(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let new_email = "nuevo.correo@example.net";
    let input = json!({"petitionId": PETITION_ID,
        "contact": {"name": CITIZEN_NAME, "phone": null, "email": new_email, "address": null}});
    for token in [&s.auditor, &s.capturista, &s.viewer] {
        let (_, b) = s
            .mutate(token, "rectifyCitizenContact", input.clone(), json!({}))
            .await;
        assert_eq!(code(&b).as_deref(), Some("FORBIDDEN"), "{b}");
    }
    s.must(&s.admin, "rectifyCitizenContact", input).await;
    let rows = event_rows(db.store()).await;
    let rectified: Vec<_> = rows
        .iter()
        .filter(|r| r.event_type == "PetitionContactRectified")
        .collect();
    assert_eq!(rectified.len(), 1);
    assert!(
        !rectified[0].payload.contains("nuevo.correo"),
        "stored in clear"
    );
    let p: Value = serde_json::from_str(&rectified[0].payload).unwrap();
    assert!(p["contact"]["sealed"].is_string(), "{p}");
    assert_eq!(p["citizenId"], CITIZEN_ID);
    let d = s
        .ok(&s.admin, PETITION_QUERY, json!({"id": PETITION_ID}))
        .await;
    assert_eq!(d["petition"]["contact"]["email"], new_email, "{d}");
    assert!(d["petition"]["contact"]["phone"].is_null(), "{d}");

    assert!(s
        .app
        .vault()
        .forget(CITIZEN_ID.parse().unwrap())
        .await
        .unwrap());
    let d = s
        .ok(&s.admin, PETITION_QUERY, json!({"id": PETITION_ID}))
        .await;
    assert!(d["petition"]["contact"].is_null(), "{d}");
    s.stop().await;
}
on_both_backends!(Db: a_rectified_contact_is_a_new_sealed_event_and_the_petition_shows_it);

//! End-to-end tests of the `seguimiento` binary: each scenario runs the real executable
//! against a throw-away SQLite file and, when `TEST_DATABASE_URL` is set, against a fresh
//! PostgreSQL database (created and dropped by the test; otherwise the PostgreSQL half
//! prints SKIPPED).

use std::path::{Path, PathBuf};
use std::process::Command;

use seguimiento_eventstore::testing::{pg_store, Fixture, TestDb};
use seguimiento_eventstore::Backend;
use uuid::Uuid;

// ---------------------------------------------------------------- harness

/// A database the binary is pointed at.
enum Db {
    Sqlite(PathBuf),
    /// The guard drops the database at the end of the test.
    Postgres {
        url: String,
        _guard: TestDb,
    },
}

impl Db {
    fn sqlite() -> Db {
        Db::Sqlite(temp_path("db"))
    }

    async fn postgres() -> Option<Db> {
        let guard = pg_store()
            .await
            .expect("create a PostgreSQL test database")?;
        let url = guard.url().expect("the test database's URL");
        Some(Db::Postgres { url, _guard: guard })
    }

    fn url(&self) -> String {
        match self {
            Db::Sqlite(p) => format!("sqlite://{}", p.display()),
            Db::Postgres { url, .. } => url.clone(),
        }
    }

    fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Db::Sqlite(p) => Some(p),
            Db::Postgres { .. } => None,
        }
    }
}

impl Fixture for Db {
    type Arg<'a> = &'a Db;

    async fn open(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Db::sqlite()),
            Backend::Postgres => Db::postgres().await,
        }
    }

    fn arg(&self) -> &Db {
        self
    }

    async fn close(self) {}
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Sqlite(p) = self {
            for suffix in ["", "-wal", "-shm", ".keys"] {
                let mut s = p.as_os_str().to_owned();
                s.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(s));
            }
        }
    }
}

/// `admin_url` with its database replaced by `name`.
fn temp_path(ext: &str) -> PathBuf {
    std::env::temp_dir().join(format!("seg_cli_{}.{ext}", Uuid::new_v4().simple()))
}

/// A temp file removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn with(ext: &str, content: &str) -> TempFile {
        let p = temp_path(ext);
        std::fs::write(&p, content).expect("write temp file");
        TempFile(p)
    }

    fn empty(ext: &str) -> TempFile {
        TempFile(temp_path(ext))
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }

    fn read(&self) -> String {
        std::fs::read_to_string(&self.0).expect("read temp file")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `SEGUIMIENTO_DB` pointing at `db`.
fn seg(db: &Db, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_seguimiento"))
        .args(args)
        .env("SEGUIMIENTO_DB", db.url())
        .env_remove("RUST_LOG")
        .output()
        .expect("run the seguimiento binary");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(db: &Db, args: &[&str]) -> Out {
    let out = seg(db, args);
    assert_eq!(
        out.code, 0,
        "seguimiento {args:?} failed\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out
}

/// Number of events in the log (via `export`).
fn event_count(db: &Db) -> usize {
    ok(db, &["export"])
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

// ---------------------------------------------------------------- fixtures

const A1: &str = "00000000-0000-4000-8000-0000000000a1";
const A2: &str = "00000000-0000-4000-8000-0000000000a2";
const P1: &str = "00000000-0000-4000-8000-0000000000b1";
const C1: &str = "00000000-0000-4000-8000-0000000000c1";

/// Agencies, one commitment assigned to both, one action each (SIDUR in progress at 40 %,
/// CEA pending), a letter, the channel and topic of a petition, and the petition: 13 lines,
/// 13 events.
fn good_file() -> String {
    [
        r#"{"command":"registerAgency","input":{"acronym":"SIDUR","name":"Secretaría de Infraestructura y Desarrollo Urbano","sectorHead":null},"actor":"admin","effectiveAt":"2023-01-02T15:00:00Z"}"#.to_owned(),
        r#"{"command":"registerAgency","input":{"acronym":"CEA","name":"Comisión Estatal del Agua","sectorHead":"SIDUR"},"actor":"admin","effectiveAt":"2023-01-02T15:01:00Z"}"#.to_owned(),
        r#"{"command":"registerCommitment","input":{"number":1,"text":"Acueducto"},"actor":"admin","effectiveAt":"2023-01-03T15:00:00Z"}"#.to_owned(),
        r#"{"command":"assignCommitment","input":{"number":1,"agencies":["SIDUR","CEA"]},"actor":"admin","effectiveAt":"2023-01-03T15:05:00Z"}"#.to_owned(),
        format!(r#"{{"command":"registerAction","input":{{"number":1,"actionId":"{A1}","agency":"SIDUR","description":"Proyecto ejecutivo","status":"IN_PROGRESS","progress":"40","investmentMxn":"1500.50","date":"2023-03-01"}},"actor":"enlace.sidur","effectiveAt":"2023-03-01T17:00:00Z"}}"#),
        format!(r#"{{"command":"registerAction","input":{{"number":1,"actionId":"{A2}","agency":"CEA","description":"Licitación","status":"PENDING","progress":null,"investmentMxn":"0","date":"2023-03-01"}},"actor":"enlace.cea","effectiveAt":"2023-03-01T17:30:00Z"}}"#),
        r#"{"command":"receiveLetter","input":{"folio":"DGGD-2023-00001","unit":"DGGD","classification":"RELEVANT","sender":"Presidencia municipal","subject":"Solicitud","receivedAt":"2023-02-01T16:00:00Z"},"actor":"oficialia","effectiveAt":"2023-02-01T16:00:00Z"}"#.to_owned(),
        r#"{"command":"turnLetter","input":{"folio":"DGGD-2023-00001","agency":"SIDUR","turnedAt":"2023-02-02T16:00:00Z"},"actor":"oficialia","effectiveAt":"2023-02-02T16:00:00Z"}"#.to_owned(),
        r#"{"command":"registerCatalogueEntry","input":{"catalogue":"PETITION_CHANNEL","code":"CALL_CENTER","label":"Centro de atención telefónica"},"actor":"admin","effectiveAt":"2023-01-02T15:02:00Z"}"#.to_owned(),
        r#"{"command":"registerCatalogueEntry","input":{"catalogue":"PETITION_TOPIC","code":"HEALTH","label":"Salud"},"actor":"admin","effectiveAt":"2023-01-02T15:03:00Z"}"#.to_owned(),
        format!(r#"{{"command":"receivePetition","input":{{"petitionId":"{P1}","channel":"CALL_CENTER","topic":"HEALTH","municipality":"Hermosillo","citizenId":"{C1}","contact":{{"name":"Juana Pérez","phone":"6621234567","email":null,"address":null}},"tourId":null,"receivedAt":"2023-04-03T18:00:00Z"}},"actor":"atencion","effectiveAt":"2023-04-03T18:00:00Z"}}"#),
        format!(r#"{{"command":"turnPetition","input":{{"petitionId":"{P1}","target":{{"agency":"SIDUR"}},"turnedAt":"2023-04-04T18:00:00Z"}},"actor":"atencion","effectiveAt":"2023-04-04T18:00:00Z"}}"#),
        format!(r#"{{"command":"attendPetition","input":{{"petitionId":"{P1}","at":"2023-04-10T18:00:00Z"}},"actor":"atencion","effectiveAt":"2023-04-10T18:00:00Z"}}"#),
    ]
    .join("\n")
        + "\n"
}

/// Later facts: SIDUR's action concluded (effective September), CEA's at 20 % (May).
fn later_file() -> String {
    [
        format!(r#"{{"command":"changeActionStatus","input":{{"number":1,"actionId":"{A1}","status":"CONCLUDED"}},"actor":"enlace.sidur","effectiveAt":"2023-09-01T17:00:00Z"}}"#),
        format!(r#"{{"command":"reportActionProgress","input":{{"number":1,"actionId":"{A2}","progress":"20"}},"actor":"enlace.cea","effectiveAt":"2023-05-01T17:00:00Z"}}"#),
    ]
    .join("\n")
        + "\n"
}

/// The semáforo CSV as `agency -> (in progress, concluded, pending, compliance %)`.
fn semaforo(csv_text: &str) -> Vec<(String, u64, u64, u64, f64)> {
    let mut lines = csv_text.lines();
    let header: Vec<&str> = lines.next().expect("a header row").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("column {name} in {header:?}"))
    };
    let (key, ip, con, pen, pct) = (
        col("clave"),
        col("en_proceso"),
        col("concluidos"),
        col("pendientes"),
        col("cumplimiento_pct"),
    );
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.expect("a csv record");
        let n = |i: usize| rec[i].parse::<u64>().expect("a count");
        out.push((
            rec[key].to_owned(),
            n(ip),
            n(con),
            n(pen),
            rec[pct].parse::<f64>().expect("a percentage"),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn row<'a>(
    rows: &'a [(String, u64, u64, u64, f64)],
    key: &str,
) -> &'a (String, u64, u64, u64, f64) {
    rows.iter()
        .find(|r| r.0 == key)
        .unwrap_or_else(|| panic!("row {key} in {rows:?}"))
}

// ---------------------------------------------------------------- scenarios

seguimiento_eventstore::on_both_backends!(
    Db:
    importing_a_good_file_stores_every_line,
    a_file_with_bad_lines_is_reported_and_only_good_lines_are_stored,
    rerunning_an_import_appends_nothing_twice,
    export_then_import_into_an_empty_store_gives_the_same_projections,
    a_semaforo_can_be_reported_as_of_a_past_date,
    generated_lines_import_without_rejections,
    tokens_are_created_listed_and_revoked,
    an_export_and_an_anchor_verify_independently_in_python,
);

async fn importing_a_good_file_stores_every_line(db: &Db) {
    let file = TempFile::with("jsonl", &good_file());
    let out = ok(db, &["import", file.path()]);
    assert!(
        out.stdout.contains("13 lines: 13 imported"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("0 rejected"), "{}", out.stdout);
    assert_eq!(event_count(db), 13);
    // The actor of a line is the events' actor; effective times are kept.
    let export = ok(db, &["export", "--stream", "commitment-1"]).stdout;
    let first: serde_json::Value =
        serde_json::from_str(export.lines().last().expect("an event")).expect("json");
    assert_eq!(first["metadata"]["actor"], "enlace.cea");
    assert_eq!(first["effectiveAt"], "2023-03-01T17:30:00Z");
}

async fn a_file_with_bad_lines_is_reported_and_only_good_lines_are_stored(db: &Db) {
    let mut lines: Vec<String> = good_file().lines().map(str::to_owned).collect();
    // Line 3: not JSON. Line 5: unknown agency. Line 7: unknown command.
    // Line 9: a petition whose bad field sits beside personal data.
    lines.insert(2, "{not json".to_owned());
    lines.insert(
        4,
        r#"{"command":"registerAgency","input":{"acronym":"X","name":"X","sectorHead":"NOPE"}}"#
            .to_owned(),
    );
    lines.insert(6, r#"{"command":"flyToTheMoon","input":{}}"#.to_owned());
    lines.insert(
        8,
        r#"{"command":"receivePetition","input":{"petitionId":"00000000-0000-4000-8000-0000000000f1","channel":"TELEPATHY","topic":"HEALTH","municipality":"Hermosillo","citizenId":"00000000-0000-4000-8000-0000000000f2","contact":{"name":"Pedro Secreto","phone":"6629999999","email":null,"address":null},"tourId":null,"receivedAt":"2023-04-03T18:00:00Z"}}"#
            .to_owned(),
    );
    let file = TempFile::with("jsonl", &(lines.join("\n") + "\n"));
    let out = seg(db, &["import", file.path()]);
    assert_ne!(
        out.code, 0,
        "bad lines must fail the import: {}",
        out.stdout
    );
    for n in [3, 5, 7, 9] {
        assert!(
            out.stdout.contains(&format!("line {n}: rejected")),
            "line {n} not reported:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("unknown agency NOPE"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("Pedro"),
        "personal data in: {}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("6629999999"),
        "personal data in: {}",
        out.stdout
    );
    assert!(out.stdout.contains("13 imported"), "{}", out.stdout);
    assert!(out.stdout.contains("4 rejected"), "{}", out.stdout);
    // The good lines are stored, nothing else.
    assert_eq!(event_count(db), 13);
    let streams: std::collections::BTreeSet<String> = ok(db, &["export"])
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            v["stream"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert!(!streams.contains("petition-00000000-0000-4000-8000-0000000000f1"));
    let json = ok(db, &["export", "--stream", "agencies"]).stdout;
    assert!(!json.contains("\"X\""), "the refused agency was stored");
}

async fn rerunning_an_import_appends_nothing_twice(db: &Db) {
    let file = TempFile::with("jsonl", &good_file());
    ok(db, &["import", file.path()]);
    let before = ok(db, &["export"]).stdout;
    let again = ok(db, &["import", file.path(), "--json"]);
    let report: serde_json::Value = serde_json::from_str(&again.stdout).expect("json report");
    assert_eq!(report["accepted"], 0, "{}", again.stdout);
    assert_eq!(report["alreadyImported"], 13, "{}", again.stdout);
    assert_eq!(report["eventsAppended"], 0, "{}", again.stdout);
    assert_eq!(
        ok(db, &["export"]).stdout,
        before,
        "the log changed on a re-run"
    );
}

async fn export_then_import_into_an_empty_store_gives_the_same_projections(db: &Db) {
    let file = TempFile::with("jsonl", &good_file());
    ok(db, &["import", file.path()]);
    let later = TempFile::with("jsonl", &later_file());
    ok(db, &["import", later.path()]);
    let exported = TempFile::empty("jsonl");
    ok(db, &["export", "--out", exported.path()]);
    assert_eq!(exported.read().lines().count(), 16);

    let target = match db {
        Db::Sqlite(_) => Db::sqlite(),
        Db::Postgres { .. } => Db::postgres().await.expect("PostgreSQL is configured"),
    };
    let out = ok(&target, &["import", exported.path()]);
    assert!(out.stdout.contains("16 imported"), "{}", out.stdout);
    // Importing the export again appends nothing (idempotent by event id).
    let again = ok(&target, &["import", exported.path()]);
    assert!(
        again.stdout.contains("16 already imported"),
        "{}",
        again.stdout
    );

    for scope in [
        "semaforo-compromisos",
        "correspondence",
        "petitions",
        "cabinet",
    ] {
        let args = [
            "report",
            scope,
            "--format",
            "json",
            "--effective-at",
            "2024-01-31",
            "--year",
            "2023",
        ];
        assert_eq!(
            ok(db, &args).stdout,
            ok(&target, &args).stdout,
            "{scope} differs after export → import"
        );
    }
    // The live tables agree too once rebuilt.
    ok(db, &["rebuild"]);
    ok(&target, &["rebuild"]);
    let live = ["report", "semaforo-compromisos", "--format", "json"];
    assert_eq!(ok(db, &live).stdout, ok(&target, &live).stdout);
    // Same events, same ids, same chain content.
    let strip = |text: String| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).expect("json");
                let o = v.as_object_mut().expect("object");
                for k in ["recordedAt", "hash", "prevHash", "position"] {
                    o.remove(k);
                }
                v
            })
            .collect()
    };
    assert_eq!(
        strip(ok(db, &["export"]).stdout),
        strip(ok(&target, &["export"]).stdout)
    );
}

/// Lines at the edges of the input policy: what SQLite accepts PostgreSQL accepts too.
fn edge_file() -> String {
    let folio = "F".repeat(100);
    let name = "Ñ".repeat(500);
    let subject = format!("{}\n\tfin 🌵", "é".repeat(9_990));
    let lines = [
        serde_json::json!({"command": "registerAgency", "input": {"acronym": "SIDUR", "name": name, "sectorHead": null}}),
        serde_json::json!({"command": "receiveLetter", "input": {"folio": folio, "unit": "DGGD", "classification": "RELEVANT",
            "sender": "Ayuntamiento de Cajeme", "subject": subject, "receivedAt": "2023-02-01T16:00:00Z"}}),
        // Refused by the policy on every backend: never stored, so never exported.
        serde_json::json!({"command": "registerAgency", "input": {"acronym": "CE\u{0}A", "name": "x", "sectorHead": null}}),
        serde_json::json!({"command": "receiveLetter", "input": {"folio": "F".repeat(101), "unit": "DGGD",
            "classification": "RELEVANT", "sender": "x", "subject": "y", "receivedAt": "2023-02-01T16:00:00Z"}}),
    ];
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[tokio::test]
async fn an_export_from_sqlite_always_imports_into_postgres() {
    let Some(target) = Db::postgres().await else {
        return;
    };
    let source = Db::sqlite();
    let file = TempFile::with("jsonl", &edge_file());
    let out = seg(&source, &["import", file.path()]);
    assert!(out.stdout.contains("2 imported"), "{}", out.stdout);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("field acronym") && said.contains("field folio"),
        "{said}"
    );
    let exported = TempFile::empty("jsonl");
    ok(&source, &["export", "--out", exported.path()]);
    let out = ok(&target, &["import", exported.path()]);
    assert!(out.stdout.contains("2 imported"), "{}", out.stdout);
    ok(&target, &["verify"]);
    let strip = |text: String| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).expect("json");
                let o = v.as_object_mut().expect("object");
                // Recorded anew on import, so hashed anew.
                for k in ["recordedAt", "hash"] {
                    o.remove(k);
                }
                v
            })
            .collect()
    };
    assert_eq!(
        strip(ok(&source, &["export"]).stdout),
        strip(ok(&target, &["export"]).stdout)
    );
}

async fn a_semaforo_can_be_reported_as_of_a_past_date(db: &Db) {
    let file = TempFile::with("jsonl", &good_file());
    ok(db, &["import", file.path()]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let between = chrono::Utc::now().to_rfc3339();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let later = TempFile::with("jsonl", &later_file());
    ok(db, &["import", later.path()]);

    let csv_for = |extra: &[&str]| {
        let mut args = vec!["report", "semaforo-compromisos", "--format", "csv"];
        args.extend_from_slice(extra);
        semaforo(&ok(db, &args).stdout)
    };
    // What the system showed between the two imports.
    let then = csv_for(&["--as-of", &between]);
    assert_eq!(row(&then, "SIDUR"), &("SIDUR".into(), 1, 0, 0, 40.0));
    assert_eq!(row(&then, "CEA"), &("CEA".into(), 0, 0, 1, 0.0));
    // Everything known now.
    let now = csv_for(&["--as-of", "2100-01-01"]);
    assert_eq!(row(&now, "SIDUR"), &("SIDUR".into(), 0, 1, 0, 100.0));
    assert_eq!(row(&now, "CEA"), &("CEA".into(), 1, 0, 0, 20.0));
    // What was true at the end of June 2023, as known now: SIDUR's conclusion took
    // effect in September, CEA's progress in May.
    let june = csv_for(&["--effective-at", "2023-06-30"]);
    assert_eq!(row(&june, "SIDUR"), &("SIDUR".into(), 1, 0, 0, 40.0));
    assert_eq!(row(&june, "CEA"), &("CEA".into(), 1, 0, 0, 20.0));
    // Both: as known between the imports, true at the end of June.
    let both = csv_for(&["--as-of", &between, "--effective-at", "2023-06-30"]);
    assert_eq!(row(&both, "CEA"), &("CEA".into(), 0, 0, 1, 0.0));
    // Before anything took effect.
    let early = csv_for(&["--effective-at", "2023-02-01"]);
    assert!(early.iter().all(|r| r.2 == 0 && r.1 == 0), "{early:?}");
}

async fn generated_lines_import_without_rejections(db: &Db) {
    let a = TempFile::empty("jsonl");
    let b = TempFile::empty("jsonl");
    let gen = |out: &TempFile| {
        ok(
            db,
            &[
                "gen",
                "--years",
                "1",
                "--agencies",
                "8",
                "--seed",
                "7",
                "--scale",
                "0.01",
                "--out",
                out.path(),
            ],
        )
    };
    gen(&a);
    gen(&b);
    let text = a.read();
    assert_eq!(text, b.read(), "the same seed must give the same file");
    let lines = text.lines().count();
    assert!(lines > 1_000, "only {lines} lines generated");
    // Every line names its command with a v7 id of its own effective time, and aggregates
    // created by a line get v7 ids of that time (time-ordered keys in the log's indexes).
    let millis = |id: &serde_json::Value| {
        let id: uuid::Uuid = id.as_str().and_then(|s| s.parse().ok()).expect("a uuid");
        assert_eq!(id.get_version(), Some(uuid::Version::SortRand), "{id}");
        let (secs, nanos) = id.get_timestamp().expect("v7 time").to_unix();
        i64::try_from(secs * 1000 + u64::from(nanos / 1_000_000)).expect("millis")
    };
    let mut petitions_seen = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        let at = chrono::DateTime::parse_from_rfc3339(v["effectiveAt"].as_str().expect("time"))
            .expect("rfc 3339")
            .timestamp_millis();
        assert_eq!(millis(&v["commandId"]), at, "{line}");
        if v["command"] == "receivePetition" {
            assert_eq!(millis(&v["input"]["petitionId"]), at, "{line}");
            petitions_seen += 1;
        }
    }
    assert!(petitions_seen > 100, "{petitions_seen} petitions");
    let out = ok(db, &["import", a.path(), "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("json report");
    assert_eq!(report["rejected"], serde_json::json!([]), "{}", out.stdout);
    assert_eq!(report["accepted"], lines, "{}", out.stdout);
    // The ids come from the file, not the run: importing it again appends nothing.
    let again = ok(db, &["import", a.path(), "--json"]);
    let report: serde_json::Value = serde_json::from_str(&again.stdout).expect("json report");
    assert_eq!(report["alreadyImported"], lines, "{}", again.stdout);
    assert_eq!(report["eventsAppended"], 0, "{}", again.stdout);
    ok(db, &["rebuild"]);
    let status = ok(db, &["projections"]).stdout;
    assert!(status.contains("up to date"), "{status}");
    let petitions = ok(
        db,
        &["report", "petitions", "--year", "2023", "--format", "json"],
    )
    .stdout;
    let v: serde_json::Value = serde_json::from_str(&petitions).expect("json");
    assert!(
        v["total"]["received"].as_u64().unwrap_or(0) > 100,
        "{petitions}"
    );
    let conferences = ok(
        db,
        &[
            "report",
            "press-conferences",
            "--year",
            "2023",
            "--format",
            "json",
        ],
    )
    .stdout;
    let v: serde_json::Value = serde_json::from_str(&conferences).expect("json");
    let total = v["period"]["total"].as_u64().unwrap_or(0);
    assert!(total > 0, "{conferences}");
    let register = v["conferences"].as_array().map_or(0, Vec::len);
    assert_eq!(register as u64, total, "{conferences}");
    // Every generated conference has its participants, and they spoke.
    assert!(
        v["conferences"]
            .as_array()
            .into_iter()
            .flatten()
            .all(
                |c| c["participants"].as_array().is_some_and(|p| p.len() >= 2)
                    && c["interventions"].as_array().is_some_and(|i| !i.is_empty())
            ),
        "{conferences}"
    );
}

async fn tokens_are_created_listed_and_revoked(db: &Db) {
    let out = ok(
        db,
        &[
            "token",
            "create",
            "--role",
            "capturista",
            "--agency",
            "SIDUR",
            "--subject",
            "enlace.sidur",
        ],
    );
    let id = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("id:"))
        .map(|s| s.trim().to_owned())
        .expect("an id line");
    assert!(out.stdout.contains("token:  seg_"), "{}", out.stdout);
    let list = ok(db, &["token", "list"]).stdout;
    assert!(list.contains(&id) && list.contains("active"), "{list}");
    assert!(!list.contains("seg_"), "a secret was listed: {list}");
    ok(db, &["token", "revoke", &id]);
    assert!(ok(db, &["token", "list"]).stdout.contains("revoked"));
    let again = seg(db, &["token", "revoke", &id]);
    assert_ne!(again.code, 0);
    let bad = seg(db, &["token", "create", "--role", "emperor"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.starts_with("error: unknown role"),
        "{}",
        bad.stderr
    );
}

/// Runs `docs/verify_chain.py` (Python 3, standard library only) with `args`.
fn verify_chain_py(args: &[&str]) -> Out {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/verify_chain.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .expect("run python3 docs/verify_chain.py (python3 must be installed)");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The verifier's own JCS encoder writes what the store writes (RFC 8785's examples,
/// floats across the exponent boundaries, integers beyond 2^53, keys beyond U+FFFF), so
/// an auditor re-encoding an export gets the hashed bytes.
// RFC 8785's example literal, digits beyond a double's included.
#[allow(clippy::excessive_precision)]
#[test]
fn the_python_verifier_encodes_json_as_the_store_does() {
    let mut values = vec![
        serde_json::json!({"\u{fb33}": 1, "\u{1f600}": [2, "\u{1f600}"], "\r": 3, "1": 4, "\u{80}": 5, "ö": {"b": null, "a": true}}),
        serde_json::json!("\u{20ac}$\u{f}\nA'B\"\\\\\"/\u{7f}\u{1}\t"),
        serde_json::json!([0, -0.0, 1.0, 123.0, 0.1, 4.5, 0.002, 1e21, 1e20, 1e-6, 1e-7, 5e-324]),
        serde_json::json!([
            1.7976931348623157e308,
            333333333.33333329,
            -1e-7,
            9007199254740992u64
        ]),
        serde_json::json!({"n": 9223372036854776000u64, "m": -30667205329478880i64, "s": "ñ"}),
    ];
    // Floats from every decade, with long and short digit strings.
    let mut x = 1.234_567_890_123_456_7e-12_f64;
    while x < 1e25 {
        values.push(serde_json::json!([x, -x / 3.0, x.round()]));
        x *= 7.3;
    }
    let input = TempFile::with(
        "jsonl",
        &values
            .iter()
            .map(|v| v.to_string() + "\n")
            .collect::<String>(),
    );
    let py = verify_chain_py(&["--jcs", input.path()]);
    assert_eq!(py.code, 0, "{}", py.stderr);
    let ours: Vec<String> = values
        .iter()
        .map(|v| seguimiento_eventstore::hash::canonical_json(v).expect("JCS"))
        .collect();
    assert_eq!(py.stdout.lines().collect::<Vec<_>>(), ours);
}

async fn an_export_and_an_anchor_verify_independently_in_python(db: &Db) {
    let file = TempFile::with("jsonl", &good_file());
    ok(db, &["import", file.path()]);
    let anchor = TempFile::empty("json");
    let printed = ok(db, &["anchor", "--out", anchor.path()]).stdout;
    assert_eq!(printed, anchor.read());
    let head: serde_json::Value = serde_json::from_str(printed.trim()).expect("anchor JSON");
    assert_eq!(head["position"], 13);
    assert_eq!(head["link"].as_str().map(str::len), Some(64));
    let out = ok(db, &["verify", "--anchor", anchor.path()]);
    assert!(out.stdout.contains("anchor extended"), "{}", out.stdout);
    ok(db, &["verify", "--anchor", printed.trim()]);

    let export = TempFile::empty("jsonl");
    ok(db, &["export", "--out", export.path()]);
    let py = verify_chain_py(&[export.path(), "--anchor", anchor.path()]);
    assert_eq!(py.code, 0, "{}\n{}", py.stdout, py.stderr);
    // It recomputed the same head as the store's.
    assert_eq!(py.stdout, printed);

    // Later events: the old anchor still holds, in both verifiers.
    let later = TempFile::with("jsonl", &later_file());
    ok(db, &["import", later.path()]);
    ok(db, &["verify", "--anchor", anchor.path()]);
    ok(db, &["export", "--out", export.path()]);
    let py = verify_chain_py(&[export.path(), "--anchor", anchor.path()]);
    assert_eq!(py.code, 0, "{}\n{}", py.stdout, py.stderr);
    let lines: Vec<String> = export.read().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 16);

    // An edited payload in the export.
    let mut edited = lines.clone();
    edited[4] = edited[4].replace("Proyecto ejecutivo", "Proyecto ejecutivo 2");
    assert_ne!(edited[4], lines[4]);
    let tampered = TempFile::with("jsonl", &(edited.join("\n") + "\n"));
    let py = verify_chain_py(&[tampered.path()]);
    assert_eq!(py.code, 1, "{}\n{}", py.stdout, py.stderr);
    assert!(py.stdout.contains("BROKEN: position 5"), "{}", py.stdout);

    // Two events of different streams swapped (positions renumbered): each stream's chain
    // holds, the log's does not reach the anchor's link.
    let swapped_lines: Vec<String> = {
        let mut v = lines.clone();
        let mut a: serde_json::Value = serde_json::from_str(&v[1]).expect("json");
        let mut b: serde_json::Value = serde_json::from_str(&v[2]).expect("json");
        assert_ne!(a["stream"], b["stream"]);
        (a["position"], b["position"]) = (b["position"].clone(), a["position"].clone());
        v[1] = b.to_string();
        v[2] = a.to_string();
        v
    };
    let swapped = TempFile::with("jsonl", &(swapped_lines.join("\n") + "\n"));
    let py = verify_chain_py(&[swapped.path()]);
    assert_eq!(
        py.code, 0,
        "a consistent log on its own: {}\n{}",
        py.stdout, py.stderr
    );
    let py = verify_chain_py(&[swapped.path(), "--anchor", anchor.path()]);
    assert_eq!(py.code, 1, "{}\n{}", py.stdout, py.stderr);
    assert!(
        py.stdout.contains("rewritten or reordered"),
        "{}",
        py.stdout
    );

    // The tail cut off, before the anchor's position.
    let short = TempFile::with("jsonl", &(lines[..10].join("\n") + "\n"));
    let py = verify_chain_py(&[short.path(), "--anchor", anchor.path()]);
    assert_eq!(py.code, 1, "{}\n{}", py.stdout, py.stderr);
    assert!(py.stdout.contains("truncated"), "{}", py.stdout);
}

// ---------------------------------------------------------------- SQLite-only and offline

#[tokio::test]
async fn verify_with_an_anchor_finds_a_truncated_tail() {
    let db = Db::sqlite();
    let file = TempFile::with("jsonl", &good_file());
    ok(&db, &["import", file.path()]);
    let anchor = ok(&db, &["anchor"]).stdout;
    // Events and their links cut off behind the store's back.
    let path = db.sqlite_path().expect("a SQLite file").to_owned();
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("open the SQLite file");
        for sql in [
            "DROP TRIGGER events_no_delete",
            "DROP TRIGGER log_chain_no_delete",
            "DELETE FROM events WHERE position > 9",
            "DELETE FROM log_chain WHERE position > 9",
        ] {
            sqlx::query(sql).execute(&mut conn).await.expect(sql);
        }
        conn.close().await.expect("close");
    }
    let out = ok(&db, &["verify"]);
    assert!(out.stdout.contains("intact: 9 events"), "{}", out.stdout);
    let out = seg(&db, &["verify", "--anchor", anchor.trim()]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("ANCHOR NOT EXTENDED"), "{}", out.stdout);
    assert!(out.stdout.contains("truncated"), "{}", out.stdout);
    let json = seg(&db, &["verify", "--json", "--anchor", anchor.trim()]);
    assert_eq!(json.code, 1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(v["anchorExtended"], false);
    let bad = seg(
        &db,
        &["verify", "--anchor", "{\"position\":1,\"link\":\"x\"}"],
    );
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("64 lowercase hex"), "{}", bad.stderr);
}

#[tokio::test]
async fn verify_exits_zero_when_intact_and_one_after_tampering() {
    let db = Db::sqlite();
    let file = TempFile::with("jsonl", &good_file());
    ok(&db, &["import", file.path()]);
    let out = ok(&db, &["verify"]);
    assert!(out.stdout.contains("intact: 13 events"), "{}", out.stdout);
    ok(&db, &["verify", "--stream", "commitment-1"]);

    // Tamper with one payload behind the store's back.
    let path = db.sqlite_path().expect("a SQLite file").to_owned();
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("open the SQLite file");
        sqlx::query("DROP TRIGGER IF EXISTS events_no_update")
            .execute(&mut conn)
            .await
            .expect("drop the trigger");
        let changed = sqlx::query(
            "UPDATE events SET payload = replace(payload, '40', '90') \
             WHERE stream = 'commitment-1' AND version = 2",
        )
        .execute(&mut conn)
        .await
        .expect("tamper");
        assert_eq!(changed.rows_affected(), 1);
        conn.close().await.expect("close");
    }
    let broken = seg(&db, &["verify"]);
    assert_eq!(broken.code, 1, "{}\n{}", broken.stdout, broken.stderr);
    assert!(broken.stdout.contains("BROKEN"), "{}", broken.stdout);
    assert!(broken.stdout.contains("commitment-1"), "{}", broken.stdout);
    let stream = seg(&db, &["verify", "--stream", "commitment-1"]);
    assert_eq!(stream.code, 1);
    assert_eq!(seg(&db, &["verify", "--stream", "agencies"]).code, 0);
}

#[test]
fn schema_prints_the_sdl() {
    let db = Db::sqlite();
    let out = ok(&db, &["schema"]);
    assert!(out.stdout.contains("type Query"), "{}", out.stdout);
}

#[test]
fn a_missing_file_is_a_one_line_error_not_a_panic() {
    let db = Db::sqlite();
    let out = seg(&db, &["import", "/nonexistent/file.jsonl"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.starts_with("error: cannot open"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"));
}

#[test]
fn a_bad_time_argument_is_refused_by_the_parser() {
    let db = Db::sqlite();
    let out = seg(&db, &["report", "cabinet", "--as-of", "yesterday"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not a time"), "{}", out.stderr);
}

#[test]
fn reports_render_as_table_csv_and_xlsx() {
    let db = Db::sqlite();
    let file = TempFile::with("jsonl", &good_file());
    ok(&db, &["import", file.path()]);
    let table = ok(
        &db,
        &[
            "report",
            "semaforo-compromisos",
            "--effective-at",
            "2024-01-01",
        ],
    )
    .stdout;
    assert!(
        table.contains("clave") && table.contains("SIDUR"),
        "{table}"
    );
    let xlsx = TempFile::empty("xlsx");
    ok(
        &db,
        &[
            "report",
            "correspondence",
            "--year",
            "2023",
            "--format",
            "xlsx",
            "--out",
            xlsx.path(),
            "--effective-at",
            "2024-01-01",
        ],
    );
    let bytes = std::fs::read(&xlsx.0).expect("the workbook");
    assert!(bytes.starts_with(b"PK"), "an xlsx is a zip file");
    let missing_out = seg(&db, &["report", "cabinet", "--format", "xlsx"]);
    assert_ne!(missing_out.code, 0);
}

/// A running `seguimiento serve`, its stdout lines arriving on a channel.
struct ServeProcess {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl ServeProcess {
    fn start(db: &Db, args: &[&str]) -> ServeProcess {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_seguimiento"))
            .arg("serve")
            .args(args)
            .env("SEGUIMIENTO_DB", db.url())
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start serve");
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        ServeProcess {
            child,
            lines,
            stderr,
        }
    }

    /// The next stdout line starting with `prefix` (within two minutes).
    fn line(&self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return l,
                Ok(_) => {}
                Err(_) => panic!("no line {prefix:?}; stderr:\n{}", self.stderr_text()),
            }
        }
    }

    fn stderr_text(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Ctrl-C, then the exit code (within 30 s).
    fn interrupt(mut self) -> (i32, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -INT {pid}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(std::time::Duration::from_millis(100));
                return (status.code().unwrap_or(-1), self.stderr_text());
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "serve did not stop on Ctrl-C; stderr:\n{}",
                    self.stderr_text()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

#[tokio::test]
async fn serve_demo_loads_the_dataset_once_prints_url_and_token_and_stops_on_ctrl_c() {
    let db = Db::sqlite();
    let server = ServeProcess::start(&db, &["--demo", "--listen", "127.0.0.1:0"]);
    let url = server
        .line("GraphQL: http://")
        .trim_start_matches("GraphQL: ")
        .to_owned();
    let token = server
        .line("admin token: ")
        .trim_start_matches("admin token: ")
        .to_owned();
    assert!(token.starts_with("seg_"), "{token}");
    let body: serde_json::Value = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"query": "{ __typename }"}))
        .send()
        .await
        .expect("POST /graphql")
        .json()
        .await
        .expect("a JSON answer");
    assert_eq!(body["data"]["__typename"], "QueryRoot", "{body}");
    let (code, stderr) = server.interrupt();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("demo: loaded"), "{stderr}");
    let loaded = event_count(&db);
    assert!(loaded > 10_000, "only {loaded} demo events");

    // A second start finds the store not empty and loads nothing.
    let again = ServeProcess::start(&db, &["--demo", "--listen", "127.0.0.1:0"]);
    again.line("admin token: ");
    let (code, stderr) = again.interrupt();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("not loading the demo dataset"), "{stderr}");
    assert_eq!(event_count(&db), loaded);
}

//! Shared helpers of the system tests: the real `seguimiento` binary, throw-away databases
//! with their URLs, an in-process server on a real TCP port, raw looks at the tables.
//!
//! - [`bin`]: builds the `seguimiento` binary once (`cargo build -p seguimiento`, same
//!   profile and target directory as the tests) and runs it.
//! - [`Db`]: a SQLite temp file or a fresh PostgreSQL database (through
//!   `TEST_DATABASE_URL`), with the URL a child process can use; removed on cleanup/drop.
//! - [`Server`]: `seguimiento_api::router` + `serve` on `127.0.0.1:0` over a [`Db`], with
//!   the live projections and one token per role.
//! - [`Spawned`]: a spawned `seguimiento serve` whose stdout and stderr are captured.
//! - raw reads: [`event_rows`], [`projection_snapshot`], [`wait_caught_up`].
//! - every mutation with a valid input ([`writes`]) and every query on a world that has a
//!   record of each kind ([`reads`], [`read_world`]), checked against the schema the server
//!   introspects with [`assert_covers`].
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use seguimiento_eventstore::testing::{test_db, Fixture, TestDb};
use seguimiento_eventstore::{DbPool, EventStore};
use serde_json::{json, Value};

pub use seguimiento_eventstore::testing::TEST_DATABASE_URL;

// ---------------------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------------------

/// Path of the `seguimiento` binary, built once per test process.
///
/// `SEGUIMIENTO_BIN` overrides. Otherwise `cargo build -p seguimiento --bin seguimiento` runs
/// once (with the profile of this test binary; cargo's target directory and flags come from
/// the environment, as for the test build) and the binary is found next to this test
/// executable's `deps/` directory.
pub fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(p) = std::env::var("SEGUIMIENTO_BIN") {
            return PathBuf::from(p);
        }
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test>-<hash>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile> directory")
            .to_path_buf();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "seguimiento",
            "--bin",
            "seguimiento",
        ])
        .arg("--manifest-path")
        .arg(&manifest);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo build -p seguimiento");
        assert!(status.success(), "cargo build -p seguimiento failed");
        let path = profile_dir.join(format!("seguimiento{}", std::env::consts::EXE_SUFFIX));
        assert!(path.exists(), "no binary at {}", path.display());
        path
    })
}

/// A `seguimiento` command with a quiet log and no demo/db from the caller's environment.
pub fn cli() -> Command {
    let mut c = Command::new(bin());
    c.env_remove("SEGUIMIENTO_DB")
        .env_remove("SEGUIMIENTO_DEMO")
        .env_remove("SEGUIMIENTO_LISTEN")
        .env_remove("SEGUIMIENTO_IMPORT_CHUNK")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    c
}

/// Runs `seguimiento <args>` to completion (at most `limit`), capturing its output.
pub fn run_cli(args: &[&str], limit: Duration) -> Output {
    run_command(cli().args(args), limit)
}

/// Runs a command to completion with a time limit (killing it when over), capturing output.
pub fn run_command(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// Stdout and stderr of an output, as text.
pub fn texts(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Asserts a CLI run succeeded, showing its output otherwise; returns stdout.
pub fn expect_success(what: &str, o: &Output) -> String {
    let (out, err) = texts(o);
    assert!(
        o.status.success(),
        "{what} failed ({:?})\nstdout:\n{out}\nstderr:\n{err}",
        o.status
    );
    out
}

/// Captured output of a running child, filled by reader threads.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<String>>);

impl Captured {
    pub fn text(&self) -> String {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn follow(&self, source: impl Read + Send + 'static) {
        let sink = self.0.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(source);
            let mut line = String::new();
            loop {
                line.clear();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if let Ok(mut s) = sink.lock() {
                            s.push_str(&line);
                        }
                    }
                }
            }
        });
    }
}

/// A child process whose stdout and stderr are captured line by line. Killed on drop.
pub struct Running {
    pub child: Child,
    pub stdout: Captured,
    pub stderr: Captured,
}

impl Running {
    pub fn spawn(cmd: &mut Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let stdout = Captured::default();
        let stderr = Captured::default();
        stdout.follow(child.stdout.take().expect("stdout"));
        stderr.follow(child.stderr.take().expect("stderr"));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// SIGKILL (`kill -9`): no chance to clean up.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for it to exit on its own (at most `limit`).
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(
                started.elapsed() < limit,
                "process did not exit within {limit:?}; stderr:\n{}",
                self.stderr.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.alive() {
            self.kill9();
        }
    }
}

/// A spawned `seguimiento serve --listen 127.0.0.1:0`, with its address.
pub struct Spawned {
    pub proc: Running,
    pub base: String,
}

impl Spawned {
    /// Starts `serve` on `db_url` with extra args and env, and waits for its address.
    pub fn serve(db_url: &str, extra: &[&str], env: &[(&str, &str)]) -> Spawned {
        let mut cmd = cli();
        cmd.args(["serve", "--db", db_url, "--listen", "127.0.0.1:0"])
            .args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut proc = Running::spawn(&mut cmd);
        let started = Instant::now();
        let base = loop {
            let out = proc.stdout.text();
            if let Some(line) = out.lines().find(|l| l.starts_with("GraphQL: http://")) {
                let url = line.trim_start_matches("GraphQL: ").trim();
                break url.trim_end_matches("/graphql").to_owned();
            }
            assert!(
                proc.alive(),
                "serve exited early\nstdout:\n{}\nstderr:\n{}",
                proc.stdout.text(),
                proc.stderr.text()
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "serve printed no address within 60 s\nstderr:\n{}",
                proc.stderr.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Spawned { proc, base }
    }
}

// ---------------------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------------------

pub use seguimiento_eventstore::{on_both_backends, Backend};

/// A throw-away database and the URL other processes use to reach it.
pub struct Db {
    pub test: TestDb,
    pub url: String,
    pub backend: Backend,
}

impl Db {
    /// SQLite temp file (always) or a fresh PostgreSQL database (`None` without
    /// `TEST_DATABASE_URL`, after printing SKIPPED).
    pub async fn new(backend: Backend) -> Option<Db> {
        let test = test_db(backend).await?;
        let url = test.url().expect("the test database's URL");
        Some(Db { test, url, backend })
    }

    pub fn store(&self) -> &EventStore {
        self.test.store()
    }

    pub async fn cleanup(self) {
        self.test.cleanup().await;
    }
}

/// The fixture of [`on_both_backends!`]: a scenario takes `&Db`.
impl Fixture for Db {
    type Arg<'a> = &'a Db;

    fn open(backend: Backend) -> impl std::future::Future<Output = Option<Self>> {
        Db::new(backend)
    }

    fn arg(&self) -> &Db {
        self
    }

    fn close(self) -> impl std::future::Future<Output = ()> {
        self.cleanup()
    }
}

// ---------------------------------------------------------------------------------------
// Raw reads
// ---------------------------------------------------------------------------------------

/// One stored event as text columns, straight from the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub position: i64,
    pub id: String,
    pub stream: String,
    pub version: i64,
    pub event_type: String,
    pub payload: String,
    pub metadata: String,
}

/// Every row of `events` in position order (a raw SELECT, no decoding, no unsealing).
pub async fn event_rows(store: &EventStore) -> Vec<EventRow> {
    let sql = "SELECT position, CAST(id AS TEXT), stream, version, event_type, payload, metadata \
               FROM events ORDER BY position";
    type R = (i64, String, String, i64, String, String, String);
    let rows: Vec<R> = match store.pool() {
        DbPool::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        DbPool::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .expect("select events");
    rows.into_iter()
        .map(
            |(position, id, stream, version, event_type, payload, metadata)| EventRow {
                position,
                id,
                stream,
                version,
                event_type,
                payload,
                metadata,
            },
        )
        .collect()
}

/// Runs a query whose columns are all text (cast them), returning the rows.
pub async fn text_rows(store: &EventStore, sql: &str) -> Vec<Vec<Option<String>>> {
    match store.pool() {
        DbPool::Sqlite(p) => columns_as_text(sqlx::query(sql).fetch_all(p).await.expect(sql)),
        DbPool::Postgres(p) => columns_as_text(sqlx::query(sql).fetch_all(p).await.expect(sql)),
    }
}

/// Every column of every row as text (`None` for NULL or a column that is not text).
fn columns_as_text<R: sqlx::Row>(rows: Vec<R>) -> Vec<Vec<Option<String>>>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|r| (0..r.len()).map(|i| r.try_get(i).ok()).collect())
        .collect()
}

/// The served (active-generation) rows of every projection: (projection, key, doc).
pub async fn projection_snapshot(store: &EventStore) -> Vec<(String, String, Value)> {
    let sql = "SELECT r.projection, r.key, r.doc FROM read_model_rows r \
               JOIN projection_active a ON a.projection = r.projection AND a.generation = r.generation \
               ORDER BY r.projection, r.key";
    text_rows(store, sql)
        .await
        .into_iter()
        .map(|r| {
            let doc = r[2].clone().unwrap_or_default();
            (
                r[0].clone().unwrap_or_default(),
                r[1].clone().unwrap_or_default(),
                serde_json::from_str(&doc).unwrap_or(Value::String(doc)),
            )
        })
        .collect()
}

/// Waits until every registered projection's checkpoint is the log head (fails after
/// `limit`).
pub async fn wait_caught_up(store: &EventStore, limit: Duration) {
    let names = seguimiento_projections::registry::names();
    let started = Instant::now();
    loop {
        if let Ok(status) = seguimiento_projections::status_of(store, &names).await {
            if !status.is_empty() && status.iter().all(|s| s.lag == 0 && s.generation > 0) {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "projections did not catch up within {limit:?}: {status:?}"
            );
        } else {
            assert!(started.elapsed() < limit, "cannot read projection status");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------
// In-process server on a real port
// ---------------------------------------------------------------------------------------

pub use seguimiento_api::testing::{input_type, mutation, TestServer as Server};

/// A client with a generous per-request timeout (a hang shows up as an error, not forever).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(128)
        .build()
        .expect("http client")
}

/// POSTs a GraphQL request; returns the HTTP status and the JSON body (or `{"raw": text}`).
pub async fn gql_at(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let body = json!({ "query": query, "variables": variables }).to_string();
    post_raw(http, base, token, body.into_bytes(), "application/json").await
}

/// POSTs raw bytes to `/graphql`.
pub async fn post_raw(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    body: Vec<u8>,
    content_type: &str,
) -> (u16, Value) {
    let mut req = http
        .post(format!("{base}/graphql"))
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = req.send().await.expect("HTTP request");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&bytes).to_string() }));
    (status, value)
}

pub async fn get_text(http: &reqwest::Client, url: &str) -> (u16, String) {
    let resp = http.get(url).send().await.expect("GET");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// Every error's `extensions.code`.
pub fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .map(|e| {
                    e["extensions"]["code"]
                        .as_str()
                        .unwrap_or("<none>")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The first error's `extensions.code`.
pub fn code(body: &Value) -> Option<String> {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}

/// The field names of a root type as the server introspects them (`root`: `queryType`,
/// `mutationType` or `subscriptionType`).
pub async fn root_fields(s: &Server, root: &str) -> Vec<String> {
    let q = format!("{{ __schema {{ {root} {{ fields {{ name }} }} }} }}");
    let data = s.ok(&s.admin, &q, json!({})).await;
    data["__schema"][root]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields of {root}: {data}"))
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The log head position of the server's store.
pub async fn head(s: &Server) -> u64 {
    s.app.store().head_position().await.expect("head position")
}

pub const ACTION_SIDUR: &str = "00000000-0000-4000-8000-000000000001";
pub const ACTION_CEA: &str = "00000000-0000-4000-8000-000000000002";
pub const MEETING_ID: &str = "00000000-0000-4000-8000-0000000000a1";
pub const AGREEMENT_CEA: &str = "00000000-0000-4000-8000-0000000000b1";
pub const AGREEMENT_SIDUR: &str = "00000000-0000-4000-8000-0000000000b2";
pub const PETITION_ID: &str = "00000000-0000-4000-8000-0000000000c1";
pub const CITIZEN_ID: &str = "00000000-0000-4000-8000-0000000000e1";
pub const CITIZEN_NAME: &str = "Zacarías Quintero";
pub const CITIZEN_EMAIL: &str = "zq.test@example.org";
pub const CITIZEN_PHONE: &str = "6629876543";

/// The standard catalogues as import lines (the `receivePetition` of [`petition_input`]
/// names codes of them).
pub fn catalogue_lines() -> Vec<Value> {
    seguimiento_fixtures::catalogues::standard()
        .iter()
        .map(|c| serde_json::to_value(c).expect("a command serializes"))
        .collect()
}

/// A small world: the standard catalogues, SIDUR and CEA, commitment 1 with an action of
/// each, a meeting with an agreement for CEA and one for SIDUR, letter DGGD-0001 turned to
/// CEA, and a petition of Zacarías Quintero.
pub async fn seed(s: &Server) {
    s.seed_catalogues().await;
    let a = s.admin.clone();
    s.must(&a, "registerAgency", json!({"acronym": "SIDUR", "name": "Secretaría de Infraestructura y Desarrollo Urbano", "sectorHead": null})).await;
    s.must(
        &a,
        "registerAgency",
        json!({"acronym": "CEA", "name": "Comisión Estatal del Agua", "sectorHead": "SIDUR"}),
    )
    .await;
    s.must(
        &a,
        "registerCommitment",
        json!({"number": 1, "text": "Construir el acueducto"}),
    )
    .await;
    s.must(
        &a,
        "assignCommitment",
        json!({"number": 1, "agencies": ["SIDUR", "CEA"]}),
    )
    .await;
    s.must(&a, "registerAction", json!({
        "number": 1, "actionId": ACTION_SIDUR, "agency": "SIDUR", "description": "Licitación",
        "status": "IN_PROGRESS", "progress": "10", "investmentMxn": "1000.50", "date": "2023-05-02"})).await;
    s.must(
        &a,
        "registerAction",
        json!({
        "number": 1, "actionId": ACTION_CEA, "agency": "CEA", "description": "Proyecto ejecutivo",
        "status": "IN_PROGRESS", "progress": "30", "investmentMxn": "200", "date": "2023-06-02"}),
    )
    .await;
    s.must(
        &a,
        "holdCabinetMeeting",
        json!({
        "meetingId": MEETING_ID, "meetingType": "PRIORITY_WATER", "date": "2023-03-01",
        "agencies": ["SIDUR", "CEA"]}),
    )
    .await;
    for (id, agency) in [(AGREEMENT_CEA, "CEA"), (AGREEMENT_SIDUR, "SIDUR")] {
        s.must(
            &a,
            "createAgreement",
            json!({
            "agreementId": id, "kind": "AGREEMENT", "origin": "CABINET_MEETING",
            "meetingId": MEETING_ID, "description": "Revisar tarifas", "agencies": [agency],
            "responsiblePerson": "Ing. Pérez", "issuer": "Gobernador", "issuedOn": "2023-03-01",
            "dueOn": "2023-12-31", "budget": [{"year": 2023, "amountMxn": "5000"}]}),
        )
        .await;
    }
    s.must(&a, "receiveLetter", json!({
        "folio": "DGGD-0001", "unit": "DGGD", "classification": "RELEVANT", "sender": "Ayuntamiento",
        "subject": "Solicitud", "receivedAt": "2023-02-01T16:00:00Z"})).await;
    s.must(
        &a,
        "turnLetter",
        json!({
        "folio": "DGGD-0001", "agency": "CEA", "turnedAt": "2023-02-02T16:00:00Z"}),
    )
    .await;
    s.must(
        &a,
        "receivePetition",
        petition_input(PETITION_ID, CITIZEN_ID),
    )
    .await;
    s.settle().await;
}

/// A petition of Zacarías Quintero (known name, e-mail and phone).
pub fn petition_input(petition_id: &str, citizen_id: &str) -> Value {
    json!({
        "petitionId": petition_id, "channel": "CALL_CENTER", "topic": "LEGAL_ADVICE",
        "municipality": "Hermosillo", "citizenId": citizen_id,
        "contact": {"name": CITIZEN_NAME, "phone": CITIZEN_PHONE, "email": CITIZEN_EMAIL,
                    "address": "Calle Falsa 123"},
        "tourId": null, "receivedAt": "2023-04-10T18:00:00Z"})
}

/// Whether a text shows the citizen's name or e-mail in any common encoding.
pub fn shows_personal_data(text: &str) -> Vec<&'static str> {
    let needles: &[&'static str] = &[
        "Zacarías",
        "Zacar\\u00edas",
        "Zacar\\u00EDas",
        "Quintero",
        "zq.test@example.org",
        "zq.test",
        "6629876543",
        "Calle Falsa",
    ];
    needles
        .iter()
        .copied()
        .filter(|n| text.contains(n))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Every mutation and every query, with valid inputs
// ---------------------------------------------------------------------------------------

/// The agency of [`Server::capturista`] and another one, both made by [`seed`].
pub const SIDUR: &str = "SIDUR";
pub const CEA: &str = "CEA";

/// The records one write goes to, all of one agency, with ids of their own (made from a row
/// index and the agency), so a write on one target never changes what another one sees.
pub struct Target {
    pub agency: String,
    /// The agreement, meeting, activity, petition or action id.
    pub id: String,
    /// The campaign commitment number.
    pub number: u32,
    pub folio: String,
    pub citizen: String,
    /// An acronym no agency has.
    pub new_acronym: String,
    /// The first event of the agreement `id`, once [`WriteCase::given`] created one.
    pub agreement_event: String,
}

impl Target {
    pub fn new(row: usize, agency: &str) -> Target {
        let n = 2 * row + usize::from(agency == CEA);
        Target {
            agency: agency.to_owned(),
            id: format!("00000000-0000-4000-8000-{:012x}", 0x10_0000 + n),
            number: 100 + u32::try_from(n).unwrap(),
            folio: format!("MATRIZ-{row:02}-{agency}"),
            citizen: format!("00000000-0000-4000-8000-{:012x}", 0x20_0000 + n),
            new_acronym: format!("NUEVA{row}{agency}"),
            agreement_event: String::new(),
        }
    }
}

pub type Steps = Vec<(&'static str, Value)>;

/// One mutation: what the admin makes exist first on a target, and a valid input on it.
pub struct WriteCase {
    pub name: &'static str,
    pub given: fn(&Target) -> Steps,
    pub input: fn(&Target) -> Value,
}

fn w(name: &'static str, given: fn(&Target) -> Steps, input: fn(&Target) -> Value) -> WriteCase {
    WriteCase { name, given, input }
}

/// Every mutation with a valid input, each on records of its own [`Target`]; the admin may
/// run every one of them in this order.
#[rustfmt::skip]
pub fn writes() -> Vec<WriteCase> {
    vec![
        // mutation                       given
        w("registerAgency",               nothing,
          |t| json!({"acronym": t.new_acronym, "name": "Nueva dependencia", "sectorHead": t.agency})),
        w("renameAgency",                 nothing,
          |t| json!({"acronym": t.agency, "name": format!("{} renombrada", t.agency)})),
        w("designateLiaison",             nothing,
          |t| json!({"acronym": t.agency, "name": "Lic. Ruiz", "position": "Enlace",
                     "contact": "ruiz@example.org", "designationLetter": "OF-1"})),
        w("holdCabinetMeeting",           nothing,
          |t| json!({"meetingId": t.id, "meetingType": "SECTORIAL", "date": "2023-03-01",
                     "agencies": [t.agency]})),
        w("createAgreement",              nothing,                agreement_input),
        w("changeInstructionStage",       an_instruction,
          |t| json!({"agreementId": t.id, "stage": "MESA_TRABAJO"})),
        w("reportAgreementProgress",      an_agreement,
          |t| json!({"agreementId": t.id, "progress": "50", "note": "Avance"})),
        w("recordFollowUpAction",         an_agreement,
          |t| json!({"agreementId": t.id, "text": "Reunión de seguimiento", "date": "2023-04-01"})),
        w("changeAgreementStatus",        an_agreement,
          |t| json!({"agreementId": t.id, "status": "IN_PROGRESS"})),
        w("reassignAgreement",            an_agreement,
          |t| json!({"agreementId": t.id, "agencies": [t.agency], "responsiblePerson": "Ing. Soto"})),
        w("cancelAgreement",              an_agreement,
          |t| json!({"agreementId": t.id, "reason": "Duplicado"})),
        w("correctAgreementEvent",        an_agreement,
          |t| json!({"agreementId": t.id, "correctedEventId": t.agreement_event,
                     "reason": "Error de captura", "status": null, "progress": null,
                     "dueOn": null, "description": "Revisar tarifas de agua"})),
        w("registerCommitment",           nothing,
          |t| json!({"number": t.number, "text": "Construir la presa"})),
        w("assignCommitment",             a_commitment,
          |t| json!({"number": t.number, "agencies": [t.agency]})),
        w("registerAction",               an_assigned_commitment, action_input),
        w("changeActionStatus",           an_action,
          |t| json!({"number": t.number, "actionId": t.id, "status": "CONCLUDED"})),
        w("reportActionProgress",         an_action,
          |t| json!({"number": t.number, "actionId": t.id, "progress": "40"})),
        w("createActivity",               nothing,                activity_input),
        w("reportActivity",               an_activity,
          |t| json!({"activityId": t.id, "responsible": "Ana", "status": "IN_PROGRESS", "progress": "30"})),
        w("closeActivityResponsibility",  an_activity,
          |t| json!({"activityId": t.id, "responsible": "Ana"})),
        w("receiveLetter",                nothing,                letter_input),
        w("turnLetter",                   a_received_letter,
          |t| json!({"folio": t.folio, "agency": t.agency, "turnedAt": "2023-02-02T16:00:00Z"})),
        w("openCaseFile",                 a_turned_letter,
          |t| json!({"folio": t.folio, "caseFile": format!("EXP-{}", t.folio),
                     "openedAt": "2023-02-03T16:00:00Z"})),
        w("issueOutgoingLetter",          a_turned_letter,
          |t| json!({"folio": t.folio, "number": "SAL-1", "recipient": "Ayuntamiento",
                     "issuedAt": "2023-02-03T16:00:00Z"})),
        w("recordLetterFollowUp",         a_turned_letter,
          |t| json!({"folio": t.folio, "note": "Llamada", "recordedAt": "2023-02-03T16:00:00Z"})),
        w("answerLetter",                 a_turned_letter,
          |t| json!({"folio": t.folio, "answeredAt": "2023-02-03T16:00:00Z"})),
        w("receivePetition",              nothing,
          |t| petition_input(&t.id, &t.citizen)),
        w("turnPetition",                 a_received_petition,
          |t| json!({"petitionId": t.id, "target": {"agency": t.agency},
                     "turnedAt": "2023-04-11T16:00:00Z"})),
        w("recordPetitionFollowUp",       a_turned_petition,
          |t| json!({"petitionId": t.id, "kind": "CALL", "at": "2023-04-12T16:00:00Z"})),
        w("attendPetition",               a_turned_petition,
          |t| json!({"petitionId": t.id, "at": "2023-04-12T16:00:00Z"})),
        w("closePetition",                a_turned_petition,
          |t| json!({"petitionId": t.id, "at": "2023-04-12T16:00:00Z"})),
        w("rectifyCitizenContact",        a_turned_petition,
          |t| json!({"petitionId": t.id, "contact": {"name": "Zacarías Quintero Ruiz",
                     "phone": null, "email": null, "address": null}})),
        w("holdPressConference",          nothing,                conference_input),
        w("registerConferenceParticipant", a_held_conference,
          |t| json!({"conferenceId": t.id, "name": "Lic. Ruiz", "role": "Reportera",
                     "outlet": "El Imparcial"})),
        w("recordConferenceExposition",   a_presidents_conference_with_participants,
          |t| json!({"conferenceId": t.id, "speaker": "Mtro. Gómez", "topic": "Agua",
                     "ideas": "El acueducto avanza."})),
        w("recordConferenceQuestion",     a_conference_with_participants,
          |t| json!({"conferenceId": t.id, "askedBy": "Lic. Ruiz", "question": "¿Cuándo?",
                     "answeredBy": "Mtro. Gómez", "answerSummary": "En diciembre."})),
        // Last: it deactivates its target's agency, which every row above may write for.
        w("deactivateAgency",             nothing,
          |t| json!({"acronym": t.agency})),
        w("registerCatalogueEntry",       nothing,
          |t| json!({"catalogue": "PETITION_TOPIC", "code": t.new_acronym, "label": "Nuevo tema"})),
        w("renameCatalogueEntry",         a_catalogue_entry,
          |t| json!({"catalogue": "MEETING_TYPE", "code": t.new_acronym, "label": "Gabinete renombrado"})),
        w("retireCatalogueEntry",         a_catalogue_entry,
          |t| json!({"catalogue": "MEETING_TYPE", "code": t.new_acronym})),
        w("setAnnualGoal",                nothing,
          |t| json!({"goal": "PETITIONS_ATTENDED", "year": 2000 + t.number % 100, "target": 40_000})),
    ]
}

fn a_catalogue_entry(t: &Target) -> Steps {
    vec![(
        "registerCatalogueEntry",
        json!({"catalogue": "MEETING_TYPE", "code": t.new_acronym, "label": "Gabinete nuevo"}),
    )]
}

fn nothing(_: &Target) -> Steps {
    Vec::new()
}

fn agreement_input(t: &Target) -> Value {
    agreement_of_kind(t, "AGREEMENT")
}

fn agreement_of_kind(t: &Target, kind: &str) -> Value {
    json!({
        "agreementId": t.id, "kind": kind, "origin": "SPECIAL_PROJECT", "meetingId": null,
        "description": "Revisar tarifas", "agencies": [t.agency], "responsiblePerson": "Ing. Pérez",
        "issuer": "Gobernador", "issuedOn": "2023-03-01", "dueOn": "2023-12-31",
        "budget": [{"year": 2023, "amountMxn": "5000"}]})
}

fn an_agreement(t: &Target) -> Steps {
    vec![("createAgreement", agreement_of_kind(t, "AGREEMENT"))]
}

fn an_instruction(t: &Target) -> Steps {
    vec![("createAgreement", agreement_of_kind(t, "INSTRUCTION"))]
}

fn a_commitment(t: &Target) -> Steps {
    vec![(
        "registerCommitment",
        json!({"number": t.number, "text": "Construir la presa"}),
    )]
}

fn an_assigned_commitment(t: &Target) -> Steps {
    let mut steps = a_commitment(t);
    steps.push((
        "assignCommitment",
        json!({"number": t.number, "agencies": [t.agency]}),
    ));
    steps
}

fn action_input(t: &Target) -> Value {
    json!({
        "number": t.number, "actionId": t.id, "agency": t.agency, "description": "Licitación",
        "status": "IN_PROGRESS", "progress": "10", "investmentMxn": "1000", "date": "2023-05-02"})
}

fn an_action(t: &Target) -> Steps {
    let mut steps = an_assigned_commitment(t);
    steps.push(("registerAction", action_input(t)));
    steps
}

fn activity_input(t: &Target) -> Value {
    json!({"activityId": t.id, "title": "Informe trimestral", "priority": "ALTA",
           "dueOn": "2023-12-15", "responsibles": ["Ana"]})
}

fn an_activity(t: &Target) -> Steps {
    vec![("createActivity", activity_input(t))]
}

fn letter_input(t: &Target) -> Value {
    json!({"folio": t.folio, "unit": "DGGD", "classification": "RELEVANT",
           "sender": "Ayuntamiento", "subject": "Solicitud", "receivedAt": "2023-02-01T16:00:00Z"})
}

fn a_received_letter(t: &Target) -> Steps {
    vec![("receiveLetter", letter_input(t))]
}

fn a_turned_letter(t: &Target) -> Steps {
    let mut steps = a_received_letter(t);
    steps.push((
        "turnLetter",
        json!({"folio": t.folio, "agency": t.agency, "turnedAt": "2023-02-02T16:00:00Z"}),
    ));
    steps
}

fn a_received_petition(t: &Target) -> Steps {
    vec![("receivePetition", petition_input(&t.id, &t.citizen))]
}

fn conference_input(t: &Target) -> Value {
    json!({"conferenceId": t.id, "kind": "GOVERNOR", "date": "2023-08-01",
           "presidedBy": "Gobernador", "topic": "Seguridad", "state": "Sonora",
           "venue": "Palacio de Gobierno", "durationMinutes": 45})
}

fn a_held_conference(t: &Target) -> Steps {
    vec![("holdPressConference", conference_input(t))]
}

fn with_participants(t: &Target, mut steps: Steps) -> Steps {
    for (name, role, outlet) in [
        ("Lic. Ruiz", "Reportera", "El Imparcial"),
        ("Mtro. Gómez", "Secretario", "CEA"),
    ] {
        steps.push((
            "registerConferenceParticipant",
            json!({"conferenceId": t.id, "name": name, "role": role, "outlet": outlet}),
        ));
    }
    steps
}

fn a_conference_with_participants(t: &Target) -> Steps {
    with_participants(t, a_held_conference(t))
}

fn a_presidents_conference_with_participants(t: &Target) -> Steps {
    let mut input = conference_input(t);
    input["kind"] = json!("PRESIDENT_MORNING");
    with_participants(t, vec![("holdPressConference", input)])
}

fn a_turned_petition(t: &Target) -> Steps {
    let mut steps = a_received_petition(t);
    steps.push((
        "turnPetition",
        json!({"petitionId": t.id, "target": {"agency": t.agency},
               "turnedAt": "2023-04-11T16:00:00Z"}),
    ));
    steps
}

/// Has the admin make what `row` needs on `t`.
pub async fn give(s: &Server, row: &WriteCase, mut t: Target) -> Target {
    for (name, input) in (row.given)(&t) {
        s.must(&s.admin, name, input).await;
    }
    let agreement = s
        .app
        .load_stream(&format!("agreement-{}", t.id))
        .await
        .unwrap();
    if let Some(first) = agreement.first() {
        t.agreement_event = first.id.to_string();
    }
    t
}

/// Fails naming the fields of `root` that have no row, and the rows that name no field.
pub fn assert_covers(root: &str, rows: &[&str], fields: &[String]) {
    let rows: BTreeSet<&str> = rows.iter().copied().collect();
    let fields: BTreeSet<&str> = fields.iter().map(String::as_str).collect();
    let missing: Vec<_> = fields.difference(&rows).collect();
    let unknown: Vec<_> = rows.difference(&fields).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "the {root} table and the schema differ: no row for {missing:?}; rows for no field: \
         {unknown:?}"
    );
}

/// The records of one agency in the world [`read_world`] makes.
pub struct Records {
    pub agency: &'static str,
    pub agreement: &'static str,
    pub folio: &'static str,
    /// A commitment assigned to the agency.
    pub commitment: u32,
    /// A petition turned to the agency.
    pub petition: &'static str,
}

pub const SIDUR_LETTER: &str = "DGGD-0002";
/// A press conference: public, the same for every reader.
pub const CONFERENCE_ID: &str = "00000000-0000-4000-8000-0000000000f1";
pub const SIDUR_PETITION: &str = "00000000-0000-4000-8000-0000000000c2";
pub const CEA_COMMITMENT: u32 = 2;

pub const SIDUR_RECORDS: Records = Records {
    agency: SIDUR,
    agreement: AGREEMENT_SIDUR,
    folio: SIDUR_LETTER,
    commitment: 1,
    petition: SIDUR_PETITION,
};
pub const CEA_RECORDS: Records = Records {
    agency: CEA,
    agreement: AGREEMENT_CEA,
    folio: "DGGD-0001",
    commitment: CEA_COMMITMENT,
    petition: PETITION_ID,
};

/// [`seed`] plus what makes each agency have a record of every kind: a letter and a
/// petition turned to SIDUR, the seed's petition turned to CEA, a commitment of CEA alone.
pub async fn read_world(s: &Server) {
    seed(s).await;
    let steps = [
        (
            "holdPressConference",
            json!({"conferenceId": CONFERENCE_ID, "kind": "GOVERNOR", "date": "2023-08-01",
                   "presidedBy": "Gobernador", "topic": "Seguridad", "state": "Sonora",
                   "venue": "Palacio de Gobierno", "durationMinutes": 45}),
        ),
        (
            "receiveLetter",
            json!({"folio": SIDUR_LETTER, "unit": "DGGD", "classification": "CC",
                   "sender": "Ayuntamiento", "subject": "Solicitud",
                   "receivedAt": "2023-02-01T16:00:00Z"}),
        ),
        (
            "turnLetter",
            json!({"folio": SIDUR_LETTER, "agency": SIDUR, "turnedAt": "2023-02-02T16:00:00Z"}),
        ),
        (
            "receivePetition",
            petition_input(SIDUR_PETITION, "00000000-0000-4000-8000-0000000000e2"),
        ),
        (
            "turnPetition",
            json!({"petitionId": SIDUR_PETITION, "target": {"agency": SIDUR},
                   "turnedAt": "2023-04-11T16:00:00Z"}),
        ),
        (
            "turnPetition",
            json!({"petitionId": PETITION_ID, "target": {"agency": CEA},
                   "turnedAt": "2023-04-11T16:00:00Z"}),
        ),
        (
            "registerCommitment",
            json!({"number": CEA_COMMITMENT, "text": "Desalar agua de mar"}),
        ),
        (
            "assignCommitment",
            json!({"number": CEA_COMMITMENT, "agencies": [CEA]}),
        ),
    ];
    for (name, input) in steps {
        s.must(&s.admin, name, input).await;
    }
    s.settle().await;
}

/// One query: the document on an agency's records.
pub struct ReadCase {
    pub name: &'static str,
    pub query: fn(&Records) -> String,
}

fn r(name: &'static str, query: fn(&Records) -> String) -> ReadCase {
    ReadCase { name, query }
}

/// Every query, with a document on one agency's records.
#[rustfmt::skip]
pub fn reads() -> Vec<ReadCase> {
    vec![
        // query
        r("agencies",                 |_| "{ agencies { acronym } }".into()),
        r("catalogue",
          |_| "{ catalogue(kind: PETITION_CHANNEL) { code label active } }".into()),
        r("annualGoals",              |_| "{ annualGoals { goal year target } }".into()),
        r("agency",
          |x| format!("{{ agency(acronym: \"{}\") {{ acronym name }} }}", x.agency)),
        r("compliance",
          |_| "{ compliance(scope: CABINET_AGREEMENTS) { rows { key compliancePct } } }".into()),
        // Served from the semáforo's read model like the aggregates above, so open to every
        // role, although its items describe the agreements of the agency asked about.
        r("complianceExplain",
          |x| format!("{{ complianceExplain(scope: CABINET_AGREEMENTS, key: \"{}\") {{ itemId reference }} }}", x.agency)),
        r("cabinetReport",
          |_| "{ cabinetReport(year: 2023) { overall { agreements } } }".into()),
        r("commitments",
          |_| "{ commitments { commitments edges { node { number } } } }".into()),
        r("correspondenceMonthly",
          |_| "{ correspondenceMonthly(year: 2023) { year } }".into()),
        r("correspondenceByAgency",
          |_| "{ correspondenceByAgency(year: 2023) { acronym lettersTurned } }".into()),
        r("petitionsMonthly",
          |_| "{ petitionsMonthly(year: 2023) { year annualGoal } }".into()),
        r("pressConferences",
          |_| "{ pressConferences(year: 2023) { topic participants { name } } }".into()),
        r("pressConference",
          |_| format!("{{ pressConference(conferenceId: \"{CONFERENCE_ID}\") {{ topic }} }}")),
        r("pressConferencePeriod",
          |_| "{ pressConferencePeriod(year: 2023) { total topics { topic } } }".into()),
        r("history",
          |x| format!("{{ history(stream: \"petition-{}\") {{ edges {{ node {{ type }} }} }} }}", x.petition)),
        r("verify",
          |x| format!("{{ verify(stream: \"agreement-{}\") {{ ok }} }}", x.agreement)),
        r("logHead",                  |_| "{ logHead { position link } }".into()),
        r("agreement",
          |x| format!("{{ agreement(id: \"{}\") {{ description }} }}", x.agreement)),
        r("commitment",
          |x| format!("{{ commitment(number: {}) {{ text }} }}", x.commitment)),
        r("letter",
          |x| format!("{{ letter(folio: \"{}\") {{ folio }} }}", x.folio)),
        r("petition",
          |x| format!("{{ petition(id: \"{}\") {{ municipality contact {{ name }} }} }}", x.petition)),
    ]
}

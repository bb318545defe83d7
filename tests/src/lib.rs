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
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use seguimiento_api::{ApiConfig, ApiState};
use seguimiento_app::{App, Role};
use seguimiento_eventstore::testing::{pg_store, sqlite_store, TestDb};
use seguimiento_eventstore::{DbPool, EventStore};
use seguimiento_projections::LiveRunner;
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

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
        match backend {
            Backend::Sqlite => {
                let test = sqlite_store().await.expect("sqlite test store");
                let url = format!("sqlite://{}", test.name());
                Some(Db { test, url, backend })
            }
            Backend::Postgres => {
                let test = pg_store().await.expect("postgres test store")?;
                let admin = std::env::var(TEST_DATABASE_URL).expect("TEST_DATABASE_URL");
                let url = pg_url_with_db(&admin, &test.name());
                Some(Db { test, url, backend })
            }
        }
    }

    pub fn store(&self) -> &EventStore {
        self.test.store()
    }

    pub async fn cleanup(self) {
        self.test.cleanup().await;
    }
}

/// `url` with its database name replaced (query string kept).
pub fn pg_url_with_db(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// Declares `mod $name { on_sqlite, on_postgres }` running `$scenario(&Db)`; the PostgreSQL
/// half prints SKIPPED and passes without `TEST_DATABASE_URL`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $scenario:path) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn on_sqlite() {
                let db = $crate::Db::new($crate::Backend::Sqlite)
                    .await
                    .expect("sqlite");
                $scenario(&db).await;
                db.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn on_postgres() {
                let Some(db) = $crate::Db::new($crate::Backend::Postgres).await else {
                    return;
                };
                $scenario(&db).await;
                db.cleanup().await;
            }
        }
    };
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
    use sqlx::Row;
    match store.pool() {
        DbPool::Sqlite(p) => sqlx::query(sql)
            .fetch_all(p)
            .await
            .expect(sql)
            .iter()
            .map(|r| (0..r.len()).map(|i| r.try_get(i).ok()).collect())
            .collect(),
        DbPool::Postgres(p) => sqlx::query(sql)
            .fetch_all(p)
            .await
            .expect(sql)
            .iter()
            .map(|r| (0..r.len()).map(|i| r.try_get(i).ok()).collect())
            .collect(),
    }
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

/// The API router on `127.0.0.1:<free port>` over a store, with live projections and one
/// token per role.
pub struct Server {
    pub app: App,
    pub runner: Arc<LiveRunner>,
    pub base: String,
    pub http: reqwest::Client,
    pub admin: String,
    pub auditor: String,
    pub viewer: String,
    /// Capturista of SIDUR.
    pub capturista: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start(store: &EventStore) -> Server {
        Self::start_with(store, ApiConfig::default()).await
    }

    pub async fn start_with(store: &EventStore, config: ApiConfig) -> Server {
        let app = App::from_store(store.clone());
        let runner = Arc::new(LiveRunner::start(store.clone()).await.expect("runner"));
        let state = ApiState::new(app.clone(), runner.clone(), config);
        let router = seguimiento_api::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(seguimiento_api::serve(listener, router, async move {
            let _ = stopped.await;
        }));
        let tokens = app.tokens();
        let mk = |role, agency: Option<&'static str>, subject: &'static str| {
            let tokens = tokens.clone();
            async move {
                tokens
                    .create(role, agency, subject)
                    .await
                    .expect("token")
                    .secret
            }
        };
        let admin = mk(Role::Admin, None, "admin@test").await;
        let auditor = mk(Role::Auditor, None, "auditor@test").await;
        let viewer = mk(Role::Viewer, None, "viewer@test").await;
        let capturista = mk(Role::Capturista, Some("SIDUR"), "enlace.sidur@test").await;
        Server {
            app,
            runner,
            base: format!("http://{addr}"),
            http: http_client(),
            admin,
            auditor,
            viewer,
            capturista,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        gql_at(&self.http, &self.base, token, query, variables).await
    }

    /// Runs a query, failing on any error; returns `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql(Some(token), query, variables).await;
        assert!(
            body.get("errors").is_none() && status == 200,
            "unexpected errors (HTTP {status}): {body}"
        );
        body["data"].clone()
    }

    pub async fn healthz(&self) -> (u16, String) {
        get_text(&self.http, &format!("{}/healthz", self.base)).await
    }

    /// Waits until the live projections have folded the whole log.
    pub async fn settle(&self) {
        let head = self.app.store().head_position().await.expect("head");
        assert!(
            self.runner.wait_for(head, Duration::from_secs(60)).await,
            "projections did not catch up"
        );
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        self.runner.abort();
    }
}

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

/// A mutation document for `name` taking `$input: <input_type>!` and the common extras.
pub fn mutation(name: &str, input_type: &str) -> String {
    format!(
        "mutation($input: {input_type}!, $expectedVersion: Int, $commandId: UUID, $effectiveAt: DateTime) {{ \
         {name}(input: $input, expectedVersion: $expectedVersion, commandId: $commandId, effectiveAt: $effectiveAt) \
         {{ stream version positions replayed }} }}"
    )
}

/// The GraphQL input type of a mutation (`registerAgency` → `RegisterAgencyInput`).
pub fn input_type(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => format!("{}{}Input", f.to_ascii_uppercase(), c.as_str()),
        None => String::new(),
    }
}

/// Runs mutation `name` with `input` (and extra variables) and returns status and body.
pub async fn mutate(
    s: &Server,
    token: &str,
    name: &str,
    input: Value,
    extra: Value,
) -> (u16, Value) {
    let mut vars = json!({ "input": input });
    if let (Some(v), Some(e)) = (vars.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            v.insert(k.clone(), x.clone());
        }
    }
    s.gql(Some(token), &mutation(name, &input_type(name)), vars)
        .await
}

/// Like [`mutate`] but fails on errors; returns the mutation's result object.
pub async fn must(s: &Server, token: &str, name: &str, input: Value) -> Value {
    let (status, body) = mutate(s, token, name, input, json!({})).await;
    assert!(
        body.get("errors").is_none(),
        "{name} failed (HTTP {status}): {body}"
    );
    body["data"][name].clone()
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

/// A small world: SIDUR and CEA, commitment 1 with an action of each, a meeting with an
/// agreement for CEA and one for SIDUR, letter DGGD-0001 turned to CEA, and a petition of
/// Zacarías Quintero.
pub async fn seed(s: &Server) {
    let a = s.admin.clone();
    must(s, &a, "registerAgency", json!({"acronym": "SIDUR", "name": "Secretaría de Infraestructura y Desarrollo Urbano", "sectorHead": null})).await;
    must(
        s,
        &a,
        "registerAgency",
        json!({"acronym": "CEA", "name": "Comisión Estatal del Agua", "sectorHead": "SIDUR"}),
    )
    .await;
    must(
        s,
        &a,
        "registerCommitment",
        json!({"number": 1, "text": "Construir el acueducto"}),
    )
    .await;
    must(
        s,
        &a,
        "assignCommitment",
        json!({"number": 1, "agencies": ["SIDUR", "CEA"]}),
    )
    .await;
    must(s, &a, "registerAction", json!({
        "number": 1, "actionId": ACTION_SIDUR, "agency": "SIDUR", "description": "Licitación",
        "status": "IN_PROGRESS", "progress": "10", "investmentMxn": "1000.50", "date": "2023-05-02"})).await;
    must(
        s,
        &a,
        "registerAction",
        json!({
        "number": 1, "actionId": ACTION_CEA, "agency": "CEA", "description": "Proyecto ejecutivo",
        "status": "IN_PROGRESS", "progress": "30", "investmentMxn": "200", "date": "2023-06-02"}),
    )
    .await;
    must(
        s,
        &a,
        "holdCabinetMeeting",
        json!({
        "meetingId": MEETING_ID, "meetingType": "PRIORITY_WATER", "date": "2023-03-01",
        "agencies": ["SIDUR", "CEA"]}),
    )
    .await;
    for (id, agency) in [(AGREEMENT_CEA, "CEA"), (AGREEMENT_SIDUR, "SIDUR")] {
        must(
            s,
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
    must(s, &a, "receiveLetter", json!({
        "folio": "DGGD-0001", "unit": "DGGD", "classification": "RELEVANT", "sender": "Ayuntamiento",
        "subject": "Solicitud", "receivedAt": "2023-02-01T16:00:00Z"})).await;
    must(
        s,
        &a,
        "turnLetter",
        json!({
        "folio": "DGGD-0001", "agency": "CEA", "turnedAt": "2023-02-02T16:00:00Z"}),
    )
    .await;
    must(
        s,
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

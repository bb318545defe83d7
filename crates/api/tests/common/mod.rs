//! Test harness: a real router over a throw-away database (SQLite temp file, or a fresh
//! PostgreSQL database when `TEST_DATABASE_URL` is set), with the live projection runner
//! and one token per role.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use seguimiento_api::{router, ApiConfig, ApiState};
use seguimiento_app::{App, Role};
use seguimiento_eventstore::testing::{pg_store, sqlite_store, TestDb};
use seguimiento_projections::LiveRunner;
use serde_json::{json, Value};
use tower::ServiceExt;

pub struct Server {
    pub db: TestDb,
    pub app: App,
    pub runner: Arc<LiveRunner>,
    pub state: ApiState,
    pub router: Router,
    pub admin: String,
    pub auditor: String,
    pub viewer: String,
    /// Capturista of SIDUR.
    pub capturista: String,
}

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Server {
    pub async fn start(backend: Backend, config: ApiConfig) -> Option<Server> {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
        let db = match backend {
            Backend::Sqlite => sqlite_store().await.expect("sqlite test store"),
            Backend::Postgres => pg_store().await.expect("postgres test store")?,
        };
        let app = App::from_store(db.store().clone());
        let runner = Arc::new(LiveRunner::start(db.store().clone()).await.expect("runner"));
        let state = ApiState::new(app.clone(), runner.clone(), config);
        let router = router(state.clone());
        let tokens = app.tokens();
        let admin = tokens
            .create(Role::Admin, None, "admin@test")
            .await
            .expect("token")
            .secret;
        let auditor = tokens
            .create(Role::Auditor, None, "auditor@test")
            .await
            .expect("token")
            .secret;
        let viewer = tokens
            .create(Role::Viewer, None, "viewer@test")
            .await
            .expect("token")
            .secret;
        let capturista = tokens
            .create(Role::Capturista, Some("SIDUR"), "enlace.sidur@test")
            .await
            .expect("token")
            .secret;
        Some(Server {
            db,
            app,
            runner,
            state,
            router,
            admin,
            auditor,
            viewer,
            capturista,
        })
    }

    /// POSTs a GraphQL request in-process; returns the HTTP status and the JSON body.
    pub async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.post_raw(token, body).await
    }

    pub async fn post_raw(&self, token: Option<&str>, body: String) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).expect("request"))
            .await
            .expect("response");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&bytes).to_string() }));
        (status, value)
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, String) {
        let resp = self
            .router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).to_string())
    }

    /// Runs a query as admin and returns `data`, failing on any error.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql(Some(token), query, variables).await;
        assert!(
            body.get("errors").is_none(),
            "unexpected errors (HTTP {status}): {body}"
        );
        body["data"].clone()
    }

    /// Waits until the live projections have folded the whole log.
    pub async fn settle(&self) {
        let head = self.app.store().head_position().await.expect("head");
        assert!(
            self.runner.wait_for(head, Duration::from_secs(30)).await,
            "projections did not catch up"
        );
    }

    pub async fn cleanup(self) {
        let Server { db, runner, .. } = self;
        runner.abort();
        db.cleanup().await;
    }
}

/// The first error's `extensions.code`.
pub fn code(body: &Value) -> Option<String> {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}

/// Declares a test run once on SQLite and once on PostgreSQL (skipped without
/// `TEST_DATABASE_URL`).
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $scenario:path) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                let s = common::Server::start(common::Backend::Sqlite, Default::default())
                    .await
                    .expect("sqlite server");
                $scenario(&s).await;
                s.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                let Some(s) =
                    common::Server::start(common::Backend::Postgres, Default::default()).await
                else {
                    eprintln!("SKIPPED: TEST_DATABASE_URL not set");
                    return;
                };
                $scenario(&s).await;
                s.cleanup().await;
            }
        }
    };
}

pub const REGISTER_AGENCY: &str = r#"
mutation($input: RegisterAgencyInput!, $expectedVersion: Int, $commandId: UUID) {
  registerAgency(input: $input, expectedVersion: $expectedVersion, commandId: $commandId) {
    stream version positions replayed
  }
}"#;

/// Registers an agency as admin.
pub async fn register_agency(
    s: &Server,
    acronym: &str,
    name: &str,
    sector_head: Option<&str>,
) -> Value {
    s.ok(
        &s.admin,
        REGISTER_AGENCY,
        json!({ "input": { "acronym": acronym, "name": name, "sectorHead": sector_head } }),
    )
    .await
}

/// Runs one mutation `name` with `input` (of GraphQL type `input_type`) and returns the
/// whole response body.
pub async fn mutate(
    s: &Server,
    token: &str,
    name: &str,
    input_type: &str,
    input: Value,
    extra: Value,
) -> (StatusCode, Value) {
    let query = format!(
        "mutation($input: {input_type}!, $expectedVersion: Int, $commandId: UUID, $effectiveAt: DateTime) {{ \
         {name}(input: $input, expectedVersion: $expectedVersion, commandId: $commandId, effectiveAt: $effectiveAt) \
         {{ stream version positions replayed }} }}"
    );
    let mut vars = json!({ "input": input });
    if let (Some(v), Some(e)) = (vars.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            v.insert(k.clone(), x.clone());
        }
    }
    s.gql(Some(token), &query, vars).await
}

/// Like [`mutate`] but fails on errors; returns the mutation's result object.
pub async fn must(s: &Server, token: &str, name: &str, input_type: &str, input: Value) -> Value {
    let (status, body) = mutate(s, token, name, input_type, input, json!({})).await;
    assert!(
        body.get("errors").is_none(),
        "{name} failed (HTTP {status}): {body}"
    );
    body["data"][name].clone()
}

pub const ACTION_ID_SIDUR: &str = "00000000-0000-4000-8000-000000000001";
pub const ACTION_ID_CEA: &str = "00000000-0000-4000-8000-000000000002";
pub const MEETING_ID: &str = "00000000-0000-4000-8000-0000000000a1";
pub const AGREEMENT_ID: &str = "00000000-0000-4000-8000-0000000000b1";
pub const PETITION_ID: &str = "00000000-0000-4000-8000-0000000000c1";
pub const ACTIVITY_ID: &str = "00000000-0000-4000-8000-0000000000d1";

/// The standard catalogues (tipos de gabinete, canales, temas, tipos de seguimiento), as
/// the demo registers them, through the API.
pub async fn seed_catalogues(s: &Server) {
    for command in seguimiento_fixtures::catalogues::standard() {
        let v = serde_json::to_value(&command).expect("a command serializes");
        let name = v["command"].as_str().expect("command name").to_owned();
        let mut input_type = name[..1].to_uppercase() + &name[1..];
        input_type.push_str("Input");
        must(s, &s.admin, &name, &input_type, v["input"].clone()).await;
    }
}

/// A small world: the standard catalogues, two agencies, a commitment with two actions, a
/// meeting with an agreement, a letter, a petition and an activity.
pub async fn seed(s: &Server) {
    seed_catalogues(s).await;
    register_agency(
        s,
        "SIDUR",
        "Secretaría de Infraestructura y Desarrollo Urbano",
        None,
    )
    .await;
    register_agency(s, "CEA", "Comisión Estatal del Agua", Some("SIDUR")).await;
    let a = &s.admin;
    must(
        s,
        a,
        "registerCommitment",
        "RegisterCommitmentInput",
        json!({"number": 1, "text": "Construir el acueducto"}),
    )
    .await;
    must(
        s,
        a,
        "assignCommitment",
        "AssignCommitmentInput",
        json!({"number": 1, "agencies": ["SIDUR", "CEA"]}),
    )
    .await;
    must(
        s,
        a,
        "registerAction",
        "RegisterActionInput",
        json!({
        "number": 1, "actionId": ACTION_ID_SIDUR, "agency": "SIDUR", "description": "Licitación",
        "status": "CONCLUDED", "progress": null, "investmentMxn": "1000.50", "date": "2023-05-02"}),
    )
    .await;
    must(s, a, "registerAction", "RegisterActionInput", json!({
        "number": 1, "actionId": ACTION_ID_CEA, "agency": "CEA", "description": "Proyecto ejecutivo",
        "status": "IN_PROGRESS", "progress": "30", "investmentMxn": "200", "date": "2023-06-02"})).await;
    must(
        s,
        a,
        "holdCabinetMeeting",
        "HoldCabinetMeetingInput",
        json!({
        "meetingId": MEETING_ID, "meetingType": "PRIORITY_WATER", "date": "2023-03-01",
        "agencies": ["SIDUR", "CEA"]}),
    )
    .await;
    must(
        s,
        a,
        "createAgreement",
        "CreateAgreementInput",
        json!({
        "agreementId": AGREEMENT_ID, "kind": "AGREEMENT", "origin": "CABINET_MEETING",
        "meetingId": MEETING_ID, "description": "Revisar tarifas", "agencies": ["CEA", "SIDUR"],
        "responsiblePerson": "Ing. Pérez", "issuer": "Gobernador", "issuedOn": "2023-03-01",
        "dueOn": "2023-12-31", "budget": [{"year": 2023, "amountMxn": "5000"}]}),
    )
    .await;
    must(s, a, "receiveLetter", "ReceiveLetterInput", json!({
        "folio": "DGGD-0001", "unit": "DGGD", "classification": "RELEVANT", "sender": "Ayuntamiento",
        "subject": "Solicitud", "receivedAt": "2023-02-01T16:00:00Z"})).await;
    must(
        s,
        a,
        "turnLetter",
        "TurnLetterInput",
        json!({
        "folio": "DGGD-0001", "agency": "CEA", "turnedAt": "2023-02-02T16:00:00Z"}),
    )
    .await;
    must(
        s,
        a,
        "receivePetition",
        "ReceivePetitionInput",
        json!({
        "petitionId": PETITION_ID, "channel": "CALL_CENTER", "topic": "LEGAL_ADVICE",
        "municipality": "Hermosillo", "citizenId": "00000000-0000-4000-8000-0000000000e1",
        "contact": {"name": "Juana Pérez", "phone": "6621234567", "email": null, "address": null},
        "tourId": null, "receivedAt": "2023-04-10T18:00:00Z"}),
    )
    .await;
    must(
        s,
        a,
        "createActivity",
        "CreateActivityInput",
        json!({
        "activityId": ACTIVITY_ID, "title": "Informe anual", "priority": "ALTA",
        "dueOn": "2023-12-15", "responsibles": ["Ana", "Luis"]}),
    )
    .await;
    s.settle().await;
}

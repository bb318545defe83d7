//! Test harness: a real router over a throw-away database (SQLite temp file, or a fresh
//! PostgreSQL database when `TEST_DATABASE_URL` is set): the API's `TestServer`, with the
//! live projection runner and one token per role.
#![allow(dead_code)]

use seguimiento_api::testing::TestServer;
use seguimiento_api::ApiConfig;
use seguimiento_eventstore::testing::{test_db, Fixture, TestDb};
use serde_json::{json, Value};

/// The API's test server over a throw-away database of one backend.
pub struct Server {
    pub db: TestDb,
    pub api: TestServer,
}

impl std::ops::Deref for Server {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.api
    }
}

pub use seguimiento_eventstore::Backend;

impl Server {
    pub async fn start(backend: Backend, config: ApiConfig) -> Option<Server> {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
        let db = test_db(backend).await?;
        let api = TestServer::start_with(db.store(), config).await;
        Some(Server { db, api })
    }

    pub async fn cleanup(self) {
        self.api.stop().await;
        self.db.cleanup().await;
    }
}

/// The first error's `extensions.code`.
pub fn code(body: &Value) -> Option<String> {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}

/// The fixture of `seguimiento_eventstore::on_both_backends!`: a scenario takes `&Server`.
impl Fixture for Server {
    type Arg<'a> = &'a Server;

    fn open(backend: Backend) -> impl std::future::Future<Output = Option<Self>> {
        Server::start(backend, ApiConfig::default())
    }

    fn arg(&self) -> &Server {
        self
    }

    fn close(self) -> impl std::future::Future<Output = ()> {
        self.cleanup()
    }
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

pub const ACTION_ID_SIDUR: &str = "00000000-0000-4000-8000-000000000001";
pub const ACTION_ID_CEA: &str = "00000000-0000-4000-8000-000000000002";
pub const MEETING_ID: &str = "00000000-0000-4000-8000-0000000000a1";
pub const AGREEMENT_ID: &str = "00000000-0000-4000-8000-0000000000b1";
pub const PETITION_ID: &str = "00000000-0000-4000-8000-0000000000c1";
pub const ACTIVITY_ID: &str = "00000000-0000-4000-8000-0000000000d1";

/// A small world: the standard catalogues, two agencies, a commitment with two actions, a
/// meeting with an agreement, a letter, a petition and an activity.
pub async fn seed(s: &Server) {
    s.seed_catalogues().await;
    register_agency(
        s,
        "SIDUR",
        "Secretaría de Infraestructura y Desarrollo Urbano",
        None,
    )
    .await;
    register_agency(s, "CEA", "Comisión Estatal del Agua", Some("SIDUR")).await;
    let a = &s.admin;
    s.must(
        a,
        "registerCommitment",
        json!({"number": 1, "text": "Construir el acueducto"}),
    )
    .await;
    s.must(
        a,
        "assignCommitment",
        json!({"number": 1, "agencies": ["SIDUR", "CEA"]}),
    )
    .await;
    s.must(
        a,
        "registerAction",
        json!({
        "number": 1, "actionId": ACTION_ID_SIDUR, "agency": "SIDUR", "description": "Licitación",
        "status": "CONCLUDED", "progress": null, "investmentMxn": "1000.50", "date": "2023-05-02"}),
    )
    .await;
    s.must(a, "registerAction", json!({
        "number": 1, "actionId": ACTION_ID_CEA, "agency": "CEA", "description": "Proyecto ejecutivo",
        "status": "IN_PROGRESS", "progress": "30", "investmentMxn": "200", "date": "2023-06-02"})).await;
    s.must(
        a,
        "holdCabinetMeeting",
        json!({
        "meetingId": MEETING_ID, "meetingType": "PRIORITY_WATER", "date": "2023-03-01",
        "agencies": ["SIDUR", "CEA"]}),
    )
    .await;
    s.must(
        a,
        "createAgreement",
        json!({
        "agreementId": AGREEMENT_ID, "kind": "AGREEMENT", "origin": "CABINET_MEETING",
        "meetingId": MEETING_ID, "description": "Revisar tarifas", "agencies": ["CEA", "SIDUR"],
        "responsiblePerson": "Ing. Pérez", "issuer": "Gobernador", "issuedOn": "2023-03-01",
        "dueOn": "2023-12-31", "budget": [{"year": 2023, "amountMxn": "5000"}]}),
    )
    .await;
    s.must(a, "receiveLetter", json!({
        "folio": "DGGD-0001", "unit": "DGGD", "classification": "RELEVANT", "sender": "Ayuntamiento",
        "subject": "Solicitud", "receivedAt": "2023-02-01T16:00:00Z"})).await;
    s.must(
        a,
        "turnLetter",
        json!({
        "folio": "DGGD-0001", "agency": "CEA", "turnedAt": "2023-02-02T16:00:00Z"}),
    )
    .await;
    s.must(
        a,
        "receivePetition",
        json!({
        "petitionId": PETITION_ID, "channel": "CALL_CENTER", "topic": "LEGAL_ADVICE",
        "municipality": "Hermosillo", "citizenId": "00000000-0000-4000-8000-0000000000e1",
        "contact": {"name": "Juana Pérez", "phone": "6621234567", "email": null, "address": null},
        "tourId": null, "receivedAt": "2023-04-10T18:00:00Z"}),
    )
    .await;
    s.must(
        a,
        "createActivity",
        json!({
        "activityId": ACTIVITY_ID, "title": "Informe anual", "priority": "ALTA",
        "dueOn": "2023-12-15", "responsibles": ["Ana", "Luis"]}),
    )
    .await;
    s.settle().await;
}

//! The API as tests and benchmarks run it (feature `testing`): the real router over a
//! store, the live projection runner, one token per role, and the same router served on
//! a loopback port for what must cross a real socket (HTTP clients, WebSockets).
//!
//! ```ignore
//! let s = TestServer::start(db.store()).await;
//! let data = s.ok(&s.admin, "{ agencies { acronym } }", json!({})).await;
//! s.stop().await;
//! ```

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use seguimiento_app::{App, Role};
use seguimiento_eventstore::EventStore;
use seguimiento_projections::LiveRunner;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::{router, serve, ApiConfig, ApiState};

/// How long [`TestServer::settle`] waits for the projections.
const SETTLE: Duration = Duration::from_secs(60);

/// A running API; stop it with [`TestServer::stop`].
pub struct TestServer {
    pub app: App,
    pub runner: Arc<LiveRunner>,
    pub state: ApiState,
    pub router: Router,
    /// `http://127.0.0.1:<port>`, where the same router is served.
    pub base: String,
    pub admin: String,
    pub auditor: String,
    pub viewer: String,
    /// Capturista of SIDUR.
    pub capturista: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// With the default configuration.
    pub async fn start(store: &EventStore) -> TestServer {
        Self::start_with(store, ApiConfig::default()).await
    }

    pub async fn start_with(store: &EventStore, config: ApiConfig) -> TestServer {
        let app = App::from_store(store.clone());
        let runner = Arc::new(LiveRunner::start(store.clone()).await.expect("live runner"));
        let state = ApiState::new(app.clone(), runner.clone(), config);
        let router = router(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, router.clone(), async move {
            let _ = stopped.await;
        }));
        let token = |role, agency, subject| {
            let tokens = app.tokens();
            async move {
                tokens
                    .create(role, agency, subject)
                    .await
                    .expect("a token")
                    .secret
            }
        };
        let admin = token(Role::Admin, None, "admin@test").await;
        let auditor = token(Role::Auditor, None, "auditor@test").await;
        let viewer = token(Role::Viewer, None, "viewer@test").await;
        let capturista = token(Role::Capturista, Some("SIDUR"), "enlace.sidur@test").await;
        TestServer {
            app,
            runner,
            state,
            router,
            base: format!("http://{addr}"),
            admin,
            auditor,
            viewer,
            capturista,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// POSTs a GraphQL request to the router in-process; the HTTP status and the JSON
    /// body (`{"raw": text}` when the body is not JSON).
    pub async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.post_raw(token, body).await
    }

    /// POSTs `body` as JSON to `/graphql` in-process.
    pub async fn post_raw(&self, token: Option<&str>, body: String) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let (status, bytes) = self
            .send(req.body(Body::from(body)).expect("request"))
            .await;
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&bytes).to_string() }));
        (status, value)
    }

    /// GETs `uri` in-process; the status and the body as text.
    pub async fn get(&self, uri: &str) -> (StatusCode, String) {
        let (status, bytes) = self
            .send(Request::get(uri).body(Body::empty()).expect("request"))
            .await;
        (status, String::from_utf8_lossy(&bytes).to_string())
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, Vec<u8>) {
        let resp = self.router.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, bytes.to_vec())
    }

    /// Runs mutation `name` with `input` and the `extra` variables (`expectedVersion`,
    /// `commandId`, `effectiveAt`); the status and the whole body.
    pub async fn mutate(
        &self,
        token: &str,
        name: &str,
        input: Value,
        extra: Value,
    ) -> (StatusCode, Value) {
        let mut vars = json!({ "input": input });
        if let (Some(v), Some(e)) = (vars.as_object_mut(), extra.as_object()) {
            v.extend(e.clone());
        }
        self.gql(Some(token), &mutation(name), vars).await
    }

    /// Like [`TestServer::mutate`] but fails on errors; the mutation's result object.
    pub async fn must(&self, token: &str, name: &str, input: Value) -> Value {
        let (status, body) = self.mutate(token, name, input, json!({})).await;
        assert!(
            body.get("errors").is_none(),
            "{name} failed (HTTP {status}): {body}"
        );
        body["data"][name].clone()
    }

    /// Registers the standard catalogues (tipos de gabinete, canales, temas, tipos de
    /// seguimiento) as the demo does, through the API.
    pub async fn seed_catalogues(&self) {
        for command in seguimiento_fixtures::catalogues::standard() {
            let v = serde_json::to_value(&command).expect("a command serializes");
            let name = v["command"].as_str().expect("command name").to_owned();
            self.must(&self.admin, &name, v["input"].clone()).await;
        }
    }

    /// Runs a query and returns `data`, failing on any error.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql(Some(token), query, variables).await;
        assert!(
            body.get("errors").is_none() && status == StatusCode::OK,
            "unexpected errors (HTTP {status}): {body}"
        );
        body["data"].clone()
    }

    /// Waits until the live projections have folded the whole log.
    pub async fn settle(&self) {
        let head = self.app.store().head_position().await.expect("head");
        assert!(
            self.runner.wait_for(head, SETTLE).await,
            "projections did not catch up"
        );
    }

    /// Stops serving the port and the live runner.
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

/// A mutation document for `name` (input type `<Name>Input`) with the common extras
/// (`expectedVersion`, `commandId`, `effectiveAt`).
pub fn mutation(name: &str) -> String {
    let input_type = input_type(name);
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

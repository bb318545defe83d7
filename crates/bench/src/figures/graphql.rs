//! Figure 6: the GraphQL `compliance` query served in process on 127.0.0.1:0, and the
//! baseline: a plain axum handler reading the request and returning the same precomputed
//! JSON.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::routing::post;
use seguimiento_api::{ApiConfig, ApiState};
use seguimiento_app::{App, Role};
use seguimiento_eventstore::EventStore;
use seguimiento_projections::LiveRunner;
use tokio::sync::oneshot;

use super::load::{self, LoadResult, Target};

/// The measured query (the commitments semáforo from the live read model).
pub const QUERY: &str = "{ compliance(scope: COMMITMENT_ACTIONS) { scope reportDate \
     rows { key name assigned items concluded inProgress pending overdue compliancePct \
     complianceWhole investmentMxn } total { assigned items concluded inProgress pending \
     compliancePct investmentMxn } } }";

/// The request body of [`QUERY`].
pub fn body() -> Arc<String> {
    Arc::new(serde_json::json!({ "query": QUERY }).to_string())
}

/// A server running on a loopback port until dropped or stopped.
pub struct Server {
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(router: axum::Router) -> anyhow::Result<Server> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(seguimiento_api::serve(listener, router, async {
            let _ = rx.await;
        }));
        Ok(Server {
            url: format!("http://{addr}/graphql"),
            stop: Some(stop),
            task,
        })
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }
}

/// The real API over `store` with live projections caught up to the head, and a viewer
/// token.
pub struct Api {
    pub server: Server,
    pub runner: Arc<LiveRunner>,
    pub token: String,
}

pub async fn start_api(store: &EventStore) -> anyhow::Result<Api> {
    let app = App::from_store(store.clone());
    let runner = Arc::new(LiveRunner::start(store.clone()).await?);
    let head = store.head_position().await?;
    anyhow::ensure!(
        runner.wait_for(head, Duration::from_secs(600)).await,
        "projections did not catch up to {head}"
    );
    let token = app
        .tokens()
        .create(Role::Viewer, None, "bench")
        .await
        .map_err(|e| anyhow::anyhow!("creating a token: {e:?}"))?
        .secret;
    // The per-token rate limit guards production from one runaway client; here every
    // request uses one token on purpose, and the figure is the server's throughput.
    let config = ApiConfig {
        rate_limit_per_second: 0,
        ..ApiConfig::default()
    };
    let state = ApiState::new(app, runner.clone(), config);
    let server = Server::start(seguimiento_api::router(state)).await?;
    Ok(Api {
        server,
        runner,
        token,
    })
}

impl Api {
    pub fn target(&self) -> Target {
        Target {
            url: self.server.url.clone(),
            token: Some(self.token.clone()),
            body: body(),
        }
    }

    /// The response body (for the baseline to serve).
    pub async fn sample(&self) -> anyhow::Result<String> {
        load::send(&reqwest::Client::new(), &self.target())
            .await
            .context("the compliance query failed")
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.server.stop().await?;
        if let Ok(runner) = Arc::try_unwrap(self.runner) {
            runner.shutdown().await;
        }
        Ok(())
    }
}

/// A plain axum handler answering every POST /graphql with `response`, once it has read
/// the request body.
///
/// Taking the body is part of answering a request, and it is not free: on the 2-core
/// bench machine it added about 30 µs to this handler's latency at one client (p50 0.025
/// → 0.051–0.057 ms). A handler that never takes its body answers requests
/// it has not read, which no GraphQL server can do.
pub async fn start_baseline(response: String) -> anyhow::Result<Server> {
    let response = Arc::new(response);
    let router = axum::Router::new().route(
        "/graphql",
        post(move |_request: axum::body::Bytes| {
            let response = response.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    response.as_ref().clone(),
                )
            }
        }),
    );
    Server::start(router).await
}

/// Loads API and baseline at `clients` concurrency: (API, baseline).
pub async fn measure(
    api: &Target,
    baseline: &Target,
    clients: usize,
    max_requests: usize,
    max_time: Duration,
) -> anyhow::Result<(LoadResult, LoadResult)> {
    let a = load::run(api, clients, max_requests, max_time).await?;
    let b = load::run(baseline, clients, max_requests, max_time).await?;
    Ok((a, b))
}

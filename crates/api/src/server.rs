//! HTTP wiring: routes, handlers, middleware and graceful serving.
//!
//! - `GET /graphql`: GraphiQL (open).
//! - `POST /graphql`: queries and mutations (bearer token required; each token is held to
//!   [`ApiConfig::rate_limit_per_second`] with bursts of [`ApiConfig::rate_limit_burst`],
//!   beyond which it gets HTTP 429 `LIMIT_EXCEEDED`).
//! - `GET /graphql/ws`: subscriptions, graphql-transport-ws (token on the upgrade request
//!   or in `connection_init`).
//! - `GET /healthz`: 200 when the database answers, 503 otherwise (open).
//! - `GET /metrics`: Prometheus text (open).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use futures::{SinkExt, StreamExt};

use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::http::{GraphiQLSource, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql::{Data, Response as GqlResponse};
use async_graphql_axum::{GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::body::{Body, Bytes};
use axum::extract::ws::{CloseFrame, Message};
use axum::extract::{MatchedPath, Request, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use seguimiento_app::{App, Principal};
use seguimiento_projections::LiveRunner;
use tower_http::limit::RequestBodyLimitLayer;

use crate::auth::{authenticate, bearer_token, token_from_headers};
use crate::cache::{Recorder, ResponseCache};
use crate::error::{code, ApiError};
use crate::limits::{error_response, recode, ApiConfig, RateLimit};
use crate::loaders::{AgencyDataLoader, AgencyLoader, LoaderStats};
use crate::metrics::Metrics;
use crate::schema::{AppSchema, Services};

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    schema: AppSchema,
    services: Services,
    stats: Arc<LoaderStats>,
    /// Per-token rate limit of `POST /graphql`; `None` when disabled.
    rate_limit: Option<Arc<RateLimit>>,
    /// Answers to pure read-model queries; `None` when disabled.
    responses: Option<Arc<ResponseCache>>,
}

impl ApiState {
    /// The state of a server over `app` and the live projection runner. Sets the token
    /// cache of `app` (shared by its clones) to [`ApiConfig::token_cache_ttl`].
    pub fn new(app: App, projections: Arc<LiveRunner>, config: ApiConfig) -> Self {
        app.tokens().set_cache_ttl(config.token_cache_ttl);
        let rate_limit = RateLimit::new(&config).map(Arc::new);
        let responses =
            ResponseCache::new(config.response_cache_entries, config.response_cache_bytes)
                .map(Arc::new);
        let services = Services {
            app,
            runner: projections,
            metrics: Arc::new(Metrics::new()),
            folds: Arc::new(tokio::sync::Semaphore::new(
                config.max_concurrent_folds.max(1),
            )),
            config,
        };
        let schema = crate::schema::build(services.clone());
        ApiState {
            schema,
            services,
            stats: Arc::new(LoaderStats::default()),
            rate_limit,
            responses,
        }
    }

    pub fn schema(&self) -> &AppSchema {
        &self.schema
    }

    pub fn app(&self) -> &App {
        &self.services.app
    }

    /// The response cache, when enabled (hit counts for tests and diagnostics).
    pub fn response_cache(&self) -> Option<&ResponseCache> {
        self.responses.as_deref()
    }

    /// Reads issued by the DataLoaders (for N+1 checks).
    pub fn loader_stats(&self) -> &LoaderStats {
        &self.stats
    }

    fn agency_loader(&self) -> AgencyDataLoader {
        DataLoader::with_cache(
            AgencyLoader::new(self.services.app.clone(), self.stats.clone()),
            tokio::spawn,
            // Per-request cache: an agency asked for twice in one request is read once.
            HashMapCache::default(),
        )
    }
}

/// The application's routes (tests drive this in-process).
pub fn router(state: ApiState) -> Router {
    let graphql = Router::new()
        .route("/graphql", get(graphiql).post(graphql_handler))
        .layer(RequestBodyLimitLayer::new(
            state.services.config.max_body_bytes,
        ));
    Router::new()
        .merge(graphql)
        .route("/graphql/ws", get(ws_handler))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves, with the default
/// [`ServeLimits`](crate::listen::ServeLimits); in-flight requests finish (within the
/// shutdown grace period).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::listen::serve_with(listener, router, shutdown, Default::default()).await
}

/// A GraphQL-shaped error response with an HTTP status.
fn gql_error(status: StatusCode, message: &str, error_code: &str) -> Response {
    let mut resp = GraphQLResponse::from(error_response(message, error_code)).into_response();
    *resp.status_mut() = status;
    resp
}

/// Counts and times every request; turns a bare 413 of the body limit into a GraphQL
/// error.
async fn observe(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = Instant::now();
    let mut resp = next.run(req).await;
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        resp = gql_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
            code::LIMIT_EXCEEDED,
        );
    }
    state
        .services
        .metrics
        .observe_request(&route, resp.status().as_u16(), started.elapsed());
    resp
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
}

async fn graphql_handler(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let config = &state.services.config;
    let bytes = match axum::body::to_bytes(body, config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return gql_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
                code::LIMIT_EXCEEDED,
            )
        }
    };
    let token = token_from_headers(&headers);
    let principal = match authenticate(&state.services.app, token.as_deref()).await {
        Ok(p) => p,
        Err(ApiError::Unauthenticated) => {
            return gql_error(
                StatusCode::UNAUTHORIZED,
                "missing or invalid bearer token",
                code::UNAUTHENTICATED,
            )
        }
        Err(e) => {
            tracing::error!(error = ?e, "token lookup failed");
            return gql_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "internal error",
                code::INTERNAL,
            );
        }
    };
    // Counted only once the token is known: an unauthenticated request never reaches here.
    if let (Some(limit), Some(token)) = (&state.rate_limit, token.as_deref()) {
        if let Err(wait) = limit.check(token) {
            // Refused before execution, so no `data` entry (GraphQL over HTTP).
            let body = serde_json::json!({"errors": [{
                "message": "rate limit exceeded",
                "extensions": {"code": code::LIMIT_EXCEEDED},
            }]});
            let mut resp = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            return resp;
        }
    }
    // The hit path: no parsing, validation nor execution (see `crate::cache`). A stopped
    // projection's answers must carry their note, so they are not served from the cache.
    let stopped = state.services.runner.any_fault();
    if let (Some(responses), false) = (&state.responses, stopped) {
        if let Some(answer) = responses
            .get(state.services.app.store(), &principal, &bytes)
            .await
        {
            return graphql_json(answer);
        }
    }
    let request: async_graphql::Request = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(_) => {
            return gql_error(
                StatusCode::BAD_REQUEST,
                "the body must be a GraphQL request as JSON",
                code::VALIDATION,
            )
        }
    };
    let recorder = Recorder::default();
    let request = request
        .data(principal.clone())
        .data(state.agency_loader())
        .data(recorder.clone());
    let mut response: GqlResponse =
        match tokio::time::timeout(config.request_timeout, state.schema.execute(request)).await {
            Ok(r) => recode(r),
            Err(_) => error_response("request timed out", code::LIMIT_EXCEEDED),
        };
    if stopped {
        note_stopped_projections(&mut response, &recorder, &state.services.runner);
    }
    let plain = response.errors.is_empty()
        && response.extensions.is_empty()
        && response.http_headers.is_empty()
        && response.cache_control.value().is_none();
    match (&state.responses, plain) {
        (Some(responses), true) => match serde_json::to_vec(&response) {
            Ok(answer) => {
                let answer = Bytes::from(answer);
                responses.put(&principal, &bytes, &recorder, &answer);
                graphql_json(answer)
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize a response");
                gql_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error",
                    code::INTERNAL,
                )
            }
        },
        _ => GraphQLResponse::from(response).into_response(),
    }
}

/// Adds `extensions.stoppedProjections` (projection, position, error) for every read model
/// the answer read whose live runner is stopped at an event it cannot fold: such an answer
/// is stale, and says so.
fn note_stopped_projections(
    response: &mut GqlResponse,
    recorder: &Recorder,
    runner: &seguimiento_projections::LiveRunner,
) {
    let stopped: Vec<serde_json::Value> = recorder
        .read()
        .into_iter()
        .filter_map(|name| {
            runner.fault(name).map(|f| {
                serde_json::json!({
                    "projection": name, "position": f.position, "error": f.error,
                })
            })
        })
        .collect();
    if stopped.is_empty() {
        return;
    }
    if let Ok(value) = async_graphql::Value::from_json(serde_json::Value::Array(stopped)) {
        response
            .extensions
            .insert("stoppedProjections".to_owned(), value);
    }
}

/// A serialized GraphQL answer, with the headers async-graphql-axum gives one without
/// errors, cache control or extra headers (the only kind the cache keeps).
fn graphql_json(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/graphql-response+json"),
        )],
        body,
    )
        .into_response()
}

/// A token in a `connection_init` payload: `{"Authorization": "Bearer …"}` or
/// `{"token": "…"}`.
fn token_from_init(payload: &serde_json::Value) -> Option<String> {
    let header = ["Authorization", "authorization"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(|v| v.as_str()))
        .and_then(bearer_token);
    header
        .or_else(|| payload.get("token").and_then(|v| v.as_str()))
        .map(str::to_owned)
}

async fn ws_handler(
    State(state): State<ApiState>,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_token = token_from_headers(&headers);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let schema = state.schema.clone();
            let app = state.services.app.clone();
            let every = state
                .services
                .config
                .token_cache_ttl
                .max(std::time::Duration::from_secs(1));
            // The GraphQL session writes through a channel, so that when the token stops
            // being valid the socket can still be closed with a code of its own.
            let (mut socket_out, socket_in) = socket.split();
            let (to_client, mut outgoing) = futures::channel::mpsc::unbounded::<Message>();
            let (token_tx, token_rx) = tokio::sync::oneshot::channel::<String>();
            let session = GraphQLWebSocket::new_with_pair(to_client, socket_in, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let token = header_token.or_else(|| token_from_init(&payload));
                    let principal: Principal = authenticate(&state.services.app, token.as_deref())
                        .await
                        .map_err(crate::error::gql)?;
                    if let Some(token) = token {
                        let _ = token_tx.send(token);
                    }
                    let mut data = Data::default();
                    data.insert(principal);
                    data.insert(state.agency_loader());
                    Ok(data)
                })
                .serve();
            let forward = async {
                while let Some(message) = outgoing.next().await {
                    if socket_out.send(message).await.is_err() {
                        break;
                    }
                }
            };
            let revoked = tokio::select! {
                ((), ()) = async { tokio::join!(session, forward) } => false,
                () = token_revoked(&app, token_rx, every) => true,
            };
            if revoked {
                // 4401, "Unauthorized", as graphql-transport-ws closes for a bad token.
                let _ = socket_out
                    .send(Message::Close(Some(CloseFrame {
                        code: 4401,
                        reason: "the token was revoked".into(),
                    })))
                    .await;
            }
        })
}

/// Resolves once the token a socket was opened with no longer authenticates (revoked),
/// checking every `every`; never while the socket has not sent a valid token, nor while
/// the token store cannot be read (the socket is not closed for an outage).
async fn token_revoked(
    app: &App,
    token: tokio::sync::oneshot::Receiver<String>,
    every: std::time::Duration,
) {
    let Ok(token) = token.await else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(every).await;
        if let Err(ApiError::Unauthenticated) = authenticate(app, Some(&token)).await {
            return;
        }
    }
}

async fn healthz(State(state): State<ApiState>) -> Response {
    match state.services.app.store().head_position().await {
        Ok(head) => Json(serde_json::json!({ "status": "ok", "head": head })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable" })),
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<ApiState>) -> Response {
    let body = state.services.metrics.render(&state.services.runner).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

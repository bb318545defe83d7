//! # seguimiento-api
//!
//! The GraphQL API of `seguimiento` (async-graphql on axum): queries over the read models
//! (live tables, or an in-memory fold "as of" a past date), one mutation per domain command
//! through the application's single write path, subscriptions over WebSocket, with bearer
//! tokens, roles, limits and Prometheus metrics.
//!
//! ```ignore
//! let state = ApiState::new(app, Arc::new(runner), ApiConfig::default());
//! serve(listener, router(state), shutdown).await?;
//! ```
//!
//! ## Errors
//! Every GraphQL error carries `extensions.code`: `VALIDATION`, `CONFLICT`,
//! `IDEMPOTENCY_CONFLICT`, `NOT_FOUND`, `UNAUTHENTICATED`, `FORBIDDEN`, `LIMIT_EXCEEDED` or
//! `INTERNAL` (details logged, never returned). A figure a report cannot compute from the
//! stored events is null with a typed `error { code position message }` on its row; an
//! answer read from a projection stopped at an event it cannot fold carries
//! `extensions.stoppedProjections`.
//!
//! ## Layout
//! - [`server`]: routes (`/graphql`, `/graphql/ws`, `/healthz`, `/metrics`), handlers,
//!   [`ApiState`], [`router`], [`serve`].
//! - [`schema`]: the roots — `query` (aggregates, catalog, records, history),
//!   `mutation` (one per command), `subscription` (events, compliance changes).
//! - [`types`]: GraphQL output types mirroring read models and aggregate states.
//! - [`auth`]: bearer tokens and role checks.
//! - [`cache`]: the response cache of pure read-model queries, and the dependencies
//!   resolvers record for it.
//! - [`limits`]: [`ApiConfig`], the per-token rate limit (HTTP 429 `LIMIT_EXCEEDED`), and
//!   re-coding of depth/complexity/validation errors (validation messages never quote the
//!   values of the request, which may be a citizen's personal data).
//! - [`listen`]: the accept loop (connection limit, header read timeout, bounded
//!   shutdown).
//! - [`loaders`]: DataLoaders (agencies) so nested objects cost one read per request.
//! - [`metrics`]: the Prometheus registry.
//! - [`error`]: [`ApiError`] and its stable codes.

pub mod auth;
pub mod cache;
pub mod error;
pub mod limits;
pub mod listen;
pub mod loaders;
pub mod metrics;
pub mod schema;
pub mod server;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;

use std::sync::Arc;

pub use error::ApiError;
pub use limits::ApiConfig;
pub use schema::AppSchema;
pub use server::{router, serve, ApiState};

use seguimiento_app::App;
use seguimiento_projections::LiveRunner;

/// The schema over `app` and the live projection runner (for embedding without the
/// router; [`ApiState::new`] builds the same schema for serving).
pub fn build_schema(app: App, projections: Arc<LiveRunner>, config: ApiConfig) -> AppSchema {
    ApiState::new(app, projections, config).schema().clone()
}

/// The schema in SDL, independent of any database (`seguimiento schema`).
pub fn sdl() -> String {
    schema::sdl()
}

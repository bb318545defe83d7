//! The GraphQL schema: roots in [`query`], [`mutation`], [`subscription`].

pub mod mutation;
pub mod query;
pub mod subscription;

use std::sync::Arc;

use async_graphql::Schema;
use seguimiento_app::App;
use seguimiento_projections::{LiveRunner, View};

use crate::limits::ApiConfig;
use crate::metrics::Metrics;

pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

/// The schema type served by the router.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// What resolvers reach through `ctx.data::<Services>()`.
#[derive(Clone)]
pub struct Services {
    pub app: App,
    pub runner: Arc<LiveRunner>,
    pub metrics: Arc<Metrics>,
    pub config: ApiConfig,
    /// Permits of the folds of the log that may run at once (see
    /// [`ApiConfig::max_concurrent_folds`]).
    pub folds: Arc<tokio::sync::Semaphore>,
}

impl Services {
    /// Waits for a fold permit when the read `folds` the log (an as-of view, a whole-log
    /// verify; none for live reads). Dropping the request (a timeout, a closed connection)
    /// drops the wait, or the permit with the fold that held it.
    pub(crate) async fn fold_permit(
        &self,
        folds: bool,
    ) -> Result<Option<tokio::sync::SemaphorePermit<'_>>, crate::error::ApiError> {
        if !folds {
            return Ok(None);
        }
        self.folds.acquire().await.map(Some).map_err(|_| {
            crate::error::ApiError::LimitExceeded("the server is shutting down".into())
        })
    }
}

/// The schema with its services; limits from `config`.
pub fn build(services: Services) -> AppSchema {
    let config = services.config.clone();
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .limit_depth(config.max_depth)
        .limit_complexity(config.max_complexity)
        .extension(crate::cache::DependencyGuard)
        .data(services)
        .finish()
}

/// The SDL, without any database.
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .finish()
        .sdl()
}

/// The view of the log a query asks for: live tables when neither time is given.
pub(crate) fn view(
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    effective_at: Option<chrono::DateTime<chrono::Utc>>,
) -> View {
    View {
        as_of,
        effective_at,
    }
}

//! The database behind a store: which backend, its pool, and opening it from a URL with
//! every migration applied.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::StoreError;
use crate::sqlite_pages::SqlitePages;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The connection pool, exposed so projections can keep their own tables in the same
/// database. Never write to `events` through it (the database rejects UPDATE/DELETE anyway).
#[derive(Debug, Clone)]
pub enum DbPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl DbPool {
    pub fn backend(&self) -> Backend {
        match self {
            DbPool::Sqlite(_) => Backend::Sqlite,
            DbPool::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            DbPool::Sqlite(p) => p.close().await,
            DbPool::Postgres(p) => p.close().await,
        }
    }
}

/// Whether a statement built for one batch, with `binds` parameters, should stay prepared
/// in the connection's statement cache (sqlx `Query::persistent`). A multi-row `VALUES` or
/// an `IN` list shaped by its batch's size rarely comes back with exactly that size, and a
/// big one is expensive to keep: SQLite holds each prepared statement's program in the
/// process, and a bulk import kept that way would fill the cache with statements of
/// thousands of parameters (tens of MB). Small shapes are cheap and repeat (single-event
/// appends).
pub fn keep_prepared(binds: usize) -> bool {
    binds <= 128
}

/// A database opened by [`open`].
pub(crate) struct Opened {
    pub pool: DbPool,
    /// A SQLite file's direct page readers (none in memory or on PostgreSQL).
    pub pages: Option<Arc<SqlitePages>>,
}

/// Opens the database at `url` (see [`EventStore::connect`](crate::EventStore::connect)
/// for the accepted forms) and runs its pending migrations.
pub(crate) async fn open(url: &str) -> Result<Opened, StoreError> {
    if url.starts_with("sqlite:") {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl(format!("{url}: {e}")))?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pages =
            (!memory).then(|| Arc::new(SqlitePages::new(opts.get_filename().to_path_buf())));
        let opts = if memory {
            opts
        } else {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
        };
        let pool_opts = if memory {
            // The database lives only as long as a connection does: keep exactly one.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(8)
        };
        let pool = pool_opts.connect_with(opts).await?;
        SQLITE_MIGRATOR.run(&pool).await?;
        Ok(Opened {
            pool: DbPool::Sqlite(pool),
            pages,
        })
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl(format!("{url}: {e}")))?
            .application_name("seguimiento");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(opts)
            .await?;
        POSTGRES_MIGRATOR.run(&pool).await?;
        Ok(Opened {
            pool: DbPool::Postgres(pool),
            pages: None,
        })
    } else {
        Err(StoreError::InvalidUrl(format!(
            "unsupported scheme (expected sqlite: or postgres://): {url}"
        )))
    }
}

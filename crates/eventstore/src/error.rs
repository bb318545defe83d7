//! The one error type of the store.

use sqlx::error::DatabaseError;
use uuid::Uuid;

use crate::types::ExpectedVersion;

/// Everything an [`EventStore`](crate::EventStore) operation can fail with.
///
/// Callers usually care about three families:
/// - [`StoreError::Conflict`]: optimistic concurrency lost; re-read and decide again.
/// - [`StoreError::IdempotencyMismatch`]: a client reused an event id for different content
///   (a bug on the caller's side, never retryable).
/// - transient infrastructure failures: see [`StoreError::is_transient`]; the operation did not
///   commit (or its outcome is unknown) and may be retried *with the same event ids*, which
///   idempotency makes safe.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream's version was not what the writer expected. Nothing was written.
    #[error("concurrency conflict on stream {stream:?}: expected {expected:?}, actual {actual:?}")]
    Conflict {
        stream: String,
        expected: ExpectedVersion,
        /// The stream's last version when the conflict was detected (`None`: no stream).
        actual: Option<u64>,
    },
    /// The event id is already stored with different content. Nothing was written.
    #[error("event {id} is already stored with different content")]
    IdempotencyMismatch { id: Uuid },
    /// The request itself is malformed (empty append, empty stream name, duplicate ids...).
    #[error("invalid request: {0}")]
    InvalidInput(String),
    /// The connection URL is not one the store understands.
    #[error("invalid database url: {0}")]
    InvalidUrl(String),
    /// A stored row could not be decoded (only possible if the log was altered out of band).
    #[error("corrupt event row: {0}")]
    Corrupt(String),
    /// The operation was cut short because the task doing it died (it panicked). For an
    /// append the outcome is unknown: it may have committed, so retry with the same event
    /// ids, which idempotency makes safe. A read simply has to be started again.
    #[error("the operation was interrupted; an append's outcome is unknown")]
    Interrupted,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A direct page read of a SQLite file failed (see `sqlite_pages`).
    #[error("database error: {0}")]
    SqliteRead(#[from] rusqlite::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("serialization error: {0}")]
    Serialization(#[from] serde_json::Error),
}

impl StoreError {
    /// `true` for failures of the infrastructure rather than of the request: connection loss,
    /// pool exhaustion/timeouts, PostgreSQL connection/serialization/shutdown errors, SQLite
    /// BUSY/LOCKED. Such an operation may be retried (with the same event ids).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(e) => is_transient_sqlx(e),
            StoreError::Migration(sqlx::migrate::MigrateError::Execute(e)) => is_transient_sqlx(e),
            StoreError::SqliteRead(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            StoreError::Interrupted => true,
            _ => false,
        }
    }

    /// `true` for [`StoreError::Conflict`].
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

fn is_transient_sqlx(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                // SQLite primary result codes 5 (BUSY) and 6 (LOCKED), possibly extended.
                let code = sqlite
                    .code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .unwrap_or(0);
                return matches!(code & 0xff, 5 | 6);
            }
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // PostgreSQL SQLSTATE classes: 08 connection exception, 40001 serialization
            // failure, 40P01 deadlock, 53 insufficient resources, 57P0x shutdown/crash.
            code.starts_with("08")
                || code == "40001"
                || code == "40P01"
                || code.starts_with("53")
                || code.starts_with("57P")
        }
        _ => false,
    }
}

//! The crate's one error type.

use seguimiento_eventstore::StoreError;

/// Everything a projection operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// Reading the log failed.
    #[error("event store: {0}")]
    Store(#[from] StoreError),
    /// Reading or writing read-model tables failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A read-model row or a payload could not be (de)serialized.
    #[error("serialization: {0}")]
    Serialization(#[from] serde_json::Error),
    /// A stored event could not be decoded: never skipped, the runner stops and retries.
    #[error("undecodable event at position {position} ({event_type} v{schema_version}): {reason}")]
    Undecodable {
        position: u64,
        event_type: String,
        schema_version: i32,
        reason: String,
    },
    /// A live runner cannot fold the event at `position` (or store its rows): see
    /// `runner::live` for how it stops there and shows it.
    #[error("projection {projection} stopped at position {position}: {reason}")]
    Stalled {
        projection: String,
        position: u64,
        reason: String,
    },
    /// No projection is registered under this name.
    #[error("unknown projection {0:?}")]
    UnknownProjection(String),
    /// A caller passed an argument the query cannot answer.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The stored checkpoint is not where this writer left it (another writer moved it);
    /// the runner reloads.
    #[error("projection {projection} generation {generation}: checkpoint moved from {expected}")]
    CheckpointMoved {
        projection: String,
        generation: i64,
        expected: i64,
    },
    /// A detached database task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(String),
    /// The active generation changed under a runner (a rebuild switched it); the runner
    /// reloads. Not an error callers normally see.
    #[error("projection {projection}: active generation switched to {active}")]
    GenerationSwitched { projection: String, active: i64 },
}

/// Result alias of this crate.
pub type Result<T, E = ProjectionError> = std::result::Result<T, E>;

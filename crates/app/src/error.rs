//! The application layer's error: a command can be refused (domain, authorization,
//! concurrency) or fail (storage). The API maps each variant to a stable code.

use seguimiento_domain::DomainError;
use seguimiento_eventstore::{ExpectedVersion, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The domain refused the command.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Input that is malformed before the domain sees it.
    #[error("{0}")]
    Validation(String),
    /// Someone else wrote the stream first.
    #[error("conflict on stream {stream}: expected {expected:?}, found {actual:?}")]
    Conflict {
        stream: String,
        expected: ExpectedVersion,
        actual: Option<u64>,
    },
    /// A client command id already used for a different command: the earlier one stands,
    /// nothing is stored for this one.
    #[error("commandId {0} was already used for a different command")]
    IdempotencyConflict(uuid::Uuid),
    #[error("{0} not found")]
    NotFound(String),
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The citizen key vault or its master key file failed; details are logged, not shown
    /// to clients.
    #[error("key vault error: {0}")]
    Vault(String),
    /// Storage failed; details are logged, not shown to clients.
    #[error("storage error")]
    Store(#[source] StoreError),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict {
                stream,
                expected,
                actual,
            } => AppError::Conflict {
                stream,
                expected,
                actual,
            },
            StoreError::IdempotencyMismatch { id } => AppError::Validation(format!(
                "event id {id} was already used for different content"
            )),
            other => AppError::Store(other),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Store(StoreError::Database(e))
    }
}

impl AppError {
    /// The stable code clients see (`extensions.code` in GraphQL).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Domain(
                DomainError::NotFound(_)
                | DomainError::UnknownMeeting(_)
                | DomainError::UnknownEvent(_)
                | DomainError::UnknownAction(_),
            ) => "NOT_FOUND",
            AppError::Domain(_) | AppError::Validation(_) => "VALIDATION",
            AppError::Conflict { .. } => "CONFLICT",
            AppError::IdempotencyConflict(_) => "IDEMPOTENCY_CONFLICT",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::Store(_) | AppError::Vault(_) => "INTERNAL",
        }
    }
}

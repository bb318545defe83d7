//! The API's one error type, converted at the boundary into a GraphQL error with a stable
//! `extensions.code`. Infrastructure details are logged (without personal data), never
//! returned.

use async_graphql::ErrorExtensions;
use seguimiento_app::AppError;
use seguimiento_eventstore::StoreError;
use seguimiento_projections::ProjectionError;

/// Stable codes clients can rely on (`extensions.code`).
pub mod code {
    pub const VALIDATION: &str = "VALIDATION";
    pub const CONFLICT: &str = "CONFLICT";
    /// A client `commandId` reused for a different command (nothing stored).
    pub const IDEMPOTENCY_CONFLICT: &str = "IDEMPOTENCY_CONFLICT";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const LIMIT_EXCEEDED: &str = "LIMIT_EXCEEDED";
    pub const INTERNAL: &str = "INTERNAL";
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Refused or failed in the application layer; its `code()` decides the client code.
    #[error(transparent)]
    App(#[from] AppError),
    #[error("{0}")]
    Validation(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("missing or invalid bearer token")]
    Unauthenticated,
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// Reading the log or a read model failed; details are logged, not shown.
    #[error("internal error")]
    Store(#[from] StoreError),
    #[error("internal error")]
    Projection(#[from] ProjectionError),
}

impl ApiError {
    /// The stable client code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::App(e) => e.code(),
            ApiError::Validation(_) => code::VALIDATION,
            ApiError::NotFound(_) => code::NOT_FOUND,
            ApiError::Unauthenticated => code::UNAUTHENTICATED,
            ApiError::Forbidden(_) => code::FORBIDDEN,
            ApiError::LimitExceeded(_) => code::LIMIT_EXCEEDED,
            ApiError::Store(_) => code::INTERNAL,
            ApiError::Projection(ProjectionError::InvalidArgument(_)) => code::VALIDATION,
            ApiError::Projection(_) => code::INTERNAL,
        }
    }

    /// The message shown to clients: the error's text, except for internal failures,
    /// whose details (SQL, paths) stay in the log.
    fn public_message(&self) -> String {
        if self.code() == code::INTERNAL {
            "internal error".to_owned()
        } else {
            self.to_string()
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        let code = self.code();
        if code == code::INTERNAL {
            // Store and projection errors name streams, positions and SQL, never payloads.
            tracing::error!(error = ?self, "internal error answering a GraphQL request");
        }
        let refused = match self {
            ApiError::App(AppError::Domain(e)) => e
                .refused_field()
                .map(|(field, valid)| (field.to_owned(), valid.map(<[String]>::to_vec))),
            _ => None,
        };
        async_graphql::Error::new(self.public_message()).extend_with(|_, e| {
            e.set("code", code);
            // A refused input: the field, and where known the values the client may send.
            if let Some((field, valid)) = &refused {
                e.set("field", field.as_str());
                if let Some(valid) = valid {
                    e.set(
                        "validValues",
                        async_graphql::Value::List(
                            valid
                                .iter()
                                .map(|v| async_graphql::Value::from(v.as_str()))
                                .collect(),
                        ),
                    );
                }
            }
        })
    }
}

/// A GraphQL error that already carries its `extensions.code`: what resolvers return.
///
/// It deliberately has no `Display`, so async-graphql's blanket conversion from any
/// displayable error (which keeps the message and drops the code) cannot apply to it,
/// and `?` on an application, projection or store error goes through [`ApiError`] and
/// keeps its code. An error without a matching `From` here does not compile.
#[derive(Debug, Clone)]
pub struct GqlError(async_graphql::Error);

impl From<GqlError> for async_graphql::Error {
    fn from(e: GqlError) -> Self {
        e.0
    }
}

/// Errors async-graphql builds itself (missing context data, a loader's error) already
/// are GraphQL errors and pass through unchanged.
impl From<async_graphql::Error> for GqlError {
    fn from(e: async_graphql::Error) -> Self {
        GqlError(e)
    }
}

impl From<ApiError> for GqlError {
    fn from(e: ApiError) -> Self {
        GqlError(e.extend())
    }
}

impl From<AppError> for GqlError {
    fn from(e: AppError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<StoreError> for GqlError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<ProjectionError> for GqlError {
    fn from(e: ProjectionError) -> Self {
        ApiError::from(e).into()
    }
}

/// Result of resolvers: `?` converts application, projection and store errors with
/// their code (see [`GqlError`]).
pub type ApiResult<T> = Result<T, GqlError>;

/// Converts any `Into<ApiError>` into an extended error, for the places that hand
/// async-graphql its own error type (subscription streams, the data loader).
pub fn gql<E: Into<ApiError>>(e: E) -> async_graphql::Error {
    e.into().extend()
}

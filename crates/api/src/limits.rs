//! Limits every request is held to, and the re-coding of async-graphql's own limit and
//! validation errors into our stable codes.

use std::time::Duration;

use async_graphql::{ErrorExtensionValues, Response, ServerError, Value};

use crate::error::code;

/// Tuning of the API. `Default` gives production-sensible values.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Deepest selection nesting accepted (introspection needs about 13).
    pub max_depth: usize,
    /// Largest query complexity accepted (one per field).
    pub max_complexity: usize,
    /// Largest `first` of a connection.
    pub max_page_size: usize,
    /// Default `first` of a connection.
    pub default_page_size: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest a query or mutation may run.
    pub request_timeout: Duration,
    /// How long a mutation waits for the live projections to catch up with its events
    /// before answering (read-your-writes); zero disables the wait.
    pub read_your_writes: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_depth: 16,
            max_complexity: 2_000,
            max_page_size: 100,
            default_page_size: 20,
            max_body_bytes: 256 * 1024,
            request_timeout: Duration::from_secs(30),
            read_your_writes: Duration::from_secs(2),
        }
    }
}

impl ApiConfig {
    /// The page size asked for, checked against the maximum.
    pub fn page_size(&self, first: Option<i32>) -> Result<usize, crate::error::ApiError> {
        match first {
            None => Ok(self.default_page_size),
            Some(n) if n < 0 => Err(crate::error::ApiError::Validation(
                "first must not be negative".into(),
            )),
            Some(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n > self.max_page_size {
                    Err(crate::error::ApiError::LimitExceeded(format!(
                        "first may be at most {}",
                        self.max_page_size
                    )))
                } else {
                    Ok(n)
                }
            }
        }
    }
}

/// A GraphQL error with a code, for failures outside the schema (body too large, timeout,
/// unauthenticated).
pub fn error_response(message: &str, error_code: &str) -> Response {
    let mut err = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", error_code);
    err.extensions = Some(ext);
    Response::from_errors(vec![err])
}

/// Gives every error of a response a code: async-graphql reports depth and complexity
/// violations, parse errors and argument validation without one.
pub fn recode(mut response: Response) -> Response {
    for err in &mut response.errors {
        let has_code = err
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if has_code {
            continue;
        }
        let error_code = if is_limit_message(&err.message) {
            code::LIMIT_EXCEEDED
        } else {
            code::VALIDATION
        };
        err.extensions
            .get_or_insert_with(ErrorExtensionValues::default)
            .set("code", Value::from(error_code));
    }
    response
}

/// The messages of async-graphql's `limit_depth`, `limit_complexity`, `limit_directives`
/// and `limit_recursive_depth`.
fn is_limit_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("nested too deep")
        || m.contains("too complex")
        || m.contains("too many directives")
        || m.contains("recursion depth")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_and_complexity_errors_are_recoded_as_limit_exceeded() {
        let resp = Response::from_errors(vec![
            ServerError::new("Query is nested too deep.", None),
            ServerError::new("Query is too complex.", None),
            ServerError::new("Unknown field \"x\"", None),
        ]);
        let resp = recode(resp);
        let codes: Vec<_> = resp
            .errors
            .iter()
            .map(|e| e.extensions.as_ref().and_then(|x| x.get("code")).cloned())
            .collect();
        assert_eq!(
            codes,
            vec![
                Some(Value::from("LIMIT_EXCEEDED")),
                Some(Value::from("LIMIT_EXCEEDED")),
                Some(Value::from("VALIDATION")),
            ]
        );
    }

    #[test]
    fn page_size_over_the_maximum_is_a_limit_error() {
        let c = ApiConfig::default();
        assert_eq!(c.page_size(None).ok(), Some(20));
        assert_eq!(c.page_size(Some(100)).ok(), Some(100));
        assert_eq!(
            c.page_size(Some(101)).err().map(|e| e.code()),
            Some("LIMIT_EXCEEDED")
        );
    }
}

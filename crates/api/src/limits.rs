//! Limits every request is held to, the per-token rate limit, and the re-coding of
//! async-graphql's own limit and validation errors into our stable codes (with the values
//! of the request redacted from their messages).

use std::num::NonZeroU32;
use std::time::Duration;

use async_graphql::{ErrorExtensionValues, Response, ServerError, Value};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};

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
    /// Sustained requests per second each bearer token may send to `POST /graphql` (a
    /// token bucket per token, refilled at this rate); zero disables the rate limit.
    pub rate_limit_per_second: u32,
    /// Requests a token may send at once before the sustained rate applies (the bucket's
    /// size); zero disables the rate limit.
    pub rate_limit_burst: u32,
    /// How long a verified bearer token is trusted before it is looked up again (zero:
    /// every request). Revocations through this process's `App` are immediate; one made
    /// by another process (`seguimiento token revoke`) takes up to this long.
    pub token_cache_ttl: Duration,
    /// Most answers kept by the response cache of pure read-model queries (see
    /// [`crate::cache`]); zero disables it.
    pub response_cache_entries: usize,
    /// Most bytes (request bodies and answers) kept by the response cache; zero disables
    /// it.
    pub response_cache_bytes: usize,
    /// Most `asOf`/`effectiveAt` folds of the log running at once in this process; the
    /// others wait (until their request times out), so past-date queries, whatever their
    /// number, leave the other cores to live reads and writes.
    pub max_concurrent_folds: usize,
}

/// Complexity of a field that folds the log from its start (an `asOf`/`effectiveAt` view,
/// `verify`): a fold of the demo's 33k events costs tens of milliseconds of a core, about
/// what a few hundred plain fields do, so with the default limit of 2,000 one request
/// holds at most seven folds.
pub const FOLD_COMPLEXITY: usize = 250;

/// The complexity of a read-model field: [`FOLD_COMPLEXITY`] when it folds the log.
pub fn read_model_complexity(folds: bool, child_complexity: usize) -> usize {
    child_complexity + if folds { FOLD_COMPLEXITY } else { 1 }
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
            // Generous on purpose: the bucket holds more than the largest benchmark run
            // (5 000 requests on one token) and than the load test's 64 clients sharing one
            // token at full speed, and 500 req/s per token is several times what the whole
            // server answers for the heaviest query, so only a runaway client meets it.
            rate_limit_per_second: 500,
            rate_limit_burst: 5_000,
            // A few seconds take the token lookup off almost every request of a busy
            // client, and bound how long a token revoked elsewhere keeps working.
            token_cache_ttl: Duration::from_secs(5),
            // Half the cores (at least one): a flood of past-date queries cannot take the
            // cores the live reads and the writes need.
            max_concurrent_folds: std::thread::available_parallelism()
                .map_or(1, |n| (n.get() / 2).max(1)),
            // Dashboards ask a handful of distinct questions; a few thousand answers of a
            // few KiB each fit well within 32 MiB.
            response_cache_entries: 4_096,
            response_cache_bytes: 32 * 1024 * 1024,
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

/// A token bucket per bearer token (keyed by the token's SHA-256, so no secret is kept).
pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<[u8; 32]>,
}

impl RateLimit {
    /// The limit of `config`, or `None` when disabled (a zero rate or burst).
    pub fn new(config: &ApiConfig) -> Option<RateLimit> {
        let rate = NonZeroU32::new(config.rate_limit_per_second)?;
        let burst = NonZeroU32::new(config.rate_limit_burst)?;
        let quota = Quota::per_second(rate).allow_burst(burst);
        Some(RateLimit {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
        })
    }

    /// Counts one request of `token`: `Ok` when allowed, or how long until the next one
    /// would be.
    pub fn check(&self, token: &str) -> Result<(), Duration> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("tokens", &self.limiter.len())
            .finish()
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
/// violations, parse errors and argument validation without one. The messages re-coded as
/// `VALIDATION` lose the values of the request they quote (see [`redact_input_values`]).
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
            err.message = redact_input_values(&err.message);
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

/// Suffix async-graphql appends when an input object's field fails to parse.
const OCCURRED_WHILE_PARSING: &str = " (occurred while parsing \"";

/// The message of a coercion or syntax error without the values of the request it quotes
/// (a citizen's name or e-mail put in the wrong field must not come back in the error,
/// nor reach a log through it). Type, field and argument names, which come from the
/// schema, are kept so the error still says what was wrong:
/// - `enumeration type "Topic" does not contain the value "…"` → `… the given value`;
/// - `Expected input type "UUID", found …` → `… found another value`;
/// - `Failed to parse "Mxn": …` (the scalar's own message may quote the input) →
///   `Failed to parse "Mxn": the given value is not a valid Mxn`;
/// - a syntax error (which prints the offending line of the query) → its position and
///   what the parser expected;
/// - any other quoted text that is not a plain name (a path like `input.topic`, a type
///   like `[String!]!`) → `"…"`.
pub fn redact_input_values(message: &str) -> String {
    if let Some(syntax) = redact_syntax_error(message) {
        return syntax;
    }
    let (body, suffix) = split_parse_suffixes(message);
    const ENUM: &str = "does not contain the value \"";
    const EXPECTED: &str = "Expected input type \"";
    const FAILED: &str = "Failed to parse \"";
    let body = if let Some(at) = body.find(ENUM) {
        format!(
            "{}does not contain the given value",
            redact_quoted(&body[..at])
        )
    } else if let Some((head, _)) = quoted_type_after(body, EXPECTED) {
        format!("{}, found another value.", redact_quoted(head))
    } else if let Some((head, ty)) = quoted_type_after(body, FAILED) {
        format!(
            "{}: the given value is not a valid {ty}",
            redact_quoted(head)
        )
    } else {
        redact_quoted(body)
    };
    format!("{body}{suffix}")
}

/// For a message holding `marker` + `Type"`: the message up to the type's closing quote,
/// and the type.
fn quoted_type_after<'a>(message: &'a str, marker: &str) -> Option<(&'a str, &'a str)> {
    let start = message.find(marker)? + marker.len();
    let len = message[start..].find('"')?;
    let ty = &message[start..start + len];
    is_schema_name(ty).then(|| (&message[..start + len + 1], ty))
}

/// Splits off the trailing ` (occurred while parsing "Type")` parts (type names only).
fn split_parse_suffixes(message: &str) -> (&str, &str) {
    let mut body = message;
    while let Some(rest) = body.strip_suffix("\")") {
        let Some(at) = rest.rfind(OCCURRED_WHILE_PARSING) else {
            break;
        };
        if !is_schema_name(&rest[at + OCCURRED_WHILE_PARSING.len()..]) {
            break;
        }
        body = &body[..at];
    }
    (body, &message[body.len()..])
}

/// A parser error prints the query around the error; only its position and what was
/// expected are kept.
fn redact_syntax_error(message: &str) -> Option<String> {
    let first = message.lines().next()?.trim();
    let position = first.strip_prefix("--> ")?;
    if !position.chars().all(|c| c.is_ascii_digit() || c == ':') {
        return None;
    }
    let expected = message
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("= "))
        .filter(|e| {
            e.chars()
                .all(|c| c.is_ascii_alphanumeric() || " _,".contains(c))
        })
        .unwrap_or("unexpected input");
    Some(format!("syntax error at {position}: {expected}"))
}

/// Replaces every double-quoted segment that is not a schema name with `"…"`.
fn redact_quoted(message: &str) -> String {
    message
        .split('"')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 && !is_schema_name(part) {
                "…"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("\"")
}

/// A GraphQL name, a dotted argument path (`input.contact.name`, `budget.0`), a variable
/// (`$input`), a directive (`@oneOf`) or a type reference (`[String!]!`).
fn is_schema_name(text: &str) -> bool {
    let text = text
        .strip_prefix('$')
        .or_else(|| text.strip_prefix('@'))
        .unwrap_or(text);
    let name = text.trim_start_matches('[').trim_end_matches(['!', ']']);
    !name.is_empty()
        && name.len() <= 128
        && name.split('.').all(|seg| {
            !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
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
    fn validation_messages_lose_the_values_of_the_request() {
        let cases = [
            (
                r#"Invalid value for argument "input.topic", enumeration type "Topic" does not contain the value "zq.test@example.org""#,
                r#"Invalid value for argument "input.topic", enumeration type "Topic" does not contain the given value"#,
            ),
            (
                r#"Failed to parse "Mxn": amount Zacarías Quintero is not a non-negative MXN amount (occurred while parsing "RegisterActionInput")"#,
                r#"Failed to parse "Mxn": the given value is not a valid Mxn (occurred while parsing "RegisterActionInput")"#,
            ),
            (
                r#"Failed to parse "UUID": invalid character: found `Z` at 0"#,
                r#"Failed to parse "UUID": the given value is not a valid UUID"#,
            ),
            (
                r#"Expected input type "UUID", found {name: "Zacarías"}. (occurred while parsing "A") (occurred while parsing "B")"#,
                r#"Expected input type "UUID", found another value. (occurred while parsing "A") (occurred while parsing "B")"#,
            ),
            (
                " --> 1:40\n  |\n1 | { a(x: \"Zacarías\" y: zq) }\n  |         ^---\n  |\n  = expected name",
                "syntax error at 1:40: expected name",
            ),
            (
                r#"Invalid value for argument "input", unknown field "bogus" of type "ReceivePetitionInput""#,
                r#"Invalid value for argument "input", unknown field "bogus" of type "ReceivePetitionInput""#,
            ),
            (
                r#"Variable "$input" of type "[String!]!" says "Zacarías Quintero""#,
                r#"Variable "$input" of type "[String!]!" says "…""#,
            ),
        ];
        for (message, redacted) in cases {
            assert_eq!(redact_input_values(message), redacted);
        }
        let resp = recode(Response::from_errors(vec![ServerError::new(
            r#"enumeration type "Topic" does not contain the value "x@y.org""#,
            None,
        )]));
        assert_eq!(
            resp.errors[0].message,
            r#"enumeration type "Topic" does not contain the given value"#
        );
    }

    #[test]
    fn each_token_has_its_own_bucket() {
        let config = ApiConfig {
            rate_limit_per_second: 1,
            rate_limit_burst: 2,
            ..ApiConfig::default()
        };
        let limit = RateLimit::new(&config).expect("enabled");
        assert!(limit.check("seg_a").is_ok());
        assert!(limit.check("seg_a").is_ok());
        let wait = limit.check("seg_a").expect_err("over the burst");
        assert!(wait <= Duration::from_secs(1));
        assert!(limit.check("seg_b").is_ok());
        let off = ApiConfig {
            rate_limit_burst: 0,
            ..ApiConfig::default()
        };
        assert!(RateLimit::new(&off).is_none());
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

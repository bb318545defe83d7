//! Bearer-token authentication and the role checks resolvers use.
//!
//! The HTTP handler resolves `Authorization: Bearer seg_…` to a [`Principal`] before the
//! schema runs (no or unknown token → `UNAUTHENTICATED`); WebSocket clients send the same
//! header on the upgrade or `{"Authorization": "Bearer …"}` in `connection_init`.
//!
//! Who reads what:
//! - admin: everything;
//! - auditor: everything, including `history`, `verify`, petitions with contact data; no
//!   writes (the application layer refuses them);
//! - capturista: writes for its own agency (enforced by `App::execute`); reads aggregates,
//!   the catalog and the records (agreements, commitments, letters) it works on;
//! - viewer: aggregates only (compliance, reports, catalog).

use async_graphql::Context;
use axum::http::HeaderMap;
use seguimiento_app::{App, Principal, Role};

use crate::error::{ApiError, ApiResult, GqlError};

/// The token in an `Authorization: Bearer <token>` value, if well formed.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The bearer token of a request's headers.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .map(str::to_owned)
}

/// Resolves a presented token to its principal.
pub async fn authenticate(app: &App, token: Option<&str>) -> Result<Principal, ApiError> {
    let Some(token) = token else {
        return Err(ApiError::Unauthenticated);
    };
    app.tokens()
        .authenticate(token)
        .await?
        .ok_or(ApiError::Unauthenticated)
}

/// The caller of the current request.
pub fn principal<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Principal> {
    ctx.data_opt::<Principal>()
        .ok_or_else(|| ApiError::Unauthenticated.into())
}

fn forbidden(p: &Principal, what: &str) -> GqlError {
    ApiError::Forbidden(format!("role {} cannot read {what}", p.role.as_str())).into()
}

/// History, hash-chain verification, event subscriptions: admin and auditor.
pub fn require_history(ctx: &Context<'_>) -> ApiResult<Principal> {
    let p = principal(ctx)?;
    if p.role.can_read_history() {
        Ok(p.clone())
    } else {
        Err(forbidden(p, "history"))
    }
}

/// Petition detail (personal data): admin and auditor.
pub fn require_personal_data(ctx: &Context<'_>) -> ApiResult<Principal> {
    let p = principal(ctx)?;
    if p.role.can_read_personal_data() {
        Ok(p.clone())
    } else {
        Err(forbidden(p, "petitions"))
    }
}

/// Records (agreement, commitment, letter): everyone but viewers.
pub fn require_records(ctx: &Context<'_>) -> ApiResult<Principal> {
    let p = principal(ctx)?;
    if p.role == Role::Viewer {
        Err(forbidden(p, "individual records"))
    } else {
        Ok(p.clone())
    }
}

/// The Office's internal work (activities): everyone who reads records but capturistas.
pub fn require_office_work(who: &Principal) -> ApiResult<()> {
    if who.role == Role::Capturista {
        return Err(ApiError::Forbidden(
            "a capturista does not read the Office's activities".into(),
        )
        .into());
    }
    Ok(())
}

/// A capturista reads only the records of its own agency (assigned or turned to it);
/// admins and auditors read every record. `agencies` are the record's.
pub fn require_own_record<'a>(
    who: &Principal,
    mut agencies: impl Iterator<Item = &'a str>,
) -> ApiResult<()> {
    if who.role != Role::Capturista {
        return Ok(());
    }
    let own = who
        .agency
        .as_deref()
        .map(seguimiento_domain::values::normalize_acronym);
    if agencies.any(|a| Some(seguimiento_domain::values::normalize_acronym(a)) == own) {
        return Ok(());
    }
    Err(ApiError::Forbidden("a capturista reads only its own agency's records".into()).into())
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn a_bearer_header_yields_its_token() {
        assert_eq!(bearer_token("Bearer seg_abc"), Some("seg_abc"));
        assert_eq!(bearer_token("bearer  seg_abc "), Some("seg_abc"));
        assert_eq!(bearer_token("Basic xyz"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}

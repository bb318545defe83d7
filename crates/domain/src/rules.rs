//! Small checks shared by several aggregates.

use crate::agency::AgencyCatalog;
use crate::error::DomainError;
use crate::values::normalize_acronym;

/// A required text: trimmed, refused when blank.
pub(crate) fn required(field: &'static str, value: &str) -> Result<String, DomainError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(DomainError::EmptyField(field));
    }
    Ok(v.to_owned())
}

/// An optional text: trimmed, blank becomes `None`.
pub(crate) fn optional(value: Option<&String>) -> Option<String> {
    value
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A non-empty list of active agencies, normalized and without duplicates (order kept).
pub(crate) fn active_agencies(
    field: &'static str,
    catalog: &AgencyCatalog,
    agencies: &[String],
) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::new();
    for a in agencies {
        let a = catalog.require_active(a)?;
        if !out.contains(&a) {
            out.push(a);
        }
    }
    if out.is_empty() {
        return Err(DomainError::EmptyField(field));
    }
    Ok(out)
}

/// Normalized acronym check used before catalog lookups.
pub(crate) fn acronym(value: &str) -> Result<String, DomainError> {
    let a = normalize_acronym(value);
    if a.is_empty() {
        return Err(DomainError::EmptyField("acronym"));
    }
    Ok(a)
}

/// `later` must not come before `earlier`.
pub(crate) fn in_order<T: PartialOrd>(
    earlier_name: &'static str,
    earlier: T,
    later_name: &'static str,
    later: T,
) -> Result<(), DomainError> {
    if later < earlier {
        return Err(DomainError::DatesOutOfOrder {
            earlier: earlier_name,
            later: later_name,
        });
    }
    Ok(())
}

/// The status workflow: Pending → InProgress → Concluded, or Pending → Concluded. Going
/// back (or "changing" to the same status) needs a correction event instead.
pub(crate) fn status_transition(
    from: crate::values::Status,
    to: crate::values::Status,
) -> Result<(), DomainError> {
    use crate::values::Status::*;
    match (from, to) {
        (Pending, InProgress) | (Pending, Concluded) | (InProgress, Concluded) => Ok(()),
        _ => Err(DomainError::ForbiddenTransition {
            from: format!("{from:?}"),
            to: format!("{to:?}"),
        }),
    }
}

//! Why a command was refused, or why a stored event could not be read.
//!
//! One variant per rule. Messages say what is wrong and name streams, agencies, numbers
//! and field names only: never a citizen's personal data.

use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("unknown agency {0}")]
    UnknownAgency(String),
    #[error("agency {0} is inactive")]
    AgencyInactive(String),
    #[error("agency acronym {0} is already registered")]
    DuplicateAcronym(String),
    #[error("commitment number {0} is already used")]
    NumberAlreadyUsed(u32),
    #[error("stream {0} already exists")]
    AlreadyExists(String),
    #[error("stream {0} does not exist yet")]
    NotFound(String),
    #[error("progress {0} is not a percentage between 0 and 100 with at most two decimals")]
    ProgressOutOfRange(String),
    #[error("amount {0} is not a non-negative MXN amount with at most two decimals")]
    InvalidAmount(String),
    #[error("forbidden transition from {from} to {to}")]
    ForbiddenTransition { from: String, to: String },
    #[error("{responsible} is not a responsible of this activity")]
    NotResponsible { responsible: String },
    #[error("{0} is already closed")]
    AlreadyClosed(String),
    #[error("{later} cannot be before {earlier}")]
    DatesOutOfOrder {
        earlier: &'static str,
        later: &'static str,
    },
    #[error("agency {0} is not assigned to this item")]
    AgencyNotAssigned(String),
    #[error("agency {0} is already assigned to this item")]
    AlreadyAssigned(String),
    #[error("unknown cabinet meeting {0}")]
    UnknownMeeting(Uuid),
    #[error("event {0} is not part of this stream")]
    UnknownEvent(Uuid),
    #[error("unknown action {0}")]
    UnknownAction(Uuid),
    #[error("action {0} is already registered")]
    DuplicateAction(Uuid),
    /// An input value outside the policy of `validate` (the field in camelCase; the
    /// reason never repeats the value, which may be personal data).
    #[error("field {field}: {reason}")]
    InvalidField { field: String, reason: String },
    #[error("field {0} must not be empty")]
    EmptyField(&'static str),
    #[error("only an instruction has stages; this item is a cabinet agreement")]
    NotAnInstruction,
    #[error("command {command} does not apply to a stream holding {found} events")]
    WrongAggregate {
        command: &'static str,
        found: &'static str,
    },
    /// A business time after the server clock: the field (camelCase) it was given in.
    #[error("field {0}: a fact cannot take effect in the future")]
    InFuture(&'static str),
    /// A code that is not in its catalogue (`valid`: the active codes).
    #[error(
        "field {field}: {code} is not a code of the {catalogue} catalogue; {}",
        offer(valid)
    )]
    UnknownCode {
        field: &'static str,
        catalogue: &'static str,
        code: String,
        valid: Vec<String>,
    },
    /// A code its catalogue retired: stored facts keep it, new ones may not name it.
    #[error("field {field}: code {code} was retired; {}", offer(valid))]
    CodeRetired {
        field: &'static str,
        code: String,
        valid: Vec<String>,
    },
    /// A name that must be one of a list the stream holds (e.g. a conference's registered
    /// participants): `valid` is that list. Never for personal data: the refusal repeats
    /// the value.
    #[error("field {field}: {value} is not one of {list}; {}", listed(valid))]
    NotListed {
        field: &'static str,
        list: &'static str,
        value: String,
        valid: Vec<String>,
    },
    #[error("code {code} is already in the {catalogue} catalogue")]
    DuplicateCode {
        catalogue: &'static str,
        code: String,
    },
    #[error("unknown event type {0}")]
    UnknownEventType(String),
    #[error("cannot read {event_type} v{version}: {reason}")]
    Upcast {
        event_type: String,
        version: i32,
        reason: String,
    },
}

impl DomainError {
    /// The input field (camelCase) a refusal names, with the values the client may send
    /// instead where the refusal knows them: what clients get as the `field` and
    /// `validValues` of a GraphQL error.
    pub fn refused_field(&self) -> Option<(&str, Option<&[String]>)> {
        match self {
            DomainError::InvalidField { field, .. } => Some((field, None)),
            DomainError::EmptyField(field) | DomainError::InFuture(field) => Some((field, None)),
            DomainError::UnknownCode { field, valid, .. }
            | DomainError::CodeRetired { field, valid, .. }
            | DomainError::NotListed { field, valid, .. } => Some((field, Some(valid))),
            _ => None,
        }
    }
}

fn listed(valid: &[String]) -> String {
    if valid.is_empty() {
        "there are none yet".to_owned()
    } else {
        format!("valid values: {}", valid.join(", "))
    }
}

/// The codes a refused one could be replaced by, as a refusal says them.
fn offer(valid: &[String]) -> String {
    if valid.is_empty() {
        "the catalogue has no active codes yet: register them with registerCatalogueEntry \
         (`seguimiento seed-catalogues` registers the standard ones)"
            .to_owned()
    } else {
        format!("valid codes: {}", valid.join(", "))
    }
}

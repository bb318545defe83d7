//! Executing one command: the single write path.
//!
//! 1. Load the command's stream.
//! 2. Check the caller may write there, then whether the command was applied before
//!    ([`admit`]).
//! 3. Load the facts it needs (agency catalog, meeting) and let the domain's executor
//!    ([`domain::executor::execute`]) decide the events, their ids and the version the
//!    append expects.
//! 4. Append them expecting the version read in step 1: a concurrent writer makes the
//!    store answer `Conflict`; when the client did not pin a version we decide again on
//!    the fresh state, a bounded number of times.
//!
//! The importer runs steps 2 and 3 through the same two functions on its cache of stream
//! history, so a line is refused, skipped or decided as this path would.
//!
//! A client `commandId` makes retries safe: event ids are derived from it, so a retry after
//! a timeout finds its events already stored and gets the original positions back.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use seguimiento_domain::Aggregate as _;
use seguimiento_domain::{
    self as domain,
    agency::AgencyCatalog,
    command::Writer,
    commitment::CommitmentState,
    executor::{Decision, Loaded},
    validate::Check,
    Command, Context, DomainEvent, StreamState,
};
use seguimiento_eventstore::{ExpectedVersion, Metadata, NewEvent, RecordedEvent};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{Principal, Role};
use crate::error::AppError;
use crate::App;

/// How often a command is decided again after losing a race it did not pin.
const MAX_ATTEMPTS: usize = 5;

/// One command as a front end hands it over.
#[derive(Debug, Clone)]
pub struct CommandRequest {
    pub command: Command,
    pub principal: Principal,
    /// Business time of the fact; defaults to the time it is recorded.
    pub effective_at: Option<DateTime<Utc>>,
    /// When set, the stream must be exactly at this version (else `Conflict`).
    pub expected_version: Option<u64>,
    /// Client-chosen id that makes retries idempotent.
    pub command_id: Option<Uuid>,
}

/// What a command appended.
#[derive(Debug, Clone)]
pub struct CommandOutcome {
    pub stream: String,
    /// Global positions of the appended (or, on a retry, the original) events.
    pub positions: Vec<u64>,
    /// The stream's version after the command.
    pub version: u64,
    /// True when this was a retry of a command already applied.
    pub replayed: bool,
}

/// The id of an event whose command has no id (the domain's executor derives the others
/// from the command id): a fresh UUID v7, which sorts by time and keeps the log's id index
/// local.
pub fn fresh_event_id(_version: u64) -> Uuid {
    Uuid::now_v7()
}

/// What an append expects of a stream whose last version is `version` (`None`: no events).
pub fn expected_version(version: Option<u64>) -> ExpectedVersion {
    match version {
        Some(v) => ExpectedVersion::Exact(v),
        None => ExpectedVersion::NoStream,
    }
}

/// The stored form of a command's decided events. `digest` (see [`command_digest`]) goes
/// on the first event only: that is the one a retry finds.
pub fn to_new_events(
    decided: &Decision,
    actor: &str,
    correlation_id: Uuid,
    effective_at: Option<DateTime<Utc>>,
    digest: Option<String>,
) -> Vec<NewEvent> {
    let mut digest = digest;
    decided
        .events
        .iter()
        .zip(&decided.ids)
        .map(|(e, id)| {
            let metadata = Metadata {
                actor: actor.to_string(),
                correlation_id: Some(correlation_id),
                command_digest: digest.take(),
                ..Metadata::default()
            };
            NewEvent::stored(*id, e.to_stored(), metadata, effective_at)
        })
        .collect()
}

/// What makes two commands under one client id the same command: SHA-256 (hex) of the
/// canonical JSON of the command, with the personal data of a petition left out (a digest
/// of a contact could confirm a guess after the citizen is forgotten), and its effective
/// time. Who sends it is not part of it: authorization decides that, before any replay.
pub fn command_digest(command: &Command, effective_at: Option<DateTime<Utc>>) -> String {
    let mut value = serde_json::to_value(command).unwrap_or_default();
    if let Some(input) = value.get_mut("input").and_then(|i| i.as_object_mut()) {
        input.remove("contact");
    }
    // Commands whose numbers JCS cannot hold exactly are refused by their own checks; the
    // plain serialisation still gives them a digest of their own.
    let text =
        seguimiento_eventstore::hash::canonical_json(&value).unwrap_or_else(|_| value.to_string());
    let at = effective_at.map(seguimiento_eventstore::hash::format_ts);
    let mut hasher = Sha256::new();
    hasher.update(text.as_bytes());
    hasher.update(b"\n");
    hasher.update(at.unwrap_or_default().as_bytes());
    seguimiento_eventstore::hash::hex_digest(&hasher.finalize())
}

/// Whether a stored command (its first event's digest) is the one being retried. Events
/// stored before digests were kept have none and are taken as the same command.
fn check_same_command(
    stored: Option<&str>,
    digest: &str,
    command_id: Uuid,
) -> Result<(), AppError> {
    match stored {
        Some(d) if d != digest => Err(AppError::IdempotencyConflict(command_id)),
        _ => Ok(()),
    }
}

/// Decodes stored events into domain events.
pub fn decode(events: &[RecordedEvent]) -> Result<Vec<DomainEvent>, AppError> {
    events
        .iter()
        .map(|e| decode_event(&e.event_type, e.schema_version, &e.payload))
        .collect()
}

/// Decodes one stored (or exported) event. A sealed or redacted contact decodes as such
/// (`PersonalData`); nothing is decided from it.
pub fn decode_event(
    event_type: &str,
    schema_version: i32,
    payload: &serde_json::Value,
) -> Result<DomainEvent, AppError> {
    Ok(DomainEvent::from_stored(
        event_type,
        schema_version,
        payload.clone(),
    )?)
}

/// Refuses a business time outside the years of the input policy, like every instant of a
/// command (the store could not read back an event before year 0, and its stream would stay
/// unreadable), or later than the server clock (with the domain's tolerance for clock
/// drift): a fact cannot take effect in the future.
pub fn check_effective_at(
    effective_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(at) = effective_at else {
        return Ok(());
    };
    at.check("effective_at")?;
    if at > now + domain::CLOCK_SKEW {
        return Err(AppError::Domain(domain::DomainError::InFuture(
            "effectiveAt",
        )));
    }
    Ok(())
}

/// Checks that `principal` may run `command` on a stream with this history.
fn authorize(
    principal: &Principal,
    command: &Command,
    history: &[DomainEvent],
) -> Result<(), AppError> {
    match principal.role {
        Role::Admin => Ok(()),
        Role::Auditor | Role::Viewer => Err(AppError::Forbidden(format!(
            "role {} cannot write",
            principal.role.as_str()
        ))),
        Role::Capturista => {
            let Some(own) = principal.agency.as_deref() else {
                return Err(AppError::Forbidden("capturista without an agency".into()));
            };
            let own = domain::values::normalize_acronym(own);
            if command.writer() == Writer::Office {
                return Err(AppError::Forbidden(format!(
                    "only the Office runs {}; a capturista reports on what is assigned or \
                     turned to its agency",
                    command.name()
                )));
            }
            let touched = command.agencies_touched(history);
            if touched.is_empty() || touched.iter().any(|a| *a != own) {
                return Err(AppError::Forbidden(format!(
                    "a capturista of {own} writes only its own agency's records"
                )));
            }
            // An action is registered on a commitment assigned to the agency.
            if let Command::RegisterAction(_) = command {
                let assigned = CommitmentState::from_events(history)
                    .commitment
                    .is_some_and(|c| c.agencies.contains(&own));
                if !assigned {
                    return Err(AppError::Forbidden(format!(
                        "this commitment is not assigned to {own}"
                    )));
                }
            }
            Ok(())
        }
    }
}

/// A command id as a retry is recognised by: the ids the command's first event may carry
/// (most likely first) and the digest of the command it names.
#[derive(Debug, Clone, Copy)]
pub struct Retry<'a> {
    pub command_id: Uuid,
    pub first_ids: &'a [Uuid],
    pub digest: &'a str,
}

/// Lets `principal` run `command` on its stream (`history`, whose stored events have the
/// ids `stored`), and tells whether a retried command was applied before: the position in
/// `stored` where its events start, once the digest stored there (`stored_digest` of that
/// position) shows it is this same command ([`AppError::IdempotencyConflict`] otherwise).
///
/// Authorization comes first: a caller who may not run the command learns nothing from a
/// replay answer.
pub fn admit<'s>(
    principal: &Principal,
    command: &Command,
    history: &[DomainEvent],
    stored: &[Uuid],
    retry: Option<Retry<'_>>,
    stored_digest: impl FnOnce(usize) -> Option<&'s str>,
) -> Result<Option<usize>, AppError> {
    authorize(principal, command, history)?;
    let Some(retry) = retry else {
        return Ok(None);
    };
    let Some(start) = domain::executor::first_stored(retry.first_ids, stored) else {
        return Ok(None);
    };
    check_same_command(stored_digest(start), retry.digest, retry.command_id)?;
    Ok(Some(start))
}

impl App {
    /// Reads and decodes a whole stream (streams are small: one agreement, one letter).
    pub async fn load_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, AppError> {
        Ok(self
            .store()
            .read_stream(stream, 0, None)
            .try_collect()
            .await?)
    }

    pub async fn agency_catalog(&self) -> Result<AgencyCatalog, AppError> {
        let events = decode(&self.load_stream(domain::AGENCY_CATALOG_STREAM).await?)?;
        Ok(AgencyCatalog::from_events(&events))
    }

    /// The stream the command's rules read besides its own, folded ([`Command::reference`]).
    async fn referenced(&self, command: &Command) -> Result<Option<StreamState>, AppError> {
        let Some(stream) = command.reference() else {
            return Ok(None);
        };
        let events = decode(&self.load_stream(&stream).await?)?;
        Ok(Some(domain::fold(&events)))
    }

    /// Runs one command through the single write path.
    pub async fn execute(&self, req: CommandRequest) -> Result<CommandOutcome, AppError> {
        let stream = req.command.stream_id();
        let correlation_id = req.command_id.unwrap_or_else(Uuid::now_v7);
        check_effective_at(req.effective_at, Utc::now())?;
        let digest = command_digest(&req.command, req.effective_at);
        let first_ids = req
            .command_id
            .map(domain::ids::first_event_id_candidates)
            .unwrap_or_default();
        let retry = req.command_id.map(|command_id| Retry {
            command_id,
            first_ids: &first_ids,
            digest: &digest,
        });
        let mut attempt = 0;
        loop {
            attempt += 1;
            let recorded = self.load_stream(&stream).await?;
            let history = decode(&recorded)?;
            let stored_ids: Vec<Uuid> = recorded.iter().map(|e| e.id).collect();
            let applied = admit(
                &req.principal,
                &req.command,
                &history,
                &stored_ids,
                retry,
                |i| recorded[i].metadata.command_digest.as_deref(),
            )?;
            if let Some(outcome) = applied.and_then(|start| replayed(&stream, &recorded[start..])) {
                return Ok(outcome);
            }
            let current = recorded.last().map(|e| e.version);
            if let Some(expected) = req.expected_version {
                if current != Some(expected) {
                    return Err(AppError::Conflict {
                        stream,
                        expected: ExpectedVersion::Exact(expected),
                        actual: current,
                    });
                }
            }
            let agencies = self.agency_catalog().await?;
            let referenced = self.referenced(&req.command).await?;
            let loaded = Loaded {
                history: &history,
                ids: &stored_ids,
                version: current,
            };
            let ctx = Context::new(&agencies, Utc::now()).with_referenced(referenced.as_ref());
            let decided = domain::executor::execute(
                &req.command,
                loaded,
                ctx,
                req.command_id,
                fresh_event_id,
            )?;
            let mut new = to_new_events(
                &decided,
                &req.principal.subject,
                correlation_id,
                req.effective_at,
                req.command_id.map(|_| digest.clone()),
            );
            self.vault().seal_all(&mut new).await?;
            match self
                .store()
                .append(&stream, expected_version(decided.expected), new)
                .await
            {
                Ok(r) => {
                    return Ok(CommandOutcome {
                        stream,
                        positions: r.positions,
                        version: r.last_version,
                        replayed: false,
                    })
                }
                Err(e) => {
                    let err = AppError::from(e);
                    let again = matches!(err, AppError::Conflict { .. })
                        && req.expected_version.is_none()
                        && attempt < MAX_ATTEMPTS;
                    if !again {
                        return Err(err);
                    }
                }
            }
        }
    }
}

/// What a command applied before appended (`from` its first event on): the events of its
/// correlation that follow one another there.
fn replayed(stream: &str, from: &[RecordedEvent]) -> Option<CommandOutcome> {
    let correlation = from.first()?.metadata.correlation_id;
    let mine: Vec<&RecordedEvent> = from
        .iter()
        .take_while(|e| e.metadata.correlation_id == correlation)
        .collect();
    mine.last().map(|last| CommandOutcome {
        stream: stream.to_string(),
        positions: mine.iter().map(|e| e.position).collect(),
        version: last.version,
        replayed: true,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn an_effective_time_outside_the_policy_years_or_in_the_future_is_refused() {
        let now: DateTime<Utc> = "2024-05-01T12:00:00Z".parse().unwrap();
        let at = |t: &str| check_effective_at(Some(t.parse().unwrap()), now);
        assert!(check_effective_at(None, now).is_ok());
        assert!(at("1900-01-01T00:00:00Z").is_ok());
        assert!(at("2024-05-01T12:04:00Z").is_ok());
        for refused in [
            "1899-12-31T23:59:59Z",
            "0000-01-01T00:00:00Z",
            "-0001-01-01T00:00:00Z",
            "2024-05-01T12:06:00Z",
        ] {
            let e = at(refused).unwrap_err();
            assert_eq!(e.code(), "VALIDATION", "{refused}");
            assert!(e.to_string().contains("effectiveAt"), "{refused}: {e}");
        }
    }
}

//! # seguimiento-domain
//!
//! The pure domain of the follow-up system of the Oficina del Ejecutivo del Estado de
//! Sonora: commands in, events out. No SQL, no HTTP, no clock, no I/O. The application
//! layer loads a stream's events, hands them to [`executor::execute`] (which calls
//! [`decide`] with a [`Context`] of outside facts and gives the events their ids), and
//! appends the returned events; projections fold the same events into reports.
//!
//! ## Layout
//! - [`values`]: newtypes and vocabularies (`Mxn`, `Progress`, `Status`, `MeetingType`…).
//! - [`registry`]: every aggregate ([`AggregateKind`], [`StreamState`]), event type
//!   ([`DomainEvent`]) and command ([`Command`]), declared once.
//! - [`aggregate`]: the [`Aggregate`] trait every aggregate's state implements.
//! - [`event`]: the stored form of events (`to_stored` / `from_stored`), schema versions,
//!   upcasters and the personal data each type carries.
//! - [`command`]: the machinery of commands: `input!`, the [`command::Route`] each input
//!   declares (stream, agencies touched), who may write ([`command::Writer`]).
//! - [`error`]: [`DomainError`], one variant per rule.
//! - [`validate`]: the input policy (text classes and lengths, amount and year ranges)
//!   every command passes before it is decided.
//! - [`executor`]: a command decided on its stream as some source loaded it, with the ids
//!   and expected version of its events: the one path of the app, the importer and the
//!   fixtures' simulator.
//! - [`ids`]: time-ordered, deterministic ids for events and generated aggregates.
//! - [`time`]: Sonora's clock (UTC−7 all year): local dates, months, a bare date's instant.
//! - One module per aggregate, each with its commands' inputs and routes, its state
//!   ([`Aggregate::apply`]) and `decide`:
//!   [`agency`] (catálogo de dependencias and, in [`catalogue`], the Office's other
//!   catalogues and annual goals, stream `agencies`),
//!   [`cabinet`] (reunión de gabinete, `cabinet-meeting-<uuid>`),
//!   [`agreement`] (acuerdo / instrucción, `agreement-<uuid>`),
//!   [`commitment`] (compromiso de campaña, `commitment-<number>`),
//!   [`activity`] (actividad, `activity-<uuid>`),
//!   [`correspondence`] (oficio recibido, `letter-<folio>`),
//!   [`petition`] (petición ciudadana, `petition-<uuid>`),
//!   [`press_conference`] (rueda de prensa, `press-conference-<uuid>`).
//!
//! ## Rules that span aggregates
//! Agencies, and catalogue codes (tipos de gabinete, canales, temas, tipos de seguimiento,
//! [`catalogue`]), are checked against the catalog in [`Context::agencies`]; an agreement from a
//! cabinet meeting or a press conference is checked against the stream it names
//! ([`Command::reference`], loaded into [`Context::referenced`]);
//! corrections name an event by its store id, checked against [`Context::event_ids`].
//! No fact may take effect in the future of [`Context::now`].

pub mod activity;
pub mod agency;
pub mod aggregate;
pub mod agreement;
pub mod cabinet;
pub mod catalogue;
pub mod command;
pub mod commitment;
pub mod correspondence;
pub mod error;
pub mod event;
pub mod executor;
pub mod ids;
pub mod petition;
pub mod press_conference;
pub mod registry;
mod rules;
pub mod time;
pub mod validate;
pub mod values;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use agency::AgencyCatalog;
use cabinet::MeetingState;
use press_conference::Conference;

pub use aggregate::Aggregate;
pub use command::Command;
pub use error::DomainError;
pub use event::PersonalFields;
pub use registry::{fold_as, AggregateKind, DomainEvent, StreamState};

/// The single stream holding the whole agency catalog.
pub const AGENCY_CATALOG_STREAM: &str = "agencies";

/// `cabinet-meeting-<uuid>`
pub fn meeting_stream(meeting_id: Uuid) -> String {
    format!("cabinet-meeting-{meeting_id}")
}
/// `agreement-<uuid>`
pub fn agreement_stream(agreement_id: Uuid) -> String {
    format!("agreement-{agreement_id}")
}
/// `commitment-<number>`
pub fn commitment_stream(number: u32) -> String {
    format!("commitment-{number}")
}
/// `activity-<uuid>`
pub fn activity_stream(activity_id: Uuid) -> String {
    format!("activity-{activity_id}")
}
/// `letter-<folio>` (the folio trimmed).
pub fn letter_stream(folio: &str) -> String {
    format!("letter-{}", folio.trim())
}
/// `petition-<uuid>`
pub fn petition_stream(petition_id: Uuid) -> String {
    format!("petition-{petition_id}")
}

/// Facts from outside the stream a command needs (the app layer loads them).
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The folded `agencies` stream.
    pub agencies: &'a AgencyCatalog,
    /// The stream named by [`Command::reference`] (a cabinet meeting, a press
    /// conference), folded; `None` when the command names none.
    pub referenced: Option<&'a StreamState>,
    /// Server clock; business times may not lie after it (beyond [`CLOCK_SKEW`]).
    pub now: DateTime<Utc>,
    /// Store ids of the stream's events, needed only to check that a correction names an
    /// event of this stream. Empty is fine for every other command.
    pub event_ids: &'a [Uuid],
}

/// How far in the future a business time may be, to tolerate client clock drift.
pub const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

impl<'a> Context<'a> {
    pub fn new(agencies: &'a AgencyCatalog, now: DateTime<Utc>) -> Self {
        Context {
            agencies,
            referenced: None,
            now,
            event_ids: &[],
        }
    }

    pub fn with_referenced(mut self, referenced: Option<&'a StreamState>) -> Self {
        self.referenced = referenced;
        self
    }

    /// The referenced cabinet meeting, if the command names one that was held.
    pub fn meeting(&self) -> Option<&'a MeetingState> {
        match self.referenced {
            Some(StreamState::CabinetMeeting(s)) => s.meeting.as_ref(),
            _ => None,
        }
    }

    /// The referenced press conference, if the command names one that was held.
    pub fn conference(&self) -> Option<&'a Conference> {
        match self.referenced {
            Some(StreamState::PressConference(s)) => s.conference.as_ref(),
            _ => None,
        }
    }

    pub fn with_event_ids(mut self, event_ids: &'a [Uuid]) -> Self {
        self.event_ids = event_ids;
        self
    }
}

/// Folds a stream's history; the aggregate is told by its events.
pub fn fold(history: &[DomainEvent]) -> StreamState {
    match history.first().map(DomainEvent::aggregate_kind) {
        None => StreamState::Empty,
        Some(kind) => fold_as(kind, history),
    }
}

/// Decides a command against its stream's history: the events to append, or why not.
pub fn decide(
    history: &[DomainEvent],
    cmd: &Command,
    ctx: &Context,
) -> Result<Vec<DomainEvent>, DomainError> {
    cmd.check()?;
    let kind = cmd.aggregate_kind();
    if let Some(found) = history
        .iter()
        .map(DomainEvent::aggregate_kind)
        .find(|k| *k != kind)
    {
        return Err(DomainError::WrongAggregate {
            command: cmd.name(),
            found: found.name(),
        });
    }
    let events = registry::decide_on(&fold_as(kind, history), cmd, ctx)?;
    for e in &events {
        if let Some((field, at)) = e.effective_time() {
            if at > ctx.now + CLOCK_SKEW {
                return Err(DomainError::InFuture(field));
            }
        }
    }
    Ok(events)
}

/// The error for a command routed to the wrong aggregate's `decide`.
pub(crate) fn wrong_aggregate(cmd: &Command, found: &'static str) -> DomainError {
    DomainError::WrongAggregate {
        command: cmd.name(),
        found,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;

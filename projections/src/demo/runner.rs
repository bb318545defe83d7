//! Runs demo commands through `seguimiento_domain::decide` purely in memory.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use seguimiento_domain::agency::AgencyCatalog;
use seguimiento_domain::cabinet::CabinetState;
use seguimiento_domain::{
    decide, meeting_stream, AggregateKind, Context, DomainEvent, AGENCY_CATALOG_STREAM,
};
use uuid::Uuid;

use super::DemoCommand;
use crate::error::Result;
use crate::event::ProjectedEvent;

/// An event produced by a demo command, with the stream it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoEvent {
    pub stream: String,
    /// 0-based version within the stream.
    pub version: u64,
    /// Deterministic id: derived from the command id when one was given (as the importer
    /// does), else the UUID v5 of stream and version.
    pub id: Uuid,
    pub event: DomainEvent,
    pub actor: String,
    pub effective_at: DateTime<Utc>,
}

/// In-memory command execution: the streams' histories, the agency catalog and the
/// deterministic event ids (`id("<stream>#<version>")`), so corrections can name events.
#[derive(Debug, Default)]
pub struct Simulator {
    streams: HashMap<String, Vec<DomainEvent>>,
    ids: HashMap<String, Vec<Uuid>>,
    catalog: AgencyCatalog,
}

impl Simulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ids of a stream's events so far.
    pub fn event_ids(&self, stream: &str) -> &[Uuid] {
        self.ids.get(stream).map_or(&[][..], |v| v.as_slice())
    }

    /// Decides one command against its stream (with the agency catalog and the referenced
    /// cabinet meeting as context; "now" = the report instant or the command's effective
    /// time, whichever is later) and records the events. A rejected command changes
    /// nothing.
    pub fn execute(&mut self, c: &DemoCommand) -> Result<Vec<DemoEvent>> {
        self.execute_with_id(c, None)
    }

    /// [`Simulator::execute`] for a command with an id: its events get the ids the
    /// importer would give them ([`seguimiento_domain::ids::command_event_ids`]).
    pub fn execute_with_id(
        &mut self,
        c: &DemoCommand,
        command_id: Option<Uuid>,
    ) -> Result<Vec<DemoEvent>> {
        let stream = c.command.stream_id();
        let meeting = c.command.meeting_ref().and_then(|m| {
            self.streams
                .get(&meeting_stream(m))
                .map(|h| CabinetState::from_events(h))
                .and_then(|s| s.meeting)
        });
        let now = super::report_instant().max(c.effective_at);
        let ctx = Context::new(&self.catalog, now)
            .with_meeting(meeting.as_ref())
            .with_event_ids(self.ids.get(&stream).map_or(&[][..], |v| v.as_slice()));
        let history = self.streams.get(&stream).map_or(&[][..], |h| h.as_slice());
        let events = decide(history, &c.command, &ctx)?;
        let mut derived = command_id
            .map(|id| seguimiento_domain::ids::command_event_ids(id, events.len()))
            .unwrap_or_default()
            .into_iter();
        let h = self.streams.entry(stream.clone()).or_default();
        let idv = self.ids.entry(stream.clone()).or_default();
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            if e.aggregate_kind() == AggregateKind::AgencyCatalog && stream == AGENCY_CATALOG_STREAM
            {
                self.catalog.apply(&e);
            }
            let version = h.len() as u64;
            let id = derived
                .next()
                .unwrap_or_else(|| super::id(&format!("{stream}#{version}")));
            h.push(e.clone());
            idv.push(id);
            out.push(DemoEvent {
                stream: stream.clone(),
                version,
                id,
                event: e,
                actor: c.actor.clone(),
                effective_at: c.effective_at,
            });
        }
        Ok(out)
    }
}

/// Runs every command through [`Simulator::execute`]; the first rejection is an error.
pub fn run(commands: &[DemoCommand]) -> Result<Vec<DemoEvent>> {
    let mut sim = Simulator::new();
    let mut out = Vec::new();
    for c in commands {
        out.extend(sim.execute(c)?);
    }
    Ok(out)
}

impl DemoEvent {
    /// The event as a writer hands it to the store (same id, effective time and actor).
    pub fn to_new_event(&self) -> seguimiento_eventstore::NewEvent {
        let (event_type, schema_version, payload) = self.event.to_stored();
        seguimiento_eventstore::NewEvent {
            id: self.id,
            event_type,
            schema_version,
            payload,
            metadata: seguimiento_eventstore::Metadata {
                actor: self.actor.clone(),
                correlation_id: None,
                causation_id: None,
                command_digest: None,
                hash_scheme: None,
            },
            effective_at: Some(self.effective_at),
        }
    }
}

/// The events of `commands`: (event, actor, effective time), in order.
pub fn events_for(commands: &[DemoCommand]) -> Result<Vec<(DomainEvent, String, DateTime<Utc>)>> {
    Ok(run(commands)?
        .into_iter()
        .map(|e| (e.event, e.actor, e.effective_at))
        .collect())
}

/// The events of `commands` as a projector sees them: positions 1.., recorded at their
/// effective time (so as-of and effective views coincide for the demo).
pub fn recorded(commands: &[DemoCommand]) -> Result<Vec<ProjectedEvent>> {
    Ok(run(commands)?
        .into_iter()
        .enumerate()
        .map(|(i, e)| ProjectedEvent {
            event: e.event,
            id: e.id,
            stream: e.stream,
            version: e.version,
            position: i as u64 + 1,
            actor: e.actor,
            recorded_at: e.effective_at,
            effective_at: e.effective_at,
        })
        .collect())
}

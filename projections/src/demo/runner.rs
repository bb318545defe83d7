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
    /// Deterministic id (UUID v5 of stream and version).
    pub id: Uuid,
    pub event: DomainEvent,
    pub actor: String,
    pub effective_at: DateTime<Utc>,
}

/// Decides every command against the in-memory history of its stream (with the agency
/// catalog and the referenced cabinet meeting as context, "now" = the report instant or
/// later) and returns the events with their streams, in order.
pub fn run(commands: &[DemoCommand]) -> Result<Vec<DemoEvent>> {
    let mut streams: HashMap<String, Vec<DomainEvent>> = HashMap::new();
    let mut ids: HashMap<String, Vec<Uuid>> = HashMap::new();
    let mut catalog = AgencyCatalog::default();
    let mut out = Vec::new();
    for c in commands {
        let stream = c.command.stream_id();
        let meeting = c.command.meeting_ref().and_then(|m| {
            streams
                .get(&meeting_stream(m))
                .map(|h| CabinetState::from_events(h))
                .and_then(|s| s.meeting)
        });
        let now = super::report_instant().max(c.effective_at);
        let empty = Vec::new();
        let event_ids = ids.get(&stream).unwrap_or(&empty);
        let ctx = Context::new(&catalog, now)
            .with_meeting(meeting.as_ref())
            .with_event_ids(event_ids);
        let history = streams.get(&stream).map_or(&[][..], |h| h.as_slice());
        let events = decide(history, &c.command, &ctx)?;
        let h = streams.entry(stream.clone()).or_default();
        let idv = ids.entry(stream.clone()).or_default();
        for e in events {
            if e.aggregate_kind() == AggregateKind::AgencyCatalog && stream == AGENCY_CATALOG_STREAM
            {
                catalog.apply(&e);
            }
            let version = h.len() as u64;
            let id = super::id(&format!("{stream}#{version}"));
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
    }
    Ok(out)
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

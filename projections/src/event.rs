//! [`ProjectedEvent`]: a decoded domain event with the envelope facts projectors need.

use chrono::{DateTime, Utc};
use seguimiento_domain::DomainEvent;
use seguimiento_eventstore::{RawEvent, RecordedEvent};
use uuid::Uuid;

use crate::error::{ProjectionError, Result};

/// What a projector folds: the decoded [`DomainEvent`] plus where and when it was recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectedEvent {
    pub event: DomainEvent,
    pub id: Uuid,
    pub stream: String,
    /// 0-based version within the stream.
    pub version: u64,
    /// 1-based global position in the log.
    pub position: u64,
    /// Authenticated subject that caused the event.
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
}

impl ProjectedEvent {
    /// Decodes a stored event (upcasting old schema versions). An event the domain cannot
    /// read is an error: projections never skip an event silently.
    pub fn decode(rec: &RecordedEvent) -> Result<Self> {
        let event =
            DomainEvent::from_stored(&rec.event_type, rec.schema_version, rec.payload.clone())
                .map_err(|e| undecodable(rec.position, &rec.event_type, rec.schema_version, e))?;
        Ok(ProjectedEvent {
            event,
            id: rec.id,
            stream: rec.stream.clone(),
            version: rec.version,
            position: rec.position,
            actor: rec.metadata.actor.clone(),
            recorded_at: rec.recorded_at,
            effective_at: rec.effective_at,
        })
    }

    /// Decodes an event read with its payload as text, parsing the payload once: the path
    /// of full-log folds (rebuilds, as-of views).
    pub fn decode_raw(rec: RawEvent) -> Result<Self> {
        let event =
            DomainEvent::from_stored_json(&rec.event_type, rec.schema_version, &rec.payload)
                .map_err(|e| undecodable(rec.position, &rec.event_type, rec.schema_version, e))?;
        Ok(ProjectedEvent {
            event,
            id: rec.id,
            stream: rec.stream,
            version: rec.version,
            position: rec.position,
            actor: rec.metadata.actor,
            recorded_at: rec.recorded_at,
            effective_at: rec.effective_at,
        })
    }
}

fn undecodable(
    position: u64,
    event_type: &str,
    schema_version: i32,
    e: seguimiento_domain::DomainError,
) -> ProjectionError {
    ProjectionError::Undecodable {
        position,
        event_type: event_type.to_owned(),
        schema_version,
        reason: e.to_string(),
    }
}

//! Step 0 of a write, before any lock: a batch validated and its JSON made canonical.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::StoreError;
use crate::hash::{self, HashScheme};
use crate::types::{ExpectedVersion, NewEvent};

pub(crate) type BatchEntry = (String, ExpectedVersion, Vec<NewEvent>);

/// An event ready to plan: validated, payload and metadata in canonical JSON.
pub(crate) struct PreparedEvent {
    pub id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: String,
    pub metadata: String,
    /// Truncated to microseconds.
    pub effective_at: Option<DateTime<Utc>>,
}

pub(crate) struct PreparedEntry {
    pub stream: String,
    pub expected: ExpectedVersion,
    pub events: Vec<PreparedEvent>,
}

/// One append request (an `append` or a whole `append_batch`): all or nothing.
pub(crate) struct Prepared {
    pub entries: Vec<PreparedEntry>,
}

impl Prepared {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn event_count(&self) -> usize {
        self.entries.iter().map(|e| e.events.len()).sum()
    }
}

/// Validates a batch and computes its canonical texts, before touching the database (this
/// CPU work stays outside the log lock).
pub(crate) fn prepare(batch: Vec<BatchEntry>) -> Result<Prepared, StoreError> {
    validate(&batch)?;
    let mut entries = Vec::with_capacity(batch.len());
    for (stream, expected, events) in batch {
        let mut out = Vec::with_capacity(events.len());
        for mut ev in events {
            ev.metadata.hash_scheme = HashScheme::CURRENT.tag();
            let metadata = serde_json::to_value(&ev.metadata)?;
            out.push(PreparedEvent {
                id: ev.id,
                payload: hash::canonical_json(&ev.payload)?,
                metadata: hash::canonical_json(&metadata)?,
                event_type: ev.event_type,
                schema_version: ev.schema_version,
                effective_at: ev.effective_at.map(hash::truncate_micros),
            });
        }
        entries.push(PreparedEntry {
            stream,
            expected,
            events: out,
        });
    }
    Ok(Prepared { entries })
}

/// Validates a batch before touching the database.
pub(crate) fn validate(batch: &[BatchEntry]) -> Result<(), StoreError> {
    let mut ids = HashSet::new();
    for (stream, _, events) in batch {
        if stream.is_empty() {
            return Err(StoreError::InvalidInput("empty stream name".into()));
        }
        if events.is_empty() {
            return Err(StoreError::InvalidInput(format!(
                "append to {stream:?} without events"
            )));
        }
        for ev in events {
            if !ids.insert(ev.id) {
                return Err(StoreError::InvalidInput(format!(
                    "event id {} appears twice in one request",
                    ev.id
                )));
            }
            if ev.event_type.is_empty() {
                return Err(StoreError::InvalidInput(format!(
                    "event {} has an empty event_type",
                    ev.id
                )));
            }
            if let Some(t) = ev.effective_at {
                check_storable_time(ev.id, t)?;
            }
        }
    }
    Ok(())
}

/// Refuses a time the log could not give back as it was: the stored form
/// ([`hash::format_ts`]) holds years 0000 to 9999 only, and PostgreSQL turns a leap second
/// into the next minute, so either would leave a row that no longer reads or verifies,
/// forever. Domain commands are held to narrower ranges before they get here; this guards
/// every other writer (an imported export, a tool).
fn check_storable_time(id: uuid::Uuid, t: DateTime<Utc>) -> Result<(), StoreError> {
    if !hash::storable_time(t) {
        return Err(StoreError::InvalidInput(format!(
            "event {id}: effective time {} cannot be stored (years 0000 to 9999, no leap \
             second)",
            t.to_rfc3339()
        )));
    }
    Ok(())
}

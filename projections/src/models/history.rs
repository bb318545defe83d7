//! History of one stream for auditors, read straight from the log (no fold state): every
//! event in order with actor, recorded and effective time, its place in the hash chain,
//! and for an EventCorrected which event it replaced.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use seguimiento_eventstore::EventStore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::Result;

/// What an EventCorrected replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorrectedRef {
    pub event_id: Uuid,
    /// `None` when the corrected id is not an event of this stream.
    pub version: Option<u64>,
    pub event_type: Option<String>,
}

/// One event of the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub event_id: Uuid,
    pub stream: String,
    pub version: u64,
    pub position: u64,
    pub event_type: String,
    pub schema_version: i32,
    pub actor: String,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
    /// The stored payload, with personal data (a petition's `contact`, `citizenId`)
    /// replaced by `"<redacted>"`.
    pub payload: Value,
    pub corrects: Option<CorrectedRef>,
}

/// Fields never shown in a history.
const PERSONAL_FIELDS: [&str; 2] = ["contact", "citizenId"];

fn redact(event_type: &str, mut payload: Value) -> Value {
    if event_type == "PetitionReceived" {
        if let Value::Object(map) = &mut payload {
            for f in PERSONAL_FIELDS {
                if map.contains_key(f) {
                    map.insert(f.to_owned(), Value::String("<redacted>".into()));
                }
            }
        }
    }
    payload
}

/// Events of `stream` with version greater than `after_version` (all when `None`), at
/// most `limit`, optionally only those recorded at or before `as_of`.
pub async fn history(
    store: &EventStore,
    stream: &str,
    after_version: Option<u64>,
    limit: usize,
    as_of: Option<DateTime<Utc>>,
) -> Result<Vec<HistoryEntry>> {
    // Read from version 0 so corrections can name events before the page.
    let mut seen: HashMap<Uuid, (u64, String)> = HashMap::new();
    let mut out = Vec::new();
    let mut events = store.read_stream(stream, 0, as_of);
    while let Some(rec) = events.next().await {
        let rec = rec?;
        seen.insert(rec.id, (rec.version, rec.event_type.clone()));
        if after_version.is_some_and(|a| rec.version <= a) {
            continue;
        }
        if out.len() >= limit {
            break;
        }
        let corrects = if rec.event_type == "EventCorrected" {
            rec.payload
                .get("correctedEventId")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .map(|id| {
                    let found = seen.get(&id);
                    CorrectedRef {
                        event_id: id,
                        version: found.map(|f| f.0),
                        event_type: found.map(|f| f.1.clone()),
                    }
                })
        } else {
            None
        };
        out.push(HistoryEntry {
            event_id: rec.id,
            stream: rec.stream,
            version: rec.version,
            position: rec.position,
            payload: redact(&rec.event_type, rec.payload),
            event_type: rec.event_type,
            schema_version: rec.schema_version,
            actor: rec.metadata.actor,
            correlation_id: rec.metadata.correlation_id,
            causation_id: rec.metadata.causation_id,
            recorded_at: rec.recorded_at,
            effective_at: rec.effective_at,
            prev_hash: rec.prev_hash,
            hash: rec.hash,
            corrects,
        });
    }
    Ok(out)
}

//! Events as auditors see them: the envelope, the payload and the place in the chain.

use async_graphql::{Json, SimpleObject};
use chrono::{DateTime, Utc};
use seguimiento_eventstore::{RecordedEvent, VerifyReport};
use serde_json::Value;
use uuid::Uuid;

/// What an `EventCorrected` replaced.
#[derive(Debug, Clone, SimpleObject)]
pub struct CorrectionTarget {
    pub event_id: Uuid,
    /// `None` when the id is not an event of this stream.
    pub version: Option<u64>,
    #[graphql(name = "type")]
    pub event_type: Option<String>,
}

/// One recorded event.
#[derive(Debug, Clone, SimpleObject)]
pub struct HistoryEvent {
    pub event_id: Uuid,
    pub stream: String,
    #[graphql(name = "type")]
    pub event_type: String,
    pub schema_version: i32,
    pub version: u64,
    pub global_position: u64,
    /// The authenticated subject that caused it.
    pub actor: String,
    pub correlation_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    /// The stored payload; personal data redacted unless the caller may see it.
    pub payload: Json<Value>,
    pub hash: String,
    pub prev_hash: String,
    pub corrects: Option<CorrectionTarget>,
}

/// Fields of a `PetitionReceived` payload that are personal data.
const PERSONAL_FIELDS: [&str; 2] = ["contact", "citizenId"];

/// Replaces personal data in a payload by `"<redacted>"`.
pub fn redact(event_type: &str, mut payload: Value) -> Value {
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

impl HistoryEvent {
    /// `earlier` resolves a correction's target (events of the same stream before it).
    pub fn new(
        rec: RecordedEvent,
        personal_data: bool,
        earlier: impl Fn(Uuid) -> Option<(u64, String)>,
    ) -> Self {
        let corrects = (rec.event_type == "EventCorrected")
            .then(|| {
                rec.payload
                    .get("correctedEventId")
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok())
            })
            .flatten()
            .map(|id| {
                let found = earlier(id);
                CorrectionTarget {
                    event_id: id,
                    version: found.as_ref().map(|f| f.0),
                    event_type: found.map(|f| f.1),
                }
            });
        let payload = if personal_data {
            rec.payload
        } else {
            redact(&rec.event_type, rec.payload)
        };
        HistoryEvent {
            event_id: rec.id,
            stream: rec.stream,
            event_type: rec.event_type,
            schema_version: rec.schema_version,
            version: rec.version,
            global_position: rec.position,
            actor: rec.metadata.actor,
            correlation_id: rec.metadata.correlation_id,
            recorded_at: rec.recorded_at,
            effective_at: rec.effective_at,
            payload: Json(payload),
            hash: rec.hash,
            prev_hash: rec.prev_hash,
            corrects,
        }
    }
}

/// A broken link of the hash chain.
#[derive(Debug, Clone, SimpleObject)]
pub struct BrokenLink {
    pub stream: String,
    pub version: u64,
    pub global_position: u64,
    pub reason: String,
}

/// Result of walking the hash chain.
#[derive(Debug, Clone, SimpleObject)]
pub struct VerifyResult {
    /// True when every link checked out.
    pub ok: bool,
    pub events_checked: u64,
    pub first_broken: Option<BrokenLink>,
}

impl From<VerifyReport> for VerifyResult {
    fn from(r: VerifyReport) -> Self {
        VerifyResult {
            ok: r.first_broken.is_none(),
            events_checked: r.events_checked,
            first_broken: r.first_broken.map(|b| BrokenLink {
                stream: b.stream,
                version: b.version,
                global_position: b.position,
                reason: b.reason,
            }),
        }
    }
}

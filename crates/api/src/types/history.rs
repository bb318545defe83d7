//! Events as auditors see them: the envelope, the payload and the place in the chain.

use async_graphql::{Json, SimpleObject};
use chrono::{DateTime, Utc};
use seguimiento_app::{personal_data, App, AppError};
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

/// Prepares a stored payload for a reader: the citizen's contact unsealed for readers
/// allowed to see personal data (admin, auditor), replaced by `{"redacted": true}` (and
/// the citizen id hidden) for everyone else and for forgotten citizens.
pub async fn reveal(
    app: &App,
    rec: &mut RecordedEvent,
    personal_data: bool,
) -> Result<(), AppError> {
    if !personal_data::is_personal_event(&rec.event_type) {
        return Ok(());
    }
    if personal_data
        && app
            .vault()
            .unseal(&rec.event_type, &mut rec.payload)
            .await?
    {
        return Ok(());
    }
    personal_data::redact(&rec.event_type, &mut rec.payload, !personal_data);
    Ok(())
}

impl HistoryEvent {
    /// `rec` as prepared by [`reveal`]; `earlier` resolves a correction's target (events
    /// of the same stream).
    pub fn new(rec: RecordedEvent, earlier: impl Fn(Uuid) -> Option<(u64, String)>) -> Self {
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
        let payload = rec.payload;
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

/// The head of the log chain: publish it (or store it outside the database) as an anchor;
/// `seguimiento verify --anchor` checks that a later log still extends it. The same JSON as
/// `seguimiento anchor` prints: `{"position":N,"link":"64 hex digits"}`.
#[derive(Debug, Clone, SimpleObject)]
pub struct LogHead {
    /// Position of the last event (0 for an empty log).
    pub position: u64,
    /// Log-chain link at that position: SHA-256, 64 lowercase hex digits ("" when empty).
    pub link: String,
}

impl From<seguimiento_eventstore::LogAnchor> for LogHead {
    fn from(a: seguimiento_eventstore::LogAnchor) -> Self {
        LogHead {
            position: a.position,
            link: a.link,
        }
    }
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

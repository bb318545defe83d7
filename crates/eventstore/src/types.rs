//! The envelope types shared by every backend. This file is the contract the other crates
//! code against: keep field names stable.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Who did it and why; stored beside the payload and covered by the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// The authenticated subject that caused the event, never a client-supplied value.
    pub actor: String,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    /// Digest of the command that produced the event, on the first event of a command
    /// that carried a client id: a retry under that id is recognised as one only when its
    /// command has the same digest. Absent on events stored before digests were kept (and
    /// then absent from the hashed metadata too, so their hashes stay valid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_digest: Option<String>,
    /// The [hash scheme](crate::hash::HashScheme) of the event, set by the store on every
    /// write (whatever the writer gave); absent on events hashed under v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_scheme: Option<u32>,
}

impl Metadata {
    /// Metadata naming only the actor (no correlation, causation or command digest; the
    /// store sets the hash scheme).
    pub fn by(actor: impl Into<String>) -> Metadata {
        Metadata {
            actor: actor.into(),
            ..Metadata::default()
        }
    }
}

/// An event as a writer hands it to the store. `recorded_at`, version and position are the
/// store's to assign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewEvent {
    /// Client-chosen id: appending the same id twice with the same content is a no-op.
    pub id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: Value,
    pub metadata: Metadata,
    /// Business time the caller reports; `None` means "when recorded".
    pub effective_at: Option<DateTime<Utc>>,
}

impl NewEvent {
    /// An event from its stored form: the type, schema version and payload a domain event
    /// gives (`DomainEvent::to_stored`).
    pub fn stored(
        id: Uuid,
        (event_type, schema_version, payload): (String, i32, Value),
        metadata: Metadata,
        effective_at: Option<DateTime<Utc>>,
    ) -> NewEvent {
        NewEvent {
            id,
            event_type,
            schema_version,
            payload,
            metadata,
            effective_at,
        }
    }
}

/// What a writer expects the stream's current version to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last version must be exactly this (0-based).
    Exact(u64),
}

/// An event as stored: the envelope plus what the store assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedEvent {
    pub id: Uuid,
    pub stream: String,
    /// 0-based, dense within the stream.
    pub version: u64,
    /// 1-based, dense and strictly increasing in commit order across the whole log.
    pub position: u64,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: Value,
    pub metadata: Metadata,
    /// Server clock at append, UTC, microsecond precision.
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    /// Hex SHA-256 of the previous event of the same stream ("" for version 0).
    pub prev_hash: String,
    /// Hex SHA-256 over the canonical envelope and `prev_hash`.
    pub hash: String,
}

/// A recorded event whose payload is still the canonical JSON text the store holds.
///
/// Readers that decode payloads into their own types (the projections) use this to parse
/// each payload once, straight from the text, instead of building a `serde_json::Value`
/// first. Hash fields are left out: `verify` is the reader that needs them.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    pub id: Uuid,
    pub stream: String,
    /// 0-based, dense within the stream.
    pub version: u64,
    /// 1-based, dense and strictly increasing in commit order across the whole log.
    pub position: u64,
    pub event_type: String,
    pub schema_version: i32,
    /// Canonical JSON text of the payload object.
    pub payload: String,
    pub metadata: Metadata,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
}

/// Which part of the log a full read returns; `None` bounds are open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogFilter {
    /// Only events recorded at or before this instant (what the system knew then).
    pub recorded_until: Option<DateTime<Utc>>,
    /// Only events effective at or before this instant (what had happened by then).
    pub effective_until: Option<DateTime<Utc>>,
    /// Leave out events of these types (a reader that provably ignores them lets the
    /// database skip them). A list of what to skip rather than what to read, so an event of
    /// a type the reader does not know is still read, and refused, never silently dropped.
    /// Shared, not copied, by the tasks that read a log's pages.
    pub skip_types: Arc<[&'static str]>,
}

/// Where an append landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppendResult {
    pub stream: String,
    /// Global positions of the appended (or, on an idempotent retry, the original) events.
    pub positions: Vec<u64>,
    /// The stream's version after the append.
    pub last_version: u64,
}

/// Outcome of walking the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub events_checked: u64,
    /// The first event whose stored hash or link does not match, if any.
    pub first_broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokenLink {
    pub stream: String,
    pub version: u64,
    pub position: u64,
    pub reason: String,
}

/// The head of the log chain: the last position and its link (see [`crate::hash`]). Published
/// outside the database (printed by `seguimiento anchor`), it is an *anchor*: a later log
/// extends it only if the link at `position` is still `link`. An empty log's head is
/// position 0 with an empty link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogAnchor {
    pub position: u64,
    /// 64 lowercase hex digits (`""` at position 0).
    pub link: String,
}

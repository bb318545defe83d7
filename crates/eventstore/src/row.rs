//! The stored row, decoded from either backend.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::StoreError;
use crate::hash::{self, HashInput, HashScheme};
use crate::types::{Metadata, RawEvent, RecordedEvent};

/// Column list shared by every query that reads whole rows (same order on both backends).
pub(crate) const COLUMNS: &str = "position, id, stream, version, event_type, schema_version, \
     payload, metadata, recorded_at, effective_at, prev_hash, hash";

/// An event row exactly as stored: payload/metadata still as their canonical JSON text, so the
/// hash can be recomputed over the stored bytes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredRow {
    pub position: u64,
    pub id: Uuid,
    pub stream: String,
    pub version: u64,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: String,
    pub metadata: String,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

fn to_u64(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {what}: {v}")))
}

pub(crate) fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::InvalidInput(format!("{v} exceeds i64::MAX")))
}

/// The id and the two times, which SQLite stores as text.
fn parse_text_columns(
    position: u64,
    id: &str,
    recorded_at: &str,
    effective_at: &str,
) -> Result<(Uuid, DateTime<Utc>, DateTime<Utc>), StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("position {position}: bad {what}"));
    Ok((
        Uuid::parse_str(id).map_err(|e| corrupt(&format!("id: {e}")))?,
        hash::parse_ts(recorded_at).ok_or_else(|| corrupt("recorded_at"))?,
        hash::parse_ts(effective_at).ok_or_else(|| corrupt("effective_at"))?,
    ))
}

/// Text column `i` of a direct SQLite read, borrowed from the statement.
fn text_column<'r>(
    row: &'r rusqlite::Row<'_>,
    position: u64,
    i: usize,
) -> Result<&'r str, StoreError> {
    row.get_ref(i)?
        .as_str()
        .map_err(|e| StoreError::Corrupt(format!("position {position}: column {i}: {e}")))
}

impl StoredRow {
    /// A row whose first columns are `COLUMNS`.
    pub fn from_sqlite(row: &SqliteRow) -> Result<Self, StoreError> {
        Self::from_sqlite_at(row, 0)
    }

    /// A row whose first columns are `COLUMNS`.
    pub fn from_pg(row: &PgRow) -> Result<Self, StoreError> {
        Self::from_pg_at(row, 0)
    }

    // Columns are read by index, `COLUMNS` starting at column `at` (queries may put their
    // own columns first): a name lookup per column per row is measurable on full-log scans.
    pub fn from_sqlite_at(row: &SqliteRow, at: usize) -> Result<Self, StoreError> {
        let position = to_u64(row.try_get(at)?, "position")?;
        let (id, recorded_at, effective_at) = parse_text_columns(
            position,
            row.try_get(at + 1)?,
            row.try_get(at + 8)?,
            row.try_get(at + 9)?,
        )?;
        Ok(StoredRow {
            position,
            id,
            stream: row.try_get(at + 2)?,
            version: to_u64(row.try_get(at + 3)?, "version")?,
            event_type: row.try_get(at + 4)?,
            schema_version: row.try_get(at + 5)?,
            payload: row.try_get(at + 6)?,
            metadata: row.try_get(at + 7)?,
            recorded_at,
            effective_at,
            prev_hash: row.try_get(at + 10)?,
            hash: row.try_get(at + 11)?,
        })
    }

    /// A row of a direct SQLite page read (see [`crate::sqlite_pages`]) whose columns are
    /// `COLUMNS`.
    pub fn from_rusqlite(row: &rusqlite::Row<'_>) -> Result<Self, StoreError> {
        let position = to_u64(row.get(0)?, "position")?;
        let text = |i: usize| text_column(row, position, i);
        let (id, recorded_at, effective_at) =
            parse_text_columns(position, text(1)?, text(8)?, text(9)?)?;
        Ok(StoredRow {
            position,
            id,
            stream: text(2)?.to_owned(),
            version: to_u64(row.get(3)?, "version")?,
            event_type: text(4)?.to_owned(),
            schema_version: row.get(5)?,
            payload: text(6)?.to_owned(),
            metadata: text(7)?.to_owned(),
            recorded_at,
            effective_at,
            prev_hash: text(10)?.to_owned(),
            hash: text(11)?.to_owned(),
        })
    }

    // Unchecked: the columns are `events`' own (migrations/postgres), so their types are
    // known, and sqlx's per-value type check (a type-info clone and comparison per column)
    // was about a tenth of a full-log read's client time. Decoding still checks each
    // value's bytes (UTF-8 text, a 16-byte UUID, an integer of at most 8 bytes).
    pub fn from_pg_at(row: &PgRow, at: usize) -> Result<Self, StoreError> {
        Ok(StoredRow {
            position: to_u64(row.try_get_unchecked(at)?, "position")?,
            id: row.try_get_unchecked(at + 1)?,
            stream: row.try_get_unchecked(at + 2)?,
            version: to_u64(row.try_get_unchecked(at + 3)?, "version")?,
            event_type: row.try_get_unchecked(at + 4)?,
            schema_version: row.try_get_unchecked(at + 5)?,
            payload: row.try_get_unchecked(at + 6)?,
            metadata: row.try_get_unchecked(at + 7)?,
            recorded_at: row.try_get_unchecked(at + 8)?,
            effective_at: row.try_get_unchecked(at + 9)?,
            prev_hash: row.try_get_unchecked(at + 10)?,
            hash: row.try_get_unchecked(at + 11)?,
        })
    }

    /// The hash recomputed from the stored fields (see [`crate::hash`]), under the scheme
    /// the stored metadata names; `Err` says why none applies.
    pub fn recompute_hash(&self) -> Result<String, String> {
        let scheme = HashScheme::of_metadata(&self.metadata)?;
        Ok(hash::event_hash(&HashInput {
            id: self.id,
            stream: &self.stream,
            version: self.version,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            payload: &self.payload,
            metadata: &self.metadata,
            recorded_at: self.recorded_at,
            effective_at: self.effective_at,
            prev_hash: &self.prev_hash,
            scheme,
        }))
    }

    fn metadata(&self) -> Result<Metadata, StoreError> {
        serde_json::from_str(&self.metadata)
            .map_err(|e| StoreError::Corrupt(format!("position {}: metadata: {e}", self.position)))
    }

    pub fn into_event(self) -> Result<RecordedEvent, StoreError> {
        let payload = serde_json::from_str(&self.payload).map_err(|e| {
            StoreError::Corrupt(format!("position {}: payload: {e}", self.position))
        })?;
        let metadata = self.metadata()?;
        Ok(RecordedEvent {
            id: self.id,
            stream: self.stream,
            version: self.version,
            position: self.position,
            event_type: self.event_type,
            schema_version: self.schema_version,
            payload,
            metadata,
            recorded_at: self.recorded_at,
            effective_at: self.effective_at,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }

    /// The event with its payload left as stored text (the reader parses it once).
    pub fn into_raw(self) -> Result<RawEvent, StoreError> {
        let metadata = self.metadata()?;
        Ok(RawEvent {
            id: self.id,
            stream: self.stream,
            version: self.version,
            position: self.position,
            event_type: self.event_type,
            schema_version: self.schema_version,
            payload: self.payload,
            metadata,
            recorded_at: self.recorded_at,
            effective_at: self.effective_at,
        })
    }
}

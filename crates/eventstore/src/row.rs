//! The stored row, decoded from either backend, and the queries that read it.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::StoreError;
use crate::hash::{self, HashInput};
use crate::store::DbPool;
use crate::types::{Metadata, RecordedEvent};

/// Column list shared by every query that reads whole rows (same order on both backends).
pub(crate) const COLUMNS: &str = "position, id, stream, version, event_type, schema_version, \
     payload, metadata, recorded_at, effective_at, prev_hash, hash";

/// An event row exactly as stored: payload/metadata still as their canonical JSON text, so the
/// hash can be recomputed over the stored bytes.
#[derive(Debug, Clone)]
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

impl StoredRow {
    pub fn from_sqlite(row: &SqliteRow) -> Result<Self, StoreError> {
        let id: String = row.try_get("id")?;
        let recorded_at: String = row.try_get("recorded_at")?;
        let effective_at: String = row.try_get("effective_at")?;
        let position = to_u64(row.try_get("position")?, "position")?;
        Ok(StoredRow {
            position,
            id: Uuid::parse_str(&id)
                .map_err(|e| StoreError::Corrupt(format!("position {position}: bad id: {e}")))?,
            stream: row.try_get("stream")?,
            version: to_u64(row.try_get("version")?, "version")?,
            event_type: row.try_get("event_type")?,
            schema_version: row.try_get("schema_version")?,
            payload: row.try_get("payload")?,
            metadata: row.try_get("metadata")?,
            recorded_at: hash::parse_ts(&recorded_at).ok_or_else(|| {
                StoreError::Corrupt(format!("position {position}: bad recorded_at"))
            })?,
            effective_at: hash::parse_ts(&effective_at).ok_or_else(|| {
                StoreError::Corrupt(format!("position {position}: bad effective_at"))
            })?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        })
    }

    pub fn from_pg(row: &PgRow) -> Result<Self, StoreError> {
        Ok(StoredRow {
            position: to_u64(row.try_get("position")?, "position")?,
            id: row.try_get("id")?,
            stream: row.try_get("stream")?,
            version: to_u64(row.try_get("version")?, "version")?,
            event_type: row.try_get("event_type")?,
            schema_version: row.try_get("schema_version")?,
            payload: row.try_get("payload")?,
            metadata: row.try_get("metadata")?,
            recorded_at: row.try_get("recorded_at")?,
            effective_at: row.try_get("effective_at")?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        })
    }

    /// The hash recomputed from the stored fields (see [`crate::hash`]).
    pub fn recompute_hash(&self) -> String {
        hash::event_hash(&HashInput {
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
        })
    }

    pub fn into_event(self) -> Result<RecordedEvent, StoreError> {
        let payload = serde_json::from_str(&self.payload).map_err(|e| {
            StoreError::Corrupt(format!("position {}: payload: {e}", self.position))
        })?;
        let metadata: Metadata = serde_json::from_str(&self.metadata).map_err(|e| {
            StoreError::Corrupt(format!("position {}: metadata: {e}", self.position))
        })?;
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
}

/// Where a page read starts.
#[derive(Debug, Clone)]
pub(crate) enum Cursor {
    /// Events of one stream with `version >= from_version`, by version.
    Stream { stream: String, from_version: u64 },
    /// The global log with `position > after`, by position.
    All { after: u64 },
}

impl Cursor {
    /// The cursor just past `row`.
    pub fn after_row(&self, row: &StoredRow) -> Cursor {
        match self {
            Cursor::Stream { stream, .. } => Cursor::Stream {
                stream: stream.clone(),
                from_version: row.version.saturating_add(1),
            },
            Cursor::All { .. } => Cursor::All {
                after: row.position,
            },
        }
    }
}

/// Reads one page (at most `limit` rows) starting at `cursor`, optionally only events with
/// `recorded_at <= as_of`.
pub(crate) async fn fetch_page(
    pool: &DbPool,
    cursor: &Cursor,
    as_of: Option<DateTime<Utc>>,
    limit: usize,
) -> Result<Vec<StoredRow>, StoreError> {
    let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
    // Stored times are whole microseconds; flooring the bound keeps `<=` exact on both backends.
    let as_of = as_of.map(hash::truncate_micros);
    // Parameters: [stream,] start, [as_of,] limit — numbered $n (`?n` on SQLite).
    let (key, start, mut sql) = match cursor {
        Cursor::Stream {
            stream,
            from_version,
        } => (
            Some(stream.as_str()),
            to_i64(*from_version)?,
            format!("SELECT {COLUMNS} FROM events WHERE stream = $1 AND version >= $2"),
        ),
        Cursor::All { after } => (
            None,
            to_i64(*after)?,
            format!("SELECT {COLUMNS} FROM events WHERE position > $1"),
        ),
    };
    let mut n = if key.is_some() { 2 } else { 1 };
    if as_of.is_some() {
        n += 1;
        sql.push_str(&format!(" AND recorded_at <= ${n}"));
    }
    let order = if key.is_some() { "version" } else { "position" };
    sql.push_str(&format!(" ORDER BY {order} LIMIT ${}", n + 1));
    match pool {
        DbPool::Sqlite(pool) => {
            let sql = sql.replace('$', "?");
            let mut q = sqlx::query(&sql);
            if let Some(key) = key {
                q = q.bind(key);
            }
            q = q.bind(start);
            if let Some(t) = as_of {
                q = q.bind(hash::format_ts(t));
            }
            let rows = q.bind(limit).fetch_all(pool).await?;
            rows.iter().map(StoredRow::from_sqlite).collect()
        }
        DbPool::Postgres(pool) => {
            let mut q = sqlx::query(&sql);
            if let Some(key) = key {
                q = q.bind(key);
            }
            q = q.bind(start);
            if let Some(t) = as_of {
                q = q.bind(t);
            }
            let rows = q.bind(limit).fetch_all(pool).await?;
            rows.iter().map(StoredRow::from_pg).collect()
        }
    }
}

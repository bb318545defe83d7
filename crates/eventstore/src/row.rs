//! The stored row, decoded from either backend, and the queries that read it.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::StoreError;
use crate::hash::{self, HashInput};
use crate::store::DbPool;
use crate::types::{LogFilter, Metadata, RawEvent, RecordedEvent};

/// Column list shared by every query that reads whole rows (same order on both backends).
pub(crate) const COLUMNS: &str = "position, id, stream, version, event_type, schema_version, \
     payload, metadata, recorded_at, effective_at, prev_hash, hash";

/// [`COLUMNS`] with the two hashes left empty, for readers that do not return them (raw
/// reads feed folds): 130 bytes less per row to send and decode.
const COLUMNS_WITHOUT_HASHES: &str = "position, id, stream, version, event_type, \
     schema_version, payload, metadata, recorded_at, effective_at, '' AS prev_hash, '' AS hash";

/// Which of a row's columns a page read brings back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fields {
    All,
    /// `prev_hash` and `hash` come back empty.
    WithoutHashes,
}

impl Fields {
    fn columns(self) -> &'static str {
        match self {
            Fields::All => COLUMNS,
            Fields::WithoutHashes => COLUMNS_WITHOUT_HASHES,
        }
    }
}

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
        let id: &str = row.try_get(at + 1)?;
        let recorded_at: &str = row.try_get(at + 8)?;
        let effective_at: &str = row.try_get(at + 9)?;
        Ok(StoredRow {
            position,
            id: Uuid::parse_str(id)
                .map_err(|e| StoreError::Corrupt(format!("position {position}: bad id: {e}")))?,
            stream: row.try_get(at + 2)?,
            version: to_u64(row.try_get(at + 3)?, "version")?,
            event_type: row.try_get(at + 4)?,
            schema_version: row.try_get(at + 5)?,
            payload: row.try_get(at + 6)?,
            metadata: row.try_get(at + 7)?,
            recorded_at: hash::parse_ts(recorded_at).ok_or_else(|| {
                StoreError::Corrupt(format!("position {position}: bad recorded_at"))
            })?,
            effective_at: hash::parse_ts(effective_at).ok_or_else(|| {
                StoreError::Corrupt(format!("position {position}: bad effective_at"))
            })?,
            prev_hash: row.try_get(at + 10)?,
            hash: row.try_get(at + 11)?,
        })
    }

    pub fn from_pg_at(row: &PgRow, at: usize) -> Result<Self, StoreError> {
        Ok(StoredRow {
            position: to_u64(row.try_get(at)?, "position")?,
            id: row.try_get(at + 1)?,
            stream: row.try_get(at + 2)?,
            version: to_u64(row.try_get(at + 3)?, "version")?,
            event_type: row.try_get(at + 4)?,
            schema_version: row.try_get(at + 5)?,
            payload: row.try_get(at + 6)?,
            metadata: row.try_get(at + 7)?,
            recorded_at: row.try_get(at + 8)?,
            effective_at: row.try_get(at + 9)?,
            prev_hash: row.try_get(at + 10)?,
            hash: row.try_get(at + 11)?,
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

/// Where a page read starts.
#[derive(Debug, Clone)]
pub(crate) enum Cursor {
    /// Events of one stream with `version >= from_version`, by version.
    Stream { stream: String, from_version: u64 },
    /// The global log with `position > after`, by position.
    All { after: u64 },
    /// The global log with `after < position <= until`, by position.
    Range { after: u64, until: u64 },
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
            Cursor::Range { until, .. } => Cursor::Range {
                after: row.position,
                until: *until,
            },
        }
    }
}

/// Reads one page (at most `limit` rows) starting at `cursor`, only events within `filter`.
pub(crate) async fn fetch_page(
    pool: &DbPool,
    cursor: &Cursor,
    filter: LogFilter,
    limit: usize,
    fields: Fields,
) -> Result<Vec<StoredRow>, StoreError> {
    let columns = fields.columns();
    let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
    // Stored times are whole microseconds; flooring the bounds keeps `<=` exact on both
    // backends.
    let bounds: Vec<(&str, DateTime<Utc>)> = [
        ("recorded_at", filter.recorded_until),
        ("effective_at", filter.effective_until),
    ]
    .into_iter()
    .filter_map(|(column, t)| t.map(|t| (column, hash::truncate_micros(t))))
    .collect();
    // Parameters: [stream,] start, bounds..., limit — numbered $n (`?n` on SQLite).
    let mut end = None;
    let (key, start, mut sql) = match cursor {
        Cursor::Stream {
            stream,
            from_version,
        } => (
            Some(stream.as_str()),
            to_i64(*from_version)?,
            format!("SELECT {columns} FROM events WHERE stream = $1 AND version >= $2"),
        ),
        Cursor::All { after } => (
            None,
            to_i64(*after)?,
            format!("SELECT {columns} FROM events WHERE position > $1"),
        ),
        Cursor::Range { after, until } => {
            end = Some(to_i64(*until)?);
            (
                None,
                to_i64(*after)?,
                format!("SELECT {columns} FROM events WHERE position > $1 AND position <= $2"),
            )
        }
    };
    let mut n = if key.is_some() || end.is_some() { 2 } else { 1 };
    for (column, _) in &bounds {
        n += 1;
        sql.push_str(&format!(" AND {column} <= ${n}"));
    }
    let types = filter.skip_types;
    if !types.is_empty() {
        let first = n + 1;
        n += types.len();
        let params: Vec<String> = (first..=n).map(|i| format!("${i}")).collect();
        sql.push_str(&format!(" AND event_type NOT IN ({})", params.join(", ")));
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
            if let Some(end) = end {
                q = q.bind(end);
            }
            for (_, t) in &bounds {
                q = q.bind(hash::format_ts(*t));
            }
            for t in types {
                q = q.bind(*t);
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
            if let Some(end) = end {
                q = q.bind(end);
            }
            for (_, t) in &bounds {
                q = q.bind(*t);
            }
            for t in types {
                q = q.bind(*t);
            }
            let rows = q.bind(limit).fetch_all(pool).await?;
            rows.iter().map(StoredRow::from_pg).collect()
        }
    }
}

//! The stored row, decoded from either backend, and the queries that read it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::StoreError;
use crate::hash::{self, HashInput, HashScheme};
use crate::sqlite_pages::SqlitePages;
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

/// Where page reads go: the pool, or for a SQLite file its direct readers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source<'a> {
    pub pool: &'a DbPool,
    pub pages: Option<&'a Arc<SqlitePages>>,
}

/// A value bound to a page query.
enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    Time(DateTime<Utc>),
}

/// Reads one page (at most `limit` rows) starting at `cursor`, only events within `filter`.
pub(crate) async fn fetch_page(
    source: Source<'_>,
    cursor: &Cursor,
    filter: LogFilter,
    limit: usize,
    fields: Fields,
) -> Result<Vec<StoredRow>, StoreError> {
    let columns = fields.columns();
    let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
    let mut args = Vec::new();
    let (order, mut sql) = match cursor {
        Cursor::Stream {
            stream,
            from_version,
        } => {
            args.extend([Arg::Text(stream), Arg::Int(to_i64(*from_version)?)]);
            (
                "version",
                format!("SELECT {columns} FROM events WHERE stream = $1 AND version >= $2"),
            )
        }
        Cursor::All { after } => {
            args.push(Arg::Int(to_i64(*after)?));
            (
                "position",
                format!("SELECT {columns} FROM events WHERE position > $1"),
            )
        }
        Cursor::Range { after, until } => {
            args.extend([Arg::Int(to_i64(*after)?), Arg::Int(to_i64(*until)?)]);
            (
                "position",
                format!("SELECT {columns} FROM events WHERE position > $1 AND position <= $2"),
            )
        }
    };
    // Stored times are whole microseconds; flooring the bounds keeps `<=` exact on both
    // backends.
    for (column, bound) in [
        ("recorded_at", filter.recorded_until),
        ("effective_at", filter.effective_until),
    ] {
        if let Some(t) = bound {
            args.push(Arg::Time(hash::truncate_micros(t)));
            sql.push_str(&format!(" AND {column} <= ${}", args.len()));
        }
    }
    let types = filter.skip_types;
    if !types.is_empty() {
        let first = args.len() + 1;
        args.extend(types.iter().map(|t| Arg::Text(t)));
        let params: Vec<String> = (first..=args.len()).map(|i| format!("${i}")).collect();
        sql.push_str(&format!(" AND event_type NOT IN ({})", params.join(", ")));
    }
    args.push(Arg::Int(limit));
    sql.push_str(&format!(" ORDER BY {order} LIMIT ${}", args.len()));
    match (source.pool, source.pages) {
        (DbPool::Sqlite(_), Some(pages)) => {
            let values = args
                .into_iter()
                .map(|a| match a {
                    Arg::Text(s) => rusqlite::types::Value::Text(s.to_owned()),
                    Arg::Int(i) => rusqlite::types::Value::Integer(i),
                    Arg::Time(t) => rusqlite::types::Value::Text(hash::format_ts(t)),
                })
                .collect();
            pages.fetch(sql.replace('$', "?"), values).await
        }
        (DbPool::Sqlite(pool), None) => {
            let sql = sql.replace('$', "?");
            let mut q = sqlx::query(&sql);
            for a in args {
                q = match a {
                    Arg::Text(s) => q.bind(s),
                    Arg::Int(i) => q.bind(i),
                    Arg::Time(t) => q.bind(hash::format_ts(t)),
                };
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(StoredRow::from_sqlite).collect()
        }
        (DbPool::Postgres(pool), _) => {
            let mut q = sqlx::query(&sql);
            for a in args {
                q = match a {
                    Arg::Text(s) => q.bind(s),
                    Arg::Int(i) => q.bind(i),
                    Arg::Time(t) => q.bind(t),
                };
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(StoredRow::from_pg).collect()
        }
    }
}

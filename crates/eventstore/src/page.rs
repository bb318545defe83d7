//! One page of the log: where a read starts ([`Cursor`]), what it brings back ([`Fields`]),
//! and the query that fetches it from either backend ([`fetch_page`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::hash;
use crate::pool::DbPool;
use crate::row::{to_i64, StoredRow, COLUMNS};
use crate::sqlite_pages::SqlitePages;
use crate::types::LogFilter;

/// Page size of stream reads, subscriptions and `verify`.
pub(crate) const PAGE: usize = 512;

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
    filter: &LogFilter,
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
    let types = &filter.skip_types;
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

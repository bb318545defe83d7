//! The baseline: a plain table with the same columns and indexes as `events`, written and
//! read with raw SQL (no planning, locking, hashing, idempotency or triggers).

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use seguimiento_eventstore::hash::{canonical_json, format_ts, truncate_micros};
use seguimiento_eventstore::testing::copy_escape;
use seguimiento_eventstore::DbPool;
use sqlx::Row as _;
use uuid::Uuid;

use crate::dataset::BenchEvent;

/// The baseline table.
pub const TABLE: &str = "bench_raw_events";

const COLUMNS: &str = "position, id, stream, version, event_type, schema_version, payload, \
     metadata, recorded_at, effective_at, prev_hash, hash";

/// A row exactly as it would be stored (payload/metadata as canonical JSON text).
#[derive(Debug, Clone)]
pub struct RawRow {
    pub position: i64,
    pub id: Uuid,
    pub stream: String,
    pub version: i64,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: String,
    pub metadata: String,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

const FAKE_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl RawRow {
    pub fn new(position: i64, stream: &str, version: i64, e: &BenchEvent, id: Uuid) -> Self {
        let now = truncate_micros(Utc::now());
        let metadata = serde_json::to_value(&e.event.metadata).unwrap_or_default();
        RawRow {
            position,
            id,
            stream: stream.to_owned(),
            version,
            event_type: e.event.event_type.clone(),
            schema_version: e.event.schema_version,
            payload: canonical_json(&e.event.payload).unwrap_or_default(),
            metadata: canonical_json(&metadata).unwrap_or_default(),
            recorded_at: now,
            effective_at: e.event.effective_at.map_or(now, truncate_micros),
            prev_hash: if version == 0 {
                String::new()
            } else {
                FAKE_HASH.to_owned()
            },
            hash: FAKE_HASH.to_owned(),
        }
    }

    /// The rows of a dataset prefix, positions 1.., the dataset's streams and versions.
    pub fn of(events: &[BenchEvent]) -> Vec<RawRow> {
        events
            .iter()
            .enumerate()
            .map(|(i, e)| RawRow::new(i as i64 + 1, &e.stream, e.version as i64, e, e.event.id))
            .collect()
    }
}

/// (Re)creates the baseline table with the indexes of `events`.
pub async fn create_table(pool: &DbPool) -> anyhow::Result<()> {
    drop_table(pool).await?;
    match pool {
        DbPool::Sqlite(p) => {
            for sql in [
                format!(
                    "CREATE TABLE {TABLE} (position INTEGER PRIMARY KEY NOT NULL, id TEXT NOT NULL, \
                     stream TEXT NOT NULL, version INTEGER NOT NULL, event_type TEXT NOT NULL, \
                     schema_version INTEGER NOT NULL, payload TEXT NOT NULL, metadata TEXT NOT NULL, \
                     recorded_at TEXT NOT NULL, effective_at TEXT NOT NULL, prev_hash TEXT NOT NULL, \
                     hash TEXT NOT NULL)"
                ),
                format!("CREATE UNIQUE INDEX {TABLE}_sv ON {TABLE} (stream, version)"),
                format!("CREATE UNIQUE INDEX {TABLE}_id ON {TABLE} (id)"),
                format!("CREATE INDEX {TABLE}_rec ON {TABLE} (recorded_at)"),
            ] {
                sqlx::query(&sql).execute(p).await?;
            }
        }
        DbPool::Postgres(p) => {
            for sql in [
                format!(
                    "CREATE TABLE {TABLE} (position BIGINT NOT NULL PRIMARY KEY, id UUID NOT NULL UNIQUE, \
                     stream TEXT NOT NULL, version BIGINT NOT NULL, event_type TEXT NOT NULL, \
                     schema_version INTEGER NOT NULL, payload TEXT NOT NULL, metadata TEXT NOT NULL, \
                     recorded_at TIMESTAMPTZ NOT NULL, effective_at TIMESTAMPTZ NOT NULL, \
                     prev_hash TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE (stream, version))"
                ),
                format!("CREATE INDEX {TABLE}_rec ON {TABLE} (recorded_at)"),
            ] {
                sqlx::query(&sql).execute(p).await?;
            }
        }
    }
    Ok(())
}

pub async fn drop_table(pool: &DbPool) -> anyhow::Result<()> {
    let sql = format!("DROP TABLE IF EXISTS {TABLE}");
    match pool {
        DbPool::Sqlite(p) => {
            sqlx::query(&sql).execute(p).await?;
        }
        DbPool::Postgres(p) => {
            sqlx::query(&sql).execute(p).await?;
        }
    }
    Ok(())
}

fn placeholders(rows: usize, pg: bool) -> String {
    let mut out = String::new();
    for r in 0..rows {
        if r > 0 {
            out.push(',');
        }
        out.push('(');
        for c in 0..12 {
            if c > 0 {
                out.push(',');
            }
            if pg {
                out.push_str(&format!("${}", r * 12 + c + 1));
            } else {
                out.push('?');
            }
        }
        out.push(')');
    }
    out
}

macro_rules! bind_row {
    ($q:expr, $r:expr, sqlite) => {
        $q.bind($r.position)
            .bind($r.id.to_string())
            .bind(&$r.stream)
            .bind($r.version)
            .bind(&$r.event_type)
            .bind($r.schema_version)
            .bind(&$r.payload)
            .bind(&$r.metadata)
            .bind(format_ts($r.recorded_at))
            .bind(format_ts($r.effective_at))
            .bind(&$r.prev_hash)
            .bind(&$r.hash)
    };
    ($q:expr, $r:expr, pg) => {
        $q.bind($r.position)
            .bind($r.id)
            .bind(&$r.stream)
            .bind($r.version)
            .bind(&$r.event_type)
            .bind($r.schema_version)
            .bind(&$r.payload)
            .bind(&$r.metadata)
            .bind($r.recorded_at)
            .bind($r.effective_at)
            .bind(&$r.prev_hash)
            .bind(&$r.hash)
    };
}

/// One single-row INSERT, in its own (autocommit) transaction.
pub async fn insert_one(pool: &DbPool, row: &RawRow) -> anyhow::Result<()> {
    match pool {
        DbPool::Sqlite(p) => {
            let sql = format!(
                "INSERT INTO {TABLE} ({COLUMNS}) VALUES {}",
                placeholders(1, false)
            );
            bind_row!(sqlx::query(&sql), row, sqlite).execute(p).await?;
        }
        DbPool::Postgres(p) => {
            let sql = format!(
                "INSERT INTO {TABLE} ({COLUMNS}) VALUES {}",
                placeholders(1, true)
            );
            bind_row!(sqlx::query(&sql), row, pg).execute(p).await?;
        }
    }
    Ok(())
}

/// Rows per multi-row INSERT statement (SQLite allows 32,766 parameters).
const ROWS_PER_STATEMENT: usize = 500;

/// Multi-row INSERTs (SQLite) or COPY (PostgreSQL), one transaction per `tx_rows` rows.
pub async fn insert_bulk(pool: &DbPool, rows: &[RawRow], tx_rows: usize) -> anyhow::Result<()> {
    for chunk in rows.chunks(tx_rows.max(1)) {
        match pool {
            DbPool::Sqlite(p) => {
                let mut tx = p.begin().await?;
                for stmt in chunk.chunks(ROWS_PER_STATEMENT) {
                    let sql = format!(
                        "INSERT INTO {TABLE} ({COLUMNS}) VALUES {}",
                        placeholders(stmt.len(), false)
                    );
                    let mut q = sqlx::query(&sql);
                    for r in stmt {
                        q = bind_row!(q, r, sqlite);
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            DbPool::Postgres(p) => {
                let mut tx = p.begin().await?;
                let mut copy = tx
                    .copy_in_raw(&format!("COPY {TABLE} ({COLUMNS}) FROM STDIN"))
                    .await?;
                copy.send(copy_text(chunk).into_bytes()).await?;
                copy.finish().await?;
                tx.commit().await?;
            }
        }
    }
    Ok(())
}

/// COPY text format: tab-separated, fields escaped as the store escapes them.
fn copy_text(rows: &[RawRow]) -> String {
    let mut out = String::with_capacity(rows.len() * 600);
    for r in rows {
        let fields = [
            r.position.to_string(),
            r.id.to_string(),
            r.stream.clone(),
            r.version.to_string(),
            r.event_type.clone(),
            r.schema_version.to_string(),
            r.payload.clone(),
            r.metadata.clone(),
            format_ts(r.recorded_at),
            format_ts(r.effective_at),
            r.prev_hash.clone(),
            r.hash.clone(),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push('\t');
            }
            copy_escape(&mut out, f);
        }
        out.push('\n');
    }
    out
}

/// Streams every row of `table` (`events` or the baseline table) in position order,
/// decoding each column into owned values; returns the row count.
///
/// SQLite is read the way the store reads its pages: through rusqlite on
/// a connection of its own to `url`'s file, not through sqlx's rows.
pub async fn select_all(pool: &DbPool, url: &str, table: &str) -> anyhow::Result<u64> {
    let sql = format!("SELECT {COLUMNS} FROM {table} ORDER BY position");
    let mut n = 0u64;
    let mut bytes = 0usize;
    match pool {
        DbPool::Sqlite(_) => {
            let path = url
                .strip_prefix("sqlite://")
                .context("the SQLite baseline reads a file: sqlite://PATH")?
                .to_owned();
            return tokio::task::spawn_blocking(move || select_all_sqlite(&path, &sql)).await?;
        }
        DbPool::Postgres(p) => {
            let mut rows = sqlx::query(&sql).fetch(p);
            while let Some(row) = rows.try_next().await? {
                let _position: i64 = row.try_get(0)?;
                let _id: Uuid = row.try_get(1)?;
                let stream: String = row.try_get(2)?;
                let _version: i64 = row.try_get(3)?;
                let event_type: String = row.try_get(4)?;
                let _sv: i32 = row.try_get(5)?;
                let payload: String = row.try_get(6)?;
                let metadata: String = row.try_get(7)?;
                let _recorded_at: DateTime<Utc> = row.try_get(8)?;
                let _effective_at: DateTime<Utc> = row.try_get(9)?;
                let prev_hash: String = row.try_get(10)?;
                let hash: String = row.try_get(11)?;
                bytes += stream.len()
                    + event_type.len()
                    + payload.len()
                    + metadata.len()
                    + prev_hash.len()
                    + hash.len();
                n += 1;
            }
        }
    }
    std::hint::black_box(bytes);
    Ok(n)
}

fn select_all_sqlite(path: &str, sql: &str) -> anyhow::Result<u64> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut statement = conn.prepare(sql)?;
    let mut rows = statement.query([])?;
    let (mut n, mut bytes) = (0u64, 0usize);
    while let Some(row) = rows.next()? {
        let _position: i64 = row.get(0)?;
        let id: String = row.get(1)?;
        let stream: String = row.get(2)?;
        let _version: i64 = row.get(3)?;
        let event_type: String = row.get(4)?;
        let _sv: i32 = row.get(5)?;
        let payload: String = row.get(6)?;
        let metadata: String = row.get(7)?;
        let recorded_at: String = row.get(8)?;
        let effective_at: String = row.get(9)?;
        let prev_hash: String = row.get(10)?;
        let hash: String = row.get(11)?;
        bytes += id.len()
            + stream.len()
            + event_type.len()
            + payload.len()
            + metadata.len()
            + recorded_at.len()
            + effective_at.len()
            + prev_hash.len()
            + hash.len();
        n += 1;
    }
    std::hint::black_box(bytes);
    Ok(n)
}

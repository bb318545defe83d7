//! The write path: planning an append (idempotency, expected versions, hash chain) and
//! inserting it inside one transaction, on either backend.
//!
//! # Ordering and concurrency
//!
//! A write transaction does, in order:
//! 1. look up the request's event ids (idempotency) and the head `(version, hash)` of every
//!    stream involved; check expected versions against those heads;
//! 2. take the *log lock* — PostgreSQL: `pg_advisory_xact_lock(ADVISORY_LOCK_KEY)`, held until
//!    the transaction ends; SQLite: the database write lock, already held since
//!    `BEGIN IMMEDIATE` (plus an in-process mutex so local writers queue instead of hitting
//!    `SQLITE_BUSY`);
//! 3. read the log head `(max position, its recorded_at)` in a *new statement* (under READ
//!    COMMITTED this takes a fresh snapshot, so it sees every transaction that held the lock
//!    before us), assign positions `head+1, head+2, ...` and
//!    `recorded_at = max(now, head.recorded_at)` truncated to microseconds, compute hashes;
//! 4. multi-row `INSERT` (chunked), `pg_notify`, `COMMIT`.
//!
//! Because the log lock is released only after the commit is visible, transactions obtain
//! positions in commit order and each one continues from its predecessor's max: positions are
//! dense and a reader of `position > n` can never see `n+2` before `n+1` (no gaps to skip).
//! `recorded_at` is non-decreasing along positions, so `as_of` reads are prefixes of the log.
//!
//! Step 1 runs before the lock, so its reads can be stale: the unique keys
//! `(stream, version)` and `id` are what actually enforce optimistic concurrency and
//! idempotency. A unique violation aborts the transaction; the store then re-plans against
//! the now-committed state, which yields [`StoreError::Conflict`] (or the idempotent result /
//! [`StoreError::IdempotencyMismatch`]) for the request.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder, Sqlite, Transaction};
use uuid::Uuid;

use crate::error::StoreError;
use crate::hash::{self, HashInput};
use crate::row::{to_i64, StoredRow, COLUMNS};
use crate::types::{AppendResult, ExpectedVersion, NewEvent};

/// Key of the transaction-scoped advisory lock that serialises position assignment on
/// PostgreSQL (`pg_advisory_xact_lock`). Other code must not use this key.
pub const ADVISORY_LOCK_KEY: i64 = 0x5365_6775_696d_0001; // "Seguim" + 1

/// PostgreSQL `NOTIFY` channel; the payload is the new head position.
pub const NOTIFY_CHANNEL: &str = "seguimiento_events";

/// Rows per multi-row INSERT / ids per IN-list (12 binds per row stays far below the
/// SQLite 32766 and PostgreSQL 65535 bind limits).
const CHUNK: usize = 500;

pub(crate) type BatchEntry = (String, ExpectedVersion, Vec<NewEvent>);

/// An open write transaction on either backend.
pub(crate) enum WriteTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl WriteTx {
    async fn rows_by_ids(&mut self, ids: &[Uuid]) -> Result<Vec<StoredRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            match self {
                WriteTx::Sqlite(tx) => {
                    let mut qb = QueryBuilder::<Sqlite>::new(format!(
                        "SELECT {COLUMNS} FROM events WHERE id IN ("
                    ));
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id.hyphenated().to_string());
                    }
                    qb.push(")");
                    for row in qb.build().fetch_all(&mut **tx).await? {
                        out.push(StoredRow::from_sqlite(&row)?);
                    }
                }
                WriteTx::Postgres(tx) => {
                    let sql = format!("SELECT {COLUMNS} FROM events WHERE id = ANY($1)");
                    let rows = sqlx::query(&sql)
                        .bind(chunk.to_vec())
                        .fetch_all(&mut **tx)
                        .await?;
                    for row in rows {
                        out.push(StoredRow::from_pg(&row)?);
                    }
                }
            }
        }
        Ok(out)
    }

    /// `(last version, last hash)` of each existing stream among `streams`.
    async fn stream_heads(
        &mut self,
        streams: &[String],
    ) -> Result<HashMap<String, (u64, String)>, StoreError> {
        use sqlx::Row;
        let mut out = HashMap::new();
        for chunk in streams.chunks(CHUNK) {
            let rows: Vec<(String, i64, String)> = match self {
                WriteTx::Sqlite(tx) => {
                    let mut qb = QueryBuilder::<Sqlite>::new(
                        "SELECT stream, version, hash FROM events e WHERE stream IN (",
                    );
                    let mut sep = qb.separated(", ");
                    for s in chunk {
                        sep.push_bind(s.as_str());
                    }
                    qb.push(
                        ") AND version = (SELECT MAX(version) FROM events m \
                         WHERE m.stream = e.stream)",
                    );
                    let rows = qb.build().fetch_all(&mut **tx).await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                        .collect::<Result<_, sqlx::Error>>()?
                }
                WriteTx::Postgres(tx) => {
                    sqlx::query_as(
                        "SELECT DISTINCT ON (stream) stream, version, hash FROM events \
                         WHERE stream = ANY($1) ORDER BY stream, version DESC",
                    )
                    .bind(chunk.to_vec())
                    .fetch_all(&mut **tx)
                    .await?
                }
            };
            for (stream, version, hash) in rows {
                let version = u64::try_from(version)
                    .map_err(|_| StoreError::Corrupt(format!("negative version in {stream}")))?;
                out.insert(stream, (version, hash));
            }
        }
        Ok(out)
    }

    /// Takes the log lock (see module docs) and reads the log head after it.
    async fn lock_and_read_head(&mut self) -> Result<(u64, Option<DateTime<Utc>>), StoreError> {
        let head: Option<(i64, DateTime<Utc>)> = match self {
            WriteTx::Sqlite(tx) => {
                // BEGIN IMMEDIATE already holds the database write lock.
                let row: Option<(i64, String)> = sqlx::query_as(
                    "SELECT position, recorded_at FROM events ORDER BY position DESC LIMIT 1",
                )
                .fetch_optional(&mut **tx)
                .await?;
                match row {
                    None => None,
                    Some((p, ts)) => Some((
                        p,
                        hash::parse_ts(&ts).ok_or_else(|| {
                            StoreError::Corrupt(format!("position {p}: bad recorded_at"))
                        })?,
                    )),
                }
            }
            WriteTx::Postgres(tx) => {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(ADVISORY_LOCK_KEY)
                    .execute(&mut **tx)
                    .await?;
                // Separate statement => fresh READ COMMITTED snapshot taken after the lock.
                sqlx::query_as(
                    "SELECT position, recorded_at FROM events ORDER BY position DESC LIMIT 1",
                )
                .fetch_optional(&mut **tx)
                .await?
            }
        };
        match head {
            None => Ok((0, None)),
            Some((p, ts)) => Ok((
                u64::try_from(p).map_err(|_| StoreError::Corrupt("negative position".into()))?,
                Some(ts),
            )),
        }
    }

    async fn insert(&mut self, rows: &[StoredRow]) -> Result<(), StoreError> {
        for chunk in rows.chunks(CHUNK) {
            // (position, version) as SQL integers, checked before building the statement.
            let ints = chunk
                .iter()
                .map(|r| Ok((to_i64(r.position)?, to_i64(r.version)?)))
                .collect::<Result<Vec<(i64, i64)>, StoreError>>()?;
            let sql = format!("INSERT INTO events ({COLUMNS}) ");
            match self {
                WriteTx::Sqlite(tx) => {
                    let mut qb = QueryBuilder::<Sqlite>::new(sql);
                    qb.push_values(chunk.iter().zip(ints), |mut b, (r, (pos, ver))| {
                        b.push_bind(pos)
                            .push_bind(r.id.hyphenated().to_string())
                            .push_bind(r.stream.clone())
                            .push_bind(ver)
                            .push_bind(r.event_type.clone())
                            .push_bind(r.schema_version)
                            .push_bind(r.payload.clone())
                            .push_bind(r.metadata.clone())
                            .push_bind(hash::format_ts(r.recorded_at))
                            .push_bind(hash::format_ts(r.effective_at))
                            .push_bind(r.prev_hash.clone())
                            .push_bind(r.hash.clone());
                    });
                    qb.build().execute(&mut **tx).await?;
                }
                WriteTx::Postgres(tx) => {
                    let mut qb = QueryBuilder::<Postgres>::new(sql);
                    qb.push_values(chunk.iter().zip(ints), |mut b, (r, (pos, ver))| {
                        b.push_bind(pos)
                            .push_bind(r.id)
                            .push_bind(r.stream.clone())
                            .push_bind(ver)
                            .push_bind(r.event_type.clone())
                            .push_bind(r.schema_version)
                            .push_bind(r.payload.clone())
                            .push_bind(r.metadata.clone())
                            .push_bind(r.recorded_at)
                            .push_bind(r.effective_at)
                            .push_bind(r.prev_hash.clone())
                            .push_bind(r.hash.clone());
                    });
                    qb.build().execute(&mut **tx).await?;
                }
            }
        }
        Ok(())
    }

    async fn notify(&mut self, head: u64) -> Result<(), StoreError> {
        if let WriteTx::Postgres(tx) = self {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(NOTIFY_CHANNEL)
                .bind(head.to_string())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(tx) => tx.commit().await?,
            WriteTx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// A new event with its canonical texts, before position/time/hash are known.
struct Pending {
    entry: usize,
    id: Uuid,
    stream: String,
    version: u64,
    event_type: String,
    schema_version: i32,
    payload: String,
    metadata: String,
    effective_at: Option<DateTime<Utc>>,
}

/// What a successful [`write_batch`] produced.
pub(crate) struct WriteOutcome {
    pub results: Vec<AppendResult>,
    /// New log head if anything was inserted.
    pub new_head: Option<u64>,
}

fn check_expected(
    stream: &str,
    expected: ExpectedVersion,
    current: Option<u64>,
) -> Result<(), StoreError> {
    let ok = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => current.is_none(),
        ExpectedVersion::Exact(n) => current == Some(n),
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            stream: stream.to_owned(),
            expected,
            actual: current,
        })
    }
}

/// Validates a batch before touching the database.
pub(crate) fn validate(batch: &[BatchEntry]) -> Result<(), StoreError> {
    let mut ids = HashSet::new();
    for (stream, _, events) in batch {
        if stream.is_empty() {
            return Err(StoreError::InvalidInput("empty stream name".into()));
        }
        if events.is_empty() {
            return Err(StoreError::InvalidInput(format!(
                "append to {stream:?} without events"
            )));
        }
        for ev in events {
            if !ids.insert(ev.id) {
                return Err(StoreError::InvalidInput(format!(
                    "event id {} appears twice in one request",
                    ev.id
                )));
            }
            if ev.event_type.is_empty() {
                return Err(StoreError::InvalidInput(format!(
                    "event {} has an empty event_type",
                    ev.id
                )));
            }
        }
    }
    Ok(())
}

/// Does the stored row carry the same content as the request's event?
fn same_content(
    row: &StoredRow,
    stream: &str,
    ev: &NewEvent,
    payload: &str,
    metadata: &str,
) -> bool {
    row.stream == stream
        && row.event_type == ev.event_type
        && row.schema_version == ev.schema_version
        && row.payload == payload
        && row.metadata == metadata
        && ev
            .effective_at
            .is_none_or(|t| hash::truncate_micros(t) == row.effective_at)
}

/// Plans and inserts the whole batch inside `tx` (which the caller commits).
pub(crate) async fn write_batch(
    tx: &mut WriteTx,
    batch: &[BatchEntry],
) -> Result<WriteOutcome, StoreError> {
    // Canonical texts of every event, in batch order.
    let mut canon: Vec<Vec<(String, String)>> = Vec::with_capacity(batch.len());
    for (_, _, events) in batch {
        let mut v = Vec::with_capacity(events.len());
        for ev in events {
            let metadata = serde_json::to_value(&ev.metadata)?;
            v.push((
                hash::canonical_json(&ev.payload),
                hash::canonical_json(&metadata),
            ));
        }
        canon.push(v);
    }

    let ids: Vec<Uuid> = batch
        .iter()
        .flat_map(|(_, _, evs)| evs.iter().map(|e| e.id))
        .collect();
    let existing: HashMap<Uuid, StoredRow> = tx
        .rows_by_ids(&ids)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();

    let mut streams: Vec<String> = batch.iter().map(|(s, _, _)| s.clone()).collect();
    streams.sort();
    streams.dedup();
    let db_heads = tx.stream_heads(&streams).await?;
    // Stream heads as this batch advances them: version and (for DB rows) hash.
    let mut heads: HashMap<String, u64> =
        db_heads.iter().map(|(s, (v, _))| (s.clone(), *v)).collect();

    let mut results: Vec<Option<AppendResult>> = vec![None; batch.len()];
    let mut pending: Vec<Pending> = Vec::new();
    for (i, (stream, expected, events)) in batch.iter().enumerate() {
        let found: Vec<Option<&StoredRow>> = events.iter().map(|e| existing.get(&e.id)).collect();
        let n_found = found.iter().filter(|f| f.is_some()).count();
        for ((ev, (payload, metadata)), row) in events.iter().zip(&canon[i]).zip(&found) {
            if let Some(row) = row {
                if !same_content(row, stream, ev, payload, metadata) {
                    return Err(StoreError::IdempotencyMismatch { id: ev.id });
                }
            }
        }
        let current = heads.get(stream).copied();
        if n_found == events.len() {
            // A retry of an append that already committed: report the original outcome.
            let positions = found.iter().flatten().map(|r| r.position).collect();
            let last_version = found.iter().flatten().map(|r| r.version).max().unwrap_or(0);
            results[i] = Some(AppendResult {
                stream: stream.clone(),
                positions,
                last_version,
            });
            continue;
        }
        if n_found > 0 {
            // Some of these events are stored, others not: not a retry of one append.
            return Err(StoreError::Conflict {
                stream: stream.clone(),
                expected: *expected,
                actual: current,
            });
        }
        check_expected(stream, *expected, current)?;
        let mut next = current.map_or(0, |v| v + 1);
        for (ev, (payload, metadata)) in events.iter().zip(&canon[i]) {
            pending.push(Pending {
                entry: i,
                id: ev.id,
                stream: stream.clone(),
                version: next,
                event_type: ev.event_type.clone(),
                schema_version: ev.schema_version,
                payload: payload.clone(),
                metadata: metadata.clone(),
                effective_at: ev.effective_at.map(hash::truncate_micros),
            });
            next += 1;
        }
        heads.insert(stream.clone(), next - 1);
    }

    if pending.is_empty() {
        return Ok(WriteOutcome {
            results: results.into_iter().flatten().collect(),
            new_head: None,
        });
    }

    let (head, head_ts) = tx.lock_and_read_head().await?;
    let now = hash::truncate_micros(Utc::now());
    let recorded_at = match head_ts {
        Some(t) if t > now => t,
        _ => now,
    };
    let mut last_hash: HashMap<String, String> =
        db_heads.into_iter().map(|(s, (_, h))| (s, h)).collect();
    let mut rows = Vec::with_capacity(pending.len());
    let mut position = head;
    for p in pending {
        position += 1;
        let prev_hash = if p.version == 0 {
            String::new()
        } else {
            last_hash.get(&p.stream).cloned().unwrap_or_default()
        };
        let effective_at = p.effective_at.unwrap_or(recorded_at);
        let hash = hash::event_hash(&HashInput {
            id: p.id,
            stream: &p.stream,
            version: p.version,
            event_type: &p.event_type,
            schema_version: p.schema_version,
            payload: &p.payload,
            metadata: &p.metadata,
            recorded_at,
            effective_at,
            prev_hash: &prev_hash,
        });
        last_hash.insert(p.stream.clone(), hash.clone());
        let entry = p.entry;
        let res = results[entry].get_or_insert_with(|| AppendResult {
            stream: p.stream.clone(),
            positions: Vec::new(),
            last_version: 0,
        });
        res.positions.push(position);
        res.last_version = p.version;
        rows.push(StoredRow {
            position,
            id: p.id,
            stream: p.stream,
            version: p.version,
            event_type: p.event_type,
            schema_version: p.schema_version,
            payload: p.payload,
            metadata: p.metadata,
            recorded_at,
            effective_at,
            prev_hash,
            hash,
        });
    }
    tx.insert(&rows).await?;
    tx.notify(position).await?;
    Ok(WriteOutcome {
        results: results.into_iter().flatten().collect(),
        new_head: Some(position),
    })
}

/// Is this error a unique-key violation (SQLite constraint / PostgreSQL 23505)?
pub(crate) fn is_unique_violation(err: &StoreError) -> bool {
    match err {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.kind(), sqlx::error::ErrorKind::UniqueViolation)
        }
        _ => false,
    }
}

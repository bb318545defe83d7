//! The write path: planning appends (idempotency, expected versions, hash chain) and
//! inserting them inside one transaction, on either backend.
//!
//! # Ordering and concurrency
//!
//! Every write goes through [`EventStore`](crate::EventStore)'s committer: concurrent
//! appends of this process queue up, and one of them (the leader) writes everything queued
//! in ONE transaction (*group commit*), while each request keeps its own outcome. A write
//! transaction does, in order:
//! 1. `BEGIN` and take the *log lock* — PostgreSQL: `pg_advisory_xact_lock(ADVISORY_LOCK_KEY)`
//!    sent with the `BEGIN` (one round trip) and held until the transaction ends; SQLite: the
//!    database write lock of `BEGIN IMMEDIATE` (the committer already keeps this process's
//!    writers from queueing on `SQLITE_BUSY`);
//! 2. one lookup, in a statement after the lock (under READ COMMITTED a new statement takes
//!    a fresh snapshot, so it sees every transaction that held the lock before us): the
//!    stored rows of the requests' event ids (idempotency; bulk groups skip this on their
//!    first attempt, see [`IdLookup`]), the head `(version, hash)` of every stream involved
//!    and the log head `(max position, its recorded_at)`;
//! 3. in memory, request after request: check ids and expected versions against what is
//!    stored *plus what the earlier requests of the group add*, assign positions
//!    `head+1, head+2, ...`, `recorded_at = max(now, head.recorded_at)` truncated to
//!    microseconds, hashes, and log-chain links continuing from the link at the head. A request that fails (conflict, mismatch) is left out; the
//!    others go on, exactly as if they had run one after the other;
//! 4. insert the rows (PostgreSQL: `COPY` for bulk writes, otherwise one multi-row `INSERT`
//!    that also sends the `pg_notify`; SQLite: multi-row `INSERT`s) and their links into
//!    `log_chain` (PostgreSQL: in the statement that notifies, from two arrays; SQLite:
//!    multi-row `INSERT`s), `COMMIT`.
//!
//! Because the log lock is released only after the commit is visible, transactions obtain
//! positions in commit order and each one continues from its predecessor's max: positions are
//! dense and a reader of `position > n` can never see `n+2` before `n+1` (no gaps to skip).
//! `recorded_at` is non-decreasing along positions, so `as_of` reads are prefixes of the log.
//!
//! Small groups usually skip steps 1, 2 and the explicit transaction: they are planned from
//! the heads this process cached after its previous write and inserted by one statement that
//! only inserts if the log head has not moved (see [`heads`](crate::heads)).
//!
//! Planning reads happen under the lock, so a doomed writer (stale expected version) is
//! refused in memory without inserting anything. The unique keys `(stream, version)` and
//! `id` still enforce optimistic concurrency and idempotency against anything that writes
//! without the lock: a unique violation aborts the transaction and the store re-plans
//! against the now-committed state.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::query_builder::Separated;
use sqlx::{Postgres, QueryBuilder, Sqlite, Transaction};
use uuid::Uuid;

use crate::error::StoreError;
use crate::hash::{self, HashInput, HashScheme, TsText};
use crate::row::{to_i64, StoredRow, COLUMNS};
use crate::types::{AppendResult, ExpectedVersion, NewEvent};

/// Key of the transaction-scoped advisory lock that serialises position assignment on
/// PostgreSQL (`pg_advisory_xact_lock`). Other code must not use this key.
pub const ADVISORY_LOCK_KEY: i64 = 0x5365_6775_696d_0001; // "Seguim" + 1

/// PostgreSQL `NOTIFY` channel; the payload is the new head position.
pub const NOTIFY_CHANNEL: &str = "seguimiento_events";

/// Binds per SQLite statement (its limit is 32766): lookups put up to this many ids and
/// stream names in one statement.
const SQLITE_MAX_BINDS: usize = 30_000;

/// Rows per SQLite multi-row INSERT (12 binds per row). Full chunks share one SQL text, so
/// sqlx prepares that statement once per connection and reuses it.
const SQLITE_INSERT_ROWS: usize = 2_000;

/// Rows per PostgreSQL multi-row INSERT (12 binds per row, limit 65535).
const PG_INSERT_ROWS: usize = 5_000;

/// Links per SQLite multi-row INSERT into `log_chain` (2 binds per row).
const SQLITE_LINK_ROWS: usize = 10_000;

/// Events read (and linked) per step of the log-chain back-fill.
const BACKFILL_CHUNK: usize = 5_000;

/// From this many rows on, PostgreSQL writes with `COPY` (no per-row binds, no statement to
/// plan); below it one `INSERT` that also notifies saves a round trip.
const PG_COPY_FROM_ROWS: usize = 64;

pub(crate) type BatchEntry = (String, ExpectedVersion, Vec<NewEvent>);

/// The statement that opens a PostgreSQL write transaction and takes the log lock in the
/// same round trip (a simple query may hold several statements).
pub(crate) fn pg_begin_and_lock() -> String {
    format!(
        "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})"
    )
}

/// An open write transaction on either backend, log lock held.
pub(crate) enum WriteTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// An event ready to plan: validated, payload and metadata in canonical JSON.
pub(crate) struct PreparedEvent {
    id: Uuid,
    event_type: String,
    schema_version: i32,
    payload: String,
    metadata: String,
    /// Truncated to microseconds.
    effective_at: Option<DateTime<Utc>>,
}

pub(crate) struct PreparedEntry {
    pub stream: String,
    pub expected: ExpectedVersion,
    events: Vec<PreparedEvent>,
}

/// One append request (an `append` or a whole `append_batch`): all or nothing.
pub(crate) struct Prepared {
    pub entries: Vec<PreparedEntry>,
}

impl Prepared {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn event_count(&self) -> usize {
        self.entries.iter().map(|e| e.events.len()).sum()
    }
}

/// Validates a batch and computes its canonical texts, before touching the database (this
/// CPU work stays outside the log lock).
pub(crate) fn prepare(batch: Vec<BatchEntry>) -> Result<Prepared, StoreError> {
    validate(&batch)?;
    let mut entries = Vec::with_capacity(batch.len());
    for (stream, expected, events) in batch {
        let mut out = Vec::with_capacity(events.len());
        for mut ev in events {
            ev.metadata.hash_scheme = HashScheme::CURRENT.tag();
            let metadata = serde_json::to_value(&ev.metadata)?;
            out.push(PreparedEvent {
                id: ev.id,
                payload: hash::canonical_json(&ev.payload)?,
                metadata: hash::canonical_json(&metadata)?,
                event_type: ev.event_type,
                schema_version: ev.schema_version,
                effective_at: ev.effective_at.map(hash::truncate_micros),
            });
        }
        entries.push(PreparedEntry {
            stream,
            expected,
            events: out,
        });
    }
    Ok(Prepared { entries })
}

/// What the lookup of step 2 found.
struct Lookup {
    /// Stored rows of the requested ids.
    existing: HashMap<Uuid, StoredRow>,
    /// `(last version, last hash)` of each existing stream among those asked for.
    heads: HashMap<String, (u64, String)>,
    log_head: LogHead,
    /// The last row of `log_chain`: (position, link).
    chain_head: Option<(u64, String)>,
}

/// Row kinds of the lookup statement's `kind` column.
const KIND_ID: i32 = 0;
const KIND_HEAD: i32 = 1;
const KIND_LOG_HEAD: i32 = 2;
const KIND_CHAIN_HEAD: i32 = 3;

impl Lookup {
    fn add(&mut self, kind: i32, row: StoredRow) {
        match kind {
            KIND_ID => {
                self.existing.insert(row.id, row);
            }
            KIND_HEAD => {
                self.heads.insert(row.stream, (row.version, row.hash));
            }
            KIND_CHAIN_HEAD => self.chain_head = Some((row.position, row.hash)),
            _ => {
                self.log_head.position = row.position;
                self.log_head.recorded_at = Some(row.recorded_at);
            }
        }
    }

    /// Does `log_chain` end before the log?
    fn chain_behind(&self) -> bool {
        self.chain_head.as_ref().map_or(0, |(p, _)| *p) < self.log_head.position
    }

    /// The log head with its link, which must be the last link of `log_chain`: a chain that
    /// ends elsewhere was tampered with (or written by a process that does not keep it), and
    /// appending to it would chain new events to the wrong predecessor.
    fn checked_log_head(&mut self) -> Result<LogHead, StoreError> {
        match (self.chain_head.take(), self.log_head.position) {
            (None, 0) => {}
            (Some((p, link)), head) if p == head => self.log_head.link = link,
            (chain, head) => {
                return Err(StoreError::Corrupt(format!(
                    "the log chain ends at position {} but the log at position {head}; \
                     run `seguimiento verify`",
                    chain.map_or(0, |(p, _)| p)
                )))
            }
        }
        Ok(self.log_head.clone())
    }
}

impl WriteTx {
    /// Step 2 in one statement (SQLite: one per 30,000 ids and names).
    async fn lookup(&mut self, ids: &[Uuid], streams: &[String]) -> Result<Lookup, StoreError> {
        use sqlx::Row;
        let mut found = Lookup {
            existing: HashMap::new(),
            heads: HashMap::new(),
            log_head: LogHead::default(),
            chain_head: None,
        };
        match self {
            WriteTx::Postgres(tx) => {
                // Heads: the top row of each stream through the (stream, version) index;
                // payload and metadata are not needed, so not sent.
                let sql = format!(
                    "SELECT {KIND_ID} AS kind, {COLUMNS} FROM events WHERE id = ANY($1) \
                     UNION ALL \
                     SELECT {KIND_HEAD}, e.position, e.id, e.stream, e.version, '', 0, '', '', \
                            e.recorded_at, e.effective_at, '', e.hash \
                     FROM unnest($2::text[]) AS s(name) CROSS JOIN LATERAL \
                          (SELECT * FROM events WHERE stream = s.name \
                           ORDER BY version DESC LIMIT 1) e \
                     UNION ALL \
                     (SELECT {KIND_LOG_HEAD}, {COLUMNS} FROM events \
                      ORDER BY position DESC LIMIT 1) \
                     UNION ALL \
                     (SELECT {KIND_CHAIN_HEAD}, c.position, '{NIL_ID}'::uuid, '', 0, '', 0, \
                             '', '', 'epoch'::timestamptz, 'epoch'::timestamptz, '', c.link \
                      FROM log_chain c ORDER BY c.position DESC LIMIT 1)"
                );
                let rows = sqlx::query(&sql)
                    .bind(ids)
                    .bind(streams)
                    .fetch_all(&mut **tx)
                    .await?;
                for row in rows {
                    let kind: i32 = row.try_get("kind")?;
                    found.add(kind, StoredRow::from_pg_at(&row, 1)?);
                }
            }
            WriteTx::Sqlite(tx) => {
                let half = SQLITE_MAX_BINDS / 2;
                let id_chunks: Vec<&[Uuid]> = ids.chunks(half).collect();
                let stream_chunks: Vec<&[String]> = streams.chunks(half).collect();
                let statements = id_chunks.len().max(stream_chunks.len()).max(1);
                for i in 0..statements {
                    let mut qb = QueryBuilder::<Sqlite>::new("");
                    let mut branches = 0;
                    if let Some(chunk) = id_chunks.get(i) {
                        qb.push(format!(
                            "SELECT {KIND_ID} AS kind, {COLUMNS} FROM events WHERE id IN ("
                        ));
                        let mut sep = qb.separated(", ");
                        for id in *chunk {
                            sep.push_bind(id.hyphenated().to_string());
                        }
                        qb.push(")");
                        branches += 1;
                    }
                    if let Some(chunk) = stream_chunks.get(i) {
                        if branches > 0 {
                            qb.push(" UNION ALL ");
                        }
                        // SQLite takes the bare columns of a MAX() aggregate from the row
                        // holding the maximum: the head row of each stream.
                        qb.push(format!(
                            "SELECT {KIND_HEAD} AS kind, position, id, stream, MAX(version) AS \
                             version, '' AS event_type, 0 AS schema_version, '' AS payload, \
                             '' AS metadata, recorded_at, effective_at, '' AS prev_hash, hash \
                             FROM events WHERE stream IN ("
                        ));
                        let mut sep = qb.separated(", ");
                        for s in *chunk {
                            sep.push_bind(s.as_str());
                        }
                        qb.push(") GROUP BY stream");
                        branches += 1;
                    }
                    if i == 0 {
                        if branches > 0 {
                            qb.push(" UNION ALL ");
                        }
                        qb.push(format!(
                            "SELECT * FROM (SELECT {KIND_LOG_HEAD} AS kind, {COLUMNS} \
                             FROM events ORDER BY position DESC LIMIT 1) \
                             UNION ALL \
                             SELECT * FROM (SELECT {KIND_CHAIN_HEAD} AS kind, position, \
                             '{NIL_ID}', '', 0, '', 0, '', '', '{EPOCH}', '{EPOCH}', '', link \
                             FROM log_chain ORDER BY position DESC LIMIT 1)"
                        ));
                    }
                    let binds = id_chunks.get(i).map_or(0, |c| c.len())
                        + stream_chunks.get(i).map_or(0, |c| c.len());
                    let query = qb.build().persistent(crate::keep_prepared(binds));
                    for row in query.fetch_all(&mut **tx).await? {
                        let kind: i32 = row.try_get("kind")?;
                        found.add(kind, StoredRow::from_sqlite_at(&row, 1)?);
                    }
                }
            }
        }
        Ok(found)
    }

    /// Step 4: writes `rows` (in position order) and their `links`, and announces the new
    /// head `head`.
    async fn insert(
        &mut self,
        rows: &[StoredRow],
        links: &[String],
        head: u64,
    ) -> Result<(), StoreError> {
        let positions: Vec<i64> = rows
            .iter()
            .map(|r| to_i64(r.position))
            .collect::<Result<_, _>>()?;
        match self {
            WriteTx::Sqlite(tx) => {
                for chunk in rows.chunks(SQLITE_INSERT_ROWS) {
                    let ints = sql_ints(chunk)?;
                    let mut qb =
                        QueryBuilder::<Sqlite>::new(format!("INSERT INTO events ({COLUMNS}) "));
                    qb.push_values(chunk.iter().zip(ints), bind_sqlite_row);
                    // Full chunks share one shape, prepared once per connection.
                    let keep =
                        chunk.len() == SQLITE_INSERT_ROWS || crate::keep_prepared(chunk.len() * 12);
                    qb.build().persistent(keep).execute(&mut **tx).await?;
                }
                insert_sqlite_links(tx, &positions, links).await
            }
            WriteTx::Postgres(tx) if rows.len() >= PG_COPY_FROM_ROWS => {
                let mut copy = tx
                    .copy_in_raw(&format!("COPY events ({COLUMNS}) FROM STDIN"))
                    .await?;
                // Sent in slices so a huge batch is not one giant buffer.
                for chunk in rows.chunks(1_000) {
                    copy.send(copy_text(chunk)?.into_bytes()).await?;
                }
                copy.finish().await?;
                sqlx::query(&format!(
                    "WITH ch AS ({PG_INSERT_LINKS} RETURNING 1) \
                     SELECT pg_notify($3, $4) FROM (SELECT count(*) FROM ch) AS n"
                ))
                .bind(&positions)
                .bind(links)
                .bind(NOTIFY_CHANNEL)
                .bind(head.to_string())
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
            WriteTx::Postgres(tx) => {
                let chunks: Vec<&[StoredRow]> = rows.chunks(PG_INSERT_ROWS).collect();
                let last = chunks.len().saturating_sub(1);
                for (i, chunk) in chunks.into_iter().enumerate() {
                    let ints = sql_ints(chunk)?;
                    // The last INSERT carries the NOTIFY: a data-modifying CTE always runs
                    // to completion, and the notification is delivered only on COMMIT.
                    let mut qb = QueryBuilder::<Postgres>::new(if i == last {
                        format!("WITH ins AS (INSERT INTO events ({COLUMNS}) ")
                    } else {
                        format!("INSERT INTO events ({COLUMNS}) ")
                    });
                    qb.push_values(chunk.iter().zip(ints), bind_pg_row);
                    if i == last {
                        // The links of every chunk go with the last one.
                        qb.push(" RETURNING 1), ch AS (INSERT INTO log_chain (position, link) ")
                            .push("SELECT * FROM unnest(")
                            .push_bind(&positions)
                            .push("::bigint[], ")
                            .push_bind(links)
                            .push("::text[]) RETURNING 1) SELECT pg_notify(")
                            .push_bind(NOTIFY_CHANNEL)
                            .push(", ")
                            .push_bind(head.to_string())
                            .push(") FROM (SELECT count(*) FROM ins) AS n, ")
                            .push("(SELECT count(*) FROM ch) AS m");
                    }
                    let keep =
                        chunk.len() == PG_INSERT_ROWS || crate::keep_prepared(chunk.len() * 12);
                    qb.build().persistent(keep).execute(&mut **tx).await?;
                }
                Ok(())
            }
        }
    }

    /// Links the events past the end of `log_chain` (the caller holds the log lock), in
    /// chunks; returns how many.
    pub async fn backfill_links(&mut self) -> Result<u64, StoreError> {
        use sqlx::Row;
        let chain_head = "SELECT position, link FROM log_chain ORDER BY position DESC LIMIT 1";
        let next_events = "SELECT position, stream, version, hash FROM events \
                           WHERE position > $1 ORDER BY position LIMIT $2";
        let limit = i64::try_from(BACKFILL_CHUNK).unwrap_or(i64::MAX);
        let (mut position, mut link): (i64, String) = match self {
            WriteTx::Sqlite(tx) => sqlx::query_as(chain_head).fetch_optional(&mut **tx).await?,
            WriteTx::Postgres(tx) => sqlx::query_as(chain_head).fetch_optional(&mut **tx).await?,
        }
        .unwrap_or((0, String::new()));
        let mut filled = 0u64;
        loop {
            let rows: Vec<(i64, String, i64, String)> = match self {
                WriteTx::Sqlite(tx) => {
                    let rows = sqlx::query(next_events)
                        .bind(position)
                        .bind(limit)
                        .fetch_all(&mut **tx)
                        .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
                        .collect::<Result<_, sqlx::Error>>()?
                }
                WriteTx::Postgres(tx) => {
                    let rows = sqlx::query(next_events)
                        .bind(position)
                        .bind(limit)
                        .fetch_all(&mut **tx)
                        .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
                        .collect::<Result<_, sqlx::Error>>()?
                }
            };
            let Some(last) = rows.last() else {
                return Ok(filled);
            };
            let last = last.0;
            let mut positions = Vec::with_capacity(rows.len());
            let mut links = Vec::with_capacity(rows.len());
            for (p, stream, version, event_hash) in rows {
                if p != position + 1 {
                    // A gap in the log: chain no further, `verify` reports it.
                    break;
                }
                let (up, uv) = (
                    u64::try_from(p).unwrap_or_default(),
                    u64::try_from(version).unwrap_or_default(),
                );
                link = hash::log_link(up, &stream, uv, &event_hash, &link);
                positions.push(p);
                links.push(link.clone());
                position = p;
            }
            if positions.is_empty() {
                return Ok(filled);
            }
            filled += positions.len() as u64;
            match self {
                WriteTx::Sqlite(tx) => insert_sqlite_links(tx, &positions, &links).await?,
                WriteTx::Postgres(tx) => {
                    sqlx::query(PG_INSERT_LINKS)
                        .bind(&positions)
                        .bind(&links)
                        .execute(&mut **tx)
                        .await?;
                }
            }
            if position != last {
                return Ok(filled);
            }
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(tx) => tx.commit().await?,
            WriteTx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// A placeholder id and time for lookup rows that carry no event (SQLite stores both as
/// text, which the row decoder parses).
const NIL_ID: &str = "00000000-0000-0000-0000-000000000000";
const EPOCH: &str = "1970-01-01T00:00:00.000000Z";

/// PostgreSQL: inserts the links of `$1` (positions) and `$2` (links), two arrays, in one
/// statement whatever their number.
pub(crate) const PG_INSERT_LINKS: &str =
    "INSERT INTO log_chain (position, link) SELECT * FROM unnest($1::bigint[], $2::text[])";

/// SQLite: inserts `links` at `positions` with multi-row `INSERT`s.
pub(crate) async fn insert_sqlite_links(
    conn: &mut sqlx::SqliteConnection,
    positions: &[i64],
    links: &[String],
) -> Result<(), StoreError> {
    for (ps, ls) in positions
        .chunks(SQLITE_LINK_ROWS)
        .zip(links.chunks(SQLITE_LINK_ROWS))
    {
        let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO log_chain (position, link) ");
        qb.push_values(ps.iter().zip(ls), |mut b, (p, l)| {
            b.push_bind(*p).push_bind(l.as_str());
        });
        let keep = ps.len() == SQLITE_LINK_ROWS || crate::keep_prepared(ps.len() * 2);
        qb.build().persistent(keep).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Binds one row's values, in [`COLUMNS`] order, into a SQLite multi-row `VALUES`.
pub(crate) fn bind_sqlite_row<'a>(
    mut b: Separated<'_, 'a, Sqlite, &'static str>,
    (r, (pos, ver)): (&'a StoredRow, (i64, i64)),
) {
    b.push_bind(pos)
        .push_bind(r.id.hyphenated().to_string())
        .push_bind(r.stream.as_str())
        .push_bind(ver)
        .push_bind(r.event_type.as_str())
        .push_bind(r.schema_version)
        .push_bind(r.payload.as_str())
        .push_bind(r.metadata.as_str())
        .push_bind(hash::format_ts(r.recorded_at))
        .push_bind(hash::format_ts(r.effective_at))
        .push_bind(r.prev_hash.as_str())
        .push_bind(r.hash.as_str());
}

/// Binds one row's values, in [`COLUMNS`] order, into a PostgreSQL multi-row `VALUES`.
pub(crate) fn bind_pg_row<'a>(
    mut b: Separated<'_, 'a, Postgres, &'static str>,
    (r, (pos, ver)): (&'a StoredRow, (i64, i64)),
) {
    b.push_bind(pos)
        .push_bind(r.id)
        .push_bind(r.stream.as_str())
        .push_bind(ver)
        .push_bind(r.event_type.as_str())
        .push_bind(r.schema_version)
        .push_bind(r.payload.as_str())
        .push_bind(r.metadata.as_str())
        .push_bind(r.recorded_at)
        .push_bind(r.effective_at)
        .push_bind(r.prev_hash.as_str())
        .push_bind(r.hash.as_str());
}

/// (position, version) of each row as SQL integers, checked before building a statement.
pub(crate) fn sql_ints(rows: &[StoredRow]) -> Result<Vec<(i64, i64)>, StoreError> {
    rows.iter()
        .map(|r| Ok((to_i64(r.position)?, to_i64(r.version)?)))
        .collect()
}

/// Appends `s` to `out` as one field of PostgreSQL's `COPY` text format: `\`, tab, newline
/// and carriage return escaped.
pub fn copy_escape(out: &mut String, s: &str) {
    // Runs without special characters (nearly all of a JSON payload) are copied whole.
    let mut rest = s;
    // A byte scan: the four are ASCII, so never part of a multibyte character (and
    // `str::find` with a char set decodes every character on the way).
    while let Some(i) = rest
        .bytes()
        .position(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'\\' => "\\\\",
            b'\t' => "\\t",
            b'\n' => "\\n",
            _ => "\\r",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// PostgreSQL `COPY` text format: tab-separated columns, one line per row, fields escaped
/// by [`copy_escape`]. Timestamps in the store's RFC 3339 format.
fn copy_text(rows: &[StoredRow]) -> Result<String, StoreError> {
    let mut out = String::with_capacity(rows.iter().map(|r| r.payload.len() + 400).sum());
    let (mut recorded_at, mut effective_at) = (TsText::default(), TsText::default());
    let (mut int, mut id) = (itoa::Buffer::new(), Uuid::encode_buffer());
    for r in rows {
        let (position, version) = (to_i64(r.position)?, to_i64(r.version)?);
        // Fields that need no escaping (digits, a UUID, timestamps, hex) are pushed as is.
        out.push_str(int.format(position));
        out.push('\t');
        out.push_str(r.id.hyphenated().encode_lower(&mut id));
        out.push('\t');
        copy_escape(&mut out, &r.stream);
        out.push('\t');
        out.push_str(int.format(version));
        out.push('\t');
        copy_escape(&mut out, &r.event_type);
        out.push('\t');
        out.push_str(int.format(r.schema_version));
        out.push('\t');
        copy_escape(&mut out, &r.payload);
        out.push('\t');
        copy_escape(&mut out, &r.metadata);
        out.push('\t');
        out.push_str(recorded_at.format(r.recorded_at));
        out.push('\t');
        out.push_str(effective_at.format(r.effective_at));
        out.push('\t');
        copy_escape(&mut out, &r.prev_hash);
        out.push('\t');
        copy_escape(&mut out, &r.hash);
        out.push('\n');
    }
    Ok(out)
}

/// Stream heads this process cached (see [`heads`](crate::heads)), handed to
/// [`write_group`] so it need not look them up: they are exact if the log head its lookup
/// finds is still `log_position`, and ignored otherwise.
pub(crate) struct CachedHeads {
    pub log_position: u64,
    pub heads: HashMap<String, (u64, String)>,
}

/// What a successful [`write_group`] produced.
pub(crate) struct GroupOutcome {
    /// One outcome per request, in order: its results, or why it was left out.
    pub results: Vec<Result<Vec<AppendResult>, StoreError>>,
    /// New log head if anything was inserted.
    pub new_head: Option<u64>,
    /// What the write knows of the log once committed, for the [`HeadCache`]:
    /// the log head its lookup found, and the log and stream heads after it.
    pub seen_log_head: u64,
    pub known: Known,
}

/// Heads known exactly after a write: the log head (position, the earliest `recorded_at`
/// the next event may take) and the `(version, hash)` heads of the streams it touched.
pub(crate) struct Known {
    pub log_head: LogHead,
    pub heads: HashMap<String, (u64, String)>,
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
            if let Some(t) = ev.effective_at {
                check_storable_time(ev.id, t)?;
            }
        }
    }
    Ok(())
}

/// Refuses a time the log could not give back as it was: the stored form
/// ([`hash::format_ts`]) holds years 0000 to 9999 only, and PostgreSQL turns a leap second
/// into the next minute, so either would leave a row that no longer reads or verifies,
/// forever. Domain commands are held to narrower ranges before they get here; this guards
/// every other writer (an imported export, a tool).
fn check_storable_time(id: uuid::Uuid, t: DateTime<Utc>) -> Result<(), StoreError> {
    if !hash::storable_time(t) {
        return Err(StoreError::InvalidInput(format!(
            "event {id}: effective time {} cannot be stored (years 0000 to 9999, no leap \
             second)",
            t.to_rfc3339()
        )));
    }
    Ok(())
}

/// Does the stored row carry the same content as the request's event?
fn same_content(row: &StoredRow, stream: &str, ev: &PreparedEvent) -> bool {
    row.stream == stream
        && row.event_type == ev.event_type
        && row.schema_version == ev.schema_version
        && same_json(&row.payload, &ev.payload, None)
        && same_json(&row.metadata, &ev.metadata, Some("hashScheme"))
        && ev.effective_at.is_none_or(|t| t == row.effective_at)
}

/// Whether a stored JSON text and a new canonical one say the same. Texts stored under an
/// earlier hash scheme may be canonical in another way (and their metadata names no
/// scheme), so a retry of such an event is compared as values, with the top-level key
/// `ignore` left aside.
fn same_json(stored: &str, new: &str, ignore: Option<&str>) -> bool {
    if stored == new {
        return true;
    }
    let parse = |text: &str| -> Option<serde_json::Value> {
        let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
        if let (Some(object), Some(key)) = (value.as_object_mut(), ignore) {
            object.remove(key);
        }
        Some(value)
    };
    matches!((parse(stored), parse(new)), (Some(a), Some(b)) if a == b)
}

/// The log as the group's planning sees it: what is stored plus the rows of the requests
/// planned so far.
pub(crate) struct LogState {
    existing: HashMap<Uuid, StoredRow>,
    /// Ids of the rows planned so far, as indexes into `rows` (later requests of the group
    /// see them as stored, for idempotent retries).
    planned: HashMap<Uuid, usize>,
    heads: HashMap<String, (u64, String)>,
    /// Rows to insert, in position order.
    pub rows: Vec<StoredRow>,
    /// The log-chain link of each row of `rows`.
    pub links: Vec<String>,
    /// Position of the last row (stored or planned).
    pub position: u64,
    /// Log-chain link at `position` (`""` for an empty log).
    link: String,
    recorded_at: DateTime<Utc>,
    recorded_text: TsText,
    effective_text: TsText,
}

impl LogState {
    /// Planning starts from the log head (position and its `recorded_at`) at `now`.
    pub fn new(
        existing: HashMap<Uuid, StoredRow>,
        heads: HashMap<String, (u64, String)>,
        log_head: LogHead,
    ) -> Self {
        let now = hash::truncate_micros(Utc::now());
        LogState {
            existing,
            planned: HashMap::new(),
            heads,
            rows: Vec::new(),
            links: Vec::new(),
            position: log_head.position,
            link: log_head.link,
            recorded_at: match log_head.recorded_at {
                Some(t) if t > now => t,
                _ => now,
            },
            recorded_text: TsText::default(),
            effective_text: TsText::default(),
        }
    }

    /// A stored or already planned row with this id.
    fn row_of(&self, id: &Uuid) -> Option<&StoredRow> {
        self.existing
            .get(id)
            .or_else(|| self.planned.get(id).and_then(|&i| self.rows.get(i)))
    }

    /// Plans the requests in order (see [`plan_request`]).
    pub fn plan(&mut self, requests: &[&Prepared]) -> Vec<Result<Vec<AppendResult>, StoreError>> {
        let last = requests.len().saturating_sub(1);
        requests
            .iter()
            .enumerate()
            .map(|(i, req)| plan_request(self, req, i < last))
            .collect()
    }

    /// What is known once the planned rows are committed.
    pub fn known(self) -> Known {
        Known {
            log_head: LogHead {
                position: self.position,
                recorded_at: Some(self.recorded_at),
                link: self.link,
            },
            heads: self.heads,
        }
    }
}

/// The last position of the log (0: empty), the `recorded_at` the next event may not
/// precede, and the log-chain link at that position (`""` for an empty log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LogHead {
    pub position: u64,
    pub recorded_at: Option<DateTime<Utc>>,
    pub link: String,
}

/// Plans one request against `state`; on success adds its rows to `state` (and, if
/// `more_follow`, their ids for the requests after it), on failure leaves `state` untouched.
fn plan_request(
    state: &mut LogState,
    req: &Prepared,
    more_follow: bool,
) -> Result<Vec<AppendResult>, StoreError> {
    // This request's own view of heads, and its rows, merged into `state` only on success.
    let mut heads: HashMap<&str, (u64, String)> = HashMap::new();
    let mut rows: Vec<StoredRow> = Vec::new();
    let mut results = Vec::with_capacity(req.entries.len());
    for entry in &req.entries {
        let stream = entry.stream.as_str();
        let found: Vec<Option<&StoredRow>> =
            entry.events.iter().map(|e| state.row_of(&e.id)).collect();
        let n_found = found.iter().filter(|f| f.is_some()).count();
        for (ev, row) in entry.events.iter().zip(&found) {
            if let Some(row) = row {
                if !same_content(row, stream, ev) {
                    return Err(StoreError::IdempotencyMismatch { id: ev.id });
                }
            }
        }
        let head = heads
            .get(stream)
            .or_else(|| state.heads.get(stream))
            .cloned();
        let current = head.as_ref().map(|(v, _)| *v);
        if n_found == entry.events.len() {
            // A retry of an append that already committed: report the original outcome.
            let positions = found.iter().flatten().map(|r| r.position).collect();
            let last_version = found.iter().flatten().map(|r| r.version).max().unwrap_or(0);
            results.push(AppendResult {
                stream: stream.to_owned(),
                positions,
                last_version,
            });
            continue;
        }
        if n_found > 0 {
            // Some of these events are stored, others not: not a retry of one append.
            return Err(StoreError::Conflict {
                stream: stream.to_owned(),
                expected: entry.expected,
                actual: current,
            });
        }
        check_expected(stream, entry.expected, current)?;
        let (mut version, mut prev_hash) = match head {
            Some((v, h)) => (v + 1, h),
            None => (0, String::new()),
        };
        let mut positions = Vec::with_capacity(entry.events.len());
        for ev in &entry.events {
            let position = state.position + rows.len() as u64 + 1;
            let recorded_at = state.recorded_at;
            let effective_at = ev.effective_at.unwrap_or(recorded_at);
            let input = HashInput {
                id: ev.id,
                stream,
                version,
                event_type: &ev.event_type,
                schema_version: ev.schema_version,
                payload: &ev.payload,
                metadata: &ev.metadata,
                recorded_at,
                effective_at,
                prev_hash: &prev_hash,
                scheme: HashScheme::CURRENT,
            };
            let hash = hash::event_hash_of(
                &input,
                state.recorded_text.format(recorded_at),
                state.effective_text.format(effective_at),
            );
            positions.push(position);
            rows.push(StoredRow {
                position,
                id: ev.id,
                stream: stream.to_owned(),
                version,
                event_type: ev.event_type.clone(),
                schema_version: ev.schema_version,
                payload: ev.payload.clone(),
                metadata: ev.metadata.clone(),
                recorded_at,
                effective_at,
                prev_hash: std::mem::take(&mut prev_hash),
                hash: hash.clone(),
            });
            prev_hash = hash;
            version += 1;
        }
        let last_version = version - 1;
        heads.insert(stream, (last_version, prev_hash));
        results.push(AppendResult {
            stream: stream.to_owned(),
            positions,
            last_version,
        });
    }
    for (stream, head) in heads {
        state.heads.insert(stream.to_owned(), head);
    }
    state.position += rows.len() as u64;
    for row in &rows {
        let link = hash::log_link(
            row.position,
            &row.stream,
            row.version,
            &row.hash,
            &state.link,
        );
        state.links.push(link.clone());
        state.link = link;
    }
    if more_follow {
        let first = state.rows.len();
        for (i, row) in rows.iter().enumerate() {
            state.planned.insert(row.id, first + i);
        }
    }
    state.rows.append(&mut rows);
    Ok(results)
}

/// Groups of more than this many events are bulk writes: they plan with
/// [`IdLookup::Optimistic`], and only smaller ones take the cached path
/// ([`heads`](crate::heads)).
pub(crate) const BULK_EVENTS: usize = 64;

/// Whether a group's planning looks up its event ids (idempotency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdLookup {
    /// Look them up: a retried append gets its original outcome.
    Lookup,
    /// Assume they are new: the unique `id` key refuses a stored one (a unique violation;
    /// the caller plans again with [`IdLookup::Lookup`]), and a plan in which a request is
    /// refused is redone with the lookup (the refusal may hide a retry). In bulk writes (an
    /// import) ids are nearly always new, and looking up thousands of random ids per batch
    /// cost 13–19 % of the import's time on PostgreSQL.
    ///
    /// Likewise a stream whose first append in the group expects no stream is taken for
    /// new without looking its head up: if it exists, the unique `(stream, version)` key
    /// refuses its version 0, and the group is planned again with the lookup.
    Optimistic,
}

/// The streams whose heads the lookup must find, in first-seen order.
fn streams_to_look_up(requests: &[&Prepared], id_lookup: IdLookup) -> Vec<String> {
    let mut streams = Vec::new();
    let mut seen = HashSet::new();
    for entry in requests.iter().flat_map(|r| &r.entries) {
        let new = id_lookup == IdLookup::Optimistic && entry.expected == ExpectedVersion::NoStream;
        if seen.insert(entry.stream.as_str()) && !new {
            streams.push(entry.stream.clone());
        }
    }
    streams
}

/// Plans and inserts a group of requests inside `tx` (opened with the log lock held; the
/// caller commits). A request that cannot be appended gets its error in
/// [`GroupOutcome::results`] and writes nothing; an `Err` of the whole call means the
/// transaction failed and must not be committed.
pub(crate) async fn write_group(
    tx: &mut WriteTx,
    requests: &[&Prepared],
    id_lookup: IdLookup,
    cached: Option<CachedHeads>,
) -> Result<GroupOutcome, StoreError> {
    let mut id_lookup = id_lookup;
    let mut cached = cached;
    let mut backfilled = false;
    loop {
        let mut streams = streams_to_look_up(requests, id_lookup);
        if let Some(c) = &cached {
            streams.retain(|s| !c.heads.contains_key(s));
        }
        let ids: Vec<Uuid> = match id_lookup {
            IdLookup::Lookup => requests
                .iter()
                .flat_map(|r| &r.entries)
                .flat_map(|e| e.events.iter().map(|ev| ev.id))
                .collect(),
            IdLookup::Optimistic => Vec::new(),
        };
        let mut found = tx.lookup(&ids, &streams).await?;
        if let Some(c) = cached.take() {
            if c.log_position != found.log_head.position {
                // Appended meanwhile (another process): the cached heads may be stale, so
                // look every stream up, still under the lock.
                continue;
            }
            found.heads.extend(c.heads);
        }
        if !backfilled && found.chain_behind() {
            // Events appended without links (by a binary from before the log chain, still
            // running beside this one): link them now, under the lock, and look again.
            tx.backfill_links().await?;
            backfilled = true;
            continue;
        }
        let seen_log_head = found.log_head.position;
        let log_head = found.checked_log_head()?;
        let mut state = LogState::new(found.existing, found.heads, log_head);
        let results = state.plan(requests);
        if id_lookup == IdLookup::Optimistic && results.iter().any(Result::is_err) {
            // A refusal planned without the ids may be a retry the lookup recognises (a
            // stored append re-sent with an expectation that no longer holds): plan again
            // with them, still under the lock.
            id_lookup = IdLookup::Lookup;
            continue;
        }
        let new_head = if state.rows.is_empty() {
            None
        } else {
            tx.insert(&state.rows, &state.links, state.position).await?;
            Some(state.position)
        };
        return Ok(GroupOutcome {
            results,
            new_head,
            seen_log_head,
            known: state.known(),
        });
    }
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

/// An event of type `E` for the planning tests of this module and of `heads`.
#[cfg(test)]
pub(crate) fn test_event(id: Uuid, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        id,
        event_type: "E".into(),
        schema_version: 1,
        payload,
        metadata: crate::types::Metadata {
            actor: "t".into(),
            correlation_id: None,
            causation_id: None,
            command_digest: None,
            hash_scheme: None,
        },
        effective_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_escape_keeps_other_text_including_multibyte_characters() {
        let mut out = String::from(">");
        copy_escape(&mut out, "año\\ñ\tü\r\n€");
        assert_eq!(out, ">año\\\\ñ\\tü\\r\\n€");
        copy_escape(&mut out, "");
        copy_escape(&mut out, "plain");
        assert_eq!(out, ">año\\\\ñ\\tü\\r\\n€plain");
    }

    #[test]
    fn copy_text_escapes_the_characters_copy_treats_specially() {
        let t = hash::truncate_micros(Utc::now());
        let row = StoredRow {
            position: 7,
            id: Uuid::nil(),
            stream: "s\t1".into(),
            version: 2,
            event_type: "T".into(),
            schema_version: 1,
            payload: "{\"a\":\"x\\\\n\ny\r\"}".into(),
            metadata: "{}".into(),
            recorded_at: t,
            effective_at: t,
            prev_hash: String::new(),
            hash: "h".into(),
        };
        let text = copy_text(std::slice::from_ref(&row)).expect("copy text");
        let fields: Vec<&str> = text.trim_end_matches('\n').split('\t').collect();
        assert_eq!(fields.len(), 12, "{text:?}");
        assert_eq!(fields[2], "s\\t1");
        assert_eq!(fields[6], "{\"a\":\"x\\\\\\\\n\\ny\\r\"}");
        assert_eq!(fields[10], "");
        assert_eq!(text.matches('\n').count(), 1);
    }

    fn one_append(stream: &str, expected: ExpectedVersion, ids: &[Uuid], payload: i64) -> Prepared {
        let events = ids
            .iter()
            .map(|&id| test_event(id, serde_json::json!({ "n": payload })))
            .collect();
        prepare(vec![(stream.to_owned(), expected, events)]).expect("valid request")
    }

    /// Later requests of a group see the earlier ones' rows as stored: an identical re-send
    /// gets the original positions, a half re-send is a conflict, and a reused id with other
    /// content is refused.
    #[test]
    fn a_group_plans_retries_of_its_own_earlier_requests() {
        let (x, y, z) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let first = one_append("s", ExpectedVersion::NoStream, &[x, y], 1);
        let retry = one_append("s", ExpectedVersion::NoStream, &[x, y], 1);
        let partly = one_append("s", ExpectedVersion::Exact(1), &[y, z], 1);
        let next = one_append("s", ExpectedVersion::Exact(1), &[z], 3);
        let head = LogHead {
            position: 4,
            recorded_at: None,
            link: "l4".into(),
        };
        let mut state = LogState::new(HashMap::new(), HashMap::new(), head.clone());
        let results = state.plan(&[&first, &retry, &partly, &next]);
        let positions: Vec<Option<Vec<u64>>> = results
            .iter()
            .map(|r| r.as_ref().ok().map(|a| a[0].positions.clone()))
            .collect();
        assert_eq!(
            positions,
            [Some(vec![5, 6]), Some(vec![5, 6]), None, Some(vec![7])]
        );
        assert!(matches!(results[2], Err(StoreError::Conflict { .. })));
        assert_eq!(state.rows.len(), 3);
        assert_eq!(state.rows[1].hash, state.rows[2].prev_hash);
        // The links continue from the head's and chain the planned rows in order.
        let mut prev = "l4".to_owned();
        for (row, link) in state.rows.iter().zip(&state.links) {
            let expected = hash::log_link(row.position, &row.stream, row.version, &row.hash, &prev);
            assert_eq!(link, &expected);
            prev = expected;
        }
        assert_eq!(state.links.len(), 3);

        let changed = one_append("s", ExpectedVersion::NoStream, &[x], 9);
        let mut state = LogState::new(HashMap::new(), HashMap::new(), head);
        let results = state.plan(&[&first, &changed]);
        assert!(matches!(
            results[1],
            Err(StoreError::IdempotencyMismatch { id }) if id == x
        ));
    }
}

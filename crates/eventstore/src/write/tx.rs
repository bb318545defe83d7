//! Steps 1, 2 and 4 of a write: the transaction that holds the log lock, the lookup of
//! ids and heads, and the inserts of rows and links.

use std::collections::HashMap;

use sqlx::{Postgres, QueryBuilder, Sqlite, Transaction};
use uuid::Uuid;

use crate::error::StoreError;
use crate::hash;
use crate::pool::DbPool;
use crate::row::{to_i64, StoredRow, COLUMNS};

use super::plan::LogHead;
use super::sql::{
    bind_pg_row, bind_sqlite_row, copy_text, insert_sqlite_links, pg_begin_and_lock, sql_ints,
    BACKFILL_CHUNK, NOTIFY_CHANNEL, PG_COPY_FROM_ROWS, PG_INSERT_LINKS, PG_INSERT_ROWS,
    SQLITE_INSERT_ROWS, SQLITE_MAX_BINDS,
};

/// An open write transaction on either backend, log lock held.
pub(crate) enum WriteTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// What the lookup of step 2 found.
pub(crate) struct Lookup {
    /// Stored rows of the requested ids.
    pub existing: HashMap<Uuid, StoredRow>,
    /// `(last version, last hash)` of each existing stream among those asked for.
    pub heads: HashMap<String, (u64, String)>,
    pub log_head: LogHead,
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
    pub fn chain_behind(&self) -> bool {
        self.chain_head.as_ref().map_or(0, |(p, _)| *p) < self.log_head.position
    }

    /// The log head with its link, which must be the last link of `log_chain`: a chain that
    /// ends elsewhere was tampered with (or written by a process that does not keep it), and
    /// appending to it would chain new events to the wrong predecessor.
    pub fn checked_log_head(&mut self) -> Result<LogHead, StoreError> {
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
    /// Step 1: a transaction holding the log lock (PostgreSQL: the advisory lock taken in
    /// the same round trip as `BEGIN`; SQLite: `BEGIN IMMEDIATE`).
    pub async fn begin(pool: &DbPool) -> Result<Self, StoreError> {
        Ok(match pool {
            DbPool::Sqlite(pool) => WriteTx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            DbPool::Postgres(pool) => {
                WriteTx::Postgres(pool.begin_with(pg_begin_and_lock()).await?)
            }
        })
    }

    /// Step 2 in one statement (SQLite: one per 30,000 ids and names).
    pub async fn lookup(&mut self, ids: &[Uuid], streams: &[String]) -> Result<Lookup, StoreError> {
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
                    let query = qb.build().persistent(crate::pool::keep_prepared(binds));
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
    pub async fn insert(
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
                    let keep = chunk.len() == SQLITE_INSERT_ROWS
                        || crate::pool::keep_prepared(chunk.len() * 12);
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
                    let keep = chunk.len() == PG_INSERT_ROWS
                        || crate::pool::keep_prepared(chunk.len() * 12);
                    qb.build().persistent(keep).execute(&mut **tx).await?;
                }
                Ok(())
            }
        }
    }

    /// Links the events past the end of `log_chain` (the caller holds the log lock), in
    /// chunks; returns how many.
    pub async fn backfill_links(&mut self) -> Result<u64, StoreError> {
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
                    sqlx::query_as(next_events)
                        .bind(position)
                        .bind(limit)
                        .fetch_all(&mut **tx)
                        .await?
                }
                WriteTx::Postgres(tx) => {
                    sqlx::query_as(next_events)
                        .bind(position)
                        .bind(limit)
                        .fetch_all(&mut **tx)
                        .await?
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

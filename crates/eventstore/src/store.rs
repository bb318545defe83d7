//! [`EventStore`]: connection, the public operations, subscriptions.

use std::collections::VecDeque;
use std::str::FromStr;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use crate::error::StoreError;
use crate::row::{fetch_page, Cursor, StoredRow};
use crate::types::{AppendResult, ExpectedVersion, NewEvent, RecordedEvent, VerifyReport};
use crate::verify;
use crate::write::{self, BatchEntry, WriteTx, NOTIFY_CHANNEL};

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Page size used internally by `read_stream`, `subscribe` and `verify`.
pub(crate) const PAGE: usize = 512;
/// Subscribers re-check the log at least this often even without a wake-up (covers writers in
/// other processes on SQLite and lost notifications on PostgreSQL).
const SAFETY_RECHECK: Duration = Duration::from_secs(3);
/// How many times a write is re-planned after losing a unique-key race.
const MAX_WRITE_ATTEMPTS: usize = 5;

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The connection pool, exposed so projections can keep their own tables in the same
/// database. Never write to `events` through it (the database rejects UPDATE/DELETE anyway).
#[derive(Debug, Clone)]
pub enum DbPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

struct Inner {
    pool: DbPool,
    backend: Backend,
    /// Tells this handle (and its clones) apart from other stores in the process.
    instance_id: uuid::Uuid,
    /// SQLite: serialises this process's writers so they queue instead of failing BUSY.
    write_lock: Mutex<()>,
    /// Bumped after every local commit and every PostgreSQL NOTIFY: wakes subscribers.
    wake: watch::Sender<u64>,
    /// PostgreSQL: the LISTEN task feeding `wake`.
    listener: StdMutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut guard) = self.listener.lock() {
            if let Some(task) = guard.take() {
                task.abort();
            }
        }
    }
}

/// The append-only, hash-chained event log. Cheap to clone: clones share the pool.
///
/// See the [crate docs](crate) for the guarantees every operation upholds.
#[derive(Clone)]
pub struct EventStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

fn bump(wake: &watch::Sender<u64>) {
    wake.send_modify(|g| *g = g.wrapping_add(1));
}

impl EventStore {
    /// Connects and runs all pending migrations (`migrations/sqlite` or `migrations/postgres`,
    /// embedded at compile time).
    ///
    /// Accepted URLs:
    /// - `sqlite://path/to/file.db` or `sqlite:path.db` — file created if missing; WAL journal,
    ///   `synchronous=FULL` (a commit survives power loss), 10 s busy timeout, foreign keys on;
    /// - `sqlite::memory:` — a private in-memory database (one connection, lives as long as
    ///   the store);
    /// - `postgres://...` / `postgresql://...`.
    ///
    /// On PostgreSQL a dedicated `LISTEN` connection is opened here (before returning) so that
    /// subscriptions never miss a notification.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let (pool, backend) = if url.starts_with("sqlite:") {
            let memory = url.contains(":memory:") || url.contains("mode=memory");
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::InvalidUrl(format!("{url}: {e}")))?
                .create_if_missing(true)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let opts = if memory {
                opts
            } else {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
            };
            let pool_opts = if memory {
                // The database lives only as long as a connection does: keep exactly one.
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
            } else {
                SqlitePoolOptions::new().max_connections(8)
            };
            let pool = pool_opts.connect_with(opts).await?;
            SQLITE_MIGRATOR.run(&pool).await?;
            (DbPool::Sqlite(pool), Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::InvalidUrl(format!("{url}: {e}")))?
                .application_name("seguimiento");
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .connect_with(opts)
                .await?;
            POSTGRES_MIGRATOR.run(&pool).await?;
            (DbPool::Postgres(pool), Backend::Postgres)
        } else {
            return Err(StoreError::InvalidUrl(format!(
                "unsupported scheme (expected sqlite: or postgres://): {url}"
            )));
        };
        let (wake, _) = watch::channel(0u64);
        let store = EventStore {
            inner: Arc::new(Inner {
                pool,
                backend,
                instance_id: uuid::Uuid::new_v4(),
                write_lock: Mutex::new(()),
                wake,
                listener: StdMutex::new(None),
            }),
        };
        if let DbPool::Postgres(pool) = &store.inner.pool {
            let mut listener = PgListener::connect_with(pool).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            let task = tokio::spawn(listen_loop(
                listener,
                Arc::downgrade(&store.inner),
                pool.clone(),
            ));
            if let Ok(mut guard) = store.inner.listener.lock() {
                *guard = Some(task);
            }
        }
        Ok(store)
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Identifies this store handle and its clones within the process (not the database):
    /// a key for in-process caches of what was read through it.
    pub fn instance_id(&self) -> uuid::Uuid {
        self.inner.instance_id
    }

    /// The underlying pool, for projections' own tables.
    pub fn pool(&self) -> &DbPool {
        &self.inner.pool
    }

    /// Appends `events` to `stream` atomically (all or nothing) if the stream's version matches
    /// `expected`.
    ///
    /// - Versions continue densely from the stream's last version (first event: 0); positions
    ///   continue densely from the log head, in commit order.
    /// - `recorded_at` is the store's UTC clock truncated to microseconds (never earlier than
    ///   the previous event's); `effective_at` defaults to it.
    /// - Mismatched expectation → [`StoreError::Conflict`] (enforced by the unique
    ///   `(stream, version)` key, so racing writers cannot both win).
    /// - Idempotent: if every event id is already stored with the same content (stream, type,
    ///   schema version, payload, metadata, and `effective_at` when given), nothing is written
    ///   and the original positions are returned, regardless of `expected`. An id stored with
    ///   different content → [`StoreError::IdempotencyMismatch`]; only some ids stored →
    ///   [`StoreError::Conflict`].
    /// - An empty `events`, empty stream name or repeated id → [`StoreError::InvalidInput`].
    pub async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let mut results = self
            .append_batch(vec![(stream.to_owned(), expected, events)])
            .await?;
        results
            .pop()
            .ok_or_else(|| StoreError::Corrupt("append produced no result".into()))
    }

    /// Bulk import: several appends (possibly to the same stream, applied in order) in ONE
    /// transaction, inserted with chunked multi-row INSERTs. Same guarantees as
    /// [`append`](Self::append) for each entry; if any entry fails (conflict, mismatch...)
    /// nothing of the batch is written. Results are in batch order.
    pub async fn append_batch(
        &self,
        batch: Vec<(String, ExpectedVersion, Vec<NewEvent>)>,
    ) -> Result<Vec<AppendResult>, StoreError> {
        write::validate(&batch)?;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_write(&batch).await {
                Err(e) if write::is_unique_violation(&e) && attempt < MAX_WRITE_ATTEMPTS => {
                    tracing::debug!(attempt, "append lost a unique-key race, re-planning");
                    continue;
                }
                other => return other,
            }
        }
    }

    async fn try_write(&self, batch: &[BatchEntry]) -> Result<Vec<AppendResult>, StoreError> {
        let outcome = match &self.inner.pool {
            DbPool::Sqlite(pool) => {
                let _guard = self.inner.write_lock.lock().await;
                let mut tx = WriteTx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?);
                let outcome = write::write_batch(&mut tx, batch).await?;
                tx.commit().await?;
                outcome
            }
            DbPool::Postgres(pool) => {
                let mut tx = WriteTx::Postgres(
                    pool.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
                        .await?,
                );
                let outcome = write::write_batch(&mut tx, batch).await?;
                tx.commit().await?;
                outcome
            }
        };
        if outcome.new_head.is_some() {
            bump(&self.inner.wake);
        }
        Ok(outcome.results)
    }

    /// Events of `stream` with `version >= from_version`, in version order, optionally only
    /// those with `recorded_at <= as_of`. Read in pages; empty if the stream does not exist.
    pub fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        as_of: Option<DateTime<Utc>>,
    ) -> BoxStream<'static, Result<RecordedEvent, StoreError>> {
        self.paged(
            Cursor::Stream {
                stream: stream.to_owned(),
                from_version,
            },
            as_of,
            PAGE,
        )
    }

    /// The global log from `after` (exclusive: positions `> after`), in position order,
    /// optionally only events with `recorded_at <= as_of`, fetched in pages of `batch_size`
    /// (never the whole log in memory). Positions are dense: a reader sees 1, 2, 3, ... with no
    /// gap, even while writers commit concurrently. Ends at the current head.
    pub fn read_all(
        &self,
        after: u64,
        as_of: Option<DateTime<Utc>>,
        batch_size: usize,
    ) -> BoxStream<'static, Result<RecordedEvent, StoreError>> {
        self.paged(Cursor::All { after }, as_of, batch_size.max(1))
    }

    fn paged(
        &self,
        cursor: Cursor,
        as_of: Option<DateTime<Utc>>,
        limit: usize,
    ) -> BoxStream<'static, Result<RecordedEvent, StoreError>> {
        let store = self.clone();
        stream::unfold(Some(cursor), move |state| {
            let store = store.clone();
            async move {
                let cursor = state?;
                let page = fetch_page(&store.inner.pool, &cursor, as_of, limit).await;
                Some(match page {
                    Ok(rows) => {
                        let next = if rows.len() >= limit {
                            rows.last().map(|r| cursor.after_row(r))
                        } else {
                            None
                        };
                        let (items, failed) = decode_all(rows);
                        (stream::iter(items), if failed { None } else { next })
                    }
                    Err(e) => (stream::iter(vec![Err(e)]), None),
                })
            }
        })
        .flatten()
        .boxed()
    }

    /// The position of the last event, 0 when the log is empty.
    pub async fn head_position(&self) -> Result<u64, StoreError> {
        let head: Option<i64> = match &self.inner.pool {
            DbPool::Sqlite(p) => {
                sqlx::query_scalar("SELECT MAX(position) FROM events")
                    .fetch_one(p)
                    .await?
            }
            DbPool::Postgres(p) => {
                sqlx::query_scalar("SELECT MAX(position) FROM events")
                    .fetch_one(p)
                    .await?
            }
        };
        Ok(head.and_then(|h| u64::try_from(h).ok()).unwrap_or(0))
    }

    /// The last version of `stream`, `None` if it has no events.
    pub async fn stream_version(&self, stream: &str) -> Result<Option<u64>, StoreError> {
        let v: Option<i64> = match &self.inner.pool {
            DbPool::Sqlite(p) => {
                sqlx::query_scalar("SELECT MAX(version) FROM events WHERE stream = ?1")
                    .bind(stream)
                    .fetch_one(p)
                    .await?
            }
            DbPool::Postgres(p) => {
                sqlx::query_scalar("SELECT MAX(version) FROM events WHERE stream = $1")
                    .bind(stream)
                    .fetch_one(p)
                    .await?
            }
        };
        Ok(v.and_then(|v| u64::try_from(v).ok()))
    }

    /// Names of all streams starting with `prefix` (case-sensitive, `""` = all), sorted.
    pub async fn list_streams(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        // Every stream has exactly one version-0 row; the prefix test is a plain substring
        // comparison so `%`/`_` in the prefix are not wildcards.
        let streams = match &self.inner.pool {
            DbPool::Sqlite(p) => {
                sqlx::query_scalar(
                    "SELECT stream FROM events WHERE version = 0 \
                     AND substr(stream, 1, length(?1)) = ?1 ORDER BY stream",
                )
                .bind(prefix)
                .fetch_all(p)
                .await?
            }
            DbPool::Postgres(p) => {
                sqlx::query_scalar(
                    "SELECT stream FROM events WHERE version = 0 \
                     AND left(stream, length($1)) = $1 ORDER BY stream COLLATE \"C\"",
                )
                .bind(prefix)
                .fetch_all(p)
                .await?
            }
        };
        Ok(streams)
    }

    /// Catch-up then live: every event with position `> after`, in order with no gaps, then
    /// each new event as it commits. Wake-ups come from PostgreSQL `LISTEN/NOTIFY` (the
    /// listener is connected before the catch-up starts, so nothing committed in between is
    /// missed) or, on SQLite, from an in-process watch channel; in addition the log is
    /// re-checked every few seconds. Never ends unless reading fails: then it yields that
    /// error and ends.
    pub fn subscribe(&self, after: u64) -> BoxStream<'static, Result<RecordedEvent, StoreError>> {
        let state = SubState {
            store: self.clone(),
            wake: self.inner.wake.subscribe(),
            after,
            buf: VecDeque::new(),
            done: false,
        };
        stream::unfold(state, |mut st| async move {
            loop {
                if let Some(item) = st.buf.pop_front() {
                    if item.is_err() {
                        st.done = true;
                        st.buf.clear();
                    }
                    return Some((item, st));
                }
                if st.done {
                    return None;
                }
                // Mark the current wake-up generation as seen *before* reading, so a commit
                // landing after our read is guaranteed to wake us.
                st.wake.borrow_and_update();
                let cursor = Cursor::All { after: st.after };
                match fetch_page(&st.store.inner.pool, &cursor, None, PAGE).await {
                    Err(e) => st.buf.push_back(Err(e)),
                    Ok(rows) if rows.is_empty() => {
                        // Caught up: wait for a wake-up or the safety re-check.
                        let wait = tokio::time::timeout(SAFETY_RECHECK, st.wake.changed());
                        if let Ok(Err(_)) = wait.await {
                            // Sender gone (cannot happen while we hold the store): poll.
                            tokio::time::sleep(SAFETY_RECHECK).await;
                        }
                    }
                    Ok(rows) => {
                        if let Some(last) = rows.last() {
                            st.after = last.position;
                        }
                        let (items, _) = decode_all(rows);
                        st.buf.extend(items);
                    }
                }
            }
        })
        .boxed()
    }

    /// Walks the hash chain of one stream (`Some`) or of the whole log (`None`, streamed in
    /// pages) and reports the first broken link: a stored hash that does not match the
    /// recomputed one, a `prev_hash` that is not the previous event's hash, or a gap in
    /// versions (and, for the whole log, in positions).
    pub async fn verify(&self, stream: Option<&str>) -> Result<VerifyReport, StoreError> {
        verify::verify(&self.inner.pool, stream).await
    }

    /// Closes the pool (and the PostgreSQL listener). Further operations fail.
    pub async fn close(&self) {
        let task = self.inner.listener.lock().ok().and_then(|mut g| g.take());
        if let Some(task) = task {
            task.abort();
        }
        match &self.inner.pool {
            DbPool::Sqlite(p) => p.close().await,
            DbPool::Postgres(p) => p.close().await,
        }
    }
}

struct SubState {
    store: EventStore,
    wake: watch::Receiver<u64>,
    after: u64,
    buf: VecDeque<Result<RecordedEvent, StoreError>>,
    done: bool,
}

/// Decodes rows, stopping after the first failure. Returns whether one failed.
fn decode_all(rows: Vec<StoredRow>) -> (Vec<Result<RecordedEvent, StoreError>>, bool) {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let item = row.into_event();
        let failed = item.is_err();
        out.push(item);
        if failed {
            return (out, true);
        }
    }
    (out, false)
}

/// Forwards PostgreSQL notifications to the in-process wake channel; reconnects forever (with
/// a pause) until the store is dropped or closed.
async fn listen_loop(mut listener: PgListener, weak: std::sync::Weak<Inner>, pool: PgPool) {
    loop {
        let res = listener.try_recv().await;
        let Some(inner) = weak.upgrade() else {
            return;
        };
        match res {
            Ok(Some(_)) => {
                while listener.next_buffered().is_some() {}
                bump(&inner.wake);
            }
            Ok(None) => {
                // Connection lost (and re-established): notifications may have been missed.
                bump(&inner.wake);
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "event listener failed; reconnecting");
                drop(inner);
                tokio::time::sleep(Duration::from_secs(1)).await;
                if pool.is_closed() {
                    return;
                }
                match PgListener::connect_with(&pool).await {
                    Ok(mut l) => {
                        if l.listen(NOTIFY_CHANNEL).await.is_ok() {
                            listener = l;
                            if let Some(inner) = weak.upgrade() {
                                bump(&inner.wake);
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "event listener reconnect failed"),
                }
            }
        }
    }
}

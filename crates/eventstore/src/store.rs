//! [`EventStore`]: connection, the public operations, subscriptions.

use std::any::{Any, TypeId};
use std::collections::{HashMap, VecDeque};
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
use tokio::sync::{oneshot, watch, Mutex};
use tokio::task::JoinHandle;

use crate::error::StoreError;
use crate::heads::HeadCache;
use crate::row::{fetch_page, Cursor, Fields, Source, StoredRow};
use crate::sqlite_pages::SqlitePages;
use crate::types::{
    AppendResult, ExpectedVersion, LogAnchor, LogFilter, NewEvent, RawEvent, RecordedEvent,
    VerifyReport,
};
use crate::verify;
use crate::write::{self, IdLookup, Prepared, WriteTx, NOTIFY_CHANNEL};

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Page size used internally by `read_stream`, `subscribe` and `verify`.
pub(crate) const PAGE: usize = 512;
/// Subscribers re-check the log at least this often even without a wake-up (covers writers in
/// other processes on SQLite and lost notifications on PostgreSQL).
const SAFETY_RECHECK: Duration = Duration::from_secs(3);
/// How many times a write is re-planned after losing a unique-key race.
const MAX_WRITE_ATTEMPTS: usize = 5;
/// A leader stops adding queued requests to its group transaction past this many events
/// (one bulk batch alone may exceed it).
const GROUP_MAX_EVENTS: usize = 10_000;

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
    /// What the layers above keep per handle (see [`EventStore::shared`]).
    shared: StdMutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    /// Appends waiting to be written (see [`EventStore::append_batch`]).
    queue: StdMutex<VecDeque<Job>>,
    /// Held by the leader writing a group: one write transaction at a time per process, so
    /// writers queue here instead of on the database lock (and never hit SQLite BUSY).
    leader: Arc<Mutex<()>>,
    /// Bumped after every local commit and every PostgreSQL NOTIFY: wakes subscribers.
    wake: watch::Sender<u64>,
    /// PostgreSQL: the LISTEN task feeding `wake`.
    listener: StdMutex<Option<JoinHandle<()>>>,
    /// Log and stream heads as this process last wrote them (see [`heads`](crate::heads)).
    /// Only the leader touches it.
    heads: StdMutex<HeadCache>,
    /// SQLite file: the direct page readers (see [`crate::sqlite_pages`]).
    pages: Option<Arc<SqlitePages>>,
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
        let mut pages = None;
        let (pool, backend) = if url.starts_with("sqlite:") {
            let memory = url.contains(":memory:") || url.contains("mode=memory");
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::InvalidUrl(format!("{url}: {e}")))?
                .create_if_missing(true)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            if !memory {
                pages = Some(Arc::new(SqlitePages::new(
                    opts.get_filename().to_path_buf(),
                )));
            }
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
                shared: StdMutex::new(HashMap::new()),
                queue: StdMutex::new(VecDeque::new()),
                leader: Arc::new(Mutex::new(())),
                wake,
                listener: StdMutex::new(None),
                heads: StdMutex::new(HeadCache::default()),
                pages,
            }),
        };
        store.backfill_log_chain().await?;
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

    /// The `T` kept with this handle and its clones: state the layers above derive from
    /// what they read through it (caches of read models, say), created on first use and
    /// dropped with the last clone. Two stores in one process never share it, and nothing
    /// outlives the store, so no reader needs a process-wide cache keyed by handle.
    pub fn shared<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut map = self
            .inner
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = map
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()));
        // Keyed by the type's id, so the entry is a `T`.
        Arc::clone(entry)
            .downcast::<T>()
            .unwrap_or_else(|_| Arc::new(T::default()))
    }

    /// The underlying pool, for projections' own tables.
    pub fn pool(&self) -> &DbPool {
        &self.inner.pool
    }

    /// Where this store's page reads go.
    pub(crate) fn source(&self) -> Source<'_> {
        Source {
            pool: &self.inner.pool,
            pages: self.inner.pages.as_ref(),
        }
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
    /// transaction, inserted with chunked multi-row INSERTs (`COPY` on PostgreSQL). Same
    /// guarantees as [`append`](Self::append) for each entry; if any entry fails (conflict,
    /// mismatch...) nothing of the batch is written. Results are in batch order.
    ///
    /// Group commit: requests arriving while another is being written queue up, and the next
    /// leader writes all of them in one transaction (one log lock, one commit), each with its
    /// own outcome, as if they had run one after the other in queue order.
    pub async fn append_batch(
        &self,
        batch: Vec<(String, ExpectedVersion, Vec<NewEvent>)>,
    ) -> Result<Vec<AppendResult>, StoreError> {
        // Validation and canonical JSON before queueing: CPU work stays outside the lock.
        let request = write::prepare(batch)?;
        if request.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, mut answer) = oneshot::channel();
        self.lock_queue()?.push_back(Job { request, reply });
        loop {
            // Wait for our answer and for the leadership at once: a request written by another
            // leader is answered without queueing for the mutex behind the rest of its group.
            let guard = tokio::select! {
                biased;
                result = &mut answer => {
                    return result.unwrap_or_else(|_| Err(StoreError::Interrupted));
                }
                guard = self.inner.leader.clone().lock_owned() => guard,
            };
            match answer.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => return Err(StoreError::Interrupted),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            // Writers just answered by the previous group are about to queue their next
            // append: let them in, so they join this group instead of waiting for the next.
            tokio::task::yield_now().await;
            let jobs = self.take_group()?;
            let store = self.clone();
            // Its own task: the other callers' requests in this group must be written and
            // answered even if this caller's future is dropped meanwhile. The guard goes
            // with it, so no other leader starts before this group is done.
            let task = tokio::spawn(async move {
                store.run_group(jobs).await;
                drop(guard);
            });
            // A panic there drops the replies: answered below as `Interrupted`.
            let _ = task.await;
            // Unless the group limit left our request queued, it is answered now.
        }
    }

    fn lock_queue(&self) -> Result<std::sync::MutexGuard<'_, VecDeque<Job>>, StoreError> {
        self.inner
            .queue
            .lock()
            .map_err(|_| StoreError::Corrupt("append queue poisoned by a panic".into()))
    }

    /// The next group: queued requests in order, up to [`GROUP_MAX_EVENTS`] (at least one).
    /// Requests whose caller is gone are dropped unwritten.
    fn take_group(&self) -> Result<Vec<Job>, StoreError> {
        let mut queue = self.lock_queue()?;
        let mut jobs = Vec::new();
        let mut events = 0;
        while let Some(job) = queue.front() {
            let n = job.request.event_count();
            if !jobs.is_empty() && events + n > GROUP_MAX_EVENTS {
                break;
            }
            if let Some(job) = queue.pop_front() {
                if job.reply.is_closed() {
                    continue;
                }
                events += n;
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    /// Writes `jobs` in one transaction and answers each. If that transaction fails as a
    /// whole (connection lost, a unique violation from a writer outside this process...),
    /// each request is retried in a transaction of its own, so one cannot fail another.
    async fn run_group(&self, jobs: Vec<Job>) {
        let requests: Vec<&Prepared> = jobs.iter().map(|j| &j.request).collect();
        match self.write_with_retry(&requests).await {
            Ok(results) => {
                for (job, result) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) if jobs.len() == 1 => {
                if let Some(job) = jobs.into_iter().next() {
                    let _ = job.reply.send(Err(e));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "group write failed; writing its requests one by one");
                for job in jobs {
                    let result = match self.write_with_retry(&[&job.request]).await {
                        Ok(mut results) => results.pop().unwrap_or_else(|| {
                            Err(StoreError::Corrupt("append produced no result".into()))
                        }),
                        Err(e) => Err(e),
                    };
                    let _ = job.reply.send(result);
                }
            }
        }
    }

    async fn write_with_retry(
        &self,
        requests: &[&Prepared],
    ) -> Result<Vec<Result<Vec<AppendResult>, StoreError>>, StoreError> {
        let bulk = requests.iter().map(|r| r.event_count()).sum::<usize>() > write::BULK_EVENTS;
        let mut id_lookup = if bulk {
            IdLookup::Optimistic
        } else {
            IdLookup::Lookup
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_write(requests, id_lookup).await {
                // An id already stored (or a race lost): plan again, looking ids up. It does
                // not count as a lost race.
                Err(e) if write::is_unique_violation(&e) && id_lookup == IdLookup::Optimistic => {
                    tracing::debug!("bulk append met a stored id or a race, re-planning");
                    id_lookup = IdLookup::Lookup;
                    attempt -= 1;
                    continue;
                }
                Err(e) if write::is_unique_violation(&e) && attempt < MAX_WRITE_ATTEMPTS => {
                    tracing::debug!(attempt, "append lost a unique-key race, re-planning");
                    continue;
                }
                other => return other,
            }
        }
    }

    async fn try_write(
        &self,
        requests: &[&Prepared],
        id_lookup: IdLookup,
    ) -> Result<Vec<Result<Vec<AppendResult>, StoreError>>, StoreError> {
        if let Some(results) = self.try_cached_write(requests).await? {
            return Ok(results);
        }
        let mut tx = match &self.inner.pool {
            DbPool::Sqlite(pool) => WriteTx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            DbPool::Postgres(pool) => {
                WriteTx::Postgres(pool.begin_with(write::pg_begin_and_lock()).await?)
            }
        };
        let cached = self.lock_heads().cached_heads(requests);
        let outcome = write::write_group(&mut tx, requests, id_lookup, cached).await?;
        tx.commit().await?;
        self.lock_heads().after_full_write(&outcome);
        if outcome.new_head.is_some() {
            bump(&self.inner.wake);
        }
        Ok(outcome.results)
    }

    /// The one-statement write of a small group planned from the head cache, or `None` if
    /// the group needs the full path (see [`heads`](crate::heads)).
    async fn try_cached_write(
        &self,
        requests: &[&Prepared],
    ) -> Result<Option<Vec<Result<Vec<AppendResult>, StoreError>>>, StoreError> {
        let Some(plan) = self.lock_heads().plan(requests) else {
            return Ok(None);
        };
        match plan.insert_if_unchanged(&self.inner.pool).await {
            Ok(true) => {
                let results = self.lock_heads().after_cached_write(plan);
                bump(&self.inner.wake);
                Ok(Some(results))
            }
            Ok(false) => Ok(None),
            Err(e) => {
                // One autocommit statement: it wrote nothing, or (if only its answer was
                // lost) rows the full path's lookup finds stored and reports as such.
                tracing::debug!(error = %e, "cached append refused; taking the full path");
                Ok(None)
            }
        }
    }

    /// The head cache. It only ever saves round trips, so a write that committed never
    /// fails because of it: if a panic poisoned it, it is emptied and used again.
    fn lock_heads(&self) -> std::sync::MutexGuard<'_, HeadCache> {
        self.inner.heads.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            *guard = HeadCache::default();
            self.inner.heads.clear_poison();
            guard
        })
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
            recorded_until(as_of),
            PAGE,
            StoredRow::into_event,
            Fields::All,
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
        self.paged(
            Cursor::All { after },
            recorded_until(as_of),
            batch_size.max(1),
            StoredRow::into_event,
            Fields::All,
        )
    }

    /// Like [`EventStore::read_all`], with both time bounds of `filter` applied by the
    /// database, and payloads left as their stored JSON text ([`RawEvent`]) for readers that
    /// decode them into their own types: the fast path of rebuilds and as-of folds.
    pub fn read_all_raw(
        &self,
        after: u64,
        filter: LogFilter,
        batch_size: usize,
    ) -> BoxStream<'static, Result<RawEvent, StoreError>> {
        self.paged(
            Cursor::All { after },
            filter,
            batch_size.max(1),
            StoredRow::into_raw,
            Fields::WithoutHashes,
        )
    }

    /// Pages through `cursor`. The next page is fetched and decoded on a task of its own
    /// while the caller works through the current one, so the database's work (and on
    /// PostgreSQL the row transfer and decoding) overlaps the caller's: at most two pages
    /// wait ahead of the caller.
    fn paged<T: Send + 'static>(
        &self,
        cursor: Cursor,
        filter: LogFilter,
        limit: usize,
        decode: fn(StoredRow) -> Result<T, StoreError>,
        fields: Fields,
    ) -> BoxStream<'static, Result<T, StoreError>> {
        let (tx, rx) = tokio::sync::mpsc::channel::<Page<T>>(1);
        let store = self.clone();
        tokio::spawn(async move {
            let mut cursor = Some(cursor);
            // A long global read switches to reading by position range after its first
            // full page (a `recorded_until` read usually ends long before the head).
            let mut may_range = filter.recorded_until.is_none();
            let mut first = true;
            while let Some(mut at) = cursor.take() {
                if let (Cursor::All { after }, true, false) = (&at, may_range, first) {
                    may_range = false;
                    match read_ranges(&store, *after, filter, limit, decode, fields, &tx).await {
                        Some(head) => at = Cursor::All { after: head },
                        None => return,
                    }
                }
                first = false;
                let items = match fetch_page(store.source(), &at, filter, limit, fields).await {
                    Ok(rows) => {
                        if rows.len() >= limit {
                            cursor = rows.last().map(|r| at.after_row(r));
                        }
                        let (items, failed) = decode_all(rows, decode);
                        if failed {
                            cursor = None;
                        }
                        items
                    }
                    Err(e) => vec![Err(e)],
                };
                if tx.send(Page::Items(items)).await.is_err() {
                    // The reader went away.
                    return;
                }
            }
            let _ = tx.send(Page::End).await;
        });
        // A read ends with `End`; a channel closed before it means the task reading ahead
        // died, and the reader gets an error instead of a silently shortened log.
        stream::unfold(Some(rx), |rx| async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(Page::Items(items)) => Some((stream::iter(items), Some(rx))),
                Some(Page::End) => None,
                None => Some((stream::iter(vec![Err(StoreError::Interrupted)]), None)),
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
                match fetch_page(
                    st.store.source(),
                    &cursor,
                    LogFilter::default(),
                    PAGE,
                    Fields::All,
                )
                .await
                {
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
                        let (items, _) = decode_all(rows, StoredRow::into_event);
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
    /// versions; and the log chain: a stored link missing or not matching the one
    /// recomputed from the event and the previous link (for one stream, the stored link
    /// just before each of its events). For the whole log also: a gap in positions, every
    /// link recomputed from position 1, and links past the last event (events deleted from
    /// the end).
    pub async fn verify(&self, stream: Option<&str>) -> Result<VerifyReport, StoreError> {
        verify::verify(self.source(), stream).await
    }

    /// The head of the log chain: the last position and its link, to publish as an anchor
    /// (position 0 and `""` for an empty log). Fails with [`StoreError::Corrupt`] when the
    /// chain does not end where the log does (see [`verify`](Self::verify)).
    pub async fn log_head(&self) -> Result<LogAnchor, StoreError> {
        let sql = "SELECT (SELECT COALESCE(MAX(position), 0) FROM events), \
                   (SELECT COALESCE(MAX(position), 0) FROM log_chain)";
        let (events, chain): (i64, i64) =
            crate::on_pool!(&self.inner.pool, |p| sqlx::query_as(sql).fetch_one(p).await)?;
        if events != chain {
            return Err(StoreError::Corrupt(format!(
                "the log ends at position {events} but its chain at position {chain}; \
                 run `seguimiento verify`"
            )));
        }
        let position = u64::try_from(events)
            .map_err(|_| StoreError::Corrupt(format!("negative position {events}")))?;
        let link = self.link_at(position).await?.unwrap_or_default();
        Ok(LogAnchor { position, link })
    }

    /// The stored log-chain link at `position`, if there is one.
    pub async fn link_at(&self, position: u64) -> Result<Option<String>, StoreError> {
        let at = crate::row::to_i64(position)?;
        let sql = "SELECT link FROM log_chain WHERE position = $1";
        Ok(crate::on_pool!(&self.inner.pool, |p| sqlx::query_scalar(
            sql
        )
        .bind(at)
        .fetch_optional(p)
        .await)?)
    }

    /// Whether the stored log still extends `anchor` (a head published earlier): `None` if
    /// it does, otherwise why not. This compares the stored link at the anchor's position;
    /// together with an intact [`verify`](Self::verify) of the whole log (every link
    /// recomputed from the events) it shows the log's first `anchor.position` events are
    /// exactly those the anchor was taken over.
    pub async fn check_anchor(&self, anchor: &LogAnchor) -> Result<Option<String>, StoreError> {
        if anchor.position == 0 {
            return Ok(None);
        }
        Ok(match self.link_at(anchor.position).await? {
            None => {
                let head = self.head_position().await?;
                Some(format!(
                    "the log ends at position {head}, before the anchor's position {}: \
                     events anchored were removed (truncated)",
                    anchor.position
                ))
            }
            Some(link) if link != anchor.link => Some(format!(
                "the link at position {} is {link}, not the anchor's {}: the log up to the \
                 anchor was rewritten or reordered",
                anchor.position, anchor.link
            )),
            Some(_) => None,
        })
    }

    /// Fills `log_chain` for events that have no link yet, in position order, continuing
    /// from the last link: a log written before the chain existed gets it on the first
    /// start after the upgrade (a migration cannot hash). Only ever extends the chain at
    /// its end, under the log lock; a chain that ends after the log is left alone for
    /// [`verify`](Self::verify) to report.
    async fn backfill_log_chain(&self) -> Result<(), StoreError> {
        let heads = "SELECT (SELECT COALESCE(MAX(position), 0) FROM events), \
                     (SELECT COALESCE(MAX(position), 0) FROM log_chain)";
        let (events, chain): (i64, i64) =
            crate::on_pool!(&self.inner.pool, |p| sqlx::query_as(heads)
                .fetch_one(p)
                .await)?;
        if chain >= events {
            return Ok(());
        }
        let mut tx = match &self.inner.pool {
            DbPool::Sqlite(pool) => WriteTx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            DbPool::Postgres(pool) => {
                WriteTx::Postgres(pool.begin_with(write::pg_begin_and_lock()).await?)
            }
        };
        let filled = tx.backfill_links().await?;
        tx.commit().await?;
        if filled > 0 {
            tracing::info!(links = filled, "log chain back-filled");
        }
        Ok(())
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
        if let Some(pages) = &self.inner.pages {
            pages.close();
        }
    }
}

/// A queued append and where its outcome goes.
struct Job {
    request: Prepared,
    reply: oneshot::Sender<Result<Vec<AppendResult>, StoreError>>,
}

struct SubState {
    store: EventStore,
    wake: watch::Receiver<u64>,
    after: u64,
    buf: VecDeque<Result<RecordedEvent, StoreError>>,
    done: bool,
}

/// Reads the log from `after` up to the current head in pages of known position ranges
/// (positions are dense), two at a time on two connections, so the database's work for one
/// page overlaps the decoding of the other. Returns the head to continue from, or `None`
/// when the read is over (an error was sent and the read ended, or the reader went away).
async fn read_ranges<T: Send + 'static>(
    store: &EventStore,
    after: u64,
    filter: LogFilter,
    limit: usize,
    decode: fn(StoredRow) -> Result<T, StoreError>,
    fields: Fields,
    tx: &tokio::sync::mpsc::Sender<Page<T>>,
) -> Option<u64> {
    let head = match store.head_position().await {
        Ok(head) => head,
        Err(e) => {
            let _ = tx.send(Page::Items(vec![Err(e)])).await;
            let _ = tx.send(Page::End).await;
            return None;
        }
    };
    let step = limit as u64;
    let ranges = (after..head).step_by(limit).map(|a| Cursor::Range {
        after: a,
        until: a.saturating_add(step).min(head),
    });
    // Each page is read and decoded on a task of its own: polled from this task, a page's
    // transfer stood still whenever this task was decoding or waiting for the reader.
    let mut pages = stream::iter(ranges)
        .map(|at| {
            let store = store.clone();
            tokio::spawn(async move {
                match fetch_page(store.source(), &at, filter, limit, fields).await {
                    Ok(rows) => decode_all(rows, decode),
                    Err(e) => (vec![Err(e)], true),
                }
            })
        })
        .buffered(2);
    while let Some(page) = pages.next().await {
        // A page task that panicked is reported, never skipped.
        let (items, failed) = page.unwrap_or_else(|_| (vec![Err(StoreError::Interrupted)], true));
        if tx.send(Page::Items(items)).await.is_err() {
            return None;
        }
        if failed {
            let _ = tx.send(Page::End).await;
            return None;
        }
    }
    Some(after.max(head))
}

/// What the read-ahead task of [`EventStore::paged`] hands over.
enum Page<T> {
    Items(Vec<Result<T, StoreError>>),
    End,
}

/// Decodes rows, stopping after the first failure. Returns whether one failed.
fn decode_all<T>(
    rows: Vec<StoredRow>,
    decode: fn(StoredRow) -> Result<T, StoreError>,
) -> (Vec<Result<T, StoreError>>, bool) {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let item = decode(row);
        let failed = item.is_err();
        out.push(item);
        if failed {
            return (out, true);
        }
    }
    (out, false)
}

fn recorded_until(as_of: Option<DateTime<Utc>>) -> LogFilter {
    LogFilter {
        recorded_until: as_of,
        ..LogFilter::default()
    }
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

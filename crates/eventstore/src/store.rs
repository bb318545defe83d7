//! [`EventStore`]: the façade over the log's rooms — opening the database (`pool`),
//! writing (`commit`, `write`), reading (`read`, `page`), following (`subscribe`) and
//! checking (`verify`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

use crate::commit::Committer;
use crate::error::StoreError;
use crate::page::{Cursor, Fields, PAGE};
use crate::pool::{self, Backend, DbPool};
use crate::read::{recorded_until, Reader};
use crate::row::{to_i64, StoredRow};
use crate::subscribe::{self, Wake};
use crate::types::{
    AppendResult, ExpectedVersion, LogAnchor, LogFilter, NewEvent, RawEvent, RecordedEvent,
    VerifyReport,
};
use crate::verify;

struct Inner {
    /// What the layers above keep per handle (see [`EventStore::shared`]).
    shared: StdMutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    committer: Arc<Committer>,
    reader: Reader,
    /// Wakes subscribers (and, on PostgreSQL, owns the `LISTEN` task).
    wake: Arc<Wake>,
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
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
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
        let opened = pool::open(url).await?;
        let wake = Arc::new(Wake::default());
        let committer = Arc::new(Committer::new(opened.pool.clone(), Arc::clone(&wake)));
        committer.backfill_log_chain().await?;
        if let DbPool::Postgres(pool) = &opened.pool {
            subscribe::listen(pool, &wake).await?;
        }
        Ok(EventStore {
            inner: Arc::new(Inner {
                shared: StdMutex::new(HashMap::new()),
                committer,
                reader: Reader {
                    pool: opened.pool,
                    pages: opened.pages,
                },
                wake,
            }),
        })
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.inner.reader.pool.backend()
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

    /// Where this store's page reads go.
    pub(crate) fn source(&self) -> crate::page::Source<'_> {
        self.inner.reader.source()
    }

    /// The underlying pool, for projections' own tables.
    pub fn pool(&self) -> &DbPool {
        &self.inner.reader.pool
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
        self.inner.committer.append_batch(batch).await
    }

    /// Events of `stream` with `version >= from_version`, in version order, optionally only
    /// those with `recorded_at <= as_of`. Read in pages; empty if the stream does not exist.
    pub fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        as_of: Option<DateTime<Utc>>,
    ) -> BoxStream<'static, Result<RecordedEvent, StoreError>> {
        self.inner.reader.paged(
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
        self.inner.reader.paged(
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
        self.inner.reader.paged(
            Cursor::All { after },
            filter,
            batch_size.max(1),
            StoredRow::into_raw,
            Fields::WithoutHashes,
        )
    }

    /// The position of the last event, 0 when the log is empty.
    pub async fn head_position(&self) -> Result<u64, StoreError> {
        self.inner.reader.head_position().await
    }

    /// The last version of `stream`, `None` if it has no events.
    pub async fn stream_version(&self, stream: &str) -> Result<Option<u64>, StoreError> {
        self.inner.reader.stream_version(stream).await
    }

    /// Names of all streams starting with `prefix` (case-sensitive, `""` = all), sorted.
    pub async fn list_streams(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.reader.list_streams(prefix).await
    }

    /// Catch-up then live: every event with position `> after`, in order with no gaps, then
    /// each new event as it commits. Wake-ups come from PostgreSQL `LISTEN/NOTIFY` (the
    /// listener is connected before the catch-up starts, so nothing committed in between is
    /// missed) or, on SQLite, from an in-process watch channel; in addition the log is
    /// re-checked every few seconds. Never ends unless reading fails: then it yields that
    /// error and ends.
    pub fn subscribe(&self, after: u64) -> BoxStream<'static, Result<RecordedEvent, StoreError>> {
        subscribe::follow(
            self.inner.reader.clone(),
            Arc::clone(&self.inner.wake),
            after,
        )
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
            crate::on_pool!(self.pool(), |p| sqlx::query_as(sql).fetch_one(p).await)?;
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
        let at = to_i64(position)?;
        let sql = "SELECT link FROM log_chain WHERE position = $1";
        Ok(crate::on_pool!(self.pool(), |p| sqlx::query_scalar(sql)
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

    /// Closes the pool (and the PostgreSQL listener). Further operations fail.
    pub async fn close(&self) {
        self.inner.wake.stop_listening();
        self.pool().close().await;
        if let Some(pages) = &self.inner.reader.pages {
            pages.close();
        }
    }
}

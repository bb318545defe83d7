//! Group commit: appends of this process queue up, and one of them at a time (the leader)
//! writes everything queued in one transaction, each request keeping its own outcome. Small
//! groups try the one-statement path of cached heads first (see `write::cached`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex as StdMutex, MutexGuard};

use tokio::sync::{oneshot, Mutex};

use crate::error::StoreError;
use crate::pool::DbPool;
use crate::subscribe::Wake;
use crate::types::{AppendResult, ExpectedVersion, NewEvent};
use crate::write::{self, HeadCache, IdLookup, Prepared, WriteTx};

/// How many times a write is re-planned after losing a unique-key race.
const MAX_WRITE_ATTEMPTS: usize = 5;
/// A leader stops adding queued requests to its group transaction past this many events
/// (one bulk batch alone may exceed it).
const GROUP_MAX_EVENTS: usize = 10_000;

/// What each request of a group gets back.
type Outcome = Result<Vec<AppendResult>, StoreError>;

/// A queued append and where its outcome goes.
struct Job {
    request: Prepared,
    reply: oneshot::Sender<Outcome>,
}

/// The writer of one store handle (and its clones).
pub(crate) struct Committer {
    pool: DbPool,
    /// Appends waiting to be written.
    queue: StdMutex<VecDeque<Job>>,
    /// Held by the leader writing a group: one write transaction at a time per process, so
    /// writers queue here instead of on the database lock (and never hit SQLite BUSY).
    leader: Arc<Mutex<()>>,
    /// Log and stream heads as this process last wrote them. Only the leader touches it.
    heads: StdMutex<HeadCache>,
    /// Bumped after every commit that appended something.
    wake: Arc<Wake>,
}

impl Committer {
    pub fn new(pool: DbPool, wake: Arc<Wake>) -> Self {
        Committer {
            pool,
            queue: StdMutex::new(VecDeque::new()),
            leader: Arc::new(Mutex::new(())),
            heads: StdMutex::new(HeadCache::default()),
            wake,
        }
    }

    /// Writes `batch` as one request (all or nothing), in a group with whatever else is
    /// queued (see [`EventStore::append_batch`](crate::EventStore::append_batch)).
    pub async fn append_batch(
        self: &Arc<Self>,
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
                guard = self.leader.clone().lock_owned() => guard,
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
            let committer = Arc::clone(self);
            // Its own task: the other callers' requests in this group must be written and
            // answered even if this caller's future is dropped meanwhile. The guard goes
            // with it, so no other leader starts before this group is done.
            let task = tokio::spawn(async move {
                committer.run_group(jobs).await;
                drop(guard);
            });
            // A panic there drops the replies: answered below as `Interrupted`.
            let _ = task.await;
            // Unless the group limit left our request queued, it is answered now.
        }
    }

    fn lock_queue(&self) -> Result<MutexGuard<'_, VecDeque<Job>>, StoreError> {
        self.queue
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

    async fn write_with_retry(&self, requests: &[&Prepared]) -> Result<Vec<Outcome>, StoreError> {
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
    ) -> Result<Vec<Outcome>, StoreError> {
        if let Some(results) = self.try_cached_write(requests).await? {
            return Ok(results);
        }
        let mut tx = WriteTx::begin(&self.pool).await?;
        let cached = self.lock_heads().cached_heads(requests);
        let outcome = write::write_group(&mut tx, requests, id_lookup, cached).await?;
        tx.commit().await?;
        self.lock_heads().after_full_write(&outcome);
        if outcome.new_head.is_some() {
            self.wake.bump();
        }
        Ok(outcome.results)
    }

    /// The one-statement write of a small group planned from the head cache, or `None` if
    /// the group needs the full path.
    async fn try_cached_write(
        &self,
        requests: &[&Prepared],
    ) -> Result<Option<Vec<Outcome>>, StoreError> {
        let Some(plan) = self.lock_heads().plan(requests) else {
            return Ok(None);
        };
        match plan.insert_if_unchanged(&self.pool).await {
            Ok(true) => {
                let results = self.lock_heads().after_cached_write(plan);
                self.wake.bump();
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
    fn lock_heads(&self) -> MutexGuard<'_, HeadCache> {
        self.heads.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            *guard = HeadCache::default();
            self.heads.clear_poison();
            guard
        })
    }

    /// Fills `log_chain` for events that have no link yet, in position order, continuing
    /// from the last link: a log written before the chain existed gets it on the first
    /// start after the upgrade (a migration cannot hash). Only ever extends the chain at
    /// its end, under the log lock; a chain that ends after the log is left alone for
    /// `verify` to report.
    pub async fn backfill_log_chain(&self) -> Result<(), StoreError> {
        let heads = "SELECT (SELECT COALESCE(MAX(position), 0) FROM events), \
                     (SELECT COALESCE(MAX(position), 0) FROM log_chain)";
        let (events, chain): (i64, i64) =
            crate::on_pool!(&self.pool, |p| sqlx::query_as(heads).fetch_one(p).await)?;
        if chain >= events {
            return Ok(());
        }
        let mut tx = WriteTx::begin(&self.pool).await?;
        let filled = tx.backfill_links().await?;
        tx.commit().await?;
        if filled > 0 {
            tracing::info!(links = filled, "log chain back-filled");
        }
        Ok(())
    }
}

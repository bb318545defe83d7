//! Live runner: one background task per projection follows the log (catch-up, then live),
//! folds events and, after every batch, writes the changed rows and the checkpoint in ONE
//! transaction. On startup (or after any error) it reloads the stored state and resumes
//! from the stored checkpoint, so an event is never applied twice nor skipped.
//!
//! An event the projector cannot fold (it does not decode, or `apply` refuses it) or whose
//! rows the database refuses (a data exception) would fail every retry alike. The runner
//! then folds one event per transaction up to it, so every event before it is stored, and
//! *stops at it*: the fault (position and error) is stored in `projection_faults` and shown
//! by [`LiveRunner::status`] (`seguimiento projections`, `/metrics`, GraphQL). The other
//! projections run on; reads of the stopped one are stale, and say so. It tries again every
//! `fault_retry`, so once the cause is fixed (an upcaster in a new release, a repaired
//! database) it resumes by itself and the fault is cleared.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use seguimiento_eventstore::EventStore;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::error::{ProjectionError, Result};
use crate::event::ProjectedEvent;
use crate::projector::DynProjector;
use crate::storage::{self, Guard};

/// Published after every committed batch: "projection X advanced to position P".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Advanced {
    pub projection: String,
    pub generation: i64,
    pub position: u64,
    /// Scopes whose figures may have changed in this batch (e.g. `CABINET_AGREEMENTS`).
    pub scopes: Vec<String>,
}

/// Health of one projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionStatus {
    pub name: String,
    /// Last log position folded into the active generation.
    pub checkpoint: u64,
    /// Last position of the log.
    pub head: u64,
    /// `head - checkpoint`.
    pub lag: u64,
    /// Active generation.
    pub generation: i64,
    /// Where the runner stopped, and why, when it cannot fold the next event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
}

/// The event a projection stopped at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub position: u64,
    /// Names the position and the event type, never the payload.
    pub error: String,
}

/// Tuning of the live runner.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Most events folded per transaction.
    pub batch_size: usize,
    /// First retry delay after an error (doubles up to `max_backoff`).
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Capacity of the notification channel.
    pub channel_capacity: usize,
    /// How often a runner stopped at a fault tries that event again.
    pub fault_retry: Duration,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            batch_size: super::DEFAULT_BATCH,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            channel_capacity: 1024,
            fault_retry: Duration::from_secs(30),
        }
    }
}

#[derive(Default)]
struct Progress {
    checkpoint: AtomicU64,
    generation: AtomicI64,
    fault: std::sync::Mutex<Option<Fault>>,
}

impl Progress {
    fn fault(&self) -> Option<Fault> {
        self.fault.lock().ok().and_then(|f| f.clone())
    }

    fn set_fault(&self, fault: Option<Fault>) {
        if let Ok(mut f) = self.fault.lock() {
            *f = fault;
        }
    }
}

/// Handle on the background tasks; dropping it stops them.
pub struct LiveRunner {
    store: EventStore,
    names: Vec<&'static str>,
    tasks: Vec<JoinHandle<()>>,
    progress: Vec<Arc<Progress>>,
    notify: broadcast::Sender<Advanced>,
}

impl LiveRunner {
    /// Starts every registered projection (see [`crate::registry::all`]).
    pub async fn start(store: EventStore) -> Result<Self> {
        Self::start_with(store, crate::registry::all(), LiveConfig::default()).await
    }

    /// Starts the given projections. Creates the read-model tables and the projections'
    /// first generation when missing.
    pub async fn start_with(
        store: EventStore,
        projectors: Vec<Box<dyn DynProjector>>,
        config: LiveConfig,
    ) -> Result<Self> {
        storage::ensure_schema(store.pool()).await?;
        let (notify, _) = broadcast::channel(config.channel_capacity.max(1));
        let mut runner = LiveRunner {
            store: store.clone(),
            names: Vec::new(),
            tasks: Vec::new(),
            progress: Vec::new(),
            notify: notify.clone(),
        };
        for p in projectors {
            storage::init_projection(&store, p.name()).await?;
            let progress = Arc::new(Progress::default());
            runner.names.push(p.name());
            runner.progress.push(progress.clone());
            let task = tokio::spawn(run_forever(
                store.clone(),
                p,
                config.clone(),
                notify.clone(),
                progress,
            ));
            runner.tasks.push(task);
        }
        Ok(runner)
    }

    /// Notifications of committed batches.
    pub fn subscribe(&self) -> broadcast::Receiver<Advanced> {
        self.notify.subscribe()
    }

    /// Names of the projections this runner follows.
    pub fn projections(&self) -> &[&'static str] {
        &self.names
    }

    /// Checkpoint, head, lag and generation of every projection, read from storage.
    pub async fn status(&self) -> Result<Vec<ProjectionStatus>> {
        status_of(&self.store, &self.names).await
    }

    /// The last position this runner committed for `projection` (in memory, no I/O).
    pub fn committed_position(&self, projection: &str) -> Option<u64> {
        let i = self.names.iter().position(|n| *n == projection)?;
        Some(self.progress[i].checkpoint.load(Ordering::SeqCst))
    }

    /// Where `projection` stopped, if this runner stopped it at a fault (in memory).
    pub fn fault(&self, projection: &str) -> Option<Fault> {
        let i = self.names.iter().position(|n| *n == projection)?;
        self.progress[i].fault()
    }

    /// Whether any projection of this runner is stopped at a fault.
    pub fn any_fault(&self) -> bool {
        self.progress.iter().any(|p| p.fault().is_some())
    }

    /// Waits until every projection has committed `position` (read-your-writes for
    /// callers that just appended), or the timeout passes (`false`). A projection stopped
    /// at a fault at or before `position` cannot get there, and is not waited for.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.progress.iter().all(|p| {
                p.checkpoint.load(Ordering::SeqCst) >= position
                    || p.fault().is_some_and(|f| f.position <= position)
            }) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the tasks at once (an in-flight transaction is rolled back, never half
    /// applied).
    pub fn abort(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }

    /// Stops the tasks and waits for them to end.
    pub async fn shutdown(mut self) {
        self.abort();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for LiveRunner {
    fn drop(&mut self) {
        self.abort();
    }
}

/// Checkpoint, head, lag and generation of the named projections, read from storage.
pub async fn status_of(store: &EventStore, names: &[&str]) -> Result<Vec<ProjectionStatus>> {
    let head = store.head_position().await?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let generation = storage::active_generation(store.pool(), name)
            .await?
            .unwrap_or(0);
        let checkpoint = storage::checkpoint(store.pool(), name, generation).await?;
        let fault = storage::fault(store.pool(), name)
            .await?
            .map(|(position, error)| Fault { position, error });
        out.push(ProjectionStatus {
            name: (*name).to_owned(),
            checkpoint,
            head,
            lag: head.saturating_sub(checkpoint),
            generation,
            fault,
        });
    }
    Ok(out)
}

async fn run_forever(
    store: EventStore,
    projector: Box<dyn DynProjector>,
    config: LiveConfig,
    notify: broadcast::Sender<Advanced>,
    progress: Arc<Progress>,
) {
    let mut backoff = config.min_backoff;
    // Fold one event per transaction up to this position: to find (or retry) the event
    // a fault stops at.
    let mut single_step: Option<u64> = None;
    loop {
        let batch_size = if single_step.is_some() {
            1
        } else {
            config.batch_size
        };
        let run = run_once(
            &store,
            projector.as_ref(),
            batch_size,
            single_step,
            &notify,
            &progress,
        );
        match run.await {
            Err(ProjectionError::Stalled {
                position, reason, ..
            }) if single_step.is_none() => {
                tracing::info!(
                    projection = projector.name(),
                    position,
                    error = %reason,
                    "cannot fold an event; folding one event at a time up to it"
                );
                single_step = Some(position);
            }
            Err(ProjectionError::Stalled {
                position, reason, ..
            }) => {
                // Error texts name projections, positions and event types, never payloads.
                tracing::error!(
                    projection = projector.name(),
                    position,
                    error = %reason,
                    retry_in_s = config.fault_retry.as_secs(),
                    "projection stopped at an event it cannot fold; the others run on"
                );
                single_step = Some(position);
                tokio::time::sleep(config.fault_retry).await;
            }
            Err(ProjectionError::GenerationSwitched { active, .. }) => {
                tracing::info!(
                    projection = projector.name(),
                    generation = active,
                    "active generation switched; reloading"
                );
                backoff = config.min_backoff;
            }
            Err(ProjectionError::CheckpointMoved { expected, .. }) => {
                tracing::info!(
                    projection = projector.name(),
                    expected,
                    "checkpoint moved by another writer; reloading"
                );
                tokio::time::sleep(config.min_backoff).await;
            }
            Err(e) => {
                // Error texts name projections, positions and event types, never payloads.
                tracing::warn!(
                    projection = projector.name(),
                    error = %e,
                    retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                    "projection runner failed; retrying from the stored checkpoint"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(config.max_backoff);
            }
            Ok(()) => {
                // Past the fault: back to whole batches at once. Otherwise the
                // subscription ended without an error: resubscribe.
                if single_step.take().is_none() {
                    tokio::time::sleep(config.min_backoff).await;
                }
            }
        }
    }
}

/// Whether a database error is about the data written (SQLSTATE class 22, e.g. a NUL
/// byte PostgreSQL will not store), so retrying the same rows cannot succeed.
fn is_data_error(e: &ProjectionError) -> bool {
    match e {
        ProjectionError::Database(sqlx::Error::Database(d)) => {
            d.code().is_some_and(|c| c.starts_with("22"))
        }
        _ => false,
    }
}

/// Records (in storage and in memory) that the runner stopped at `position`.
async fn stop_at(
    pool: &seguimiento_eventstore::DbPool,
    name: &'static str,
    progress: &Progress,
    position: u64,
    reason: String,
) -> Result<()> {
    storage::record_fault(pool, name, position, &reason).await?;
    progress.set_fault(Some(Fault {
        position,
        error: reason.clone(),
    }));
    Err(ProjectionError::Stalled {
        projection: name.to_owned(),
        position,
        reason,
    })
}

/// Runs a database operation in its own task so cancelling the caller cannot interrupt
/// it between statements.
async fn detached<T: Send + 'static>(
    fut: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    tokio::spawn(fut)
        .await
        .map_err(|e| ProjectionError::Task(e.to_string()))?
}

/// Loads the stored state and follows the log until an error, or until it has folded
/// `until` when given. Each batch is committed with its checkpoint; in-memory state is
/// discarded on any error.
async fn run_once(
    store: &EventStore,
    projector: &dyn DynProjector,
    batch_size: usize,
    until: Option<u64>,
    notify: &broadcast::Sender<Advanced>,
    progress: &Progress,
) -> Result<()> {
    let name = projector.name();
    let pool = store.pool().clone();
    let s = store.clone();
    let (generation, mut position, docs) = detached(async move {
        storage::init_projection(&s, name).await?;
        storage::load_active(s.pool(), name).await
    })
    .await?
    .ok_or_else(|| ProjectionError::UnknownProjection(name.to_owned()))?;
    let mut state = projector.load(docs)?;
    progress.generation.store(generation, Ordering::SeqCst);
    progress.checkpoint.store(position, Ordering::SeqCst);
    // A fault stored by an earlier run (of this or another process) shows until this
    // runner folds past it.
    let stored = storage::fault(&pool, name).await?;
    match stored {
        Some((at, _)) if at <= position => {
            storage::clear_fault(&pool, name).await?;
            progress.set_fault(None);
        }
        Some((at, error)) => progress.set_fault(Some(Fault {
            position: at,
            error,
        })),
        None => progress.set_fault(None),
    }
    let mut events = store.subscribe(position).ready_chunks(batch_size.max(1));
    while let Some(batch) = events.next().await {
        let mut scopes = BTreeSet::new();
        let mut last = position;
        let mut failure = None;
        for item in batch {
            match item {
                Ok(rec) => {
                    if rec.position <= last {
                        continue;
                    }
                    let folded = ProjectedEvent::decode(&rec).and_then(|ev| {
                        state.apply(&ev)?;
                        Ok(ev)
                    });
                    let ev = match folded {
                        Ok(ev) => ev,
                        // First of its batch: nothing else is lost with the state, so
                        // stop here. Later in a batch, `apply` may have left the state
                        // half changed, so nothing of the batch is stored and the caller
                        // retries one event at a time.
                        Err(e) if last == position => {
                            return stop_at(&pool, name, progress, rec.position, e.to_string())
                                .await;
                        }
                        Err(e) => {
                            return Err(ProjectionError::Stalled {
                                projection: name.to_owned(),
                                position: rec.position,
                                reason: e.to_string(),
                            })
                        }
                    };
                    scopes.extend(state.scopes(&ev));
                    last = rec.position;
                }
                Err(e) => {
                    // Commit what was folded before the failure, then report it.
                    failure = Some(e);
                    break;
                }
            }
        }
        if last > position {
            let changes = state.drain_changes()?;
            let s = store.clone();
            let from = position;
            // Detached: aborting the runner can never cancel a transaction half-way
            // (which could leave a connection holding a lock); the checkpoint
            // compare-and-set makes a flush that outlives its runner harmless.
            let flushed = detached(async move {
                storage::flush(
                    &s,
                    name,
                    generation,
                    &changes,
                    from,
                    last,
                    Guard::MustBeActive,
                )
                .await
            })
            .await;
            match flushed {
                Ok(()) => {}
                // The database refuses these rows: one event alone is the culprit;
                // several are retried one at a time to find it.
                Err(e) if is_data_error(&e) && last == from + 1 => {
                    return stop_at(&pool, name, progress, last, e.to_string()).await;
                }
                Err(e) if is_data_error(&e) => {
                    return Err(ProjectionError::Stalled {
                        projection: name.to_owned(),
                        position: from + 1,
                        reason: e.to_string(),
                    })
                }
                Err(e) => return Err(e),
            }
            position = last;
            if progress.fault().is_some_and(|f| f.position <= position) {
                storage::clear_fault(&pool, name).await?;
                progress.set_fault(None);
            }
            progress.checkpoint.store(position, Ordering::SeqCst);
            // Nobody listening is fine.
            let _ = notify.send(Advanced {
                projection: name.to_owned(),
                generation,
                position,
                scopes: scopes.into_iter().collect(),
            });
        }
        if let Some(e) = failure {
            return Err(e.into());
        }
        if until.is_some_and(|u| position >= u) {
            return Ok(());
        }
    }
    Ok(())
}

//! Live runner: one background task per projection follows the log (catch-up, then live),
//! folds events and, after every batch, writes the changed rows and the checkpoint in ONE
//! transaction. On startup (or after any error) it reloads the stored state and resumes
//! from the stored checkpoint, so an event is never applied twice nor skipped.

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
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            batch_size: super::DEFAULT_BATCH,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            channel_capacity: 1024,
        }
    }
}

#[derive(Default)]
struct Progress {
    checkpoint: AtomicU64,
    generation: AtomicI64,
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
            storage::init_projection(store.pool(), p.name()).await?;
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

    /// Waits until every projection has committed `position` (read-your-writes for
    /// callers that just appended), or the timeout passes (`false`).
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self
                .progress
                .iter()
                .all(|p| p.checkpoint.load(Ordering::SeqCst) >= position)
            {
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
        out.push(ProjectionStatus {
            name: (*name).to_owned(),
            checkpoint,
            head,
            lag: head.saturating_sub(checkpoint),
            generation,
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
    loop {
        match run_once(&store, projector.as_ref(), &config, &notify, &progress).await {
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
                // The subscription ended without an error: resubscribe.
                tokio::time::sleep(config.min_backoff).await;
            }
        }
    }
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

/// Loads the stored state and follows the log until an error. Each batch is committed
/// with its checkpoint; in-memory state is discarded on any error.
async fn run_once(
    store: &EventStore,
    projector: &dyn DynProjector,
    config: &LiveConfig,
    notify: &broadcast::Sender<Advanced>,
    progress: &Progress,
) -> Result<()> {
    let name = projector.name();
    let pool = store.pool().clone();
    let p = pool.clone();
    let (generation, mut position, docs) = detached(async move {
        storage::init_projection(&p, name).await?;
        storage::load_active(&p, name).await
    })
    .await?
    .ok_or_else(|| ProjectionError::UnknownProjection(name.to_owned()))?;
    let mut state = projector.load(docs)?;
    progress.generation.store(generation, Ordering::SeqCst);
    progress.checkpoint.store(position, Ordering::SeqCst);
    let mut events = store
        .subscribe(position)
        .ready_chunks(config.batch_size.max(1));
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
                    let ev = ProjectedEvent::decode(&rec)?;
                    state.apply(&ev)?;
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
            let p = pool.clone();
            let from = position;
            // Detached: aborting the runner can never cancel a transaction half-way
            // (which could leave a connection holding a lock); the checkpoint
            // compare-and-set makes a flush that outlives its runner harmless.
            detached(async move {
                storage::flush(
                    &p,
                    name,
                    generation,
                    &changes,
                    from,
                    last,
                    Guard::MustBeActive,
                )
                .await
            })
            .await?;
            position = last;
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
    }
    Ok(())
}

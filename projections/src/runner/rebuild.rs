//! Rebuild: fold a projection from position 0 into a fresh generation while the active
//! one keeps serving, then switch atomically (one transaction writes the last rows, the
//! checkpoint and flips the active pointer) and drop the old generation. Readers only
//! ever see a complete generation.

use futures::StreamExt;
use seguimiento_domain::AggregateKind;
use seguimiento_eventstore::{EventStore, LogFilter};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::projector::{skipped_types, DynProjector, DynState};
use crate::storage::{self, Guard};

/// Outcome of a rebuild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildReport {
    pub projection: String,
    pub old_generation: Option<i64>,
    pub new_generation: i64,
    /// Log position the new generation was switched in at.
    pub position: u64,
    pub events_folded: u64,
}

/// A generation being built, not yet served. Call [`Rebuild::switch`] to activate it.
pub struct Rebuild {
    store: EventStore,
    name: &'static str,
    generation: i64,
    state: Box<dyn DynState>,
    position: u64,
    /// Checkpoint stored for the new generation.
    flushed: u64,
    events: u64,
    /// Events folded between two writes to the new generation.
    flush_every: u64,
    /// [`crate::Projector::READS`].
    reads: &'static [AggregateKind],
}

impl Rebuild {
    /// Starts a new generation and folds the whole log up to its current head into it
    /// (rows are written to the new generation every `flush_every` events; the active one
    /// is untouched).
    pub async fn prepare(
        store: &EventStore,
        projector: &dyn DynProjector,
        flush_every: u64,
    ) -> Result<Rebuild> {
        let mut rebuild = Rebuild::start(store, projector, flush_every).await?;
        catch_up(std::slice::from_mut(&mut rebuild), true).await?;
        Ok(rebuild)
    }

    /// Starts an empty new generation at position 0.
    async fn start(
        store: &EventStore,
        projector: &dyn DynProjector,
        flush_every: u64,
    ) -> Result<Rebuild> {
        let generation = storage::new_generation(store.pool(), projector.name()).await?;
        Ok(Rebuild {
            store: store.clone(),
            name: projector.name(),
            generation,
            state: projector.empty(),
            position: 0,
            flushed: 0,
            events: 0,
            flush_every: flush_every.max(1),
            reads: projector.reads(),
        })
    }

    /// The generation being built.
    pub fn generation(&self) -> i64 {
        self.generation
    }

    /// Position folded so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Takes the changes folded since the last flush, as a write to the (inactive) new
    /// generation for [`Flush::run`].
    fn take_flush(&mut self) -> Result<Flush> {
        let flush = Flush {
            store: self.store.clone(),
            name: self.name,
            generation: self.generation,
            changes: self.state.drain_changes()?,
            from: self.flushed,
            position: self.position,
        };
        self.flushed = self.position;
        Ok(flush)
    }

    /// Catches up to the head, then in ONE transaction writes the remaining rows, the
    /// checkpoint and makes the new generation active; finally drops older generations.
    pub async fn switch(mut self) -> Result<RebuildReport> {
        let pool = self.store.pool().clone();
        let old = storage::active_generation(&pool, self.name).await?;
        catch_up(std::slice::from_mut(&mut self), false).await?;
        let changes = self.state.drain_changes()?;
        storage::flush(
            &self.store,
            self.name,
            self.generation,
            &changes,
            self.flushed,
            self.position,
            Guard::Activate,
        )
        .await?;
        for g in storage::inactive_generations(&pool, self.name).await? {
            if g < self.generation {
                storage::drop_generation(&pool, self.name, g, true).await?;
            }
        }
        tracing::info!(
            projection = self.name,
            generation = self.generation,
            position = self.position,
            "rebuilt projection switched in"
        );
        Ok(RebuildReport {
            projection: self.name.to_owned(),
            old_generation: old,
            new_generation: self.generation,
            position: self.position,
            events_folded: self.events,
        })
    }

    /// Gives up: drops the half-built generation (the active one is untouched).
    pub async fn abandon(self) -> Result<()> {
        storage::drop_generation(self.store.pool(), self.name, self.generation, true).await
    }
}

/// Folds the events after the rebuilds' positions up to the head into each of them, reading
/// and decoding every event once however many projections are being built; with `write`
/// each batch's changes are written to the new generations.
async fn catch_up(builds: &mut [Rebuild], write: bool) -> Result<()> {
    let Some(from) = builds.iter().map(|b| b.position).min() else {
        return Ok(());
    };
    let store = builds[0].store.clone();
    // The database skips the types of the kinds no build reads.
    let reads: Vec<AggregateKind> = builds.iter().flat_map(|b| b.reads).copied().collect();
    let filter = LogFilter {
        skip_types: skipped_types(&reads).into(),
        ..LogFilter::default()
    };
    // Every event up to this head is committed, so the read below sees all of them: a
    // filtered read may end before it, and the builds are still caught up to it.
    let head = store.head_position().await?;
    let mut batches = super::scan::decoded(&store, from, filter);
    let mut pending = None;
    let folded = fold_batches(builds, &mut batches, write, &mut pending).await;
    // Whatever happened, a write still running ends before this returns: nothing may write
    // to a generation once the caller has it back (to switch it in or drop it).
    let written = wait(pending).await;
    folded?;
    written?;
    for b in builds.iter_mut() {
        b.position = b.position.max(head);
    }
    Ok(())
}

/// The changes a rebuild folded between two flushes, written to its new generation.
struct Flush {
    store: EventStore,
    name: &'static str,
    generation: i64,
    changes: Vec<crate::projector::RowChange>,
    from: u64,
    position: u64,
}

impl Flush {
    async fn run(self) -> Result<()> {
        storage::flush(
            &self.store,
            self.name,
            self.generation,
            &self.changes,
            self.from,
            self.position,
            Guard::Building,
        )
        .await
    }
}

/// Folds every batch into the builds. With `write`, every `flush_every` events the changes
/// are written on a task of their own while the fold goes on (on PostgreSQL the writes
/// are mostly the server's work, which otherwise left the fold waiting); one write at a
/// time, in order, so each continues from the checkpoint the previous one stored.
async fn fold_batches(
    builds: &mut [Rebuild],
    batches: &mut futures::stream::BoxStream<'static, Result<Vec<crate::ProjectedEvent>>>,
    write: bool,
    pending: &mut Option<tokio::task::JoinHandle<Result<()>>>,
) -> Result<()> {
    let mut unflushed = 0u64;
    while let Some(batch) = batches.next().await {
        for ev in batch? {
            for b in builds.iter_mut().filter(|b| ev.position > b.position) {
                b.state.apply(&ev)?;
                b.position = ev.position;
                b.events += 1;
            }
            unflushed += 1;
        }
        if write && unflushed >= builds[0].flush_every {
            wait(pending.take()).await?;
            let flushes = builds
                .iter_mut()
                .map(Rebuild::take_flush)
                .collect::<Result<Vec<_>>>()?;
            *pending = Some(tokio::spawn(async move {
                for f in flushes {
                    f.run().await?;
                }
                Ok(())
            }));
            unflushed = 0;
        }
    }
    Ok(())
}

/// The outcome of a write started by [`fold_batches`], if any.
async fn wait(pending: Option<tokio::task::JoinHandle<Result<()>>>) -> Result<()> {
    match pending {
        None => Ok(()),
        Some(task) => task.await.unwrap_or_else(|_| {
            Err(crate::error::ProjectionError::Store(
                seguimiento_eventstore::StoreError::Interrupted,
            ))
        }),
    }
}

/// Rebuilds one projection from position 0 and switches it in.
pub async fn rebuild(store: &EventStore, projector: &dyn DynProjector) -> Result<RebuildReport> {
    Rebuild::prepare(
        store,
        projector,
        super::rebuild_flush_every(store.backend()),
    )
    .await?
    .switch()
    .await
}

/// Rebuilds every registered projection from one read of the log (each event is read and
/// decoded once and folded into every new generation), then switches each in.
pub async fn rebuild_all(store: &EventStore) -> Result<Vec<RebuildReport>> {
    let projectors = crate::registry::all();
    let flush_every = super::rebuild_flush_every(store.backend());
    let mut builds = Vec::with_capacity(projectors.len());
    for p in &projectors {
        builds.push(Rebuild::start(store, p.as_ref(), flush_every).await?);
    }
    // One pass over the log feeds every new generation.
    catch_up(&mut builds, true).await?;
    let mut out = Vec::with_capacity(builds.len());
    for b in builds {
        out.push(b.switch().await?);
    }
    Ok(out)
}

/// Rebuilds the projection registered under `name`.
pub async fn rebuild_named(store: &EventStore, name: &str) -> Result<RebuildReport> {
    let p = crate::registry::by_name(name)?;
    rebuild(store, p.as_ref()).await
}

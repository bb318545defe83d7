//! As-of runner: folds a projection in memory for a past view of the log, without
//! touching the live tables.
//!
//! - `as_of`: only events *recorded* at or before T (what the system showed then; uses
//!   the store's as-of read);
//! - `effective_at`: only events that *took effect* at or before T, as known now.
//!
//! Both may be combined.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use seguimiento_eventstore::{EventStore, LogFilter};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::event::ProjectedEvent;
use crate::projector::{rows_from_docs, skipped_types, Projector};
use crate::rows::Rows;
use crate::storage;

/// Which view of the log a query reads. `View::default()` is the live read model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    /// recorded_at ≤ T: what the system showed at T.
    pub as_of: Option<DateTime<Utc>>,
    /// effective_at ≤ T: what was true at T, as known now.
    pub effective_at: Option<DateTime<Utc>>,
}

impl View {
    pub const LIVE: View = View {
        as_of: None,
        effective_at: None,
    };

    pub fn is_live(&self) -> bool {
        self.as_of.is_none() && self.effective_at.is_none()
    }

    /// Whether an event belongs to this view.
    pub fn includes(&self, ev: &ProjectedEvent) -> bool {
        self.as_of.is_none_or(|t| ev.recorded_at <= t)
            && self.effective_at.is_none_or(|t| ev.effective_at <= t)
    }

    /// The instant the view describes (the later bound if both are set), for "overdue"
    /// style questions; `None` for live.
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        match (self.as_of, self.effective_at) {
            (Some(a), Some(e)) => Some(a.min(e)),
            (a, e) => a.or(e),
        }
    }
}

/// Folds projection `P` from the whole log for `view`, in memory.
pub async fn fold_view<P: Projector>(store: &EventStore, view: View) -> Result<Rows<P::Row>> {
    let mut rows = Rows::new();
    // The database applies both bounds and skips the types of the kinds the fold does not
    // read: those events are never read or decoded.
    let filter = LogFilter {
        recorded_until: view.as_of,
        effective_until: view.effective_at,
        skip_types: skipped_types(P::READS).into(),
    };
    let mut batches = super::scan::decoded(store, 0, filter);
    while let Some(batch) = batches.next().await {
        for ev in batch? {
            if view.includes(&ev) {
                P::apply(&mut rows, &ev)?;
            }
        }
    }
    rows.take_dirty();
    Ok(rows)
}

/// Longest a live read trusts the (generation, checkpoint) it last read from storage
/// before reading it again. A checkpoint moved by this process (the live runner, a
/// rebuild) is seen at once (see [`storage::live_rows_moved`]); one moved by another process (a
/// `seguimiento rebuild`, a second server's runner) is seen within this bound.
pub const RECHECK_INTERVAL: Duration = Duration::from_millis(100);

/// What live reads keep per store handle ([`EventStore::shared`]): the (generation,
/// checkpoint) last read of each projection, one refresh at a time per projection, and the
/// decoded live rows. One entry per registered
/// projection at most, so its memory is bounded by the read models themselves.
#[derive(Default)]
struct LiveState {
    seen: RwLock<HashMap<&'static str, Seen>>,
    refreshing: Mutex<HashMap<&'static str, Arc<tokio::sync::Mutex<()>>>>,
    rows: Mutex<HashMap<&'static str, CacheEntry>>,
}

/// The (generation, checkpoint) last read of a projection.
struct Seen {
    version: Option<(i64, u64)>,
    /// [`storage::moves`] when the read started: a move since then makes it
    /// untrustworthy.
    moves: u64,
    at: tokio::time::Instant,
}

impl LiveState {
    /// The version last read for `name`, if it is recent and no move happened since.
    fn trusted(&self, name: &str, moves: u64) -> Option<Option<(i64, u64)>> {
        let seen = self.seen.read().ok()?;
        let s = seen.get(name)?;
        (s.moves == moves && s.at.elapsed() < RECHECK_INTERVAL).then_some(s.version)
    }

    fn cached<P: Projector>(&self, current: (i64, u64)) -> Option<Arc<Rows<P::Row>>> {
        let cache = self.rows.lock().ok()?;
        let (at, rows) = cache.get(P::NAME)?;
        if *at != current {
            return None;
        }
        rows.clone().downcast::<Rows<P::Row>>().ok()
    }
}

/// The active (generation, checkpoint) of projection `name` (`None`: not initialized),
/// read from storage at most every [`RECHECK_INTERVAL`] unless this handle moved a
/// projection since. Live queries, and caches of their answers, key on this pair.
pub async fn live_version(store: &EventStore, name: &'static str) -> Result<Option<(i64, u64)>> {
    let state = store.shared::<LiveState>();
    if let Some(version) = state.trusted(name, storage::moves(store)) {
        return Ok(version);
    }
    // One reader refreshes; the others wait for it and take its answer. Without this,
    // every request arriving once the interval ran out read storage at once (64 clients:
    // 64 queries queued on the pool), and those requests made the p99 latency.
    let refresh = state
        .refreshing
        .lock()
        .map(|mut locks| locks.entry(name).or_default().clone())
        .unwrap_or_default();
    let _refreshing = refresh.lock().await;
    let moves = storage::moves(store);
    if let Some(version) = state.trusted(name, moves) {
        return Ok(version);
    }
    let at = tokio::time::Instant::now();
    let version = storage::active_checkpoint(store.pool(), name).await?;
    if let Ok(mut seen) = state.seen.write() {
        // A slower read must not replace a newer one.
        let newer = seen
            .get(name)
            .is_some_and(|s| s.moves > moves || (s.moves == moves && s.at > at));
        if !newer {
            seen.insert(name, Seen { version, moves, at });
        }
    }
    Ok(version)
}

/// The state of projection `P` for `view`: the active generation's rows when live (an
/// uninitialized projection reads as empty), an in-memory fold otherwise.
///
/// Live rows are decoded once per committed checkpoint and shared: rows and checkpoint
/// change together in one transaction, so a copy tagged with the (generation, checkpoint)
/// it was read at is exact for as long as that pair is the stored one. Which pair is
/// current comes from [`live_version`], so a live query costs no statement at all while
/// the projection stands still, and at most one per [`RECHECK_INTERVAL`].
pub async fn load<P: Projector>(store: &EventStore, view: View) -> Result<Arc<Rows<P::Row>>> {
    if !view.is_live() {
        return Ok(Arc::new(fold_view::<P>(store, view).await?));
    }
    let Some(current) = live_version(store, P::NAME).await? else {
        return Ok(Arc::new(Rows::new()));
    };
    let state = store.shared::<LiveState>();
    if let Some(rows) = state.cached::<P>(current) {
        return Ok(rows);
    }
    let Some((generation, checkpoint, docs)) = storage::load_active(store.pool(), P::NAME).await?
    else {
        return Ok(Arc::new(Rows::new()));
    };
    let rows = Arc::new(rows_from_docs::<P>(docs)?);
    if let Ok(mut cache) = state.rows.lock() {
        cache.insert(P::NAME, ((generation, checkpoint), rows.clone()));
    }
    Ok(rows)
}

/// Decoded live rows, tagged with the (generation, checkpoint) they were read at.
type CacheEntry = ((i64, u64), Arc<dyn Any + Send + Sync>);

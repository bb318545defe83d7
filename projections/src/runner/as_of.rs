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
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use seguimiento_eventstore::EventStore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::event::ProjectedEvent;
use crate::projector::{rows_from_docs, Projector};
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
    let mut stream = store.read_all(0, view.as_of, super::DEFAULT_BATCH);
    while let Some(rec) = stream.next().await {
        let rec = rec?;
        let ev = ProjectedEvent::decode(&rec)?;
        if view.includes(&ev) {
            P::apply(&mut rows, &ev)?;
        }
    }
    rows.take_dirty();
    Ok(rows)
}

/// The state of projection `P` for `view`: the active generation's rows when live (an
/// uninitialized projection reads as empty), an in-memory fold otherwise.
///
/// Live rows are decoded once per committed checkpoint and shared: rows and checkpoint
/// change together in one transaction, so a copy tagged with the (generation, checkpoint)
/// it was read at is exact for as long as that pair is the stored one. Each live query
/// therefore costs one small statement unless the projection moved.
pub async fn load<P: Projector>(store: &EventStore, view: View) -> Result<Arc<Rows<P::Row>>> {
    if !view.is_live() {
        return Ok(Arc::new(fold_view::<P>(store, view).await?));
    }
    let key = (store.instance_id(), P::NAME);
    let Some(current) = storage::active_checkpoint(store.pool(), P::NAME).await? else {
        return Ok(Arc::new(Rows::new()));
    };
    if let Some(rows) = cached::<P>(key, current) {
        return Ok(rows);
    }
    let Some((generation, checkpoint, docs)) = storage::load_active(store.pool(), P::NAME).await?
    else {
        return Ok(Arc::new(Rows::new()));
    };
    let rows = Arc::new(rows_from_docs::<P>(docs)?);
    if let Ok(mut cache) = LIVE_CACHE.lock() {
        cache.insert(key, ((generation, checkpoint), rows.clone()));
    }
    Ok(rows)
}

type CacheKey = (Uuid, &'static str);
type CacheEntry = ((i64, u64), Arc<dyn Any + Send + Sync>);

/// Decoded live rows per (store handle, projection), tagged with their checkpoint.
static LIVE_CACHE: LazyLock<Mutex<HashMap<CacheKey, CacheEntry>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn cached<P: Projector>(key: CacheKey, current: (i64, u64)) -> Option<Arc<Rows<P::Row>>> {
    let cache = LIVE_CACHE.lock().ok()?;
    let (at, rows) = cache.get(&key)?;
    if *at != current {
        return None;
    }
    rows.clone().downcast::<Rows<P::Row>>().ok()
}

//! Figures 3 and 4: full log read + deserialise vs a raw streaming SELECT; rebuild of all
//! projections.

use futures::TryStreamExt as _;
use seguimiento_eventstore::{EventStore, LogFilter};
use seguimiento_projections::runner::scan;

use super::timed;
use crate::raw;

/// Events/s of the full-log scan the projections' rebuilds and as-of folds use
/// (`runner::scan::decoded`): `read_all_raw` (payload kept as stored text, the next page
/// read ahead) decoded by `ProjectedEvent::decode_raw` (one parse straight into the typed
/// `DomainEvent`) on a task of its own, in the same page size.
pub async fn read_and_decode(store: &EventStore) -> anyhow::Result<(u64, f64)> {
    let (res, secs) = timed(async {
        let mut batches = scan::decoded(store, 0, LogFilter::default());
        let mut n = 0u64;
        while let Some(batch) = batches.try_next().await? {
            n += batch.len() as u64;
            std::hint::black_box(batch);
        }
        anyhow::Ok(n)
    })
    .await;
    let n = res?;
    Ok((n, n as f64 / secs))
}

/// Rows/s of a raw streaming SELECT of the same rows (`url`: the store's database).
pub async fn raw_select(store: &EventStore, url: &str) -> anyhow::Result<f64> {
    let (res, secs) = timed(raw::select_all(store.pool(), url, "events")).await;
    Ok(res? as f64 / secs)
}

/// Events/s (log events ÷ wall time) of rebuilding every registered projection.
pub async fn rebuild_all(store: &EventStore, events: u64) -> anyhow::Result<(f64, usize)> {
    seguimiento_projections::storage::ensure_schema(store.pool()).await?;
    let (res, secs) = timed(seguimiento_projections::rebuild_all(store)).await;
    let reports = res?;
    Ok((events as f64 / secs, reports.len()))
}

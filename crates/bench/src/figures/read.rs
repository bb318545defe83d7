//! Figures 3 and 4: full log read + deserialise vs a raw streaming SELECT; rebuild of all
//! projections.

use futures::TryStreamExt as _;
use seguimiento_domain::DomainEvent;
use seguimiento_eventstore::EventStore;

use super::timed;
use crate::raw;

/// Page size of the log read (the projections' default batch).
pub const READ_BATCH: usize = 500;

/// Events/s of `read_all` + `DomainEvent::from_stored` over the whole log.
pub async fn read_and_decode(store: &EventStore) -> anyhow::Result<(u64, f64)> {
    let (res, secs) = timed(async {
        let mut stream = store.read_all(0, None, READ_BATCH);
        let mut n = 0u64;
        while let Some(e) = stream.try_next().await? {
            let ev = DomainEvent::from_stored(&e.event_type, e.schema_version, e.payload)?;
            std::hint::black_box(&ev);
            n += 1;
        }
        anyhow::Ok(n)
    })
    .await;
    let n = res?;
    Ok((n, n as f64 / secs))
}

/// Rows/s of a raw streaming SELECT of the same rows.
pub async fn raw_select(store: &EventStore) -> anyhow::Result<f64> {
    let (res, secs) = timed(raw::select_all(store.pool(), "events")).await;
    Ok(res? as f64 / secs)
}

/// Events/s (log events ÷ wall time) of rebuilding every registered projection.
pub async fn rebuild_all(store: &EventStore, events: u64) -> anyhow::Result<(f64, usize)> {
    seguimiento_projections::storage::ensure_schema(store.pool()).await?;
    let (res, secs) = timed(seguimiento_projections::rebuild_all(store)).await;
    let reports = res?;
    Ok((events as f64 / secs, reports.len()))
}

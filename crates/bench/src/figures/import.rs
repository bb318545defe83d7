//! Figure 2: bulk import with `append_batch` vs raw multi-row INSERT / COPY.

use seguimiento_eventstore::{EventStore, ExpectedVersion, NewEvent};

use super::timed;
use crate::dataset::BenchEvent;
use crate::raw::{self, RawRow};

/// Events per `append_batch` call (one transaction), as the importer does.
pub const CHUNK_EVENTS: usize = 5_000;

type Batch = Vec<(String, ExpectedVersion, Vec<NewEvent>)>;

/// The batches of `events`: consecutive events of one stream form one entry, each entry
/// expecting the stream's previous version.
pub fn batches(events: &[BenchEvent]) -> Vec<Batch> {
    let mut out = Vec::new();
    for chunk in events.chunks(CHUNK_EVENTS) {
        let mut batch: Batch = Vec::new();
        for e in chunk {
            match batch.last_mut() {
                Some((stream, _, evs)) if *stream == e.stream => evs.push(e.event.clone()),
                _ => {
                    let expected = match e.version {
                        0 => ExpectedVersion::NoStream,
                        v => ExpectedVersion::Exact(v - 1),
                    };
                    batch.push((e.stream.clone(), expected, vec![e.event.clone()]));
                }
            }
        }
        out.push(batch);
    }
    out
}

/// Events/s of importing `events` into an empty store.
pub async fn store_import(store: &EventStore, events: &[BenchEvent]) -> anyhow::Result<f64> {
    let batches = batches(events);
    let (res, secs) = timed(async {
        for b in batches {
            store.append_batch(b).await?;
        }
        anyhow::Ok(())
    })
    .await;
    res?;
    Ok(events.len() as f64 / secs)
}

/// Rows/s of the raw bulk insert of the same rows into the baseline table (dropped
/// afterwards so later reads see only `events`).
pub async fn raw_import(store: &EventStore, events: &[BenchEvent]) -> anyhow::Result<f64> {
    let rows = RawRow::of(events);
    raw::create_table(store.pool()).await?;
    let (res, secs) = timed(raw::insert_bulk(store.pool(), &rows, CHUNK_EVENTS)).await;
    res?;
    raw::drop_table(store.pool()).await?;
    Ok(rows.len() as f64 / secs)
}

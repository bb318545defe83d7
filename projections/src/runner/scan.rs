//! The full-log scan of rebuilds and as-of folds: the log read in pages and decoded into
//! [`ProjectedEvent`]s on a task of its own, so decoding the next page overlaps folding
//! this one (the store already reads a page ahead, see `EventStore::read_all_raw`).

use futures::stream::{self, BoxStream, StreamExt};
use seguimiento_eventstore::{EventStore, LogFilter};

use crate::error::{ProjectionError, Result};
use crate::event::ProjectedEvent;

/// What the decoding task hands over.
enum Batch {
    Events(Result<Vec<ProjectedEvent>>),
    End,
}

/// The events after position `after` within `filter`, decoded, in log order, in batches of
/// at most [`super::SCAN_BATCH`]. The first error (a read failure or an event the domain
/// cannot decode) ends the scan.
pub fn decoded(
    store: &EventStore,
    after: u64,
    filter: LogFilter,
) -> BoxStream<'static, Result<Vec<ProjectedEvent>>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Batch>(1);
    let mut raw = store
        .read_all_raw(after, filter, super::SCAN_BATCH)
        .ready_chunks(super::SCAN_BATCH);
    tokio::spawn(async move {
        while let Some(chunk) = raw.next().await {
            let events = chunk
                .into_iter()
                .map(|rec| ProjectedEvent::decode_raw(rec?))
                .collect::<Result<Vec<_>>>();
            let failed = events.is_err();
            if tx.send(Batch::Events(events)).await.is_err() || failed {
                return;
            }
        }
        let _ = tx.send(Batch::End).await;
    });
    // A scan ends with `End`: a channel closed before it means the decoding task died,
    // which must not pass for the end of the log.
    stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Some(Batch::Events(Ok(events))) => Some((Ok(events), Some(rx))),
            Some(Batch::Events(Err(e))) => Some((Err(e), None)),
            Some(Batch::End) => None,
            None => Some((Err(interrupted()), None)),
        }
    })
    .boxed()
}

fn interrupted() -> ProjectionError {
    ProjectionError::Store(seguimiento_eventstore::StoreError::Interrupted)
}

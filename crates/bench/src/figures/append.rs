//! Figure 1: one event per transaction, 1 and 8 concurrent writers on distinct streams, and
//! 8 writers racing on one stream (retrying on conflict), vs raw single-row INSERTs.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seguimiento_eventstore::{EventStore, ExpectedVersion, NewEvent, StoreError};
use uuid::Uuid;

use crate::dataset::BenchEvent;
use crate::raw::{self, RawRow};

/// Events per stream in the distinct-streams variants.
const PER_STREAM: usize = 10;

/// How the writers share streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Each writer its own streams.
    Distinct,
    /// Every writer on one stream.
    OneStream,
}

/// One writer's work: (stream, version in the raw baseline, event with a fresh id).
type Work = Vec<(String, i64, NewEvent)>;

fn plan(
    source: &[BenchEvent],
    writers: usize,
    per_writer: usize,
    layout: Layout,
    tag: &str,
) -> Vec<Work> {
    (0..writers)
        .map(|w| {
            (0..per_writer)
                .map(|j| {
                    let src = &source[(w * per_writer + j) % source.len().max(1)];
                    let mut event = src.event.clone();
                    event.id = Uuid::new_v4();
                    let (stream, version) = match layout {
                        Layout::Distinct => (
                            format!("bench-{tag}-{w}-{}", j / PER_STREAM),
                            (j % PER_STREAM) as i64,
                        ),
                        Layout::OneStream => (format!("bench-{tag}-hot"), 0),
                    };
                    (stream, version, event)
                })
                .collect()
        })
        .collect()
}

/// Result of one variant: events/s and conflicts retried.
#[derive(Debug, Clone, Copy)]
pub struct Tps {
    pub tps: f64,
    pub conflicts: u64,
}

/// Store appends: `writers` tasks, up to `per_writer` events each, stopping at `limit`.
pub async fn store_append(
    store: &EventStore,
    source: &[BenchEvent],
    writers: usize,
    per_writer: usize,
    layout: Layout,
    limit: Duration,
) -> anyhow::Result<Tps> {
    anyhow::ensure!(!source.is_empty(), "no events to append");
    let tag = Uuid::new_v4().simple().to_string();
    let work = plan(source, writers, per_writer, layout, &tag);
    let start = Instant::now();
    let deadline = start + limit;
    let mut tasks = Vec::new();
    for items in work {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            let mut conflicts = 0u64;
            let mut known: Option<u64> = None;
            for (stream, _, event) in items {
                if Instant::now() >= deadline {
                    break;
                }
                loop {
                    let expected = match (layout, known) {
                        (Layout::Distinct, _) => ExpectedVersion::Any,
                        (Layout::OneStream, None) => ExpectedVersion::NoStream,
                        (Layout::OneStream, Some(v)) => ExpectedVersion::Exact(v),
                    };
                    match store.append(&stream, expected, vec![event.clone()]).await {
                        Ok(r) => {
                            known = Some(r.last_version);
                            break;
                        }
                        Err(StoreError::Conflict { actual, .. }) => {
                            conflicts += 1;
                            known = actual;
                        }
                        Err(e) => return Err(anyhow::Error::from(e)),
                    }
                }
                done += 1;
            }
            anyhow::Ok((done, conflicts))
        }));
    }
    let mut done = 0;
    let mut conflicts = 0;
    for t in tasks {
        let (d, c) = t.await??;
        done += d;
        conflicts += c;
    }
    Ok(Tps {
        tps: done as f64 / start.elapsed().as_secs_f64(),
        conflicts,
    })
}

/// Raw single-row INSERTs of the same rows into the baseline table, same writers.
pub async fn raw_append(
    store: &EventStore,
    source: &[BenchEvent],
    writers: usize,
    per_writer: usize,
    layout: Layout,
    limit: Duration,
) -> anyhow::Result<f64> {
    anyhow::ensure!(!source.is_empty(), "no events to insert");
    raw::create_table(store.pool()).await?;
    let tag = Uuid::new_v4().simple().to_string();
    let work = plan(source, writers, per_writer, layout, &tag);
    let position = Arc::new(AtomicI64::new(1));
    let hot_version = Arc::new(AtomicI64::new(0));
    let start = Instant::now();
    let deadline = start + limit;
    let mut tasks = Vec::new();
    for items in work {
        let pool = store.pool().clone();
        let position = position.clone();
        let hot_version = hot_version.clone();
        let rows: Vec<RawRow> = items
            .iter()
            .map(|(stream, version, event)| {
                let e = BenchEvent {
                    stream: stream.clone(),
                    version: 0,
                    event: event.clone(),
                };
                RawRow::new(0, stream, *version, &e, event.id)
            })
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            for mut row in rows {
                if Instant::now() >= deadline {
                    break;
                }
                row.position = position.fetch_add(1, Ordering::SeqCst);
                if layout == Layout::OneStream {
                    row.version = hot_version.fetch_add(1, Ordering::SeqCst);
                }
                raw::insert_one(&pool, &row).await?;
                done += 1;
            }
            anyhow::Ok(done)
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await??;
    }
    let tps = done as f64 / start.elapsed().as_secs_f64();
    raw::drop_table(store.pool()).await?;
    Ok(tps)
}

//! The three runners of the same folds: [`live`], [`rebuild`] and [`as_of`].

pub mod as_of;
pub mod live;
pub mod rebuild;
pub mod scan;

/// How many events a runner folds between two writes.
pub const DEFAULT_BATCH: usize = 500;

/// Page size of full-log scans (rebuilds, as-of folds): fewer, larger queries.
pub const SCAN_BATCH: usize = 5_000;

/// How many events a rebuild folds between two writes to its new generation. The state is
/// in memory anyway; writing rarely lets a row changed by many events be written once.
/// SQLite's writes hold its single write lock, so they stay short there; PostgreSQL's do
/// not block other writers (the rows belong to a generation nobody reads yet), and since
/// writes overlap the fold fewer, larger ones rebuild faster (measured with the rebuild
/// figure of `seguimiento-bench`).
pub fn rebuild_flush_every(backend: seguimiento_eventstore::Backend) -> u64 {
    match backend {
        seguimiento_eventstore::Backend::Sqlite => 50_000,
        seguimiento_eventstore::Backend::Postgres => 200_000,
    }
}

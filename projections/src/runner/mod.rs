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
/// in memory anyway; writing rarely lets a row changed by many events be written once,
/// while keeping each write transaction (which holds SQLite's single write lock) short.
pub const REBUILD_FLUSH_EVERY: u64 = 50_000;

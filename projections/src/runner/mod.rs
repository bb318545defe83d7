//! The three runners of the same folds: [`live`], [`rebuild`] and [`as_of`].

pub mod as_of;
pub mod live;
pub mod rebuild;

/// How many events a runner folds between two writes.
pub const DEFAULT_BATCH: usize = 500;

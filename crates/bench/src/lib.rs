//! # seguimiento-bench
//!
//! Benchmarks of `seguimiento` on SQLite and PostgreSQL, each figure beside a baseline
//! measured in the same run (a raw SQL equivalent without store logic, or a plain axum
//! handler), written as a Markdown table (see `BENCHMARKS.md`).
//!
//! ## Layout
//! - [`config`]: sizes and their parameters.
//! - [`dataset`]: realistic domain events (the `seguimiento gen` generator or the 2023 demo
//!   dataset, decided through the domain in memory).
//! - [`db`]: throw-away databases (SQLite temp file, uniquely named PostgreSQL database).
//! - [`raw`]: the baseline table and raw INSERT / COPY / SELECT.
//! - [`figures`]: one module per measured figure.
//! - [`suite`]: runs every figure on one backend.
//! - [`report`]: figures, targets and the Markdown table; [`machine`]: machine facts.

pub mod config;
pub mod dataset;
pub mod db;
pub mod figures;
pub mod machine;
pub mod raw;
pub mod report;
pub mod suite;

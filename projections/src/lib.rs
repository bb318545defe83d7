//! Read models of `seguimiento` as pure folds over the event log (proyecciones).
//!
//! A [`Projector`] folds [`ProjectedEvent`]s (a decoded domain event plus its envelope)
//! into keyed rows ([`Rows`]); the same fold runs in three runners:
//!
//! 1. **Live** ([`LiveRunner`]): background task per projection; after each batch the
//!    changed rows and the checkpoint are written in one transaction; resumes from the
//!    stored checkpoint; publishes [`Advanced`] notifications; [`LiveRunner::status`]
//!    reports lag.
//! 2. **Rebuild** ([`rebuild`], [`Rebuild`]): from position 0 into a fresh generation
//!    while the old one serves, then an atomic switch.
//! 3. **As of** ([`View`], [`fold_view`]): in memory for a past view (recorded ≤ T and/or
//!    effective ≤ T), without touching live tables.
//!
//! Queries take a [`View`] (`View::LIVE` reads the active generation) and return plain
//! serde structs.
//!
//! # Layout
//! - `error`: [`ProjectionError`].
//! - `event`: [`ProjectedEvent`] and decoding (`DomainEvent::from_stored`; an undecodable
//!   event is an error, never skipped).
//! - `rows`: [`Rows`], keyed state with dirty tracking.
//! - `projector`: the [`Projector`] trait and its type-erased form for runners.
//! - `registry`: [`registry::all`], the registered projections.
//! - `storage`: the read-model tables (`read_model_rows`, `projection_checkpoints`,
//!   `projection_active`), same SQL on SQLite and PostgreSQL.
//! - `runner::{live, rebuild, as_of}`: the three runners.
//! - `models`: the read models —
//!   `compliance` (projector: catalog, meetings, agreements, commitments, actions,
//!   activities) with queries `semaforo` (three scopes + `explain`), `cabinet`
//!   (per meeting type + summary), `commitments`; `correspondence` (monthly DGGD/OEE
//!   table, per-agency turn times); `petitions` (monthly, tours, goal). A stream's history is
//!   read by the API (`crates/api/src/types/history.rs`), not projected.
//!
//! The 2023 dataset whose folds reproduce the published tables lives in
//! `seguimiento-fixtures`; the tests fold it (`tests/fixtures.rs`).
//!
//! # Adding a projection
//! 1. Write `models/<name>.rs` with a unit struct implementing [`Projector`] (a `NAME`,
//!    the aggregate kinds it `READS`, a serde `Row` type, a pure `apply`), plus query
//!    functions over `Rows<Row>` and an async `query(store, view, ..)` calling [`load`].
//! 2. Add `pub mod <name>;` in `models/mod.rs` and one line `erase::<Name>()` in
//!    [`registry::all`]. Live running, rebuild, as-of and status come for free.

pub mod error;
pub mod event;
#[cfg(feature = "graphql")]
mod graphql;
#[cfg(feature = "graphql")]
use async_graphql::SimpleObject as Gql;
pub mod models;
pub mod projector;
pub mod registry;
pub mod rows;
pub mod runner;
pub mod storage;

pub use error::{ProjectionError, Result};
pub use event::ProjectedEvent;
pub use models::semaforo::Scope;
pub use projector::{fold, skipped_types, DynProjector, DynState, Projector};
pub use rows::Rows;
pub use runner::as_of::{fold_view, live_version, load, View, RECHECK_INTERVAL};
pub use runner::live::{status_of, Advanced, Fault, LiveConfig, LiveRunner, ProjectionStatus};
pub use runner::rebuild::{rebuild, rebuild_all, rebuild_named, Rebuild, RebuildReport};
pub use storage::live_rows_moved;

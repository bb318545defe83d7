//! # seguimiento-eventstore
//!
//! The append-only, hash-chained event log every other crate builds on, over SQLite (single
//! node, tests, offline) or PostgreSQL (production), behind one API: [`EventStore`].
//!
//! ## Guarantees
//!
//! - **Streams and versions.** Every event belongs to a stream; versions are 0-based and dense
//!   per stream. The unique key `(stream, version)` enforces optimistic concurrency:
//!   [`ExpectedVersion`] `Any` / `NoStream` / `Exact(n)` and a typed
//!   [`StoreError::Conflict`] when it does not hold — racing writers cannot both win.
//! - **Global order.** Positions are 1-based, dense and strictly increasing *in commit order*
//!   on both backends, so a reader tailing `position > n` never skips an event that commits
//!   later with a smaller number (PostgreSQL: positions are assigned under a
//!   transaction-scoped advisory lock, see `write`; SQLite: one writer at a time;
//!   small appends planned from cached heads insert only if the log head has not moved, and
//!   collide on the primary key with any concurrent writer).
//! - **Atomicity.** An [`append`](EventStore::append) or a whole
//!   [`append_batch`](EventStore::append_batch) is one transaction: all or nothing.
//! - **Envelope.** `recorded_at` is set by the store (UTC, truncated to microseconds so both
//!   backends round-trip it exactly, non-decreasing along positions); `effective_at` defaults
//!   to it.
//! - **Idempotency.** Re-appending an event id with identical content is a no-op returning the
//!   original positions (a retried request gets the same [`AppendResult`]); the same id with
//!   different content is [`StoreError::IdempotencyMismatch`].
//! - **Immutability.** Database triggers reject `UPDATE` and `DELETE` (and `TRUNCATE` on
//!   PostgreSQL) on `events` and `log_chain`; this crate never issues them.
//! - **Tamper evidence.** Each event stores `prev_hash` (its stream predecessor's hash) and a
//!   SHA-256 `hash` over a canonical encoding of its envelope (see [`hash`]). A second chain
//!   runs over the whole log in position order: table `log_chain` keeps, per position, a
//!   SHA-256 *link* over the position, stream, version, event hash and the previous link,
//!   written in the same transaction as the event and as append-only.
//!   [`verify`](EventStore::verify) recomputes both and reports the first broken position; the head
//!   link ([`log_head`](EventStore::log_head)), kept outside the database, is an anchor that
//!   [`check_anchor`](EventStore::check_anchor) tests a later log against (a rewrite of
//!   the whole log with every hash and link recomputed, or a truncation of its tail, is
//!   only visible that way).
//! - **Subscriptions.** [`subscribe`](EventStore::subscribe) catches up then follows the log
//!   live (PostgreSQL `LISTEN/NOTIFY` on [`NOTIFY_CHANNEL`]; in-process wake-ups on SQLite),
//!   without tight polling and without missing events committed during catch-up.
//! - **Migrations** in `migrations/{sqlite,postgres}` are embedded and applied by
//!   [`EventStore::connect`]; other crates add their own tables there (see
//!   `migrations/README.md` for the numbering scheme).
//!
//! ## Layout
//!
//! - [`types`] — the envelope contract (`NewEvent`, `RecordedEvent`, ...).
//! - `store` — [`EventStore`], the façade every operation goes through.
//! - `pool` — [`Backend`], [`DbPool`]: opening either database with its migrations.
//! - `commit` — group commit: the queue of appends and the leader that writes them.
//! - `write` — one write: `prepare` (validation, canonical JSON), `tx` (the log lock,
//!   lookup, inserts), `plan` (versions, positions, hashes, links in memory), `sql`
//!   (statements and `COPY`), `cached` (small appends planned from cached heads).
//! - `read`, `page` — paged reads fetched and decoded ahead; `sqlite_pages` reads a
//!   SQLite file through rusqlite (not sqlx's rows); `row` decodes a stored row.
//! - `subscribe` — catch-up then live, and PostgreSQL's `LISTEN` loop.
//! - `verify` — hash-chain and log-chain verification.
//! - [`hash`] — canonical JSON, timestamp format, the event hash and log link.
//! - [`error`] — [`StoreError`].
//! - `testing` (feature `testing`) — throw-away SQLite/PostgreSQL stores for tests, and
//!   what benchmarks share with the store.

mod commit;
pub mod error;
pub mod hash;
mod page;
mod pool;
mod read;
mod row;
mod sqlite_pages;
mod store;
mod subscribe;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;
mod verify;
mod write;

pub use error::StoreError;
pub use pool::{keep_prepared, Backend, DbPool};
pub use store::EventStore;
pub use types::{
    AppendResult, BrokenLink, ExpectedVersion, LogAnchor, LogFilter, Metadata, NewEvent, RawEvent,
    RecordedEvent, VerifyReport,
};
pub use write::{ADVISORY_LOCK_KEY, NOTIFY_CHANNEL};

/// Runs the same sqlx code on whichever pool a [`DbPool`] holds. With runtime-checked
/// queries and `$n` placeholders (which SQLite accepts too) most statements are identical
/// on both backends; this saves writing the match at every call site.
///
/// ```ignore
/// let n: (i64,) = on_pool!(store.pool(), |p| sqlx::query_as("SELECT 1").fetch_one(p).await)?;
/// ```
#[macro_export]
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::DbPool::Sqlite($p) => $body,
            $crate::DbPool::Postgres($p) => $body,
        }
    };
}

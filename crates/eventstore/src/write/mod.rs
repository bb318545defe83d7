//! The write path: planning appends (idempotency, expected versions, hash chain) and
//! inserting them inside one transaction, on either backend.
//!
//! # Ordering and concurrency
//!
//! Every write goes through [`EventStore`](crate::EventStore)'s committer (`commit`): concurrent
//! appends of this process queue up, and one of them (the leader) writes everything queued
//! in ONE transaction (*group commit*), while each request keeps its own outcome. A write
//! transaction does, in order:
//! 1. `BEGIN` and take the *log lock* — PostgreSQL: `pg_advisory_xact_lock(ADVISORY_LOCK_KEY)`
//!    sent with the `BEGIN` (one round trip) and held until the transaction ends; SQLite: the
//!    database write lock of `BEGIN IMMEDIATE` (the committer already keeps this process's
//!    writers from queueing on `SQLITE_BUSY`);
//! 2. one lookup, in a statement after the lock (under READ COMMITTED a new statement takes
//!    a fresh snapshot, so it sees every transaction that held the lock before us): the
//!    stored rows of the requests' event ids (idempotency; bulk groups skip this on their
//!    first attempt, see [`IdLookup`]), the head `(version, hash)` of every stream involved
//!    and the log head `(max position, its recorded_at)`;
//! 3. in memory, request after request: check ids and expected versions against what is
//!    stored *plus what the earlier requests of the group add*, assign positions
//!    `head+1, head+2, ...`, `recorded_at = max(now, head.recorded_at)` truncated to
//!    microseconds, hashes, and log-chain links continuing from the link at the head. A request that fails (conflict, mismatch) is left out; the
//!    others go on, exactly as if they had run one after the other;
//! 4. insert the rows (PostgreSQL: `COPY` for bulk writes, otherwise one multi-row `INSERT`
//!    that also sends the `pg_notify`; SQLite: multi-row `INSERT`s) and their links into
//!    `log_chain` (PostgreSQL: in the statement that notifies, from two arrays; SQLite:
//!    multi-row `INSERT`s), `COMMIT`.
//!
//! Because the log lock is released only after the commit is visible, transactions obtain
//! positions in commit order and each one continues from its predecessor's max: positions are
//! dense and a reader of `position > n` can never see `n+2` before `n+1` (no gaps to skip).
//! `recorded_at` is non-decreasing along positions, so `as_of` reads are prefixes of the log.
//!
//! Small groups usually skip steps 1, 2 and the explicit transaction: they are planned from
//! the heads this process cached after its previous write and inserted by one statement that
//! only inserts if the log head has not moved (see [`cached`]).
//!
//! Planning reads happen under the lock, so a doomed writer (stale expected version) is
//! refused in memory without inserting anything. The unique keys `(stream, version)` and
//! `id` still enforce optimistic concurrency and idempotency against anything that writes
//! without the lock: a unique violation aborts the transaction and the store re-plans
//! against the now-committed state.

mod cached;
mod plan;
mod prepare;
mod sql;
mod tx;

use uuid::Uuid;

use crate::error::StoreError;

pub(crate) use cached::HeadCache;
#[cfg(test)]
pub(crate) use plan::test_event;
pub(crate) use plan::{CachedHeads, GroupOutcome, IdLookup, BULK_EVENTS};
pub(crate) use prepare::{prepare, Prepared};
#[cfg(feature = "testing")]
pub use sql::copy_escape;
pub use sql::{ADVISORY_LOCK_KEY, NOTIFY_CHANNEL};
pub(crate) use tx::WriteTx;

use plan::{streams_to_look_up, LogState};

/// Plans and inserts a group of requests inside `tx` (opened with the log lock held; the
/// caller commits). A request that cannot be appended gets its error in
/// [`GroupOutcome::results`] and writes nothing; an `Err` of the whole call means the
/// transaction failed and must not be committed.
pub(crate) async fn write_group(
    tx: &mut WriteTx,
    requests: &[&Prepared],
    id_lookup: IdLookup,
    cached: Option<CachedHeads>,
) -> Result<GroupOutcome, StoreError> {
    let mut id_lookup = id_lookup;
    let mut cached = cached;
    let mut backfilled = false;
    loop {
        let mut streams = streams_to_look_up(requests, id_lookup);
        if let Some(c) = &cached {
            streams.retain(|s| !c.heads.contains_key(s));
        }
        let ids: Vec<Uuid> = match id_lookup {
            IdLookup::Lookup => requests
                .iter()
                .flat_map(|r| &r.entries)
                .flat_map(|e| e.events.iter().map(|ev| ev.id))
                .collect(),
            IdLookup::Optimistic => Vec::new(),
        };
        let mut found = tx.lookup(&ids, &streams).await?;
        if let Some(c) = cached.take() {
            if c.log_position != found.log_head.position {
                // Appended meanwhile (another process): the cached heads may be stale, so
                // look every stream up, still under the lock.
                continue;
            }
            found.heads.extend(c.heads);
        }
        if !backfilled && found.chain_behind() {
            // Events appended without links (by a binary from before the log chain, still
            // running beside this one): link them now, under the lock, and look again.
            tx.backfill_links().await?;
            backfilled = true;
            continue;
        }
        let seen_log_head = found.log_head.position;
        let log_head = found.checked_log_head()?;
        let mut state = LogState::new(found.existing, found.heads, log_head);
        let results = state.plan(requests);
        if id_lookup == IdLookup::Optimistic && results.iter().any(Result::is_err) {
            // A refusal planned without the ids may be a retry the lookup recognises (a
            // stored append re-sent with an expectation that no longer holds): plan again
            // with them, still under the lock.
            id_lookup = IdLookup::Lookup;
            continue;
        }
        let new_head = if state.rows.is_empty() {
            None
        } else {
            tx.insert(&state.rows, &state.links, state.position).await?;
            Some(state.position)
        };
        return Ok(GroupOutcome {
            results,
            new_head,
            seen_log_head,
            known: state.known(),
        });
    }
}

/// Is this error a unique-key violation (SQLite constraint / PostgreSQL 23505)?
pub(crate) fn is_unique_violation(err: &StoreError) -> bool {
    match err {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.kind(), sqlx::error::ErrorKind::UniqueViolation)
        }
        _ => false,
    }
}

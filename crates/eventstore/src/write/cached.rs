//! Small appends planned from cached heads, written in one statement.
//!
//! A full write (see [`write`](mod@crate::write)) takes the log lock, looks up ids and
//! heads, inserts and commits: four round trips for a single event, where a plain
//! `INSERT` needs one. Once it has committed, this process knows the log head and the
//! heads of the streams it touched, and that knowledge stays exact for as long as nobody
//! else appends. So the next small group is planned in memory from that [`HeadCache`] and
//! written as ONE autocommit statement whose `INSERT` happens only if the guess still holds:
//! - the log head is still the cached one (`max(position)`): then nothing was appended
//!   since, by anyone, and every cached stream head is exact;
//! - streams that are not cached are assumed new. Every plan that rests on that assumption
//!   inserts the stream's version 0, which the unique `(stream, version)` key refuses if
//!   the stream exists. (An explicit `NOT EXISTS` on the stream was tried: without fresh
//!   statistics PostgreSQL's generic plan scanned the whole table for it.)
//!
//! The rows continue positions from the cached head, so any concurrent writer (another
//! process, locked or cached) collides with them on the primary key: positions stay dense
//! and in commit order, as under the lock. When the guess fails (no row inserted) or the
//! statement fails at all (an id already stored, i.e. an idempotent retry; a race lost;
//! a broken connection), nothing was written and the group takes the full path, whose
//! lookup refreshes the cache. Groups whose outcome would insert nothing (idempotent
//! retries, every request refused) or more than [`MAX_ROWS`] rows, and appends expecting
//! an exact version of a stream not cached, always take the full path.

use std::collections::HashMap;

use sqlx::{Postgres, QueryBuilder, Sqlite};

use crate::error::StoreError;
use crate::pool::DbPool;
use crate::row::{to_i64, COLUMNS};
use crate::types::{AppendResult, ExpectedVersion};

use super::plan::{CachedHeads, GroupOutcome, Known, LogHead, LogState, BULK_EVENTS};
use super::prepare::Prepared;
use super::sql::{bind_pg_row, bind_sqlite_row, sql_ints, ADVISORY_LOCK_KEY, NOTIFY_CHANNEL};

/// Stream heads kept. An entry is a stream name and a 64-character hash: ~6 MB in all.
/// Sized for bulk imports, whose batches touch thousands of streams each: the streams
/// still active a few batches later are then found here, not looked up.
const CACHED_STREAMS: usize = 65_536;

/// Largest group written by the cached path: bulk writes take the locked one.
const MAX_ROWS: usize = BULK_EVENTS;

/// What this process knows of the log's heads. Invariant: every cached stream head is
/// exact whenever the database's log head equals `log`'s position.
pub(crate) struct HeadCache {
    log: Option<LogHead>,
    streams: quick_cache::unsync::Cache<String, (u64, String)>,
}

impl Default for HeadCache {
    fn default() -> Self {
        HeadCache {
            log: None,
            streams: quick_cache::unsync::Cache::new(CACHED_STREAMS),
        }
    }
}

impl HeadCache {
    /// After a committed full write. If its lookup found a log head other than the cached
    /// one, someone else appended meanwhile and any cached stream head may be stale.
    pub fn after_full_write(&mut self, outcome: &GroupOutcome) {
        if self.log.as_ref().map(|l| l.position) != Some(outcome.seen_log_head) {
            self.streams.clear();
        }
        self.remember(&outcome.known);
    }

    fn remember(&mut self, known: &Known) {
        self.log = Some(known.log_head.clone());
        // Bulk writes too: the next batch of an import touches many of the same streams,
        // and a cached head is one lookup fewer (see `cached_heads`). Past the capacity the
        // cache evicts, and forgetting a head is always safe.
        for (stream, head) in &known.heads {
            self.streams.insert(stream.clone(), head.clone());
        }
    }

    /// The cached heads of the streams `requests` touch, for the full path's lookup to skip
    /// (`None` before this process has written).
    pub fn cached_heads(&self, requests: &[&Prepared]) -> Option<CachedHeads> {
        let log = self.log.as_ref()?;
        let heads = requests
            .iter()
            .flat_map(|r| &r.entries)
            .filter_map(|e| {
                let head = self.streams.get(e.stream.as_str())?;
                Some((e.stream.clone(), head.clone()))
            })
            .collect();
        Some(CachedHeads {
            log_position: log.position,
            heads,
        })
    }

    /// Plans `requests` from the cache, or `None` if they need the full path.
    pub fn plan(&self, requests: &[&Prepared]) -> Option<CachedPlan> {
        let log_head = self.log.clone()?;
        let mut heads = HashMap::new();
        for entry in requests.iter().flat_map(|r| &r.entries) {
            match self.streams.get(entry.stream.as_str()) {
                Some(head) => {
                    heads.insert(entry.stream.clone(), head.clone());
                }
                // Its head hash is unknown, and the caller has seen it exist.
                None if matches!(entry.expected, ExpectedVersion::Exact(_)) => return None,
                // Assumed new: planned from version 0 (`NoStream`, `Any`).
                None => {}
            }
        }
        let expected_log_head = log_head.position;
        let mut state = LogState::new(HashMap::new(), heads, log_head);
        let results = state.plan(requests);
        if state.rows.is_empty() || state.rows.len() > MAX_ROWS {
            return None;
        }
        Some(CachedPlan {
            expected_log_head,
            results,
            state,
        })
    }

    /// After a cached write inserted every row of `plan`.
    pub fn after_cached_write(
        &mut self,
        plan: CachedPlan,
    ) -> Vec<Result<Vec<AppendResult>, StoreError>> {
        let CachedPlan { results, state, .. } = plan;
        self.remember(&state.known());
        results
    }
}

/// A group planned from the cache, valid only if the guess it rests on holds.
pub(crate) struct CachedPlan {
    expected_log_head: u64,
    results: Vec<Result<Vec<AppendResult>, StoreError>>,
    state: LogState,
}

impl CachedPlan {
    pub fn new_head(&self) -> u64 {
        self.state.position
    }

    /// Inserts the planned rows and their links if the log head is still the expected one:
    /// on PostgreSQL in one autocommit statement, on SQLite in one transaction sent as one
    /// text. `Ok(false)`: nothing written (nor when it fails).
    pub async fn insert_if_unchanged(&self, pool: &DbPool) -> Result<bool, StoreError> {
        let rows = &self.state.rows;
        let links = &self.state.links;
        let ints = sql_ints(rows)?;
        let positions: Vec<i64> = ints.iter().map(|(p, _)| *p).collect();
        let head = to_i64(self.expected_log_head)?;
        let binds = rows.len() * 12 + 1;
        let keep = crate::pool::keep_prepared(binds);
        let inserted = match pool {
            DbPool::Sqlite(pool) => {
                // SQLite cannot insert into two tables in one statement, so the text holds
                // the whole transaction: each statement sent on its own cost a round trip
                // to sqlx's connection thread. The links go in only if every event did.
                let n = i64::try_from(rows.len())
                    .map_err(|_| StoreError::InvalidInput("too many rows".into()))?;
                let mut qb = QueryBuilder::<Sqlite>::new(format!(
                    "BEGIN IMMEDIATE; INSERT INTO events ({COLUMNS}) SELECT * FROM ("
                ));
                qb.push_values(rows.iter().zip(ints), bind_sqlite_row);
                qb.push(") WHERE COALESCE((SELECT MAX(position) FROM events), 0) = ")
                    .push_bind(head)
                    .push("; INSERT INTO log_chain (position, link) SELECT * FROM (");
                qb.push_values(positions.iter().zip(links), |mut b, (p, l)| {
                    b.push_bind(*p).push_bind(l.as_str());
                });
                qb.push(") WHERE changes() = ")
                    .push_bind(n)
                    .push("; SELECT changes(); COMMIT");
                let mut conn = pool.acquire().await?;
                let linked: Result<Vec<i64>, sqlx::Error> = qb
                    .build_query_scalar()
                    .persistent(keep)
                    .fetch_all(&mut *conn)
                    .await;
                match linked {
                    Ok(linked) => u64::try_from(linked.first().copied().unwrap_or(0)).unwrap_or(0),
                    Err(e) => {
                        // A statement failed inside the transaction the text began (an id
                        // already stored, say): end it here, or the connection would go
                        // back to the pool inside it. If it cannot even do that, it is
                        // closed instead of reused.
                        if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
                            let _ = sqlx::Connection::close(conn.detach()).await;
                        }
                        return Err(e.into());
                    }
                }
            }
            DbPool::Postgres(pool) => {
                // The statement takes the log lock before inserting and holds it until its
                // implicit commit, so it cannot slip between a locked writer's lookup and
                // insert (that writer would lose every race, and its retries run out).
                let mut qb = QueryBuilder::<Postgres>::new(format!(
                    "WITH ins AS (INSERT INTO events ({COLUMNS}) SELECT v.* FROM ("
                ));
                qb.push_values(rows.iter().zip(ints), bind_pg_row);
                qb.push(format!(
                    ") AS v CROSS JOIN (SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})) AS l \
                     WHERE (SELECT COALESCE(MAX(position), 0) FROM events) = "
                ))
                .push_bind(head)
                // The links go in only if the events did (the `EXISTS` waits for `ins`).
                .push(
                    " RETURNING 1), ch AS (INSERT INTO log_chain (position, link) \
                     SELECT * FROM unnest(",
                )
                .push_bind(positions)
                .push("::bigint[], ")
                .push_bind(links)
                .push("::text[]) WHERE EXISTS (SELECT 1 FROM ins) RETURNING 1)")
                // One notification per inserted row, merged by PostgreSQL into one (same
                // channel and payload), sent on commit; none if nothing was inserted.
                .push(" SELECT COUNT(pg_notify(")
                .push_bind(NOTIFY_CHANNEL)
                .push(", ")
                .push_bind(self.new_head().to_string())
                .push(")::text) FROM ins");
                let (n,): (i64,) = qb.build_query_as().persistent(keep).fetch_one(pool).await?;
                u64::try_from(n).unwrap_or(0)
            }
        };
        Ok(usize::try_from(inserted).ok() == Some(rows.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::{prepare, test_event};
    use uuid::Uuid;

    fn request(appends: &[(&str, ExpectedVersion)]) -> Prepared {
        let batch = appends
            .iter()
            .map(|(stream, expected)| {
                let event = test_event(Uuid::new_v4(), serde_json::json!({}));
                ((*stream).to_owned(), *expected, vec![event])
            })
            .collect();
        prepare(batch).expect("valid request")
    }

    /// A cache that saw a write leave the log at position 10 with `s` at version 3.
    fn warm() -> HeadCache {
        let mut cache = HeadCache::default();
        cache.remember(&Known {
            log_head: LogHead {
                position: 10,
                recorded_at: None,
                link: "l10".into(),
            },
            heads: HashMap::from([("s".to_owned(), (3, "h3".to_owned()))]),
        });
        cache
    }

    #[test]
    fn nothing_is_planned_before_this_process_has_written() {
        let req = request(&[("s", ExpectedVersion::NoStream)]);
        assert!(HeadCache::default().plan(&[&req]).is_none());
    }

    #[test]
    fn cached_and_new_streams_continue_the_cached_heads() {
        let cache = warm();
        let req = request(&[
            ("s", ExpectedVersion::Exact(3)),
            ("n", ExpectedVersion::NoStream),
        ]);
        let plan = cache.plan(&[&req]).expect("planned from the cache");
        assert_eq!(plan.expected_log_head, 10);
        let rows = &plan.state.rows;
        assert_eq!(
            rows.iter()
                .map(|r| (
                    r.position,
                    r.stream.as_str(),
                    r.version,
                    r.prev_hash.as_str()
                ))
                .collect::<Vec<_>>(),
            vec![(11, "s", 4, "h3"), (12, "n", 0, "")]
        );
        assert_eq!(plan.new_head(), 12);
    }

    #[test]
    fn conflicts_are_planned_beside_rows_but_never_alone() {
        let cache = warm();
        let stale = request(&[("s", ExpectedVersion::Exact(2))]);
        assert!(
            cache.plan(&[&stale]).is_none(),
            "nothing to insert: full path"
        );
        let other = request(&[("n", ExpectedVersion::Any)]);
        let plan = cache.plan(&[&stale, &other]).expect("planned");
        assert!(matches!(
            plan.results[0],
            Err(StoreError::Conflict {
                actual: Some(3),
                ..
            })
        ));
        assert_eq!(plan.state.rows.len(), 1);
    }

    #[test]
    fn a_bulk_write_forgets_the_stream_heads_it_does_not_keep() {
        let mut cache = warm();
        let heads = (0..=MAX_ROWS)
            .map(|i| (format!("n{i}"), (0, format!("h{i}"))))
            .chain([("s".to_owned(), (4, "h4".to_owned()))])
            .collect();
        cache.remember(&Known {
            log_head: LogHead {
                position: 100,
                recorded_at: None,
                link: "l100".into(),
            },
            heads,
        });
        // `s` moved to version 4: its old cached head (3) must not plan an append.
        let req = request(&[("s", ExpectedVersion::Exact(3))]);
        assert!(cache.plan(&[&req]).is_none());
        let req = request(&[("fresh", ExpectedVersion::NoStream)]);
        assert_eq!(cache.plan(&[&req]).expect("planned").expected_log_head, 100);
    }

    #[test]
    fn exact_versions_of_streams_not_cached_take_the_full_path() {
        let cache = warm();
        let req = request(&[("elsewhere", ExpectedVersion::Exact(0))]);
        assert!(cache.plan(&[&req]).is_none());
    }

    #[test]
    fn groups_too_big_for_one_statement_take_the_full_path() {
        let cache = warm();
        let names: Vec<String> = (0..=MAX_ROWS).map(|i| format!("n{i}")).collect();
        let appends: Vec<(&str, ExpectedVersion)> = names
            .iter()
            .map(|n| (n.as_str(), ExpectedVersion::NoStream))
            .collect();
        assert!(cache.plan(&[&request(&appends)]).is_none());
        assert!(cache.plan(&[&request(&appends[..MAX_ROWS])]).is_some());
    }
}

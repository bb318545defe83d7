//! Hash-chain verification: the chain of each stream, and (for the whole log) the log
//! chain kept in `log_chain`, against the events in position order.

use std::collections::{HashMap, VecDeque};

use crate::error::StoreError;
use crate::hash;
use crate::page::{fetch_page, Cursor, Fields, Source, PAGE};
use crate::pool::DbPool;
use crate::row::{to_i64, StoredRow};
use crate::types::{BrokenLink, LogFilter, VerifyReport};

/// Up to `limit` rows of `log_chain` after `after`, in position order.
pub(crate) async fn fetch_links(
    pool: &DbPool,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, String)>, StoreError> {
    let after = to_i64(after)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let sql = "SELECT position, link FROM log_chain WHERE position > $1 ORDER BY position LIMIT $2";
    let rows: Vec<(i64, String)> = crate::on_pool!(pool, |p| sqlx::query_as(sql)
        .bind(after)
        .bind(limit)
        .fetch_all(p)
        .await)?;
    rows.into_iter()
        .map(|(p, link)| {
            u64::try_from(p)
                .map(|p| (p, link))
                .map_err(|_| StoreError::Corrupt(format!("negative log_chain position {p}")))
        })
        .collect()
}

/// The stored links at `positions` (at most a page's worth, twice), by position.
async fn fetch_links_at(
    pool: &DbPool,
    positions: &[i64],
) -> Result<HashMap<u64, String>, StoreError> {
    if positions.is_empty() {
        return Ok(HashMap::new());
    }
    let params: Vec<String> = (1..=positions.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT position, link FROM log_chain WHERE position IN ({})",
        params.join(", ")
    );
    let rows: Vec<(i64, String)> = crate::on_pool!(pool, |p| {
        let mut q = sqlx::query_as(&sql);
        for position in positions {
            q = q.bind(*position);
        }
        q.persistent(false).fetch_all(p).await
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, link)| u64::try_from(p).ok().map(|p| (p, link)))
        .collect())
}

/// For one stream: the stored link at the row's position against the one recomputed from
/// the stored link just before it. The rest of the log is not read, so this shows that the
/// event is the one the log chain recorded at its position, not that the chain before it
/// is intact (the whole-log walk shows that).
fn check_stream_link(row: &StoredRow, stored: &HashMap<u64, String>) -> Option<BrokenLink> {
    let before = row.position.saturating_sub(1);
    let prev = if before == 0 {
        String::new()
    } else {
        match stored.get(&before) {
            Some(link) => link.clone(),
            None => {
                return broken(
                    row,
                    format!("no log-chain link at position {before}, just before this event"),
                )
            }
        }
    };
    let expected = hash::log_link(row.position, &row.stream, row.version, &row.hash, &prev);
    let here = stored.get(&row.position).map(|l| (row.position, l.clone()));
    check_link(row, here, &expected)
}

/// The stored links of `log_chain`, read in pages alongside the events.
struct Links<'a> {
    pool: &'a DbPool,
    buf: VecDeque<(u64, String)>,
    after: u64,
    done: bool,
}

impl Links<'_> {
    async fn next(&mut self) -> Result<Option<(u64, String)>, StoreError> {
        if self.buf.is_empty() && !self.done {
            let page = fetch_links(self.pool, self.after, PAGE).await?;
            self.done = page.len() < PAGE;
            if let Some((p, _)) = page.last() {
                self.after = *p;
            }
            self.buf.extend(page);
        }
        Ok(self.buf.pop_front())
    }
}

/// Checks the stored link of `row` against the one recomputed from its predecessor's.
fn check_link(
    row: &StoredRow,
    stored: Option<(u64, String)>,
    expected: &str,
) -> Option<BrokenLink> {
    match stored {
        None => broken(
            row,
            format!(
                "no log-chain link at position {} (the chain ends before the log: the \
                 link was deleted, or the event inserted behind the store's back)",
                row.position
            ),
        ),
        Some((p, _)) if p != row.position => broken(
            row,
            format!(
                "no log-chain link at position {} (the next link is at position {p})",
                row.position
            ),
        ),
        Some((_, link)) if link != expected => broken(
            row,
            format!(
                "log-chain link {link} at position {} does not match the recomputed link \
                 {expected}: this event, or an earlier one, was altered, moved or replaced",
                row.position
            ),
        ),
        Some(_) => None,
    }
}

fn broken(row: &StoredRow, reason: String) -> Option<BrokenLink> {
    Some(BrokenLink {
        stream: row.stream.clone(),
        version: row.version,
        position: row.position,
        reason,
    })
}

/// Checks one row against the previous event of its stream (`None` if it should be first).
fn check_row(row: &StoredRow, prev: Option<(u64, &str)>) -> Option<BrokenLink> {
    let (expected_version, expected_prev) = match prev {
        None => (0, ""),
        Some((v, h)) => (v + 1, h),
    };
    if row.version != expected_version {
        return broken(
            row,
            format!(
                "version gap: expected version {expected_version}, found {}",
                row.version
            ),
        );
    }
    if row.prev_hash != expected_prev {
        return broken(
            row,
            format!(
                "prev_hash {:?} does not match the previous event's hash {:?}",
                row.prev_hash, expected_prev
            ),
        );
    }
    let recomputed = match row.recompute_hash() {
        Ok(h) => h,
        Err(why) => return broken(row, format!("cannot recompute the hash: {why}")),
    };
    if row.hash != recomputed {
        return broken(
            row,
            format!(
                "stored hash {} does not match recomputed hash {recomputed}",
                row.hash
            ),
        );
    }
    None
}

pub(crate) async fn verify(
    source: Source<'_>,
    stream: Option<&str>,
) -> Result<VerifyReport, StoreError> {
    let mut links = stream.is_none().then(|| Links {
        pool: source.pool,
        buf: VecDeque::new(),
        after: 0,
        done: false,
    });
    let mut link = String::new();
    let mut cursor = match stream {
        Some(s) => Cursor::Stream {
            stream: s.to_owned(),
            from_version: 0,
        },
        None => Cursor::All { after: 0 },
    };
    // Last (version, hash) per stream seen so far.
    let mut last: HashMap<String, (u64, String)> = HashMap::new();
    let mut last_position = 0u64;
    let mut checked = 0u64;
    loop {
        let rows = fetch_page(source, &cursor, &LogFilter::default(), PAGE, Fields::All).await?;
        let Some(tail) = rows.last() else {
            break;
        };
        let next = cursor.after_row(tail);
        let full = rows.len() >= PAGE;
        let stream_links = if stream.is_some() {
            let mut positions = Vec::with_capacity(rows.len() * 2);
            for r in &rows {
                let p = to_i64(r.position)?;
                positions.extend([p - 1, p]);
            }
            positions.sort_unstable();
            positions.dedup();
            positions.retain(|p| *p >= 1);
            fetch_links_at(source.pool, &positions).await?
        } else {
            HashMap::new()
        };
        for row in rows {
            checked += 1;
            if stream.is_none() && row.position != last_position + 1 {
                return Ok(VerifyReport {
                    events_checked: checked,
                    first_broken: broken(
                        &row,
                        format!(
                            "position gap: expected position {}, found {}",
                            last_position + 1,
                            row.position
                        ),
                    ),
                });
            }
            last_position = row.position;
            let prev = last.get(&row.stream).map(|(v, h)| (*v, h.as_str()));
            if let Some(b) = check_row(&row, prev) {
                return Ok(VerifyReport {
                    events_checked: checked,
                    first_broken: Some(b),
                });
            }
            if stream.is_some() {
                if let Some(b) = check_stream_link(&row, &stream_links) {
                    return Ok(VerifyReport {
                        events_checked: checked,
                        first_broken: Some(b),
                    });
                }
            }
            if let Some(links) = links.as_mut() {
                let expected =
                    hash::log_link(row.position, &row.stream, row.version, &row.hash, &link);
                if let Some(b) = check_link(&row, links.next().await?, &expected) {
                    return Ok(VerifyReport {
                        events_checked: checked,
                        first_broken: Some(b),
                    });
                }
                link = expected;
            }
            last.insert(row.stream.clone(), (row.version, row.hash));
        }
        if !full {
            break;
        }
        cursor = next;
    }
    // Links past the last event: the events they chained are gone.
    if let Some(links) = links.as_mut() {
        if let Some((position, _)) = links.next().await? {
            return Ok(VerifyReport {
                events_checked: checked,
                first_broken: Some(BrokenLink {
                    stream: String::new(),
                    version: 0,
                    position,
                    reason: format!(
                        "the log ends at position {last_position} but the log chain has a \
                         link at position {position}: events were deleted from the end of \
                         the log"
                    ),
                }),
            });
        }
    }
    Ok(VerifyReport {
        events_checked: checked,
        first_broken: None,
    })
}

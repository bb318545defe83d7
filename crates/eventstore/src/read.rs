//! Reads of the log: pages fetched and decoded ahead of their reader, and the small
//! queries about heads and streams.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::StoreError;
use crate::page::{fetch_page, Cursor, Fields, Source};
use crate::pool::DbPool;
use crate::row::StoredRow;
use crate::sqlite_pages::SqlitePages;
use crate::types::LogFilter;

/// Where a store's reads go: its pool and, for a SQLite file, its direct page readers.
/// Cheap to clone (both are shared handles), so a read-ahead task takes its own.
#[derive(Debug, Clone)]
pub(crate) struct Reader {
    pub pool: DbPool,
    pub pages: Option<Arc<SqlitePages>>,
}

impl Reader {
    pub fn source(&self) -> Source<'_> {
        Source {
            pool: &self.pool,
            pages: self.pages.as_ref(),
        }
    }

    /// Pages through `cursor`. The next page is fetched and decoded on a task of its own
    /// while the caller works through the current one, so the database's work (and on
    /// PostgreSQL the row transfer and decoding) overlaps the caller's: at most two pages
    /// wait ahead of the caller.
    pub fn paged<T: Send + 'static>(
        &self,
        cursor: Cursor,
        filter: LogFilter,
        limit: usize,
        decode: fn(StoredRow) -> Result<T, StoreError>,
        fields: Fields,
    ) -> BoxStream<'static, Result<T, StoreError>> {
        let (tx, rx) = tokio::sync::mpsc::channel::<Page<T>>(1);
        let reader = self.clone();
        tokio::spawn(async move {
            let mut cursor = Some(cursor);
            // A long global read switches to reading by position range after its first
            // full page (a `recorded_until` read usually ends long before the head).
            let mut may_range = filter.recorded_until.is_none();
            let mut first = true;
            while let Some(mut at) = cursor.take() {
                if let (Cursor::All { after }, true, false) = (&at, may_range, first) {
                    may_range = false;
                    match read_ranges(&reader, *after, &filter, limit, decode, fields, &tx).await {
                        Some(head) => at = Cursor::All { after: head },
                        None => return,
                    }
                }
                first = false;
                let items = match fetch_page(reader.source(), &at, &filter, limit, fields).await {
                    Ok(rows) => {
                        if rows.len() >= limit {
                            cursor = rows.last().map(|r| at.after_row(r));
                        }
                        let (items, failed) = decode_all(rows, decode);
                        if failed {
                            cursor = None;
                        }
                        items
                    }
                    Err(e) => vec![Err(e)],
                };
                if tx.send(Page::Items(items)).await.is_err() {
                    // The reader went away.
                    return;
                }
            }
            let _ = tx.send(Page::End).await;
        });
        // A read ends with `End`; a channel closed before it means the task reading ahead
        // died, and the reader gets an error instead of a silently shortened log.
        stream::unfold(Some(rx), |rx| async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(Page::Items(items)) => Some((stream::iter(items), Some(rx))),
                Some(Page::End) => None,
                None => Some((stream::iter(vec![Err(StoreError::Interrupted)]), None)),
            }
        })
        .flatten()
        .boxed()
    }

    /// The position of the last event, 0 when the log is empty.
    pub async fn head_position(&self) -> Result<u64, StoreError> {
        let sql = "SELECT MAX(position) FROM events";
        let head: Option<i64> =
            crate::on_pool!(&self.pool, |p| sqlx::query_scalar(sql).fetch_one(p).await)?;
        Ok(head.and_then(|h| u64::try_from(h).ok()).unwrap_or(0))
    }

    /// The last version of `stream`, `None` if it has no events.
    pub async fn stream_version(&self, stream: &str) -> Result<Option<u64>, StoreError> {
        let sql = "SELECT MAX(version) FROM events WHERE stream = $1";
        let v: Option<i64> = crate::on_pool!(&self.pool, |p| sqlx::query_scalar(sql)
            .bind(stream)
            .fetch_one(p)
            .await)?;
        Ok(v.and_then(|v| u64::try_from(v).ok()))
    }

    /// Names of all streams starting with `prefix` (case-sensitive, `""` = all), sorted.
    pub async fn list_streams(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        // Every stream has exactly one version-0 row; the prefix test is a plain substring
        // comparison so `%`/`_` in the prefix are not wildcards.
        let streams = match &self.pool {
            DbPool::Sqlite(p) => {
                sqlx::query_scalar(
                    "SELECT stream FROM events WHERE version = 0 \
                     AND substr(stream, 1, length(?1)) = ?1 ORDER BY stream",
                )
                .bind(prefix)
                .fetch_all(p)
                .await?
            }
            DbPool::Postgres(p) => {
                sqlx::query_scalar(
                    "SELECT stream FROM events WHERE version = 0 \
                     AND left(stream, length($1)) = $1 ORDER BY stream COLLATE \"C\"",
                )
                .bind(prefix)
                .fetch_all(p)
                .await?
            }
        };
        Ok(streams)
    }
}

/// Reads the log from `after` up to the current head in pages of known position ranges
/// (positions are dense), two at a time on two connections, so the database's work for one
/// page overlaps the decoding of the other. Returns the head to continue from, or `None`
/// when the read is over (an error was sent and the read ended, or the reader went away).
async fn read_ranges<T: Send + 'static>(
    reader: &Reader,
    after: u64,
    filter: &LogFilter,
    limit: usize,
    decode: fn(StoredRow) -> Result<T, StoreError>,
    fields: Fields,
    tx: &tokio::sync::mpsc::Sender<Page<T>>,
) -> Option<u64> {
    let head = match reader.head_position().await {
        Ok(head) => head,
        Err(e) => {
            let _ = tx.send(Page::Items(vec![Err(e)])).await;
            let _ = tx.send(Page::End).await;
            return None;
        }
    };
    let step = limit as u64;
    let ranges = (after..head).step_by(limit).map(|a| Cursor::Range {
        after: a,
        until: a.saturating_add(step).min(head),
    });
    // Each page is read and decoded on a task of its own: polled from this task, a page's
    // transfer stood still whenever this task was decoding or waiting for the reader.
    let mut pages = stream::iter(ranges)
        .map(|at| {
            let reader = reader.clone();
            let filter = filter.clone();
            tokio::spawn(async move {
                match fetch_page(reader.source(), &at, &filter, limit, fields).await {
                    Ok(rows) => decode_all(rows, decode),
                    Err(e) => (vec![Err(e)], true),
                }
            })
        })
        .buffered(2);
    while let Some(page) = pages.next().await {
        // A page task that panicked is reported, never skipped.
        let (items, failed) = page.unwrap_or_else(|_| (vec![Err(StoreError::Interrupted)], true));
        if tx.send(Page::Items(items)).await.is_err() {
            return None;
        }
        if failed {
            let _ = tx.send(Page::End).await;
            return None;
        }
    }
    Some(after.max(head))
}

/// What the read-ahead task of [`Reader::paged`] hands over.
enum Page<T> {
    Items(Vec<Result<T, StoreError>>),
    End,
}

/// Decodes rows, stopping after the first failure. Returns whether one failed.
pub(crate) fn decode_all<T>(
    rows: Vec<StoredRow>,
    decode: fn(StoredRow) -> Result<T, StoreError>,
) -> (Vec<Result<T, StoreError>>, bool) {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let item = decode(row);
        let failed = item.is_err();
        out.push(item);
        if failed {
            return (out, true);
        }
    }
    (out, false)
}

/// A filter on `recorded_at` alone.
pub(crate) fn recorded_until(as_of: Option<DateTime<Utc>>) -> LogFilter {
    LogFilter {
        recorded_until: as_of,
        ..LogFilter::default()
    }
}

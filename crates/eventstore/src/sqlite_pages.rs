//! Page reads of a SQLite log file through `rusqlite`, on connections of their own.
//!
//! sqlx's SQLite rows copy every column value (`sqlite3_value_dup`) on the connection's
//! worker thread and free them on the reader's. In a rebuild that copying and freeing was
//! about 40 % of all instructions (callgrind), more than SQLite's own work.
//! `rusqlite` reads each column in place, so a page costs one copy of each field into
//! its [`StoredRow`] and nothing else.
//!
//! Reads only: these connections are `query_only`, opened without `CREATE` (a file that
//! went away is an error, not a new empty log), and every write still goes through the
//! sqlx pool. In WAL mode each page read is one snapshot of committed transactions, as it
//! is on a pool connection. A private in-memory database has no file to open a second
//! connection on, and keeps reading through sqlx.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;
use crate::row::StoredRow;

/// Idle connections kept for the next reads (a long scan reads two pages at once, and
/// the live runner, subscriptions and as-of queries may read beside it).
const MAX_IDLE: usize = 4;

/// The SQLite file's direct readers.
#[derive(Debug)]
pub(crate) struct SqlitePages {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Set by [`SqlitePages::close`], with the pool: reads fail as the pool's do.
    closed: AtomicBool,
}

impl SqlitePages {
    pub fn new(path: PathBuf) -> Self {
        SqlitePages {
            path,
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// Closes the idle connections; later reads fail like those of a closed pool.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    /// Runs `sql` (placeholders `?n`, bound to `args`; its columns start with
    /// [`crate::row::COLUMNS`]) on a blocking thread and returns its rows.
    pub async fn fetch(
        self: &Arc<Self>,
        sql: String,
        args: Vec<Value>,
    ) -> Result<Vec<StoredRow>, StoreError> {
        let pages = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pages.connection()?;
            let rows = read(&conn, &sql, &args);
            // A connection that failed a read is dropped rather than reused.
            if rows.is_ok() {
                pages.put_back(conn);
            }
            rows
        })
        .await
        .map_err(|_| StoreError::Interrupted)?
    }

    fn connection(&self) -> Result<Connection, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        }
        if let Some(conn) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        // As long as the pool's: a reader waits out a writer's WAL recovery instead of
        // failing.
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    fn put_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE && !self.closed.load(Ordering::Acquire) {
                idle.push(conn);
            }
        }
    }
}

fn read(conn: &Connection, sql: &str, args: &[Value]) -> Result<Vec<StoredRow>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(args))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(StoredRow::from_rusqlite(row)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::page::{fetch_page, Cursor, Fields, Source};
    use crate::types::{ExpectedVersion, LogFilter};
    use crate::write::test_event;

    /// Every kind of page read gives the same rows through rusqlite as through sqlx.
    #[tokio::test]
    async fn direct_reads_return_what_the_pool_reads() {
        let db = crate::testing::sqlite_store().await.expect("store");
        let store = db.store();
        let payloads = [
            serde_json::json!({"text": "Secretaría de Hacienda — «acuerdo» 🚦", "n": 1.5}),
            serde_json::json!({"quote": "a \"b\" \\ c", "list": [1, null, true]}),
            serde_json::json!({}),
        ];
        let mut effective = Vec::new();
        for i in 0..12u32 {
            let mut event = test_event(Uuid::new_v4(), payloads[i as usize % 3].clone());
            if i % 4 == 1 {
                event.event_type = "Other".into();
            }
            let at = Utc.with_ymd_and_hms(2024, 1, 1 + i, 12, 0, 0).single();
            event.effective_at = at;
            effective.extend(at);
            let stream = ["a", "b", "c"][i as usize % 3];
            store
                .append(stream, ExpectedVersion::Any, vec![event])
                .await
                .expect("append");
        }
        let pooled = Source {
            pool: store.pool(),
            pages: None,
        };
        let first = Cursor::All { after: 0 };
        let head = fetch_page(pooled, &first, &LogFilter::default(), 6, Fields::All).await;
        let recorded_mid = head.expect("read").last().map(|r| r.recorded_at);
        let cursors = [
            Cursor::All { after: 0 },
            Cursor::All { after: 5 },
            Cursor::Range { after: 2, until: 9 },
            Cursor::Stream {
                stream: "b".into(),
                from_version: 1,
            },
        ];
        let filters = [
            LogFilter::default(),
            LogFilter {
                skip_types: ["Other"].into(),
                ..LogFilter::default()
            },
            LogFilter {
                recorded_until: recorded_mid,
                effective_until: effective.get(8).copied(),
                skip_types: [].into(),
            },
        ];
        let direct = store.source();
        assert!(direct.pages.is_some(), "a SQLite file store reads directly");
        let mut compared = 0;
        for cursor in &cursors {
            for filter in &filters {
                for fields in [Fields::All, Fields::WithoutHashes] {
                    for limit in [3, 100] {
                        let a = fetch_page(direct, cursor, filter, limit, fields).await;
                        let b = fetch_page(pooled, cursor, filter, limit, fields).await;
                        let (a, b) = (a.expect("direct read"), b.expect("pool read"));
                        assert!(!a.is_empty(), "{cursor:?} {filter:?} read nothing");
                        assert_eq!(a, b, "{cursor:?} {filter:?} {fields:?} {limit}");
                        compared += a.len();
                    }
                }
            }
        }
        assert!(compared > 150, "only {compared} rows compared");
        db.cleanup().await;
    }

    #[tokio::test]
    async fn a_closed_store_reads_nothing_more() {
        let db = crate::testing::sqlite_store().await.expect("store");
        let source = db.store().source();
        let first = Cursor::All { after: 0 };
        let open = fetch_page(source, &first, &LogFilter::default(), 10, Fields::All).await;
        assert_eq!(open.expect("an open store reads").len(), 0);
        db.store().close().await;
        let closed = fetch_page(source, &first, &LogFilter::default(), 10, Fields::All).await;
        assert!(
            matches!(closed, Err(StoreError::Database(sqlx::Error::PoolClosed))),
            "{closed:?}"
        );
        db.cleanup().await;
    }

    #[tokio::test]
    async fn a_missing_file_is_an_error_and_is_not_created() {
        let path = std::env::temp_dir().join(format!("seg_missing_{}.db", Uuid::new_v4()));
        let pages = Arc::new(SqlitePages::new(path.clone()));
        let read = pages.fetch("SELECT 1".into(), Vec::new()).await;
        assert!(matches!(read, Err(StoreError::SqliteRead(_))), "{read:?}");
        assert!(!path.exists());
    }
}

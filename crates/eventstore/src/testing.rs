//! Throw-away stores for tests (feature `testing`), usable from any crate's tests:
//!
//! ```ignore
//! use seguimiento_eventstore::testing::{pg_store, sqlite_store};
//! let db = sqlite_store().await?;            // temp file, removed on drop
//! let store = db.store().clone();
//! // ...
//! db.cleanup().await;                        // or just let it drop
//! if let Some(db) = pg_store().await? { /* TEST_DATABASE_URL set */ }
//! ```
//!
//! PostgreSQL: [`pg_store`] reads `TEST_DATABASE_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`), creates a uniquely named database
//! `seg_test_<uuid>` through it, connects the store there, and drops exactly that database
//! (`DROP DATABASE ... WITH (FORCE)`) on cleanup/drop. No other database is touched. When the
//! variable is unset it prints `SKIPPED: TEST_DATABASE_URL not set` to stderr and returns
//! `None` (cargo has no "skipped" status, so the calling test passes).
//!
//! A test that runs on both backends declares its scenarios once with
//! [`on_both_backends!`](crate::on_both_backends) over a [`Fixture`]: the store itself, or
//! what a crate builds on it (the API's test server, a database for a child process).

use std::future::Future;
use std::path::PathBuf;

use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::{Backend, DbPool, EventStore, StoreError};

/// PostgreSQL `COPY` text escaping exactly as the store writes its rows, for benchmarks
/// whose baselines load the same table.
pub use crate::write::copy_escape;

/// Environment variable naming the PostgreSQL server used for tests.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

enum Resource {
    SqliteFile(PathBuf),
    PgDatabase { admin_url: String, name: String },
    Nothing,
}

/// A store on a throw-away database; the database is removed by [`TestDb::cleanup`] or, failing
/// that, on drop (also when the test panics).
pub struct TestDb {
    store: EventStore,
    resource: Resource,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// The store.
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// The database name (PostgreSQL) or file path (SQLite).
    pub fn name(&self) -> String {
        match &self.resource {
            Resource::SqliteFile(p) => p.display().to_string(),
            Resource::PgDatabase { name, .. } => name.clone(),
            Resource::Nothing => String::new(),
        }
    }

    /// A URL for another [`EventStore`] on the same database (a second process, say).
    pub fn url(&self) -> Result<String, StoreError> {
        match &self.resource {
            Resource::SqliteFile(p) => Ok(format!("sqlite://{}", p.display())),
            Resource::PgDatabase { admin_url, name } => replace_database(admin_url, name),
            Resource::Nothing => Err(StoreError::InvalidInput("database already removed".into())),
        }
    }

    /// Closes the store and removes the database.
    pub async fn cleanup(mut self) {
        self.store.close().await;
        let resource = std::mem::replace(&mut self.resource, Resource::Nothing);
        match resource {
            Resource::SqliteFile(path) => remove_sqlite_files(&path),
            Resource::PgDatabase { admin_url, name } => {
                if let Err(e) = drop_pg_database(&admin_url, &name).await {
                    eprintln!("warning: could not drop test database {name}: {e}");
                }
            }
            Resource::Nothing => {}
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let resource = std::mem::replace(&mut self.resource, Resource::Nothing);
        match resource {
            Resource::SqliteFile(path) => remove_sqlite_files(&path),
            Resource::PgDatabase { admin_url, name } => {
                // No async drop: run the DROP on a private runtime in a helper thread (works
                // whether or not we are inside a tokio runtime, and during unwinding).
                let handle = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    match rt {
                        Ok(rt) => {
                            if let Err(e) = rt.block_on(drop_pg_database(&admin_url, &name)) {
                                eprintln!("warning: could not drop test database {name}: {e}");
                            }
                        }
                        Err(e) => eprintln!("warning: no runtime to drop {name}: {e}"),
                    }
                });
                let _ = handle.join();
            }
            Resource::Nothing => {}
        }
    }
}

fn remove_sqlite_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
        let mut keys = name.to_owned();
        keys.push(".keys");
        remove_files_starting_with(dir, &keys.to_string_lossy());
    }
}

/// Removes `<dir>/<prefix>*`: the master key file the application keeps next to a test
/// database by default (`<db>.keys`, and `<db>.keys.new-*` left by an interrupted
/// rotation), or `seguimiento-<database>.keys` in the working directory for PostgreSQL.
fn remove_files_starting_with(dir: &std::path::Path, prefix: &str) {
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

async fn drop_pg_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    remove_files_starting_with(
        std::path::Path::new("."),
        &format!("seguimiento-{name}.keys"),
    );
    let mut conn = PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    conn.close().await
}

/// Runs `sql` (one statement or several) straight through the store's pool, as a projection
/// or someone with access to the database would; the rows it affected.
pub async fn raw_sql(store: &EventStore, sql: &str) -> Result<u64, sqlx::Error> {
    match store.pool() {
        DbPool::Sqlite(p) => sqlx::raw_sql(sql)
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
        DbPool::Postgres(p) => sqlx::raw_sql(sql)
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
    }
}

/// A store on a new SQLite file under [`std::env::temp_dir`], removed on cleanup/drop.
pub async fn sqlite_store() -> Result<TestDb, StoreError> {
    let path = std::env::temp_dir().join(format!("seg_test_{}.db", Uuid::new_v4().simple()));
    let url = format!("sqlite://{}", path.display());
    let store = EventStore::connect(&url).await?;
    Ok(TestDb {
        store,
        resource: Resource::SqliteFile(path),
    })
}

/// A store on a new PostgreSQL database created through `TEST_DATABASE_URL`, or `None` (after
/// printing `SKIPPED: TEST_DATABASE_URL not set` to stderr) when the variable is unset.
pub async fn pg_store() -> Result<Option<TestDb>, StoreError> {
    let Ok(admin_url) = std::env::var(TEST_DATABASE_URL) else {
        eprintln!("SKIPPED: {TEST_DATABASE_URL} not set (PostgreSQL half of this test not run)");
        return Ok(None);
    };
    let name = format!("seg_test_{}", Uuid::new_v4().simple());
    let url = replace_database(&admin_url, &name)?;
    {
        let mut conn = PgConnection::connect(&admin_url).await?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
    }
    match EventStore::connect(&url).await {
        Ok(store) => Ok(Some(TestDb {
            store,
            resource: Resource::PgDatabase { admin_url, name },
        })),
        Err(e) => {
            let _ = drop_pg_database(&admin_url, &name).await;
            Err(e)
        }
    }
}

/// `admin_url` with its database path replaced by `name` (query string kept).
fn replace_database(admin_url: &str, name: &str) -> Result<String, StoreError> {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let scheme_end = base
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| StoreError::InvalidUrl(admin_url.to_owned()))?;
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    Ok(match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    })
}

/// What a test runs against, opened afresh on one backend and closed after it: a store
/// ([`TestDb`]), a test server or a database for a child process (in the crates that have
/// them), or only the [`Backend`], for a test that opens its own.
pub trait Fixture: Sized {
    /// What the scenario is called with.
    type Arg<'a>
    where
        Self: 'a;

    /// The fixture, or `None` when `backend` is not available here (PostgreSQL without
    /// `TEST_DATABASE_URL`, after saying SKIPPED on stderr). SQLite always is: failing to
    /// open it panics.
    fn open(backend: Backend) -> impl Future<Output = Option<Self>>;

    fn arg(&self) -> Self::Arg<'_>;

    /// Removes what [`Fixture::open`] created.
    fn close(self) -> impl Future<Output = ()>;
}

/// [`sqlite_store`] or [`pg_store`], panicking on a database that cannot be created.
pub async fn test_db(backend: Backend) -> Option<TestDb> {
    let db = match backend {
        Backend::Sqlite => sqlite_store().await.map(Some),
        Backend::Postgres => pg_store().await,
    };
    match db {
        Ok(db) => db,
        Err(e) => panic!("cannot create a {backend:?} test database: {e}"),
    }
}

impl Fixture for TestDb {
    type Arg<'a> = EventStore;

    fn open(backend: Backend) -> impl Future<Output = Option<Self>> {
        test_db(backend)
    }

    fn arg(&self) -> EventStore {
        self.store.clone()
    }

    fn close(self) -> impl Future<Output = ()> {
        self.cleanup()
    }
}

impl Fixture for Backend {
    type Arg<'a> = Backend;

    async fn open(backend: Backend) -> Option<Self> {
        if backend == Backend::Postgres && std::env::var_os(TEST_DATABASE_URL).is_none() {
            eprintln!(
                "SKIPPED: {TEST_DATABASE_URL} not set (PostgreSQL half of this test not run)"
            );
            return None;
        }
        Some(backend)
    }

    fn arg(&self) -> Backend {
        *self
    }

    async fn close(self) {}
}

/// Runs `test` against a throw-away SQLite store, then removes it.
pub async fn run_on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(EventStore) -> Fut,
    Fut: Future<Output = ()>,
{
    run_on(Backend::Sqlite, test).await
}

/// Runs `test` against a throw-away PostgreSQL database (skipping, with a message on stderr,
/// when `TEST_DATABASE_URL` is unset), then drops it.
pub async fn run_on_postgres<F, Fut>(test: F)
where
    F: FnOnce(EventStore) -> Fut,
    Fut: Future<Output = ()>,
{
    run_on(Backend::Postgres, test).await
}

async fn run_on<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(EventStore) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(db) = test_db(backend).await {
        test(db.store().clone()).await;
        db.cleanup().await;
    }
}

/// Declares each named scenario as two tests, `<name>::on_sqlite` and `<name>::on_postgres`,
/// each called with the [`Fixture::arg`] of a fixture of its own:
///
/// ```ignore
/// on_both_backends!(TestDb: appends_read_back, conflicts_are_typed); // async fn(EventStore)
/// on_both_backends!(current_thread TestDb: pauses_time);             // tokio's 1-thread runtime
/// ```
///
/// The PostgreSQL half passes after saying SKIPPED without `TEST_DATABASE_URL`. The tests
/// run on a multi-thread runtime, or after `current_thread` on tokio's single-thread test
/// runtime (what `tokio::time::pause` needs). The calling crate needs tokio (macros,
/// rt-multi-thread).
#[macro_export]
macro_rules! on_both_backends {
    (current_thread $fixture:ty: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@tests tokio::test; $fixture: $($name),*);
    };
    ($fixture:ty: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(
            @tests tokio::test(flavor = "multi_thread", worker_threads = 4); $fixture: $($name),*
        );
    };
    (@tests $test:meta; $fixture:ty: $($name:ident),*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[$test]
            async fn on_sqlite() {
                $crate::on_both_backends!(@run $fixture, $crate::Backend::Sqlite, super::$name);
            }

            #[$test]
            async fn on_postgres() {
                $crate::on_both_backends!(@run $fixture, $crate::Backend::Postgres, super::$name);
            }
        }
    )*};
    (@run $fixture:ty, $backend:expr, $scenario:path) => {
        if let Some(f) = <$fixture as $crate::testing::Fixture>::open($backend).await {
            $scenario(<$fixture as $crate::testing::Fixture>::arg(&f)).await;
            $crate::testing::Fixture::close(f).await;
        }
    };
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn replace_database_swaps_only_the_path() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "x").ok(),
            Some("postgres://postgres@127.0.0.1:5432/x".to_owned())
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "x").ok(),
            Some("postgres://u:p@h/x?sslmode=disable".to_owned())
        );
        assert_eq!(
            replace_database("postgres://h:5432", "x").ok(),
            Some("postgres://h:5432/x".to_owned())
        );
    }
}

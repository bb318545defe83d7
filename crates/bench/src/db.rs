//! Throw-away databases: a SQLite file in a temp directory, or a uniquely named
//! PostgreSQL database created on the server and dropped afterwards.

use std::path::PathBuf;

use anyhow::Context as _;
use sqlx::{Connection, PgConnection};

/// Which database a suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "SQLite",
            BackendKind::Postgres => "PostgreSQL",
        }
    }
}

/// A database that exists for one measurement.
#[derive(Debug)]
pub struct TempDb {
    pub url: String,
    kind: BackendKind,
    /// SQLite: the temp directory; PostgreSQL: the admin URL and database name.
    dir: Option<PathBuf>,
    admin: Option<(String, String)>,
}

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "seguimiento_bench_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}

/// `admin_url` with its database name replaced by `name` (query string kept).
pub fn with_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let scheme_end = base
        .find("://")
        .context("a PostgreSQL URL needs a scheme")?
        + 3;
    let host_part = &base[scheme_end..];
    let host = host_part.split('/').next().unwrap_or(host_part);
    let mut url = format!("{}{host}/{name}", &base[..scheme_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    Ok(url)
}

impl TempDb {
    pub async fn create(kind: BackendKind, pg_url: &str) -> anyhow::Result<Self> {
        let name = unique_name();
        match kind {
            BackendKind::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let url = format!("sqlite://{}", dir.join("bench.db").display());
                Ok(TempDb {
                    url,
                    kind,
                    dir: Some(dir),
                    admin: None,
                })
            }
            BackendKind::Postgres => {
                let mut conn = PgConnection::connect(pg_url)
                    .await
                    .with_context(|| format!("connecting to {pg_url}"))?;
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .await
                    .context("CREATE DATABASE")?;
                conn.close().await.ok();
                Ok(TempDb {
                    url: with_database(pg_url, &name)?,
                    kind,
                    dir: None,
                    admin: Some((pg_url.to_owned(), name)),
                })
            }
        }
    }

    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// Removes the database (close every pool on it first).
    pub async fn drop_db(self) -> anyhow::Result<()> {
        if let Some(dir) = &self.dir {
            std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        if let Some((admin, name)) = &self.admin {
            let mut conn = PgConnection::connect(admin).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .context("DROP DATABASE")?;
            conn.close().await.ok();
        }
        Ok(())
    }
}

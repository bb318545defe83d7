//! Small helpers shared by the commands: database URLs, time arguments, output files.

use std::fs::File;
use std::future::Future;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::pin::Pin;
use std::str::FromStr;

use anyhow::Context as _;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use seguimiento_app::personal_data::MasterKeyLocation;
use seguimiento_app::App;

use crate::cli::DbArgs;

/// Sonora's offset ([`seguimiento_domain::time`]).
pub fn sonora() -> FixedOffset {
    seguimiento_domain::time::OFFSET
}

/// A bare path means a SQLite file.
pub fn database_url(raw: &str) -> String {
    let raw = raw.trim();
    if raw.starts_with("sqlite:")
        || raw.starts_with("postgres://")
        || raw.starts_with("postgresql://")
    {
        raw.to_owned()
    } else {
        format!("sqlite://{raw}")
    }
}

/// The URL with any password hidden, for messages.
pub fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Connects (running migrations).
pub async fn open(db: &DbArgs) -> anyhow::Result<App> {
    let url = database_url(&db.db);
    let master_key = match &db.master_key_file {
        Some(p) => MasterKeyLocation::File(p.clone()),
        None => MasterKeyLocation::Default,
    };
    App::open_with(&url, master_key)
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe(&e)))
        .with_context(|| format!("cannot open database {}", redacted_url(&url)))
}

/// An application error with its underlying cause (storage errors hide it in `source`).
pub fn describe(e: &seguimiento_app::AppError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// A point in time on the command line: RFC 3339 (`2024-02-12T14:30:37-07:00`), a local
/// date-time in Sonora (`2024-02-12T14:30:37` or `2024-02-12 14:30:37`), or a date
/// (`2023-12-31`: the end of that day in Sonora).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeArg(pub DateTime<Utc>);

impl FromStr for TimeArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(TimeArg(t.with_timezone(&Utc)));
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
                return local(naive);
            }
        }
        if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            let end = NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999)
                .ok_or_else(|| "invalid time".to_owned())?;
            return local(date.and_time(end));
        }
        Err(format!(
            "{s:?} is not a time (use RFC 3339, \"YYYY-MM-DD HH:MM:SS\" in Sonora time, or YYYY-MM-DD)"
        ))
    }
}

fn local(naive: NaiveDateTime) -> Result<TimeArg, String> {
    sonora()
        .from_local_datetime(&naive)
        .single()
        .map(|t| TimeArg(t.with_timezone(&Utc)))
        .ok_or_else(|| format!("{naive} is not a valid local time"))
}

/// Resolves on Ctrl-C (or SIGTERM on Unix). The handler is registered when this is
/// called, not when the future is first polled, so a signal arriving in between is not
/// lost (and does not kill the process with the default disposition).
pub fn interrupted() -> anyhow::Result<Pin<Box<dyn Future<Output = ()> + Send>>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        Ok(Box::pin(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }))
    }
    #[cfg(not(unix))]
    {
        Ok(Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
        }))
    }
}

/// A buffered writer on a file (created or truncated) or on standard output.
pub fn output(path: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) if p.as_os_str() != "-" => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        _ => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_means_the_end_of_that_day_in_sonora() {
        let t: TimeArg = "2023-12-31".parse().expect("a date parses");
        assert_eq!(t.0.to_rfc3339(), "2024-01-01T06:59:59.999999+00:00");
    }

    #[test]
    fn rfc3339_and_local_times_parse() {
        let t: TimeArg = "2024-02-12T14:30:37-07:00".parse().expect("rfc3339");
        let u: TimeArg = "2024-02-12 14:30:37".parse().expect("local");
        assert_eq!(t, u);
        assert!("yesterday".parse::<TimeArg>().is_err());
    }

    #[test]
    fn a_bare_path_is_a_sqlite_url_and_passwords_are_hidden() {
        assert_eq!(database_url("x.db"), "sqlite://x.db");
        assert_eq!(database_url("postgres://a@b/c"), "postgres://a@b/c");
        assert_eq!(
            redacted_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
    }
}

//! Figure 7: peak RSS (VmHWM) of a server process answering figure 6's load: a spawned
//! `seguimiento serve` on the benchmark database when the binary exists, else this
//! process (which also holds the dataset, so an upper bound).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, BufReader};

use super::load::{self, Target};
use crate::machine::proc_status_kb;

/// Peak and idle memory of the server, in MB.
#[derive(Debug, Clone, Copy)]
pub struct Rss {
    /// VmHWM after the load.
    pub peak_mb: f64,
    /// VmRSS after start-up and one answered request.
    pub idle_mb: f64,
    /// Whether a separate `seguimiento serve` process was measured.
    pub spawned: bool,
}

fn mb(kb: Option<u64>) -> f64 {
    kb.map_or(0.0, |k| k as f64 / 1024.0)
}

/// Spawns `bin serve` on `db_url`, loads it like figure 6 at `clients`, reads its status.
pub async fn spawned_server(
    bin: &Path,
    db_url: &str,
    token: &str,
    clients: usize,
    max_requests: usize,
    max_time: Duration,
) -> anyhow::Result<Rss> {
    let log_path = std::env::temp_dir().join(format!(
        "seguimiento-bench-serve-{}.log",
        std::process::id()
    ));
    let log = std::fs::File::create(&log_path)?;
    let mut child = tokio::process::Command::new(bin)
        .args([
            "serve",
            "--db",
            db_url,
            "--listen",
            "127.0.0.1:0",
            "--rate-limit",
            "0",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("spawning {} serve", bin.display()))?;
    let pid = child.id().context("the server exited at once")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(600), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("GraphQL: ") {
                return anyhow::Ok(url.trim().to_owned());
            }
        }
        anyhow::bail!("the server ended without printing its address")
    })
    .await
    .context("the server did not start in time")
    .and_then(|r| r)
    .map_err(|e| {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        e.context(format!("{} serve: {tail}", bin.display()))
    });
    std::fs::remove_file(&log_path).ok();
    let url = url?;
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let target = Target {
        url,
        token: Some(token.to_owned()),
        body: super::graphql::body(),
    };
    let client = reqwest::Client::new();
    load::send(&client, &target).await?;
    let idle_mb = mb(proc_status_kb(Some(pid), "VmRSS"));
    load::run(&target, clients, max_requests, max_time).await?;
    let peak_mb = mb(proc_status_kb(Some(pid), "VmHWM"));
    child.kill().await.ok();
    Ok(Rss {
        peak_mb,
        idle_mb,
        spawned: true,
    })
}

/// This process's own figures, for when no server binary is available.
pub fn in_process(idle_kb: Option<u64>) -> Rss {
    Rss {
        peak_mb: mb(proc_status_kb(None, "VmHWM")),
        idle_mb: mb(idle_kb),
        spawned: false,
    }
}

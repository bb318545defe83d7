//! A bounded HTTP load: `clients` concurrent loops POSTing one body, until `max_requests`
//! were sent or `max_time` passed (loopback only).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Latency percentiles and throughput of one load.
#[derive(Debug, Clone, Copy)]
pub struct LoadResult {
    pub requests: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub rps: f64,
}

/// What to send.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub token: Option<String>,
    pub body: Arc<String>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Sends one request; an error status or a GraphQL `errors` member is an error.
pub async fn send(client: &reqwest::Client, target: &Target) -> anyhow::Result<String> {
    let mut req = client
        .post(&target.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(target.body.as_ref().clone());
    if let Some(t) = &target.token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let text = resp.text().await?;
    anyhow::ensure!(status.is_success(), "HTTP {status}: {text}");
    anyhow::ensure!(!text.contains("\"errors\""), "GraphQL errors: {text}");
    Ok(text)
}

pub async fn run(
    target: &Target,
    clients: usize,
    max_requests: usize,
    max_time: Duration,
) -> anyhow::Result<LoadResult> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(clients.max(1))
        .build()?;
    // Warm-up: one request per client connection.
    for _ in 0..clients.min(4) {
        send(&client, target).await?;
    }
    let issued = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + max_time;
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let client = client.clone();
        let target = target.clone();
        let issued = issued.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while issued.fetch_add(1, Ordering::SeqCst) < max_requests && Instant::now() < deadline
            {
                let t = Instant::now();
                send(&client, &target).await?;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Ok(LoadResult {
        requests: all.len(),
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        rps: all.len() as f64 / secs,
    })
}

//! One module per figure of the issue.

pub mod append;
pub mod as_of;
pub mod graphql;
pub mod import;
pub mod load;
pub mod read;
pub mod rss;

use std::future::Future;
use std::time::Instant;

/// Runs `f`, returning its output and the elapsed seconds.
pub async fn timed<T, F: Future<Output = T>>(f: F) -> (T, f64) {
    let start = Instant::now();
    let out = f.await;
    (out, start.elapsed().as_secs_f64().max(1e-9))
}

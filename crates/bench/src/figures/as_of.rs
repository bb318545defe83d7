//! Figure 5: the semáforo for a past date (an in-memory fold of the log).

use chrono::{DateTime, Utc};
use seguimiento_eventstore::EventStore;
use seguimiento_projections::models::semaforo;
use seguimiento_projections::{Scope, View};

use super::timed;

/// Seconds to compute the commitments semáforo as it was in effect at `at`.
pub async fn semaforo_at(store: &EventStore, at: DateTime<Utc>) -> anyhow::Result<(f64, usize)> {
    let view = View {
        as_of: None,
        effective_at: Some(at),
    };
    let (res, secs) = timed(semaforo::query(store, Scope::CommitmentActions, view, None)).await;
    let report = res?;
    Ok((secs, report.rows.len()))
}

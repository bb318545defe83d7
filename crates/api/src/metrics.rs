//! Prometheus metrics (`/metrics`): requests, latencies, events appended through the API,
//! and the live projections' lag (read at scrape time).

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use seguimiento_projections::LiveRunner;

/// The API's metrics, in a registry of their own (several servers per process in tests).
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    events_appended: IntCounter,
    projection_lag: IntGaugeVec,
    projection_checkpoint: IntGaugeVec,
    projection_fault: IntGaugeVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        match Self::try_new() {
            Ok(m) => m,
            // The definitions are constants with valid names in a fresh registry.
            Err(e) => unreachable!("invalid metric definitions: {e}"),
        }
    }

    fn try_new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("seguimiento_http_requests_total", "HTTP requests served"),
            &["route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "seguimiento_http_request_duration_seconds",
                "HTTP request latency",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["route"],
        )?;
        let events_appended = IntCounter::new(
            "seguimiento_events_appended_total",
            "Events appended through GraphQL mutations",
        )?;
        let projection_lag = IntGaugeVec::new(
            Opts::new(
                "seguimiento_projection_lag_events",
                "Events between a projection's checkpoint and the log head",
            ),
            &["projection"],
        )?;
        let projection_checkpoint = IntGaugeVec::new(
            Opts::new(
                "seguimiento_projection_checkpoint",
                "Last log position folded by a projection",
            ),
            &["projection"],
        )?;
        let projection_fault = IntGaugeVec::new(
            Opts::new(
                "seguimiento_projection_fault_position",
                "Log position of the event a projection stopped at (0: none)",
            ),
            &["projection"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(events_appended.clone()))?;
        registry.register(Box::new(projection_lag.clone()))?;
        registry.register(Box::new(projection_checkpoint.clone()))?;
        registry.register(Box::new(projection_fault.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            events_appended,
            projection_lag,
            projection_checkpoint,
            projection_fault,
        })
    }

    /// Records one served request.
    pub fn observe_request(&self, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    pub fn events_appended(&self, n: usize) {
        self.events_appended.inc_by(n as u64);
    }

    /// The text exposition, after refreshing the projection gauges.
    pub async fn render(&self, runner: &LiveRunner) -> String {
        match runner.status().await {
            Ok(statuses) => {
                for s in statuses {
                    self.projection_lag
                        .with_label_values(&[s.name.as_str()])
                        .set(i64::try_from(s.lag).unwrap_or(i64::MAX));
                    self.projection_checkpoint
                        .with_label_values(&[s.name.as_str()])
                        .set(i64::try_from(s.checkpoint).unwrap_or(i64::MAX));
                    let fault = s.fault.as_ref().map_or(0, |f| f.position);
                    self.projection_fault
                        .with_label_values(&[s.name.as_str()])
                        .set(i64::try_from(fault).unwrap_or(i64::MAX));
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read projection status for metrics"),
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

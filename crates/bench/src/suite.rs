//! Runs every figure on one backend: for each growth level (1×, 4×, 16×) a fresh database
//! is imported, read, rebuilt and queried; the largest level also runs figures 1, 6 (all
//! concurrencies) and 7.

use std::path::Path;
use std::time::Duration;

use seguimiento_eventstore::EventStore;

use crate::config::Params;
use crate::dataset::{BenchEvent, Dataset};
use crate::db::{BackendKind, TempDb};
use crate::figures::append::{self, Layout};
use crate::figures::graphql;
use crate::figures::{as_of, import, load, read, rss};
use crate::report::{Figure, Target};

/// What one suite needs.
pub struct Suite<'a> {
    pub params: &'a Params,
    pub dataset: &'a Dataset,
    pub backend: BackendKind,
    pub pg_url: &'a str,
    /// The `seguimiento` binary, for figure 7.
    pub bin: Option<&'a Path>,
}

/// Costs of one level, for figure 8.
#[derive(Debug, Clone, Copy)]
struct LevelCost {
    events: usize,
    import_us: f64,
    /// The raw bulk insert's cost per event at this level: how much of the import's growth
    /// the database itself shows, with no store logic.
    raw_import_us: f64,
    rebuild_us: f64,
    query_p50_ms: f64,
}

impl LevelCost {
    /// A level whose costs this run did not measure.
    fn unmeasured(events: usize) -> Self {
        LevelCost {
            events,
            import_us: f64::NAN,
            raw_import_us: f64::NAN,
            rebuild_us: f64::NAN,
            query_p50_ms: f64::NAN,
        }
    }
}

/// Concurrency used for figure 8's query latency.
const GROWTH_CLIENTS: usize = 16;

fn log(msg: impl AsRef<str>) {
    eprintln!("[bench] {}", msg.as_ref());
}

impl Suite<'_> {
    fn name(&self) -> &'static str {
        self.backend.name()
    }

    fn fig(&self, n: u32, what: impl Into<String>, unit: &str) -> Figure {
        Figure::new(n, self.name(), what, unit)
    }

    pub async fn run(&self) -> anyhow::Result<Vec<Figure>> {
        let mut figures = Vec::new();
        let mut costs = Vec::new();
        let levels = self.params.levels();
        for (i, &level) in levels.iter().enumerate() {
            let events = self.dataset.prefix(level);
            let top = i + 1 == levels.len();
            let db = TempDb::create(self.backend, self.pg_url).await?;
            log(format!(
                "{}: level {} events → {}",
                self.name(),
                events.len(),
                db.url
            ));
            let result = async {
                let store = EventStore::connect(&db.url).await?;
                let out = self.level(&store, &db.url, events, top, &mut figures).await;
                store.close().await;
                out
            }
            .await;
            db.drop_db().await?;
            costs.push(result?);
        }
        if self.params.wants(8) {
            self.growth(&costs, &mut figures);
        }
        figures.sort_by_key(|f| f.number);
        Ok(figures)
    }

    async fn level(
        &self,
        store: &EventStore,
        url: &str,
        events: &[BenchEvent],
        top: bool,
        figures: &mut Vec<Figure>,
    ) -> anyhow::Result<LevelCost> {
        let n = events.len();
        let at = format!("{n} events");
        let p = self.params;
        // Figures 3 to 7 (and 8) need the log; 1 writes its own streams.
        if !(2..=8).any(|f| p.wants(f)) {
            if top && p.wants(1) {
                self.append(store, events, figures).await?;
            }
            return Ok(LevelCost::unmeasured(n));
        }

        log("  figure 2: import");
        let raw_tps = if p.wants(2) || p.wants(8) {
            import::raw_import(store, events).await?
        } else {
            f64::NAN
        };
        let import_tps = import::store_import(store, events).await?;
        if top && p.wants(2) {
            let streams = {
                let mut s: Vec<&str> = events.iter().map(|e| e.stream.as_str()).collect();
                s.sort_unstable();
                s.dedup();
                s.len()
            };
            let baseline = match self.backend {
                BackendKind::Sqlite => "raw multi-row INSERT",
                BackendKind::Postgres => "raw COPY",
            };
            figures.push(
                self.fig(
                    2,
                    format!("bulk import, append_batch ({at}, {streams} streams)"),
                    "ev/s",
                )
                .value(import_tps)
                .baseline(raw_tps, baseline)
                .target(Target::ratio_at_least(0.5).and_min_value(100_000.0)),
            );
        }

        let (mut read_eps, mut rebuild_eps) = (f64::NAN, f64::NAN);
        if [3, 4, 5].iter().any(|&f| p.wants(f)) {
            log("  figure 3: read + decode");
            let raw_rps = read::raw_select(store, url).await?;
            let (read_n, eps) = read::read_and_decode(store).await?;
            anyhow::ensure!(read_n as usize == n, "read {read_n} events, expected {n}");
            read_eps = eps;
            if top && p.wants(3) {
                let what = format!(
                    "scan::decoded: read_all_raw + ProjectedEvent::decode_raw, read and decoded \
                     ahead ({at})"
                );
                figures.push(
                    self.fig(3, what, "ev/s")
                        .value(read_eps)
                        .baseline(
                            raw_rps,
                            match self.backend {
                                BackendKind::Sqlite => "raw streaming SELECT, rusqlite",
                                BackendKind::Postgres => "raw streaming SELECT",
                            },
                        )
                        .target(Target::ratio_at_least(0.5)),
                );
            }
        }

        if p.wants(4) || p.wants(8) {
            log("  figure 4: rebuild");
            let (eps, projections) = read::rebuild_all(store, n as u64).await?;
            rebuild_eps = eps;
            if top && p.wants(4) {
                figures.push(
                    self.fig(
                        4,
                        format!("rebuild of all {projections} projections ({at})"),
                        "ev/s",
                    )
                    .value(rebuild_eps)
                    .baseline(read_eps, "figure 3")
                    .target(Target::none().and_min_value(200_000.0)),
                );
            }
        }

        if p.wants(5) && n == self.dataset.prefix(self.params.as_of_level()).len() {
            log("  figure 5: as-of semáforo");
            if let Some(mid) = self.dataset.mid_effective(n) {
                let (secs, rows) = as_of::semaforo_at(store, mid).await?;
                figures.push(
                    self.fig(
                        5,
                        format!(
                            "as-of semáforo (commitments, effectiveAt {}, {rows} rows, {at})",
                            mid.format("%Y-%m-%d")
                        ),
                        "s",
                    )
                    .value(secs)
                    .baseline(n as f64 / read_eps, "figure 3 over the same log")
                    .target(Target::below(2.0)),
                );
            }
        }

        let mut growth_p50 = f64::NAN;
        if p.wants(6) || p.wants(7) || p.wants(8) {
            log("  figure 6: GraphQL");
            let api = graphql::start_api(store).await?;
            let sample = api.sample().await?;
            let base = graphql::start_baseline(sample).await?;
            let base_target = load::Target {
                url: base.url.clone(),
                token: None,
                body: graphql::body(),
            };
            let (max_req, max_time) = (self.params.requests, self.params.request_time);
            let clients: &[usize] = if top && p.wants(6) {
                &[1, 16, 64]
            } else if p.wants(8) {
                &[GROWTH_CLIENTS]
            } else {
                &[]
            };
            for &c in clients {
                let (a, b) =
                    graphql::measure(&api.target(), &base_target, c, max_req, max_time).await?;
                if c == GROWTH_CLIENTS {
                    growth_p50 = a.p50_ms;
                }
                if top {
                    self.push_graphql(figures, c, &a, &b, &at);
                }
            }
            let token = api.token.clone();
            base.stop().await?;
            api.stop().await?;

            if top && p.wants(7) {
                self.rss(url, &token, figures, &at).await?;
            }
        }
        if top && p.wants(1) {
            self.append(store, events, figures).await?;
        }
        Ok(LevelCost {
            events: n,
            import_us: 1e6 / import_tps,
            raw_import_us: 1e6 / raw_tps,
            rebuild_us: 1e6 / rebuild_eps,
            query_p50_ms: growth_p50,
        })
    }

    fn push_graphql(
        &self,
        figures: &mut Vec<Figure>,
        c: usize,
        a: &load::LoadResult,
        b: &load::LoadResult,
        at: &str,
    ) {
        let what = |m: &str| {
            format!(
                "GraphQL compliance {m}, {c} clients ({at}, {} req)",
                a.requests
            )
        };
        let p99_target = if c == 64 {
            Target::below(10.0)
        } else {
            Target::none()
        };
        figures.push(
            self.fig(6, what("p50"), "ms")
                .value(a.p50_ms)
                .baseline(b.p50_ms, "plain axum"),
        );
        figures.push(
            self.fig(6, what("p99"), "ms")
                .value(a.p99_ms)
                .baseline(b.p99_ms, "plain axum")
                .target(p99_target),
        );
        figures.push(
            self.fig(6, what("throughput"), "req/s")
                .value(a.rps)
                .baseline(b.rps, "plain axum")
                .target(Target::ratio_at_least(0.5)),
        );
    }

    async fn rss(
        &self,
        url: &str,
        token: &str,
        figures: &mut Vec<Figure>,
        at: &str,
    ) -> anyhow::Result<()> {
        log("  figure 7: server RSS");
        let idle = crate::machine::proc_status_kb(None, "VmRSS");
        let (max_req, max_time) = (self.params.requests, self.params.request_time);
        let spawned = match self.bin {
            Some(bin) => rss::spawned_server(bin, url, token, 64, max_req, max_time)
                .await
                .map_err(|e| log(format!("  figure 7: falling back to this process: {e:#}")))
                .ok(),
            None => None,
        };
        let r = spawned.unwrap_or_else(|| rss::in_process(idle));
        let who = if r.spawned {
            "`seguimiento serve`"
        } else {
            "in-process (bench incl. dataset)"
        };
        figures.push(
            self.fig(
                7,
                format!("peak RSS (VmHWM) of {who} under 64 clients ({at})"),
                "MB",
            )
            .value(r.peak_mb)
            .baseline(r.idle_mb, "VmRSS idle after 1 request")
            .target(Target::below(300.0)),
        );
        Ok(())
    }

    async fn append(
        &self,
        store: &EventStore,
        events: &[BenchEvent],
        figures: &mut Vec<Figure>,
    ) -> anyhow::Result<()> {
        let total = self.params.append_events;
        let limit: Duration = self.params.append_time;
        for (writers, layout, label) in [
            (1, Layout::Distinct, "1 writer, distinct streams"),
            (8, Layout::Distinct, "8 writers, distinct streams"),
            (
                8,
                Layout::OneStream,
                "8 writers, one stream, retry on conflict",
            ),
        ] {
            log(format!("  figure 1: {label}"));
            let per_writer = (total / writers).max(1);
            let raw = append::raw_append(store, events, writers, per_writer, layout, limit).await?;
            let s = append::store_append(store, events, writers, per_writer, layout, limit).await?;
            let label = if layout == Layout::OneStream {
                format!("append 1 event/tx, {label} ({} conflicts)", s.conflicts)
            } else {
                format!("append 1 event/tx, {label}")
            };
            figures.push(
                self.fig(1, label, "ev/s")
                    .value(s.tps)
                    .baseline(raw, "raw single-row INSERT")
                    .target(Target::ratio_at_least(0.7)),
            );
        }
        Ok(())
    }

    fn growth(&self, costs: &[LevelCost], figures: &mut Vec<Figure>) {
        let Some(first) = costs.first() else { return };
        for c in costs.iter().skip(1) {
            let x = c.events as f64 / first.events.max(1) as f64;
            let rows = [
                (
                    "import cost per event",
                    "µs/ev",
                    c.import_us,
                    first.import_us,
                ),
                (
                    "rebuild cost per event",
                    "µs/ev",
                    c.rebuild_us,
                    first.rebuild_us,
                ),
                (
                    "GraphQL compliance p50 (16 clients)",
                    "ms",
                    c.query_p50_ms,
                    first.query_p50_ms,
                ),
            ];
            for (what, unit, value, base) in rows {
                figures.push(
                    self.fig(8, format!("growth {x:.0}× ({} ev): {what}", c.events), unit)
                        .value(value)
                        .baseline(base, format!("1× = {} ev", first.events))
                        .target(Target::ratio_at_most(1.25)),
                );
            }
            // No target: the database's own growth on the same rows, to read the import
            // row above against.
            figures.push(
                self.fig(
                    8,
                    format!(
                        "growth {x:.0}× ({} ev): raw bulk insert cost per event",
                        c.events
                    ),
                    "µs/ev",
                )
                .value(c.raw_import_us)
                .baseline(first.raw_import_us, format!("1× = {} ev", first.events))
                .target(Target::none()),
            );
        }
    }
}

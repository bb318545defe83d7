//! Realistic events: domain commands (the `seguimiento gen` generator at Sonora volumes, or
//! the 2023 demo dataset) decided in memory through `seguimiento_domain::decide`, so
//! payloads, deserialisation and projections do real work.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use seguimiento_app::import::ImportItem;
use seguimiento_app::ImportLine;
use seguimiento_eventstore::{Metadata, NewEvent};
use seguimiento_fixtures::{demo, DemoCommand, DemoEvent, Simulator};

use crate::config::Source;

/// One event ready to append, with its stream and 0-based version.
#[derive(Debug, Clone)]
pub struct BenchEvent {
    pub stream: String,
    pub version: u64,
    pub event: NewEvent,
}

/// The events of a run, in a valid append order (any prefix is a valid log too).
#[derive(Debug, Clone)]
pub struct Dataset {
    pub events: Vec<BenchEvent>,
    /// Where they came from, for the report.
    pub origin: String,
    /// Commands the domain rejected while generating (skipped).
    pub rejected: usize,
}

impl Dataset {
    /// The first `n` events (a valid log on its own).
    pub fn prefix(&self, n: usize) -> &[BenchEvent] {
        &self.events[..n.min(self.events.len())]
    }

    /// The middle of the business time covered by the first `n` events.
    pub fn mid_effective(&self, n: usize) -> Option<DateTime<Utc>> {
        let events = self.prefix(n);
        let times: Vec<DateTime<Utc>> =
            events.iter().filter_map(|e| e.event.effective_at).collect();
        let min = times.iter().min()?;
        let max = times.iter().max()?;
        Some(*min + (*max - *min) / 2)
    }
}

/// The event as a writer hands it to the store (same id, effective time and actor).
fn new_event(e: &DemoEvent) -> NewEvent {
    NewEvent::stored(
        e.id,
        e.event.to_stored(),
        Metadata::by(&e.actor),
        Some(e.effective_at),
    )
}

/// Runs commands through the in-memory simulator until `limit` events exist.
fn decide_all(
    commands: impl Iterator<Item = (DemoCommand, Option<uuid::Uuid>)>,
    limit: usize,
) -> (Vec<BenchEvent>, usize) {
    let mut sim = Simulator::new();
    let mut events = Vec::with_capacity(limit);
    let mut rejected = 0;
    for (c, command_id) in commands {
        if events.len() >= limit {
            break;
        }
        match sim.execute_with_id(&c, command_id) {
            Ok(out) => events.extend(out.into_iter().map(|e| BenchEvent {
                stream: e.stream.clone(),
                version: e.version,
                event: new_event(&e),
            })),
            Err(_) => rejected += 1,
        }
    }
    events.truncate(limit);
    (events, rejected)
}

/// The 2023 demo dataset, up to `limit` events.
pub fn from_demo(limit: usize) -> Dataset {
    let (events, rejected) = decide_all(demo::dataset_2023().into_iter().map(|c| (c, None)), limit);
    Dataset {
        origin: format!("2023 demo dataset, first {} events", events.len()),
        events,
        rejected,
    }
}

/// Events per generated year at `--scale 1` (see `seguimiento gen`).
const GEN_EVENTS_PER_YEAR: f64 = 290_000.0;

/// `seguimiento gen` output sized for about `limit` events, decided in memory.
pub fn from_gen(bin: &Path, limit: usize, work_dir: &Path) -> anyhow::Result<Dataset> {
    let years = ((limit as f64 / GEN_EVENTS_PER_YEAR).ceil() as u32).max(1);
    // 15 % head-room: the prefix is cut at `limit`.
    let scale =
        (limit as f64 * 1.15 / (GEN_EVENTS_PER_YEAR * f64::from(years))).clamp(0.001, 100.0);
    let file = work_dir.join("gen.jsonl");
    let args = [
        "gen".to_owned(),
        "--years".to_owned(),
        years.to_string(),
        "--scale".to_owned(),
        format!("{scale:.4}"),
        "--seed".to_owned(),
        "2023".to_owned(),
        "--out".to_owned(),
        file.display().to_string(),
    ];
    let status = Process::new(bin)
        .args(&args)
        .status()
        .with_context(|| format!("running {}", bin.display()))?;
    anyhow::ensure!(status.success(), "{} gen failed: {status}", bin.display());
    let reader = std::io::BufReader::new(
        std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?,
    );
    let mut bad_lines = 0usize;
    let commands = reader.lines().enumerate().filter_map(|(i, line)| {
        let parsed = line
            .ok()
            .and_then(|text| ImportLine::parse(i + 1, &text).ok());
        match parsed.map(|l| l.item) {
            Some(ImportItem::Command {
                command,
                actor,
                effective_at,
                command_id,
                ..
            }) => Some((
                DemoCommand {
                    command,
                    actor: actor.unwrap_or_else(|| "gen".to_owned()),
                    effective_at: effective_at.unwrap_or_else(demo::report_instant),
                },
                // The id the importer derives the event ids from, so the events carry
                // the ids `seguimiento import` would store.
                Some(command_id),
            )),
            _ => {
                bad_lines += 1;
                None
            }
        }
    });
    let (events, rejected) = decide_all(commands, limit);
    std::fs::remove_file(&file).ok();
    Ok(Dataset {
        origin: format!(
            "`seguimiento gen --years {years} --scale {scale:.4} --seed 2023`, first {} events",
            events.len()
        ),
        events,
        rejected: rejected + bad_lines,
    })
}

/// The `seguimiento` binary: `$SEGUIMIENTO_BIN`, or beside this executable (or one
/// directory up, for test executables in `deps/`).
pub fn find_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SEGUIMIENTO_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [dir.join("seguimiento"), dir.parent()?.join("seguimiento")]
        .into_iter()
        .find(|p| p.is_file())
}

/// Builds the dataset for `source`.
pub fn load(
    source: Source,
    limit: usize,
    bin: Option<&Path>,
    work_dir: &Path,
) -> anyhow::Result<Dataset> {
    match (source, bin) {
        (Source::Demo, _) => Ok(from_demo(limit)),
        (Source::Gen, Some(bin)) => from_gen(bin, limit, work_dir),
        (Source::Gen, None) => anyhow::bail!(
            "the `seguimiento` binary was not found (build it with `cargo build --release -p seguimiento` \
             or set SEGUIMIENTO_BIN), or use --source demo"
        ),
    }
}

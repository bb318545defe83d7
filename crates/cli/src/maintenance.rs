//! `rebuild`, `verify`, `anchor` and `projections`: looking after the log and the read
//! models.

use std::io::Write;
use std::process::ExitCode;

use seguimiento_projections::{rebuild as rebuild_one, rebuild_all, registry, status_of};

use seguimiento_eventstore::LogAnchor;

use crate::cli::{AnchorArgs, DbOnly, RebuildArgs, VerifyArgs};
use crate::progress::Progress;
use crate::util;

pub async fn rebuild(args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let app = util::open(&args.db).await?;
    let store = app.store();
    let projectors = match &args.projection {
        Some(name) => vec![registry::by_name(name).map_err(|_| {
            anyhow::anyhow!(
                "unknown projection {name:?} (known: {})",
                registry::names().join(", ")
            )
        })?],
        None => registry::all(),
    };
    let head = store
        .head_position()
        .await
        .map_err(|e| anyhow::anyhow!("reading the log: {e}"))?;
    let mut out = std::io::stdout().lock();
    let progress = Progress::new("rebuild", None);
    let reports = if args.projection.is_some() {
        let mut reports = Vec::with_capacity(projectors.len());
        for p in &projectors {
            progress.tick(p.name(), 0);
            reports.push(
                rebuild_one(store, p.as_ref())
                    .await
                    .map_err(|e| anyhow::anyhow!("rebuilding {} failed: {e}", p.name()))?,
            );
        }
        reports
    } else {
        // Every projection from one read of the log.
        progress.tick("all projections", 0);
        rebuild_all(store)
            .await
            .map_err(|e| anyhow::anyhow!("rebuilding failed: {e}"))?
    };
    progress.clear();
    for report in reports {
        writeln!(
            out,
            "{}: generation {} active at position {} ({} events folded; log head was {head})",
            report.projection, report.new_generation, report.position, report.events_folded
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads an anchor given on the command line: its JSON text, or a file holding it.
fn read_anchor(arg: &str) -> anyhow::Result<LogAnchor> {
    let text = if arg.trim_start().starts_with('{') {
        arg.to_owned()
    } else {
        std::fs::read_to_string(arg)
            .map_err(|e| anyhow::anyhow!("cannot read the anchor file {arg}: {e}"))?
    };
    let anchor: LogAnchor = serde_json::from_str(text.trim()).map_err(|e| {
        anyhow::anyhow!(
            "not an anchor (expected {{\"position\":N,\"link\":\"64 hex digits\"}}): {e}"
        )
    })?;
    let hex = anchor.link.len() == 64
        && anchor
            .link
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !(hex || (anchor.position == 0 && anchor.link.is_empty())) {
        anyhow::bail!("not an anchor: link must be 64 lowercase hex digits");
    }
    Ok(anchor)
}

pub async fn anchor(args: AnchorArgs) -> anyhow::Result<ExitCode> {
    let app = util::open(&args.db).await?;
    let head = app
        .store()
        .log_head()
        .await
        .map_err(|e| anyhow::anyhow!("reading the log head: {e}"))?;
    let line = serde_json::to_string(&head)?;
    if let Some(path) = &args.out {
        let mut file = util::output(Some(path))?;
        writeln!(file, "{line}")?;
        file.flush()?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let anchor = args.anchor.as_deref().map(read_anchor).transpose()?;
    let app = util::open(&args.db).await?;
    let progress = Progress::new("verify", None);
    progress.tick("walking the hash chain", 0);
    let report = app
        .store()
        .verify(args.stream.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("verify failed: {e}"))?;
    // The anchor is checked only on an intact log: then every stored link was recomputed
    // from the events, and the one at the anchor's position standing for it means the log
    // up to there is the one anchored.
    let anchor_failure = match (&anchor, &report.first_broken) {
        (Some(a), None) => app
            .store()
            .check_anchor(a)
            .await
            .map_err(|e| anyhow::anyhow!("checking the anchor failed: {e}"))?,
        _ => None,
    };
    progress.clear();
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let (Some(a), Some(map)) = (&anchor, value.as_object_mut()) {
            map.insert("anchor".into(), serde_json::to_value(a)?);
            map.insert(
                "anchorExtended".into(),
                (report.first_broken.is_none() && anchor_failure.is_none()).into(),
            );
            map.insert("anchorFailure".into(), anchor_failure.clone().into());
        }
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
    } else {
        let what = match &args.stream {
            Some(s) => format!("stream {s}"),
            None => "the whole log".to_owned(),
        };
        match &report.first_broken {
            None => writeln!(
                out,
                "intact: {} events checked in {what}",
                report.events_checked
            )?,
            Some(b) => writeln!(
                out,
                "BROKEN: {what}: first broken link at stream {} version {} (position {}): {}; {} events checked",
                b.stream, b.version, b.position, b.reason, report.events_checked
            )?,
        }
        if let Some(a) = &anchor {
            match (&report.first_broken, &anchor_failure) {
                (Some(_), _) => writeln!(
                    out,
                    "anchor at position {} not checked: the log itself is broken",
                    a.position
                )?,
                (None, Some(reason)) => writeln!(
                    out,
                    "ANCHOR NOT EXTENDED: the log no longer extends the anchor at position {}: {reason}",
                    a.position
                )?,
                (None, None) => writeln!(
                    out,
                    "anchor extended: the log up to position {} is the one anchored",
                    a.position
                )?,
            }
        }
    }
    out.flush()?;
    Ok(
        if report.first_broken.is_none() && anchor_failure.is_none() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

pub async fn projections(args: DbOnly) -> anyhow::Result<ExitCode> {
    let app = util::open(&args.db).await?;
    let names = registry::names();
    let status = status_of(app.store(), &names)
        .await
        .map_err(|e| anyhow::anyhow!("reading projection status: {e}"))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<16} {:>10} {:>12} {:>10} {:>8}  state",
        "projection", "generation", "checkpoint", "head", "lag"
    )?;
    let mut stopped = false;
    for s in status {
        let state = match &s.fault {
            _ if s.generation == 0 => "never run".to_owned(),
            Some(f) => {
                stopped = true;
                format!("STOPPED at position {}: {}", f.position, f.error)
            }
            None if s.lag == 0 => "up to date".to_owned(),
            None => "behind".to_owned(),
        };
        writeln!(
            out,
            "{:<16} {:>10} {:>12} {:>10} {:>8}  {state}",
            s.name, s.generation, s.checkpoint, s.head, s.lag
        )?;
    }
    out.flush()?;
    if stopped {
        eprintln!(
            "a projection is stopped at an event it cannot fold; the server retries it every \
             30 s and resumes once the cause is fixed (see the README, \"Security model\")"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

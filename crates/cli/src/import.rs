//! `import` (JSON Lines through [`App::import_jsonl`], the path the API can reuse) and
//! `export` (the log as JSON Lines, streamed).

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use futures::StreamExt;
use seguimiento_app::import::{ImportOptions, ImportProgress};
use seguimiento_app::key_backup;
use seguimiento_app::{App, ImportLine, ImportReport, Principal, RejectedLine};

use crate::cli::{ExportArgs, ImportArgs, KEYS_PASSPHRASE_ENV};
use crate::progress::Progress;
use crate::util::{self, describe};

/// A flag set on Ctrl-C while it lives: long work checks it and stops after the batch in
/// hand. Dropping it stops listening.
pub struct StopOnCtrlC {
    flag: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl StopOnCtrlC {
    pub fn install() -> anyhow::Result<StopOnCtrlC> {
        let flag = Arc::new(AtomicBool::new(false));
        let set = flag.clone();
        let signal = util::interrupted()?;
        let task = tokio::spawn(async move {
            signal.await;
            eprintln!("interrupted: finishing the batch in hand, then stopping");
            set.store(true, Ordering::SeqCst);
        });
        Ok(StopOnCtrlC { flag, task })
    }

    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }
}

impl Drop for StopOnCtrlC {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What an import reads.
pub enum ImportSource {
    /// Lines already parsed (the demo dataset).
    Lines(Vec<Result<ImportLine, RejectedLine>>),
    /// A JSON Lines reader, read as the import goes, with its line count when known.
    Reader(Box<dyn BufRead>, Option<u64>),
}

/// Runs an import with a progress display and Ctrl-C handling.
pub async fn run_import(
    app: &App,
    source: ImportSource,
    principal: &Principal,
    (chunk_events, cache_events): (usize, usize),
    label: &str,
) -> anyhow::Result<ImportReport> {
    let lines = match &source {
        ImportSource::Lines(lines) => Some(lines.len() as u64),
        ImportSource::Reader(_, lines) => *lines,
    };
    let progress = Progress::new(label, lines);
    let on_progress = |p: ImportProgress| {
        let note = format!("({} events committed)", p.events_appended);
        progress.update_noted("lines", p.lines_done, p.lines_total, &note);
    };
    let stop = StopOnCtrlC::install()?;
    let options = ImportOptions {
        chunk_events,
        lines,
        cache_events,
        on_progress: Some(&on_progress),
        stop: Some(stop.flag()),
    };
    let result = match source {
        ImportSource::Lines(lines) => app.import(lines, principal, options).await,
        ImportSource::Reader(reader, _) => app.import_jsonl(reader, principal, options).await,
    };
    progress.clear();
    result.map_err(|e| anyhow::anyhow!("import failed: {}", describe(&e)))
}

/// Non-blank lines of a file, counted in a quick first pass so the progress display knows
/// the total (the import itself reads the file once more, as it goes).
fn count_lines(path: &std::path::Path) -> std::io::Result<u64> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut n = 0;
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line)? > 0 {
        if line.iter().any(|b| !b.is_ascii_whitespace()) {
            n += 1;
        }
        line.clear();
    }
    Ok(n)
}

pub async fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let source = if args.file.as_os_str() == "-" {
        ImportSource::Reader(Box::new(std::io::stdin().lock()), None)
    } else {
        let file = File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        let lines = count_lines(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
        ImportSource::Reader(Box::new(BufReader::new(file)), Some(lines))
    };
    let passphrase = match &args.keys {
        Some(_) => Some(keys_passphrase()?),
        None => None,
    };
    let app = util::open(&args.db).await?;
    if let (Some(path), Some(passphrase)) = (&args.keys, passphrase) {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let keys = key_backup::open_keys(&text, &passphrase)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), describe(&e)))?;
        let stored =
            app.vault().import_keys(&keys).await.map_err(|e| {
                anyhow::anyhow!("cannot store the citizens' keys: {}", describe(&e))
            })?;
        eprintln!(
            "{} citizen keys read, {stored} stored (the others were already here)",
            keys.len()
        );
    }
    let principal = Principal::system(&args.actor);
    let report = run_import(
        &app,
        source,
        &principal,
        (args.chunk, args.cache_events),
        "import",
    )
    .await?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_report(&mut out, &report)?;
    }
    out.flush()?;
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The report as text: one line per rejected line, then the totals.
pub fn print_report(out: &mut impl Write, r: &ImportReport) -> std::io::Result<()> {
    for rej in &r.rejected {
        writeln!(out, "line {}: rejected: {}", rej.line, rej.reason)?;
    }
    writeln!(
        out,
        "{} lines: {} imported ({} events in {} transactions), {} already imported, {} rejected",
        r.lines,
        r.accepted,
        r.events_appended,
        r.chunks,
        r.already_imported,
        r.rejected.len()
    )?;
    if r.contacts_without_keys > 0 {
        writeln!(
            out,
            "{} contacts arrived without their keys and cannot be read (import the keys \
             written by `export --with-keys` with `--keys` before the log)",
            r.contacts_without_keys
        )?;
    }
    if r.interrupted {
        writeln!(
            out,
            "interrupted: the remaining lines were not appended; run the import again to finish"
        )?;
    }
    Ok(())
}

pub async fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let app = util::open(&args.db).await?;
    let store = app.store();
    let as_of = args.as_of.map(|t| t.0);
    let head = store
        .head_position()
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut events = match &args.stream {
        Some(s) => store.read_stream(s, 0, as_of),
        None => store.read_all(0, as_of, 1_000),
    };
    let mut out = util::output(args.out.as_deref())?;
    let progress = Progress::new("export", Some(head));
    let mut n: u64 = 0;
    while let Some(ev) = events.next().await {
        let ev = ev.map_err(|e| anyhow::anyhow!("reading the log: {e}"))?;
        serde_json::to_writer(&mut out, &ev)?;
        out.write_all(b"\n")?;
        n += 1;
        if n.is_multiple_of(1_000) {
            progress.update(
                "events",
                if args.stream.is_some() {
                    n
                } else {
                    ev.position
                },
                head,
            );
        }
    }
    out.flush()?;
    progress.clear();
    eprintln!("exported {n} events");
    if let Some(path) = &args.with_keys {
        let passphrase = keys_passphrase()?;
        let keys = app
            .vault()
            .export_keys()
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the citizens' keys: {}", describe(&e)))?;
        let text = key_backup::seal_keys(&keys, &passphrase)
            .map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
        write_private(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {} citizen keys to {}", keys.len(), path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The passphrase of a key backup file, from the environment (never a flag: it would
/// show in the process list).
fn keys_passphrase() -> anyhow::Result<String> {
    match std::env::var(KEYS_PASSPHRASE_ENV) {
        Ok(p) if !p.is_empty() => Ok(p),
        _ => anyhow::bail!("set {KEYS_PASSPHRASE_ENV} to the passphrase of the key file"),
    }
}

/// Writes a file readable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

//! `seguimiento-bench`: every figure of BENCHMARKS.md on SQLite and/or PostgreSQL beside a
//! baseline from the same run; the Markdown table goes to stdout and to `--out`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use seguimiento_bench::config::{Params, Size, Source};
use seguimiento_bench::db::BackendKind;
use seguimiento_bench::machine::Machine;
use seguimiento_bench::report::{self, Figure};
use seguimiento_bench::{dataset, suite::Suite};

/// The process allocator. Full-log scans (rebuild, import, as-of folds) allocate and free
/// many short-lived strings per row; under glibc's allocator `malloc`/`free` and their
/// consolidation took about a third of a rebuild's CPU profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backends {
    Sqlite,
    Postgres,
    Both,
}

/// Benchmarks of seguimiento against raw baselines measured in the same run.
#[derive(Debug, Parser)]
#[command(name = "seguimiento-bench")]
struct Args {
    #[arg(long, value_enum, default_value = "smoke")]
    size: Size,
    #[arg(long, value_enum, default_value = "both")]
    backend: Backends,
    /// A PostgreSQL server URL; a uniquely named database is created and dropped per level.
    #[arg(
        long,
        env = "BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pg_url: String,
    /// Where the events come from (default: demo for smoke, gen otherwise).
    #[arg(long, value_enum)]
    source: Option<Source>,
    /// Override the number of events of the largest level.
    #[arg(long)]
    events: Option<usize>,
    /// Measure only these figures (comma-separated numbers, e.g. `--only 1` or `--only 7`
    /// with `--events 5000000`); the others are skipped, and so are the smaller levels
    /// unless figure 8 (or 5) needs them.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=8))]
    only: Vec<u32>,
    /// The Markdown file to write (the section between the bench markers is replaced when
    /// present, so hand-written findings survive).
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
}

const BEGIN: &str = "<!-- bench:begin -->";
const END: &str = "<!-- bench:end -->";

fn write_out(path: &std::path::Path, section: &str) -> anyhow::Result<()> {
    let block = format!("{BEGIN}\n{section}{END}\n");
    let text = match std::fs::read_to_string(path) {
        Ok(old) => match (old.find(BEGIN), old.find(END)) {
            (Some(b), Some(e)) if b < e => {
                format!(
                    "{}{block}{}",
                    &old[..b],
                    old[e + END.len()..].trim_start_matches('\n')
                )
            }
            _ => format!("# Benchmarks\n\n{block}"),
        },
        Err(_) => format!("# Benchmarks\n\n{block}"),
    };
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let command = format!(
        "cargo run --release -p seguimiento-bench -- {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    let mut params = Params::for_size(args.size);
    if let Some(s) = args.source {
        params.source = s;
    }
    params.only = args.only.clone();
    if let Some(n) = args.events {
        params.events = n;
        params.as_of_events = params.as_of_events.min(n);
    }
    let started = Instant::now();
    let bin = dataset::find_binary();
    let work = std::env::temp_dir().join(format!("seguimiento-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    eprintln!(
        "[bench] generating {} events ({:?})",
        params.events, params.source
    );
    let data = dataset::load(params.source, params.events, bin.as_deref(), &work);
    std::fs::remove_dir_all(&work).ok();
    let data = data?;
    eprintln!(
        "[bench] dataset: {} ({} commands rejected) in {:.1}s",
        data.origin,
        data.rejected,
        started.elapsed().as_secs_f64()
    );
    let backends: &[BackendKind] = match args.backend {
        Backends::Sqlite => &[BackendKind::Sqlite],
        Backends::Postgres => &[BackendKind::Postgres],
        Backends::Both => &[BackendKind::Sqlite, BackendKind::Postgres],
    };
    let mut figures: Vec<Figure> = Vec::new();
    let mut durations = Vec::new();
    for &backend in backends {
        let t = Instant::now();
        let suite = Suite {
            params: &params,
            dataset: &data,
            backend,
            pg_url: &args.pg_url,
            bin: bin.as_deref(),
        };
        figures.extend(suite.run().await?);
        durations.push(format!(
            "{} {:.0} s",
            backend.name(),
            t.elapsed().as_secs_f64()
        ));
    }
    figures.sort_by_key(|f| f.number);
    let section = format!(
        "## Run `{}` ({})\n\nCommand:\n\n```sh\n{command}\n```\n\nMachine:\n\n{}\nEvents: {}. \
         Levels (figure 8): {:?}. Wall time: {}.\n\n{}\n",
        params.size.name(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        Machine::detect().markdown(),
        data.origin,
        params
            .levels()
            .iter()
            .map(|&l| l.min(data.events.len()))
            .collect::<Vec<_>>(),
        durations.join(", "),
        report::table(&figures)
    );
    println!("{section}");
    write_out(&args.out, &section)?;
    let missed = figures.iter().filter(|f| f.met() == Some(false)).count();
    eprintln!(
        "[bench] {} figures, {missed} targets missed; wrote {}",
        figures.len(),
        args.out.display()
    );
    Ok(())
}

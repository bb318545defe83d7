//! `seguimiento`: the command-line front end of the follow-up system.
//!
//! # Layout
//! - [`cli`]: the command line (clap derive, flags and environment variables).
//! - [`serve`]: `serve` (GraphQL server, live projections, `--demo` loader).
//! - [`import`]: `import` (JSON Lines through `App::import`) and `export`.
//! - [`maintenance`]: `rebuild`, `verify`, `projections`.
//! - [`report`]: `report` in table, CSV, JSON or XLSX form.
//! - [`gen`]: `gen`, synthetic command lines at Sonora-like volumes (`seguimiento_fixtures::gen`).
//! - [`token`]: `token create|revoke|list`.
//! - [`progress`]: progress bars on a terminal, plain lines otherwise.
//! - [`util`]: database URLs and time arguments shared by the commands.

mod catalogues;
mod cli;
mod gen;
mod import;
mod maintenance;
mod progress;
mod report;
mod serve;
mod token;
mod util;

use std::process::ExitCode;

use clap::Parser;

/// The process allocator. Full-log scans (rebuild, import, as-of folds) allocate and free
/// many short-lived strings per row; under glibc's allocator `malloc`/`free` and their
/// consolidation took about a third of a rebuild's CPU profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        // The reader went away (`seguimiento export | head`): nothing left to say.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes, no backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let pipe = Some(std::io::ErrorKind::BrokenPipe);
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().map(std::io::Error::kind) == pipe
            || c.downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == pipe
    })
}

/// Logs go to stderr; `RUST_LOG` wins over `-v`.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

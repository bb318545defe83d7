//! `gen`: the flags handed to [`seguimiento_fixtures::gen`], its lines to a file or
//! standard output, a progress display while it runs.

use std::process::ExitCode;

use chrono::Utc;
use seguimiento_fixtures::gen::{GenOptions, Generator};

use crate::cli::GenArgs;
use crate::progress::Progress;
use crate::util;

pub fn run(args: GenArgs) -> anyhow::Result<ExitCode> {
    let options = GenOptions {
        years: args.years,
        agencies: args.agencies,
        seed: args.seed,
        start_year: args.start_year,
        scale: args.scale,
    };
    let generator = Generator::new(options, Utc::now())?;
    let mut out = util::output(args.out.as_deref())?;
    let progress = Progress::new("gen", Some(generator.total_days()));
    let summary = generator.write(&mut *out, &mut |done, total| {
        progress.update("days", done, total);
    })?;
    progress.clear();
    eprintln!(
        "generated {} command lines for {} year(s) from {} ({} agencies, seed {})",
        summary.lines, summary.years, summary.start_year, summary.agencies, args.seed
    );
    Ok(ExitCode::SUCCESS)
}

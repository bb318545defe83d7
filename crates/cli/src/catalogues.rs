//! `seguimiento seed-catalogues`: registers the standard catalogue entries a log does not
//! hold yet, so a log written before catalogues were data accepts commands again.

use std::io::Write as _;
use std::process::ExitCode;

use seguimiento_app::{CommandRequest, Principal};
use seguimiento_fixtures::catalogues::{register, standard_entries};

use crate::cli::DbOnly;
use crate::util::{self, describe};

pub async fn seed(args: DbOnly) -> anyhow::Result<ExitCode> {
    let app = util::open(&args.db).await?;
    let held = app
        .agency_catalog()
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the catalogues: {}", describe(&e)))?;
    let (mut added, mut present) = (0u32, 0u32);
    for (catalogue, code, label) in standard_entries() {
        // An entry the Office registered, renamed or retired stays as it is.
        if held.catalogues.get(catalogue, code).is_some() {
            present += 1;
            continue;
        }
        app.execute(CommandRequest {
            command: register(catalogue, code, label),
            principal: Principal::system("cli"),
            effective_at: None,
            expected_version: None,
            command_id: None,
        })
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot register {} {code}: {}",
                catalogue.code(),
                describe(&e)
            )
        })?;
        added += 1;
    }
    writeln!(
        std::io::stdout().lock(),
        "catalogues: {added} entries registered, {present} already present"
    )?;
    Ok(ExitCode::SUCCESS)
}

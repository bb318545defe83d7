//! `token create|revoke|list`: bearer tokens for the GraphQL API; `forget-citizen` and
//! `citizen-export`: the data-protection verbs an administrator runs from the shell.

use std::io::Write;
use std::process::ExitCode;

use seguimiento_app::{Principal, Role};

use crate::cli::{CitizenExportArgs, ForgetCitizenArgs, TokenArgs, TokenCommand};
use crate::util::{self, describe};

pub async fn run(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let app = util::open(&args.db).await?;
    let tokens = app.tokens();
    let mut out = std::io::stdout().lock();
    match args.command {
        TokenCommand::Create {
            role,
            agency,
            subject,
        } => {
            let role = Role::parse(&role.to_lowercase()).ok_or_else(|| {
                anyhow::anyhow!("unknown role {role:?} (admin, capturista, auditor or viewer)")
            })?;
            let created = tokens
                .create(role, agency.as_deref(), &subject)
                .await
                .map_err(|e| anyhow::anyhow!("cannot create the token: {}", describe(&e)))?;
            writeln!(out, "id:     {}", created.id)?;
            writeln!(out, "role:   {}", role.as_str())?;
            writeln!(out, "token:  {}", created.secret)?;
            eprintln!("the token is shown only now: keep it safe");
        }
        TokenCommand::Revoke { id } => {
            let revoked = tokens
                .revoke(&id)
                .await
                .map_err(|e| anyhow::anyhow!("cannot revoke: {}", describe(&e)))?;
            if !revoked {
                anyhow::bail!("no live token with id {id}");
            }
            writeln!(out, "revoked {id}")?;
        }
        TokenCommand::List { json } => {
            let list = tokens
                .list()
                .await
                .map_err(|e| anyhow::anyhow!("cannot list tokens: {}", describe(&e)))?;
            if json {
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "{:<12}  {:<10}  {:<12}  {:<20}  {:<25}  status",
                    "id", "role", "agency", "subject", "created"
                )?;
                for t in list {
                    writeln!(
                        out,
                        "{:<12}  {:<10}  {:<12}  {:<20}  {:<25}  {}",
                        t.id,
                        t.role.as_str(),
                        t.agency.as_deref().unwrap_or("-"),
                        t.subject,
                        t.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        if t.revoked { "revoked" } else { "active" }
                    )?;
                }
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Everything held about one citizen, as JSON; the request is recorded.
pub async fn citizen_export(args: CitizenExportArgs) -> anyhow::Result<ExitCode> {
    let app = util::open(&args.db).await?;
    let record = app
        .citizen_export(args.citizen_id, &Principal::system(&args.actor))
        .await
        .map_err(|e| anyhow::anyhow!("cannot export the citizen's data: {}", describe(&e)))?;
    let mut out = util::output(args.out.as_deref())?;
    serde_json::to_writer_pretty(&mut out, &record)?;
    writeln!(out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Deletes a citizen's key. Saying nothing was forgotten is not an error worth a failure
/// exit when the key is already gone: the outcome the operator wants holds either way.
pub async fn forget_citizen(args: ForgetCitizenArgs) -> anyhow::Result<ExitCode> {
    let app = util::open(&args.db).await?;
    let deleted = app
        .vault()
        .forget(args.citizen_id)
        .await
        .map_err(|e| anyhow::anyhow!("cannot forget the citizen: {}", describe(&e)))?;
    if deleted {
        app.record_citizen_request(
            &args.citizen_id.to_string(),
            "erase",
            &Principal::system("cli"),
            "key deleted, master key rotated",
        )
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "forgot the citizen but could not record it: {}",
                describe(&e)
            )
        })?;
    }
    let mut out = std::io::stdout().lock();
    if deleted {
        writeln!(
            out,
            "forgot citizen {}: their contact data can no longer be read",
            args.citizen_id
        )?;
    } else {
        writeln!(
            out,
            "citizen {} has no key (never stored or already forgotten)",
            args.citizen_id
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

//! Mutations: one per domain command, each taking the domain's input object plus
//! optional `expectedVersion` (pin the stream's version: else `CONFLICT`), `commandId`
//! (makes a retry idempotent: `replayed: true`) and `effectiveAt` (business time).
//! The actor recorded is always the token's subject.

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};
use seguimiento_app::CommandRequest;
use seguimiento_domain::Command;
use uuid::Uuid;

use super::Services;
use crate::auth::principal;
use crate::error::ApiResult;
use crate::types::outcome::CommandResult;

pub struct MutationRoot;

/// Runs one command through the application's single write path.
async fn run(
    ctx: &Context<'_>,
    command: Command,
    expected_version: Option<u64>,
    command_id: Option<Uuid>,
    effective_at: Option<DateTime<Utc>>,
) -> ApiResult<CommandResult> {
    let principal = principal(ctx)?.clone();
    let s = ctx.data::<Services>()?;
    let outcome = s
        .app
        .execute(CommandRequest {
            command,
            principal,
            effective_at,
            expected_version,
            command_id,
        })
        .await?;
    if !outcome.replayed {
        s.metrics.events_appended(outcome.positions.len());
    }
    if let Some(last) = outcome.positions.iter().max() {
        if !s.config.read_your_writes.is_zero() {
            // Read-your-writes: let the live tables catch up before answering.
            s.runner.wait_for(*last, s.config.read_your_writes).await;
        }
    }
    Ok(outcome.into())
}

macro_rules! mutations {
    ($( $(#[$doc:meta])* $name:ident => $variant:ident($input:ty); )*) => {
        #[Object]
        impl MutationRoot {
            $(
                $(#[$doc])*
                async fn $name(
                    &self,
                    ctx: &Context<'_>,
                    input: $input,
                    expected_version: Option<u64>,
                    command_id: Option<Uuid>,
                    effective_at: Option<DateTime<Utc>>,
                ) -> ApiResult<CommandResult> {
                    run(ctx, Command::$variant(input), expected_version, command_id, effective_at).await
                }
            )*
        }
    };
}

// One mutation per command of the domain's declaration, with its docs.
seguimiento_domain::for_each_command!(mutations);

/// Every mutation name: the domain's command names.
pub use seguimiento_domain::command::COMMAND_NAMES as MUTATION_NAMES;

//! What a mutation answers: where the events landed and, on request, the object the
//! command affected in its state after the command.

use async_graphql::{ComplexObject, Context, SimpleObject};
use seguimiento_app::CommandOutcome;
use seguimiento_domain::StreamState;

use crate::auth::require_records;
use crate::error::ApiResult;
use crate::schema::Services;
use crate::types::records::{Agreement, Commitment, Letter};

/// Where a command's events landed.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct CommandResult {
    /// The stream written (e.g. `commitment-12`).
    pub stream: String,
    /// The stream's version after the command.
    pub version: u64,
    /// Global log positions of the appended (or, on a replay, the original) events.
    pub positions: Vec<u64>,
    /// True when this `commandId` had already been applied: nothing new was written.
    pub replayed: bool,
}

impl From<CommandOutcome> for CommandResult {
    fn from(o: CommandOutcome) -> Self {
        CommandResult {
            stream: o.stream,
            version: o.version,
            positions: o.positions,
            replayed: o.replayed,
        }
    }
}

/// The affected objects are resolved only when asked for, from the written stream, with
/// the same read rules as the `agreement`/`commitment`/`letter` queries. (A petition is
/// read through `petition(id)` only, where its personal data is guarded.)
#[ComplexObject]
impl CommandResult {
    /// The agreement or instruction written, when the command was about one.
    async fn agreement(&self, ctx: &Context<'_>) -> ApiResult<Option<Agreement>> {
        let (state, v) = self.state(ctx).await?;
        Ok(Agreement::from_state(state, self.stream.clone(), v))
    }

    /// The campaign commitment written, when the command was about one.
    async fn commitment(&self, ctx: &Context<'_>) -> ApiResult<Option<Commitment>> {
        let (state, v) = self.state(ctx).await?;
        Ok(Commitment::from_state(state, self.stream.clone(), v))
    }

    /// The letter written, when the command was about one.
    async fn letter(&self, ctx: &Context<'_>) -> ApiResult<Option<Letter>> {
        let (state, v) = self.state(ctx).await?;
        Ok(Letter::from_state(state, self.stream.clone(), v))
    }
}

impl CommandResult {
    async fn state(&self, ctx: &Context<'_>) -> ApiResult<(StreamState, Option<u64>)> {
        require_records(ctx)?;
        Ok(ctx
            .data::<Services>()?
            .app
            .stream_state(&self.stream)
            .await?)
    }
}

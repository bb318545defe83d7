//! What a mutation answers.

use async_graphql::SimpleObject;
use seguimiento_app::CommandOutcome;

/// Where a command's events landed.
#[derive(Debug, Clone, SimpleObject)]
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

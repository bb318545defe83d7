//! Read-side helpers for front ends: the current state of one stream, folded with the
//! domain (the same fold `execute` decides against).

use seguimiento_domain::{self as domain, StreamState};

use crate::commands::decode;
use crate::error::AppError;
use crate::App;

impl App {
    /// Folds `stream` into its aggregate's state; also returns the stream's last version
    /// (`None` when the stream has no events), for clients that pin `expectedVersion`.
    pub async fn stream_state(&self, stream: &str) -> Result<(StreamState, Option<u64>), AppError> {
        let recorded = self.load_stream(stream).await?;
        let version = recorded.last().map(|e| e.version);
        let events = decode(&recorded)?;
        Ok((domain::fold(&events), version))
    }
}

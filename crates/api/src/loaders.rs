//! DataLoaders: nested objects (an agreement's agencies, each action's agency) are
//! resolved in one batch per request instead of one read per object.
//!
//! [`LoaderStats`] counts the reads the loaders issue, so tests can check that a list of
//! 100 items costs one catalog read, not 100.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use seguimiento_app::App;

use crate::error::gql;
use crate::types::agency::Agency;

/// Reads issued by the loaders since start (shared by every request's loader).
#[derive(Debug, Default)]
pub struct LoaderStats {
    agency_batches: AtomicU64,
    agency_keys: AtomicU64,
}

impl LoaderStats {
    /// Catalog reads (one `read_stream("agencies")` each: a single SQL statement while the
    /// catalog fits in one page).
    pub fn agency_batches(&self) -> u64 {
        self.agency_batches.load(Ordering::SeqCst)
    }

    /// Acronyms asked for, over all batches.
    pub fn agency_keys(&self) -> u64 {
        self.agency_keys.load(Ordering::SeqCst)
    }
}

/// Agencies by (normalized) acronym, from the agency catalog stream.
pub struct AgencyLoader {
    app: App,
    stats: Arc<LoaderStats>,
}

impl AgencyLoader {
    pub fn new(app: App, stats: Arc<LoaderStats>) -> Self {
        AgencyLoader { app, stats }
    }
}

impl Loader<String> for AgencyLoader {
    type Value = Agency;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Agency>, Self::Error> {
        self.stats.agency_batches.fetch_add(1, Ordering::SeqCst);
        self.stats
            .agency_keys
            .fetch_add(keys.len() as u64, Ordering::SeqCst);
        let catalog = self.app.agency_catalog().await.map_err(gql)?;
        Ok(keys
            .iter()
            .filter_map(|k| catalog.get(k).map(|a| (k.clone(), Agency::from(a))))
            .collect())
    }
}

/// The per-request agency loader (with a per-request cache).
pub type AgencyDataLoader =
    async_graphql::dataloader::DataLoader<AgencyLoader, async_graphql::dataloader::HashMapCache>;

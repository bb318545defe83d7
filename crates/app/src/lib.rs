//! Application services: the one path every write takes (load the stream, check the
//! caller, decide, append) and the wiring of store, projections and tokens.
//!
//! # Layout
//! - [`auth`]: roles and the authenticated principal.
//! - [`citizen`]: data-protection requests: one citizen's whole record, recorded.
//! - [`tokens`]: bearer tokens (hashed, revocable).
//! - [`commands`]: executing one command with concurrency and idempotency.
//! - [`import`]: JSON Lines import: validate everything, then one bulk append.
//! - [`personal_data`]: citizens' contact data sealed per citizen (crypto-shredding).
//! - [`key_backup`]: citizens' keys as a passphrase-sealed backup file.
//! - [`master_key`]: the file holding the master key the citizen keys are wrapped under.
//! - [`error`]: [`AppError`] and its stable client codes.

pub mod auth;
pub mod citizen;
pub mod commands;
pub mod error;
pub mod import;
pub mod key_backup;
pub mod master_key;
pub mod personal_data;
pub mod queries;
pub mod tokens;

pub use auth::{Principal, Role};
pub use commands::{CommandOutcome, CommandRequest};
pub use error::AppError;
pub use import::{ImportLine, ImportReport, RejectedLine};
pub use tokens::{CreatedToken, TokenInfo, TokenStore};

use personal_data::{KeyVault, MasterKeyLocation};
use seguimiento_eventstore::EventStore;

/// Everything a front end (GraphQL, CLI) needs, cheap to clone.
#[derive(Clone)]
pub struct App {
    store: EventStore,
    tokens: TokenStore,
    vault: KeyVault,
}

impl App {
    /// Connects to the database (running migrations) and builds the services.
    pub async fn open(database_url: &str) -> Result<App, AppError> {
        Self::open_with(database_url, MasterKeyLocation::Default).await
    }

    /// Like [`App::open`], with the master key file of citizen keys given.
    pub async fn open_with(
        database_url: &str,
        master_key: MasterKeyLocation,
    ) -> Result<App, AppError> {
        let store = EventStore::connect(database_url).await?;
        Ok(App::from_store_with(store, master_key))
    }

    pub fn from_store(store: EventStore) -> App {
        Self::from_store_with(store, MasterKeyLocation::Default)
    }

    pub fn from_store_with(store: EventStore, master_key: MasterKeyLocation) -> App {
        let tokens = TokenStore::new(&store);
        let vault = KeyVault::with_master_key(&store, master_key);
        App {
            store,
            tokens,
            vault,
        }
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn tokens(&self) -> &TokenStore {
        &self.tokens
    }

    /// Per-citizen keys of personal data (crypto-shredding).
    pub fn vault(&self) -> &KeyVault {
        &self.vault
    }
}

//! Bearer tokens: shown once at creation, stored only as SHA-256 hashes, revocable.
//!
//! The token table is not the event log: revoking a token updates its row.
//!
//! Authenticating a token costs a database round trip, so a [`TokenStore`] can keep the
//! tokens it verified for a short time (see [`TokenStore::set_cache_ttl`]; off by default,
//! `seguimiento serve --token-cache-ttl-ms` turns it on). A revocation through any clone of
//! the same store takes effect at once; one made by another process (`seguimiento token
//! revoke` beside a running server) takes effect within the TTL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::RngCore;
use seguimiento_eventstore::{on_pool, DbPool, EventStore};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::{Principal, Role};
use crate::error::AppError;

const PREFIX: &str = "seg_";

/// A token as listed (never the secret).
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub subject: String,
    pub role: Role,
    pub agency: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked: bool,
}

/// A freshly created token: `secret` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub id: String,
    pub secret: String,
}

#[derive(Clone)]
pub struct TokenStore {
    pool: DbPool,
    /// Shared by every clone, so a revocation through one clone reaches all of them.
    cache: Arc<VerifiedTokens>,
}

/// Most verified tokens kept: far more than the live tokens of one deployment.
const CACHE_CAPACITY: usize = 10_000;

/// Tokens recently verified against the database, keyed by their SHA-256 (the secret is
/// never kept). Only valid tokens are cached: an unknown or revoked token is looked up
/// every time.
struct VerifiedTokens {
    entries: quick_cache::sync::Cache<[u8; 32], Verified>,
    /// How long a verification is trusted, in milliseconds; 0 turns the cache off.
    ttl_ms: AtomicU64,
    /// Bumped by every revocation. An entry remembers the epoch read *before* its
    /// database lookup, so a lookup that raced a revocation can never be trusted after it.
    epoch: AtomicU64,
}

#[derive(Clone)]
struct Verified {
    principal: Principal,
    epoch: u64,
    /// `tokio::time::Instant` so tests can move the clock instead of sleeping.
    at: tokio::time::Instant,
}

impl VerifiedTokens {
    fn new() -> Self {
        VerifiedTokens {
            entries: quick_cache::sync::Cache::new(CACHE_CAPACITY),
            ttl_ms: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
        }
    }

    fn ttl(&self) -> Option<Duration> {
        match self.ttl_ms.load(Ordering::Acquire) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    fn get(&self, key: &[u8; 32]) -> Option<Principal> {
        let ttl = self.ttl()?;
        let hit = self.entries.get(key)?;
        let fresh = hit.epoch == self.epoch.load(Ordering::Acquire) && hit.at.elapsed() < ttl;
        if fresh {
            Some(hit.principal)
        } else {
            self.entries.remove(key);
            None
        }
    }

    fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn hash(secret: &str) -> String {
    hex::encode(digest(secret))
}

impl TokenStore {
    pub fn new(store: &EventStore) -> Self {
        TokenStore {
            pool: store.pool().clone(),
            cache: Arc::new(VerifiedTokens::new()),
        }
    }

    /// Trusts a verified token for `ttl` before looking it up again (zero: always look it
    /// up). Applies to every clone of this store; forgets what was cached.
    ///
    /// The price is revocation latency: a token revoked by another process keeps working
    /// here for up to `ttl`. Revocations through this store (any clone) are immediate.
    pub fn set_cache_ttl(&self, ttl: Duration) {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.cache.ttl_ms.store(ms, Ordering::Release);
        self.cache.invalidate_all();
    }

    /// Creates a token. A capturista must name its agency.
    pub async fn create(
        &self,
        role: Role,
        agency: Option<&str>,
        subject: &str,
    ) -> Result<CreatedToken, AppError> {
        if role == Role::Capturista && agency.is_none() {
            return Err(AppError::Validation(
                "a capturista token needs --agency".into(),
            ));
        }
        if subject.trim().is_empty() {
            return Err(AppError::Validation("a token needs a subject".into()));
        }
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("{PREFIX}{}", hex::encode(bytes));
        let token_hash = hash(&secret);
        // The id is a prefix of the hash: enough to name the token for revocation.
        let id = token_hash[..12].to_string();
        let now = Utc::now().to_rfc3339();
        let sql = "INSERT INTO api_tokens (id, token_hash, subject, role, agency, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6)";
        on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(&id)
            .bind(&token_hash)
            .bind(subject)
            .bind(role.as_str())
            .bind(agency)
            .bind(&now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(CreatedToken { id, secret })
    }

    /// Marks a token revoked; returns false when no live token has that id.
    pub async fn revoke(&self, id: &str) -> Result<bool, AppError> {
        let now = Utc::now().to_rfc3339();
        let sql = "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
        let n = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(&now)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        // After the commit: a lookup that starts from now on reads the revoked row, and
        // one that started before carries the old epoch and is never trusted.
        self.cache.invalidate_all();
        Ok(n > 0)
    }

    /// Resolves a presented secret to its principal; `None` for unknown or revoked tokens.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Principal>, AppError> {
        if !secret.starts_with(PREFIX) {
            return Ok(None);
        }
        let key = digest(secret);
        if let Some(principal) = self.cache.get(&key) {
            return Ok(Some(principal));
        }
        let epoch = self.cache.epoch.load(Ordering::Acquire);
        let sql = "SELECT subject, role, agency FROM api_tokens \
                   WHERE token_hash = $1 AND revoked_at IS NULL";
        let token_hash = hex::encode(key);
        let row: Option<(String, String, Option<String>)> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(&token_hash)
                .fetch_optional(p)
                .await
        })?;
        let principal = row.and_then(|(subject, role, agency)| {
            Role::parse(&role).map(|role| Principal {
                subject,
                role,
                agency,
            })
        });
        if let (Some(p), Some(_)) = (&principal, self.cache.ttl()) {
            self.cache.entries.insert(
                key,
                Verified {
                    principal: p.clone(),
                    epoch,
                    at: tokio::time::Instant::now(),
                },
            );
        }
        Ok(principal)
    }

    pub async fn list(&self) -> Result<Vec<TokenInfo>, AppError> {
        let sql = "SELECT id, subject, role, agency, created_at, revoked_at FROM api_tokens \
                   ORDER BY created_at, id";
        type Row = (
            String,
            String,
            String,
            Option<String>,
            String,
            Option<String>,
        );
        let rows: Vec<Row> = on_pool!(&self.pool, |p| sqlx::query_as(sql).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, subject, role, agency, created_at, revoked_at)| {
                Some(TokenInfo {
                    id,
                    subject,
                    role: Role::parse(&role)?,
                    agency,
                    created_at: DateTime::parse_from_rfc3339(&created_at)
                        .ok()?
                        .with_timezone(&Utc),
                    revoked: revoked_at.is_some(),
                })
            })
            .collect())
    }
}

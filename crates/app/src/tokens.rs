//! Bearer tokens: shown once at creation, stored only as SHA-256 hashes, revocable.
//!
//! The token table is not the event log: revoking a token updates its row.

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
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl TokenStore {
    pub fn new(store: &EventStore) -> Self {
        TokenStore {
            pool: store.pool().clone(),
        }
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
        Ok(n > 0)
    }

    /// Resolves a presented secret to its principal; `None` for unknown or revoked tokens.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Principal>, AppError> {
        if !secret.starts_with(PREFIX) {
            return Ok(None);
        }
        let sql = "SELECT subject, role, agency FROM api_tokens \
                   WHERE token_hash = $1 AND revoked_at IS NULL";
        let token_hash = hash(secret);
        let row: Option<(String, String, Option<String>)> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(&token_hash)
                .fetch_optional(p)
                .await
        })?;
        Ok(row.and_then(|(subject, role, agency)| {
            Role::parse(&role).map(|role| Principal {
                subject,
                role,
                agency,
            })
        }))
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

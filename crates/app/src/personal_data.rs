//! Citizens' personal data, protected by crypto-shredding.
//!
//! A petition's `contact` is the only personal data in the log. Before it is appended the
//! field is sealed with AES-256-GCM under a key kept per citizen in `citizen_keys`, outside
//! the log. Forgetting a citizen deletes the key: the events (and their hash chain) stay
//! exactly as stored, but the contact can no longer be read. Projections never read it.
//!
//! Sealed form of the field: `{"sealed": "<base64 of nonce || ciphertext>"}`.

use std::collections::{BTreeSet, HashMap};

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use seguimiento_eventstore::{keep_prepared, on_pool, DbPool, EventStore, NewEvent};
use serde_json::{json, Value};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::error::AppError;

/// The only event type that carries personal data, and its field.
const PERSONAL_EVENT: &str = "PetitionReceived";
const PERSONAL_FIELD: &str = "contact";
const NONCE_LEN: usize = 12;
/// Citizens per key lookup or insert statement (3 binds each, within both backends' limits).
const KEYS_PER_STATEMENT: usize = 1_000;

/// The per-citizen key table.
#[derive(Clone)]
pub struct KeyVault {
    pool: DbPool,
}

impl KeyVault {
    pub fn new(store: &EventStore) -> Self {
        KeyVault {
            pool: store.pool().clone(),
        }
    }

    async fn find(&self, citizen: &str) -> Result<Option<[u8; 32]>, AppError> {
        let sql = "SELECT key_hex FROM citizen_keys WHERE citizen_id = $1";
        let row: Option<(String,)> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql).bind(citizen).fetch_optional(p).await
        })?;
        Ok(row.and_then(|(h,)| hex::decode(h).ok()?.try_into().ok()))
    }

    /// The stored keys of `citizens` (the ones without a key are absent).
    async fn find_all(&self, citizens: &[&str]) -> Result<HashMap<String, [u8; 32]>, AppError> {
        let mut keys = HashMap::with_capacity(citizens.len());
        for chunk in citizens.chunks(KEYS_PER_STATEMENT) {
            let rows: Vec<(String, String)> = on_pool!(&self.pool, |p| {
                let mut qb = QueryBuilder::new(
                    "SELECT citizen_id, key_hex FROM citizen_keys WHERE citizen_id IN (",
                );
                let mut ids = qb.separated(", ");
                for c in chunk {
                    ids.push_bind(*c);
                }
                qb.push(")");
                qb.build_query_as()
                    .persistent(keep_prepared(chunk.len()))
                    .fetch_all(p)
                    .await
            })?;
            for (citizen, hex_key) in rows {
                if let Some(key) = hex::decode(hex_key).ok().and_then(|k| k.try_into().ok()) {
                    keys.insert(citizen, key);
                }
            }
        }
        Ok(keys)
    }

    /// The keys of `citizens`, creating the missing ones, in a few statements however many
    /// citizens there are (a bulk import seals thousands of petitions per chunk; one
    /// transaction per new citizen made it crawl). Concurrent creators agree on one key:
    /// the insert does nothing when a key exists, and everyone reads back the stored one.
    async fn keys_for(&self, citizens: &[&str]) -> Result<HashMap<String, [u8; 32]>, AppError> {
        let mut keys = self.find_all(citizens).await?;
        let missing: Vec<&str> = citizens
            .iter()
            .copied()
            .filter(|c| !keys.contains_key(*c))
            .collect();
        if missing.is_empty() {
            return Ok(keys);
        }
        let now = Utc::now().to_rfc3339();
        for chunk in missing.chunks(KEYS_PER_STATEMENT) {
            let new_keys: Vec<String> = chunk
                .iter()
                .map(|_| {
                    let mut key = [0u8; 32];
                    rand::rng().fill_bytes(&mut key);
                    hex::encode(key)
                })
                .collect();
            on_pool!(&self.pool, |p| {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO citizen_keys (citizen_id, key_hex, created_at) ",
                );
                qb.push_values(chunk.iter().zip(&new_keys), |mut row, (citizen, key)| {
                    row.push_bind(*citizen).push_bind(key).push_bind(&now);
                });
                qb.push(" ON CONFLICT (citizen_id) DO NOTHING");
                qb.build()
                    .persistent(keep_prepared(chunk.len() * 3))
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected())
            })?;
        }
        keys.extend(self.find_all(&missing).await?);
        match missing.iter().find(|c| !keys.contains_key(**c)) {
            Some(_) => Err(AppError::Validation(
                "citizen key could not be stored".into(),
            )),
            None => Ok(keys),
        }
    }

    /// Deletes a citizen's key; returns whether there was one.
    pub async fn forget(&self, citizen: Uuid) -> Result<bool, AppError> {
        let sql = "DELETE FROM citizen_keys WHERE citizen_id = $1";
        let id = citizen.to_string();
        let n = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(&id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Seals the personal field of every event that has one, in place, looking up (or
    /// creating) all their citizens' keys at once.
    pub async fn seal_all<'e>(
        &self,
        events: impl IntoIterator<Item = &'e mut NewEvent>,
    ) -> Result<(), AppError> {
        let mut personal: Vec<(&'e mut NewEvent, String)> = events
            .into_iter()
            .filter(|e| e.event_type == PERSONAL_EVENT)
            .filter_map(|e| citizen_of(&e.payload).map(|c| (e, c)))
            .collect();
        if personal.is_empty() {
            return Ok(());
        }
        let citizens: BTreeSet<&str> = personal.iter().map(|(_, c)| c.as_str()).collect();
        let citizens: Vec<&str> = citizens.into_iter().collect();
        let keys = self.keys_for(&citizens).await?;
        for (e, citizen) in personal.iter_mut() {
            let key = keys
                .get(citizen.as_str())
                .ok_or_else(|| AppError::Validation("citizen key could not be stored".into()))?;
            seal(&mut e.payload, key)?;
        }
        Ok(())
    }

    /// Opens the personal field of a stored payload for a reader allowed to see it.
    /// Returns `false` (payload untouched) when the citizen was forgotten.
    pub async fn unseal(&self, event_type: &str, payload: &mut Value) -> Result<bool, AppError> {
        if event_type != PERSONAL_EVENT {
            return Ok(true);
        }
        let Some(citizen) = citizen_of(payload) else {
            return Ok(true);
        };
        match self.find(&citizen).await? {
            Some(key) => open(payload, &key),
            None => Ok(false),
        }
    }
}

fn citizen_of(payload: &Value) -> Option<String> {
    payload.get("citizenId")?.as_str().map(str::to_owned)
}

/// Whether a payload's personal field is sealed.
pub fn is_sealed(payload: &Value) -> bool {
    payload
        .get(PERSONAL_FIELD)
        .and_then(|c| c.get("sealed"))
        .is_some()
}

/// Replaces the personal field of a payload with a placeholder, for readers who may not
/// see it (and for forgotten citizens).
pub fn redact(payload: &mut Value) {
    if let Some(obj) = payload.as_object_mut() {
        if obj.contains_key(PERSONAL_FIELD) {
            obj.insert(PERSONAL_FIELD.into(), json!({ "redacted": true }));
        }
    }
}

fn seal(payload: &mut Value, key: &[u8; 32]) -> Result<(), AppError> {
    let Some(obj) = payload.as_object_mut() else {
        return Ok(());
    };
    let Some(plain) = obj.get(PERSONAL_FIELD) else {
        return Ok(());
    };
    if plain.get("sealed").is_some() {
        return Ok(());
    }
    let bytes = serde_json::to_vec(plain)
        .map_err(|_| AppError::Validation("contact data is not serializable".into()))?;
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let ct = cipher
        .encrypt(&nonce, bytes.as_slice())
        .map_err(|_| AppError::Validation("contact data could not be sealed".into()))?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ct);
    obj.insert(
        PERSONAL_FIELD.into(),
        json!({ "sealed": B64.encode(sealed) }),
    );
    Ok(())
}

fn open(payload: &mut Value, key: &[u8; 32]) -> Result<bool, AppError> {
    let Some(obj) = payload.as_object_mut() else {
        return Ok(true);
    };
    let Some(sealed) = obj
        .get(PERSONAL_FIELD)
        .and_then(|c| c.get("sealed"))
        .and_then(Value::as_str)
    else {
        return Ok(true);
    };
    let raw = B64
        .decode(sealed)
        .map_err(|_| AppError::Validation("sealed contact is not base64".into()))?;
    if raw.len() <= NONCE_LEN {
        return Ok(false);
    }
    let (nonce, ct) = raw.split_at(NONCE_LEN);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let Ok(plain) = cipher.decrypt(Nonce::from_slice(nonce), ct) else {
        return Ok(false);
    };
    let contact: Value = serde_json::from_slice(&plain)
        .map_err(|_| AppError::Validation("sealed contact is not JSON".into()))?;
    obj.insert(PERSONAL_FIELD.into(), contact);
    Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_contact_opens_with_its_key_only() {
        let contact = json!({"name": "Juana Pérez", "email": "juana@example.org"});
        let mut p = json!({"citizenId": "c1", "contact": contact.clone(), "topic": "X"});
        let key = [7u8; 32];
        seal(&mut p, &key).unwrap();
        let text = p.to_string();
        assert!(!text.contains("Juana") && !text.contains("juana@"));
        assert!(is_sealed(&p));
        let mut wrong = p.clone();
        assert!(!open(&mut wrong, &[8u8; 32]).unwrap());
        assert!(is_sealed(&wrong));
        assert!(open(&mut p, &key).unwrap());
        assert_eq!(p["contact"], contact);
        assert_eq!(p["topic"], "X");
    }

    #[test]
    fn redaction_replaces_only_the_personal_field() {
        let mut p = json!({"citizenId": "c1", "contact": {"name": "Juana"}, "topic": "X"});
        redact(&mut p);
        assert_eq!(p["contact"], json!({"redacted": true}));
        assert_eq!(p["topic"], "X");
    }
}

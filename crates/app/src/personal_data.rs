//! Citizens' personal data, protected by crypto-shredding.
//!
//! A petition's `contact` (in `PetitionReceived` and `PetitionContactRectified`) is the
//! only personal data in the log. Before it is appended the field is sealed with AES-256-GCM under a key kept per citizen in `citizen_keys`, outside
//! the log. Forgetting a citizen deletes the key: the events (and their hash chain) stay
//! exactly as stored, but the contact can no longer be read. Projections never read it.
//!
//! The citizen keys are themselves stored wrapped (AES-256-GCM, the citizen id as
//! associated data) under a master key kept in a file outside the database
//! ([`crate::master_key`]). Deleting a row does not erase its bytes from a database's
//! files (free pages, the WAL, PostgreSQL's dead tuples and WAL segments), so forgetting
//! also rotates the master key: the remaining keys are wrapped again under a new one and
//! the old one is destroyed, leaving every leftover copy of the deleted row unopenable.
//!
//! Sealed form of the field: `{"sealed": "<base64 of nonce || ciphertext>"}`.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::Utc;
use seguimiento_domain::{DomainEvent, PersonalFields};
use seguimiento_eventstore::{keep_prepared, on_pool, DbPool, EventStore, NewEvent};
use serde_json::{json, Value};
use sqlx::QueryBuilder;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::error::AppError;
use crate::master_key::{self, KEY_LEN};

const NONCE_LEN: usize = 12;
/// Citizens per key lookup or insert statement (3 binds each, within both backends' limits).
const KEYS_PER_STATEMENT: usize = 1_000;

/// Where the master key file is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasterKeyLocation {
    /// Next to a SQLite file (`<file>.keys`); `seguimiento-<database>.keys` in the working
    /// directory on PostgreSQL; in process memory for an in-memory SQLite database.
    Default,
    /// This file (created on first use when missing).
    File(PathBuf),
}

/// The master key the rows are wrapped under, with its generation.
#[derive(Clone, Copy)]
struct Master {
    key: [u8; KEY_LEN],
    generation: i64,
}

/// One stored citizen key: wrapped under the master key of `generation`, or (rows written
/// before keys were wrapped) in clear in `key_hex` until the first load wraps it.
type KeyRow = (String, Option<String>, Option<String>, Option<i64>);

/// The master key of an in-memory database, which has no file to keep one next to. Kept
/// with the store handle ([`EventStore::shared`]), so every `App` on the same store finds
/// it and it goes away with the database.
#[derive(Default)]
struct MemoryMaster(StdMutex<Option<[u8; KEY_LEN]>>);

impl MemoryMaster {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Option<[u8; KEY_LEN]>>, AppError> {
        self.0
            .lock()
            .map_err(|_| vault_error("master key registry poisoned"))
    }
}

/// The per-citizen key table, each key wrapped under the master key (envelope
/// encryption).
#[derive(Clone)]
pub struct KeyVault {
    pool: DbPool,
    memory: Arc<MemoryMaster>,
    location: MasterKeyLocation,
    /// Loaded on first use; held while rotating so one process rotates at a time.
    master: Arc<Mutex<Option<Master>>>,
}

fn vault_error(what: impl std::fmt::Display) -> AppError {
    AppError::Vault(what.to_string())
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> AppError + '_ {
    move |e| vault_error(format!("master key file {}: {e}", path.display()))
}

impl KeyVault {
    pub fn new(store: &EventStore) -> Self {
        Self::with_master_key(store, MasterKeyLocation::Default)
    }

    pub fn with_master_key(store: &EventStore, location: MasterKeyLocation) -> Self {
        KeyVault {
            pool: store.pool().clone(),
            memory: store.shared::<MemoryMaster>(),
            location,
            master: Arc::new(Mutex::new(None)),
        }
    }

    fn is_postgres(&self) -> bool {
        matches!(self.pool, DbPool::Postgres(_))
    }

    /// The master key file, `None` for an in-memory database.
    pub async fn master_key_path(&self) -> Result<Option<PathBuf>, AppError> {
        match (&self.location, &self.pool) {
            (MasterKeyLocation::File(p), _) => Ok(Some(p.clone())),
            (MasterKeyLocation::Default, DbPool::Sqlite(p)) => {
                let sql = "SELECT file FROM pragma_database_list WHERE name = 'main'";
                let (file,): (String,) = sqlx::query_as(sql).fetch_one(p).await?;
                Ok((!file.is_empty()).then(|| PathBuf::from(format!("{file}.keys"))))
            }
            (MasterKeyLocation::Default, DbPool::Postgres(p)) => {
                let sql = "SELECT current_database()";
                let (db,): (String,) = sqlx::query_as(sql).fetch_one(p).await?;
                Ok(Some(PathBuf::from(format!("seguimiento-{db}.keys"))))
            }
        }
    }

    async fn master_row(&self) -> Result<Option<(i64, String)>, AppError> {
        let sql = "SELECT generation, key_check FROM citizen_key_master WHERE id = 1";
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .fetch_optional(p)
            .await)?)
    }

    /// The master key, loaded (or created) on first use.
    async fn master(&self) -> Result<Master, AppError> {
        let mut guard = self.master.lock().await;
        match *guard {
            Some(m) => Ok(m),
            None => {
                let m = self.load().await?;
                *guard = Some(m);
                Ok(m)
            }
        }
    }

    /// The master key again, when rows show another process rotated it after
    /// generation `seen`.
    async fn refresh(&self, seen: i64) -> Result<Master, AppError> {
        let mut guard = self.master.lock().await;
        if let Some(m) = *guard {
            if m.generation > seen {
                return Ok(m);
            }
        }
        let m = self.load().await?;
        *guard = Some(m);
        Ok(m)
    }

    /// Reads the master key the database says it is under (finishing a rotation that
    /// stopped between its commit and the file's replacement), or creates the first one;
    /// then wraps any key stored in clear by an earlier version.
    async fn load(&self) -> Result<Master, AppError> {
        let path = self.master_key_path().await?;
        let master = match self.master_row().await? {
            None => {
                let key = match &path {
                    Some(p) => master_key::read_or_create(p).map_err(io_error(p))?,
                    None => *self
                        .memory
                        .lock()?
                        .get_or_insert_with(master_key::random_key),
                };
                let sql = "INSERT INTO citizen_key_master (id, generation, key_check) \
                           VALUES (1, 1, $1) ON CONFLICT (id) DO NOTHING";
                let check = master_key::check_of(&key);
                on_pool!(&self.pool, |p| sqlx::query(sql)
                    .bind(&check)
                    .execute(p)
                    .await
                    .map(|_| ()))?;
                match self.master_row().await? {
                    Some((generation, stored)) if stored == check => Master { key, generation },
                    _ => return Err(self.mismatch(path.as_deref())),
                }
            }
            Some((generation, check)) => {
                let key = match &path {
                    Some(p) => self.file_key(p, &check)?,
                    None => self
                        .memory
                        .lock()?
                        .filter(|k| master_key::check_of(k) == check)
                        .ok_or_else(|| self.mismatch(None))?,
                };
                Master { key, generation }
            }
        };
        self.wrap_legacy(&master).await?;
        Ok(master)
    }

    fn file_key(&self, path: &Path, check: &str) -> Result<[u8; KEY_LEN], AppError> {
        if let Some(key) = master_key::read(path).map_err(io_error(path))? {
            if master_key::check_of(&key) == check {
                return Ok(key);
            }
        }
        let pending = master_key::pending_path(path, check);
        if let Some(key) = master_key::read(&pending).map_err(io_error(&pending))? {
            if master_key::check_of(&key) == check {
                master_key::promote_pending(path, check).map_err(io_error(path))?;
                return Ok(key);
            }
        }
        Err(self.mismatch(Some(path)))
    }

    fn mismatch(&self, path: Option<&Path>) -> AppError {
        match path {
            Some(p) => vault_error(format!(
                "the master key file {} is missing or is not this database's: citizen keys \
                 cannot be opened (give the right one with --master-key-file)",
                p.display()
            )),
            None => vault_error("the in-memory master key of this database is gone"),
        }
    }

    /// Wraps the keys an earlier version stored in clear, and clears them.
    async fn wrap_legacy(&self, master: &Master) -> Result<(), AppError> {
        let sql = "SELECT citizen_id, key_hex FROM citizen_keys WHERE key_hex IS NOT NULL";
        let rows: Vec<(String, String)> =
            on_pool!(&self.pool, |p| sqlx::query_as(sql).fetch_all(p).await)?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut wrapped = Vec::with_capacity(rows.len());
        for (citizen, hex_key) in rows {
            let key = decode_hex_key(&hex_key)?;
            wrapped.push((wrap(&master.key, &citizen, &key)?, citizen));
        }
        let sqlite = !self.is_postgres();
        let update = "UPDATE citizen_keys SET wrapped = $1, generation = $2, key_hex = NULL \
                      WHERE citizen_id = $3 AND key_hex IS NOT NULL AND EXISTS \
                      (SELECT 1 FROM citizen_key_master WHERE id = 1 AND generation = $2)";
        on_pool!(&self.pool, |p| {
            let mut conn = p.acquire().await?;
            if sqlite {
                sqlx::query(SECURE_DELETE).execute(&mut *conn).await?;
            }
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            for (w, citizen) in &wrapped {
                sqlx::query(update)
                    .bind(w)
                    .bind(master.generation)
                    .bind(citizen)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// Opens stored rows with the master key (loading a newer one when another process
    /// rotated it).
    async fn open_rows(&self, rows: Vec<KeyRow>) -> Result<HashMap<String, [u8; 32]>, AppError> {
        let mut keys = HashMap::with_capacity(rows.len());
        if rows.is_empty() {
            return Ok(keys);
        }
        let mut master = self.master().await?;
        let newest = rows.iter().filter_map(|r| r.3).max().unwrap_or(0);
        if newest > master.generation {
            master = self.refresh(master.generation).await?;
        }
        for (citizen, key_hex, wrapped, generation) in rows {
            let key = match (key_hex, wrapped, generation) {
                (Some(h), _, _) => decode_hex_key(&h)?,
                (None, Some(w), Some(g)) if g == master.generation => {
                    unwrap(&master.key, &citizen, &w)?
                }
                _ => {
                    return Err(vault_error(
                        "a citizen key is wrapped under a master key that is no longer current",
                    ))
                }
            };
            keys.insert(citizen, key);
        }
        Ok(keys)
    }

    async fn find(&self, citizen: &str) -> Result<Option<[u8; 32]>, AppError> {
        Ok(self.find_all(&[citizen]).await?.remove(citizen))
    }

    /// The stored keys of `citizens` (the ones without a key are absent).
    async fn find_all(&self, citizens: &[&str]) -> Result<HashMap<String, [u8; 32]>, AppError> {
        let mut rows: Vec<KeyRow> = Vec::new();
        for chunk in citizens.chunks(KEYS_PER_STATEMENT) {
            let found: Vec<KeyRow> = on_pool!(&self.pool, |p| {
                let mut qb = QueryBuilder::new(
                    "SELECT citizen_id, key_hex, wrapped, generation FROM citizen_keys \
                     WHERE citizen_id IN (",
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
            rows.extend(found);
        }
        self.open_rows(rows).await
    }

    /// Stores `keys` wrapped under the current master key, in a few statements however
    /// many there are. A row that exists is left as it is. Nothing is stored when another
    /// process rotated the master key meanwhile (the statement checks the generation), so
    /// no row is ever wrapped under a retired key; the caller reads back and retries.
    async fn insert_keys(
        &self,
        master: &Master,
        keys: &[(&str, [u8; KEY_LEN])],
    ) -> Result<(), AppError> {
        let now = Utc::now().to_rfc3339();
        let postgres = self.is_postgres();
        for chunk in keys.chunks(KEYS_PER_STATEMENT) {
            let wrapped = chunk
                .iter()
                .map(|(citizen, key)| wrap(&master.key, citizen, key))
                .collect::<Result<Vec<String>, AppError>>()?;
            on_pool!(&self.pool, |p| {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO citizen_keys (citizen_id, wrapped, generation, created_at) \
                     SELECT * FROM (",
                );
                qb.push_values(chunk.iter().zip(&wrapped), |mut row, ((citizen, _), w)| {
                    row.push_bind(*citizen)
                        .push_bind(w)
                        .push_bind(master.generation)
                        .push_bind(&now);
                });
                // PostgreSQL needs the derived table named; SQLite takes no column list.
                qb.push(if postgres {
                    ") AS v (citizen_id, wrapped, generation, created_at)"
                } else {
                    ") AS v"
                });
                qb.push(" WHERE EXISTS (SELECT 1 FROM citizen_key_master WHERE id = 1 AND generation = ");
                qb.push_bind(master.generation);
                qb.push(") ON CONFLICT (citizen_id) DO NOTHING");
                qb.build()
                    .persistent(keep_prepared(chunk.len() * 4 + 1))
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// The keys of `citizens`, creating the missing ones, in a few statements however many
    /// citizens there are (a bulk import seals thousands of petitions per chunk; one
    /// transaction per new citizen made it crawl). Concurrent creators agree on one key:
    /// the insert does nothing when a key exists, and everyone reads back the stored one.
    async fn keys_for(&self, citizens: &[&str]) -> Result<HashMap<String, [u8; 32]>, AppError> {
        let mut keys = self.find_all(citizens).await?;
        // A rotation by another process between our read of the master key and the insert
        // makes the insert store nothing: load the new master key and try again.
        for _ in 0..5 {
            let missing: Vec<&str> = citizens
                .iter()
                .copied()
                .filter(|c| !keys.contains_key(*c))
                .collect();
            if missing.is_empty() {
                return Ok(keys);
            }
            let master = self.master().await?;
            let new_keys: Vec<(&str, [u8; KEY_LEN])> = missing
                .iter()
                .map(|c| (*c, master_key::random_key()))
                .collect();
            self.insert_keys(&master, &new_keys).await?;
            keys.extend(self.find_all(&missing).await?);
            if missing.iter().any(|c| !keys.contains_key(*c)) {
                self.refresh(master.generation).await?;
            }
        }
        Err(AppError::Validation(
            "citizen key could not be stored".into(),
        ))
    }

    /// Deletes a citizen's key and, when there was one, rotates the master key: every
    /// other key is wrapped again under a fresh master key in the same transaction, the
    /// new key file replaces the old one, whose bytes are overwritten. A copy of the
    /// deleted row left in free pages, the WAL or a PostgreSQL heap is then wrapped under
    /// a key that exists nowhere. Returns whether there was a key.
    pub async fn forget(&self, citizen: Uuid) -> Result<bool, AppError> {
        let id = citizen.to_string();
        let mut guard = self.master.lock().await;
        let path = self.master_key_path().await?;
        for _ in 0..5 {
            let current = match *guard {
                Some(m) => m,
                None => {
                    let m = self.load().await?;
                    *guard = Some(m);
                    m
                }
            };
            let next = Master {
                key: master_key::random_key(),
                generation: current.generation + 1,
            };
            let next_check = master_key::check_of(&next.key);
            if let Some(p) = &path {
                master_key::write_pending(p, &next_check, &next.key).map_err(io_error(p))?;
            }
            let outcome = self.rotate(&id, &current, &next, &next_check).await;
            match outcome {
                Ok(Rotation::Done) => {
                    match &path {
                        Some(p) => {
                            master_key::promote_pending(p, &next_check).map_err(io_error(p))?
                        }
                        None => {
                            *self.memory.lock()? = Some(next.key);
                        }
                    }
                    *guard = Some(next);
                    drop(guard);
                    self.checkpoint().await?;
                    return Ok(true);
                }
                Ok(Rotation::NoKey) => {
                    discard_pending(path.as_deref(), &next_check);
                    return Ok(false);
                }
                Ok(Rotation::Stale) => {
                    discard_pending(path.as_deref(), &next_check);
                    *guard = None;
                }
                Err(e) => {
                    discard_pending(path.as_deref(), &next_check);
                    return Err(e);
                }
            }
        }
        Err(vault_error(
            "the master key kept changing under this rotation",
        ))
    }

    /// The rotation's transaction: switch the master row to `next`, delete the citizen's
    /// row, wrap every remaining key again.
    async fn rotate(
        &self,
        citizen: &str,
        current: &Master,
        next: &Master,
        next_check: &str,
    ) -> Result<Rotation, AppError> {
        let postgres = self.is_postgres();
        let select = "SELECT citizen_id, key_hex, wrapped, generation FROM citizen_keys";
        let switch = "UPDATE citizen_key_master SET generation = $1, key_check = $2 \
                      WHERE id = 1 AND generation = $3";
        let delete = "DELETE FROM citizen_keys WHERE citizen_id = $1";
        let rewrap = "UPDATE citizen_keys SET wrapped = $1, generation = $2, key_hex = NULL \
                      WHERE citizen_id = $3";
        on_pool!(&self.pool, |p| {
            let mut conn = p.acquire().await?;
            if !postgres {
                sqlx::query(SECURE_DELETE).execute(&mut *conn).await?;
            }
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            if postgres {
                // Keeps concurrent inserts (checked against the old generation) out until
                // this commits; reads go on.
                sqlx::query("LOCK TABLE citizen_keys IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
            }
            let switched = sqlx::query(switch)
                .bind(next.generation)
                .bind(next_check)
                .bind(current.generation)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if switched == 0 {
                tx.rollback().await?;
                return Ok::<_, AppError>(Rotation::Stale);
            }
            let deleted = sqlx::query(delete)
                .bind(citizen)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                tx.rollback().await?;
                return Ok(Rotation::NoKey);
            }
            let rows: Vec<KeyRow> = sqlx::query_as(select).fetch_all(&mut *tx).await?;
            for (citizen, key_hex, wrapped, generation) in rows {
                let key =
                    match (key_hex, wrapped, generation) {
                        (Some(h), _, _) => decode_hex_key(&h)?,
                        (None, Some(w), Some(g)) if g == current.generation => {
                            unwrap(&current.key, &citizen, &w)?
                        }
                        _ => return Err(vault_error(
                            "a citizen key is wrapped under a master key that is no longer current",
                        )),
                    };
                sqlx::query(rewrap)
                    .bind(wrap(&next.key, &citizen, &key)?)
                    .bind(next.generation)
                    .bind(&citizen)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(Rotation::Done)
        })
    }

    /// SQLite: moves the WAL into the main file and empties it, so the deleted row's old
    /// page images do not linger there (best effort: a reader holding an old snapshot
    /// keeps part of it until the next checkpoint).
    async fn checkpoint(&self) -> Result<(), AppError> {
        if let DbPool::Sqlite(p) = &self.pool {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(p)
                .await?;
        }
        Ok(())
    }

    /// Every stored citizen key, opened (for a backup that keeps personal data).
    pub async fn export_keys(&self) -> Result<Vec<(String, [u8; KEY_LEN])>, AppError> {
        let sql = "SELECT citizen_id, key_hex, wrapped, generation FROM citizen_keys \
                   ORDER BY citizen_id";
        let rows: Vec<KeyRow> = on_pool!(&self.pool, |p| sqlx::query_as(sql).fetch_all(p).await)?;
        let mut keys: Vec<(String, [u8; KEY_LEN])> =
            self.open_rows(rows).await?.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(keys)
    }

    /// Stores citizen keys from a backup, wrapped under this database's master key.
    /// A citizen that already has a key keeps it. Returns how many were stored.
    pub async fn import_keys(&self, keys: &[(String, [u8; KEY_LEN])]) -> Result<usize, AppError> {
        let ids: Vec<&str> = keys.iter().map(|(c, _)| c.as_str()).collect();
        for _ in 0..5 {
            let present = self.find_all(&ids).await?;
            let missing: Vec<(&str, [u8; KEY_LEN])> = keys
                .iter()
                .filter(|(c, _)| !present.contains_key(c))
                .map(|(c, k)| (c.as_str(), *k))
                .collect();
            if missing.is_empty() {
                return Ok(0);
            }
            let master = self.master().await?;
            self.insert_keys(&master, &missing).await?;
            let stored = self
                .find_all(&missing.iter().map(|(c, _)| *c).collect::<Vec<_>>())
                .await?;
            if stored.len() == missing.len() {
                return Ok(missing
                    .iter()
                    .filter(|(c, k)| stored.get(*c) == Some(k))
                    .count());
            }
            self.refresh(master.generation).await?;
        }
        Err(vault_error("citizen keys could not be stored"))
    }

    /// Seals the personal field of every event that has one, in place, looking up (or
    /// creating) all their citizens' keys at once. Events that arrive already sealed (an
    /// exported log being imported) are left as they are and get no new key; returns how
    /// many of those no key here opens (their contact arrived unreadable).
    pub async fn seal_all<'e>(
        &self,
        events: impl IntoIterator<Item = &'e mut NewEvent>,
    ) -> Result<usize, AppError> {
        let mut personal: Vec<(&'e mut NewEvent, String)> = Vec::new();
        let mut presealed: Vec<(&'e NewEvent, String)> = Vec::new();
        for e in events {
            let Some(fields) = DomainEvent::personal_fields(&e.event_type) else {
                continue;
            };
            let Some(citizen) = citizen_of(fields, &e.payload) else {
                continue;
            };
            if is_sealed(fields, &e.payload) {
                let e: &'e NewEvent = e;
                presealed.push((e, citizen));
            } else {
                personal.push((e, citizen));
            }
        }
        let mut unreadable = 0;
        if !presealed.is_empty() {
            let citizens: BTreeSet<&str> = presealed.iter().map(|(_, c)| c.as_str()).collect();
            let citizens: Vec<&str> = citizens.into_iter().collect();
            let keys = self.find_all(&citizens).await?;
            for (e, citizen) in &presealed {
                let opens = match (
                    keys.get(citizen.as_str()),
                    DomainEvent::personal_fields(&e.event_type),
                ) {
                    (Some(key), Some(fields)) => open(fields, &mut e.payload.clone(), key)?,
                    _ => false,
                };
                if !opens {
                    unreadable += 1;
                }
            }
        }
        if personal.is_empty() {
            return Ok(unreadable);
        }
        let citizens: BTreeSet<&str> = personal.iter().map(|(_, c)| c.as_str()).collect();
        let citizens: Vec<&str> = citizens.into_iter().collect();
        let keys = self.keys_for(&citizens).await?;
        for (e, citizen) in personal.iter_mut() {
            let key = keys
                .get(citizen.as_str())
                .ok_or_else(|| AppError::Validation("citizen key could not be stored".into()))?;
            if let Some(fields) = DomainEvent::personal_fields(&e.event_type) {
                seal(fields, &mut e.payload, key)?;
            }
        }
        Ok(unreadable)
    }

    /// Opens the personal field of a stored payload for a reader allowed to see it.
    /// Returns `false` (payload untouched) when the citizen was forgotten.
    pub async fn unseal(&self, event_type: &str, payload: &mut Value) -> Result<bool, AppError> {
        let Some(fields) = DomainEvent::personal_fields(event_type) else {
            return Ok(true);
        };
        let Some(citizen) = citizen_of(fields, payload) else {
            return Ok(true);
        };
        match self.find(&citizen).await? {
            Some(key) => open(fields, payload, &key),
            None => Ok(false),
        }
    }
}

/// Set on the connection that deletes or rewrites key rows: SQLite then overwrites the
/// freed bytes instead of leaving them in free pages.
const SECURE_DELETE: &str = "PRAGMA secure_delete = ON";

/// How a rotation's transaction ended.
enum Rotation {
    Done,
    /// The citizen had no key: nothing changed.
    NoKey,
    /// Another process rotated first: nothing changed; load its key and try again.
    Stale,
}

fn discard_pending(path: Option<&Path>, check: &str) {
    if let Some(p) = path {
        let _ = std::fs::remove_file(master_key::pending_path(p, check));
    }
}

fn decode_hex_key(hex_key: &str) -> Result<[u8; KEY_LEN], AppError> {
    hex::decode(hex_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| vault_error("a stored citizen key is malformed"))
}

/// A citizen key sealed under the master key, bound to its citizen (the id is the
/// associated data: a wrapped key moved to another row does not open).
fn wrap(master: &[u8; KEY_LEN], citizen: &str, key: &[u8; KEY_LEN]) -> Result<String, AppError> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(master));
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let ct = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: key,
                aad: citizen.as_bytes(),
            },
        )
        .map_err(|_| vault_error("a citizen key could not be wrapped"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(B64.encode(out))
}

fn unwrap(master: &[u8; KEY_LEN], citizen: &str, wrapped: &str) -> Result<[u8; KEY_LEN], AppError> {
    let bad = || vault_error("a citizen key does not open with the master key");
    let raw = B64.decode(wrapped).map_err(|_| bad())?;
    if raw.len() <= NONCE_LEN {
        return Err(bad());
    }
    let (nonce, ct) = raw.split_at(NONCE_LEN);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(master));
    let plain = cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: citizen.as_bytes(),
            },
        )
        .map_err(|_| bad())?;
    plain.as_slice().try_into().map_err(|_| bad())
}

/// Whether events of this type carry personal data.
pub fn is_personal_event(event_type: &str) -> bool {
    DomainEvent::personal_fields(event_type).is_some()
}

fn citizen_of(fields: PersonalFields, payload: &Value) -> Option<String> {
    payload.get(fields.citizen)?.as_str().map(str::to_owned)
}

/// Whether a payload's personal fields are sealed (any of them).
fn is_sealed(fields: PersonalFields, payload: &Value) -> bool {
    fields
        .sealed
        .iter()
        .any(|f| payload.get(f).and_then(|c| c.get("sealed")).is_some())
}

/// Replaces the personal fields of a payload of `event_type` with a placeholder, for
/// readers who may not see them (and for forgotten citizens); with `hide_citizen`, also
/// the citizen's pseudonym.
pub fn redact(event_type: &str, payload: &mut Value, hide_citizen: bool) {
    let (Some(fields), Some(obj)) = (
        DomainEvent::personal_fields(event_type),
        payload.as_object_mut(),
    ) else {
        return;
    };
    for f in fields.sealed {
        if obj.contains_key(*f) {
            obj.insert((*f).into(), json!({ "redacted": true }));
        }
    }
    if hide_citizen && obj.contains_key(fields.citizen) {
        obj.insert(fields.citizen.into(), Value::String("<redacted>".into()));
    }
}

fn seal(fields: PersonalFields, payload: &mut Value, key: &[u8; 32]) -> Result<(), AppError> {
    let Some(obj) = payload.as_object_mut() else {
        return Ok(());
    };
    for f in fields.sealed {
        let Some(plain) = obj.get(*f) else {
            continue;
        };
        if plain.get("sealed").is_some() {
            continue;
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
        obj.insert((*f).into(), json!({ "sealed": B64.encode(sealed) }));
    }
    Ok(())
}

/// Opens every sealed personal field; `false` (payload untouched) if one does not open
/// with `key`.
fn open(fields: PersonalFields, payload: &mut Value, key: &[u8; 32]) -> Result<bool, AppError> {
    let Some(obj) = payload.as_object_mut() else {
        return Ok(true);
    };
    let mut opened = Vec::new();
    for f in fields.sealed {
        let Some(sealed) = obj
            .get(*f)
            .and_then(|c| c.get("sealed"))
            .and_then(Value::as_str)
        else {
            continue;
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
        opened.push((*f, contact));
    }
    for (f, value) in opened {
        obj.insert(f.into(), value);
    }
    Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fields() -> PersonalFields {
        DomainEvent::personal_fields("PetitionReceived").unwrap()
    }

    #[test]
    fn a_sealed_contact_opens_with_its_key_only() {
        let contact = json!({"name": "Juana Pérez", "email": "juana@example.org"});
        let mut p = json!({"citizenId": "c1", "contact": contact.clone(), "topic": "X"});
        let key = [7u8; 32];
        seal(fields(), &mut p, &key).unwrap();
        let text = p.to_string();
        assert!(!text.contains("Juana") && !text.contains("juana@"));
        assert!(is_sealed(fields(), &p));
        let mut wrong = p.clone();
        assert!(!open(fields(), &mut wrong, &[8u8; 32]).unwrap());
        assert!(is_sealed(fields(), &wrong));
        assert!(open(fields(), &mut p, &key).unwrap());
        assert_eq!(p["contact"], contact);
        assert_eq!(p["topic"], "X");
    }

    #[test]
    fn redaction_replaces_only_the_personal_fields() {
        let original = json!({"citizenId": "c1", "contact": {"name": "Juana"}, "topic": "X"});
        let mut p = original.clone();
        redact("PetitionReceived", &mut p, false);
        assert_eq!(p["contact"], json!({"redacted": true}));
        assert_eq!((&p["topic"], &p["citizenId"]), (&json!("X"), &json!("c1")));
        redact("PetitionReceived", &mut p, true);
        assert_eq!(p["citizenId"], "<redacted>");
        let mut other = original.clone();
        redact("LetterReceived", &mut other, true);
        assert_eq!(other, original);
    }
}

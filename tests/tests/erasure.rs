//! Erasure that the database files cannot undo: after `forget`, nothing on disk (the SQLite
//! file and its WAL after a checkpoint; a PostgreSQL cluster's whole data directory, heap
//! and WAL) holds the citizen's key in any form that opens the sealed contact — not the
//! raw bytes, not hex or base64, and not a wrapped copy together with any master key still
//! on disk.
//!
//! The PostgreSQL half runs its own cluster (`initdb` as the `postgres` user on a free
//! port, in a temporary directory it removes): the test must read the data directory. It
//! prints SKIPPED and passes when the server binaries are missing.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use seguimiento_app::import::ImportOptions;
use seguimiento_app::{App, ImportLine, Principal};
use seguimiento_eventstore::EventStore;
use seguimiento_system_tests::*;
use serde_json::{json, Value};
use uuid::Uuid;

const OTHER_PETITION: &str = "00000000-0000-4000-8000-0000000000c9";
const OTHER_CITIZEN: &str = "00000000-0000-4000-8000-0000000000e9";
/// Base64 of a wrapped key: 12-byte nonce, 32-byte key, 16-byte tag.
const WRAPPED_B64_LEN: usize = 80;

/// A new directory of this test's own.
fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seg_erase_{tag}_{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every regular file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

/// Receives a petition for each of two citizens through the import path.
async fn receive_two_petitions(app: &App) {
    let mut lines = catalogue_lines();
    lines.extend([
        json!({"command": "registerAgency", "input": {"acronym": "CEA", "name": "Comisión Estatal del Agua", "sectorHead": null}}),
        json!({"command": "receivePetition", "input": petition_input(PETITION_ID, CITIZEN_ID)}),
        json!({"command": "receivePetition", "input": petition_input(OTHER_PETITION, OTHER_CITIZEN)}),
    ]);
    let parsed = lines
        .iter()
        .enumerate()
        .map(|(i, l)| ImportLine::parse(i + 1, &l.to_string()));
    let report = app
        .import(parsed, &Principal::system("test"), ImportOptions::default())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report:?}");
}

/// The stored, sealed `contact` of a citizen's petition (base64 of nonce || ciphertext).
async fn sealed_contact(store: &EventStore, citizen: &str) -> Vec<u8> {
    let row = event_rows(store)
        .await
        .into_iter()
        .find(|r| r.event_type == "PetitionReceived" && r.payload.contains(citizen))
        .unwrap();
    let p: Value = serde_json::from_str(&row.payload).unwrap();
    STANDARD
        .decode(p["contact"]["sealed"].as_str().unwrap())
        .unwrap()
}

/// Whether `key` opens the sealed contact (and the plaintext is the citizen's).
fn opens(key: &[u8], sealed: &[u8]) -> bool {
    if key.len() != 32 || sealed.len() <= 12 {
        return false;
    }
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let (nonce, ct) = sealed.split_at(12);
    match cipher.decrypt(Nonce::from_slice(nonce), ct) {
        Ok(plain) => !shows_personal_data(&String::from_utf8_lossy(&plain)).is_empty(),
        Err(_) => false,
    }
}

/// Opens a wrapped key (nonce || ciphertext) with a candidate master key, with the
/// citizen id as associated data or without any.
fn unwrap_with(master: &[u8], wrapped: &[u8], citizen: &str) -> Option<Vec<u8>> {
    if master.len() != 32 || wrapped.len() <= 12 {
        return None;
    }
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(master));
    let (nonce, ct) = wrapped.split_at(12);
    [citizen.as_bytes(), b""].iter().find_map(|aad| {
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .ok()
    })
}

/// The citizen's key as stored now: in clear (`key_hex`) or unwrapped with a master key
/// found among `key_files`.
async fn current_key(store: &EventStore, citizen: &str, key_files: &[PathBuf]) -> Vec<u8> {
    let q = format!("SELECT key_hex FROM citizen_keys WHERE citizen_id = '{citizen}'");
    // (SQLite reads a NULL text column as "".)
    if let Some(Some(h)) = text_rows(store, &q).await.first().and_then(|r| r.first()) {
        if !h.is_empty() {
            return hex::decode(h).unwrap();
        }
    }
    let q = format!("SELECT wrapped FROM citizen_keys WHERE citizen_id = '{citizen}'");
    let wrapped = text_rows(store, &q).await[0][0].clone().unwrap();
    let wrapped = STANDARD.decode(wrapped).unwrap();
    master_candidates(key_files)
        .iter()
        .find_map(|m| unwrap_with(m, &wrapped, citizen))
        .expect("no master key on disk opens the citizen's wrapped key")
}

/// Every 32-byte window of every file that is not part of the database: any master key
/// (current or left over) the files next to it hold.
fn master_candidates(files: &[PathBuf]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for f in files {
        let bytes = std::fs::read(f).unwrap_or_default();
        if bytes.len() > 4096 {
            continue;
        }
        for w in bytes.windows(32) {
            out.push(w.to_vec());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every place in `db_files` (plus the key files) where the erased key shows in a form
/// that opens the sealed contact.
fn traces_of_key(
    db_files: &[PathBuf],
    key_files: &[PathBuf],
    key: &[u8],
    citizen: &str,
    sealed: &[u8],
) -> Vec<String> {
    assert!(
        opens(key, sealed),
        "the key under test does not open the contact"
    );
    let forms: Vec<(&str, Vec<u8>)> = vec![
        ("raw bytes", key.to_vec()),
        ("hex", hex::encode(key).into_bytes()),
        ("HEX", hex::encode_upper(key).into_bytes()),
        ("base64", STANDARD.encode(key).into_bytes()),
        (
            "base64 (no padding)",
            STANDARD_NO_PAD.encode(key).into_bytes(),
        ),
        ("base64url", URL_SAFE.encode(key).into_bytes()),
        (
            "base64url (no padding)",
            URL_SAFE_NO_PAD.encode(key).into_bytes(),
        ),
    ];
    let masters = master_candidates(key_files);
    let mut found = Vec::new();
    for f in db_files.iter().chain(key_files) {
        let bytes = std::fs::read(f).unwrap_or_default();
        for (name, form) in &forms {
            if contains(&bytes, form) {
                found.push(format!("{name} of the key in {}", f.display()));
            }
        }
        // Wrapped copies: every base64 window of a wrapped key's length, opened with every
        // master key still on disk.
        let mut run_start = None;
        for i in 0..=bytes.len() {
            let b64 = i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'+' || bytes[i] == b'/');
            match (b64, run_start) {
                (true, None) => run_start = Some(i),
                (false, Some(s)) => {
                    run_start = None;
                    if i - s < WRAPPED_B64_LEN {
                        continue;
                    }
                    for w in bytes[s..i].windows(WRAPPED_B64_LEN) {
                        let Ok(wrapped) = STANDARD_NO_PAD.decode(w) else {
                            continue;
                        };
                        for m in &masters {
                            if let Some(k) = unwrap_with(m, &wrapped, citizen) {
                                if opens(&k, sealed) {
                                    found.push(format!(
                                        "a wrapped copy in {} opened by a master key on disk",
                                        f.display()
                                    ));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    found
}

async fn forget_and_check_contact_gone(app: &App, store: &EventStore) {
    let citizen: Uuid = CITIZEN_ID.parse().unwrap();
    assert!(
        app.vault().forget(citizen).await.unwrap(),
        "no key to forget"
    );
    // The other citizen's contact still opens (its key survived the rotation).
    let rows = event_rows(store).await;
    let mut opened = 0;
    for r in rows.iter().filter(|r| r.event_type == "PetitionReceived") {
        let mut p: Value = serde_json::from_str(&r.payload).unwrap();
        let ok = app
            .vault()
            .unseal("PetitionReceived", &mut p)
            .await
            .unwrap();
        if r.payload.contains(OTHER_CITIZEN) {
            assert!(ok && p["contact"]["name"] == CITIZEN_NAME, "{p}");
            opened += 1;
        } else {
            assert!(!ok, "the forgotten contact still opens");
        }
    }
    assert_eq!(opened, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_the_forgotten_key_is_in_neither_the_file_nor_its_wal() {
    let dir = scratch_dir("sqlite");
    let db = dir.join("seguimiento.db");
    let store = EventStore::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let app = App::from_store(store.clone());
    receive_two_petitions(&app).await;
    let is_db = |p: &PathBuf| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        n == "seguimiento.db" || n.starts_with("seguimiento.db-")
    };
    let key_files = |dir: &Path| -> Vec<PathBuf> {
        files_under(dir).into_iter().filter(|p| !is_db(p)).collect()
    };
    let key = current_key(&store, CITIZEN_ID, &key_files(&dir)).await;
    let sealed = sealed_contact(&store, CITIZEN_ID).await;
    assert!(opens(&key, &sealed));

    forget_and_check_contact_gone(&app, &store).await;
    text_rows(&store, "PRAGMA wal_checkpoint(TRUNCATE)").await;

    let db_files: Vec<PathBuf> = files_under(&dir).into_iter().filter(is_db).collect();
    assert!(db_files.iter().any(|p| p.ends_with("seguimiento.db")));
    let found = traces_of_key(&db_files, &key_files(&dir), &key, CITIZEN_ID, &sealed);
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        found.is_empty(),
        "the forgotten key is still on disk: {found:#?}"
    );
}

/// A PostgreSQL cluster of this test's own, stopped and removed on drop.
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    running: bool,
}

impl Cluster {
    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs a server binary as the `postgres` user (they refuse to run as root).
    fn run(&self, tool: &str, args: &[&str]) -> std::process::Output {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args).current_dir(&self.dir);
        cmd.output().unwrap()
    }

    fn start() -> Option<Cluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())?;
        let dir = scratch_dir("pg");
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .ok()?
                .success();
            assert!(ok, "cannot hand {} to the postgres user", dir.display());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut c = Cluster {
            dir,
            bin,
            port,
            running: false,
        };
        let data = c.data().display().to_string();
        let out = c.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        );
        assert!(out.status.success(), "initdb: {out:?}");
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            c.port,
            c.dir.display()
        );
        let log = c.dir.join("log").display().to_string();
        let out = c.run(
            "pg_ctl",
            &["-D", &data, "-o", &opts, "-l", &log, "-w", "start"],
        );
        assert!(out.status.success(), "pg_ctl start: {out:?}");
        c.running = true;
        Some(c)
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn stop(&mut self) {
        if self.running {
            let data = self.data().display().to_string();
            let out = self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
            assert!(out.status.success(), "pg_ctl stop: {out:?}");
            self.running = false;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.data().display().to_string();
            let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_postgres_the_forgotten_key_is_nowhere_in_the_data_directory() {
    let Some(mut cluster) = Cluster::start() else {
        eprintln!("SKIPPED: no PostgreSQL server binaries under /usr/lib/postgresql");
        return;
    };
    {
        let mut conn: sqlx::PgConnection = sqlx::Connection::connect(&cluster.url("postgres"))
            .await
            .unwrap();
        sqlx::query("CREATE DATABASE seg_erase")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let keys_dir = scratch_dir("pgkeys");
    let master = keys_dir.join("master.keys");
    let store = EventStore::connect(&cluster.url("seg_erase"))
        .await
        .unwrap();
    let app = App::from_store_with(
        store.clone(),
        seguimiento_app::personal_data::MasterKeyLocation::File(master.clone()),
    );
    receive_two_petitions(&app).await;
    let key = current_key(&store, CITIZEN_ID, &files_under(&keys_dir)).await;
    let sealed = sealed_contact(&store, CITIZEN_ID).await;
    assert!(opens(&key, &sealed));

    forget_and_check_contact_gone(&app, &store).await;
    text_rows(&store, "CHECKPOINT").await;
    store.close().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    cluster.stop();

    let db_files = files_under(&cluster.data());
    assert!(db_files
        .iter()
        .any(|p| p.to_string_lossy().contains("pg_wal")));
    let found = traces_of_key(
        &db_files,
        &files_under(&keys_dir),
        &key,
        CITIZEN_ID,
        &sealed,
    );
    let _ = std::fs::remove_dir_all(&keys_dir);
    drop(cluster);
    assert!(
        found.is_empty(),
        "the forgotten key is still on disk: {found:#?}"
    );
}

//! The citizens' keys as a backup file of their own, sealed under a passphrase, so that an
//! exported log can be imported with its contacts still readable.
//!
//! Format (JSON): `{"format": "seguimiento-citizen-keys", "version": 1, "kdf":
//! "pbkdf2-hmac-sha256", "iterations": N, "salt": "<base64>", "sealed": "<base64 of nonce
//! || AES-256-GCM ciphertext>"}`; the plaintext is a JSON array of `{"citizenId", "key"}`
//! (key in hex). The key is derived from the passphrase with PBKDF2-HMAC-SHA256.

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::AppError;
use crate::master_key::KEY_LEN;

const FORMAT: &str = "seguimiento-citizen-keys";
const KDF: &str = "pbkdf2-hmac-sha256";
/// OWASP's current recommendation for PBKDF2-HMAC-SHA256.
const ITERATIONS: u32 = 600_000;
const NONCE_LEN: usize = 12;

#[derive(Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    kdf: String,
    iterations: u32,
    salt: String,
    sealed: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    citizen_id: String,
    key: String,
}

fn bad(what: &str) -> AppError {
    AppError::Validation(format!("key backup: {what}"))
}

/// PBKDF2 (RFC 8018) with HMAC-SHA256, one output block.
fn pbkdf2_sha256(passphrase: &[u8], salt: &[u8], iterations: u32) -> Result<[u8; 32], AppError> {
    let mac =
        <Hmac<Sha256> as Mac>::new_from_slice(passphrase).map_err(|_| bad("bad passphrase"))?;
    let mut m = mac.clone();
    m.update(salt);
    m.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = m.finalize().into_bytes().into();
    let mut t = u;
    for _ in 1..iterations {
        let mut m = mac.clone();
        m.update(&u);
        u = m.finalize().into_bytes().into();
        for (a, b) in t.iter_mut().zip(u) {
            *a ^= b;
        }
    }
    Ok(t)
}

/// The keys sealed under `passphrase`, as the file's text.
pub fn seal_keys(keys: &[(String, [u8; KEY_LEN])], passphrase: &str) -> Result<String, AppError> {
    if passphrase.is_empty() {
        return Err(bad("the passphrase is empty"));
    }
    let entries: Vec<Entry> = keys
        .iter()
        .map(|(c, k)| Entry {
            citizen_id: c.clone(),
            key: hex::encode(k),
        })
        .collect();
    let plain = serde_json::to_vec(&entries).map_err(|_| bad("cannot serialize"))?;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let key = pbkdf2_sha256(passphrase.as_bytes(), &salt, ITERATIONS)?;
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let ct = cipher
        .encrypt(&nonce, plain.as_slice())
        .map_err(|_| bad("cannot seal"))?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ct);
    let envelope = Envelope {
        format: FORMAT.into(),
        version: 1,
        kdf: KDF.into(),
        iterations: ITERATIONS,
        salt: B64.encode(salt),
        sealed: B64.encode(sealed),
    };
    serde_json::to_string_pretty(&envelope).map_err(|_| bad("cannot serialize"))
}

/// The keys of a backup file's text, opened with `passphrase`.
pub fn open_keys(text: &str, passphrase: &str) -> Result<Vec<(String, [u8; KEY_LEN])>, AppError> {
    let envelope: Envelope =
        serde_json::from_str(text).map_err(|_| bad("not a citizen key backup file"))?;
    if envelope.format != FORMAT || envelope.version != 1 || envelope.kdf != KDF {
        return Err(bad("unknown format or version"));
    }
    let salt = B64.decode(&envelope.salt).map_err(|_| bad("bad salt"))?;
    let sealed = B64
        .decode(&envelope.sealed)
        .map_err(|_| bad("bad content"))?;
    if sealed.len() <= NONCE_LEN || envelope.iterations == 0 {
        return Err(bad("bad content"));
    }
    let key = pbkdf2_sha256(passphrase.as_bytes(), &salt, envelope.iterations)?;
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let plain = cipher
        .decrypt(Nonce::from_slice(nonce), ct)
        .map_err(|_| bad("wrong passphrase or damaged file"))?;
    let entries: Vec<Entry> = serde_json::from_slice(&plain).map_err(|_| bad("bad content"))?;
    entries
        .into_iter()
        .map(|e| {
            let key: [u8; KEY_LEN] = hex::decode(&e.key)
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| bad("a malformed key"))?;
            Ok((e.citizen_id, key))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_matches_the_rfc_7914_vector() {
        let k = pbkdf2_sha256(b"passwd", b"salt", 1).unwrap();
        assert_eq!(
            hex::encode(k),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn a_backup_opens_with_its_passphrase_only() {
        let keys = vec![("c1".to_owned(), [7u8; 32]), ("c2".to_owned(), [9u8; 32])];
        let text = seal_keys(&keys, "correct horse").unwrap();
        assert!(!text.contains(&hex::encode([7u8; 32])));
        assert_eq!(open_keys(&text, "correct horse").unwrap(), keys);
        assert!(open_keys(&text, "wrong").is_err());
        assert!(seal_keys(&keys, "").is_err());
    }
}

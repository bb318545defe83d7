//! The master key file: 32 random bytes kept outside the database, under which every
//! citizen key is wrapped (see [`crate::personal_data`]).
//!
//! Replacing it is crash-safe: the next key is first written to `<file>.new-<check>`
//! (temporary file, fsync, rename; `<check>` starts the key's digest, so two processes
//! rotating at once never write the same pending file), the database switches to it in one
//! transaction, and only then does the pending file replace `<file>` and the old key's
//! bytes get overwritten. A crash between the commit and the rename leaves the database on
//! the new key and the pending file holding it; the next load finds it there and finishes
//! the switch.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;
use sha2::{Digest, Sha256};

pub const KEY_LEN: usize = 32;

/// A fresh random key.
pub fn random_key() -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    rand::rng().fill_bytes(&mut key);
    key
}

/// What the database stores to recognise its master key without holding it: a one-way
/// digest (the key is 256 random bits, so the digest reveals nothing usable).
pub fn check_of(key: &[u8; KEY_LEN]) -> String {
    let mut h = Sha256::new();
    h.update(b"seguimiento master key check\0");
    h.update(key);
    hex::encode(h.finalize())
}

/// `<file>.new-<check prefix>`, where the key of digest `check` waits while the database
/// switches to it.
pub fn pending_path(path: &Path, check: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".new-");
    p.push(check.get(..16).unwrap_or(check));
    PathBuf::from(p)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(format!(".tmp{}", uuid::Uuid::new_v4().simple()));
    PathBuf::from(p)
}

/// The key in `path`, `None` when there is no such file.
pub fn read(path: &Path) -> std::io::Result<Option<[u8; KEY_LEN]>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::with_capacity(KEY_LEN);
    file.read_to_end(&mut bytes)?;
    let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is not a master key ({} bytes, expected {KEY_LEN})",
                path.display(),
                bytes.len()
            ),
        )
    })?;
    Ok(Some(key))
}

/// Writes `key` to a new temporary file next to `path` (mode 0600), synced to disk.
fn write_temp(path: &Path, key: &[u8; KEY_LEN]) -> std::io::Result<PathBuf> {
    let tmp = temp_path(path);
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(&tmp)?;
    file.write_all(key)?;
    file.sync_all()?;
    Ok(tmp)
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The key in `path`, or a new one written there when the file does not exist. Two
/// processes creating it at once agree on one key: the file appears by a link that fails
/// when it already exists, and the loser reads the winner's key.
pub fn read_or_create(path: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    if let Some(key) = read(path)? {
        return Ok(key);
    }
    let key = random_key();
    let tmp = write_temp(path, &key)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(path)?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path)?.ok_or(e),
        Err(e) => Err(e),
    }
}

/// Writes the next key (of digest `check`) to its pending file.
pub fn write_pending(path: &Path, check: &str, key: &[u8; KEY_LEN]) -> std::io::Result<()> {
    let tmp = write_temp(path, key)?;
    let pending = pending_path(path, check);
    if let Err(e) = std::fs::rename(&tmp, &pending) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(path)
}

/// Makes the pending file of `check` the key file and overwrites the previous key's bytes. The old file
/// is opened before the rename so that the overwrite reaches its data and nothing else,
/// whoever renames what meanwhile. Another process finishing the same switch first is
/// fine: the pending file is then already gone.
pub fn promote_pending(path: &Path, check: &str) -> std::io::Result<()> {
    let old = OpenOptions::new().read(true).write(true).open(path);
    match std::fs::rename(pending_path(path, check), path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    sync_dir(path)?;
    if let Ok(mut old) = old {
        // A file system that writes elsewhere (copy-on-write, some journals) may keep the
        // old bytes anyway; the README says so.
        old.write_all(&[0u8; KEY_LEN])?;
        old.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_once_then_replaced_through_its_pending_file() {
        let dir = std::env::temp_dir().join(format!("seg_mk_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.keys");
        let first = read_or_create(&path).unwrap();
        assert_eq!(read_or_create(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let next = random_key();
        let check = check_of(&next);
        write_pending(&path, &check, &next).unwrap();
        assert_eq!(read(&path).unwrap(), Some(first));
        let hard = dir.join("old-inode");
        std::fs::hard_link(&path, &hard).unwrap();
        promote_pending(&path, &check).unwrap();
        assert_eq!(read(&path).unwrap(), Some(next));
        assert_eq!(read(&pending_path(&path, &check)).unwrap(), None);
        // The old key's bytes were overwritten, not merely unlinked.
        assert_eq!(read(&hard).unwrap(), Some([0u8; KEY_LEN]));
        promote_pending(&path, &check).unwrap();
        assert_ne!(check_of(&next), check_of(&first));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

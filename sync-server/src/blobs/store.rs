//! Where the server keeps blob bytes: a small trait ([`BlobStore`]) so an
//! object store (S3-compatible) can stand in for the default
//! [`FileBlobStore`], content-addressed files under the data directory
//! (or a directory every instance shares, on PostgreSQL).
//!
//! An upload grows a partial file by appends at its current length (so a
//! chunk repeated after a lost answer, or overlapping what arrived, adds
//! nothing twice); when it reaches the size the client declared, its
//! SHA-256 is checked against the id and only then is it moved into place
//! (an atomic rename after an fsync). A blob in place is never rewritten.

use crate::error::Error;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Largest blob the server accepts (a phone stores 20 MiB at most).
pub const MAX_BLOB_BYTES: u64 = 32 * 1024 * 1024;

/// How much of a blob the server holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobStatus {
    /// Nothing.
    Absent,
    /// An upload that stopped after `received` bytes.
    Partial {
        /// Bytes held, from the start.
        received: u64,
    },
    /// The whole blob, its hash verified.
    Complete {
        /// Its size.
        size: u64,
    },
}

impl BlobStatus {
    /// Bytes held from the start.
    pub fn received(self) -> u64 {
        match self {
            BlobStatus::Absent => 0,
            BlobStatus::Partial { received } => received,
            BlobStatus::Complete { size } => size,
        }
    }
}

/// Blob bytes by id (64 lowercase hex digits, checked by the caller).
pub trait BlobStore: Send + Sync {
    /// How much of `id` is here.
    fn status(&self, id: &str) -> Result<BlobStatus, Error>;
    /// Add `bytes`, which start at `offset` of blob `id` of `total` bytes:
    /// the part beyond what is held is appended (an overlap is skipped), an
    /// offset past what is held is refused ([`Error::Conflict`]). When the
    /// upload reaches `total` the hash is checked: a mismatch drops the
    /// partial upload ([`Error::Invalid`] on `blob`). Returns the status
    /// after.
    fn append(&self, id: &str, offset: u64, total: u64, bytes: &[u8]) -> Result<BlobStatus, Error>;
    /// Bytes `start..end` of complete blob `id` (clamped to its size);
    /// `None` when it is not complete here.
    fn read(&self, id: &str, start: u64, end: u64) -> Result<Option<Vec<u8>>, Error>;
    /// A file made from blob `id` and kept beside it (a thumbnail), by
    /// `name` (ASCII letters, digits, `.`).
    fn derived(&self, id: &str, name: &str) -> Result<Option<Vec<u8>>, Error>;
    /// Keep a file made from blob `id` ([`BlobStore::derived`]).
    fn put_derived(&self, id: &str, name: &str, bytes: &[u8]) -> Result<(), Error>;
}

/// Blobs as files: `<root>/<first two digits>/<id>` when complete,
/// `<root>/partial/<id>` while uploading. Files are created readable by
/// the server's user only.
pub struct FileBlobStore {
    root: PathBuf,
    /// One lock per blob being appended to in this process.
    locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl FileBlobStore {
    /// A store under `root` (created, readable by this user only, at the
    /// first upload).
    pub fn new(root: impl Into<PathBuf>) -> FileBlobStore {
        FileBlobStore {
            root: root.into(),
            locks: Mutex::default(),
        }
    }

    fn complete_path(&self, id: &str) -> PathBuf {
        self.root.join(&id[..2]).join(id)
    }

    fn partial_path(&self, id: &str) -> PathBuf {
        self.root.join("partial").join(id)
    }

    fn lock(&self, id: &str) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        // Forget the locks nobody holds, so the map stays small.
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(id.to_string()).or_default().clone()
    }

    /// Check the finished partial upload of `id` and move it into place.
    fn finish(&self, id: &str, partial: &Path) -> Result<BlobStatus, Error> {
        let mut file = File::open(partial)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            size += n as u64;
        }
        if hex::encode(hasher.finalize()) != id {
            fs::remove_file(partial)?;
            return Err(Error::invalid(
                "blob",
                "上传内容与校验值不符，已丢弃，请重新上传 / the uploaded bytes do not match the id; discarded, upload again",
            ));
        }
        let target = self.complete_path(id);
        fs::create_dir_all(target.parent().unwrap_or(&self.root))?;
        File::open(partial)?.sync_all()?;
        fs::rename(partial, &target)?;
        if let Some(dir) = target.parent() {
            // The rename itself is durable once the directory is synced.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(BlobStatus::Complete { size })
    }
}

impl BlobStore for FileBlobStore {
    fn status(&self, id: &str) -> Result<BlobStatus, Error> {
        if let Ok(meta) = fs::metadata(self.complete_path(id)) {
            return Ok(BlobStatus::Complete { size: meta.len() });
        }
        match fs::metadata(self.partial_path(id)) {
            Ok(meta) => Ok(BlobStatus::Partial {
                received: meta.len(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BlobStatus::Absent),
            Err(e) => Err(e.into()),
        }
    }

    fn append(&self, id: &str, offset: u64, total: u64, bytes: &[u8]) -> Result<BlobStatus, Error> {
        let lock = self.lock(id);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let status = self.status(id)?;
        if let BlobStatus::Complete { .. } = status {
            return Ok(status);
        }
        let received = status.received();
        if offset > received {
            return Err(Error::Conflict(format!(
                "上传位置不连续，服务器已有 {received} 字节 / the chunk starts past the {received} bytes held"
            )));
        }
        let end = offset + bytes.len() as u64;
        if end > total {
            return Err(Error::invalid(
                "content-range",
                "分块超出文件大小 / the chunk ends past the declared size",
            ));
        }
        let partial = self.partial_path(id);
        if !self.root.join("partial").is_dir() {
            fs::create_dir_all(self.root.join("partial"))?;
            restrict_dir(&self.root)?;
        }
        if end > received {
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&partial)?;
            restrict_file(&partial)?;
            file.write_all(&bytes[(received - offset) as usize..])?;
            file.sync_data()?;
        }
        let received = received.max(end);
        if received == total {
            return self.finish(id, &partial);
        }
        Ok(BlobStatus::Partial { received })
    }

    fn read(&self, id: &str, start: u64, end: u64) -> Result<Option<Vec<u8>>, Error> {
        let mut file = match File::open(self.complete_path(id)) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let size = file.metadata()?.len();
        let (start, end) = (start.min(size), end.min(size));
        file.seek(SeekFrom::Start(start))?;
        let mut out = vec![0u8; (end.saturating_sub(start)) as usize];
        file.read_exact(&mut out)?;
        Ok(Some(out))
    }

    fn derived(&self, id: &str, name: &str) -> Result<Option<Vec<u8>>, Error> {
        match fs::read(self.derived_path(id, name)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn put_derived(&self, id: &str, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let path = self.derived_path(id, name)?;
        let dir = self.root.join("derived");
        fs::create_dir_all(&dir)?;
        restrict_dir(&self.root)?;
        // Written whole under a temporary name, then renamed: a reader never
        // sees half a thumbnail.
        let mut file = tempfile::NamedTempFile::new_in(&dir)?;
        file.write_all(bytes)?;
        file.persist(&path).map_err(|e| Error::Io(e.error))?;
        restrict_file(&path)
    }
}

impl FileBlobStore {
    fn derived_path(&self, id: &str, name: &str) -> Result<PathBuf, Error> {
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') || name.starts_with('.') {
            return Err(Error::Internal("bad derived name".into()));
        }
        Ok(self.root.join("derived").join(format!("{id}.{name}")))
    }
}

#[cfg(unix)]
fn restrict_dir(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
    Ok(())
}

#[cfg(unix)]
fn restrict_file(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict_dir(_: &Path) -> Result<(), Error> {
    Ok(())
}

#[cfg(not(unix))]
fn restrict_file(_: &Path) -> Result<(), Error> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[test]
    fn appends_resume_skip_overlaps_and_check_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::new(dir.path().join("blobs"));
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let id = id_of(&bytes);
        let total = bytes.len() as u64;
        assert_eq!(store.status(&id).unwrap(), BlobStatus::Absent);
        assert_eq!(
            store.append(&id, 0, total, &bytes[..4000]).unwrap(),
            BlobStatus::Partial { received: 4000 }
        );
        // A replayed chunk and an overlapping one add only what is new.
        assert_eq!(
            store.append(&id, 0, total, &bytes[..4000]).unwrap(),
            BlobStatus::Partial { received: 4000 }
        );
        assert_eq!(
            store.append(&id, 3000, total, &bytes[3000..6000]).unwrap(),
            BlobStatus::Partial { received: 6000 }
        );
        // A gap is refused and changes nothing.
        assert!(matches!(
            store.append(&id, 7000, total, &bytes[7000..8000]),
            Err(Error::Conflict(_))
        ));
        assert_eq!(
            store.append(&id, 6000, total, &bytes[6000..]).unwrap(),
            BlobStatus::Complete { size: total }
        );
        assert_eq!(store.read(&id, 0, u64::MAX).unwrap().unwrap(), bytes);
        assert_eq!(
            store.read(&id, 100, 200).unwrap().unwrap(),
            &bytes[100..200]
        );
        // Complete is final: more appends change nothing.
        assert_eq!(
            store.append(&id, 0, total, b"junk").unwrap(),
            BlobStatus::Complete { size: total }
        );
        assert_eq!(store.read(&id, 0, u64::MAX).unwrap().unwrap(), bytes);
    }

    #[test]
    fn bytes_that_do_not_hash_to_the_id_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::new(dir.path());
        let id = id_of(b"the real photo");
        let err = store.append(&id, 0, 14, b"a forged photo").unwrap_err();
        assert!(matches!(err, Error::Invalid { ref field, .. } if field == "blob"));
        assert_eq!(store.status(&id).unwrap(), BlobStatus::Absent);
        assert_eq!(store.read(&id, 0, 10).unwrap(), None);
    }
}

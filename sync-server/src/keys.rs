//! The key that encrypts the server's database (SQLCipher, like the phone's
//! store) and the permissions of the data directory.
//!
//! Where the key comes from, in order:
//! 1. `--key-env VAR`: the environment variable `VAR` holds it (for a
//!    secrets manager or a systemd credential);
//! 2. `--key-file PATH`, by default `DATA_DIR/server.key`: a file readable
//!    only by the server's user (mode 0600 or 0400, owned by it; anything
//!    looser is refused).
//!
//! A key is 64 hex digits (32 raw bytes, no key derivation) or a passphrase
//! of at least [`MIN_PASSPHRASE_CHARS`] characters (SQLCipher derives the key
//! with PBKDF2). When no key file exists and the data directory holds no
//! encrypted database yet (a first start, or a plain database written by a
//! version before encryption), a random key file is created (mode 0600) and
//! the caller says where. An encrypted database whose key is missing is an
//! error that names the file, never a new empty database.
//!
//! The data directory is made mode 0700 and the database files 0600; the
//! server also sets its umask to 077 ([`restrict_umask`]) so that everything
//! it creates later (WAL, backups) is private.

use crate::error::Error;
use clap::Args;
use gridwork_core::store::DbKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the default key file inside the data directory.
pub const KEY_FILE: &str = "server.key";

/// Shortest passphrase accepted as a key (a 64-hex-digit key is raw bytes).
pub const MIN_PASSPHRASE_CHARS: usize = 16;

/// The first 16 bytes of every plain (unencrypted) SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// `--key-env VAR` / `--key-file PATH`, shared by `serve` and `admin`.
#[derive(Clone, Debug, Default, Args)]
pub struct KeyArgs {
    /// 从该环境变量读取数据库密钥 / read the database key from the environment variable VAR
    /// (64 hex digits, or a passphrase of at least 16 characters)
    #[arg(long, value_name = "VAR", global = true)]
    pub key_env: Option<String>,
    /// 数据库密钥文件（仅本用户可读）/ the database key file, readable only by the
    /// server's user (default: DATA_DIR/server.key, created on first start)
    #[arg(long, value_name = "PATH", global = true)]
    pub key_file: Option<PathBuf>,
}

/// Where the key came from (for the start-up log; never the key itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOrigin {
    /// The environment variable of this name.
    Env(String),
    /// An existing key file.
    File(PathBuf),
    /// A key file created now, at this path.
    Created(PathBuf),
}

/// A resolved database key.
#[derive(Clone, Debug)]
pub struct ServerKey {
    /// The key to open the database with.
    pub key: DbKey,
    /// Where it came from.
    pub origin: KeyOrigin,
}

impl ServerKey {
    /// The key in SQLCipher's text form: `x'HEX'` for raw keys (what
    /// `gridwork --key-env` accepts to open the server's file), the
    /// passphrase otherwise.
    pub fn as_text(&self) -> String {
        key_text(&self.key)
    }
}

/// SQLCipher's text form of `key` (see [`ServerKey::as_text`]).
pub fn key_text(key: &DbKey) -> String {
    match key {
        DbKey::Raw(bytes) => format!("x'{}'", hex::encode(bytes)),
        DbKey::Passphrase(p) => p.clone(),
    }
}

/// Parse a key's text: 64 hex digits (optionally in SQLCipher's `x'…'`
/// form) are raw bytes, anything else a passphrase of at least
/// [`MIN_PASSPHRASE_CHARS`] characters.
pub fn parse_key(text: &str, field: &str) -> Result<DbKey, Error> {
    let text = text.trim();
    let hex_part = text
        .strip_prefix("x'")
        .and_then(|t| t.strip_suffix('\''))
        .unwrap_or(text);
    if hex_part.len() == 64 && hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut raw = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut raw)
            .map_err(|_| Error::invalid(field, "密钥格式错误 / malformed key"))?;
        return Ok(DbKey::Raw(raw));
    }
    if text.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Error::invalid(
            field,
            "密钥应为64位十六进制或至少16个字符的口令 / the key must be 64 hex digits or a passphrase of at least 16 characters",
        ));
    }
    Ok(DbKey::Passphrase(text.to_string()))
}

/// Whether the file at `path` is a plain (unencrypted) SQLite database.
pub fn is_plain_database(path: &Path) -> Result<bool, Error> {
    use std::io::Read;
    let mut header = [0u8; 16];
    match std::fs::File::open(path) {
        Ok(mut file) => match file.read_exact(&mut header) {
            Ok(()) => Ok(&header == SQLITE_HEADER),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(e.into()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Resolve the key for `data_dir` (see the module header). `database` is
/// the database file the key is for; a missing key file is created only
/// when that file does not exist yet or is a plain SQLite file.
pub fn resolve(data_dir: &Path, args: &KeyArgs, database: &Path) -> Result<ServerKey, Error> {
    if let Some(var) = &args.key_env {
        let value = std::env::var(var).map_err(|_| {
            Error::invalid(
                "--key-env",
                format!("环境变量 {var} 未设置 / environment variable {var} is not set"),
            )
        })?;
        return Ok(ServerKey {
            key: parse_key(&value, "--key-env")?,
            origin: KeyOrigin::Env(var.clone()),
        });
    }
    let path = args
        .key_file
        .clone()
        .unwrap_or_else(|| data_dir.join(KEY_FILE));
    match std::fs::symlink_metadata(&path) {
        Ok(_) => {
            check_private(&path)?;
            let text = std::fs::read_to_string(&path).map_err(|_| {
                Error::invalid(
                    "--key-file",
                    "密钥文件无法读取 / the key file cannot be read",
                )
            })?;
            Ok(ServerKey {
                key: parse_key(&text, "--key-file")?,
                origin: KeyOrigin::File(path),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if database.exists() && !is_plain_database(database)? {
                return Err(Error::invalid(
                    "--key-file",
                    format!(
                        "数据库已加密但找不到密钥文件 {} / the database is encrypted but the key file {} is missing; give --key-file or --key-env",
                        path.display(),
                        path.display()
                    ),
                ));
            }
            let key = create_key_file(&path)?;
            Ok(ServerKey {
                key,
                origin: KeyOrigin::Created(path),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Create a key file with 32 random bytes as hex, mode 0600, failing if
/// the file appeared meanwhile.
fn create_key_file(path: &Path) -> Result<DbKey, Error> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| Error::Internal(format!("randomness: {e}")))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    writeln!(file, "{}", hex::encode(raw))?;
    file.sync_all()?;
    Ok(DbKey::Raw(raw))
}

/// Refuse a key file that others could read or replace: not a regular file,
/// not owned by this user, or with any group/other permission bit.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)?;
    let uid = current_uid();
    if !meta.file_type().is_file() {
        return Err(Error::invalid(
            "--key-file",
            "密钥文件必须是普通文件 / the key file must be a regular file",
        ));
    }
    if meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(Error::invalid(
            "--key-file",
            format!(
                "密钥文件必须只有本用户可读（chmod 600 {}）/ the key file must be readable only by the server's user (chmod 600 {})",
                path.display(),
                path.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), Error> {
    Ok(())
}

/// The effective user id of this process.
#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Set the process umask to 077: files and directories the server creates
/// from now on (database, WAL, backups, key files) are private to its user.
pub fn restrict_umask() {
    #[cfg(unix)]
    // SAFETY: umask only changes this process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// Create `data_dir` if needed and make it and the database files in it
/// private (0700 / 0600): an earlier version created them with the umask's
/// defaults.
pub fn secure_data_dir(data_dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(data_dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        set_mode(data_dir, 0o700)?;
        for entry in std::fs::read_dir(data_dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                let mode = entry.metadata()?.permissions().mode();
                if mode & 0o077 != 0 {
                    set_mode(&entry.path(), 0o600)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_as_raw_hex_or_long_passphrases() {
        let hex64 = "ab".repeat(32);
        assert!(matches!(parse_key(&hex64, "k").unwrap(), DbKey::Raw(b) if b == [0xab; 32]));
        assert!(matches!(
            parse_key(&format!("x'{hex64}'\n"), "k").unwrap(),
            DbKey::Raw(_)
        ));
        assert!(matches!(
            parse_key("correct horse battery staple", "k").unwrap(),
            DbKey::Passphrase(_)
        ));
        let short = parse_key("short", "k").unwrap_err().to_string();
        assert!(!short.contains("short"), "the key is never echoed: {short}");
        assert_eq!(
            key_text(&DbKey::Raw([1; 32])),
            format!("x'{}'", "01".repeat(32))
        );
    }

    #[test]
    fn a_key_file_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let db = data.join("gridwork.db");
        let first = resolve(&data, &KeyArgs::default(), &db).unwrap();
        let path = data.join(KEY_FILE);
        assert_eq!(first.origin, KeyOrigin::Created(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = resolve(&data, &KeyArgs::default(), &db).unwrap();
        assert_eq!(again.origin, KeyOrigin::File(path));
        assert_eq!(again.as_text(), first.as_text());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "cd".repeat(32)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let args = KeyArgs {
            key_file: Some(path.clone()),
            ..Default::default()
        };
        let err = resolve(dir.path(), &args, &dir.path().join("db")).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(resolve(dir.path(), &args, &dir.path().join("db")).is_ok());
    }

    #[test]
    fn an_encrypted_database_without_its_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("gridwork.db");
        std::fs::write(&db, [0x5au8; 4096]).unwrap();
        let err = resolve(dir.path(), &KeyArgs::default(), &db).unwrap_err();
        assert!(err.to_string().contains("server.key"), "{err}");
        assert!(!dir.path().join(KEY_FILE).exists());
    }

    #[test]
    fn the_key_env_variable_must_be_set() {
        let dir = tempfile::tempdir().unwrap();
        let args = KeyArgs {
            key_env: Some("GRIDWORK_TEST_KEY_SURELY_UNSET".into()),
            ..Default::default()
        };
        let err = resolve(dir.path(), &args, &dir.path().join("db")).unwrap_err();
        assert!(err.to_string().contains("GRIDWORK_TEST_KEY_SURELY_UNSET"));
    }
}

//! The core's one error type.
//!
//! Every fallible function in `gridwork-core` returns [`Result`]. Variants are
//! typed so that callers (the CLI, the FFI layer, the server) can map them to
//! exit codes, exceptions or HTTP statuses without parsing text. Messages never
//! carry personal data: a validation error names the *field*, never the value.

use thiserror::Error;

/// Result alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core.
#[derive(Debug, Error)]
pub enum Error {
    /// Input failed validation; nothing was stored. `field` names the input
    /// field (e.g. `phone`, `answers.sanitation`), `message` says why in
    /// zh-CN then English, without echoing the value.
    #[error("{field}: {message}")]
    Validation {
        /// The offending field.
        field: String,
        /// Why it was rejected (zh-CN / English).
        message: String,
    },
    /// An input file is beyond one of the import limits (a spreadsheet that
    /// unpacks too large or compresses suspiciously well, too many rows,
    /// columns or cells, a CSV file too big). It is refused before or while
    /// being read, never read in full, and nothing was stored. `field` names
    /// the input (`xlsform`, `xlsform.survey`, `register`), `message` names
    /// the limit (zh-CN / English); the limits are in
    /// `crate::spreadsheet::LIMITS`.
    #[error("{field}: {message}")]
    TooLarge {
        /// The input (file or sheet) that is too large.
        field: String,
        /// The limit that was exceeded, in its unit (bytes, rows, ...).
        limit: u64,
        /// Which limit and what to do (zh-CN / English).
        message: String,
    },
    /// Form answers failed validation against their template version; one
    /// entry per failing field, in the template's field order. Nothing was
    /// stored.
    #[error("{}", FieldError::join(errors))]
    FormInvalid {
        /// `<template id> v<version>`.
        template: String,
        /// One error per failing field.
        errors: Vec<FieldError>,
    },
    /// A referenced record does not exist.
    #[error("{kind} not found / 未找到: {id}")]
    NotFound {
        /// What kind of record (household, case, ...).
        kind: &'static str,
        /// The id that was looked up (an opaque id, never personal data).
        id: String,
    },
    /// A hazard or case transition that the workflow does not allow from the
    /// current state.
    #[error("state: 不允许从 {from} 转到 {to} / transition from {from} to {to} is not allowed")]
    TransitionNotAllowed {
        /// Current derived state.
        from: String,
        /// Requested state.
        to: String,
    },
    /// The store has not been initialised with a worker and grid yet.
    #[error("store not initialised / 存储尚未初始化: run `init` first")]
    NotInitialized,
    /// `init` on a store that already has a worker.
    #[error("store already initialised / 存储已初始化")]
    AlreadyInitialized,
    /// Re-initialisation (`init --force`, `Store::reinit`) refused because
    /// the store holds local changes the server does not have yet; nothing
    /// was changed. Sync first; when the sync itself is refused (the phone
    /// was initialised for the wrong grid or worker), save the register,
    /// re-initialise discarding the changes
    /// (`Store::reinit_discarding_unsynced`) and re-import the register.
    #[error("store: 有 {count} 项更改尚未同步，重新初始化会丢失它们。请先同步；若同步因初始化时的网格或网格员有误而被拒：先用 `gridwork export households --out FILE.xlsx` 保存住户登记，再用 `init --force --discard-unsynced` 重新初始化（丢弃未同步的更改，走访、隐患、诉求等住户登记以外的记录不会保留），然后用 `gridwork import register FILE.xlsx` 导回 / {count} change(s) not yet synced would be lost: sync first; if the sync is refused because the phone was initialised for the wrong grid or worker, save the household register with `gridwork export households --out FILE.xlsx`, re-initialise with `init --force --discard-unsynced` (discards the unsynced changes: visits, hazards, cases and other records outside the register are not kept) and re-import it with `gridwork import register FILE.xlsx`")]
    UnsyncedChanges {
        /// Unsynced documents plus attachments waiting for upload.
        count: u64,
    },
    /// The database key is wrong, or a key is missing for an encrypted
    /// database, or the file is not a Gridwork database at all.
    #[error("wrong database key or not a database / 数据库密钥错误或文件不是数据库")]
    WrongKey,
    /// The database was written by a newer version of Gridwork.
    #[error("database schema v{found} is newer than this build supports (v{supported}) / 数据库版本过新")]
    SchemaTooNew {
        /// Version found in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// A stored document could not be decoded or does not have the expected shape.
    #[error("document {doc_id} is corrupt / 文档损坏: {reason}")]
    CorruptDocument {
        /// The document id.
        doc_id: String,
        /// What was wrong (structural, no personal data).
        reason: String,
    },
    /// The sync server refused the device token (unknown or revoked).
    #[error("unauthorized / 未授权: the device token is unknown or revoked")]
    Unauthorized,
    /// The network failed or the server could not be reached.
    #[error("network error / 网络错误: {0}")]
    Network(String),
    /// The server answered with an error status.
    #[error("server error / 服务器错误: HTTP {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// A sync body could not be decoded.
    #[error("protocol error / 协议错误: {0}")]
    Protocol(String),
    /// The peer speaks a protocol version this build does not.
    #[error(
        "unsupported protocol version {found} (this build speaks {supported}) / 协议版本不受支持"
    )]
    UnsupportedProtocol {
        /// Version received.
        found: u16,
        /// Version spoken here.
        supported: u16,
    },
    /// The server refused the sync because this phone was initialised for
    /// another worker or grid than the token's account; nothing was sent or
    /// received. The message (zh-CN / English, ids only) says what to do.
    #[error("{0}")]
    AccountMismatch(String),
    /// The document was written in a newer format than this build
    /// understands: it is kept, shown read-only and forwarded, never edited
    /// here (update the app to edit it).
    #[error("文档格式 v{found} 高于本程序支持的 v{supported}，只读 / document {doc_id} has format v{found}, newer than this build supports (v{supported}): read-only")]
    NewerFormat {
        /// The document id.
        doc_id: String,
        /// Its format version.
        found: u32,
        /// The newest format this build writes.
        supported: u32,
    },
    /// The operation was cancelled by the caller.
    #[error("cancelled / 已取消")]
    Cancelled,
    /// SQLite failure.
    #[error("storage error / 存储错误: {0}")]
    Sqlite(Box<rusqlite::Error>),
    /// Failure of another database behind [`crate::store::sql::SqlConn`]
    /// (a server's PostgreSQL). `message` is the database's primary message
    /// only, never its detail (which may quote values).
    #[error("storage error / 存储错误: {message}")]
    Database {
        /// The SQLSTATE, when the database sent one (`40001`, `23505`, …).
        sqlstate: Option<String>,
        /// The primary message.
        message: String,
    },
    /// Automerge failure.
    #[error("document error / 文档错误: {0}")]
    Automerge(Box<automerge::AutomergeError>),
    /// Writing a struct into a document failed.
    #[error("document error / 文档错误: {0}")]
    Reconcile(Box<autosurgeon::ReconcileError>),
    /// Reading a struct from a document failed.
    #[error("document error / 文档错误: {0}")]
    Hydrate(Box<autosurgeon::HydrateError>),
    /// File system failure.
    #[error("i/o error / 读写错误: {0}")]
    Io(#[from] std::io::Error),
}

/// Why one form field's answer was rejected. Never carries the answer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    /// `answers.<field id>`.
    pub field: String,
    /// The field's label, `"<zh-CN> / <English>"` (empty for unknown fields).
    pub label: String,
    /// Why (zh-CN / English).
    pub message: String,
}

impl FieldError {
    /// One line: `answers.a (标签 / Label): why; answers.b (…): why`.
    pub fn join(errors: &[FieldError]) -> String {
        errors
            .iter()
            .map(|e| {
                if e.label.is_empty() {
                    format!("{}: {}", e.field, e.message)
                } else {
                    format!("{} ({}): {}", e.field, e.label, e.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl Error {
    /// Shorthand for a [`Error::Validation`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Shorthand for a [`Error::NotFound`].
    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// True for errors caused by the caller's input (as opposed to storage or
    /// internal failures). The CLI exits 1 for these, the FFI maps them to
    /// validation / not-found errors.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::Validation { .. }
                | Error::TooLarge { .. }
                | Error::FormInvalid { .. }
                | Error::NotFound { .. }
                | Error::TransitionNotAllowed { .. }
                | Error::NotInitialized
                | Error::AlreadyInitialized
                | Error::UnsyncedChanges { .. }
                | Error::WrongKey
                | Error::SchemaTooNew { .. }
                | Error::Unauthorized
                | Error::Network(_)
                | Error::Server { .. }
                | Error::UnsupportedProtocol { .. }
                | Error::Cancelled
        )
    }
}

// External errors are boxed to keep `Result<T>` small on the happy path.
macro_rules! boxed_from {
    ($($variant:ident($ty:ty)),*) => {$(
        impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    Sqlite(rusqlite::Error),
    Automerge(automerge::AutomergeError),
    Reconcile(autosurgeon::ReconcileError),
    Hydrate(autosurgeon::HydrateError)
);

//! The server's one error type and its HTTP mapping.
//!
//! Every fallible function in `gridwork-server` returns `Result<T, Error>`.
//! [`Error`] implements axum's `IntoResponse`: each variant has an HTTP
//! status and a stable machine-readable code, sent as the JSON body
//! `{"error": code, "message": "..."}`. Messages are zh-CN first, then
//! English, and never carry personal data: they name fields, codes and ids
//! assigned by the office (grid codes, worker ids), never values typed about
//! residents. Internal failures are logged and answered with a generic text.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Everything that can go wrong in the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No bearer token, an unknown token or a revoked one (401).
    #[error("未授权 / unauthorized: missing, unknown or revoked token")]
    Unauthorized,
    /// An authenticated worker asked for something outside their role or
    /// scope (403).
    #[error("无权限 / forbidden: {0}")]
    Forbidden(String),
    /// Input failed validation; nothing was stored (400). `field` names the
    /// input, `message` says why (zh-CN / English) without echoing the value.
    #[error("{field}: {message}")]
    Invalid {
        /// The offending field.
        field: String,
        /// Why it was rejected.
        message: String,
    },
    /// A referenced record does not exist (404).
    #[error("未找到 / not found: {kind} {id}")]
    NotFound {
        /// What kind of record (grid, worker, route, …).
        kind: &'static str,
        /// The office-assigned id or code that was looked up.
        id: String,
    },
    /// The record already exists or the request conflicts with stored state (409).
    #[error("冲突 / conflict: {0}")]
    Conflict(String),
    /// The requested storage backend is not available in this build (500;
    /// the CLI exits 2 for it before anything starts).
    #[error("{0}")]
    Unsupported(String),
    /// A feature this server does not offer yet on its PostgreSQL backend
    /// (501); the embedded SQLite default has it.
    #[error("{feature}：暂不支持 PostgreSQL 数据库 / {feature}: not available on PostgreSQL yet")]
    NotOnPostgres {
        /// What was asked for (`dashboard`, `backup`, …).
        feature: &'static str,
    },
    /// A failure inside the core (documents, store); its messages carry no
    /// personal data by the core's own rule.
    #[error(transparent)]
    Core(gridwork_core::Error),
    /// SQLite failure in the server's own tables.
    #[error("存储错误 / storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A PostgreSQL failure (`serve --database postgres://…`, [`crate::pg`]).
    /// Built by `From<postgres::Error>`, which keeps no URL, password or
    /// row values: see [`crate::pg::describe`].
    #[error("PostgreSQL 错误 / PostgreSQL error: {message}")]
    Postgres {
        /// The SQLSTATE the server sent (`40001`, `23505`, …); `None` for
        /// failures of the connection itself.
        sqlstate: Option<String>,
        /// What failed: the client's category, the server's message (left
        /// out for data and integrity errors, whose messages may quote
        /// values) and the table, column or constraint it names.
        message: String,
    },
    /// The database's schema was written by a newer server than this one
    /// (500; refused before anything is read or written).
    #[error(
        "数据库结构版本 v{found} 高于本程序支持的 v{supported}，请使用更新的 gridwork-server / database schema v{found} is newer than this build supports (v{supported}); use a newer gridwork-server"
    )]
    SchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// File system or socket failure.
    #[error("读写错误 / i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A sync body that cannot be decoded (400); nothing was changed.
    #[error("请求格式错误 / bad request: {0}")]
    BadRequest(String),
    /// A sync body of a protocol version this server does not speak (400).
    #[error(
        "协议版本不受支持 / unsupported protocol version {found}; this server speaks {supported}"
    )]
    UnsupportedProtocol {
        /// Version received.
        found: u16,
        /// Version spoken here.
        supported: u16,
    },
    /// One pushed document was refused (reported per doc inside a sync
    /// response, never as an HTTP status).
    #[error("文档被拒绝 / document rejected: {0:?}")]
    Rejected(gridwork_core::sync::protocol::RejectReason),
    /// The phone was initialised for another worker, or a grid outside the
    /// token's scope (409 `account_mismatch`); nothing was applied or sent.
    #[error("{0}")]
    AccountMismatch(String),
    /// A pushed document lacks dependencies here: the slow path must be used
    /// (reported per doc inside a sync response).
    #[error("need slow path")]
    NeedSlowPath,
    /// A body or request over a size limit (413); nothing was changed.
    #[error("请求过大 / payload too large: {0}")]
    TooLarge(String),
    /// The client is over its rate limit (429 with `Retry-After`).
    #[error("请求过于频繁，请 {retry_after_secs} 秒后重试 / too many requests; retry after {retry_after_secs} s")]
    TooManyRequests {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The server has no memory budget left for this request now (503 with
    /// `Retry-After`); nothing was changed.
    #[error("服务器繁忙，请 {retry_after_secs} 秒后重试 / server busy; retry after {retry_after_secs} s")]
    Busy {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// Anything else that is our fault (a panicked blocking task, no
    /// randomness from the OS, …).
    #[error("内部错误 / internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::Invalid { .. } => StatusCode::BAD_REQUEST,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::BadRequest(_) | Error::UnsupportedProtocol { .. } | Error::Rejected(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::NeedSlowPath | Error::AccountMismatch(_) => StatusCode::CONFLICT,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Core(e) => match e {
                gridwork_core::Error::Validation { .. } => StatusCode::BAD_REQUEST,
                gridwork_core::Error::NotFound { .. } => StatusCode::NOT_FOUND,
                gridwork_core::Error::TransitionNotAllowed { .. } => StatusCode::CONFLICT,
                gridwork_core::Error::CorruptDocument { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Error::NotOnPostgres { .. } => StatusCode::NOT_IMPLEMENTED,
            Error::Unsupported(_)
            | Error::Sqlite(_)
            | Error::Postgres { .. }
            | Error::SchemaTooNew { .. }
            | Error::Io(_)
            | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code sent as `"error"` in the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::Invalid { .. } => "invalid",
            Error::NotFound { .. } => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Unsupported(_) => "unsupported",
            Error::NotOnPostgres { .. } => "not_on_postgres",
            Error::BadRequest(_) => "bad_request",
            Error::UnsupportedProtocol { .. } => "unsupported_protocol",
            Error::Rejected(_) => "rejected",
            Error::NeedSlowPath => "need_slow_path",
            Error::AccountMismatch(_) => gridwork_core::sync::transport::ACCOUNT_MISMATCH,
            Error::TooLarge(_) => "too_large",
            Error::TooManyRequests { .. } => "rate_limited",
            Error::Busy { .. } => "busy",
            Error::Core(e) => match e {
                gridwork_core::Error::Validation { .. } => "invalid",
                gridwork_core::Error::NotFound { .. } => "not_found",
                gridwork_core::Error::TransitionNotAllowed { .. } => "transition_not_allowed",
                gridwork_core::Error::CorruptDocument { .. } => "corrupt_document",
                _ => "internal",
            },
            Error::SchemaTooNew { .. } => "schema_too_new",
            Error::Sqlite(_) | Error::Postgres { .. } | Error::Io(_) | Error::Internal(_) => {
                "internal"
            }
        }
    }
}

impl From<gridwork_core::Error> for Error {
    /// Core validation (and too-large input) and not-found errors become the
    /// server's own variants (same status, same code); everything else stays
    /// wrapped.
    fn from(e: gridwork_core::Error) -> Self {
        match e {
            gridwork_core::Error::Validation { field, message } => {
                Error::Invalid { field, message }
            }
            gridwork_core::Error::TooLarge { field, message, .. } => {
                Error::Invalid { field, message }
            }
            gridwork_core::Error::NotFound { kind, id } => Error::NotFound { kind, id },
            other => Error::Core(other),
        }
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(if e.is_panic() {
            "后台任务崩溃 / blocking task panicked".into()
        } else {
            "后台任务被取消 / blocking task cancelled".into()
        })
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            Error::TooManyRequests { retry_after_secs } | Error::Busy { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        };
        let message = if status.is_server_error() && retry_after.is_none() {
            // Details stay in the log; clients get a generic text.
            tracing::error!(error = %self, "request failed");
            "服务器内部错误 / internal server error".to_owned()
        } else {
            self.to_string()
        };
        let body = serde_json::json!({ "error": self.code(), "message": message });
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes() {
        assert_eq!(Error::Unauthorized.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(Error::invalid("code", "x").code(), "invalid");
        let core = gridwork_core::Error::invalid("phone", "bad");
        let e = Error::from(core);
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(e.to_string(), "phone: bad");
        let e = Error::from(gridwork_core::Error::not_found("household", "h1"));
        assert_eq!((e.status(), e.code()), (StatusCode::NOT_FOUND, "not_found"));
        assert_eq!(
            Error::Core(gridwork_core::Error::WrongKey).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn unauthorized_response_asks_for_bearer() {
        let response = Error::Unauthorized.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer"
        );
    }
}

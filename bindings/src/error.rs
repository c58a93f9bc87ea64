//! The one public error type of the FFI edge: [`ApiError`]. Every core error
//! maps to one variant in one place ([`From<gridwork_core::Error>`]), and no
//! message carries personal data (the core never puts answer values, names
//! or ID numbers into errors).

use gridwork_core::{Error, FieldError as CoreFieldError};

/// Why one form field's answer was rejected.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct FieldError {
    /// `answers.<field id>`.
    pub field: String,
    /// The field's label, `"<zh-CN> / <English>"`.
    pub label: String,
    /// Why (zh-CN / English).
    pub message: String,
}

impl From<CoreFieldError> for FieldError {
    fn from(e: CoreFieldError) -> Self {
        FieldError {
            field: e.field,
            label: e.label,
            message: e.message,
        }
    }
}

/// Everything a Gridwork call can fail with. In Kotlin these are exceptions
/// (`ApiException.Validation`, …), in Swift `ApiError` cases.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ApiError {
    /// Input failed validation; nothing was stored. `field` names the input
    /// (e.g. `phone`, `answers.place`); `reason` says why in zh-CN then
    /// English, without the value. (Not `message`: that would clash with
    /// `Throwable.message` in Kotlin.)
    #[error("{field}: {reason}")]
    Validation {
        /// The offending input field.
        field: String,
        /// Why.
        reason: String,
    },
    /// Form answers failed validation: one entry per failing field.
    #[error("{summary}")]
    InvalidForm {
        /// Each failing field.
        errors: Vec<FieldError>,
        /// All of them on one line.
        summary: String,
    },
    /// A referenced record does not exist.
    #[error("{kind} not found: {id}")]
    NotFound {
        /// What (household, case, template, …).
        kind: String,
        /// The id looked up.
        id: String,
    },
    /// The request conflicts with the current state: a workflow transition
    /// not allowed from the current status, `init` on an initialised store,
    /// or `reinit` while changes are not yet synced (nothing changed).
    #[error("{reason}")]
    Conflict {
        /// Why.
        reason: String,
    },
    /// The store has no owner yet: call `init` first.
    #[error("store not initialised")]
    NotInitialized,
    /// The sync server refused the device token (unknown or revoked): ask the
    /// office for a new one.
    #[error("unauthorized")]
    Auth,
    /// The server could not be reached, answered with an error, or spoke an
    /// unknown protocol; retrying later is safe.
    #[error("{reason}")]
    Network {
        /// What happened.
        reason: String,
    },
    /// The database key is wrong or missing, or the file is not a Gridwork
    /// database.
    #[error("wrong database key")]
    WrongKey,
    /// The phone was initialised for another worker or grid than the sync
    /// token's account; nothing was sent or received. Check the token, or
    /// re-initialise the store while nothing is unsynced.
    #[error("{reason}")]
    WrongAccount {
        /// What happened and what to do (zh-CN / English).
        reason: String,
    },
    /// The record was written by a newer version of the app: it is shown and
    /// synced but cannot be edited here until the app is updated.
    #[error("{reason}")]
    ReadOnly {
        /// Why (zh-CN / English).
        reason: String,
    },
    /// The sync was cancelled through its handle; nothing is lost.
    #[error("cancelled")]
    Cancelled,
    /// Storage failed (disk full, corrupt file, newer schema, …).
    #[error("{reason}")]
    Storage {
        /// What happened.
        reason: String,
    },
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let reason = e.to_string();
        match e {
            Error::Validation { field, message } => ApiError::Validation {
                field,
                reason: message,
            },
            // A file beyond an import limit is invalid input for the apps.
            Error::TooLarge { field, message, .. } => ApiError::Validation {
                field,
                reason: message,
            },
            Error::FormInvalid { errors, .. } => ApiError::InvalidForm {
                errors: errors.into_iter().map(FieldError::from).collect(),
                summary: reason,
            },
            Error::NotFound { kind, id } => ApiError::NotFound {
                kind: kind.to_string(),
                id,
            },
            Error::TransitionNotAllowed { .. }
            | Error::AlreadyInitialized
            | Error::UnsyncedChanges { .. } => ApiError::Conflict { reason },
            Error::NotInitialized => ApiError::NotInitialized,
            Error::Unauthorized => ApiError::Auth,
            Error::Network(_)
            | Error::Server { .. }
            | Error::Protocol(_)
            | Error::UnsupportedProtocol { .. } => ApiError::Network { reason },
            Error::WrongKey => ApiError::WrongKey,
            Error::AccountMismatch(_) => ApiError::WrongAccount { reason },
            Error::NewerFormat { .. } => ApiError::ReadOnly { reason },
            Error::Cancelled => ApiError::Cancelled,
            Error::SchemaTooNew { .. }
            | Error::CorruptDocument { .. }
            | Error::Sqlite(_)
            | Error::Database { .. }
            | Error::Automerge(_)
            | Error::Reconcile(_)
            | Error::Hydrate(_)
            | Error::Io(_) => ApiError::Storage { reason },
        }
    }
}

/// Shorthand for results of the FFI.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_map_to_their_variants() {
        let e = ApiError::from(Error::invalid("phone", "bad"));
        assert!(matches!(e, ApiError::Validation { ref field, .. } if field == "phone"));
        let e = ApiError::from(Error::FormInvalid {
            template: "t v1".into(),
            errors: vec![CoreFieldError {
                field: "answers.a".into(),
                label: "甲 / A".into(),
                message: "必填 / required".into(),
            }],
        });
        match e {
            ApiError::InvalidForm { errors, summary } => {
                assert_eq!(errors[0].field, "answers.a");
                assert!(summary.contains("answers.a (甲 / A)"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            ApiError::from(Error::not_found("household", "x")),
            ApiError::NotFound { ref kind, .. } if kind == "household"
        ));
        assert!(matches!(
            ApiError::from(Error::Unauthorized),
            ApiError::Auth
        ));
        assert!(matches!(
            ApiError::from(Error::Network("down".into())),
            ApiError::Network { .. }
        ));
        assert!(matches!(
            ApiError::from(Error::WrongKey),
            ApiError::WrongKey
        ));
        assert!(matches!(
            ApiError::from(Error::AlreadyInitialized),
            ApiError::Conflict { .. }
        ));
        assert!(matches!(
            ApiError::from(Error::UnsyncedChanges { count: 2 }),
            ApiError::Conflict { .. }
        ));
        assert!(matches!(
            ApiError::from(Error::AccountMismatch("gw-a / gw-b".into())),
            ApiError::WrongAccount { ref reason } if reason == "gw-a / gw-b"
        ));
        assert!(matches!(
            ApiError::from(Error::NewerFormat {
                doc_id: "hazard/x".into(),
                found: 3,
                supported: 1,
            }),
            ApiError::ReadOnly { .. }
        ));
    }
}

//! Dashboard sessions (table `staff_sessions`) and the [`StaffSession`]
//! extractor. A session is created at sign-in: the `gw_session` cookie
//! holds a random 32-byte token (base64url), the table only its SHA-256,
//! with the worker, the session's CSRF token and an expiry 12 hours after
//! sign-in (no sliding). Sign-out deletes the row.

use super::{cookies, csrf};
use crate::accounts::passwords::role_may_have_password;
use crate::accounts::{account_of, token_hash, Account};
use crate::backend::Backend;
use crate::db;
use crate::error::Error;
use crate::state::AppState;
use crate::sync::storage::cells;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

/// How long a session lasts after sign-in: 12 hours, in milliseconds.
pub const SESSION_TTL_MS: i64 = 12 * 60 * 60 * 1000;

/// A session just created: the only time its token exists outside the browser.
#[derive(Clone, Debug)]
pub struct NewSession {
    /// The cookie value (43 base64url characters).
    pub token: String,
    /// The session's CSRF token, for the hidden `csrf` field of forms.
    pub csrf: String,
    /// When it ends (ms since the epoch).
    pub expires_at: i64,
}

/// Start a session for `worker` at `now` (ms since the epoch); expired
/// sessions of anyone are swept in the same transaction.
pub fn create_session_at(backend: &Backend, worker: &str, now: i64) -> Result<NewSession, Error> {
    let bytes = csrf::random_bytes()?;
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let hash = token_hash(&token).ok_or_else(|| Error::Internal("session token".into()))?;
    let csrf = csrf::random_token()?;
    let expires_at = now + SESSION_TTL_MS;
    backend.transaction(|conn| {
        conn.exec(
            "DELETE FROM staff_sessions WHERE expires_at <= ?1",
            &[now.into()],
        )?;
        conn.exec(
            "INSERT INTO staff_sessions (token_hash, worker_id, csrf_token, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &[
                hash.as_slice().into(),
                worker.into(),
                csrf.as_str().into(),
                now.into(),
                expires_at.into(),
            ],
        )?;
        Ok(())
    })?;
    Ok(NewSession {
        token,
        csrf,
        expires_at,
    })
}

/// End the session whose token hashes to `hash` (no error if it is gone).
pub fn delete_session(backend: &Backend, hash: &[u8; 32]) -> Result<(), Error> {
    backend.transaction(|conn| {
        conn.exec(
            "DELETE FROM staff_sessions WHERE token_hash = ?1",
            &[hash.as_slice().into()],
        )?;
        Ok(())
    })
}

/// The signed-in staff member of a request: their account (with `scope`,
/// their subtree of the grid tree) and the session's CSRF token.
///
/// As an extractor it answers `303 See Other → /login` when there is no
/// valid session (no or unknown cookie, expired, or the worker is no longer
/// staff or their grid is gone).
#[derive(Clone, Debug)]
pub struct StaffSession {
    /// Who is signed in.
    pub account: Account,
    /// The token every POST form of this session must carry as `csrf`.
    pub csrf: String,
    hash: [u8; 32],
}

impl StaffSession {
    /// SHA-256 of the session token (the row's key).
    pub fn token_hash(&self) -> &[u8; 32] {
        &self.hash
    }

    /// The live session whose cookie token is `token` at `now`, or `None`.
    /// Blocking (the database).
    pub fn lookup_at(
        backend: &Backend,
        token: &str,
        now: i64,
    ) -> Result<Option<StaffSession>, Error> {
        let Some(hash) = token_hash(token) else {
            return Ok(None);
        };
        backend.read(|conn| {
            let Some(row) = conn.row(
                "SELECT worker_id, csrf_token FROM staff_sessions
                 WHERE token_hash = ?1 AND expires_at > ?2",
                &[hash.as_slice().into(), now.into()],
            )?
            else {
                return Ok(None);
            };
            let [worker, csrf] = cells(row)?;
            let (worker, csrf) = (worker.text()?, csrf.text()?);
            Ok(account_of(conn, &worker)?
                .filter(|a| role_may_have_password(a.role) && !a.scope.is_empty())
                .map(|account| StaffSession {
                    account,
                    csrf: csrf.clone(),
                    hash,
                }))
        })
    }

    /// The session named by the `gw_session` cookie in `headers`, if live now.
    pub async fn from_headers(
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<Option<StaffSession>, Error> {
        let Some(token) = cookies::get(headers, cookies::SESSION).map(str::to_owned) else {
            return Ok(None);
        };
        let backend = state.backend.clone();
        tokio::task::spawn_blocking(move || StaffSession::lookup_at(&backend, &token, db::now_ms()))
            .await?
    }
}

impl FromRequestParts<AppState> for StaffSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match StaffSession::from_headers(state, &parts.headers).await {
            Ok(Some(session)) => Ok(session),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwork_core::model::Role;

    #[test]
    fn sessions_expire_after_twelve_hours_and_can_be_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(dir.path()).unwrap();
        crate::accounts::add_grid(&db, "T", "镇", None).unwrap();
        crate::accounts::add_grid(&db, "C", "社区", Some("T")).unwrap();
        crate::accounts::add_worker(&db, "s", "社区人员", Role::CommunityStaff, "C").unwrap();
        let db = std::sync::Arc::new(db);
        let backend = Backend::Sqlite(db.clone());
        let t0 = 1_700_000_000_000;
        let new = create_session_at(&backend, "s", t0).unwrap();
        assert!(csrf::well_formed(&new.token) && csrf::well_formed(&new.csrf));
        assert_eq!(new.expires_at, t0 + SESSION_TTL_MS);
        let live = StaffSession::lookup_at(&backend, &new.token, t0 + SESSION_TTL_MS - 1)
            .unwrap()
            .unwrap();
        assert_eq!(live.account.worker_id.0, "s");
        assert_eq!(live.account.scope.len(), 1);
        assert_eq!(live.csrf, new.csrf);
        assert!(
            StaffSession::lookup_at(&backend, &new.token, t0 + SESSION_TTL_MS)
                .unwrap()
                .is_none()
        );
        assert!(StaffSession::lookup_at(&backend, "not-a-token", t0)
            .unwrap()
            .is_none());
        // Only the hash is stored.
        let stored: Vec<u8> = db::read(&db, |c| {
            Ok(c.query_row("SELECT token_hash FROM staff_sessions", [], |r| r.get(0))?)
        })
        .unwrap();
        assert_eq!(stored, token_hash(&new.token).unwrap().to_vec());
        delete_session(&backend, live.token_hash()).unwrap();
        assert!(StaffSession::lookup_at(&backend, &new.token, t0)
            .unwrap()
            .is_none());
        // A new session sweeps expired ones.
        create_session_at(&backend, "s", t0).unwrap();
        create_session_at(&backend, "s", t0 + SESSION_TTL_MS).unwrap();
        let count: i64 = db::read(&db, |c| {
            Ok(c.query_row("SELECT count(*) FROM staff_sessions", [], |r| r.get(0))?)
        })
        .unwrap();
        assert_eq!(count, 1);
    }
}

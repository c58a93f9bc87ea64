//! Device tokens: 32 random bytes from the OS, shown once as 43 characters
//! of unpadded base64url; only their SHA-256 is stored. Revocable (all of a
//! worker's tokens at once). [`authenticate`] maps a bearer token to an
//! [`Account`]; [`Authenticated`] is the axum extractor that does it for a
//! request's `Authorization: Bearer …` header. Tokens never reach the log.

use super::{account_of, check_code, find_worker, Account};
use crate::db;
use crate::error::Error;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gridwork_core::model::WorkerId;
use gridwork_core::store::sql::SqlConn;
use gridwork_core::store::Db;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;
/// Length of a token's text form (unpadded base64url of 32 bytes).
const TOKEN_CHARS: usize = 43;

/// A freshly issued token: the only time its text exists outside the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IssuedToken {
    /// The worker it authenticates.
    pub worker: WorkerId,
    /// The token (43 characters, base64url without padding).
    pub token: String,
}

/// SHA-256 of a token's bytes, or `None` if `token` is not a well-formed
/// token (43 base64url characters encoding 32 bytes).
pub fn token_hash(token: &str) -> Option<[u8; 32]> {
    if token.len() != TOKEN_CHARS {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    if bytes.len() != TOKEN_BYTES {
        return None;
    }
    Some(Sha256::digest(&bytes).into())
}

/// Issue a token for `worker` inside an open transaction; see [`issue_token`].
pub fn issue_token_in<C: SqlConn + ?Sized>(conn: &C, worker: &str) -> Result<IssuedToken, Error> {
    let worker = check_code("worker", worker)?;
    if find_worker(conn, &worker)?.is_none() {
        return Err(Error::not_found("worker", &worker));
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|_| {
        Error::Internal("系统随机数不可用 / the OS random number generator failed".into())
    })?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash: [u8; 32] = Sha256::digest(bytes).into();
    conn.exec(
        "INSERT INTO tokens (hash, worker_id, created_at, revoked_at) VALUES (?1, ?2, ?3, NULL)",
        &[
            hash.as_slice().into(),
            (&worker).into(),
            db::now_ms().into(),
        ],
    )?;
    Ok(IssuedToken {
        worker: WorkerId(worker),
        token,
    })
}

/// Issue a new token for `worker` (an existing worker id). The returned
/// text is not stored anywhere: show it once. Other tokens stay valid.
pub fn issue_token(db: &Db, worker: &str) -> Result<IssuedToken, Error> {
    let issued = db::write(db, |tx| issue_token_in(tx.conn(), worker))?;
    tracing::info!("token issued");
    Ok(issued)
}

/// Revoke every live token of `worker`; returns how many were revoked
/// (0 if they had none). Unknown worker: not found.
pub fn revoke_tokens(db: &Db, worker: &str) -> Result<usize, Error> {
    let count = db::write(db, |tx| revoke_tokens_in(tx.conn(), worker))?;
    tracing::info!(count, "tokens revoked");
    Ok(count)
}

/// [`revoke_tokens`] inside an open transaction on any connection.
pub fn revoke_tokens_in<C: SqlConn + ?Sized>(conn: &C, worker: &str) -> Result<usize, Error> {
    let worker = check_code("worker", worker)?;
    if find_worker(conn, &worker)?.is_none() {
        return Err(Error::not_found("worker", &worker));
    }
    Ok(conn.exec(
        "UPDATE tokens SET revoked_at = ?1 WHERE worker_id = ?2 AND revoked_at IS NULL",
        &[db::now_ms().into(), (&worker).into()],
    )?)
}

/// The account a bearer token belongs to. `bearer` is the token itself or a
/// whole `Bearer <token>` header value. Unknown, malformed or revoked
/// tokens, and tokens of a worker whose grid is gone: [`Error::Unauthorized`].
/// Blocking (SQLite): call it from `spawn_blocking` in async code.
pub fn authenticate(db: &Db, bearer: &str) -> Result<Account, Error> {
    db::read(db, |conn| authenticate_in(conn, bearer))
}

/// [`authenticate`] on any connection (the PostgreSQL backend's too).
pub fn authenticate_in<C: SqlConn + ?Sized>(conn: &C, bearer: &str) -> Result<Account, Error> {
    let token = strip_scheme(bearer.trim());
    let hash = token_hash(token).ok_or(Error::Unauthorized)?;
    let Some(worker) = conn.value(
        "SELECT worker_id FROM tokens WHERE hash = ?1 AND revoked_at IS NULL",
        &[hash.as_slice().into()],
    )?
    else {
        return Err(Error::Unauthorized);
    };
    match account_of(conn, &worker.text()?)? {
        Some(account) if !account.scope.is_empty() => Ok(account),
        _ => Err(Error::Unauthorized),
    }
}

/// `token` without a leading `Bearer ` (any case), if present.
fn strip_scheme(value: &str) -> &str {
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    }
}

/// Extractor: the request's worker, from `Authorization: Bearer <token>`.
/// Rejects with [`Error::Unauthorized`] (401) when the header is missing or
/// the token is unknown or revoked.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Account);

/// The bearer token of an `Authorization` header, if there is one.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = bearer_token(&parts.headers)
            .ok_or(Error::Unauthorized)?
            .to_owned();
        let backend = state.backend.clone();
        let account = tokio::task::spawn_blocking(move || backend.authenticate(&token)).await??;
        Ok(Authenticated(account))
    }
}

//! Invitation links (`/r/{id}.{mac}`): a gridworker shares one per grid in
//! the grid's WeChat group, so that residents can file requests without an
//! account (ADR 21).
//!
//! A link is signed: `mac` is an HMAC-SHA256 (truncated to 18 bytes,
//! base64url) of the invite's id, grid and expiry under the server's invite
//! key, a random key kept in `server_meta` and shared by every instance of
//! a PostgreSQL deployment. The row in `invites` is read on every use, so a
//! link stops working the moment it is revoked or expires; since the link
//! can be computed again from the row, the dashboard can print it (and its
//! QR code) at any time.

use crate::error::Error;
use base64::Engine;
use gridwork_core::model::GridCode;
use gridwork_core::store::sql::SqlConn;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

/// Default lifetime of a new link, in days.
pub const DEFAULT_DAYS: u32 = 90;

/// Longest lifetime of a link, in days.
pub const MAX_DAYS: u32 = 366;

/// Bytes of the HMAC kept in a link.
const MAC_BYTES: usize = 18;

/// One invitation link, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Invite {
    /// Public id (12 hex digits), the first part of the link.
    pub id: String,
    /// The 4th-level grid whose requests it files.
    pub grid: String,
    /// Who made it (a worker id).
    pub created_by: String,
    /// When (ms since the epoch).
    pub created_at: i64,
    /// When it stops working (ms since the epoch).
    pub expires_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

impl Invite {
    /// True when the link can be used at `now`.
    pub fn usable_at(&self, now: i64) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// Why a link does not work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRefused {
    /// Not a link this server made (or mistyped).
    Unknown,
    /// Past its expiry.
    Expired,
    /// Revoked by staff.
    Revoked,
}

/// The server's invite key (created on first use; when two instances race,
/// the first one stored wins).
fn invite_key<C: SqlConn + ?Sized>(conn: &C) -> Result<Vec<u8>, Error> {
    const READ: &str = "SELECT value FROM server_meta WHERE key = 'invite_key'";
    if conn.value(READ, &[])?.is_none() {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| Error::Internal(e.to_string()))?;
        conn.exec(
            "INSERT INTO server_meta (key, value) VALUES ('invite_key', ?1) ON CONFLICT DO NOTHING",
            &[hex::encode(key).as_str().into()],
        )?;
    }
    let text = conn
        .value(READ, &[])?
        .ok_or_else(|| Error::Internal("the invite key is missing".into()))?
        .text()?;
    hex::decode(text).map_err(|_| Error::Internal("the invite key is not hex".into()))
}

/// The HMAC of `parts` under the invite key (each part followed by a 0
/// byte, so no two lists of parts sign the same bytes).
pub(crate) fn sign<C: SqlConn + ?Sized>(conn: &C, parts: &[&str]) -> Result<Vec<u8>, Error> {
    let key = invite_key(conn)?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
        .map_err(|e| Error::Internal(e.to_string()))?;
    for part in parts {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

/// The link token of `invite`: `{id}.{mac}`.
pub fn token_of<C: SqlConn + ?Sized>(conn: &C, invite: &Invite) -> Result<String, Error> {
    let mac = sign(
        conn,
        &[
            "invite",
            &invite.id,
            &invite.grid,
            &invite.expires_at.to_string(),
        ],
    )?;
    Ok(format!(
        "{}.{}",
        invite.id,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac[..MAC_BYTES])
    ))
}

/// Make a link for 4th-level `grid`, valid `days` days from `now`.
pub fn create_in<C: SqlConn + ?Sized>(
    conn: &C,
    grid: &GridCode,
    by: &str,
    days: u32,
    now: i64,
) -> Result<(Invite, String), Error> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Error::invalid(
            "days",
            format!("有效期应为 1 到 {MAX_DAYS} 天 / the lifetime must be 1 to {MAX_DAYS} days"),
        ));
    }
    let level = conn
        .value(
            "SELECT level FROM grids WHERE code = ?1",
            &[grid.as_str().into()],
        )?
        .ok_or_else(|| Error::not_found("grid", grid.as_str()))?
        .int()?;
    if level != i64::from(crate::accounts::MAX_LEVEL) {
        return Err(Error::invalid(
            "grid",
            "邀请链接属于一个四级网格 / an invitation link belongs to one 4th-level grid",
        ));
    }
    let mut raw = [0u8; 6];
    getrandom::fill(&mut raw).map_err(|e| Error::Internal(e.to_string()))?;
    let invite = Invite {
        id: hex::encode(raw),
        grid: grid.as_str().to_string(),
        created_by: by.to_string(),
        created_at: now,
        expires_at: now + i64::from(days) * 86_400_000,
        revoked_at: None,
    };
    conn.exec(
        "INSERT INTO invites (id, grid, created_by, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            invite.id.as_str().into(),
            invite.grid.as_str().into(),
            by.into(),
            now.into(),
            invite.expires_at.into(),
        ],
    )?;
    let token = token_of(conn, &invite)?;
    Ok((invite, token))
}

fn invite_from(row: Vec<gridwork_core::store::sql::SqlCell>) -> Result<Invite, Error> {
    let [id, grid, created_by, created_at, expires_at, revoked_at] =
        crate::sync::storage::cells(row)?;
    Ok(Invite {
        id: id.text()?,
        grid: grid.text()?,
        created_by: created_by.text()?,
        created_at: created_at.int()?,
        expires_at: expires_at.int()?,
        revoked_at: revoked_at.opt_int()?,
    })
}

const COLUMNS: &str = "id, grid, created_by, created_at, expires_at, revoked_at";

/// One invite by id.
pub fn get_in<C: SqlConn + ?Sized>(conn: &C, id: &str) -> Result<Option<Invite>, Error> {
    conn.row(
        &format!("SELECT {COLUMNS} FROM invites WHERE id = ?1"),
        &[id.into()],
    )?
    .map(invite_from)
    .transpose()
}

/// The invites of these grids, newest first.
pub fn list_in<C: SqlConn + ?Sized>(conn: &C, grids: &[GridCode]) -> Result<Vec<Invite>, Error> {
    let mut out = Vec::new();
    for grid in grids {
        for row in conn.rows(
            &format!("SELECT {COLUMNS} FROM invites WHERE grid = ?1"),
            &[grid.as_str().into()],
        )? {
            out.push(invite_from(row)?);
        }
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Every invite, newest first.
pub fn list_all_in<C: SqlConn + ?Sized>(conn: &C) -> Result<Vec<Invite>, Error> {
    conn.rows(
        &format!("SELECT {COLUMNS} FROM invites ORDER BY created_at DESC, id"),
        &[],
    )?
    .into_iter()
    .map(invite_from)
    .collect()
}

/// Revoke invite `id` (again: no change). False when there is none.
pub fn revoke_in<C: SqlConn + ?Sized>(conn: &C, id: &str, now: i64) -> Result<bool, Error> {
    if get_in(conn, id)?.is_none() {
        return Ok(false);
    }
    conn.exec(
        "UPDATE invites SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        &[id.into(), now.into()],
    )?;
    Ok(true)
}

/// The invite a link token names, if the link is genuine and usable at
/// `now`. The MAC is compared in constant time.
pub fn verify_in<C: SqlConn + ?Sized>(
    conn: &C,
    token: &str,
    now: i64,
) -> Result<Result<Invite, LinkRefused>, Error> {
    let Some((id, mac)) = token.split_once('.') else {
        return Ok(Err(LinkRefused::Unknown));
    };
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) || mac.len() > 64 {
        return Ok(Err(LinkRefused::Unknown));
    }
    let Some(invite) = get_in(conn, id)? else {
        return Ok(Err(LinkRefused::Unknown));
    };
    let expected = token_of(conn, &invite)?;
    use subtle::ConstantTimeEq;
    if !bool::from(expected.as_bytes().ct_eq(token.as_bytes())) {
        return Ok(Err(LinkRefused::Unknown));
    }
    if invite.revoked_at.is_some() {
        return Ok(Err(LinkRefused::Revoked));
    }
    if now >= invite.expires_at {
        return Ok(Err(LinkRefused::Expired));
    }
    Ok(Ok(invite))
}

//! Accounts: the four-level grid tree (town → community → 3rd level → a
//! gridworker's 4th-level grid), the workers on it, their device tokens
//! ([`tokens`]) and the staff's dashboard passwords ([`passwords`]). Everything lives in the server's tables (`grids`,
//! `workers`, `tokens`, see `sql/001_accounts.sql`; `staff_credentials`,
//! see `sql/005_staff_auth.sql`).
//!
//! A worker's *scope* is their grid plus every grid below it: a gridworker
//! sees their own 4th-level grid, community staff their community's subtree.

pub mod boundaries;
pub mod handlers;
pub mod passwords;
mod tokens;

#[cfg(test)]
mod tests;

pub use passwords::{
    add_worker_with_password, check_password, password_login_at, set_password, LoginRefused,
};
pub use tokens::{
    authenticate, authenticate_in, bearer_token, issue_token, issue_token_in, revoke_tokens,
    revoke_tokens_in, token_hash, Authenticated, IssuedToken,
};

use crate::db;
use crate::error::Error;
use gridwork_core::model::{GridCode, GridNode, Role, Worker, WorkerId};
use gridwork_core::store::sql::SqlConn;
use gridwork_core::store::Db;
use serde::Serialize;

/// Worker ids the server uses for its own changes: `resident` opens the
/// cases residents file through invitation links
/// ([`crate::intake::requests::RESIDENT_ACTOR`]); `server` is kept for the
/// server's own edits.
pub const RESERVED_WORKER_IDS: &[&str] = &[crate::intake::requests::RESIDENT_ACTOR, "server"];

/// The deepest grid level (a gridworker's grid).
pub const MAX_LEVEL: u8 = 4;

/// An authenticated worker, as the sync handler sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Account {
    /// The worker's id.
    pub worker_id: WorkerId,
    /// The worker's display name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The grid node they belong to.
    pub grid: GridCode,
    /// Their grid and all its descendants, the grid first, then by level and code.
    pub scope: Vec<GridCode>,
    /// What they read from the feed: `scope`, plus the config scopes
    /// (`config:<grid>`) of every grid in `scope` and of every ancestor, so
    /// templates published above them reach them.
    pub feed_scopes: Vec<GridCode>,
}

impl Account {
    /// True if `grid` is in this account's scope.
    pub fn covers(&self, grid: &GridCode) -> bool {
        self.scope.contains(grid)
    }
}

/// Check an office-assigned code or id: trimmed, 1–64 characters of ASCII
/// letters, digits, `-`, `_`, `.`.
fn check_code(field: &str, value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, "不能为空 / must not be empty"));
    }
    if value.len() > 64
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(Error::invalid(
            field,
            "只能包含字母、数字、-、_、.，最多 64 个字符 / only letters, digits, '-', '_', '.', at most 64 characters",
        ));
    }
    Ok(value.to_owned())
}

/// Check a display name: trimmed, 1–100 characters, no control characters.
fn check_name(field: &str, value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, "不能为空 / must not be empty"));
    }
    if value.chars().count() > 100 || value.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "最多 100 个字符，不含控制字符 / at most 100 characters, no control characters",
        ));
    }
    Ok(value.to_owned())
}

fn grid_level<C: SqlConn + ?Sized>(conn: &C, code: &str) -> Result<Option<u8>, Error> {
    match conn.value("SELECT level FROM grids WHERE code = ?1", &[code.into()])? {
        Some(cell) => Ok(Some(u8::try_from(cell.int()?).map_err(|_| {
            Error::Internal("a stored grid level is out of range".into())
        })?)),
        None => Ok(None),
    }
}

/// Add a grid node inside an open transaction; see [`add_grid`].
pub fn add_grid_in<C: SqlConn + ?Sized>(
    conn: &C,
    code: &str,
    name: &str,
    parent: Option<&str>,
) -> Result<GridNode, Error> {
    let code = check_code("code", code)?;
    let name = check_name("name", name)?;
    let parent = parent.map(|p| check_code("parent", p)).transpose()?;
    if grid_level(conn, &code)?.is_some() {
        return Err(Error::Conflict(format!(
            "网格编码已存在 / grid code already exists: {code}"
        )));
    }
    let level = match &parent {
        None => 1,
        Some(p) => {
            let parent_level = grid_level(conn, p)?.ok_or_else(|| Error::not_found("grid", p))?;
            if parent_level >= MAX_LEVEL {
                return Err(Error::invalid(
                    "parent",
                    "网格最多四级，第四级网格下不能再建网格 / the grid tree has at most four levels; a 4th-level grid cannot have children",
                ));
            }
            parent_level + 1
        }
    };
    conn.exec(
        "INSERT INTO grids (code, name, parent, level) VALUES (?1, ?2, ?3, ?4)",
        &[
            (&code).into(),
            (&name).into(),
            parent.as_deref().into(),
            i64::from(level).into(),
        ],
    )?;
    Ok(GridNode {
        code: GridCode(code),
        level,
        name,
        parent: parent.map(GridCode),
    })
}

/// Add a grid node. Without a parent it is a town (level 1); otherwise its
/// level is the parent's plus one, at most 4. Errors: invalid code or name,
/// an existing code (conflict), an unknown parent (not found), a 5th level.
pub fn add_grid(db: &Db, code: &str, name: &str, parent: Option<&str>) -> Result<GridNode, Error> {
    let node = db::write(db, |tx| {
        let node = add_grid_in(tx.conn(), code, name, parent)?;
        // A new grid follows the policy its ancestors set, from its first sync.
        crate::publish::refresh_policies_in(tx, &node.code, "admin")?;
        Ok(node)
    })?;
    tracing::info!(level = node.level, "grid added");
    Ok(node)
}

/// Every grid node, by level then code.
pub fn list_grids(db: &Db) -> Result<Vec<GridNode>, Error> {
    db::read(db, list_grids_in)
}

/// [`list_grids`] on any connection.
pub fn list_grids_in<C: SqlConn + ?Sized>(conn: &C) -> Result<Vec<GridNode>, Error> {
    conn.rows(
        "SELECT code, level, name, parent FROM grids ORDER BY level, code",
        &[],
    )?
    .into_iter()
    .map(|row| {
        let [code, level, name, parent] = crate::sync::storage::cells(row)?;
        Ok(GridNode {
            code: GridCode(code.text()?),
            level: u8::try_from(level.int()?)
                .map_err(|_| Error::Internal("a stored grid level is out of range".into()))?,
            name: name.text()?,
            parent: match parent {
                gridwork_core::store::sql::SqlCell::Null => None,
                cell => Some(GridCode(cell.text()?)),
            },
        })
    })
    .collect()
}

/// Add a worker inside an open transaction; see [`add_worker`].
pub fn add_worker_in<C: SqlConn + ?Sized>(
    conn: &C,
    id: &str,
    name: &str,
    role: Role,
    grid: &str,
) -> Result<Worker, Error> {
    let id = check_code("id", id)?;
    let name = check_name("name", name)?;
    let grid = check_code("grid", grid)?;
    if RESERVED_WORKER_IDS.contains(&id.as_str()) {
        return Err(Error::invalid(
            "id",
            "此编号为系统保留 / this id is reserved by the server",
        ));
    }
    if conn.exists("SELECT 1 FROM workers WHERE id = ?1", &[(&id).into()])? {
        return Err(Error::Conflict(format!(
            "工作人员编号已存在 / worker id already exists: {id}"
        )));
    }
    let level = grid_level(conn, &grid)?.ok_or_else(|| Error::not_found("grid", &grid))?;
    if role == Role::Gridworker && level != MAX_LEVEL {
        return Err(Error::invalid(
            "grid",
            "网格员须属于第四级网格 / a gridworker must belong to a 4th-level grid",
        ));
    }
    conn.exec(
        "INSERT INTO workers (id, name, role, grid) VALUES (?1, ?2, ?3, ?4)",
        &[
            (&id).into(),
            (&name).into(),
            role.code().into(),
            (&grid).into(),
        ],
    )?;
    Ok(Worker {
        id: WorkerId(id),
        name,
        role,
        grid: GridCode(grid),
    })
}

/// Add a worker on a grid node. A gridworker must be on a 4th-level grid;
/// staff and admins may be on any node. Errors: invalid id or name, an
/// existing id (conflict), an unknown grid (not found).
pub fn add_worker(db: &Db, id: &str, name: &str, role: Role, grid: &str) -> Result<Worker, Error> {
    let worker = db::write(db, |tx| add_worker_in(tx.conn(), id, name, role, grid))?;
    tracing::info!(role = role.code(), "worker added");
    Ok(worker)
}

/// Every worker, by id.
pub fn list_workers(db: &Db) -> Result<Vec<Worker>, Error> {
    db::read(db, list_workers_in)
}

/// [`list_workers`] on any connection.
pub fn list_workers_in<C: SqlConn + ?Sized>(conn: &C) -> Result<Vec<Worker>, Error> {
    conn.rows("SELECT id, name, role, grid FROM workers ORDER BY id", &[])?
        .into_iter()
        .map(worker_from_cells)
        .collect()
}

/// A worker from the cells `id, name, role, grid`.
fn worker_from_cells(row: Vec<gridwork_core::store::sql::SqlCell>) -> Result<Worker, Error> {
    let [id, name, role, grid] = crate::sync::storage::cells(row)?;
    Ok(Worker {
        id: WorkerId(id.text()?),
        name: name.text()?,
        role: Role::parse(&role.text()?)
            .map_err(|_| Error::Internal("a stored worker role is unknown".into()))?,
        grid: GridCode(grid.text()?),
    })
}

/// One worker by id, or `None`.
pub fn find_worker<C: SqlConn + ?Sized>(conn: &C, id: &str) -> Result<Option<Worker>, Error> {
    let Some(row) = conn.row(
        "SELECT id, name, role, grid FROM workers WHERE id = ?1",
        &[id.into()],
    )?
    else {
        return Ok(None);
    };
    worker_from_cells(row).map(Some)
}

/// The grid codes a query returns in its first column.
fn grid_codes<C: SqlConn + ?Sized>(
    conn: &C,
    sql: &str,
    grid: &str,
) -> Result<Vec<GridCode>, Error> {
    conn.rows(sql, &[grid.into()])?
        .into_iter()
        .map(|row| match row.into_iter().next() {
            Some(cell) => Ok(GridCode(cell.text()?)),
            None => Err(Error::Internal("a grid query returned no column".into())),
        })
        .collect()
}

/// `grid` and all its descendants: the grid first, then by level and code.
/// Empty if the grid does not exist.
pub fn scope_of<C: SqlConn + ?Sized>(conn: &C, grid: &str) -> Result<Vec<GridCode>, Error> {
    grid_codes(
        conn,
        "WITH RECURSIVE sub(code, level) AS (
             SELECT code, level FROM grids WHERE code = ?1
             UNION ALL
             SELECT g.code, g.level FROM grids g JOIN sub ON g.parent = sub.code
         )
         SELECT code FROM sub ORDER BY level, code",
        grid,
    )
}

/// The ancestors of `grid`, nearest first (not the grid itself).
pub fn ancestors_of<C: SqlConn + ?Sized>(conn: &C, grid: &str) -> Result<Vec<GridCode>, Error> {
    grid_codes(
        conn,
        "WITH RECURSIVE up(code, parent, depth) AS (
             SELECT code, parent, 0 FROM grids WHERE code = ?1
             UNION ALL
             SELECT g.code, g.parent, up.depth + 1 FROM grids g JOIN up ON g.code = up.parent
         )
         SELECT code FROM up WHERE depth > 0 ORDER BY depth",
        grid,
    )
}

/// The account of a worker (with their scope), or `None` if unknown.
pub fn account_of<C: SqlConn + ?Sized>(
    conn: &C,
    worker_id: &str,
) -> Result<Option<Account>, Error> {
    let Some(worker) = find_worker(conn, worker_id)? else {
        return Ok(None);
    };
    let scope = scope_of(conn, &worker.grid.0)?;
    let config = |g: &GridCode| GridCode(format!("{}{g}", crate::feed::CONFIG_SCOPE_PREFIX));
    let mut feed_scopes = scope.clone();
    feed_scopes.extend(scope.iter().map(config));
    feed_scopes.extend(ancestors_of(conn, &worker.grid.0)?.iter().map(config));
    Ok(Some(Account {
        worker_id: worker.id,
        name: worker.name,
        role: worker.role,
        grid: worker.grid,
        scope,
        feed_scopes,
    }))
}

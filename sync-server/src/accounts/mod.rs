//! Accounts: the four-level grid tree (town → community → 3rd level → a
//! gridworker's 4th-level grid), the workers on it, their device tokens
//! ([`tokens`]) and the staff's dashboard passwords ([`passwords`]). Everything lives in the server's tables (`grids`,
//! `workers`, `tokens`, see `sql/001_accounts.sql`; `staff_credentials`,
//! see `sql/005_staff_auth.sql`).
//!
//! A worker's *scope* is their grid plus every grid below it: a gridworker
//! sees their own 4th-level grid, community staff their community's subtree.

pub mod passwords;
mod tokens;

#[cfg(test)]
mod tests;

pub use passwords::{
    add_worker_with_password, check_password, password_login_at, set_password, LoginRefused,
};
pub use tokens::{
    authenticate, bearer_token, issue_token, issue_token_in, revoke_tokens, token_hash,
    Authenticated, IssuedToken,
};

use crate::db;
use crate::error::Error;
use gridwork_core::model::{GridCode, GridNode, Role, Worker, WorkerId};
use gridwork_core::store::Db;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

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

fn grid_level(conn: &Connection, code: &str) -> Result<Option<u8>, Error> {
    Ok(conn
        .query_row("SELECT level FROM grids WHERE code = ?1", [code], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Add a grid node inside an open transaction; see [`add_grid`].
pub fn add_grid_in(
    conn: &Connection,
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
    conn.execute(
        "INSERT INTO grids (code, name, parent, level) VALUES (?1, ?2, ?3, ?4)",
        params![code, name, parent, level],
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
    db::read(db, |conn| {
        let mut stmt =
            conn.prepare("SELECT code, level, name, parent FROM grids ORDER BY level, code")?;
        let rows = stmt.query_map([], |r| {
            Ok(GridNode {
                code: GridCode(r.get(0)?),
                level: r.get(1)?,
                name: r.get(2)?,
                parent: r.get::<_, Option<String>>(3)?.map(GridCode),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    })
}

/// Add a worker inside an open transaction; see [`add_worker`].
pub fn add_worker_in(
    conn: &Connection,
    id: &str,
    name: &str,
    role: Role,
    grid: &str,
) -> Result<Worker, Error> {
    let id = check_code("id", id)?;
    let name = check_name("name", name)?;
    let grid = check_code("grid", grid)?;
    let exists: bool = conn
        .query_row("SELECT 1 FROM workers WHERE id = ?1", [&id], |_| Ok(true))
        .optional()?
        .unwrap_or(false);
    if exists {
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
    conn.execute(
        "INSERT INTO workers (id, name, role, grid) VALUES (?1, ?2, ?3, ?4)",
        params![id, name, role.code(), grid],
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

fn parse_role(code: &str) -> rusqlite::Result<Role> {
    Role::parse(code).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn worker_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Worker> {
    Ok(Worker {
        id: WorkerId(r.get(0)?),
        name: r.get(1)?,
        role: parse_role(&r.get::<_, String>(2)?)?,
        grid: GridCode(r.get(3)?),
    })
}

/// Every worker, by id.
pub fn list_workers(db: &Db) -> Result<Vec<Worker>, Error> {
    db::read(db, |conn| {
        let mut stmt = conn.prepare("SELECT id, name, role, grid FROM workers ORDER BY id")?;
        let rows = stmt.query_map([], worker_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    })
}

/// One worker by id, or `None`.
pub fn find_worker(conn: &Connection, id: &str) -> Result<Option<Worker>, Error> {
    Ok(conn
        .prepare_cached("SELECT id, name, role, grid FROM workers WHERE id = ?1")?
        .query_row([id], worker_from_row)
        .optional()?)
}

/// `grid` and all its descendants: the grid first, then by level and code.
/// Empty if the grid does not exist.
pub fn scope_of(conn: &Connection, grid: &str) -> Result<Vec<GridCode>, Error> {
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE sub(code, level) AS (
             SELECT code, level FROM grids WHERE code = ?1
             UNION ALL
             SELECT g.code, g.level FROM grids g JOIN sub ON g.parent = sub.code
         )
         SELECT code FROM sub ORDER BY level, code",
    )?;
    let rows = stmt.query_map([grid], |r| Ok(GridCode(r.get(0)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The ancestors of `grid`, nearest first (not the grid itself).
pub fn ancestors_of(conn: &Connection, grid: &str) -> Result<Vec<GridCode>, Error> {
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE up(code, parent, depth) AS (
             SELECT code, parent, 0 FROM grids WHERE code = ?1
             UNION ALL
             SELECT g.code, g.parent, up.depth + 1 FROM grids g JOIN up ON g.code = up.parent
         )
         SELECT code FROM up WHERE depth > 0 ORDER BY depth",
    )?;
    let rows = stmt.query_map([grid], |r| Ok(GridCode(r.get(0)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The account of a worker (with their scope), or `None` if unknown.
pub fn account_of(conn: &Connection, worker_id: &str) -> Result<Option<Account>, Error> {
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

//! The directory of handlers (承办人/承办部门): the people and departments a
//! case is dispatched to (派遣), kept by `admin handler add|list|remove`
//! (`sql/008_handlers.sql`). A handler sits on a grid node and serves the
//! cases of that node's subtree: a community's handlers its grids, the
//! town's every grid — dispatching a case to a town handler is how a
//! community escalates it to the town. A removed handler is kept inactive,
//! so the cases dispatched to them still show their name.

use super::{ancestors_of, check_code, check_name, grid_level};
use crate::error::Error;
use gridwork_core::model::GridCode;
use gridwork_core::store::sql::{columns, SqlCell, SqlConn};
use serde::Serialize;

/// A person or a department of the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Handler {
    /// Id (what a dispatch records).
    pub id: String,
    /// Display name, e.g. 王建国 or 城管中队.
    pub name: String,
    /// `person` or `department`.
    pub kind: String,
    /// The grid node whose subtree they serve.
    pub grid: GridCode,
    /// A contact phone (a work number; may be empty).
    pub phone: String,
    /// False once removed (kept for the names of past dispatches).
    pub active: bool,
}

/// The kinds of handler.
pub const HANDLER_KINDS: &[&str] = &["person", "department"];

/// Add a handler (or bring a removed one back with new details).
pub fn add_handler_in<C: SqlConn + ?Sized>(
    conn: &C,
    id: &str,
    name: &str,
    kind: &str,
    grid: &str,
    phone: &str,
) -> Result<Handler, Error> {
    let id = check_code("id", id)?;
    let name = check_name("name", name)?;
    let kind = kind.trim();
    if !HANDLER_KINDS.contains(&kind) {
        return Err(Error::invalid(
            "kind",
            "应为 person（个人）或 department（部门）/ must be person or department",
        ));
    }
    let grid = check_code("grid", grid)?;
    if grid_level(conn, &grid)?.is_none() {
        return Err(Error::not_found("grid", grid));
    }
    let phone = phone.trim();
    if phone.chars().count() > 32 {
        return Err(Error::invalid("phone", "电话过长 / the phone is too long"));
    }
    if let Some(existing) = find_handler_in(conn, &id)? {
        if existing.active {
            return Err(Error::Conflict(format!(
                "承办人编号已存在 / handler id already exists: {id}"
            )));
        }
        conn.exec("DELETE FROM handlers WHERE id = ?1", &[id.as_str().into()])?;
    }
    conn.exec(
        "INSERT INTO handlers (id, name, kind, grid, phone, active) VALUES (?1, ?2, ?3, ?4, ?5, 1)",
        &[
            id.as_str().into(),
            name.as_str().into(),
            kind.into(),
            grid.as_str().into(),
            phone.into(),
        ],
    )?;
    tracing::info!(handler = %id, kind, grid = %grid, "handler added");
    find_handler_in(conn, &id)?.ok_or_else(|| Error::Internal("handler just added".into()))
}

/// Remove handler `id` from the directory (kept inactive).
pub fn remove_handler_in<C: SqlConn + ?Sized>(conn: &C, id: &str) -> Result<Handler, Error> {
    let id = id.trim();
    if conn.exec("UPDATE handlers SET active = 0 WHERE id = ?1", &[id.into()])? == 0 {
        return Err(Error::not_found("handler", id));
    }
    tracing::info!(handler = %id, "handler removed");
    find_handler_in(conn, id)?.ok_or_else(|| Error::not_found("handler", id))
}

/// Every handler, removed ones included, by grid then id.
pub fn list_handlers_in<C: SqlConn + ?Sized>(conn: &C) -> Result<Vec<Handler>, Error> {
    conn.rows(
        "SELECT id, name, kind, grid, phone, active FROM handlers ORDER BY grid, id",
        &[],
    )?
    .into_iter()
    .map(handler_from_cells)
    .collect()
}

/// Handler `id`, active or not.
pub fn find_handler_in<C: SqlConn + ?Sized>(conn: &C, id: &str) -> Result<Option<Handler>, Error> {
    conn.rows(
        "SELECT id, name, kind, grid, phone, active FROM handlers WHERE id = ?1",
        &[id.into()],
    )?
    .into_iter()
    .next()
    .map(handler_from_cells)
    .transpose()
}

/// The active handlers who may take a case of `grid`: those on the grid
/// itself or on one of its ancestors, nearest first (the community's
/// before the town's), then by id.
pub fn handlers_for_grid_in<C: SqlConn + ?Sized>(
    conn: &C,
    grid: &GridCode,
) -> Result<Vec<Handler>, Error> {
    let mut nodes = vec![grid.clone()];
    nodes.extend(ancestors_of(conn, grid.as_str())?);
    let all = list_handlers_in(conn)?;
    Ok(nodes
        .iter()
        .flat_map(|node| all.iter().filter(move |h| h.active && &h.grid == node))
        .cloned()
        .collect())
}

fn handler_from_cells(row: Vec<SqlCell>) -> Result<Handler, Error> {
    let [id, name, kind, grid, phone, active] = columns(row)?;
    Ok(Handler {
        id: id.text()?,
        name: name.text()?,
        kind: kind.text()?,
        grid: GridCode(grid.text()?),
        phone: phone.text()?,
        active: active.int()? != 0,
    })
}

//! Publishing what phones read but never write: form template versions and
//! grid policies (`admin template …`, `admin policy …`).
//!
//! Each publish is one write transaction on the server's core store: the
//! core writes the read-only doc (`template/<id>/<version>` or
//! `policy/<grid>`) with the server's own Automerge actor, and the doc gets a
//! feed entry in the same transaction, so the next sync of every device in
//! scope carries it. Templates are filed under `config:<grid>` (read by the
//! grid's whole subtree); a policy doc is written for each grid in the
//! subtree of the node that changed, holding that grid's effective policy.

use crate::accounts::{ancestors_of, scope_of};
use crate::error::Error;
use crate::feed::feed_touch;
use gridwork_core::api::{publish_template_in, server_meta, set_policy_in};
use gridwork_core::forms::xlsform::{import_xlsx_file, ImportOptions, SkippedRow};
use gridwork_core::forms::Template;
use gridwork_core::model::{GridCode, Timestamp};
use gridwork_core::schedule::{Policy, PolicyOverride};
use gridwork_core::store::{CommitMeta, Db, WriteTx};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::Path;

/// What `admin template publish` did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Published {
    /// Template id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// The grid whose subtree receives it.
    pub grid: String,
    /// The doc id phones receive.
    pub doc_id: String,
    /// False when the identical version was already published.
    pub changed: bool,
    /// XLSForm rows that were skipped (metadata, or unsupported with
    /// `--allow-unsupported`).
    pub skipped: Vec<SkippedRow>,
}

/// Read a template from `path`: `.xlsx` as an XLSForm, anything else as the
/// JSON format of `docs/forms.md`.
pub fn read_template_file(
    path: &Path,
    allow_unsupported: bool,
) -> Result<(Template, Vec<SkippedRow>), Error> {
    let is_xlsx = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if is_xlsx {
        let import = import_xlsx_file(
            path,
            &ImportOptions {
                allow_unsupported,
                ..ImportOptions::default()
            },
        )?;
        Ok((import.template, import.skipped))
    } else {
        let text = std::fs::read_to_string(path)?;
        Ok((Template::from_json(&text)?, Vec::new()))
    }
}

/// The server's own Automerge actor (hex), created on first use.
fn server_actor(conn: &Connection) -> Result<String, Error> {
    let found: Option<String> = conn
        .query_row(
            "SELECT value FROM server_meta WHERE key = 'actor'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(actor) = found {
        return Ok(actor);
    }
    let actor = hex::encode(automerge::ActorId::random().to_bytes());
    conn.execute(
        "INSERT INTO server_meta (key, value) VALUES ('actor', ?1)",
        [&actor],
    )?;
    Ok(actor)
}

/// Commit metadata for a server-side change attributed to `by` (a staff or
/// admin id), stamped now, made with that person's own actor on this server:
/// derived from the server's actor and `by` (Automerge pairs each actor with
/// one author), and bound to them in `actors` so no device can push changes
/// under it.
pub(crate) fn staff_meta(tx: &WriteTx<'_>, by: &str) -> Result<CommitMeta, Error> {
    use sha2::{Digest, Sha256};
    let server = server_actor(tx.conn())?;
    let digest = Sha256::new()
        .chain_update(server.as_bytes())
        .chain_update([0u8])
        .chain_update(by.as_bytes())
        .finalize();
    let actor = &digest[..16];
    let now = Timestamp(crate::db::now_ms());
    tx.conn().execute(
        "INSERT OR IGNORE INTO actors (actor, worker_id, device, bound_at) VALUES (?1, ?2, 'server', ?3)",
        rusqlite::params![actor, by, now.0],
    )?;
    Ok(server_meta(&hex::encode(actor), by, now)?)
}

/// `grid` if given (it must exist), else the only top-level grid.
fn target_grid(conn: &Connection, grid: Option<&str>) -> Result<GridCode, Error> {
    if let Some(grid) = grid {
        let grid = grid.trim();
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM grids WHERE code = ?1)",
            [grid],
            |r| r.get(0),
        )?;
        return if exists {
            Ok(GridCode(grid.to_string()))
        } else {
            Err(Error::NotFound {
                kind: "grid",
                id: grid.to_string(),
            })
        };
    }
    let roots: Vec<String> = conn
        .prepare("SELECT code FROM grids WHERE parent IS NULL ORDER BY code")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    match roots.as_slice() {
        [only] => Ok(GridCode(only.clone())),
        _ => Err(Error::invalid(
            "grid",
            "有多个或没有顶级网格，请用 --grid 指定 / several or no top-level grids: name one with --grid",
        )),
    }
}

/// Publish a template version to `grid`'s subtree (default: the town).
pub fn publish_template(
    db: &Db,
    template: &Template,
    skipped: Vec<SkippedRow>,
    grid: Option<&str>,
    by: &str,
) -> Result<Published, Error> {
    crate::db::write(db, |tx| {
        let grid = target_grid(tx.conn(), grid)?;
        let meta = staff_meta(tx, by)?;
        let (doc_id, changed) = publish_template_in(tx, template, &grid, &meta)?;
        if changed {
            feed_touch(tx.conn(), doc_id.as_str(), grid.as_str())?;
        }
        tracing::info!(template = %template.id, version = template.version, %grid, changed, "template published");
        Ok(Published {
            id: template.id.clone(),
            version: template.version,
            grid: grid.0,
            doc_id: doc_id.0,
            changed,
            skipped,
        })
    })
}

/// One published template version, as `admin template list` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PublishedSummary {
    /// Template id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// `visit_checklist`, `duty` or `hazard`.
    pub category: String,
    /// zh-CN title.
    pub title_zh: String,
    /// The grid whose subtree receives it.
    pub grid: String,
    /// Who published it.
    pub published_by: String,
    /// When (ms).
    pub published_at: i64,
}

/// Every published template version, by id and version.
pub fn list_templates(db: &Db) -> Result<Vec<PublishedSummary>, Error> {
    crate::db::read(db, |conn| {
        let mut stmt = conn.prepare(
            "SELECT id, version, category, title_zh, grid, published_by, published_at
             FROM templates ORDER BY id, version",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PublishedSummary {
                id: r.get(0)?,
                version: r.get(1)?,
                category: r.get(2)?,
                title_zh: r.get(3)?,
                grid: r.get(4)?,
                published_by: r.get(5)?,
                published_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    })
}

/// A grid's own policy settings and the policy in effect there.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyView {
    /// The grid.
    pub grid: String,
    /// The keys set on this grid node itself.
    pub own: PolicyOverride,
    /// The folded policy phones in this grid follow.
    pub effective: Policy,
    /// Grids whose policy doc changed (on `set`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub republished: Vec<String>,
}

fn own_override(conn: &Connection, grid: &str) -> Result<Option<PolicyOverride>, Error> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM grid_policies WHERE grid = ?1",
            [grid],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

/// The effective policy of `grid` and whether any node on its chain sets one.
fn effective(conn: &Connection, grid: &GridCode) -> Result<(Policy, bool), Error> {
    let mut chain = ancestors_of(conn, grid.as_str())?;
    chain.reverse();
    chain.push(grid.clone());
    let mut policy = Policy::default();
    let mut any = false;
    for node in &chain {
        if let Some(change) = own_override(conn, node.as_str())? {
            policy = policy.with(&change);
            any = true;
        }
    }
    Ok((policy, any))
}

/// Publish the effective policy of every grid in `root`'s subtree that has
/// one (or had one). Returns the grids whose doc changed.
pub fn refresh_policies_in(
    tx: &mut WriteTx<'_>,
    root: &GridCode,
    by: &str,
) -> Result<Vec<String>, Error> {
    let meta = staff_meta(tx, by)?;
    let mut changed = Vec::new();
    for grid in scope_of(tx.conn(), root.as_str())? {
        let (policy, any) = effective(tx.conn(), &grid)?;
        let has_doc: bool = tx.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM policies WHERE grid = ?1)",
            [grid.as_str()],
            |r| r.get(0),
        )?;
        if !any && !has_doc {
            continue;
        }
        let (doc_id, doc_changed) = set_policy_in(tx, &grid, &policy, &meta)?;
        if doc_changed {
            feed_touch(tx.conn(), doc_id.as_str(), grid.as_str())?;
            changed.push(grid.0);
        }
    }
    Ok(changed)
}

/// Set (merge into) or replace `grid`'s own policy settings and republish
/// the effective policies of its subtree.
pub fn set_policy(
    db: &Db,
    grid: &str,
    change: &PolicyOverride,
    replace: bool,
    by: &str,
) -> Result<PolicyView, Error> {
    change.check()?;
    crate::db::write(db, |tx| {
        let grid = target_grid(tx.conn(), Some(grid))?;
        let own = match (replace, own_override(tx.conn(), grid.as_str())?) {
            (false, Some(existing)) => existing.merged(change),
            _ => change.clone(),
        };
        tx.conn().execute(
            "INSERT INTO grid_policies (grid, body, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(grid) DO UPDATE SET body = excluded.body, updated_by = excluded.updated_by,
                 updated_at = excluded.updated_at",
            params![
                grid.as_str(),
                serde_json::to_string(&own).unwrap_or_default(),
                by,
                crate::db::now_ms()
            ],
        )?;
        let republished = refresh_policies_in(tx, &grid, by)?;
        let (effective, _) = effective(tx.conn(), &grid)?;
        Ok(PolicyView {
            grid: grid.0,
            own,
            effective,
            republished,
        })
    })
}

/// `grid`'s own settings and effective policy.
pub fn show_policy(db: &Db, grid: &str) -> Result<PolicyView, Error> {
    crate::db::read(db, |conn| {
        let grid = target_grid(conn, Some(grid))?;
        Ok(PolicyView {
            own: own_override(conn, grid.as_str())?.unwrap_or_default(),
            effective: effective(conn, &grid)?.0,
            grid: grid.0,
            republished: Vec::new(),
        })
    })
}

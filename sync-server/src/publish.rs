//! Publishing what phones read but never write: form template versions and
//! grid policies (`admin template …`, `admin policy …`).
//!
//! Each publish is one write transaction (SQLite's core store or PostgreSQL,
//! through [`Publisher`]): the core writes the read-only doc (`template/<id>/<version>` or
//! `policy/<grid>`) with the server's own Automerge actor, and the doc gets a
//! feed entry in the same transaction, so the next sync of every device in
//! scope carries it. Templates are filed under `config:<grid>` (read by the
//! grid's whole subtree); a policy doc is written for each grid in the
//! subtree of the node that changed, holding that grid's effective policy.

use crate::accounts::{ancestors_of, scope_of};
use crate::error::Error;
use crate::feed::feed_touch;
use gridwork_core::api::{publish_template_in, server_meta, set_policy_in};
use gridwork_core::docs::DocId;
use gridwork_core::forms::xlsform::{import_xlsx_file, ImportOptions, SkippedRow};
use gridwork_core::forms::Template;
use gridwork_core::model::{GridCode, Timestamp};
use gridwork_core::schedule::{Policy, PolicyOverride};
use gridwork_core::store::persist::DocEditor;
use gridwork_core::store::sql::SqlConn;
use gridwork_core::store::{CommitMeta, Db, WriteTx};
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

/// The server's own Automerge actor (hex), created on first use (when two
/// instances race, the first one stored wins).
fn server_actor<C: SqlConn + ?Sized>(conn: &C) -> Result<String, Error> {
    const READ: &str = "SELECT value FROM server_meta WHERE key = 'actor'";
    if let Some(actor) = conn.value(READ, &[])? {
        return Ok(actor.text()?);
    }
    let actor = hex::encode(automerge::ActorId::random().to_bytes());
    conn.exec(
        "INSERT INTO server_meta (key, value) VALUES ('actor', ?1) ON CONFLICT DO NOTHING",
        &[(&actor).into()],
    )?;
    match conn.value(READ, &[])? {
        Some(stored) => Ok(stored.text()?),
        None => Err(Error::Internal("the server actor was not stored".into())),
    }
}

/// Commit metadata for a server-side change attributed to `by` (a staff or
/// admin id), stamped now, made with that person's own actor on this server:
/// derived from the server's actor and `by` (Automerge pairs each actor with
/// one author), and bound to them in `actors` so no device can push changes
/// under it.
pub(crate) fn staff_meta_in<C: SqlConn + ?Sized>(conn: &C, by: &str) -> Result<CommitMeta, Error> {
    use sha2::{Digest, Sha256};
    let server = server_actor(conn)?;
    let digest = Sha256::new()
        .chain_update(server.as_bytes())
        .chain_update([0u8])
        .chain_update(by.as_bytes())
        .finalize();
    let actor = &digest[..16];
    let now = Timestamp(crate::db::now_ms());
    conn.exec(
        "INSERT INTO actors (actor, worker_id, device, bound_at) VALUES (?1, ?2, 'server', ?3)
         ON CONFLICT DO NOTHING",
        &[actor.into(), by.into(), now.0.into()],
    )?;
    Ok(server_meta(&hex::encode(actor), by, now)?)
}

/// What publishes: a transaction that edits docs and files them on the
/// feed — SQLite's `WriteTx`, PostgreSQL's sync transaction.
pub trait Publisher: DocEditor {
    /// File a changed doc on the feed (it reaches the phones in scope).
    fn touch_feed(&mut self, doc: &DocId, scope: &GridCode) -> Result<(), Error>;
}

impl Publisher for WriteTx<'_> {
    fn touch_feed(&mut self, doc: &DocId, scope: &GridCode) -> Result<(), Error> {
        feed_touch(self.conn(), doc.as_str(), scope.as_str())?;
        Ok(())
    }
}

impl Publisher for crate::pg::sync_tx::PgSyncTx<'_, '_> {
    fn touch_feed(&mut self, doc: &DocId, scope: &GridCode) -> Result<(), Error> {
        crate::sync::storage::SyncTx::feed_touch(self, doc, scope)?;
        Ok(())
    }
}

/// `grid` if given (it must exist), else the only top-level grid.
fn target_grid<C: SqlConn + ?Sized>(conn: &C, grid: Option<&str>) -> Result<GridCode, Error> {
    if let Some(grid) = grid {
        let grid = grid.trim();
        return if conn.exists("SELECT 1 FROM grids WHERE code = ?1", &[grid.into()])? {
            Ok(GridCode(grid.to_string()))
        } else {
            Err(Error::NotFound {
                kind: "grid",
                id: grid.to_string(),
            })
        };
    }
    let roots = conn.rows(
        "SELECT code FROM grids WHERE parent IS NULL ORDER BY code",
        &[],
    )?;
    match roots.as_slice() {
        [only] => Ok(GridCode(only[0].clone().text()?)),
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
        publish_template_with(tx, template, skipped.clone(), grid, by)
    })
}

/// [`publish_template`] inside an open transaction of either backend.
pub fn publish_template_with<P: Publisher + ?Sized>(
    tx: &mut P,
    template: &Template,
    skipped: Vec<SkippedRow>,
    grid: Option<&str>,
    by: &str,
) -> Result<Published, Error> {
    let grid = target_grid(tx.sql(), grid)?;
    let meta = staff_meta_in(tx.sql(), by)?;
    let (doc_id, changed) = publish_template_in(tx, template, &grid, &meta)?;
    if changed {
        tx.touch_feed(&doc_id, &grid)?;
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
    crate::db::read(db, list_templates_in)
}

/// [`list_templates`] on any connection.
pub fn list_templates_in<C: SqlConn + ?Sized>(conn: &C) -> Result<Vec<PublishedSummary>, Error> {
    conn.rows(
        "SELECT id, version, category, title_zh, grid, published_by, published_at
         FROM templates ORDER BY id, version",
        &[],
    )?
    .into_iter()
    .map(|row| {
        let [id, version, category, title_zh, grid, published_by, published_at] =
            crate::sync::storage::cells(row)?;
        Ok(PublishedSummary {
            id: id.text()?,
            version: u32::try_from(version.int()?).unwrap_or(u32::MAX),
            category: category.text()?,
            title_zh: title_zh.text()?,
            grid: grid.text()?,
            published_by: published_by.text()?,
            published_at: published_at.int()?,
        })
    })
    .collect()
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

fn own_override<C: SqlConn + ?Sized>(
    conn: &C,
    grid: &str,
) -> Result<Option<PolicyOverride>, Error> {
    let body = match conn.value(
        "SELECT body FROM grid_policies WHERE grid = ?1",
        &[grid.into()],
    )? {
        Some(cell) => Some(cell.text()?),
        None => None,
    };
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

/// The effective policy of `grid` and whether any node on its chain sets one.
fn effective<C: SqlConn + ?Sized>(conn: &C, grid: &GridCode) -> Result<(Policy, bool), Error> {
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
pub fn refresh_policies_in<P: Publisher + ?Sized>(
    tx: &mut P,
    root: &GridCode,
    by: &str,
) -> Result<Vec<String>, Error> {
    let meta = staff_meta_in(tx.sql(), by)?;
    let mut changed = Vec::new();
    for grid in scope_of(tx.sql(), root.as_str())? {
        let (policy, any) = effective(tx.sql(), &grid)?;
        let has_doc = tx.sql().exists(
            "SELECT 1 FROM policies WHERE grid = ?1",
            &[grid.as_str().into()],
        )?;
        if !any && !has_doc {
            continue;
        }
        let (doc_id, doc_changed) = set_policy_in(tx, &grid, &policy, &meta)?;
        if doc_changed {
            tx.touch_feed(&doc_id, &grid)?;
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
    crate::db::write(db, |tx| set_policy_with(tx, grid, change, replace, by))
}

/// [`set_policy`] inside an open transaction of either backend.
pub fn set_policy_with<P: Publisher + ?Sized>(
    tx: &mut P,
    grid: &str,
    change: &PolicyOverride,
    replace: bool,
    by: &str,
) -> Result<PolicyView, Error> {
    change.check()?;
    let grid = target_grid(tx.sql(), Some(grid))?;
    let own = match (replace, own_override(tx.sql(), grid.as_str())?) {
        (false, Some(existing)) => existing.merged(change),
        _ => change.clone(),
    };
    tx.sql().exec(
        "INSERT INTO grid_policies (grid, body, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(grid) DO UPDATE SET body = excluded.body, updated_by = excluded.updated_by,
             updated_at = excluded.updated_at",
        &[
            grid.as_str().into(),
            serde_json::to_string(&own)
                .unwrap_or_default()
                .as_str()
                .into(),
            by.into(),
            crate::db::now_ms().into(),
        ],
    )?;
    let republished = refresh_policies_in(tx, &grid, by)?;
    let (effective, _) = effective(tx.sql(), &grid)?;
    Ok(PolicyView {
        grid: grid.0,
        own,
        effective,
        republished,
    })
}

/// `grid`'s own settings and effective policy.
pub fn show_policy(db: &Db, grid: &str) -> Result<PolicyView, Error> {
    crate::db::read(db, |conn| show_policy_in(conn, grid))
}

/// [`show_policy`] on any connection.
pub fn show_policy_in<C: SqlConn + ?Sized>(conn: &C, grid: &str) -> Result<PolicyView, Error> {
    let grid = target_grid(conn, Some(grid))?;
    Ok(PolicyView {
        own: own_override(conn, grid.as_str())?.unwrap_or_default(),
        effective: effective(conn, &grid)?.0,
        grid: grid.0,
        republished: Vec::new(),
    })
}

//! Templates and policies on the phone: resolving a template id and version
//! against the published versions (read-only docs from the server) and the
//! built-in pack, and the effective schedule policy of a grid. Also the two
//! write functions the server's admin commands call to publish them.

use super::Store;
use crate::docs::config::{GridPolicy, PolicyDoc, PublishedTemplate, TemplateDoc};
use crate::docs::{DocId, DocKind};
use crate::forms::{self, Template, TemplateCategory};
use crate::model::{GridCode, WorkerId};
use crate::schedule::Policy;
use crate::store::persist::DocEditor;
use crate::store::sql::SqlConn;
use crate::store::CommitMeta;
use crate::{Error, Result};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One template version available on this device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateInfo {
    /// Template id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// What it is for.
    pub category: TemplateCategory,
    /// zh-CN title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// `builtin` (shipped in the app) or `published` (synced from the server).
    pub source: String,
    /// The grid it was published to (empty for built-in ones).
    pub grid: String,
    /// True for the newest version of its id: the one offered for new records.
    pub newest: bool,
}

/// A template version: the built-in one by reference, a published one owned.
pub(crate) type TemplateRef = Cow<'static, Template>;

/// The newest published version of `id` stored here, if any.
fn newest_published_version<C: SqlConn + ?Sized>(conn: &C, id: &str) -> Result<Option<u32>> {
    match conn.value(
        "SELECT max(version) FROM templates WHERE id = ?1",
        &[id.into()],
    )? {
        Some(cell) => Ok(cell
            .opt_int()?
            .map(|v| u32::try_from(v).unwrap_or(u32::MAX))),
        None => Ok(None),
    }
}

fn published<C: SqlConn + ?Sized>(conn: &C, id: &str, version: u32) -> Result<Option<Template>> {
    let body = match conn.value(
        "SELECT body FROM templates WHERE id = ?1 AND version = ?2",
        &[id.into(), version.into()],
    )? {
        Some(cell) => Some(cell.text()?),
        None => None,
    };
    body.map(|b| {
        serde_json::from_str(&b).map_err(|e| Error::CorruptDocument {
            doc_id: DocId::template(id, version).to_string(),
            reason: e.to_string(),
        })
    })
    .transpose()
}

/// Resolve `id` at `version` (`None` = the newest known here, published or
/// built-in).
pub(crate) fn resolve_template<C: SqlConn + ?Sized>(
    conn: &C,
    id: &str,
    version: Option<u32>,
) -> Result<TemplateRef> {
    let builtin_newest = forms::find_ref(id, None).map(|t| t.version);
    let version = match version {
        Some(v) => v,
        None => match (newest_published_version(conn, id)?, builtin_newest) {
            (Some(p), Some(b)) => p.max(b),
            (Some(p), None) => p,
            (None, Some(b)) => b,
            (None, None) => return Err(Error::not_found("template", id)),
        },
    };
    if let Some(t) = forms::find_ref(id, Some(version)) {
        return Ok(Cow::Borrowed(t));
    }
    published(conn, id, version)?
        .map(Cow::Owned)
        .ok_or_else(|| Error::not_found("template", format!("{id} v{version}")))
}

impl Store {
    /// Every template version usable here (built-in and published), by id
    /// then version; `newest` marks the version offered for new records.
    pub fn templates(&self) -> Result<Vec<TemplateInfo>> {
        let mut out: Vec<TemplateInfo> = forms::builtin()
            .iter()
            .map(|t| TemplateInfo {
                id: t.id.clone(),
                version: t.version,
                category: t.category,
                title_zh: t.title_zh.clone(),
                title_en: t.title_en.clone(),
                source: "builtin".into(),
                grid: String::new(),
                newest: false,
            })
            .collect();
        self.db.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, version, category, title_zh, title_en, grid FROM templates",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(TemplateInfo {
                    id: r.get(0)?,
                    version: r.get(1)?,
                    category: TemplateCategory::parse(&r.get::<_, String>(2)?)
                        .unwrap_or(TemplateCategory::Duty),
                    title_zh: r.get(3)?,
                    title_en: r.get(4)?,
                    source: "published".into(),
                    grid: r.get(5)?,
                    newest: false,
                })
            })?;
            for row in rows {
                let row = row?;
                if !out
                    .iter()
                    .any(|t| t.id == row.id && t.version == row.version)
                {
                    out.push(row);
                }
            }
            Ok(())
        })?;
        out.sort_by(|a, b| (&a.id, a.version).cmp(&(&b.id, b.version)));
        for i in 0..out.len() {
            out[i].newest = out.get(i + 1).is_none_or(|next| next.id != out[i].id);
        }
        Ok(out)
    }

    /// A template at `version`, or the newest version when `None`.
    pub fn template(&self, id: &str, version: Option<u32>) -> Result<Template> {
        self.db
            .read(|conn| resolve_template(conn, id, version).map(Cow::into_owned))
    }

    /// The effective schedule policy of this device's grid.
    pub fn policy(&self) -> Result<Policy> {
        let grid = self.device()?.grid;
        self.policy_of(&grid)
    }

    /// The effective schedule policy of `grid` (the defaults when the server
    /// has published none for it).
    pub fn policy_of(&self, grid: &GridCode) -> Result<Policy> {
        self.db.read(|conn| policy_in(conn, grid))
    }
}

/// The effective policy of `grid` as stored, else the defaults.
pub(crate) fn policy_in(conn: &Connection, grid: &GridCode) -> Result<Policy> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM policies WHERE grid = ?1")?
        .query_row([grid.as_str()], |r| r.get(0))
        .optional()?;
    Ok(body
        .and_then(|b| serde_json::from_str(&b).ok())
        .unwrap_or_default())
}

/// Publish `template` to `grid`'s subtree as a read-only doc (server side).
/// The template must pass [`Template::check`] and its version must be above
/// every version known for its id (built-in ones included). Publishing the
/// identical version again is a no-op; different content under a published
/// version is refused. Returns the doc id and whether anything changed.
pub fn publish_template_in<E: DocEditor + ?Sized>(
    tx: &mut E,
    template: &Template,
    grid: &GridCode,
    meta: &CommitMeta,
) -> Result<(DocId, bool)> {
    template.check()?;
    let doc_id = DocId::template(&template.id, template.version);
    if let Some(existing) = published(tx.sql(), &template.id, template.version)? {
        if &existing == template {
            return Ok((doc_id, false));
        }
        return Err(Error::invalid(
            "template.version",
            format!(
                "{} v{} 已发布且内容不同，请使用新版本号 / already published with different content: use a new version",
                template.id, template.version
            ),
        ));
    }
    let newest = resolve_template(tx.sql(), &template.id, None)
        .map(|t| t.version)
        .ok();
    if let Some(newest) = newest.filter(|n| template.version <= *n) {
        return Err(Error::invalid(
            "template.version",
            format!(
                "版本须大于已有的 v{newest} / the version must be above the newest known, v{newest}"
            ),
        ));
    }
    let doc = TemplateDoc::from_model(&PublishedTemplate {
        template: template.clone(),
        grid: grid.clone(),
        published_by: meta.worker.clone(),
        published_at: meta.at,
    });
    tx.edit_doc(&doc_id, DocKind::Template, grid, meta, |am| {
        Ok(autosurgeon::reconcile(am, &doc)?)
    })?;
    Ok((doc_id, true))
}

/// Store `policy` as `grid`'s effective policy (server side). Returns the doc
/// id and whether it changed (setting the same policy again is a no-op).
pub fn set_policy_in<E: DocEditor + ?Sized>(
    tx: &mut E,
    grid: &GridCode,
    policy: &Policy,
    meta: &CommitMeta,
) -> Result<(DocId, bool)> {
    let doc_id = DocId::policy(grid);
    let stored = match tx.sql().value(
        "SELECT body FROM policies WHERE grid = ?1",
        &[grid.as_str().into()],
    )? {
        Some(cell) => Some(cell.text()?),
        None => None,
    };
    if stored
        .and_then(|b| serde_json::from_str::<Policy>(&b).ok())
        .is_some_and(|p| &p == policy)
    {
        return Ok((doc_id, false));
    }
    let doc = PolicyDoc::from_model(&GridPolicy {
        grid: grid.clone(),
        policy: policy.clone(),
        updated_by: meta.worker.clone(),
        updated_at: meta.at,
    });
    tx.edit_doc(&doc_id, DocKind::Policy, grid, meta, |am| {
        Ok(autosurgeon::reconcile(am, &doc)?)
    })?;
    Ok((doc_id, true))
}

/// Commit metadata for a server-side change by `worker` at `at`, made with
/// the server's own Automerge actor (`actor_hex`).
pub fn server_meta(
    actor_hex: &str,
    worker: &str,
    at: crate::model::Timestamp,
) -> Result<CommitMeta> {
    let bytes = hex::decode(actor_hex).map_err(|_| Error::invalid("actor", "not hex"))?;
    Ok(CommitMeta {
        actor: automerge::ActorId::from(bytes),
        worker: WorkerId(worker.to_string()),
        at,
    })
}

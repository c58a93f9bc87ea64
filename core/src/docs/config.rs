//! Configuration documents that staff publish on the server and phones only
//! read: form templates (`template/<id>/<version>`) and the effective
//! schedule policy of a grid (`policy/<grid>`).
//!
//! Both hold their payload as one JSON text: a template version is immutable
//! once published and a policy is replaced whole by the server, so there is
//! nothing to merge field by field. The server rejects any change to these
//! docs pushed by a phone (`RejectReason::ReadOnly`).

use crate::forms::Template;
use crate::model::{GridCode, Timestamp, WorkerId};
use crate::schedule::Policy;
use autosurgeon::{Hydrate, HydrateError, Reconcile};
use serde::{Deserialize, Serialize};

/// Root of a template doc.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Default)]
pub struct TemplateDoc {
    /// Always `template`.
    pub kind: String,
    /// The grid it was published to (it applies to that grid's subtree).
    pub grid: String,
    /// Template id.
    pub template_id: String,
    /// Template version.
    pub version: u32,
    /// The template as JSON (the format of `docs/forms.md`).
    pub body: String,
    /// Who published it.
    pub published_by: String,
    /// When (ms).
    pub published_at: i64,
}

/// A template as published, with where and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublishedTemplate {
    /// The template.
    pub template: Template,
    /// The grid it was published to.
    pub grid: GridCode,
    /// Who published it.
    pub published_by: WorkerId,
    /// When.
    pub published_at: Timestamp,
}

impl TemplateDoc {
    /// From a published template.
    pub fn from_model(p: &PublishedTemplate) -> TemplateDoc {
        TemplateDoc {
            kind: super::DocKind::Template.code().into(),
            grid: p.grid.0.clone(),
            template_id: p.template.id.clone(),
            version: p.template.version,
            body: serde_json::to_string(&p.template).unwrap_or_default(),
            published_by: p.published_by.0.clone(),
            published_at: p.published_at.0,
        }
    }
}

/// Materialise a template doc; the body must be a valid template whose id
/// and version match the doc's.
pub fn materialize_template(doc: &automerge::Automerge) -> Result<PublishedTemplate, HydrateError> {
    let d: TemplateDoc = autosurgeon::hydrate(doc)?;
    let template = Template::from_synced_json(&d.body)
        .map_err(|e| HydrateError::unexpected("a valid template", e.to_string()))?;
    if template.id != d.template_id || template.version != d.version {
        return Err(HydrateError::unexpected(
            "a template matching the doc's id and version",
            format!("{} v{}", template.id, template.version),
        ));
    }
    Ok(PublishedTemplate {
        template,
        grid: GridCode(d.grid),
        published_by: WorkerId(d.published_by),
        published_at: Timestamp(d.published_at),
    })
}

/// Root of a policy doc.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Default)]
pub struct PolicyDoc {
    /// Always `policy`.
    pub kind: String,
    /// The grid it applies to.
    pub grid: String,
    /// The effective [`Policy`] as JSON.
    pub body: String,
    /// Who changed it last.
    pub updated_by: String,
    /// When (ms).
    pub updated_at: i64,
}

/// The effective policy of one grid, with who set it and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridPolicy {
    /// The grid.
    pub grid: GridCode,
    /// The rules.
    pub policy: Policy,
    /// Who changed it last.
    pub updated_by: WorkerId,
    /// When.
    pub updated_at: Timestamp,
}

impl PolicyDoc {
    /// From a grid policy.
    pub fn from_model(p: &GridPolicy) -> PolicyDoc {
        PolicyDoc {
            kind: super::DocKind::Policy.code().into(),
            grid: p.grid.0.clone(),
            body: serde_json::to_string(&p.policy).unwrap_or_default(),
            updated_by: p.updated_by.0.clone(),
            updated_at: p.updated_at.0,
        }
    }
}

/// Materialise a policy doc.
pub fn materialize_policy(doc: &automerge::Automerge) -> Result<GridPolicy, HydrateError> {
    let d: PolicyDoc = autosurgeon::hydrate(doc)?;
    let policy = Policy::from_synced_json(&d.body)
        .map_err(|e| HydrateError::unexpected("a valid policy", e.to_string()))?;
    Ok(GridPolicy {
        grid: GridCode(d.grid),
        policy,
        updated_by: WorkerId(d.updated_by),
        updated_at: Timestamp(d.updated_at),
    })
}

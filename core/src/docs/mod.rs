//! Replicated documents: each record kind and its Automerge document.
//!
//! Granularity (DESIGN §2): one household profile doc (household + residents);
//! one visit-log doc per household per (Asia/Shanghai) year; one doc per hazard,
//! case and twelve-duties form record; one work-log doc per worker per month.
//!
//! Materialisation is a pure function from a document to typed rows
//! ([`DocRows`]) — no SQL here. The phone's store and the server's store only
//! write those rows, so local edits, merges on the phone and merges on the
//! server all refresh read models through the same code.
//!
//! Docs that several devices may create independently (visit logs, work logs)
//! keep their records as keys of the root map, never inside a container
//! created at init: two devices creating the same container concurrently would
//! produce two objects of which only one is visible after a merge.

pub mod config;
pub mod conflicts;
pub mod household;
pub mod incident;
pub mod records;
pub mod visit_log;

use crate::model::{Case, FormRecord, Hazard, Household, HouseholdId, Visit, WorkLogDay};
use crate::{Error, Result};
use automerge::{Automerge, ReadDoc, ROOT};
use serde::{Deserialize, Serialize};
use std::fmt;

pub use conflicts::{Conflict, ConflictValue};

/// The kind of a replicated document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// Household profile + residents.
    Household,
    /// One household's visits in one year.
    VisitLog,
    /// One hazard.
    Hazard,
    /// One case.
    Case,
    /// One twelve-duties form record.
    FormRecord,
    /// One worker's log for one month.
    WorkLog,
    /// One published form template version (read-only on phones).
    Template,
    /// The effective schedule policy of one grid (read-only on phones).
    Policy,
    /// A kind this build does not know (made by a newer app or server). It
    /// is stored and forwarded as Automerge bytes and never materialised;
    /// its id keeps the real kind (`<kind>/<key>`).
    Unknown,
}

impl DocKind {
    /// Every kind this build knows (not [`DocKind::Unknown`]).
    pub const ALL: [DocKind; 8] = [
        DocKind::Household,
        DocKind::VisitLog,
        DocKind::Hazard,
        DocKind::Case,
        DocKind::FormRecord,
        DocKind::WorkLog,
        DocKind::Template,
        DocKind::Policy,
    ];

    /// Stable code, also stored in the document's root `kind` key.
    pub fn code(self) -> &'static str {
        match self {
            DocKind::Household => "household",
            DocKind::VisitLog => "visit_log",
            DocKind::Hazard => "hazard",
            DocKind::Case => "case",
            DocKind::FormRecord => "form_record",
            DocKind::WorkLog => "work_log",
            DocKind::Template => "template",
            DocKind::Policy => "policy",
            DocKind::Unknown => "unknown",
        }
    }

    /// Parse a known kind's code.
    pub fn parse(code: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The kind stored under `code` in the `docs` table: a known kind, or
    /// [`DocKind::Unknown`] for anything else (docs of a newer app).
    pub fn stored(code: &str) -> DocKind {
        DocKind::parse(code).unwrap_or(DocKind::Unknown)
    }

    /// True for docs only the server writes (templates, policies): a phone
    /// reads them and the server rejects phones' changes to them.
    pub fn is_read_only(self) -> bool {
        matches!(self, DocKind::Template | DocKind::Policy)
    }
}

/// A document id: `<kind>/<key>`, stable across devices so that the same
/// logical document created on two phones merges into one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocId(pub String);

impl DocId {
    /// Household profile doc.
    pub fn household(id: HouseholdId) -> DocId {
        DocId(format!("household/{id}"))
    }
    /// Visit log of a household for a local calendar year.
    pub fn visit_log(household: HouseholdId, year: i16) -> DocId {
        DocId(format!("visit_log/{household}/{year}"))
    }
    /// Hazard doc.
    pub fn hazard(id: crate::model::HazardId) -> DocId {
        DocId(format!("hazard/{id}"))
    }
    /// Case doc.
    pub fn case(id: crate::model::CaseId) -> DocId {
        DocId(format!("case/{id}"))
    }
    /// Form record doc.
    pub fn form_record(id: crate::model::FormRecordId) -> DocId {
        DocId(format!("form_record/{id}"))
    }
    /// Work log of a worker for a local month `YYYY-MM`.
    pub fn work_log(worker: &crate::model::WorkerId, month: &str) -> DocId {
        DocId(format!("work_log/{worker}/{month}"))
    }
    /// A published template version.
    pub fn template(id: &str, version: u32) -> DocId {
        DocId(format!("template/{id}/{version}"))
    }
    /// The effective policy of a grid.
    pub fn policy(grid: &crate::model::GridCode) -> DocId {
        DocId(format!("policy/{grid}"))
    }
    /// The kind encoded in the id: a known kind, [`DocKind::Unknown`] for a
    /// well-formed id of a kind this build does not know, `None` for an id
    /// that is not a Gridwork doc id at all (see [`DocId::is_well_formed`]).
    pub fn kind(&self) -> Option<DocKind> {
        if !self.is_well_formed() {
            return None;
        }
        let kind = DocKind::stored(self.0.split('/').next()?);
        self.has_canonical_key(kind).then_some(kind)
    }

    /// True when the key parts are in the one form this kind's ids take
    /// (a lowercase hyphenated UUID, a 4-digit year, `YYYY-MM`, a version
    /// number), so that no record has two ids: the server's scope and
    /// content checks compare ids as text.
    fn has_canonical_key(&self, kind: DocKind) -> bool {
        let parts: Vec<&str> = self.0.split('/').skip(1).collect();
        let uuid =
            |p: &str| uuid::Uuid::parse_str(p).is_ok_and(|u| u.hyphenated().to_string() == p);
        let number = |p: &str, len: Option<usize>| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && len.is_none_or(|l| p.len() == l)
                && (p == "0" || !p.starts_with('0'))
        };
        match (kind, parts.as_slice()) {
            (DocKind::Household | DocKind::Hazard | DocKind::Case | DocKind::FormRecord, [id]) => {
                uuid(id)
            }
            (DocKind::VisitLog, [household, year]) => uuid(household) && number(year, Some(4)),
            (DocKind::WorkLog, [_, month]) => {
                month.len() == 7
                    && month.as_bytes()[4] == b'-'
                    && number(&month[..4], Some(4))
                    && month[5..].bytes().all(|b| b.is_ascii_digit())
            }
            (DocKind::Template, [_, version]) => number(version, None),
            (DocKind::Policy, [_]) | (DocKind::Unknown, _) => true,
            _ => false,
        }
    }

    /// `<kind>/<key>[/<part>…]`: a kind of 1–32 lowercase ASCII letters,
    /// digits or `_` starting with a letter, then 1–8 non-empty parts of
    /// printable ASCII other than `/`, at most 200 bytes in all.
    pub fn is_well_formed(&self) -> bool {
        let mut parts = self.0.split('/');
        let kind = parts.next().unwrap_or_default();
        let kind_ok = (1..=32).contains(&kind.len())
            && kind.starts_with(|c: char| c.is_ascii_lowercase())
            && kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        let rest: Vec<&str> = parts.collect();
        kind_ok
            && self.0.len() <= 200
            && (1..=8).contains(&rest.len())
            && rest
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_graphic()))
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The read-model rows one document materialises to.
#[derive(Clone, Debug, PartialEq)]
pub enum DocRows {
    /// A household with its residents and any open field conflicts.
    Household(Box<Household>, Vec<Conflict>),
    /// The visits of one household-year.
    VisitLog(Vec<Visit>),
    /// One hazard with its transitions and conflicts.
    Hazard(Box<Hazard>, Vec<Conflict>),
    /// One case with its transitions and conflicts.
    Case(Box<Case>, Vec<Conflict>),
    /// One form record.
    FormRecord(Box<FormRecord>),
    /// The days of one worker-month.
    WorkLog(Vec<WorkLogDay>),
    /// A published template version.
    Template(Box<config::PublishedTemplate>),
    /// A grid's effective policy.
    Policy(Box<config::GridPolicy>),
    /// A document that exists but has no content yet (e.g. only received
    /// partially); it produces no rows.
    Empty,
}

/// The document format this build writes and fully understands. A doc's
/// format is its root `format` key; format 1 is written by leaving the key
/// out (absent = 1), because the first release reads every unknown root key
/// of a visit or work log as a record. A newer app bumps it when
/// it changes the meaning of existing content, so that older builds keep
/// such docs read-only; adding keys or enum values does not need a bump
/// (readers ignore what they do not know).
pub const FORMAT_VERSION: u32 = 1;

/// Bumped whenever materialisation learns to read something it refused
/// before; quarantined docs of an older revision are retried on open.
pub const MATERIALIZER_REVISION: u32 = 1;

/// The root key holding a doc's format version.
pub const FORMAT_KEY: &str = "format";

/// The format version of a doc (1 when it carries none).
pub fn format_of(doc: &Automerge) -> u32 {
    match doc.get(ROOT, FORMAT_KEY).ok().flatten() {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            automerge::ScalarValue::Uint(v) => u32::try_from(*v).unwrap_or(u32::MAX),
            automerge::ScalarValue::Int(v) => u32::try_from(*v).unwrap_or(u32::MAX),
            _ => u32::MAX,
        },
        Some(_) => u32::MAX,
        None => 1,
    }
}

/// Materialise a document into read-model rows. Pure: same doc, same rows.
/// Readers are forward-compatible: unknown keys and unknown enum values are
/// ignored (the doc keeps them); a doc that still cannot be read is an
/// error here, which merges turn into quarantine (see the store).
pub fn materialize(id: &DocId, kind: DocKind, doc: &Automerge) -> Result<DocRows> {
    if doc.get_heads().is_empty() {
        return Ok(DocRows::Empty);
    }
    let corrupt = |e: autosurgeon::HydrateError| Error::CorruptDocument {
        doc_id: id.to_string(),
        reason: e.to_string(),
    };
    Ok(match kind {
        DocKind::Household => {
            let (h, c) = household::materialize(doc).map_err(corrupt)?;
            DocRows::Household(Box::new(h), c)
        }
        DocKind::VisitLog => DocRows::VisitLog(visit_log::materialize(doc).map_err(corrupt)?),
        DocKind::Hazard => {
            let (h, c) = incident::materialize_hazard_with_conflicts(doc).map_err(corrupt)?;
            DocRows::Hazard(Box::new(h), c)
        }
        DocKind::Case => {
            let (case, c) = incident::materialize_case_with_conflicts(doc).map_err(corrupt)?;
            DocRows::Case(Box::new(case), c)
        }
        DocKind::FormRecord => {
            DocRows::FormRecord(Box::new(records::materialize_form(doc).map_err(corrupt)?))
        }
        DocKind::WorkLog => DocRows::WorkLog(records::materialize_work_log(doc).map_err(corrupt)?),
        DocKind::Template => DocRows::Template(Box::new(
            config::materialize_template(doc).map_err(corrupt)?,
        )),
        DocKind::Policy => {
            DocRows::Policy(Box::new(config::materialize_policy(doc).map_err(corrupt)?))
        }
        DocKind::Unknown => {
            return Err(Error::CorruptDocument {
                doc_id: id.to_string(),
                reason: UNKNOWN_KIND.into(),
            })
        }
    })
}

/// The quarantine reason of a doc of a kind this build does not know.
pub const UNKNOWN_KIND: &str =
    "未知文档类型（较新版本）/ unknown document kind (from a newer version)";

/// Read the `kind` key of a document's root, if present.
pub fn root_kind(doc: &Automerge) -> Option<DocKind> {
    match doc.get(ROOT, "kind").ok()?? {
        (automerge::Value::Scalar(s), _) => match s.as_ref() {
            automerge::ScalarValue::Str(k) => DocKind::parse(k),
            _ => None,
        },
        _ => None,
    }
}

/// The grid a document declares in its root `grid` key (households, hazards,
/// cases, form records, templates, policies). Visit logs and work logs carry none: their scope is
/// their household's, or their worker's.
pub fn declared_grid(doc: &Automerge) -> Option<crate::model::GridCode> {
    match doc.get(ROOT, "grid").ok()?? {
        (automerge::Value::Scalar(s), _) => match s.as_ref() {
            automerge::ScalarValue::Str(g) => Some(crate::model::GridCode(g.to_string())),
            _ => None,
        },
        _ => None,
    }
}

/// Parse a uuid-typed id stored as text in a doc, as a hydrate error when bad.
pub(crate) fn parse_uuid<T: std::str::FromStr>(
    text: &str,
    what: &str,
) -> Result<T, autosurgeon::HydrateError> {
    text.parse::<T>()
        .map_err(|_| autosurgeon::HydrateError::unexpected(what, "malformed id".to_string()))
}

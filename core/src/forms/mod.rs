//! Form templates (visit checklist, twelve duties, hazard inspection) and the
//! validation of answers against the exact template version a record uses.
//!
//! - [`template`]: the template format and its structural check;
//! - [`expr`]: the XLSForm expression subset for `relevant`/`constraint`;
//! - [`refs`]: `${field}` references in labels and messages;
//! - [`answers`]: answer validation (one error per failing field);
//! - [`default_pack`]: the templates shipped in the core (version 1 of each,
//!   and with [`duties`] version 2 of the twelve duty forms, each with the
//!   fields of its own ledger);
//! - [`xlsform`]: import of XLSForm workbooks (`.xlsx`) into templates.
//!
//! Templates published by staff travel as read-only docs (see
//! `crate::docs::config`); `Store::template` resolves an id and version
//! against both the published ones and this built-in pack.

pub mod answers;
pub mod default_pack;
pub mod duties;
pub mod expr;
pub mod refs;
pub mod template;
pub mod xlsform;

pub use template::{Choice, Field, FieldType, Section, Template, TemplateCategory};

/// Look up a template by id and version in the built-in pack; `None` version
/// means the newest.
pub fn find(id: &str, version: Option<u32>) -> Option<Template> {
    find_ref(id, version).cloned()
}

/// [`find`] without the copy, for hot paths (materialising and reading visits).
pub fn find_ref(id: &str, version: Option<u32>) -> Option<&'static Template> {
    builtin()
        .iter()
        .filter(|t| t.id == id && version.is_none_or(|v| v == t.version))
        .max_by_key(|t| t.version)
}

/// Every built-in template.
pub fn builtin() -> &'static [Template] {
    static PACK: std::sync::OnceLock<Vec<Template>> = std::sync::OnceLock::new();
    PACK.get_or_init(default_pack::all)
}

#[cfg(test)]
mod tests;

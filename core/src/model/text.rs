//! Free-text input rules: one [`TextRule`] per text field of the core API
//! (households, residents, visits, hazards, cases, forms, work logs, the
//! phone's owner), applied to new input by the API and by the register
//! import. The limits are documented in `docs/limits.md` (a test keeps the
//! two in step).
//!
//! A value is trimmed, then refused when it
//! - is longer than the field's limit (counted in Unicode characters);
//! - holds a control character (C0, DEL, C1) — line breaks and tabs are
//!   allowed in multi-line fields (notes, descriptions) only, `\r\n` is
//!   stored as `\n`;
//! - holds a bidirectional-text control (e.g. U+202E RIGHT-TO-LEFT
//!   OVERRIDE) or a line/paragraph separator;
//! - is required and has nothing visible left once whitespace and invisible
//!   format characters (zero-width space, BOM, …) are removed. An optional
//!   value with nothing visible is stored empty.
//!
//! Errors are [`crate::Error::Validation`] naming the field, zh-CN then
//! English, and never echo the value. Stored documents are never checked
//! against these rules when read or synced.

use crate::{Error, Result};

/// How one text field is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextRule {
    /// The field name used in errors.
    pub field: &'static str,
    /// What the field is, as listed in `docs/limits.md`.
    pub what: &'static str,
    /// Most characters (Unicode scalar values) after trimming.
    pub max_chars: usize,
    /// Whether line breaks and tabs are allowed.
    pub multi_line: bool,
    /// Whether a visible value is required.
    pub required: bool,
}

const fn line(field: &'static str, what: &'static str, max_chars: usize) -> TextRule {
    TextRule {
        field,
        what,
        max_chars,
        multi_line: false,
        required: false,
    }
}

const fn required(rule: TextRule) -> TextRule {
    TextRule {
        required: true,
        ..rule
    }
}

const fn lines(field: &'static str, what: &'static str, max_chars: usize) -> TextRule {
    TextRule {
        field,
        what,
        max_chars,
        multi_line: true,
        required: false,
    }
}

/// The phone owner's worker id (`init`).
pub const WORKER_ID: TextRule = required(line("worker_id", "worker id", 64));
/// The phone owner's name (`init`).
pub const WORKER_NAME: TextRule = required(line("worker_name", "worker name", 64));
/// The phone owner's grid code (`init`).
pub const GRID: TextRule = required(line("grid", "grid code", 64));
/// A household's community / compound (社区/小区).
pub const COMMUNITY: TextRule = line("community", "household community", 64);
/// A household's building (楼栋).
pub const BUILDING: TextRule = line("building", "household building", 32);
/// A household's unit (单元).
pub const UNIT: TextRule = line("unit", "household unit", 32);
/// A household's room (房号).
pub const ROOM: TextRule = line("room", "household room", 32);
/// A household's full address (required).
pub const ADDRESS: TextRule = required(line("address", "household address", 200));
/// A household's representative (户主/联系人).
pub const REPRESENTATIVE: TextRule = line("representative", "household representative", 64);
/// A household's free note.
pub const HOUSEHOLD_NOTE: TextRule = lines("note", "household note", 2000);
/// A resident's name (required).
pub const RESIDENT_NAME: TextRule = required(line("name", "resident name", 64));
/// A resident's relation to the representative.
pub const RELATION: TextRule = line("relation", "resident relation", 32);
/// A visit's free note.
pub const VISIT_NOTE: TextRule = lines("note", "visit note", 4000);
/// The note of one checklist answer of a visit.
pub const CHECKLIST_NOTE: TextRule = lines("answers.note", "visit checklist answer note", 1000);
/// A hazard's or a case's category (required).
pub const CATEGORY: TextRule = required(line("category", "hazard / case category", 64));
/// A hazard's place description.
pub const PLACE: TextRule = line("place", "hazard place", 200);
/// A hazard's or a case's description (required).
pub const DESCRIPTION: TextRule = required(lines("description", "hazard / case description", 4000));
/// The note of a hazard or case transition.
pub const TRANSITION_NOTE: TextRule = lines("note", "hazard / case transition note", 2000);
/// A form record's free subject (when it names no household).
pub const FORM_SUBJECT: TextRule = line("subject", "form record subject", 200);
/// A text answer of a form.
pub const FORM_TEXT_ANSWER: TextRule = lines("answers", "form text answer", 4000);
/// One priority of a work-log day.
pub const WORK_LOG_PRIORITY: TextRule = line("priorities", "work log priority", 200);
/// The notes of a work-log day.
pub const WORK_LOG_NOTES: TextRule = lines("notes", "work log notes", 4000);

/// Most priorities of one work-log day.
pub const MAX_WORK_LOG_PRIORITIES: usize = 20;
/// Largest answers file (`visit record --answers`, `form fill --answers`), bytes.
pub const MAX_ANSWERS_FILE_BYTES: u64 = 1024 * 1024;

/// Every rule, in the order of `docs/limits.md`.
pub const ALL: [TextRule; 22] = [
    WORKER_ID,
    WORKER_NAME,
    GRID,
    COMMUNITY,
    BUILDING,
    UNIT,
    ROOM,
    ADDRESS,
    REPRESENTATIVE,
    HOUSEHOLD_NOTE,
    RESIDENT_NAME,
    RELATION,
    VISIT_NOTE,
    CHECKLIST_NOTE,
    CATEGORY,
    PLACE,
    DESCRIPTION,
    TRANSITION_NOTE,
    FORM_SUBJECT,
    FORM_TEXT_ANSWER,
    WORK_LOG_PRIORITY,
    WORK_LOG_NOTES,
];

impl TextRule {
    /// Check `raw` under this rule; the trimmed value (empty for an optional
    /// value with nothing visible).
    pub fn check(&self, raw: &str) -> Result<String> {
        self.check_as(raw, self.field)
    }

    /// [`TextRule::check`] with another field name in the error (e.g.
    /// `answers.gas_safety.note`).
    pub fn check_as(&self, raw: &str, field: &str) -> Result<String> {
        // A char is at most 4 bytes: refuse a huge value before scanning it.
        if raw.len() > self.max_chars.saturating_mul(4) + 64 {
            return Err(self.too_long(field));
        }
        let text = if self.multi_line && raw.contains('\r') {
            raw.replace("\r\n", "\n")
        } else {
            raw.to_string()
        };
        let text = text.trim();
        for c in text.chars() {
            let allowed_break = self.multi_line && matches!(c, '\n' | '\t');
            if c.is_control() && !allowed_break {
                return Err(Error::invalid(
                    field,
                    if self.multi_line {
                        "不能含控制字符（换行和制表符除外） / must not contain control characters (line breaks and tabs are allowed)"
                    } else {
                        "不能含换行、制表符或控制字符 / must not contain line breaks, tabs or control characters"
                    },
                ));
            }
            if is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}') {
                return Err(Error::invalid(
                    field,
                    "不能含双向文本控制符或行分隔符 / must not contain bidirectional-text controls or line separators",
                ));
            }
        }
        if text.chars().count() > self.max_chars {
            return Err(self.too_long(field));
        }
        if !has_visible(text) {
            if self.required {
                return Err(Error::invalid(field, "不能为空 / must not be empty"));
            }
            return Ok(String::new());
        }
        Ok(text.to_string())
    }

    fn too_long(&self, field: &str) -> Error {
        Error::invalid(
            field,
            format!(
                "过长，最多 {} 个字符 / too long: at most {} characters",
                self.max_chars, self.max_chars
            ),
        )
    }
}

/// [`TextRule::check`] of an optional edit: `None` stays `None`.
pub fn check_edit(rule: TextRule, value: Option<&str>) -> Result<Option<String>> {
    value.map(|v| rule.check(v)).transpose()
}

/// Bidirectional-text controls: marks, embeddings, overrides and isolates.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Characters that show nothing on their own: Unicode format characters
/// (general category Cf) and the blank fillers that are not whitespace.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{08E2}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// Whether `text` has a character that is neither whitespace, control nor
/// invisible.
pub fn has_visible(text: &str) -> bool {
    text.chars()
        .any(|c| !c.is_whitespace() && !c.is_control() && !is_invisible(c))
}

/// `text` safe to print on a terminal: control characters, bidi controls,
/// line separators and other invisible characters as `\u{…}` escapes.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || is_invisible(c) || matches!(c, '\u{2028}' | '\u{2029}') {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A key taken from an input file (an answer's field id), for an error's
/// field name: escaped like [`escape_controls`] and cut to 64 characters.
pub fn display_key(key: &str) -> String {
    let cut: String = key.chars().take(64).collect();
    let mut shown = escape_controls(&cut);
    if key.chars().nth(64).is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<String>) -> String {
        match result {
            Err(Error::Validation { field, message }) => format!("{field}: {message}"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn trims_and_keeps_ordinary_text() {
        assert_eq!(ADDRESS.check("  幸福里3号楼 ").unwrap(), "幸福里3号楼");
        assert_eq!(REPRESENTATIVE.check("").unwrap(), "");
        // Emoji sequences with a zero-width joiner are ordinary text.
        assert_eq!(HOUSEHOLD_NOTE.check("👨‍👩‍👧").unwrap(), "👨‍👩‍👧");
    }

    #[test]
    fn too_long_is_refused_without_the_value() {
        let long = "巷".repeat(201);
        let err = message(ADDRESS.check(&long));
        assert!(err.starts_with("address: ") && err.contains("200"), "{err}");
        assert!(!err.contains('巷'));
        assert!(ADDRESS.check(&"巷".repeat(200)).is_ok());
        // 43,000 characters and 50 MB are refused (the latter before scanning).
        assert!(ADDRESS.check(&"a".repeat(43_000)).is_err());
        assert!(VISIT_NOTE.check(&"x".repeat(50 * 1024 * 1024)).is_err());
    }

    #[test]
    fn control_and_bidi_characters_are_refused() {
        for bad in [
            "a\u{1b}[31mb",
            "a\rb",
            "a\nb",
            "a\tb",
            "a\u{7}b",
            "a\u{0}b",
            "a\u{85}b",
            "a\u{202e}b",
            "a\u{2066}b",
            "a\u{200f}b",
            "a\u{2028}b",
        ] {
            let err = message(ADDRESS.check(bad));
            assert!(err.starts_with("address: "), "{err}");
            assert!(!err.contains(bad), "{err}");
        }
        // Multi-line fields allow line breaks and tabs, nothing else.
        assert_eq!(
            VISIT_NOTE.check("第一行\r\n\t第二行").unwrap(),
            "第一行\n\t第二行"
        );
        assert!(VISIT_NOTE.check("a\u{1b}b").is_err());
        assert!(VISIT_NOTE.check("a\rb").is_err());
        assert!(VISIT_NOTE.check("a\u{202e}b").is_err());
    }

    #[test]
    fn invisible_only_is_empty() {
        let err = message(ADDRESS.check("\u{200b}"));
        assert_eq!(err, "address: 不能为空 / must not be empty");
        assert!(RESIDENT_NAME.check(" \u{feff}\u{2060} ").is_err());
        assert!(DESCRIPTION.check("\u{200b}\n\u{200b}").is_err());
        assert_eq!(REPRESENTATIVE.check("\u{200b}").unwrap(), "");
        assert_eq!(RESIDENT_NAME.check("王\u{200b}五").unwrap(), "王\u{200b}五");
    }

    #[test]
    fn field_name_can_be_overridden() {
        let err = message(CHECKLIST_NOTE.check_as("a\u{1b}", "answers.gas.note"));
        assert!(err.starts_with("answers.gas.note: "), "{err}");
    }

    #[test]
    fn escapes_for_terminals() {
        assert_eq!(escape_controls("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape_controls("x\u{202e}y\u{7}"), "x\\u{202e}y\\u{7}");
        assert_eq!(escape_controls("住址 ok"), "住址 ok");
        let key = format!("{}\u{1b}", "k".repeat(70));
        let shown = display_key(&key);
        assert!(!shown.contains('\u{1b}') && shown.ends_with('…'));
        assert_eq!(display_key("a\u{1b}"), "a\\u{1b}");
    }

    #[test]
    fn every_rule_is_documented() {
        let doc = include_str!("../../../docs/limits.md");
        for rule in ALL {
            let row = format!(
                "| {} | `{}` | {} | {} | {} |",
                rule.what,
                rule.field,
                rule.max_chars,
                if rule.multi_line { "yes" } else { "no" },
                if rule.required { "yes" } else { "no" },
            );
            assert!(doc.contains(&row), "docs/limits.md lacks the row: {row}");
        }
        assert!(doc.contains(&format!("{} priorities", MAX_WORK_LOG_PRIORITIES)));
        assert!(doc.contains("1 MiB"));
    }
}

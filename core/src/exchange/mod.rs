//! Excel in and out (issue 6): exports of the household register, visits,
//! hazards and cases as XLSX or CSV ([`Store::export`](crate::Store::export)),
//! and the
//! import of a household register
//! ([`Store::import_register`](crate::Store::import_register), see [`import`] for its rules).
//!
//! # The file format
//!
//! One table per file (one worksheet), **one header row**, then one record
//! per row (blank rows are skipped). Each header cell reads `中文 / English`, e.g. `电话 / phone`:
//! the English part is the stable column key ([`Column::key`]). The importer
//! matches a header cell by its zh part, its English part or the whole cell,
//! case-insensitively and ignoring spaces, `_` and `-`, in any column order;
//! a few common zh synonyms are accepted too (`户主`, `身份证号码`, …). So a
//! file exported here reads back as it is, and an office register with only
//! Chinese headers reads as well.
//!
//! The register's values are the stable codes the CLI and the API use
//! (`male`, `red`, `moved_out`, tag codes joined by `;`, `true`/`false`), so
//! it re-imports as it is; trailing `*_label` columns repeat them as zh-CN
//! labels for people, and the importer skips those. The record exports (visits, hazards, cases) are
//! for people: states, severities, channels and urgencies as their zh-CN
//! labels (`处置中`, `较大`, `微信群`), flags as `是`/`否`, with the codes
//! repeated in trailing `…_code` columns for scripts. Times are local
//! `YYYY-MM-DD HH:MM` in the store's time zone, dates `YYYY-MM-DD`.
//!
//! - **XLSX** (rust_xlsxwriter): bold, frozen, filterable header row, fixed
//!   column widths; every value is a string cell except counts and minutes.
//!   Identifiers, phones, ID numbers, dates and room numbers are written as
//!   text with the text number format `@` on the whole column, so Excel keeps
//!   leading zeros and the `X` of an ID number, also in cells typed later.
//! - **CSV**: UTF-8 with a byte-order mark (Excel on Chinese Windows needs it
//!   to read UTF-8), CRLF line ends and RFC 4180 quoting. A text value that
//!   begins with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` so that Excel
//!   never runs it as a formula; the importer removes that `'` again. Excel
//!   itself turns 18-digit ID numbers of an opened CSV into rounded numbers
//!   when it saves: edit in XLSX (the importer refuses such rows, it never
//!   stores a damaged number).
//!
//! # Adding an export
//!
//! [`ExportKind`] lists what can be exported and
//! [`Store::export_table`](crate::Store::export_table) maps
//! each kind to a builder in `export.rs` that returns a [`Table`] (columns +
//! rows of [`Cell`]s). The writers know nothing about record kinds: a
//! caller with rows of its own (the server's monthly evaluation) builds a
//! [`Table`] over them and writes it the same way.

pub mod export;
pub mod import;

#[cfg(test)]
mod import_limit_tests;
#[cfg(test)]
mod import_value_tests;
#[cfg(test)]
mod scope_tests;
#[cfg(test)]
mod tests;

pub use import::{ImportReport, Renumbered, RowError};

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What [`Store::export`](crate::Store::export) writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// The household register: one row per resident, household columns
    /// repeated; a household without residents is one row. Re-importable.
    Households,
    /// Door-to-door visits, one row per visit.
    Visits,
    /// Hazard reports, one row per hazard.
    Hazards,
    /// Residents' requests and events, one row per case.
    Cases,
}

impl ExportKind {
    /// Every kind.
    pub const ALL: [ExportKind; 4] = [
        ExportKind::Households,
        ExportKind::Visits,
        ExportKind::Hazards,
        ExportKind::Cases,
    ];

    /// Stable code (`households`, `visits`, `hazards`, `cases`).
    pub fn code(self) -> &'static str {
        match self {
            ExportKind::Households => "households",
            ExportKind::Visits => "visits",
            ExportKind::Hazards => "hazards",
            ExportKind::Cases => "cases",
        }
    }

    /// Parse a code.
    pub fn parse(text: &str) -> Result<ExportKind> {
        let t = text.trim().to_ascii_lowercase();
        ExportKind::ALL
            .into_iter()
            .find(|k| k.code() == t)
            .ok_or_else(|| {
                Error::invalid(
                    "kind",
                    "导出类型应为 households/visits/hazards/cases / kind must be households, visits, hazards or cases",
                )
            })
    }
}

/// The file format of an export or an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Excel workbook (Office Open XML).
    Xlsx,
    /// UTF-8 CSV with a byte-order mark, RFC 4180.
    Csv,
}

impl ExportFormat {
    /// Stable code, also the file extension (`xlsx`, `csv`).
    pub fn code(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Csv => "csv",
        }
    }

    /// Parse a code (case-insensitive, a leading `.` allowed).
    pub fn parse(text: &str) -> Result<ExportFormat> {
        match text
            .trim()
            .trim_start_matches('.')
            .to_ascii_lowercase()
            .as_str()
        {
            "xlsx" => Ok(ExportFormat::Xlsx),
            "csv" => Ok(ExportFormat::Csv),
            _ => Err(Error::invalid(
                "format",
                "格式应为 xlsx 或 csv / format must be xlsx or csv",
            )),
        }
    }

    /// The format a file name's extension names, if any.
    pub fn from_path(path: &Path) -> Option<ExportFormat> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(|e| ExportFormat::parse(e).ok())
    }
}

/// How a column's values are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// Free text.
    Text,
    /// Text that must stay exactly as written (ids, phones, ID numbers,
    /// dates, room numbers): XLSX text format `@` on the whole column.
    Verbatim,
    /// A number (counts, minutes): an XLSX number cell.
    Number,
}

/// One column of an exported table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Column {
    /// Stable English key (`phone`, `id_number`), the English part of the header.
    pub key: &'static str,
    /// zh-CN header.
    pub zh: &'static str,
    /// How values are written.
    pub kind: ColumnKind,
    /// XLSX column width in characters.
    pub width: f64,
}

impl Column {
    /// A column (for the `const` column lists).
    pub const fn new(key: &'static str, zh: &'static str, kind: ColumnKind, width: f64) -> Column {
        Column {
            key,
            zh,
            kind,
            width,
        }
    }

    /// The header cell: `中文 / English`.
    pub fn header(&self) -> String {
        format!("{} / {}", self.zh, self.key)
    }
}

/// One value of an exported table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Nothing.
    Empty,
    /// Text (also ids, phones, dates).
    Text(String),
    /// A number.
    Number(f64),
}

impl Cell {
    /// Text, or [`Cell::Empty`] when `text` is empty.
    pub fn text(text: impl Into<String>) -> Cell {
        let text = text.into();
        if text.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(text)
        }
    }

    /// The value as CSV text (numbers without a needless `.0`).
    pub fn as_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.clone(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => n.to_string(),
        }
    }
}

/// An export before it is written: one sheet, its columns and its rows.
/// Every builder returns one; [`Table::to_bytes`] writes it as XLSX or CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Worksheet name (XLSX).
    pub sheet: &'static str,
    /// Columns, in order.
    pub columns: &'static [Column],
    /// Rows; each has one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Write as `format`.
    pub fn to_bytes(&self, format: ExportFormat) -> Result<Vec<u8>> {
        match format {
            ExportFormat::Xlsx => export::write_xlsx(self),
            ExportFormat::Csv => export::write_csv(self),
        }
    }
}

/// The household register's columns, in export order. The importer reads
/// the same columns back (see [`import`]).
pub const REGISTER_COLUMNS: &[Column] = REGISTER_EXPORT_COLUMNS.split_at(20).0;

/// The register's columns for people, after the code columns: the zh-CN
/// labels of the coded values. The importer knows them and skips them (the
/// codes are what it reads).
pub const REGISTER_LABEL_COLUMNS: &[Column] = REGISTER_EXPORT_COLUMNS.split_at(20).1;

/// Every column the register export writes: [`REGISTER_COLUMNS`], then
/// [`REGISTER_LABEL_COLUMNS`].
pub const REGISTER_EXPORT_COLUMNS: &[Column] = &[
    Column::new("household_id", "户编号", ColumnKind::Verbatim, 38.0),
    Column::new("community", "社区", ColumnKind::Text, 14.0),
    Column::new("building", "楼栋", ColumnKind::Verbatim, 8.0),
    Column::new("unit", "单元", ColumnKind::Verbatim, 8.0),
    Column::new("room", "房号", ColumnKind::Verbatim, 8.0),
    Column::new("address", "地址", ColumnKind::Text, 30.0),
    Column::new("representative", "户代表", ColumnKind::Text, 12.0),
    Column::new("phone", "电话", ColumnKind::Verbatim, 15.0),
    Column::new("tags", "户标签", ColumnKind::Text, 20.0),
    Column::new("risk", "风险", ColumnKind::Text, 8.0),
    Column::new("status", "状态", ColumnKind::Text, 10.0),
    Column::new("resident_id", "居民编号", ColumnKind::Verbatim, 38.0),
    Column::new("name", "姓名", ColumnKind::Text, 10.0),
    Column::new("gender", "性别", ColumnKind::Text, 8.0),
    Column::new("birth_date", "出生日期", ColumnKind::Verbatim, 12.0),
    Column::new("id_number", "身份证号", ColumnKind::Verbatim, 21.0),
    Column::new("resident_phone", "居民电话", ColumnKind::Verbatim, 15.0),
    Column::new("relation", "关系", ColumnKind::Text, 8.0),
    Column::new("resident_tags", "居民标签", ColumnKind::Text, 20.0),
    Column::new("moved_out", "已迁出", ColumnKind::Text, 10.0),
    Column::new("tags_label", "户标签名称", ColumnKind::Text, 20.0),
    Column::new("risk_label", "风险等级名称", ColumnKind::Text, 10.0),
    Column::new("status_label", "状态名称", ColumnKind::Text, 10.0),
    Column::new("gender_label", "性别名称", ColumnKind::Text, 8.0),
    Column::new(
        "resident_tags_label",
        "居民标签名称",
        ColumnKind::Text,
        20.0,
    ),
    Column::new("moved_out_label", "是否迁出", ColumnKind::Text, 8.0),
];

/// Map a writer failure (never personal data) to the core's error.
fn write_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io(std::io::Error::other(format!("{what}: {e}")))
}

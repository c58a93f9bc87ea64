//! Import of a household register ([`Store::import_register`]): the columns
//! of the register export ([`REGISTER_COLUMNS`]), read from XLSX or CSV,
//! matched by header (see the [module header](super)). The register is the
//! first worksheet with a header row, which is the first of its first ten
//! non-blank rows that names an `address` or `household_id` column (so a
//! title row above the header is fine). Spreadsheet row numbers are Excel's:
//! 1-based, blank rows counted.
//!
//! # Rules
//!
//! - **All or nothing.** Every row is validated first, with the same
//!   validators the API uses (phones, GB 11643 ID numbers with their birth
//!   date and gender, dates, tags, risk, status). If any row is invalid,
//!   nothing is stored and [`ImportReport::errors`] lists every problem: the
//!   1-based spreadsheet row, the column key and the reason in zh-CN /
//!   English — never the value. Errors of the file itself (not a workbook,
//!   CSV not in UTF-8, neither an `address` nor a `household_id` column, a column
//!   twice) are an `Err`. A valid file is imported in ONE write transaction.
//! - **Size limits.** The file is read through the shared
//!   [`crate::spreadsheet`] reader: at most 20 MiB, 50,000 rows and 256
//!   columns a sheet, an XLSX archive that unpacks to at most 128 MiB (64 MiB
//!   a part, checked from its zip directory before anything is unpacked, at
//!   most 100:1 compressed), … (`spreadsheet::LIMITS`, table in
//!   `docs/forms.md` § Spreadsheet limits). A file beyond one is refused as
//!   a whole with `Error::TooLarge` naming the limit; nothing is stored.
//! - **Dates.** Date and time cells are read by type as `YYYY-MM-DD`,
//!   `HH:MM`, `YYYY-MM-DD HH:MM`, never as Excel serial numbers.
//! - **Households.** Rows are grouped by `household_id` when present, else by
//!   `address`. A row with neither continues the household of the row above
//!   (Excel registers often merge the household cells of a family). Within a
//!   household the household columns may be left blank after the first row;
//!   two different non-blank values are an error.
//! - **Which household a group is.** A `household_id` that exists in the
//!   store updates that household. Without one, the one stored household
//!   with exactly that address is updated; none creates a household; several
//!   is an error (fill in `household_id`). An unknown `household_id` (a
//!   register from another phone, or imported before) is matched the same
//!   way by address — unless a `household_id` of the file names that
//!   household — else creates a household with a **new id**: the file's id
//!   is never adopted, because two devices creating the same document id
//!   independently would collide on sync. Every unknown id of the file is
//!   listed in [`ImportReport::renumbered`] with the id it now maps to.
//!   Groups that are the same stored household are one household (a row
//!   added below an exported family with only the address filled in).
//! - **Which resident a row is.** A `resident_id` of the household updates
//!   that resident; one of another household is an error. Otherwise (no or
//!   an unknown `resident_id`) the household's resident with the same ID
//!   number, else with the same name, is updated — never one that another
//!   row names by `resident_id` — else a resident is created (with a new
//!   id). A row with all resident columns blank is a household without a
//!   resident.
//! - **What a cell means.** A column that is absent leaves that field as it
//!   is; a blank cell in a present column clears it (a blank birth date or
//!   gender is taken from the ID number). Tags in a cell replace the tag set.
//!   New residents are checked as `add_resident` checks them (birth date and
//!   gender must match the ID number); an existing resident is checked
//!   field by field as `edit_resident` does, and against the ID number only
//!   when the ID number, birth date or gender changes.
//! - **Nothing is deleted.** Households and residents that the file does not
//!   mention stay as they are; mark people moved out with `moved_out` and
//!   `status` instead.
//! - **Idempotent.** A household whose values all equal the stored ones is
//!   not written at all: re-importing an export makes no Automerge change
//!   and reports every household `unchanged`. A changed household gets one
//!   change for its own and its residents' fields; a new household or
//!   resident is created through the API's own write path.
//!
//! # Code
//!
//! - `columns.rs`: which file column is which register column (header
//!   matching, aliases);
//! - `read.rs`: reading XLSX / CSV into rows (through `crate::spreadsheet`)
//!   and finding the register sheet;
//! - `values.rs`: one row's cells as validated values, and the row errors;
//! - `plan.rs`: the validation pass — grouping rows into households and
//!   matching them and their residents against the store;
//! - `apply.rs`: writing a valid plan, one household at a time;
//! - this file: the report types and [`Store::import_register`], which runs
//!   them in one write transaction.

mod apply;
mod columns;
mod plan;
mod read;
mod values;

pub(super) use columns::col;
#[cfg(test)]
pub(super) use columns::match_columns;
#[cfg(test)]
pub(super) use read::SheetRow;
pub(super) use read::{find_register, read_sheets};

use super::{ExportFormat, REGISTER_COLUMNS};
use crate::api::Store;
use crate::Result;
use apply::apply;
use plan::Planner;
use read::Register;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use values::{Errors, Row};

/// What an import did, or why it stored nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// True when the register was imported. False when any row was invalid:
    /// then nothing was stored, the counts are zero and `errors` says why.
    pub stored: bool,
    /// Data rows read (blank rows are skipped).
    pub rows: u32,
    /// Households created.
    pub households_created: u32,
    /// Existing households whose document changed (own or residents' fields,
    /// new residents).
    pub households_updated: u32,
    /// Residents created.
    pub residents_created: u32,
    /// Existing residents whose fields changed.
    pub residents_updated: u32,
    /// Existing households left exactly as they were (no new change).
    pub unchanged: u32,
    /// Ids of the file that the store did not know, with the id of the
    /// record they were matched to or created as.
    pub renumbered: Vec<Renumbered>,
    /// Header cells that match no register column; their values were ignored.
    pub ignored_columns: Vec<String>,
    /// Every invalid cell, by row then column. Non-empty means nothing stored.
    pub errors: Vec<RowError>,
}

/// Why one cell of a register was refused. Never carries the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based spreadsheet row (the header is row 1 in an exported file).
    pub row: u32,
    /// Column key (`id_number`, `phone`, …; see [`REGISTER_COLUMNS`]).
    pub column: String,
    /// Why (zh-CN / English).
    pub message: String,
}

/// A file id that the store did not know, and the id its record has now
/// (created, or matched by address / ID number / name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Renumbered {
    /// Row where the record starts.
    pub row: u32,
    /// `household` or `resident`.
    pub kind: String,
    /// The id in the file.
    pub file_id: String,
    /// The id in the store.
    pub id: String,
}

impl ImportReport {
    /// One line for a terminal or a log, e.g. `register: 2 行有误，未导入任何数据 /
    /// 2 rows invalid, nothing imported: row 3 id_number: …; row 7 phone: …`
    /// (the first ten problems; no values).
    pub fn errors_line(&self) -> String {
        let rows = self
            .errors
            .iter()
            .map(|e| e.row)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let mut details = self
            .errors
            .iter()
            .take(10)
            .map(|e| format!("row {} {}: {}", e.row, e.column, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        if self.errors.len() > 10 {
            details.push_str(&format!("; … (+{})", self.errors.len() - 10));
        }
        format!("register: {rows} 行有误，未导入任何数据 / {rows} rows invalid, nothing imported: {details}")
    }
}

impl Store {
    /// Import a household register (the columns of the register export) in
    /// one write transaction, all rows or none; see the [module header](self)
    /// for how rows become households and residents. Row errors are returned
    /// in an `Ok` report with `stored: false`; errors of the file itself
    /// (unreadable, no address column, …) as `Err`, and a file beyond the
    /// spreadsheet limits as [`Error::TooLarge`](crate::Error::TooLarge).
    pub fn import_register(&self, bytes: &[u8], format: ExportFormat) -> Result<ImportReport> {
        let Register {
            columns,
            ignored: ignored_columns,
            rows,
        } = find_register(read_sheets(bytes, format)?)?;
        let mut errors = Errors::default();
        let rows: Vec<Row> = rows
            .iter()
            .map(|r| Row {
                number: r.number,
                values: std::array::from_fn(|c| {
                    let i = columns[c]?;
                    match r.cells.get(i) {
                        None => Some(String::new()),
                        Some(Some(text)) => Some(text.clone()),
                        Some(None) => {
                            errors.push(
                                r.number,
                                c,
                                "单元格含错误值 / the cell holds an error value",
                            );
                            Some(String::new())
                        }
                    }
                }),
            })
            .collect();
        let (device, meta) = self.meta_at(self.now())?;
        let today = crate::schedule::local_date(meta.at, &self.tz);
        let mut report = ImportReport {
            rows: rows.len() as u32,
            ignored_columns,
            ..ImportReport::default()
        };
        self.db.write(|tx| {
            let (plans, mut errors) = {
                let mut planner = Planner {
                    tx: &mut *tx,
                    errors,
                    claimed_residents: HashSet::new(),
                    file_resident_ids: rows
                        .iter()
                        .filter_map(|r| r.text(col::RESIDENT_ID).parse().ok())
                        .collect(),
                    seen_resident_ids: HashSet::new(),
                    id_numbers: Vec::new(),
                    today,
                };
                (planner.plan(&rows)?, planner.errors.0)
            };
            if !errors.is_empty() {
                let order = |e: &RowError| {
                    REGISTER_COLUMNS
                        .iter()
                        .position(|c| c.key == e.column)
                        .unwrap_or(usize::MAX)
                };
                errors.sort_by_key(|e| (e.row, order(e)));
                errors.dedup();
                report.errors = errors;
                return Ok(());
            }
            for plan in &plans {
                apply(tx, plan, &device.grid, &meta, &mut report, today)?;
            }
            report.stored = true;
            Ok(())
        })?;
        if report.stored {
            tracing::info!(
                households_created = report.households_created,
                households_updated = report.households_updated,
                residents_created = report.residents_created,
                residents_updated = report.residents_updated,
                "register imported"
            );
        }
        Ok(report)
    }
}

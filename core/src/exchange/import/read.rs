//! Reading a register file: XLSX or CSV into sheets of non-blank rows
//! (through the shared, size-limited [`crate::spreadsheet`] reader), and
//! finding the sheet and row that hold the header.

use super::super::export::looks_like_formula;
use super::super::ExportFormat;
use super::columns::{col, match_columns};
use crate::spreadsheet::{self, xlsx::Workbook, Sheet};
use crate::{Error, Result};

/// One non-blank row of a sheet.
pub(in crate::exchange) struct SheetRow {
    /// 1-based spreadsheet row number.
    pub(in crate::exchange) number: u32,
    /// Trimmed cell texts; `None` for an error value (`#N/A`, …).
    pub(in crate::exchange) cells: Vec<Option<String>>,
}

/// How far down a sheet the header row is looked for (title rows above it).
const HEADER_SEARCH_ROWS: usize = 10;

/// A register found in a file: its columns and its data rows.
pub(in crate::exchange) struct Register {
    /// For each register column, the file column holding it.
    pub(in crate::exchange) columns: [Option<usize>; col::COUNT],
    /// Header cells that name no register column.
    pub(in crate::exchange) ignored: Vec<String>,
    /// The rows below the header.
    pub(in crate::exchange) rows: Vec<SheetRow>,
}

/// Read a file as sheets (CSV: one) of non-blank rows.
pub(in crate::exchange) fn read_sheets(
    bytes: &[u8],
    format: ExportFormat,
) -> Result<Vec<Vec<SheetRow>>> {
    match format {
        ExportFormat::Xlsx => read_xlsx(bytes),
        ExportFormat::Csv => Ok(vec![read_csv(bytes)?]),
    }
}

/// The register of a file: the first sheet with a header row (one of its
/// first non-blank rows naming an `address` or `household_id` column, so a
/// title row above the header is fine).
pub(in crate::exchange) fn find_register(sheets: Vec<Vec<SheetRow>>) -> Result<Register> {
    let mut first_error = None;
    for mut rows in sheets {
        for i in 0..rows.len().min(HEADER_SEARCH_ROWS) {
            let headers: Vec<String> = rows[i]
                .cells
                .iter()
                .map(|c| c.clone().unwrap_or_default())
                .collect();
            match match_columns(&headers) {
                Ok((columns, ignored)) => {
                    return Ok(Register {
                        columns,
                        ignored,
                        rows: rows.split_off(i + 1),
                    })
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        Error::invalid("register", "文件中没有表头行 / the file has no header row")
    }))
}

/// A shared-reader sheet as register rows (cells as text, `None` for an
/// error value); `unescape` undoes the CSV writer's formula escape.
fn register_rows(sheet: Sheet, unescape: bool) -> Vec<SheetRow> {
    sheet
        .rows
        .into_iter()
        .map(|row| SheetRow {
            number: row.number,
            cells: row
                .cells
                .iter()
                .map(|c| {
                    let text = c.text()?;
                    Some(if unescape {
                        unescape_formula(&text).to_string()
                    } else {
                        text
                    })
                })
                .collect(),
        })
        .collect()
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<SheetRow>>> {
    let mut book = Workbook::open(bytes, "register")?;
    let mut sheets = Vec::new();
    for name in book.sheet_names() {
        sheets.push(register_rows(book.read(&name)?, false));
    }
    Ok(sheets)
}

fn read_csv(bytes: &[u8]) -> Result<Vec<SheetRow>> {
    Ok(register_rows(
        spreadsheet::csv::read(bytes, "register")?,
        true,
    ))
}

/// Undo the `'` the CSV writer puts before formula-like text.
fn unescape_formula(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if looks_like_formula(text) => rest,
        _ => text,
    }
}

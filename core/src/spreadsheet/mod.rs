//! Reading untrusted spreadsheets — XLSX (calamine) and UTF-8 CSV — with
//! limits checked before and while reading. This is the one reader behind
//! every spreadsheet import: XLSForm (`gridwork form import`, the server's
//! `admin template publish`) and the household register
//! (`gridwork import register`, `Store::import_register`).
//!
//! A 3 MB workbook can unpack to gigabytes (a zip bomb), and a sheet can
//! place one cell at row 1,048,576. So, before calamine opens a workbook,
//! the zip central directory is checked ([`archive`]): the number of
//! entries, each entry's declared uncompressed size, their total and each
//! entry's compression ratio. The zip reader refuses to inflate an entry past
//! its declared size, so a lying directory fails instead of unpacking.
//! Cells are then streamed ([`xlsx`], [`csv`]) and every non-empty cell is
//! checked against the row, column, cell and text limits before it is kept.
//! Formatted but empty cells (Excel often styles whole columns) count for
//! nothing. A refusal is an [`Error::TooLarge`] naming the limit
//! (zh-CN / English); the limits are [`LIMITS`], documented in
//! `docs/forms.md`.
//!
//! Cells keep their type ([`Cell`]): date and time cells are read as ISO
//! text (`YYYY-MM-DD`, `HH:MM`), never as Excel serial numbers, and callers
//! can refuse a date where it makes no sense.
//!
//! ODS and the old binary `.xls` are not read.

mod archive;
mod cell;
pub mod csv;
pub mod xlsx;

pub use cell::Cell;

use crate::{Error, Result};
use std::io::Read;
use std::path::Path;

/// The limits of a spreadsheet import. One set for all imports: a register
/// of a large community (tens of thousands of residents) and an XLSForm with
/// long choice lists both fit well inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Size of the file itself (XLSX or CSV), in bytes.
    pub file_bytes: u64,
    /// Entries (files) inside an XLSX archive.
    pub entries: u64,
    /// Declared uncompressed size of one archive entry, in bytes.
    pub entry_bytes: u64,
    /// Declared uncompressed size of all entries together, in bytes.
    pub total_bytes: u64,
    /// Uncompressed ÷ compressed size of one entry, checked for entries
    /// larger than [`Limits::ratio_from_bytes`].
    pub ratio: u64,
    /// Entries up to this uncompressed size are not ratio-checked (tiny
    /// files compress arbitrarily well and cannot harm).
    pub ratio_from_bytes: u64,
    /// Rows of a sheet: no non-empty cell below this 1-based row number.
    pub rows: u32,
    /// Columns of a sheet: no non-empty cell right of this 1-based column.
    pub columns: u32,
    /// Non-empty cells of a whole file.
    pub cells: u64,
    /// Characters of one cell (Excel's own limit).
    pub cell_chars: usize,
    /// Bytes of cell text of a whole file (shared strings repeated in many
    /// cells count every time).
    pub text_bytes: u64,
}

const MIB: u64 = 1024 * 1024;

/// The limits every spreadsheet import uses.
pub const LIMITS: Limits = Limits {
    file_bytes: 20 * MIB,
    entries: 1_000,
    entry_bytes: 64 * MIB,
    total_bytes: 128 * MIB,
    ratio: 100,
    ratio_from_bytes: MIB,
    rows: 50_000,
    columns: 256,
    cells: 1_000_000,
    cell_chars: 32_767,
    text_bytes: 64 * MIB,
};

/// One row with at least one non-blank cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// 1-based spreadsheet row number (blank rows counted, as Excel shows).
    pub number: u32,
    /// Cells by 0-based column (index 0 is column A), up to the last
    /// non-empty one.
    pub cells: Vec<Cell>,
}

/// One sheet: its non-blank rows in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sheet {
    /// The sheet's name as written in the workbook (`""` for CSV).
    pub name: String,
    /// Rows with at least one non-blank cell, top to bottom.
    pub rows: Vec<Row>,
}

/// Read a file whose content is a spreadsheet, refusing one larger than
/// [`Limits::file_bytes`] without reading past the limit. `field` names the
/// input in the error (`xlsform`, `register`).
pub fn read_file(path: &Path, field: &str) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(LIMITS.file_bytes + 1).read_to_end(&mut bytes)?;
    check_file_size(bytes.len(), &LIMITS, field)?;
    Ok(bytes)
}

/// [`Limits::file_bytes`].
pub(crate) fn check_file_size(len: usize, limits: &Limits, field: &str) -> Result<()> {
    if len as u64 > limits.file_bytes {
        return Err(too_large(
            field,
            limits.file_bytes,
            format!(
                "文件超过 {0}（上限）/ the file is larger than {0} (the limit)",
                mib(limits.file_bytes)
            ),
        ));
    }
    Ok(())
}

/// An [`Error::TooLarge`].
pub(crate) fn too_large(field: &str, limit: u64, message: String) -> Error {
    Error::TooLarge {
        field: field.to_string(),
        limit,
        message,
    }
}

/// `20 MiB` (whole MiB) or `1234 bytes`.
pub(crate) fn mib(bytes: u64) -> String {
    if bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// What a file has used so far of the per-file limits, and the per-sheet
/// checks of one cell.
pub(crate) struct Budget<'a> {
    limits: &'a Limits,
    field: &'a str,
    cells: u64,
    text_bytes: u64,
}

impl<'a> Budget<'a> {
    pub(crate) fn new(limits: &'a Limits, field: &'a str) -> Self {
        Budget {
            limits,
            field,
            cells: 0,
            text_bytes: 0,
        }
    }

    /// Count a non-empty cell at 0-based (`row`, `col`) of sheet `sheet`
    /// (`""` for CSV) holding `text` (`None` for numbers and the like),
    /// refusing it when it is beyond a limit.
    pub(crate) fn take(
        &mut self,
        sheet: &str,
        row: u32,
        col: u32,
        text: Option<&str>,
    ) -> Result<()> {
        let l = self.limits;
        let at = if sheet.is_empty() {
            self.field.to_string()
        } else {
            format!("{}.{sheet}", self.field)
        };
        if row >= l.rows {
            return Err(too_large(
                &at,
                l.rows.into(),
                format!(
                    "工作表超过 {0} 行（上限）/ the sheet has more than {0} rows (the limit)",
                    l.rows
                ),
            ));
        }
        if col >= l.columns {
            return Err(too_large(
                &at,
                l.columns.into(),
                format!(
                    "工作表超过 {0} 列（上限）/ the sheet has more than {0} columns (the limit)",
                    l.columns
                ),
            ));
        }
        self.cells += 1;
        if self.cells > l.cells {
            return Err(too_large(
                self.field,
                l.cells,
                format!(
                    "文件超过 {0} 个非空单元格（上限）/ the file has more than {0} non-empty cells (the limit)",
                    l.cells
                ),
            ));
        }
        if let Some(text) = text {
            // Bytes first: cheap, and a bound on the characters.
            if text.len() > l.cell_chars && text.chars().count() > l.cell_chars {
                return Err(too_large(
                    &format!("{at}.row{}", row + 1),
                    l.cell_chars as u64,
                    format!(
                        "单元格超过 {0} 个字符（上限）/ a cell has more than {0} characters (the limit)",
                        l.cell_chars
                    ),
                ));
            }
            self.text_bytes += text.len() as u64;
            if self.text_bytes > l.text_bytes {
                return Err(too_large(
                    self.field,
                    l.text_bytes,
                    format!(
                        "文件的单元格文字超过 {0}（上限）/ the cell text of the file exceeds {0} (the limit)",
                        mib(l.text_bytes)
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests;

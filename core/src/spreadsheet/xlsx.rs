//! XLSX workbooks: the [archive check](super::archive) before calamine opens
//! one, then each sheet streamed cell by cell against the [`Limits`] (so a
//! sheet declaring a million rows allocates nothing for them).

use super::{archive, check_file_size, Budget, Cell, Limits, Row, Sheet, LIMITS};
use crate::{Error, Result};
use calamine::{Reader, Xlsx};
use std::collections::BTreeMap;
use std::io::Cursor;

/// An opened workbook whose archive passed the checks.
pub struct Workbook<'a> {
    book: Xlsx<Cursor<&'a [u8]>>,
    field: String,
    limits: Limits,
    cells: u64,
    text_bytes: u64,
}

impl std::fmt::Debug for Workbook<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workbook")
            .field("field", &self.field)
            .finish_non_exhaustive()
    }
}

impl<'a> Workbook<'a> {
    /// Open the `.xlsx` file `bytes` with the [`LIMITS`]; `field` names the
    /// input in errors (`xlsform`, `register`). A file beyond a limit is an
    /// [`Error::TooLarge`]; one that is not a workbook an
    /// [`Error::Validation`].
    pub fn open(bytes: &'a [u8], field: &str) -> Result<Workbook<'a>> {
        Self::open_with(bytes, field, LIMITS)
    }

    /// [`Workbook::open`] with other limits (tests).
    pub(crate) fn open_with(bytes: &'a [u8], field: &str, limits: Limits) -> Result<Workbook<'a>> {
        check_file_size(bytes.len(), &limits, field)?;
        archive::check(bytes, &limits, field)?;
        let not_xlsx = || Error::invalid(field, "不是有效的 xlsx 文件 / not a readable .xlsx file");
        let book = without_panics(|| calamine::open_workbook_from_rs(Cursor::new(bytes)))
            .ok_or_else(not_xlsx)?
            .map_err(|_| not_xlsx())?;
        Ok(Workbook {
            book,
            field: field.to_string(),
            limits,
            cells: 0,
            text_bytes: 0,
        })
    }

    /// The sheet names in workbook order.
    pub fn sheet_names(&self) -> Vec<String> {
        self.book.sheet_names()
    }

    /// Read the sheet `name` (as [`Workbook::sheet_names`] spells it). The
    /// cell and text limits count over every sheet read from this workbook.
    pub fn read(&mut self, name: &str) -> Result<Sheet> {
        let field = format!("{}.{name}", self.field);
        without_panics(|| self.read_cells(name)).unwrap_or_else(|| {
            Err(Error::invalid(
                field,
                "工作表无法读取 / the sheet cannot be read",
            ))
        })
    }

    fn read_cells(&mut self, name: &str) -> Result<Sheet> {
        let unreadable = || {
            Error::invalid(
                format!("{}.{name}", self.field),
                "工作表无法读取 / the sheet cannot be read",
            )
        };
        let mut budget = Budget::new(&self.limits, &self.field);
        budget.cells = self.cells;
        budget.text_bytes = self.text_bytes;
        let mut rows: BTreeMap<u32, Vec<Cell>> = BTreeMap::new();
        let mut reader = self
            .book
            .worksheet_cells_reader(name)
            .map_err(|_| unreadable())?;
        while let Some(cell) = reader.next_cell().map_err(|_| unreadable())? {
            let (row, col) = cell.get_position();
            let value = Cell::from_calamine(cell.get_value().clone());
            if value.is_empty() {
                continue;
            }
            let text = match &value {
                Cell::Text(s) => Some(s.as_str()),
                _ => None,
            };
            budget.take(name, row, col, text)?;
            let cells = rows.entry(row).or_default();
            let col = col as usize;
            if cells.len() <= col {
                cells.resize(col + 1, Cell::Empty);
            }
            cells[col] = value;
        }
        self.cells = budget.cells;
        self.text_bytes = budget.text_bytes;
        Ok(Sheet {
            name: name.to_string(),
            rows: rows
                .into_iter()
                .map(|(row, cells)| Row {
                    number: row + 1,
                    cells,
                })
                .collect(),
        })
    }
}

/// Run calamine code that a crafted file can make panic (calamine 0.38
/// multiplies a cell reference's letters without checking: a panic where
/// overflow checks are on, found by the `xlsform_import` fuzz target) and
/// turn a panic into `None`, so a bad file is refused, never a crash.
fn without_panics<T>(f: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

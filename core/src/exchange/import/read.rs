//! Reading a register file: XLSX (calamine) or CSV into sheets of
//! non-blank rows, and finding the sheet and row that hold the header.

use super::super::export::looks_like_formula;
use super::super::ExportFormat;
use super::columns::{col, match_columns};
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

/// Keep a row unless all its cells are blank.
fn push_row(rows: &mut Vec<SheetRow>, number: u32, cells: Vec<Option<String>>) {
    if cells.iter().any(|c| c.as_deref() != Some("")) {
        rows.push(SheetRow { number, cells });
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<SheetRow>>> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|_| {
            Error::invalid(
                "register",
                "不是有效的 xlsx 工作簿 / not a valid xlsx workbook",
            )
        })?;
    let mut sheets = Vec::new();
    for name in book.sheet_names() {
        let range = crate::sheet_range::worksheet_range(&mut book, &name)
            .map_err(|_| Error::invalid("register", "工作表无法读取 / a sheet cannot be read"))?;
        let (first_row, _) = range.start().unwrap_or((0, 0));
        let mut rows = Vec::new();
        for (i, cells) in range.rows().enumerate() {
            let cells = cells.iter().map(xlsx_cell_text).collect();
            push_row(&mut rows, first_row + i as u32 + 1, cells);
        }
        sheets.push(rows);
    }
    Ok(sheets)
}

/// A cell as trimmed text; whole numbers without a decimal point, dates as
/// `YYYY-MM-DD`; `None` for an error value.
fn xlsx_cell_text(cell: &calamine::Data) -> Option<String> {
    use calamine::Data;
    Some(match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, m, day, h, min, _, _) = d.to_ymd_hms_milli();
            if (h, min) == (0, 0) {
                format!("{y:04}-{m:02}-{day:02}")
            } else {
                format!("{y:04}-{m:02}-{day:02} {h:02}:{min:02}")
            }
        }
        Data::DateTime(d) => d.as_f64().to_string(),
        Data::Error(_) => return None,
    })
}

fn read_csv(bytes: &[u8]) -> Result<Vec<SheetRow>> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::invalid(
            "register",
            "CSV 文件不是 UTF-8 编码：请另存为“CSV UTF-8”或使用 xlsx / the CSV file is not UTF-8: save it as CSV UTF-8 or use xlsx",
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // The spreadsheet row of a record: 1 + the line breaks before it (blank
    // lines count), less those inside quoted values of earlier records (Excel
    // shows such a record as one row). The reader's own line numbers are not
    // used: with CRLF it counts a record's terminator to the next record.
    let bytes = text.as_bytes();
    let (mut scanned, mut breaks, mut inner_breaks) = (0usize, 0u64, 0u64);
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Error::invalid(
                "register",
                format!("CSV 格式错误（约第 {line} 行）/ malformed CSV near line {line}"),
            )
        })?;
        let mut start = record.position().map_or(0, |p| p.byte() as usize);
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > scanned {
            breaks += count_breaks(&bytes[scanned..start]);
            scanned = start;
        }
        let number = (1 + breaks).saturating_sub(inner_breaks) as u32;
        inner_breaks += record
            .iter()
            .map(|f| count_breaks(f.as_bytes()))
            .sum::<u64>();
        let cells = record
            .iter()
            .map(|f| Some(unescape_formula(f.trim()).to_string()))
            .collect();
        push_row(&mut rows, number, cells);
    }
    Ok(rows)
}

/// Line breaks in `bytes`: CRLF, LF or a lone CR each count once.
fn count_breaks(bytes: &[u8]) -> u64 {
    let mut n = 0;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\n' => n += 1,
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => n += 1,
            _ => {}
        }
    }
    n
}

/// Undo the `'` the CSV writer puts before formula-like text.
fn unescape_formula(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if looks_like_formula(text) => rest,
        _ => text,
    }
}

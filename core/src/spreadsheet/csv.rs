//! UTF-8 CSV files (a byte-order mark allowed) as one [`Sheet`], checked
//! against the same [`Limits`] as workbooks: file size first, then rows,
//! columns, cells and text while reading. Every cell is text.

use super::{check_file_size, Budget, Cell, Limits, Row, Sheet, LIMITS};
use crate::{Error, Result};

/// Read the CSV file `bytes` with the [`LIMITS`]; `field` names the input
/// in errors. Records are numbered as a spreadsheet shows them: 1 + the
/// line breaks before them, blank lines counted, breaks inside quoted values
/// of earlier records not.
pub fn read(bytes: &[u8], field: &str) -> Result<Sheet> {
    read_with(bytes, field, &LIMITS)
}

/// [`read`] with other limits (tests).
pub(crate) fn read_with(bytes: &[u8], field: &str, limits: &Limits) -> Result<Sheet> {
    check_file_size(bytes.len(), limits, field)?;
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::invalid(
            field,
            "CSV 文件不是 UTF-8 编码：请另存为“CSV UTF-8”或使用 xlsx / the CSV file is not UTF-8: save it as CSV UTF-8 or use xlsx",
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut budget = Budget::new(limits, field);
    let mut rows = Vec::new();
    // The reader's own line numbers are not used: with CRLF it counts a
    // record's terminator to the next record.
    let bytes = text.as_bytes();
    let (mut scanned, mut breaks, mut inner_breaks) = (0usize, 0u64, 0u64);
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Error::invalid(
                field,
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
        let number = u32::try_from((1 + breaks).saturating_sub(inner_breaks)).unwrap_or(u32::MAX);
        inner_breaks += record
            .iter()
            .map(|f| count_breaks(f.as_bytes()))
            .sum::<u64>();
        // Cells up to the last non-empty one: a line of a million commas
        // allocates nothing.
        let mut cells = Vec::new();
        for (col, value) in record.iter().enumerate() {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            budget.take(
                "",
                number.saturating_sub(1),
                u32::try_from(col).unwrap_or(u32::MAX),
                Some(value),
            )?;
            cells.resize(col, Cell::Empty);
            cells.push(Cell::Text(value.to_string()));
        }
        if !cells.is_empty() {
            rows.push(Row { number, cells });
        }
    }
    Ok(Sheet {
        name: String::new(),
        rows,
    })
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

//! The register import reads through the shared, size-limited spreadsheet
//! reader: a zip bomb, too many rows or columns are refused as a whole with
//! `Error::TooLarge` and nothing is stored; date cells arrive as ISO text.

use super::import::read_sheets;
use super::ExportFormat;
use crate::spreadsheet::LIMITS;
use crate::{Error, Store};
use tempfile::TempDir;

fn store(dir: &TempDir) -> Store {
    super::tests::store(dir, "a.db")
}

/// `(field, limit)` of a `TooLarge`.
fn too_large<T: std::fmt::Debug>(result: crate::Result<T>) -> (String, u64) {
    match result {
        Err(Error::TooLarge { field, limit, .. }) => (field, limit),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn a_zip_bomb_register_is_refused_and_nothing_is_stored() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir);
    let heads = s.doc_heads().unwrap();
    let bomb = crate::spreadsheet::tests::zip_bomb();
    assert_eq!(
        too_large(s.import_register(&bomb, ExportFormat::Xlsx)),
        ("register".to_string(), LIMITS.entry_bytes)
    );
    assert_eq!(s.doc_heads().unwrap(), heads);
}

#[test]
fn a_register_past_the_row_or_column_limit_is_refused() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir);
    let heads = s.doc_heads().unwrap();
    // CSV: the address of row 50,001.
    let mut csv = "address\n幸福里1号\n".to_string();
    csv.push_str(&"\n".repeat(LIMITS.rows as usize - 2));
    csv.push_str("幸福里2号\n");
    assert_eq!(
        too_large(s.import_register(csv.as_bytes(), ExportFormat::Csv)),
        ("register".to_string(), 50_000)
    );
    // XLSX: a cell in column 257 (IW).
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "address").unwrap();
    sheet.write_string(1, 0, "幸福里1号").unwrap();
    sheet.write_string(1, 256, "x").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    assert_eq!(
        too_large(s.import_register(&bytes, ExportFormat::Xlsx)),
        ("register.Sheet1".to_string(), 256)
    );
    assert_eq!(s.doc_heads().unwrap(), heads);
}

#[test]
fn date_and_time_cells_of_a_register_are_iso_text() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy/m/d");
    let time = rust_xlsxwriter::Format::new().set_num_format("h:mm");
    sheet.write_string(0, 0, "address").unwrap();
    sheet.write_string(0, 1, "birth_date").unwrap();
    sheet.write_string(1, 0, "幸福里1号").unwrap();
    let born = rust_xlsxwriter::ExcelDateTime::from_ymd(1950, 3, 7).unwrap();
    sheet
        .write_datetime_with_format(1, 1, &born, &date)
        .unwrap();
    let eight = rust_xlsxwriter::ExcelDateTime::from_hms(8, 0, 0).unwrap();
    sheet
        .write_datetime_with_format(1, 2, &eight, &time)
        .unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let sheets = read_sheets(&bytes, ExportFormat::Xlsx).unwrap();
    let cells: Vec<String> = sheets[0][1]
        .cells
        .iter()
        .map(|c| c.clone().unwrap())
        .collect();
    assert_eq!(cells, ["幸福里1号", "1950-03-07", "08:00"]);
}

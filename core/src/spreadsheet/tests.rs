//! The shared spreadsheet reader: zip-bomb checks before anything is
//! inflated, row / column / cell / text limits while reading, typed cells.

use super::xlsx::Workbook;
use super::{csv, Cell, Limits, LIMITS};
use crate::Error;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook as Writer};
use std::io::{Cursor, Write};
use std::time::Instant;

/// An ordinary workbook: one sheet, `A1 = name`.
fn plain_book() -> Vec<u8> {
    let mut book = Writer::new();
    book.add_worksheet().write_string(0, 0, "name").unwrap();
    book.save_to_buffer().unwrap()
}

/// `plain_book` with the sheet XML replaced by `sheet` (deflated).
fn with_sheet(sheet: &[u8]) -> Vec<u8> {
    let source = plain_book();
    let mut archive = zip::ZipArchive::new(Cursor::new(&source)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        if name == "xl/worksheets/sheet1.xml" {
            drop(entry);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            out.start_file(name, options).unwrap();
            out.write_all(sheet).unwrap();
        } else {
            out.raw_copy_file(entry).unwrap();
        }
    }
    out.finish().unwrap().into_inner()
}

/// Overwrite the uncompressed size that the central directory (and the
/// local header) declares for entry `name` — what a crafted zip bomb does.
fn declare_size(zip: &mut [u8], name: &str, size: u32) {
    let mut patched = 0;
    for i in 0..zip.len().saturating_sub(46) {
        let (signature, size_at, name_len_at, name_at) = match &zip[i..i + 4] {
            b"PK\x01\x02" => (1, 24, 28, 46),
            b"PK\x03\x04" => (2, 22, 26, 30),
            _ => continue,
        };
        let len = u16::from_le_bytes([zip[i + name_len_at], zip[i + name_len_at + 1]]) as usize;
        if &zip[i + name_at..i + name_at + len] == name.as_bytes() {
            zip[i + size_at..i + size_at + 4].copy_from_slice(&size.to_le_bytes());
            patched |= signature;
        }
    }
    assert_eq!(patched, 3, "both headers of {name} patched");
}

/// The workbook of the issue: a few kilobytes whose sheet declares 3 GB.
pub(crate) fn zip_bomb() -> Vec<u8> {
    let mut bomb = plain_book();
    declare_size(&mut bomb, "xl/worksheets/sheet1.xml", 3_000_000_000);
    bomb
}

fn too_large(result: crate::Result<impl std::fmt::Debug>) -> (String, u64, String) {
    match result {
        Err(Error::TooLarge {
            field,
            limit,
            message,
        }) => (field, limit, message),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

fn sheet_of(bytes: &[u8]) -> crate::Result<super::Sheet> {
    let mut book = Workbook::open(bytes, "test")?;
    let name = book.sheet_names().remove(0);
    book.read(&name)
}

#[test]
fn an_ordinary_workbook_passes_the_archive_checks() {
    let sheet = sheet_of(&plain_book()).unwrap();
    assert_eq!(sheet.rows.len(), 1);
    assert_eq!(sheet.rows[0].cells, [Cell::Text("name".into())]);
}

#[test]
fn a_zip_bomb_is_refused_from_its_central_directory_before_inflating() {
    // 3 GB declared for a sheet that is a few hundred bytes packed: the
    // 3 MB → 3 GB workbook of the issue. Nothing is inflated: the check is
    // on the directory, so it is instant.
    let bomb = zip_bomb();
    let started = Instant::now();
    let (field, limit, message) = too_large(Workbook::open(&bomb, "xlsform"));
    assert!(started.elapsed().as_secs() < 2);
    assert_eq!(field, "xlsform");
    assert_eq!(limit, LIMITS.entry_bytes);
    assert!(message.contains("64 MiB"), "{message}");
    assert!(
        message.contains("解压后") && message.contains("unpacks"),
        "{message}"
    );
}

#[test]
fn an_archive_compressed_like_a_bomb_is_refused_by_its_ratio() {
    // 8 MiB of one repeated byte deflates about 1000:1: declared honestly,
    // under the size limits, but no spreadsheet compresses like that.
    let mut sheet = b"<?xml version=\"1.0\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>".to_vec();
    sheet.resize(sheet.len() + 8 * 1024 * 1024, b' ');
    sheet.extend_from_slice(b"</sheetData></worksheet>");
    let bomb = with_sheet(&sheet);
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    let (_, limit, message) = too_large(Workbook::open(&bomb, "register"));
    assert_eq!(limit, LIMITS.ratio);
    assert!(message.contains("100:1"), "{message}");
}

#[test]
fn the_total_unpacked_size_and_the_entry_count_are_limited() {
    let book = plain_book();
    let entries = zip::ZipArchive::new(Cursor::new(&book)).unwrap().len() as u64;
    let small = Limits {
        total_bytes: 1_000,
        ..LIMITS
    };
    let (_, limit, _) = too_large(Workbook::open_with(&book, "x", small));
    assert_eq!(limit, 1_000);
    let few = Limits {
        entries: entries - 1,
        ..LIMITS
    };
    let (_, limit, _) = too_large(Workbook::open_with(&book, "x", few));
    assert_eq!(limit, entries - 1);
    assert!(Workbook::open_with(&book, "x", Limits { entries, ..LIMITS }).is_ok());
}

#[test]
fn an_entry_larger_than_it_declares_fails_instead_of_unpacking() {
    // The directory understates the sheet (passing the size checks): the
    // zip reader stops at the declared size, so the sheet cannot be read.
    let mut rows = String::new();
    for r in 1..=2000 {
        rows.push_str(&format!(
            "<row r=\"{r}\"><c r=\"A{r}\" t=\"inlineStr\"><is><t>x</t></is></c></row>"
        ));
    }
    let sheet = format!("<?xml version=\"1.0\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>{rows}</sheetData></worksheet>");
    let honest = with_sheet(sheet.as_bytes());
    assert_eq!(sheet_of(&honest).unwrap().rows.len(), 2000);
    let mut liar = honest.clone();
    declare_size(&mut liar, "xl/worksheets/sheet1.xml", 1000);
    match sheet_of(&liar) {
        Err(Error::Validation { message, .. }) => {
            assert!(message.contains("cannot be read"), "{message}")
        }
        other => panic!("expected the sheet to be unreadable, got {other:?}"),
    }
}

#[test]
fn rows_and_columns_are_bounded_while_reading() {
    let last_row = LIMITS.rows - 1;
    let last_col = (LIMITS.columns - 1) as u16;
    let book_with = |row: u32, col: u16| {
        let mut book = Writer::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "name").unwrap();
        sheet.write_string(row, col, "x").unwrap();
        // Formatted empty cells far out (whole styled columns) count nothing.
        sheet
            .write_blank(1_000_000, 16_000, &Format::new().set_bold())
            .unwrap();
        book.save_to_buffer().unwrap()
    };
    let sheet = sheet_of(&book_with(last_row, last_col)).unwrap();
    assert_eq!(sheet.rows.last().unwrap().number, LIMITS.rows);
    assert_eq!(
        sheet.rows.last().unwrap().cells.len(),
        LIMITS.columns as usize
    );

    let (field, limit, message) = too_large(sheet_of(&book_with(last_row + 1, 0)));
    assert_eq!((field.as_str(), limit), ("test.Sheet1", 50_000));
    assert!(message.contains("50000 rows"), "{message}");
    let (_, limit, message) = too_large(sheet_of(&book_with(0, last_col + 1)));
    assert_eq!(limit, 256);
    assert!(message.contains("256 columns"), "{message}");
}

#[test]
fn cells_and_text_are_bounded_per_file() {
    let mut book = Writer::new();
    let sheet = book.add_worksheet();
    for r in 0..10 {
        sheet.write_string(r, 0, "abcdefghij").unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let read = |limits: Limits| {
        let mut book = Workbook::open_with(&bytes, "t", limits)?;
        book.read("Sheet1")
    };
    assert!(read(Limits {
        cells: 10,
        text_bytes: 100,
        ..LIMITS
    })
    .is_ok());
    assert_eq!(too_large(read(Limits { cells: 9, ..LIMITS })).1, 9);
    assert_eq!(
        too_large(read(Limits {
            text_bytes: 99,
            ..LIMITS
        }))
        .1,
        99
    );
}

#[test]
fn csv_size_rows_columns_and_cell_length_are_bounded() {
    let (_, limit, message) = too_large(csv::read_with(
        b"a,b\n1,2\n",
        "register",
        &Limits {
            file_bytes: 4,
            ..LIMITS
        },
    ));
    assert_eq!(limit, 4);
    assert!(message.contains("4 bytes"), "{message}");
    assert!(csv::read(&vec![b'a'; (LIMITS.file_bytes + 1) as usize], "register").is_err());

    // Row 50,000 is the last; blank lines count as rows.
    let mut text = "name\n".to_string();
    text.push_str(&"\n".repeat(LIMITS.rows as usize - 2));
    text.push_str("last\n");
    let sheet = csv::read(text.as_bytes(), "register").unwrap();
    assert_eq!(sheet.rows.last().unwrap().number, LIMITS.rows);
    text.insert(0, '\n');
    let (field, limit, _) = too_large(csv::read(text.as_bytes(), "register"));
    assert_eq!((field.as_str(), limit), ("register", 50_000));

    let wide = format!("{}x\n", ",".repeat(LIMITS.columns as usize));
    assert_eq!(too_large(csv::read(wide.as_bytes(), "register")).1, 256);
    // A million empty fields allocate nothing and break no limit.
    let commas = format!("a{}\n", ",".repeat(1_000_000));
    assert_eq!(
        csv::read(commas.as_bytes(), "register").unwrap().rows[0]
            .cells
            .len(),
        1
    );

    let long = "长".repeat(LIMITS.cell_chars + 1);
    let (field, limit, _) = too_large(csv::read(format!("a\n{long}\n").as_bytes(), "register"));
    assert_eq!((field.as_str(), limit), ("register.row2", 32_767));
    assert!(csv::read(
        format!("a\n{}\n", "长".repeat(LIMITS.cell_chars)).as_bytes(),
        "register"
    )
    .is_ok());
}

#[test]
fn read_file_refuses_a_file_past_the_limit_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(LIMITS.file_bytes + 1).unwrap();
    let (field, limit, message) = too_large(super::read_file(&path, "register"));
    assert_eq!((field.as_str(), limit), ("register", LIMITS.file_bytes));
    assert!(message.contains("20 MiB"), "{message}");
    let path = dir.path().join("ok.csv");
    std::fs::write(&path, "a\n").unwrap();
    assert_eq!(super::read_file(&path, "x").unwrap(), b"a\n");
}

#[test]
fn date_and_time_cells_are_read_as_iso_text_not_serial_numbers() {
    let mut book = Writer::new();
    let sheet = book.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let time = Format::new().set_num_format("hh:mm");
    let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let hours = Format::new().set_num_format("[h]:mm");
    let day = ExcelDateTime::from_ymd(2024, 11, 30).unwrap();
    sheet.write_datetime_with_format(0, 0, &day, &date).unwrap();
    let eight = ExcelDateTime::from_hms(8, 0, 0).unwrap();
    sheet
        .write_datetime_with_format(0, 1, &eight, &time)
        .unwrap();
    let at = ExcelDateTime::from_ymd(2026, 1, 1)
        .unwrap()
        .and_hms(8, 30, 15)
        .unwrap();
    sheet.write_datetime_with_format(0, 2, &at, &stamp).unwrap();
    sheet.write_number_with_format(0, 3, 1.5, &hours).unwrap();
    sheet.write_number(0, 4, 45625.0).unwrap();
    sheet.write_number(0, 5, 0.25).unwrap();
    sheet.write_boolean(0, 6, true).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let cells = sheet_of(&bytes).unwrap().rows.remove(0).cells;
    assert_eq!(
        cells,
        [
            Cell::Date("2024-11-30".into()),
            Cell::Time("08:00".into()),
            Cell::DateTime("2026-01-01 08:30:15".into()),
            Cell::Duration("36:00".into()),
            Cell::Float(45625.0),
            Cell::Float(0.25),
            Cell::Bool(true),
        ]
    );
    let texts: Vec<String> = cells.iter().map(|c| c.text().unwrap()).collect();
    assert_eq!(
        texts[..5],
        [
            "2024-11-30",
            "08:00",
            "2026-01-01 08:30:15",
            "36:00",
            "45625"
        ]
    );
    assert!(cells[..4].iter().all(Cell::is_temporal));
    assert!(!cells[4].is_temporal());
}

/// Found by the `xlsform_import` fuzz target: calamine 0.38 overflows on a
/// cell reference with a long run of letters (a panic with overflow
/// checks). The file is refused; nothing panics out of the reader.
#[test]
fn a_cell_reference_calamine_cannot_parse_is_refused_not_a_crash() {
    let sheet = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="AAAAAAAAAAAAAAAAAAAAAAAA1" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>"#;
    let bytes = with_sheet(sheet);
    let outcome = std::panic::catch_unwind(|| sheet_of(&bytes).map(|s| s.rows.len()));
    assert!(outcome.is_ok(), "the reader panicked");
}

//! Reading spreadsheets that come from outside (register imports, XLSForm
//! workbooks, published templates) without being made to inflate or hold
//! more than a few tens of megabytes: the one place that opens an `.xlsx`
//! and bounds a CSV, used by `exchange` and `forms`.
//!
//! An `.xlsx` is a zip. Before calamine reads anything, every entry is
//! inflated into nothing, up to [`MAX_ENTRY_BYTES`] each and
//! [`MAX_UNPACKED_BYTES`] in all: the real sizes count, not those the zip's
//! directory declares (a zip bomb lies there). A sheet then read may have at
//! most [`MAX_ROWS`] rows and [`MAX_COLUMNS`] columns. A CSV may have at most
//! [`MAX_CSV_BYTES`]. Every refusal is a typed `Validation` error naming the
//! limit (zh-CN, then English).

use crate::{Error, Result};
use std::io::{Cursor, Read};

/// Largest `.xlsx` or `.csv` file read.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;
/// Largest unpacked size of one entry of an `.xlsx` (a sheet's XML).
pub const MAX_ENTRY_BYTES: u64 = 64 * 1024 * 1024;
/// Largest unpacked size of all entries of an `.xlsx`.
pub const MAX_UNPACKED_BYTES: u64 = 128 * 1024 * 1024;
/// Most entries in an `.xlsx`.
pub const MAX_ENTRIES: usize = 1_000;
/// Most rows of one sheet (a grid has 100–150 households; a town's register
/// a few tens of thousands of residents).
pub const MAX_ROWS: usize = 200_000;
/// Most columns of one sheet.
pub const MAX_COLUMNS: usize = 256;
/// Largest CSV file read.
pub const MAX_CSV_BYTES: usize = MAX_FILE_BYTES;

fn too_big(field: &str, what: String) -> Error {
    Error::invalid(field, what)
}

/// Check an `.xlsx`'s bytes (see the module header) and open it with
/// calamine. `field` names the input in errors (`register`, `xlsform`).
pub fn open_xlsx<'a>(bytes: &'a [u8], field: &str) -> Result<calamine::Xlsx<Cursor<&'a [u8]>>> {
    check_xlsx(bytes, field)?;
    calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|_| Error::invalid(field, "不是有效的 xlsx 工作簿 / not a valid xlsx workbook"))
}

/// The unpacked-size checks of [`open_xlsx`], by inflating every entry
/// into nothing (constant memory).
pub fn check_xlsx(bytes: &[u8], field: &str) -> Result<()> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_big(
            field,
            format!(
                "文件超过 {} MiB / the file is over {} MiB",
                MAX_FILE_BYTES >> 20,
                MAX_FILE_BYTES >> 20
            ),
        ));
    }
    let not_xlsx = || Error::invalid(field, "不是有效的 xlsx 工作簿 / not a valid xlsx workbook");
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| not_xlsx())?;
    if archive.len() > MAX_ENTRIES {
        return Err(too_big(
            field,
            format!(
                "工作簿内文件超过 {MAX_ENTRIES} 个 / the workbook holds more than {MAX_ENTRIES} parts"
            ),
        ));
    }
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|_| not_xlsx())?;
        if entry.size() > MAX_ENTRY_BYTES {
            return Err(entry_too_big(field));
        }
        let unpacked = std::io::copy(
            &mut (&mut entry).take(MAX_ENTRY_BYTES + 1),
            &mut std::io::sink(),
        )
        .map_err(|_| not_xlsx())?;
        if unpacked > MAX_ENTRY_BYTES {
            return Err(entry_too_big(field));
        }
        total += unpacked;
        if total > MAX_UNPACKED_BYTES {
            return Err(too_big(
                field,
                format!(
                    "工作簿解压后超过 {} MiB / the workbook unpacks to more than {} MiB",
                    MAX_UNPACKED_BYTES >> 20,
                    MAX_UNPACKED_BYTES >> 20
                ),
            ));
        }
    }
    Ok(())
}

fn entry_too_big(field: &str) -> Error {
    too_big(
        field,
        format!(
            "工作表解压后超过 {} MiB / a sheet unpacks to more than {} MiB",
            MAX_ENTRY_BYTES >> 20,
            MAX_ENTRY_BYTES >> 20
        ),
    )
}

/// Refuse a sheet of more than [`MAX_ROWS`] rows or [`MAX_COLUMNS`]
/// columns.
pub fn check_range<T: calamine::CellType>(
    range: &calamine::Range<T>,
    field: &str,
    sheet: &str,
) -> Result<()> {
    let (rows, columns) = range.get_size();
    if rows > MAX_ROWS || columns > MAX_COLUMNS {
        return Err(too_big(
            field,
            format!(
                "工作表 {sheet} 超过 {MAX_ROWS} 行或 {MAX_COLUMNS} 列 / sheet {sheet} has more than {MAX_ROWS} rows or {MAX_COLUMNS} columns"
            ),
        ));
    }
    Ok(())
}

/// Refuse a CSV larger than [`MAX_CSV_BYTES`].
pub fn check_csv(bytes: &[u8], field: &str) -> Result<()> {
    if bytes.len() > MAX_CSV_BYTES {
        return Err(too_big(
            field,
            format!(
                "文件超过 {} MiB / the file is over {} MiB",
                MAX_CSV_BYTES >> 20,
                MAX_CSV_BYTES >> 20
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A zip with one entry `name` holding `size` zero bytes, deflated
    /// (a few KB on disk for hundreds of MB unpacked).
    fn bomb(name: &str, size: u64) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(size > u32::MAX as u64);
            zip.start_file(name, options).unwrap();
            let chunk = vec![0u8; 1 << 20];
            let mut left = size;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                zip.write_all(&chunk[..n]).unwrap();
                left -= n as u64;
            }
            zip.finish().unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn a_zip_bomb_is_refused_before_calamine_reads_it() {
        let small = bomb("xl/worksheets/sheet1.xml", MAX_ENTRY_BYTES + 1);
        assert!(small.len() < 200 * 1024, "{} bytes", small.len());
        let err = check_xlsx(&small, "register").unwrap_err().to_string();
        assert!(err.starts_with("register"), "{err}");
        assert!(err.contains("MiB"), "{err}");
        assert!(open_xlsx(&small, "xlsform").is_err());
        // The XLSForm import (`form import`, `admin template publish`) and the
        // register import (`import register`) read through here.
        let err = crate::forms::xlsform::import_xlsx(&small, &Default::default())
            .err()
            .expect("refused")
            .to_string();
        assert!(err.starts_with("xlsform") && err.contains("MiB"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path().join("p.db"), None).unwrap();
        store.init("gw-1", "网格员", "G1").unwrap();
        let err = store
            .import_register(&small, crate::exchange::ExportFormat::Xlsx)
            .err()
            .expect("refused")
            .to_string();
        assert!(err.starts_with("register") && err.contains("MiB"), "{err}");
    }

    #[test]
    fn many_parts_each_under_the_limit_are_refused_in_total() {
        let mut out = Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            let chunk = vec![0u8; 1 << 20];
            for i in 0..3 {
                zip.start_file(format!("xl/part{i}.xml"), options).unwrap();
                for _ in 0..(MAX_ENTRY_BYTES >> 20) - 1 {
                    zip.write_all(&chunk).unwrap();
                }
            }
            zip.finish().unwrap();
        }
        let err = check_xlsx(out.get_ref(), "register")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unpacks to more than"), "{err}");
    }

    #[test]
    fn a_normal_workbook_and_csv_pass() {
        let mut book = rust_xlsxwriter::Workbook::new();
        book.add_worksheet().write_string(0, 0, "地址").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let mut opened = open_xlsx(&bytes, "register").unwrap();
        use calamine::Reader;
        let name = opened.sheet_names()[0].clone();
        let range = opened.worksheet_range(&name).unwrap();
        check_range(&range, "register", &name).unwrap();
        check_csv(b"a,b\n1,2\n", "register").unwrap();
        assert!(check_csv(&vec![b'a'; MAX_CSV_BYTES + 1], "register").is_err());
        assert!(check_xlsx(b"not a zip", "register").is_err());
    }
}

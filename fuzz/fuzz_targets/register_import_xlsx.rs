//! Fuzzes the household register import from XLSX, like
//! `register_import_csv`: the first byte picks raw `.xlsx` bytes (the zip
//! container and its XML) or text turned into a real workbook (see
//! `gridwork_fuzz::text_workbook`) so the cell logic is reached too. Any
//! input must import, be refused with row errors, or fail with an error.

#![no_main]

use gridwork_core::exchange::ExportFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        gridwork_fuzz::import_register(rest, ExportFormat::Xlsx);
    } else if let Some(book) = std::str::from_utf8(rest)
        .ok()
        .and_then(gridwork_fuzz::text_workbook)
    {
        gridwork_fuzz::import_register(&book, ExportFormat::Xlsx);
    }
});

//! Fuzzes the XLSForm importer: staff upload workbooks from anywhere, so
//! any bytes must import or fail with an error, never panic. The first
//! byte picks the input's shape: the raw bytes of an `.xlsx` file (the zip
//! container and its XML, as calamine reads them), or — to get past the
//! container into the survey, choices and settings logic — text turned
//! into a real workbook (see `gridwork_fuzz::text_workbook`). It also picks
//! `allow_unsupported`. An imported template must pass its own check. One
//! known calamine panic is tolerated (`gridwork_fuzz::tolerating_known_panic`).

#![no_main]

use gridwork_core::forms::xlsform::{import_xlsx, ImportOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let options = ImportOptions {
        allow_unsupported: mode & 2 != 0,
        category: None,
    };
    let book = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let Some(book) = gridwork_fuzz::text_workbook(text) else {
            return;
        };
        book
    };
    let imported = gridwork_fuzz::tolerating_known_panic(|| import_xlsx(&book, &options));
    if let Some(Ok(imported)) = imported {
        imported
            .template
            .check()
            .expect("an imported template passes its check");
    }
});

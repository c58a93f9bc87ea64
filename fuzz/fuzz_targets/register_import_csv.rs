//! Fuzzes the household register import from CSV: offices edit exported
//! registers in spreadsheet programs and import them back, so any bytes
//! must import, be refused with row errors, or fail with an error — never
//! panic. The phone store is gw-a's on G1; after an import that stored
//! something the store is replaced by a fresh one, so every input meets an
//! empty store (deterministic crashes).

#![no_main]

use gridwork_core::exchange::ExportFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gridwork_fuzz::import_register(data, ExportFormat::Csv);
});

//! Shared set-up of the Gridwork fuzz targets (`fuzz_targets/*.rs`): the
//! server world the sync engine runs against, the phone store the register
//! import writes into, and a small text syntax for spreadsheets so that the
//! spreadsheet importers are fuzzed beyond the zip container.
//!
//! Set-up may unwrap (it is not fuzz input); the targets never unwrap what
//! depends on the input, so every panic they report is a real one.

use gridwork_core::model::{Role, Timestamp};
use gridwork_core::store::Db;
use gridwork_core::{ManualClock, Store, StoreOptions};
use gridwork_server::accounts::{self, Account};
use std::sync::Arc;

/// Now, for every target: 2026-06-01 00:00 UTC.
pub const NOW: i64 = 1_780_272_000_000;

/// The worker of the fuzzed phone and the seed corpora.
pub const WORKER: &str = "gw-a";
/// That worker's grid.
pub const GRID: &str = "G1";

/// The id of the fuzzed server.
pub const SERVER_ID: &str = "0190a1b2-0000-7000-8000-00000000f022";

/// A server database with the grids T1 → C1 → P1 → G1, G2, the gridworker
/// [`WORKER`] on [`GRID`] and gw-c on G2, the account of [`WORKER`], and
/// the server id [`SERVER_ID`].
pub struct ServerWorld {
    _dir: tempfile::TempDir,
    /// The server database.
    pub db: Arc<Db>,
    /// [`WORKER`]'s account, as the token check would produce it.
    pub account: Account,
}

impl ServerWorld {
    /// Create the world in a new temporary directory.
    pub fn new() -> ServerWorld {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(gridwork_server::db::open(&dir.path().join("server")).unwrap());
        accounts::add_grid(&db, "T1", "镇", None).unwrap();
        accounts::add_grid(&db, "C1", "社区", Some("T1")).unwrap();
        accounts::add_grid(&db, "P1", "片区", Some("C1")).unwrap();
        accounts::add_grid(&db, GRID, "一网格", Some("P1")).unwrap();
        accounts::add_grid(&db, "G2", "二网格", Some("P1")).unwrap();
        accounts::add_worker(&db, WORKER, "网格员甲", Role::Gridworker, GRID).unwrap();
        accounts::add_worker(&db, "gw-c", "网格员丙", Role::Gridworker, "G2").unwrap();
        // A fixed server id: the seed requests name it (a request naming
        // another server is answered without applying anything), and every
        // run sees the same one.
        db.write(|tx| {
            tx.conn().execute(
                "INSERT INTO server_meta (key, value) VALUES ('server_id', ?1)",
                [SERVER_ID],
            )?;
            Ok(())
        })
        .unwrap();
        let account = gridwork_server::db::read(&db, |c| accounts::account_of(c, WORKER))
            .unwrap()
            .unwrap();
        ServerWorld {
            _dir: dir,
            db,
            account,
        }
    }
}

impl Default for ServerWorld {
    fn default() -> Self {
        ServerWorld::new()
    }
}

/// A phone store of [`WORKER`] on [`GRID`] at [`NOW`], in `dir`.
pub fn phone_store(dir: &std::path::Path) -> Store {
    let store = Store::open_with(
        dir.join("phone.db"),
        StoreOptions {
            clock: Some(Arc::new(ManualClock::new(Timestamp(NOW)))),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.init(WORKER, "网格员甲", GRID).unwrap();
    store
}

/// A workbook written from text: sheets start with a line `#name`, rows are
/// lines, cells are separated by `|`. A cell `=n` with a number `n` is a
/// number cell, `?true` / `?false` a boolean; anything else is text. Lines
/// before the first `#` go to a sheet named `survey`. `None` when the writer
/// refuses the text (a bad sheet name, too many rows): not the importer's
/// problem.
pub fn text_workbook(text: &str) -> Option<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let mut sheets: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in text.split('\n') {
        if let Some(name) = line.strip_prefix('#') {
            sheets.push((name, Vec::new()));
        } else {
            if sheets.is_empty() {
                sheets.push(("survey", Vec::new()));
            }
            if let Some(last) = sheets.last_mut() {
                last.1.push(line);
            }
        }
    }
    for (name, rows) in sheets.iter().take(8) {
        let sheet = book.add_worksheet();
        sheet.set_name(*name).ok()?;
        for (r, line) in rows.iter().take(200).enumerate() {
            for (c, cell) in line.split('|').take(40).enumerate() {
                let (r, c) = (r as u32, c as u16);
                if let Some(n) = cell.strip_prefix('=').and_then(|n| n.parse::<f64>().ok()) {
                    sheet.write_number(r, c, n).ok()?;
                } else if let Some(b) = cell.strip_prefix('?') {
                    sheet.write_boolean(r, c, b == "true").ok()?;
                } else if !cell.is_empty() {
                    sheet.write_string(r, c, cell).ok()?;
                }
            }
        }
    }
    book.save_to_buffer().ok()
}

/// The phone store the register targets import into, with its directory.
static REGISTER_STORE: std::sync::Mutex<Option<(tempfile::TempDir, Store)>> =
    std::sync::Mutex::new(None);

/// Import `bytes` as a register into a phone store that holds nothing
/// (replaced after every import that stored rows). A report with row
/// errors must have stored nothing.
pub fn import_register(bytes: &[u8], format: gridwork_core::exchange::ExportFormat) {
    let mut slot = REGISTER_STORE.lock().unwrap_or_else(|e| e.into_inner());
    let (_, store) = slot.get_or_insert_with(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = phone_store(dir.path());
        (dir, store)
    });
    let imported = tolerating_known_panic(|| store.import_register(bytes, format));
    if let Some(Ok(report)) = imported {
        assert!(
            report.errors.is_empty() || !report.stored,
            "row errors but rows stored: {report:?}"
        );
        if report.stored {
            *slot = None;
        }
    }
}

thread_local! {
    /// Set by the panic hook when the panic being raised is a known one.
    static KNOWN_PANIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True for the one dependency panic the spreadsheet targets tolerate:
/// calamine 0.38's cell-reference parser multiplies without checking
/// (`src/xlsx/mod.rs`, `col * 26 + …` on a long run of letters such as
/// `r="AAAAAAAAA1"`), which panics only with overflow checks (debug builds;
/// release builds wrap and refuse the sheet later). Found by xlsform_import
/// (input `[0, b"PK\x03\x04"…]` with one bit flipped); it is calamine's to
/// fix, and left to abort it stops every xlsx target at the same spot.
fn is_known_panic(info: &std::panic::PanicHookInfo<'_>) -> bool {
    let in_calamine_xlsx = info.location().is_some_and(|l| {
        l.file().contains("calamine-0.38") && l.file().ends_with("src/xlsx/mod.rs")
    });
    let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_default();
    in_calamine_xlsx && message.contains("with overflow")
}

/// Run `f`; `None` if it raised the known dependency panic
/// ([`is_known_panic`]). Every other panic still reaches libFuzzer's hook
/// and aborts the run, as it must.
pub fn tolerating_known_panic<R>(f: impl FnOnce() -> R) -> Option<R> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        // libFuzzer's hook (installed before the first input) aborts.
        let aborting = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if is_known_panic(info) {
                KNOWN_PANIC.with(|k| k.set(true));
            } else {
                aborting(info);
            }
        }));
    });
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(payload) => {
            if KNOWN_PANIC.with(|k| k.replace(false)) {
                None
            } else {
                std::panic::resume_unwind(payload)
            }
        }
    }
}

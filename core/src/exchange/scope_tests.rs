//! Grid-scoped exports (`Store::export_in`): the server's store holds a
//! whole town; a staff member's export must hold only their grids' records.

use super::*;
use crate::clock::ManualClock;
use crate::demo::{generate_for, DemoOptions};
use crate::model::*;
use crate::{Store, StoreOptions};
use std::sync::Arc;
use tempfile::TempDir;

#[test]
fn exports_in_grids_partition_the_whole_export() {
    let dir = TempDir::new().unwrap();
    let at: jiff::Timestamp = "2026-03-10T02:00:00Z".parse().unwrap();
    let store = Store::open_with(
        dir.path().join("town.db"),
        StoreOptions {
            clock: Some(Arc::new(ManualClock::new(Timestamp::from_jiff(at)))),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.init("server", "服务器", "T1").unwrap();
    let (g1, g2) = (GridCode("G1".into()), GridCode("G2".into()));
    for (grid, worker, seed) in [(&g1, "gw-1", 3), (&g2, "gw-2", 4)] {
        let options = DemoOptions {
            households: 5,
            years: 1,
            seed,
        };
        generate_for(&store, grid, &WorkerId(worker.into()), options, |_, _| {}).unwrap();
    }
    for kind in [
        ExportKind::Households,
        ExportKind::Visits,
        ExportKind::Hazards,
        ExportKind::Cases,
    ] {
        let all = store.export_table(kind).unwrap().rows;
        let in_g1 = store
            .export_table_in(kind, std::slice::from_ref(&g1))
            .unwrap()
            .rows;
        let in_g2 = store
            .export_table_in(kind, std::slice::from_ref(&g2))
            .unwrap()
            .rows;
        let both = store
            .export_table_in(kind, &[g1.clone(), g2.clone()])
            .unwrap()
            .rows;
        assert!(!in_g1.is_empty() && !in_g2.is_empty(), "{kind:?}");
        assert_eq!(in_g1.len() + in_g2.len(), all.len(), "{kind:?}");
        assert_eq!(both, all, "{kind:?}");
        assert!(in_g1.iter().all(|r| !in_g2.contains(r)), "{kind:?}");
        let none = store
            .export_table_in(kind, &[GridCode("G9".into())])
            .unwrap();
        assert!(none.rows.is_empty(), "{kind:?}");
    }
    let bytes = store
        .export_in(ExportKind::Households, ExportFormat::Csv, &[g2])
        .unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
}

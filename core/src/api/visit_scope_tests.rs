//! A visit log is filed under its household's grid on every store, as the
//! server files it — also on a staff member's phone initialised on the
//! community above the grid (found by the network-fault test: such a phone
//! listed the visit logs under its own grid while the server had the
//! household's).

use super::*;
use crate::docs::DocId;
use crate::model::*;
use tempfile::TempDir;

fn scope_of(store: &Store, id: &DocId) -> String {
    store
        .doc_heads()
        .unwrap()
        .into_iter()
        .find(|d| d.id == id.as_str())
        .map(|d| d.scope)
        .unwrap()
}

#[test]
fn a_staff_phone_files_a_visit_log_under_the_household_grid() {
    let dir = TempDir::new().unwrap();
    let gridworker = Store::open(dir.path().join("gw.db"), None).unwrap();
    gridworker.init("gw-a", "网格员", "G1").unwrap();
    let staff = Store::open(dir.path().join("staff.db"), None).unwrap();
    staff.init("staff-c1", "社区工作人员", "C1").unwrap();
    let h = gridworker
        .add_household(NewHousehold {
            address: "幸福路 1 号".into(),
            ..Default::default()
        })
        .unwrap();
    let household = DocId::household(h.id);
    // Received as the sync client files it: under the grid it declares.
    let bytes = gridworker.export_doc(&household).unwrap();
    let now = staff.now();
    staff
        .db
        .write(|tx| {
            tx.merge_doc(
                &household,
                crate::docs::DocKind::Household,
                &GridCode("G1".into()),
                &bytes,
                now,
            )
        })
        .unwrap();
    assert_eq!(scope_of(&staff, &household), "G1");
    staff
        .record_visit(NewVisit {
            household: h.id,
            note: "社区走访".into(),
            ..Default::default()
        })
        .unwrap();
    let logs: Vec<(String, String)> = staff
        .doc_heads()
        .unwrap()
        .into_iter()
        .filter(|d| d.kind == "visit_log")
        .map(|d| (d.id, d.scope))
        .collect();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].1, "G1", "filed under the household's grid");
    assert_eq!(scope_of(&staff, &DocId(logs[0].0.clone())), "G1");
    // A visit to a household this phone does not hold is refused.
    let unknown = staff.record_visit(NewVisit {
        household: HouseholdId::new(),
        ..Default::default()
    });
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
}

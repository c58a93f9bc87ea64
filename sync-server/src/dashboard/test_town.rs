//! The small town the dashboard tests check exact figures against, built
//! through the server's write path (`*_in` functions with explicit commit
//! metadata) on an attached store.
//!
//! The clock stands at Tuesday 2026-03-10 10:00 in Shanghai; the trend's
//! weeks start on Mondays from 2025-12-22 (week 0) to 2026-03-09 (week 11).
//!
//! | grid | household | groups | visits (worker) |
//! |---|---|---|---|
//! | G-A | A1 | elderly_alone | 02-26 (gw-1), 03-05 (gw-1) |
//! | G-A | A2 | low_income | 2025-12-01 (gw-1), 02-01 (gw-1) |
//! | G-A | A3 | — | 03-02 (gw-1), 03-03 (gw-2) |
//! | G-A | A4 | resident: disabled | never |
//! | G-B | B1 | elderly_alone | 03-09 (gw-2) |
//! | G-B | B2 | — | 02-20 (gw-2) |
//! | G-C | C1 | elderly_alone | 03-06 (gw-1) — never in scope |
//!
//! G-B's policy answers cases within 10 minutes; the others keep 30.

use gridwork_core::api::{
    add_household_in, add_resident_in, append_transition_in, fill_form_in, open_case_in,
    report_hazard_in, server_meta, set_policy_in, Reader, Step,
};
use gridwork_core::clock::ManualClock;
use gridwork_core::docs::{DocId, DocKind};
use gridwork_core::model::*;
use gridwork_core::schedule::Policy;
use gridwork_core::store::sql::SqlConn;
use gridwork_core::store::{CommitMeta, Db};
use gridwork_core::{Result, Store};
use jiff::tz::TimeZone;
use std::sync::Arc;
use tempfile::TempDir;

/// A local Shanghai time `YYYY-MM-DDTHH:MM`.
fn t(local: &str) -> Timestamp {
    Timestamp::from_jiff(format!("{local}:00+08:00").parse().unwrap())
}

fn meta(worker: &str, local: &str) -> CommitMeta {
    server_meta("00aa11bb", worker, t(local)).unwrap()
}

pub(super) fn grid(code: &str) -> GridCode {
    GridCode(code.into())
}

/// The town's clock: Tuesday 2026-03-10 10:00 in Shanghai.
pub(super) fn now() -> Timestamp {
    t("2026-03-10T10:00")
}

pub(super) struct Town {
    /// The core store attached to the town's database (the phone's API).
    pub(super) store: Store,
    /// The database, for the server's write path.
    pub(super) db: Arc<Db>,
    _dir: TempDir,
}

impl Town {
    /// Run `f` with a reader over the town's database at [`now`], the way
    /// the dashboard reads it.
    pub(super) fn read<R>(
        &self,
        f: impl for<'c> FnOnce(&Reader<'c, dyn SqlConn + 'c>) -> Result<R>,
    ) -> Result<R> {
        let tz = TimeZone::get("Asia/Shanghai").expect("time zone");
        self.db
            .read(|conn| f(&Reader::new(conn as &dyn SqlConn, &tz, now())))
    }
}

impl Town {
    fn household(&self, grid_code: &str, address: &str, tags: &[&str]) -> HouseholdId {
        let id = HouseholdId::new();
        let input = NewHousehold {
            address: address.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..NewHousehold::default()
        };
        let m = meta("office", "2026-01-05T10:00");
        self.db
            .write(|tx| add_household_in(tx, id, &input, &grid(grid_code), &m))
            .unwrap();
        id
    }

    /// A visit (its log is filed under the household's grid; `_grid` names it for the reader).
    fn visit(&self, _grid: &str, household: HouseholdId, worker: &str, local: &str) {
        let input = NewVisit {
            household,
            started_at: Some(t(local)),
            ended_at: Some(t(local)),
            ..NewVisit::default()
        };
        let m = meta(worker, local);
        self.db
            .write(|tx| self.store.record_visit_in(tx, VisitId::new(), &input, &m))
            .unwrap();
    }

    fn hazard(&self, grid_code: &str, category: &str, severity: &str, local: &str) -> HazardId {
        self.hazard_due(grid_code, category, severity, local, None)
    }

    fn hazard_due(
        &self,
        grid_code: &str,
        category: &str,
        severity: &str,
        local: &str,
        deadline: Option<&str>,
    ) -> HazardId {
        let id = HazardId::new();
        let input = NewHazard {
            category: category.into(),
            severity: severity.into(),
            description: "隐患".into(),
            deadline: deadline.map(t),
            ..NewHazard::default()
        };
        let m = meta("gw-1", local);
        self.db
            .write(|tx| report_hazard_in(tx, id, &input, &grid(grid_code), &m))
            .unwrap();
        id
    }

    fn close_hazard(&self, id: HazardId, local: &str) {
        let doc = (DocId::hazard(id), DocKind::Hazard, "hazard");
        self.transition(doc, HazardState::Closed, local);
    }

    /// Append a move to `to` at `local` to the doc `(id, kind, what)`.
    fn transition<W: Workflow>(
        &self,
        (doc, kind, what): (DocId, DocKind, &'static str),
        to: W,
        local: &str,
    ) {
        let m = meta("gw-1", local);
        let id = TransitionId::new();
        self.db
            .write(|tx| append_transition_in(tx, id, &doc, kind, what, Step::to(to, ""), &m))
            .unwrap();
    }

    fn case(&self, grid_code: &str, local: &str) -> CaseId {
        let id = CaseId::new();
        let input = NewCase {
            category: "环境卫生".into(),
            description: "诉求".into(),
            opened_at: Some(t(local)),
            ..NewCase::default()
        };
        let m = meta("gw-1", local);
        self.db
            .write(|tx| open_case_in(tx, id, &input, &grid(grid_code), &m))
            .unwrap();
        id
    }

    /// A case of `category` opened by `worker` at `local`, moved by
    /// `handled_by` (ten minutes apart) through `steps`.
    pub(super) fn case_by(
        &self,
        grid_code: &str,
        category: &str,
        worker: &str,
        local: &str,
        handled_by: &str,
        steps: &[CaseState],
    ) -> CaseId {
        let id = CaseId::new();
        let input = NewCase {
            category: category.into(),
            description: "诉求".into(),
            opened_at: Some(t(local)),
            ..NewCase::default()
        };
        self.db
            .write(|tx| open_case_in(tx, id, &input, &grid(grid_code), &meta(worker, local)))
            .unwrap();
        for (i, step) in steps.iter().enumerate() {
            let at = Timestamp(t(local).0 + (i as i64 + 1) * 10 * 60_000);
            let m = server_meta("00aa11bb", handled_by, at).unwrap();
            let doc = DocId::case(id);
            self.db
                .write(|tx| {
                    append_transition_in(
                        tx,
                        TransitionId::new(),
                        &doc,
                        DocKind::Case,
                        "case",
                        Step::to(*step, ""),
                        &m,
                    )
                })
                .unwrap();
        }
        id
    }

    fn move_case(&self, id: CaseId, to: CaseState, local: &str) {
        self.transition((DocId::case(id), DocKind::Case, "case"), to, local);
    }

    fn forms(&self, worker: &str, grid_code: &str, days: &[&str]) {
        for day in days {
            let answers = [
                ("checked_at", serde_json::json!(day)),
                ("place", serde_json::json!("河道")),
                ("problems", serde_json::json!(["none"])),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            let m = meta(worker, &format!("{day}T16:00"));
            self.db
                .write(|tx| {
                    fill_form_in(
                        tx,
                        FormRecordId::new(),
                        "duty-river-care",
                        None,
                        "河道",
                        answers,
                        (&grid(grid_code), day),
                        &m,
                    )
                })
                .unwrap();
        }
    }
}

/// Ids of what the figures are checked against.
pub(super) struct Ids {
    pub(super) a: Vec<HouseholdId>,
    /// G-A newest first: HA5, HA1, HA3 (closed), HA2.
    pub(super) hazards_a: [HazardId; 4],
    pub(super) cases_b: [CaseId; 3],
    pub(super) slowest: CaseId,
}

/// The town of the module header, attached like the server's store.
pub(super) fn town() -> (Town, Ids) {
    let dir = TempDir::new().unwrap();
    let db = Arc::new(Db::open(&dir.path().join("server.db"), None).unwrap());
    let clock = Arc::new(ManualClock::new(now()));
    let store = Store::attach(db.clone(), Some(clock), "Asia/Shanghai").unwrap();
    let town = Town {
        store,
        db,
        _dir: dir,
    };

    let ten_minutes = Policy {
        first_response_minutes: 10,
        ..Policy::default()
    };
    let m = meta("staff-1", "2026-01-01T08:00");
    town.db
        .write(|tx| set_policy_in(tx, &grid("G-B"), &ten_minutes, &m))
        .unwrap();

    let a1 = town.household("G-A", "幸福里1号楼101室", &["elderly_alone"]);
    let a2 = town.household("G-A", "幸福里1号楼102室", &["low_income"]);
    let a3 = town.household("G-A", "幸福里1号楼103室", &[]);
    let a4 = town.household("G-A", "幸福里1号楼104室", &[]);
    let resident = NewResident {
        name: "赵六".into(),
        tags: vec!["disabled".into()],
        ..NewResident::default()
    };
    let m = meta("office", "2026-01-05T11:00");
    town.db
        .write(|tx| {
            add_resident_in(
                tx,
                a4,
                ResidentId::new(),
                &resident,
                &grid("G-A"),
                &m,
                jiff::civil::date(2026, 1, 5),
            )
        })
        .unwrap();
    let b1 = town.household("G-B", "和平里2号楼201室", &["elderly_alone"]);
    let b2 = town.household("G-B", "和平里2号楼202室", &[]);
    let c1 = town.household("G-C", "长安里3号楼301室", &["elderly_alone"]);

    town.visit("G-A", a1, "gw-1", "2026-02-26T10:00");
    town.visit("G-A", a1, "gw-1", "2026-03-05T10:00");
    town.visit("G-A", a2, "gw-1", "2025-12-01T10:00");
    town.visit("G-A", a2, "gw-1", "2026-02-01T10:00");
    town.visit("G-A", a3, "gw-1", "2026-03-02T10:00");
    town.visit("G-A", a3, "gw-2", "2026-03-03T10:00");
    town.visit("G-B", b1, "gw-2", "2026-03-09T10:00");
    town.visit("G-B", b2, "gw-2", "2026-02-20T10:00");
    town.visit("G-C", c1, "gw-1", "2026-03-06T10:00");

    let ha1 = town.hazard_due(
        "G-A",
        "消防安全",
        "high",
        "2026-03-03T10:00",
        Some("2026-03-08T18:00"),
    );
    let ha2 = town.hazard_due(
        "G-A",
        "消防安全",
        "high",
        "2026-02-10T10:00",
        Some("2026-03-20T18:00"),
    );
    let ha3 = town.hazard("G-A", "消防安全", "low", "2026-02-11T10:00");
    town.close_hazard(ha3, "2026-03-04T10:00");
    let ha5 = town.hazard("G-A", "消防安全", "low", "2026-03-06T10:00");
    town.hazard("G-B", "环境卫生", "medium", "2026-03-09T10:00");
    let hb2 = town.hazard("G-B", "环境卫生", "medium", "2026-01-20T10:00");
    town.close_hazard(hb2, "2026-02-15T10:00");
    town.hazard_due(
        "G-C",
        "消防安全",
        "high",
        "2026-03-09T10:00",
        Some("2026-03-09T12:00"),
    );

    let ca1 = town.case("G-A", "2026-03-02T09:00");
    town.move_case(ca1, CaseState::Registered, "2026-03-02T09:20");
    let ca2 = town.case("G-A", "2026-03-03T09:00");
    town.move_case(ca2, CaseState::Registered, "2026-03-03T09:50");
    town.case("G-A", "2026-03-10T09:00");
    let ca4 = town.case("G-A", "2026-02-10T09:00");
    for (to, at) in [
        (CaseState::Registered, "2026-02-10T09:10"),
        (CaseState::Handling, "2026-02-10T10:00"),
        (CaseState::Feedback, "2026-02-11T10:00"),
        (CaseState::Verified, "2026-02-12T10:00"),
        (CaseState::Closed, "2026-02-13T10:00"),
    ] {
        town.move_case(ca4, to, at);
    }
    let cb1 = town.case("G-B", "2026-03-04T09:00");
    town.move_case(cb1, CaseState::Registered, "2026-03-04T09:08");
    let cb2 = town.case("G-B", "2026-03-05T09:00");
    town.move_case(cb2, CaseState::Registered, "2026-03-05T09:15");
    let cb3 = town.case("G-B", "2026-03-10T09:55");
    town.case("G-C", "2026-03-06T09:00");

    town.forms("gw-1", "G-A", &["2026-02-03", "2026-02-04", "2026-02-05"]);
    town.forms(
        "gw-1",
        "G-A",
        &[
            "2026-03-01",
            "2026-03-02",
            "2026-03-03",
            "2026-03-04",
            "2026-03-05",
            "2026-03-06",
        ],
    );
    let thirteen: Vec<String> = (1..=13)
        .map(|d| format!("2026-03-{:02}", d.min(9)))
        .collect();
    let thirteen: Vec<&str> = thirteen.iter().map(String::as_str).collect();
    town.forms("gw-3", "G-D", &thirteen);

    let ids = Ids {
        a: vec![a1, a2, a3, a4],
        hazards_a: [ha5, ha1, ha3, ha2],
        cases_b: [cb3, cb2, cb1],
        slowest: ca2,
    };
    (town, ids)
}

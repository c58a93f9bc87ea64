//! The dashboard's figures on the small town of [`super::test_town`]:
//! exact counts per grid and in total, hazards by cell, cases by status,
//! response statistics under per-grid policies, the 12-week trend, the
//! evaluation of the current and a past month, scope filtering, and the
//! evaluation export read back.

use super::test_town::{grid, town};
use super::*;
use gridwork_core::exchange::ExportFormat;
use gridwork_core::Error;
use std::collections::HashSet;

/// Figures in field order: households, visited, visits, special, due,
/// overdue, open hazards, hazards overdue, open cases, past target,
/// awaiting a response past the target now.
fn figures(code: &str, counts: [u32; 11], coverage: f64) -> GridFigures {
    GridFigures {
        grid: grid(code),
        households: counts[0],
        households_visited: counts[1],
        visits_this_month: counts[2],
        coverage,
        special_group_households: counts[3],
        special_due: counts[4],
        special_overdue: counts[5],
        open_hazards: counts[6],
        hazards_overdue: counts[7],
        open_cases: counts[8],
        cases_past_response_target: counts[9],
        cases_awaiting_overdue: counts[10],
    }
}

fn scope_abd() -> Vec<GridCode> {
    vec![grid("G-B"), grid("G-A"), grid("G-D")]
}

#[test]
fn overview_counts_each_grid_and_the_totals() {
    let (town, ids) = town();
    let o = town.read(|r| overview(r, &scope_abd())).unwrap();
    assert_eq!(o.month, "2026-03");
    assert_eq!(
        o.grids,
        vec![
            figures("G-B", [2, 1, 1, 1, 0, 0, 1, 0, 3, 1, 0], 0.5),
            figures("G-A", [4, 2, 3, 3, 1, 2, 3, 1, 3, 2, 1], 0.5),
            figures("G-D", [0; 11], 0.0),
        ]
    );
    assert_eq!(
        o.totals,
        figures("", [6, 3, 4, 4, 1, 2, 4, 1, 6, 3, 1], 0.5)
    );
    let cells: Vec<_> = o
        .hazards_by_category
        .iter()
        .map(|c| (c.category.as_str(), c.severity.as_str(), c.open, c.overdue))
        .collect();
    assert_eq!(
        cells,
        vec![
            ("消防安全", "low", 1, 0),
            ("消防安全", "high", 2, 1),
            ("环境卫生", "medium", 1, 0),
        ]
    );
    let statuses: Vec<_> = o
        .cases_by_status
        .iter()
        .map(|s| (s.status.as_str(), s.count))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("collected", 2),
            ("registered", 4),
            ("escalated", 0),
            ("dispatched", 0),
            ("handling", 0),
            ("feedback", 0),
            ("verified", 0),
            ("closed", 1),
        ]
    );
    // Responses this month: A 20 and 50 min (target 30), B 8 and 15 min
    // (target 10); A's 09:00 case is unanswered at 10:00, B's 09:55 one is
    // still within its 10 minutes.
    assert_eq!(
        o.response,
        ResponseStats {
            cases: 6,
            responded: 4,
            within_target: 2,
            share_within_target: 0.5,
            median_minutes: Some(17.5),
            slowest_minutes: Some(50.0),
            slowest_case: Some(ids.slowest),
            awaiting_overdue: 1,
            target_minutes: 30,
            unverified: 0,
        }
    );
}

#[test]
fn first_responses_and_the_evaluation_use_the_times_the_server_checked() {
    let (town, _) = town();
    let local =
        |s: &str| -> i64 { Timestamp::from_jiff(format!("{s}:00+08:00").parse().unwrap()).0 };
    let check = |doc: &str, item: &str, claimed: i64, received: i64, status: &str| {
        town.db
            .write(|tx| {
                tx.conn().execute(
                    "INSERT INTO time_checks (doc_id, item, claimed_at, received_at, status)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    rusqlite::params![doc, item, claimed, received, status],
                )?;
                Ok(())
            })
            .unwrap();
    };
    // G-B's case answered in 8 minutes: the phone that answered had its
    // clock wrong, and the server received the answer 40 minutes after the
    // case was opened.
    let (case, first, opened): (String, String, i64) = town
        .db
        .read(|c| {
            Ok(c.query_row(
                "SELECT c.id, t.id, c.opened_at FROM cases c JOIN case_transitions t ON t.case_id = c.id
                 WHERE c.grid = 'G-B' AND c.first_response_at - c.opened_at = 480000
                 ORDER BY t.at, t.id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .unwrap();
    let case_doc = format!("case/{case}");
    check(&case_doc, "", opened, opened + 60_000, "ok");
    check(
        &case_doc,
        &first,
        opened + 480_000,
        opened + 2_400_000,
        "clock_off",
    );
    // gw-1's visit to A3 on 03-02 claims a time after the server got it
    // (in April); the one to A1 on 03-05 arrived months late (unverified,
    // but it keeps its time).
    let visit = |local_day: &str| -> (String, String, i64) {
        town.db
            .read(|c| {
                Ok(c.query_row(
                    "SELECT d.id, v.id, v.started_at FROM visits v JOIN docs d ON d.key = v.doc_key
                     WHERE v.worker_id = 'gw-1' AND v.started_at = ?1",
                    [local(local_day)],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?)
            })
            .unwrap()
    };
    let (a3_log, a3_visit, a3_at) = visit("2026-03-02T10:00");
    check(
        &a3_log,
        &a3_visit,
        a3_at,
        local("2026-04-01T09:00"),
        "future",
    );
    let (a1_log, a1_visit, a1_at) = visit("2026-03-05T10:00");
    check(&a1_log, &a1_visit, a1_at, a1_at + 40 * 86_400_000, "late");

    // Responses this month: A 20 and 50 min, B now 40 (late) and 15.
    let r = town.read(|r| overview(r, &scope_abd())).unwrap().response;
    assert_eq!((r.responded, r.within_target, r.unverified), (4, 1, 1));
    assert_eq!(r.median_minutes, Some(30.0));

    let rows = town
        .read(|r| evaluation(r, &evaluees(), "2026-03"))
        .unwrap();
    let row = |w: &str| rows.iter().find(|r| r.worker.as_str() == w).unwrap();
    // gw-2: neither response counts on time now; one unverified time.
    assert_eq!(counts(row("gw-2"))[4..6], [2, 0]);
    assert_eq!(row("gw-2").unverified, 1);
    // gw-1: A3's visit is not March's any more; A1's late one still is.
    assert_eq!(row("gw-1").households_visited, 1);
    assert_eq!(row("gw-1").unverified, 1);
    assert_eq!(row("gw-3").unverified, 0);
}

#[test]
fn trend_has_twelve_weeks_with_each_record_in_its_week() {
    let (town, _) = town();
    let o = town.read(|r| overview(r, &scope_abd())).unwrap();
    assert_eq!(o.trend.len(), 12);
    assert_eq!(o.trend[0].week_start, "2025-12-22");
    assert_eq!(o.trend[11].week_start, "2026-03-09");
    let rows: Vec<_> = o
        .trend
        .iter()
        .map(|w| {
            (
                w.visits,
                w.households_visited,
                w.cases_opened,
                w.hazards_reported,
            )
        })
        .collect();
    let mut expected = vec![(0, 0, 0, 0); 12];
    expected[4] = (0, 0, 0, 1); // 01-20 hazard in G-B
    expected[5] = (1, 1, 0, 0); // 02-01 visit to A2
    expected[7] = (0, 0, 1, 2); // 02-10 case, 02-10 and 02-11 hazards
    expected[8] = (1, 1, 0, 0); // 02-20 visit to B2
    expected[9] = (1, 1, 0, 0); // 02-26 visit to A1
    expected[10] = (3, 2, 4, 2); // A3 twice, A1; four cases; two hazards
    expected[11] = (1, 1, 2, 1); // B1; two cases today; one hazard
    assert_eq!(rows, expected);
}

#[test]
fn a_grid_outside_the_scope_contributes_nothing() {
    let (town, _) = town();
    let c = town.read(|r| overview(r, &[grid("G-C")])).unwrap();
    assert_eq!(
        c.totals,
        figures("", [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1], 1.0)
    );
    assert_eq!(c.cases_by_status[0].count, 1);
    assert_eq!(c.response.cases, 1);
    // The same grid given twice counts once in the totals.
    let twice = town
        .read(|r| overview(r, &[grid("G-C"), grid("G-C")]))
        .unwrap();
    assert_eq!(twice.totals, c.totals);
    assert_eq!(twice.grids.len(), 2);

    let empty = town.read(|r| overview(r, &[])).unwrap();
    assert_eq!(empty.totals, figures("", [0; 11], 0.0));
    assert!(empty.hazards_by_category.is_empty());
    assert!(empty.cases_by_status.iter().all(|s| s.count == 0));
    assert_eq!(empty.trend.len(), 12);
    assert_eq!(empty.response.target_minutes, 30);
    assert!(town.read(|r| r.cases_in(&[], false)).unwrap().is_empty());
}

#[test]
fn lists_are_grid_scoped_newest_first() {
    let (town, ids) = town();
    let store = &town.store;
    let a: HashSet<_> = ids.a.iter().copied().collect();
    let expected: Vec<_> = store
        .list_households()
        .unwrap()
        .into_iter()
        .filter(|h| a.contains(&h.id))
        .collect();
    let listed = town.read(|r| r.grid_households(&grid("G-A"))).unwrap();
    assert_eq!(listed, expected);
    assert_eq!(listed.iter().map(|h| h.id).collect::<Vec<_>>(), ids.a);

    let open: Vec<_> = town
        .read(|r| r.hazards_in(&[grid("G-A")], true))
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    let [ha5, ha1, ha3, ha2] = ids.hazards_a;
    assert_eq!(open, [ha5, ha1, ha2]);
    let all = town.read(|r| r.hazards_in(&[grid("G-A")], false)).unwrap();
    assert_eq!(all.iter().map(|h| h.id).collect::<Vec<_>>(), ids.hazards_a);
    assert_eq!(all[2].id, ha3);
    assert_eq!(all[2].status, HazardState::Closed);
    assert_eq!(all[2].transitions.len(), 1);

    let cases = town.read(|r| r.cases_in(&[grid("G-B")], false)).unwrap();
    assert_eq!(cases.iter().map(|c| c.id).collect::<Vec<_>>(), ids.cases_b);
    for c in &cases {
        assert_eq!(c, &store.case(c.id).unwrap());
    }
    assert!(cases[1].timers.responded_late, "15 min against G-B's 10");
    assert_eq!(
        town.read(|r| r.cases_in(&[grid("G-B")], true))
            .unwrap()
            .len(),
        3
    );

    // An attached store has no device: the phone's writes are refused.
    assert!(matches!(
        store.add_household(NewHousehold {
            address: "x".into(),
            ..NewHousehold::default()
        }),
        Err(Error::NotInitialized)
    ));
}

fn evaluees() -> Vec<Evaluee> {
    [
        ("gw-1", "张三", "G-A"),
        ("gw-2", "李四", "G-B"),
        ("gw-3", "王五", "G-D"),
    ]
    .into_iter()
    .map(|(w, n, g)| Evaluee {
        worker: WorkerId(w.into()),
        name: n.into(),
        grid: grid(g),
    })
    .collect()
}

/// The counts of a row: households, visited, special, on time, cases, on
/// time, hazards, closed, forms.
fn counts(r: &EvaluationRow) -> [u32; 9] {
    [
        r.households,
        r.households_visited,
        r.special_households,
        r.special_on_time,
        r.cases,
        r.responses_on_time,
        r.hazards,
        r.hazards_closed,
        r.forms,
    ]
}

#[test]
fn evaluation_of_the_current_month() {
    let (town, _) = town();
    let rows = town
        .read(|r| evaluation(r, &evaluees(), "2026-03"))
        .unwrap();
    let order: Vec<_> = rows.iter().map(|r| r.worker.as_str()).collect();
    assert_eq!(order, ["gw-3", "gw-2", "gw-1"]);

    // gw-3's grid has nothing due: every share counts 1.0; 13 forms cap at 1.
    let r = &rows[0];
    assert_eq!(counts(r), [0, 0, 0, 0, 0, 0, 0, 0, 13]);
    assert_eq!((r.form_share, r.score), (1.0, 100.0));

    // gw-2 (G-B): visited B1 of 2; B1 on schedule; 8 min on time, 15 min
    // late, the 5-minute-old case not yet counted; the open hazard not closed.
    let r = &rows[1];
    assert_eq!(counts(r), [2, 1, 1, 1, 2, 1, 1, 0, 0]);
    assert_eq!(
        (
            r.coverage,
            r.special_share,
            r.response_share,
            r.hazard_share,
            r.form_share
        ),
        (0.5, 1.0, 0.5, 0.0, 0.0)
    );
    assert_eq!(r.score, 50.0);

    // gw-1 (G-A): visited A1 and A3 (A3's visit by gw-2 is not theirs); A1
    // due soon is on time, A2 and A4 overdue; 1 of 3 cases answered in
    // time; 1 hazard closed in March of 4; 6 forms of 12.
    let r = &rows[2];
    assert_eq!(counts(r), [4, 2, 3, 1, 3, 1, 4, 1, 6]);
    assert_eq!(r.month, "2026-03");
    assert_eq!(r.forms_target, 12);
    assert_eq!((r.coverage, r.hazard_share, r.form_share), (0.5, 0.25, 0.5));
    assert!((r.special_share - 1.0 / 3.0).abs() < 1e-12);
    assert!((r.response_share - 1.0 / 3.0).abs() < 1e-12);
    // 100 × (0.30×0.5 + 0.25/3 + 0.20/3 + 0.15×0.25 + 0.10×0.5) = 38.75
    assert_eq!(r.score, 38.75);
}

#[test]
fn duty_cases_count_as_form_records_of_who_opened_or_first_answered_them() {
    let (town, _) = town();
    let before = town
        .read(|r| evaluation(r, &evaluees(), "2026-03"))
        .unwrap();
    let gw2 = |rows: &[EvaluationRow]| {
        rows.iter()
            .find(|r| r.worker.as_str() == "gw-2")
            .cloned()
            .unwrap()
    };
    assert_eq!((gw2(&before).forms, gw2(&before).duty_cases), (0, 0));
    // gw-2 handles a 帮办代办 case to feedback; a resident files a 邻里纠纷
    // one that gw-2 answers and handles. Not counted for gw-2: a resident's
    // case gw-1 answered, one gw-2 only registered, an 环境卫生 case and a
    // February duty case.
    use CaseState::{Feedback, Handling, Registered};
    let handled = [Registered, Handling, Feedback];
    town.case_by(
        "G-B",
        "帮办代办",
        "gw-2",
        "2026-03-05T09:00",
        "gw-2",
        &handled,
    );
    town.case_by(
        "G-B",
        "邻里纠纷",
        "resident",
        "2026-03-06T09:00",
        "gw-2",
        &handled,
    );
    town.case_by(
        "G-B",
        "矛盾纠纷",
        "resident",
        "2026-03-06T10:00",
        "gw-1",
        &handled,
    );
    town.case_by(
        "G-B",
        "养老服务",
        "resident",
        "2026-03-06T11:00",
        "gw-2",
        &[Registered],
    );
    town.case_by(
        "G-B",
        "环境卫生",
        "gw-2",
        "2026-03-07T09:00",
        "gw-2",
        &handled,
    );
    town.case_by(
        "G-B",
        "帮办代办",
        "gw-2",
        "2026-02-20T09:00",
        "gw-2",
        &handled,
    );
    let after = town
        .read(|r| evaluation(r, &evaluees(), "2026-03"))
        .unwrap();
    let r = gw2(&after);
    assert_eq!((r.forms, r.duty_cases), (0, 2));
    assert!((r.form_share - 2.0 / 12.0).abs() < 1e-12);
}

#[test]
fn coverage_counts_any_gridworkers_visit_and_own_visits_are_shown_beside_it() {
    let (town, _) = town();
    // 李四 (gw-2) visited A3 of G-A in March; 张三 (gw-1) A1 and A3. Were
    // they to share G-A, both would get the grid's coverage (2 of 4), each
    // with their own count beside it.
    let shared: Vec<Evaluee> = [("gw-1", "张三"), ("gw-2", "李四")]
        .into_iter()
        .map(|(w, n)| Evaluee {
            worker: WorkerId(w.into()),
            name: n.into(),
            grid: grid("G-A"),
        })
        .collect();
    let rows = town.read(|r| evaluation(r, &shared, "2026-03")).unwrap();
    let seen: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.worker.as_str(),
                r.households_visited,
                r.grid_households_visited,
                r.coverage,
            )
        })
        .collect();
    assert_eq!(seen, [("gw-1", 2, 2, 0.5), ("gw-2", 1, 2, 0.5)]);
}

#[test]
fn evaluation_of_a_past_month_ends_at_its_last_midnight() {
    let (town, _) = town();
    let rows = town
        .read(|r| evaluation(r, &evaluees()[..2], "2026-02"))
        .unwrap();
    let gw1 = rows.iter().find(|r| r.worker.as_str() == "gw-1").unwrap();
    // At 02-28: A1 (last seen 02-26) and A2 (due 03-01) are not overdue, A4
    // is; CA4 was answered in 10 min; HA2 and HA3 (closed only in March)
    // were open at the month's end; 3 forms.
    assert_eq!(counts(gw1), [4, 2, 3, 2, 1, 1, 2, 0, 3]);
    // 100 × (0.30×0.5 + 0.25×2/3 + 0.20×1 + 0.15×0 + 0.10×0.25) = 54.1666…
    assert_eq!(gw1.score, 54.17);
    let gw2 = rows.iter().find(|r| r.worker.as_str() == "gw-2").unwrap();
    // B1's first visit came in March: overdue at February's end. HB2 was
    // closed in February.
    assert_eq!(counts(gw2), [2, 1, 1, 0, 0, 0, 1, 1, 0]);
    assert_eq!(gw2.score, 50.0);
    assert_eq!(rows[0].worker.as_str(), "gw-1");
}

#[test]
fn evaluation_month_must_be_yyyy_mm_and_begun() {
    let (town, _) = town();
    for month in [
        "",
        "2026-3",
        "2026-13",
        "2026-00",
        "2026/03",
        "202603",
        "2026-03-01",
        "March",
        "2026-04",
    ] {
        match town.read(|r| evaluation(r, &evaluees(), month)) {
            Err(Error::Validation { field, .. }) => assert_eq!(field, "month", "{month}"),
            other => panic!("{month}: {other:?}"),
        }
    }
    assert!(town
        .read(|r| evaluation(r, &[], "2025-12"))
        .unwrap()
        .is_empty());
}

#[test]
fn evaluation_exports_as_xlsx_and_csv() {
    use calamine::{Data, Reader, Xlsx};
    let (town, _) = town();
    let rows = town
        .read(|r| evaluation(r, &evaluees(), "2026-03"))
        .unwrap();
    let bytes = export_evaluation(&rows, ExportFormat::Xlsx).unwrap();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(&bytes)).unwrap();
    let sheet = book.worksheet_range("考核 Evaluation").unwrap();
    let cells: Vec<Vec<Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    assert_eq!(cells.len(), 4);
    assert_eq!(cells[0][0], Data::String("网格员编号 / worker_id".into()));
    assert_eq!(cells[0][20], Data::String("综合得分 / score".into()));
    assert_eq!(
        cells[0][21],
        Data::String("计入台账的事项数 / duty_cases".into())
    );
    let gw1 = &cells[3];
    assert_eq!(gw1[0], Data::String("gw-1".into()));
    assert_eq!(gw1[1], Data::String("张三".into()));
    let numbers: Vec<f64> = gw1[4..]
        .iter()
        .map(|d| match d {
            Data::Float(f) => *f,
            Data::Int(i) => *i as f64,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        numbers,
        [
            4.0, 2.0, 2.0, 50.0, 3.0, 1.0, 33.3, 3.0, 1.0, 33.3, 4.0, 1.0, 25.0, 6.0, 12.0, 50.0,
            38.8, 0.0
        ]
    );

    let mut guarded = rows.clone();
    guarded[0].name = "=1+1".into();
    let csv = export_evaluation(&guarded, ExportFormat::Csv).unwrap();
    assert!(csv.starts_with("\u{feff}".as_bytes()));
    let text = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert!(lines[0].starts_with("网格员编号 / worker_id,姓名 / name,"));
    assert_eq!(
        lines[1],
        "gw-3,'=1+1,G-D,2026-03,0,0,0,100,0,0,100,0,0,100,0,0,100,13,12,100,100,0"
    );
    assert_eq!(
        lines[3],
        "gw-1,张三,G-A,2026-03,4,2,2,50,3,1,33.3,3,1,33.3,4,1,25,6,12,50,38.8,0"
    );
}

/// The dashboard on PostgreSQL (issue 13): the town copied into a
/// throwaway PostgreSQL reads exactly as it does on SQLite — every figure,
/// list, record and export the pages show, for several scopes — so the
/// exact figures checked above hold on both backends.
#[test]
fn the_dashboard_reads_the_same_on_postgres() {
    use crate::pg::store::PgStore;
    use gridwork_core::api::Reader;
    use gridwork_core::exchange::ExportKind;
    use gridwork_core::store::sql::SqlConn;

    let (town, ids) = town();
    // Checked times on both sides of the clock: a first response received
    // late from a phone whose clock was wrong, a visit claiming a future time.
    town.db
        .write(|tx| {
            tx.conn().execute_batch(
                "INSERT INTO time_checks (doc_id, item, claimed_at, received_at, status)
                 SELECT 'case/' || c.id, t.id, t.at, t.at + 2400000, 'clock_off'
                 FROM cases c JOIN case_transitions t ON t.case_id = c.id WHERE c.grid = 'G-B';
                 INSERT INTO time_checks (doc_id, item, claimed_at, received_at, status)
                 SELECT d.id, v.id, v.started_at, v.started_at - 86400000, 'future'
                 FROM visits v JOIN docs d ON d.key = v.doc_key WHERE v.worker_id = 'gw-2';",
            )?;
            Ok(())
        })
        .unwrap();

    let pg = gridwork_tests::postgres::TestPostgres::start();
    let store = PgStore::open(&pg.create_database("dashboard"), 2).unwrap();
    crate::pg::copy::copy_to_postgres(&town.db, &store).unwrap();
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let both =
        |what: &str, f: &dyn Fn(&Reader<'_, dyn SqlConn + '_>) -> gridwork_core::Result<String>| {
            let sqlite = town.read(|r| f(r)).unwrap();
            let postgres = store
                .read(|tx| {
                    Ok(f(&Reader::new(
                        tx as &dyn SqlConn,
                        &tz,
                        super::test_town::now(),
                    ))?)
                })
                .unwrap_or_else(|e| panic!("{what} on PostgreSQL: {e}"));
            assert_eq!(sqlite, postgres, "{what} differs on PostgreSQL");
        };
    let debug = |v: &dyn std::fmt::Debug| format!("{v:#?}");

    let scopes = [
        scope_abd(),
        vec![grid("G-C")],
        vec![grid("G-A"), grid("G-B"), grid("G-C"), grid("G-D")],
        vec![],
    ];
    for scope in &scopes {
        both("overview", &|r| Ok(debug(&overview(r, scope)?)));
        for open_only in [true, false] {
            both("hazards", &|r| Ok(debug(&r.hazards_in(scope, open_only)?)));
            both("cases", &|r| Ok(debug(&r.cases_in(scope, open_only)?)));
        }
        for kind in ExportKind::ALL {
            both("export", &|r| Ok(debug(&r.export_table_in(kind, scope)?)));
        }
    }
    for month in ["2026-03", "2026-02", "2025-12"] {
        both("evaluation", &|r| {
            Ok(debug(&evaluation(r, &evaluees(), month)?))
        });
    }
    for g in ["G-A", "G-B", "G-C", "G-D"] {
        both("grid households", &|r| {
            Ok(debug(&r.grid_households(&grid(g))?))
        });
    }
    for id in &ids.a {
        both("household", &|r| Ok(debug(&r.household(*id)?)));
        both("visits", &|r| Ok(debug(&r.list_visits(Some(*id))?)));
    }
    for id in ids.cases_b {
        both("case", &|r| Ok(debug(&r.case(id)?)));
    }
    for id in ids.hazards_a {
        both("hazard", &|r| Ok(debug(&r.hazard(id)?)));
    }
    // The figures are not vacuous: the town's March has visits, hazards,
    // cases and unverified times on PostgreSQL too.
    let o = store
        .read(|tx| {
            Ok(overview(
                &Reader::new(tx as &dyn SqlConn, &tz, super::test_town::now()),
                &scope_abd(),
            )?)
        })
        .unwrap();
    assert_eq!(o.totals.households, 6);
    assert!(o.response.unverified > 0);
    assert!(o.trend.iter().any(|w| w.visits > 0));
}

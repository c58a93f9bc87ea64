//! Who and when, attested by the server (issue 11 §4), end to end with the
//! real server, phones of the core library and the staff dashboard:
//!
//! - a phone that was offline closes a case the community had meanwhile sent
//!   back: its moves are kept, do not apply, and show as a workflow conflict
//!   on the phone and on the dashboard;
//! - a phone whose clock is two hours fast records a case before it ever
//!   synced: the server flags the time and the dashboard counts it as
//!   unverified; after the sync the phone knows its offset and stamps new
//!   records with the server's time.

use gridwork_core::model::{CaseState, NewCase, NewHousehold};
use gridwork_core::sync::SyncOptions;
use gridwork_core::{Clock, SkewedClock, Store, StoreOptions};
use std::path::Path;
use std::sync::Arc;

mod common;

use common::http::{csrf_field, get, post, try_login};
use common::start;

const PASSWORD: &str = "correct horse battery staple 7";

/// T → C → C-1 → G1 with gridworker gw-a and community staff staff-c (at
/// C, password [`PASSWORD`]); gw-a's token.
fn town(data: &Path) -> String {
    common::grid_tree(data);
    common::admin_json(
        data,
        &[
            "worker",
            "add",
            "staff-c",
            "--name",
            "社区甲",
            "--role",
            "community_staff",
            "--grid",
            "C",
            "--password-env",
            "GW_TEST_PASSWORD",
        ],
        &[("GW_TEST_PASSWORD", PASSWORD)],
    );
    common::gridworker_token(data, "gw-a")
}

fn phone(dir: &Path, name: &str, clock: Option<Arc<dyn Clock>>) -> Store {
    let store = Store::open_with(
        dir.join(format!("{name}.db")),
        StoreOptions {
            clock,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.init("gw-a", "网格员", "G1").unwrap();
    store
}

/// Signed in as staff-c: the session cookie and the page's CSRF token.
fn staff(addr: &str) -> (String, String) {
    let login = try_login(addr, "staff-c", PASSWORD);
    assert_eq!(login.status, 303, "{}", login.body);
    let session = login.cookie("gw_session").unwrap();
    let home = get(addr, "/", &[("gw_session", &session)]);
    (session.clone(), csrf_field(&home.body))
}

#[test]
fn an_offline_close_of_a_reopened_case_is_kept_as_a_workflow_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let token = town(&data);
    let server = start(&data, &[]);
    let url = format!("http://{}", server.addr);
    let a = phone(dir.path(), "a", None);
    let h = a
        .add_household(NewHousehold {
            address: "幸福里1号".into(),
            ..Default::default()
        })
        .unwrap();
    let case = a
        .open_case(NewCase {
            category: "环境卫生".into(),
            description: "楼道堆物".into(),
            household: Some(h.id),
            ..Default::default()
        })
        .unwrap();
    for to in ["registered", "handling", "feedback"] {
        a.transition_case(case.id, to, "").unwrap();
    }
    a.sync(&url, &token, &SyncOptions::default()).unwrap();

    // The community is not satisfied and sends it back for more handling.
    let (session, csrf) = staff(&server.addr);
    let me = [("gw_session", session.as_str())];
    let path = format!("/cases/{}/transition", case.id);
    let sent_back = post(
        &server.addr,
        &path,
        &me,
        &[("to", "handling"), ("note", "未清理干净"), ("csrf", &csrf)],
    );
    assert_eq!(sent_back.status, 303, "{}", sent_back.body);

    // Offline, the phone still sees "feedback" and closes the case.
    std::thread::sleep(std::time::Duration::from_millis(300));
    a.transition_case(case.id, "verified", "已核查").unwrap();
    a.transition_case(case.id, "closed", "结案").unwrap();
    assert_eq!(a.case(case.id).unwrap().status, CaseState::Closed);
    let summary = a.sync(&url, &token, &SyncOptions::default()).unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    assert_eq!(summary.new_conflicts, 1);

    // The send-back stands; both offline moves are kept and listed.
    let shown = a.case(case.id).unwrap();
    assert_eq!(shown.status, CaseState::Handling);
    assert_eq!(shown.transitions.len(), 6);
    let conflicts = a.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    let c = &conflicts[0];
    assert_eq!((c.record.as_str(), c.field.as_str()), ("case", "workflow"));
    let moves: Vec<&str> = c.values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(moves, ["feedback→verified", "verified→closed"]);
    assert!(c.values.iter().all(|v| v.by == "gw-a"));

    // The dashboard shows the case still being handled, with the conflict.
    let queue = get(&server.addr, "/cases", &me);
    let row = queue
        .body
        .find(&format!(r#"data-case="{}""#, case.id))
        .unwrap();
    let tail = &queue.body[row..];
    assert!(tail.contains(r#"data-status="handling""#), "{tail}");
    assert!(tail.contains(r#"data-conflict="workflow""#));
    assert_eq!(tail.matches(r#"data-applied="false""#).count(), 2);

    // Handling goes on from the state everyone now sees; the conflict closes.
    a.transition_case(case.id, "feedback", "已清理").unwrap();
    a.sync(&url, &token, &SyncOptions::default()).unwrap();
    assert!(a.conflicts().unwrap().is_empty());
    let queue = get(&server.addr, "/cases", &me);
    assert!(!queue.body.contains(r#"data-conflict="workflow""#));
}

#[test]
fn a_wrong_phone_clock_is_flagged_then_corrected() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let token = town(&data);
    let server = start(&data, &[]);
    let url = format!("http://{}", server.addr);
    let two_hours = 2 * 3_600_000;
    let fast: Arc<dyn Clock> = Arc::new(SkewedClock { skew_ms: two_hours });
    let a = phone(dir.path(), "a", Some(fast));
    assert_eq!(a.clock_offset(), None);
    let before_sync = a
        .open_case(NewCase {
            category: "噪音扰民".into(),
            description: "夜间施工".into(),
            ..Default::default()
        })
        .unwrap();
    let real_now = || jiff::Timestamp::now().as_millisecond();
    assert!(before_sync.opened_at.0 > real_now() + two_hours - 60_000);

    a.sync(&url, &token, &SyncOptions::default()).unwrap();
    // The phone learnt its offset from the server's time...
    let offset = a.clock_offset().expect("learnt at the sync");
    assert!((offset + two_hours).abs() < 60_000, "{offset}");
    // ...and stamps new records with the server's time.
    let after_sync = a
        .open_case(NewCase {
            category: "噪音扰民".into(),
            description: "又施工".into(),
            ..Default::default()
        })
        .unwrap();
    assert!((after_sync.opened_at.0 - real_now()).abs() < 60_000);
    a.sync(&url, &token, &SyncOptions::default()).unwrap();

    let db = gridwork_server::db::connect(&data).unwrap();
    let status = |case: &str| -> String {
        db.query_row(
            "SELECT status FROM time_checks WHERE doc_id = ?1 AND item = ''",
            [format!("case/{case}")],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(status(&before_sync.id.to_string()), "future");
    assert_eq!(status(&after_sync.id.to_string()), "ok");

    // The dashboard counts the case opened at a time it could not verify.
    let (session, _) = staff(&server.addr);
    let home = get(&server.addr, "/", &[("gw_session", &session)]);
    let marker = r#"data-figure="response_unverified">"#;
    let at = home.body.find(marker).expect("the unverified figure") + marker.len();
    assert!(
        home.body[at..].starts_with("1<"),
        "{}",
        &home.body[at..at + 20]
    );
}

//! Dispatch to named handlers and separation of duties on the staff
//! dashboard (issue 15 §2), end to end with the real server, a phone of the
//! core library and two community staff:
//!
//! - `admin handler add|list|remove` keeps the directory; the queue offers
//!   the handlers serving the case's grid (the community's, then the
//!   town's: dispatching to a town handler escalates to the town), never
//!   上报社区 to staff;
//! - a dispatch without a handler, or to one who does not serve the grid,
//!   is refused and changes nothing; a dispatch names the handler on the
//!   queue and reaches the phone with the assignee;
//! - whoever reported the handling back may not verify it (button disabled,
//!   POST refused); another staff member verifies and closes;
//! - the map draws the grid's imported boundary, the located visit and the
//!   open case at its household's visit, and drops the case once closed.

use gridwork_core::model::{CaseState, Location, NewCase, NewHousehold, NewVisit};
use gridwork_core::sync::SyncOptions;
use gridwork_core::Store;
use std::path::Path;

mod common;

use common::http::{csrf_field, get, post, try_login};
use common::{admin_json, start};

const PASSWORD: &str = "correct horse battery staple 7";

fn staff(data: &Path, id: &str, name: &str) {
    admin_json(
        data,
        &[
            "worker",
            "add",
            id,
            "--name",
            name,
            "--role",
            "community_staff",
            "--grid",
            "C",
            "--password-env",
            "GW_TEST_PASSWORD",
        ],
        &[("GW_TEST_PASSWORD", PASSWORD)],
    );
}

/// Signed in as `user`: the session cookie and a CSRF token.
fn sign_in(addr: &str, user: &str) -> (String, String) {
    let login = try_login(addr, user, PASSWORD);
    assert_eq!(login.status, 303, "{}", login.body);
    let session = login.cookie("gw_session").unwrap();
    let home = get(addr, "/", &[("gw_session", &session)]);
    (session.clone(), csrf_field(&home.body))
}

/// The text of the `data-figure="name"` element of `html`.
fn figure(html: &str, name: &str) -> String {
    let key = format!(r#"data-figure="{name}">"#);
    let at = html
        .find(&key)
        .unwrap_or_else(|| panic!("no figure {name}"))
        + key.len();
    html[at..at + html[at..].find('<').unwrap()].to_owned()
}

/// The queue row of case `id` (up to its history row).
fn row<'a>(queue: &'a str, id: &str) -> &'a str {
    let start = queue
        .find(&format!(r#"data-case="{id}""#))
        .unwrap_or_else(|| panic!("case {id} not on the queue"));
    let end = queue[start..].find("</tr>").unwrap() + start;
    &queue[start..end]
}

#[test]
fn staff_dispatch_to_named_handlers_and_someone_else_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    common::grid_tree(&data);
    admin_json(
        &data,
        &["grid", "add", "C2", "--name", "和平社区", "--parent", "T"],
        &[],
    );
    staff(&data, "staff-c", "社区甲");
    staff(&data, "staff-d", "社区乙");
    let token = common::gridworker_token(&data, "gw-a");
    for (id, name, kind, grid) in [
        ("wang", "王建国", "person", "C"),
        ("cgzd", "城管中队", "department", "T"),
        ("far", "和平社区物业", "department", "C2"),
        ("gone", "离职人员", "person", "C"),
    ] {
        let added = admin_json(
            &data,
            &[
                "handler", "add", id, "--name", name, "--kind", kind, "--grid", grid,
            ],
            &[],
        );
        assert_eq!(added["id"], id);
        assert_eq!(added["active"], true);
    }
    let removed = admin_json(&data, &["handler", "remove", "gone"], &[]);
    assert_eq!(removed["active"], false);
    let listed = admin_json(&data, &["handler", "list"], &[]);
    assert_eq!(listed.as_array().unwrap().len(), 4);
    let refused = common::admin_with_env(
        &data,
        &[
            "handler", "add", "x", "--name", "某", "--kind", "robot", "--grid", "C",
        ],
        &[],
    );
    assert!(!refused.status.success());

    let server = start(&data, &[]);
    let url = format!("http://{}", server.addr);
    let phone = Store::open(dir.path().join("a.db"), None).unwrap();
    phone.init("gw-a", "网格员", "G1").unwrap();
    let h = phone
        .add_household(NewHousehold {
            address: "幸福里1号".into(),
            ..Default::default()
        })
        .unwrap();
    let case = phone
        .open_case(NewCase {
            category: "环境卫生".into(),
            description: "楼道堆物".into(),
            household: Some(h.id),
            ..Default::default()
        })
        .unwrap();
    phone.transition_case(case.id, "registered", "").unwrap();
    phone
        .record_visit(NewVisit {
            household: h.id,
            location: Some(Location {
                lat: 26.0745,
                lon: 119.2965,
                accuracy_m: Some(8.0),
            }),
            ..Default::default()
        })
        .unwrap();
    let square = dir.path().join("g1.geojson");
    std::fs::write(
        &square,
        r#"{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[119.29,26.07],[119.30,26.07],[119.30,26.08],[119.29,26.08],[119.29,26.07]]]}}"#,
    )
    .unwrap();
    let imported = admin_json(
        &data,
        &[
            "grid",
            "boundary",
            "G1",
            "--geojson",
            square.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        (imported["rings"].as_u64(), imported["points"].as_u64()),
        (Some(1), Some(5))
    );
    phone.sync(&url, &token, &SyncOptions::default()).unwrap();
    let id = case.id.to_string();
    let path = format!("/cases/{id}/transition");

    let (c_session, c_csrf) = sign_in(&server.addr, "staff-c");
    let c = [("gw_session", c_session.as_str())];
    let map = get(&server.addr, "/map?grid=C", &c).body;
    assert!(map.contains(r#"data-boundary="G1""#), "{map}");
    assert_eq!(figure(&map, "map_visits"), "1");
    assert_eq!(figure(&map, "map_cases"), "1");
    assert!(map.contains(&format!(r##"href="/cases#case-{}""##, case.id)));
    assert!(!map.contains("<script") && !map.contains("http://") && !map.contains("https://"));
    let queue = get(&server.addr, "/cases", &c).body;
    let mine = row(&queue, &id);
    // One form, one note, the handlers serving G1 (C's, then T's), no
    // 上报社区 for staff.
    assert_eq!(mine.matches("<form").count(), 1, "{mine}");
    assert_eq!(mine.matches(r#"name="note""#).count(), 1);
    assert!(mine.contains(r#"<option value="wang""#) && mine.contains(r#"<option value="cgzd""#));
    assert!(mine.find(r#"value="wang""#) < mine.find(r#"value="cgzd""#));
    assert!(!mine.contains(r#"value="far""#) && !mine.contains(r#"value="gone""#));
    assert!(!mine.contains(r#"data-action="escalated""#));
    assert!(mine.contains(r#"data-action="dispatched""#));
    assert!(
        mine.contains(r#"href="/households/"#),
        "the case links to its household"
    );

    // Refused, nothing changes: no handler, one of another community, a
    // removed one, and 上报社区 by staff.
    for (assignee, to) in [
        ("", "dispatched"),
        ("far", "dispatched"),
        ("gone", "dispatched"),
        ("", "escalated"),
        ("", "已上报社区"),
        ("", " 已派遣 "),
        ("", "no-such-state"),
    ] {
        let reply = post(
            &server.addr,
            &path,
            &c,
            &[
                ("to", to),
                ("assignee", assignee),
                ("note", ""),
                ("csrf", &c_csrf),
            ],
        );
        assert_eq!(reply.status, 400, "{assignee} {to}: {}", reply.body);
    }
    assert!(row(&get(&server.addr, "/cases", &c).body, &id).contains(r#"data-status="registered""#));

    // Dispatched to the town's department: named on the queue, and on the
    // phone after its sync.
    let reply = post(
        &server.addr,
        &path,
        &c,
        &[
            ("to", "dispatched"),
            ("assignee", "cgzd"),
            ("note", "请城管中队处理"),
            ("csrf", &c_csrf),
        ],
    );
    assert_eq!(reply.status, 303, "{}", reply.body);
    let queue = get(&server.addr, "/cases", &c).body;
    let mine = row(&queue, &id);
    assert!(
        mine.contains(r#"data-assignee="cgzd""#) && mine.contains("城管中队"),
        "{mine}"
    );
    phone.sync(&url, &token, &SyncOptions::default()).unwrap();
    let seen = phone.case(case.id).unwrap();
    assert_eq!(seen.status, CaseState::Dispatched);
    assert_eq!(seen.transitions.last().unwrap().assignee, "cgzd");

    // staff-c records the handling and its feedback: they may not verify it.
    for to in ["handling", "feedback"] {
        let reply = post(
            &server.addr,
            &path,
            &c,
            &[("to", to), ("note", ""), ("csrf", &c_csrf)],
        );
        assert_eq!(reply.status, 303, "{to}: {}", reply.body);
    }
    let mine_now = get(&server.addr, "/cases", &c).body;
    let mine = row(&mine_now, &id);
    assert!(
        mine.contains(r#"data-action="verified" disabled"#),
        "{mine}"
    );
    let reply = post(
        &server.addr,
        &path,
        &c,
        &[("to", "verified"), ("note", ""), ("csrf", &c_csrf)],
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("核查"), "{}", reply.body);

    // staff-d verifies and closes.
    let (d_session, d_csrf) = sign_in(&server.addr, "staff-d");
    let d = [("gw_session", d_session.as_str())];
    let theirs = get(&server.addr, "/cases", &d).body;
    assert!(!row(&theirs, &id).contains("disabled"));
    for to in ["verified", "closed"] {
        let reply = post(
            &server.addr,
            &path,
            &d,
            &[("to", to), ("note", "现场核查无误"), ("csrf", &d_csrf)],
        );
        assert_eq!(reply.status, 303, "{to}: {}", reply.body);
    }
    let map = get(&server.addr, "/map", &d).body;
    assert_eq!(
        figure(&map, "map_cases"),
        "0",
        "a closed case leaves the map"
    );
    assert_eq!(figure(&map, "map_visits"), "1");
    phone.sync(&url, &token, &SyncOptions::default()).unwrap();
    let closed = phone.case(case.id).unwrap();
    assert_eq!(closed.status, CaseState::Closed);
    let by: Vec<(&str, &str)> = closed
        .transitions
        .iter()
        .map(|t| (t.to.as_str(), t.by.as_str()))
        .collect();
    assert_eq!(
        by[by.len() - 4..],
        [
            ("handling", "staff-c"),
            ("feedback", "staff-c"),
            ("verified", "staff-d"),
            ("closed", "staff-d")
        ]
    );
}

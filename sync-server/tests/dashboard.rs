//! End-to-end tests of the dashboard's pages on the real `gridwork-server`
//! binary over the demo town (`serve --demo`): the overview's figures equal
//! the server's read models, case actions are transitions made by the
//! server (with CSRF, the workflow and the staff member's scope enforced)
//! that land in the feed, household pages mask ID numbers and write the
//! access log, and exports download as valid XLSX/CSV.

use rusqlite::Connection;
use std::process::Command;

mod common;

use common::http::{csrf_field, get, post, try_login};
use common::{start, BIN};

const PASSWORD: &str = "demo staff 密码 1";

/// Set `worker`'s dashboard password with `admin` on `target`
/// (`--data-dir DIR` or `--database URL`).
fn set_password(target: &[&str], worker: &str) {
    let out = Command::new(BIN)
        .arg("admin")
        .args(target)
        .args(["worker", "set-password", worker, "--password-env", "GW_PW"])
        .env("GW_PW", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where the test reads what the server stored, to hold its pages against:
/// the SQLite file or the PostgreSQL database (the SQL is the same).
trait Probe {
    /// The first column of every row.
    fn texts(&mut self, sql: &str) -> Vec<String>;
    /// The first column of the one row, as an integer.
    fn count(&mut self, sql: &str) -> i64;

    /// The first column of the first row, as text.
    fn text(&mut self, sql: &str) -> String {
        self.texts(sql).into_iter().next().expect("a row")
    }
}

impl Probe for Connection {
    fn texts(&mut self, sql: &str) -> Vec<String> {
        let mut stmt = self.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn count(&mut self, sql: &str) -> i64 {
        self.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

impl Probe for postgres::Client {
    fn texts(&mut self, sql: &str) -> Vec<String> {
        self.query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    fn count(&mut self, sql: &str) -> i64 {
        self.query_one(sql, &[]).unwrap().get(0)
    }
}

/// The text of the first `data-figure="name"` element after `marker`.
fn figure(html: &str, marker: &str, name: &str) -> String {
    let from = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in page"));
    let key = format!(r#"data-figure="{name}">"#);
    let at = html[from..]
        .find(&key)
        .unwrap_or_else(|| panic!("{name} after {marker}"))
        + from
        + key.len();
    let end = html[at..].find('<').unwrap() + at;
    html[at..end].to_owned()
}

/// Every value of attribute `attr` in `html`, in order.
fn attrs(html: &str, attr: &str) -> Vec<String> {
    let key = format!(r#"{attr}=""#);
    html.match_indices(&key)
        .map(|(i, _)| {
            let start = i + key.len();
            let end = html[start..].find('"').unwrap() + start;
            html[start..end].to_owned()
        })
        .collect()
}

/// The `data-status` of case `id` on the queue page.
fn case_status(html: &str, id: &str) -> String {
    let row = html
        .find(&format!(r#"data-case="{id}""#))
        .expect("case row");
    attrs(&html[row..], "data-status")[0].clone()
}

#[test]
fn demo_dashboard_pages_actions_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start(&data, &["--demo", "--demo-size", "small"]);
    set_password(&["--data-dir", data.to_str().unwrap()], "staff-demo");
    let mut db = gridwork_server::db::connect(&data).unwrap();
    pages_actions_and_exports(&server.addr, &server.addr, &mut db);
    drop(server);
}

/// The same pages, actions and exports on PostgreSQL (issue 13), served by
/// two instances on one database: the staff member signs in on one, and
/// the other sees their session, their moves and the access log at once.
#[test]
fn demo_dashboard_on_postgres_across_two_instances() {
    let pg = gridwork_tests::postgres::TestPostgres::start();
    let url = pg.create_database("dashboard");
    let dir = tempfile::tempdir().unwrap();
    let first = start(
        &dir.path().join("a"),
        &["--demo", "--demo-size", "small", "--database", &url],
    );
    let second = start(&dir.path().join("b"), &["--database", &url]);
    set_password(&["--database", &url], "staff-demo");
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    pages_actions_and_exports(&first.addr, &second.addr, &mut db);
    drop((first, second));
}

/// Sign in as `staff-demo` at `addr`; the session cookie's value.
fn sign_in(addr: &str) -> String {
    let ok = try_login(addr, "staff-demo", PASSWORD);
    assert_eq!(ok.status, 303, "{}", ok.body);
    ok.cookie("gw_session").unwrap()
}

/// Move the first open case (by id, as `db` has it) one step on from the
/// queue page at `addr`, with `note`; the case and the state it moved to.
fn move_first_open_case(
    addr: &str,
    me: &[(&str, &str)],
    db: &mut dyn Probe,
    note: &str,
) -> (String, String) {
    let queue = get(addr, "/cases", me);
    let csrf = csrf_field(&queue.body);
    let case = db.text(
        "SELECT id FROM cases WHERE status NOT IN ('closed', 'escalated') ORDER BY id LIMIT 1",
    );
    let row = queue.body.find(&format!(r#"data-case="{case}""#)).unwrap();
    let row_end = queue.body[row..].find("</tr>").unwrap() + row;
    let next = attrs(&queue.body[row..row_end], "data-action")[0].clone();
    let moved = post(
        addr,
        &format!("/cases/{case}/transition"),
        me,
        &[
            ("to", next.as_str()),
            ("note", note),
            ("assignee", &handler_in(&queue.body[row..row_end])),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(moved.status, 303, "{}", moved.body);
    (case, next)
}

/// The first handler a case's row offers to dispatch to (empty when the
/// row offers no dispatch).
fn handler_in(row: &str) -> String {
    attrs(row, "option value")
        .into_iter()
        .find(|v| !v.is_empty())
        .unwrap_or_default()
}

/// Sign in as `staff-demo` at `addr`, then check the demo town's pages
/// against `db`, move a case and a hazard, open a household and download
/// the exports; `other` is an instance on the same database (or `addr`
/// again), which must show what `addr` did.
fn pages_actions_and_exports(addr: &str, other: &str, db: &mut dyn Probe) {
    let session = sign_in(addr);
    let me = [("gw_session", session.as_str())];

    // The overview's totals equal the read models of the demo grids.
    let home = get(addr, "/", &me);
    assert_eq!(home.status, 200, "{}", home.body);
    let households = db.count("SELECT count(*) FROM households WHERE status = 'active'");
    assert!(households > 0);
    assert_eq!(
        figure(&home.body, "id=\"totals\"", "households"),
        households.to_string()
    );
    let open_cases = db.count("SELECT count(*) FROM cases WHERE status != 'closed'");
    assert_eq!(
        figure(&home.body, "id=\"totals\"", "open_cases"),
        open_cases.to_string()
    );
    let open_hazards = db.count("SELECT count(*) FROM hazards WHERE status != 'closed'");
    assert_eq!(
        figure(&home.body, "id=\"totals\"", "open_hazards"),
        open_hazards.to_string()
    );
    let g1 =
        db.count("SELECT count(*) FROM households WHERE status = 'active' AND grid = 'DEMO-G01'");
    assert_eq!(
        figure(&home.body, r#"data-grid="DEMO-G01""#, "households"),
        g1.to_string()
    );
    // Drill-down (issue 15): the community's page is its home page; every
    // level sums the grids below it and links one level down.
    let community = get(addr, "/grids/DEMO-C1", &me);
    assert_eq!(community.status, 200);
    assert_eq!(
        figure(&community.body, "id=\"totals\"", "households"),
        households.to_string()
    );
    for page in [&home.body, &community.body] {
        assert_eq!(
            figure(page, r#"data-node="DEMO-C1-1""#, "households"),
            households.to_string()
        );
        assert!(page.contains(r#"href="/grids/DEMO-C1-1""#));
    }
    let area = get(addr, "/grids/DEMO-C1-1", &me);
    assert_eq!(area.status, 200);
    assert!(
        area.body
            .contains(r#"<a href="/grids/DEMO-C1" data-node="DEMO-C1">"#),
        "breadcrumbs"
    );
    assert_eq!(
        figure(&area.body, r#"data-grid="DEMO-G01""#, "households"),
        g1.to_string()
    );
    let grid = get(addr, "/grids/DEMO-G01", &me);
    assert_eq!(
        attrs(&grid.body, "data-household").len() as i64,
        g1,
        "a grid lists its households"
    );
    assert_eq!(
        get(addr, "/grids/DEMO", &me).status,
        404,
        "above the staff member's node"
    );
    assert!(home.body.contains("<svg"), "charts are inline SVG");
    assert!(
        !home.body.contains("<script")
            && !home.body.contains("http://")
            && !home.body.contains("https://")
    );
    let english = get(addr, "/?lang=en", &me);
    assert!(english.body.contains("Visit coverage this month"));

    // A case action: CSRF first, then the workflow, then it lands in the feed.
    let queue = get(addr, "/cases", &me);
    assert_eq!(queue.status, 200);
    let csrf = csrf_field(&queue.body);
    let collected = db.text(
        "SELECT id FROM cases WHERE status NOT IN ('closed', 'escalated') ORDER BY id LIMIT 1",
    );
    let before = case_status(&queue.body, &collected);
    let row = queue
        .body
        .find(&format!(r#"data-case="{collected}""#))
        .unwrap();
    let row_end = queue.body[row..].find("</tr>").unwrap() + row;
    let next = attrs(&queue.body[row..row_end], "data-action")[0].clone();
    let path = format!("/cases/{collected}/transition");
    let refused = post(addr, &path, &me, &[("to", next.as_str()), ("note", "")]);
    assert_eq!(refused.status, 403, "{}", refused.body);
    let wrong = post(
        addr,
        &path,
        &me,
        &[("to", next.as_str()), ("csrf", "x".repeat(43).as_str())],
    );
    assert_eq!(wrong.status, 403);
    let not_allowed = post(addr, &path, &me, &[("to", "collected"), ("csrf", &csrf)]);
    assert_eq!(not_allowed.status, 409, "{}", not_allowed.body);
    assert_eq!(
        case_status(&get(addr, "/cases", &me).body, &collected),
        before
    );
    let seq_before = db.count(&format!(
        "SELECT seq FROM doc_feed WHERE doc_id = 'case/{collected}'"
    ));
    let moved = post(
        addr,
        &path,
        &me,
        &[
            ("to", next.as_str()),
            ("note", "已受理"),
            ("assignee", &handler_in(&queue.body[row..row_end])),
            ("back", "/cases?status=registered&all=1"),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(moved.status, 303, "{}", moved.body);
    assert!(
        moved
            .header("location")
            .unwrap()
            .starts_with("/cases?status=registered&all=1#case-"),
        "back to the filtered list"
    );
    let queue = get(addr, "/cases?all=1", &me);
    assert_eq!(case_status(&queue.body, &collected), next);
    // The other instance shares the session and sees the move.
    let elsewhere = get(other, "/cases?all=1", &me);
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);
    assert_eq!(case_status(&elsewhere.body, &collected), next);
    assert!(
        queue
            .body
            .contains(&format!(r#"data-to="{next}" data-by="staff-demo""#))
            && queue.body.contains("：已受理"),
        "{}",
        queue.body
    );
    let seq_after = db.count(&format!(
        "SELECT seq FROM doc_feed WHERE doc_id = 'case/{collected}'"
    ));
    assert!(
        seq_after > seq_before,
        "the case doc is filed in the feed again"
    );
    let by = db.text(&format!(
        "SELECT by_worker FROM case_transitions WHERE case_id = '{collected}' AND note = '已受理'"
    ));
    assert_eq!(by, "staff-demo");

    // A hazard move from the hazards list, the same way.
    let hazards = get(addr, "/hazards", &me);
    let hazard = db.text("SELECT id FROM hazards WHERE status != 'closed' ORDER BY id LIMIT 1");
    let row = hazards
        .body
        .find(&format!(r#"data-hazard="{hazard}""#))
        .unwrap();
    let row_end = hazards.body[row..].find("</tr>").unwrap() + row;
    let next = attrs(&hazards.body[row..row_end], "data-action")[0].clone();
    let path = format!("/hazards/{hazard}/transition");
    assert_eq!(post(addr, &path, &me, &[("to", next.as_str())]).status, 403);
    let moved = post(
        addr,
        &path,
        &me,
        &[("to", next.as_str()), ("note", "社区复核"), ("csrf", &csrf)],
    );
    assert_eq!(moved.status, 303, "{}", moved.body);
    let by = db.text(&format!(
        "SELECT by_worker || ' ' || to_state FROM hazard_transitions WHERE hazard_id = '{hazard}' AND note = '社区复核'"
    ));
    assert_eq!(by, format!("staff-demo {next}"));
    assert_eq!(
        post(
            addr,
            "/hazards/not-an-id/transition",
            &me,
            &[("to", "closed"), ("csrf", &csrf)]
        )
        .status,
        404
    );

    // A household page masks ID numbers and is written to the access log.
    let grid = get(addr, "/grids/DEMO-G01", &me);
    assert_eq!(grid.status, 200);
    let household = attrs(&grid.body, "data-household")[0].clone();
    let logged_before = db.count("SELECT count(*) FROM access_log");
    let page = get(addr, &format!("/households/{household}"), &me);
    assert_eq!(page.status, 200, "{}", page.body);
    let numbers = db.texts(&format!(
        "SELECT id_number FROM residents WHERE household_id = '{household}' AND id_number != ''"
    ));
    assert!(!numbers.is_empty());
    for number in &numbers {
        assert!(
            !page.body.contains(number.as_str()),
            "a full ID number is shown"
        );
        assert!(page.body.contains(&format!("{}********", &number[..6])));
    }
    assert_eq!(
        db.count("SELECT count(*) FROM access_log"),
        logged_before + 1
    );
    let who =
        db.text("SELECT worker_id || ' ' || household_id FROM access_log ORDER BY id DESC LIMIT 1");
    assert_eq!(who, format!("staff-demo {household}"));
    assert!(page.body.contains(r#"id="access-log""#));
    // The other instance lists that view in the household's access log.
    let elsewhere = get(other, &format!("/households/{household}"), &me);
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);
    assert_eq!(
        elsewhere.body.matches(r#"data-action="household""#).count(),
        2,
        "both views are in the log"
    );
    assert_eq!(get(addr, "/households/not-an-id", &me).status, 404);

    // A gridworker's page and the visit list (issue 15 §4, §6): the same
    // 30 days of visits as the database holds, linked by name.
    let month_ago = gridwork_server::db::now_ms() - 30 * 86_400_000;
    let theirs = db.count(&format!(
        "SELECT count(*) FROM visits WHERE worker_id = 'gw-demo-1' AND started_at >= {month_ago}"
    ));
    let page = get(addr, "/workers/gw-demo-1", &me);
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        figure(&page.body, "id=\"worker-figures\"", "visits"),
        theirs.to_string()
    );
    let listed = get(addr, "/visits?worker=gw-demo-1", &me);
    assert_eq!(
        figure(&listed.body, "<p class=\"hint\">", "found"),
        theirs.to_string()
    );
    if theirs > 0 {
        assert!(listed
            .body
            .contains(r#"<a class="person" href="/workers/gw-demo-1""#));
    }
    assert_eq!(
        get(addr, "/workers/town-demo", &me).status,
        404,
        "above the staff member's node"
    );
    assert_eq!(get(addr, "/workers/nobody", &me).status, 404);

    // Filters and pages on the record lists, kept in the URL (issue 15 §6).
    assert_eq!(get(addr, "/cases?status=bogus", &me).status, 400);
    assert_eq!(
        get(addr, "/visits?worker=town-demo", &me).status,
        404,
        "not in the subtree"
    );
    let closed_only = get(addr, "/cases?status=closed", &me);
    assert!(
        !attrs(&closed_only.body, "data-case").is_empty(),
        "closed implies the whole list"
    );
    let closed = get(addr, "/cases?all=1&status=closed", &me);
    assert_eq!(closed.status, 200);
    let statuses = attrs(&closed.body, "data-status");
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| s == "closed"),
        "{statuses:?}"
    );
    let all_cases = db.count("SELECT count(*) FROM cases");
    let every = get(addr, "/cases?all=1", &me);
    assert_eq!(
        figure(&every.body, "<p class=\"bar\">", "found"),
        all_cases.to_string()
    );
    assert!(
        attrs(&every.body, "data-case").len() <= 100 * 2,
        "one page of rows (and their histories)"
    );
    if all_cases > 100 {
        assert!(every
            .body
            .contains(r#"rel="next" href="/cases?all=1&amp;page=2""#));
        assert_eq!(get(addr, "/cases?all=1&page=2", &me).status, 200);
    }
    let overdue = get(addr, "/hazards?overdue=1&all=1", &me);
    let overdue_db = db.count(&format!(
        "SELECT count(*) FROM hazards WHERE status != 'closed' AND deadline < {}",
        gridwork_server::db::now_ms()
    ));
    assert_eq!(
        attrs(&overdue.body, "data-hazard").len() as i64,
        overdue_db.min(100)
    );
    assert_eq!(get(addr, "/cases?grid=DEMO", &me).status, 404);

    // The map (issue 15 §7): every open hazard and case is counted, drawn
    // or not; visits of the last 30 days likewise.
    let map = get(addr, "/map", &me);
    assert_eq!(map.status, 200);
    let shown = |name: &str| -> i64 {
        figure(&map.body, r#"id="map-counts""#, name)
            .parse()
            .unwrap()
    };
    assert_eq!(
        shown("map_hazards") + shown("map_hazards_unlocated"),
        open_hazards
    );
    assert_eq!(
        shown("map_cases") + shown("map_cases_unlocated"),
        open_cases
    );
    assert!(
        shown("map_visits") > 0,
        "the demo's recent visits carry positions"
    );
    assert!(map.body.contains(r#"<svg class="map""#));
    assert_eq!(get(addr, "/map?grid=DEMO", &me).status, 404);

    // Find a household by the last four digits of a resident's phone
    // (issue 15): it is among the results, the search is access-logged
    // without what was searched for, and pages hold at most 50.
    let (target, phone) = {
        let row = db.text(
            "SELECT household_id || '|' || phone FROM residents WHERE length(phone) >= 7 ORDER BY id LIMIT 1",
        );
        let (h, p) = row.split_once('|').unwrap();
        (h.to_owned(), p.to_owned())
    };
    let digits = &phone[phone.len() - 4..];
    let searches = "SELECT count(*) FROM access_log WHERE action = 'search:households'";
    let searched_before = db.count(searches);
    let found = get(addr, &format!("/households?q={digits}"), &me);
    assert_eq!(found.status, 200, "{}", found.body);
    let rows = attrs(&found.body, "data-household");
    assert!(rows.contains(&target), "{digits}: {rows:?}");
    assert!(!found.body.contains(&phone), "the full phone is not shown");
    assert_eq!(db.count(searches), searched_before + 1);
    assert_eq!(
        db.count("SELECT count(*) FROM access_log WHERE scope LIKE '%' || 'DEMO-G' || '%' AND action = 'search:households' AND household_id = ''"),
        searched_before + 1
    );
    let all = get(addr, "/households", &me);
    let total: i64 = figure(&all.body, "<p class=\"hint\">", "found")
        .parse()
        .unwrap();
    assert_eq!(total, households);
    assert_eq!(
        attrs(&all.body, "data-household").len() as i64,
        total.min(50)
    );
    if total > 50 {
        assert!(all.body.contains(r#"rel="next" href="/households?page=2""#));
    }
    let overdue = get(addr, "/households?due=overdue&grid=DEMO-G01", &me);
    assert_eq!(overdue.status, 200);
    assert!(attrs(&overdue.body, "data-household").len() as i64 <= g1);
    assert_eq!(get(addr, "/households?q=12", &me).status, 400);
    assert_eq!(get(addr, "/households?grid=NOPE", &me).status, 404);
    assert_eq!(
        get(addr, "/households?q=%25", &me).status,
        200,
        "a % is matched as itself"
    );

    // A household whose visits found a problem with a note: the checklist
    // item by its label, the note beside it, the gridworker by name; the
    // access log names the staff member (issue 15).
    let (with_problem, item, note) = {
        let row = db.text(
            "SELECT v.household_id || '|' || a.item || '|' || a.note FROM visit_answers a
             JOIN visits v ON v.id = a.visit_id
             WHERE a.outcome = 'problem' AND a.note != '' ORDER BY v.id LIMIT 1",
        );
        let parts: Vec<String> = row.split('|').map(str::to_owned).collect();
        (parts[0].clone(), parts[1].clone(), parts[2].clone())
    };
    let page = get(addr, &format!("/households/{with_problem}"), &me);
    assert_eq!(page.status, 200);
    let label = gridwork_core::forms::default_pack::visit_checklist()
        .fields
        .into_iter()
        .find(|f| f.id == item)
        .map(|f| f.label_zh)
        .unwrap();
    assert!(
        page.body.contains(&format!(
            r#"data-item="{item}"><span class="tag warn">{label}</span> {note}"#
        )),
        "{item}: {label} {note}"
    );
    assert!(page
        .body
        .contains(r#"data-person="staff-demo">演示社区工作人员</a>"#));
    assert!(
        !page.body.contains("<td>gw-demo-1</td>") && !page.body.contains("<td>staff-demo</td>")
    );
    assert!(page.body.contains(r#"id="household-cases""#) || page.body.contains("没有事项"));

    // Other pages.
    for path in [
        "/hazards",
        "/hazards?all=1",
        "/cases?all=1",
        "/evaluation",
        "/exports",
    ] {
        let page = get(addr, path, &me);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
    }
    let evaluation = get(addr, "/evaluation?sort=coverage", &me);
    for worker in ["gw-demo-1", "gw-demo-2", "gw-demo-3"] {
        assert!(
            evaluation
                .body
                .contains(&format!(r#"data-worker="{worker}""#)),
            "{worker}"
        );
    }
    assert_eq!(get(addr, "/evaluation?month=2024-13", &me).status, 400);

    // Exports: valid XLSX (a zip) and CSV with the BOM; personal data is logged.
    let xlsx = get(addr, "/exports/households.xlsx", &me);
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.bytes.starts_with(b"PK\x03\x04"));
    assert!(xlsx
        .header("content-disposition")
        .unwrap()
        .contains("gridwork-households.xlsx"));
    let csv = get(addr, "/exports/cases.csv", &me);
    assert!(csv.bytes.starts_with(b"\xEF\xBB\xBF"));
    // People by name (the id kept) in the record exports.
    let visits_csv = get(addr, "/exports/visits.csv", &me);
    assert!(String::from_utf8_lossy(&visits_csv.bytes).contains(",演示网格员一（gw-demo-1）,"));
    // Labels for people, the codes in trailing columns (issue 15 §8).
    let text = String::from_utf8_lossy(&csv.bytes);
    let header = text.lines().next().unwrap();
    assert!(
        header.ends_with(
            "渠道代码 / channel_code,紧急程度代码 / urgency_code,状态代码 / status_code"
        ),
        "{header}"
    );
    let closed = text
        .lines()
        .find(|l| l.ends_with(",closed"))
        .expect("a closed case");
    assert!(
        closed.contains(",已结案,") && (closed.contains(",是,") || closed.contains(",否,")),
        "{closed}"
    );
    let evaluation_csv = get(addr, "/exports/evaluation.csv", &me);
    assert_eq!(evaluation_csv.status, 200);
    assert!(evaluation_csv.body.contains("gw-demo-1"));
    assert_eq!(
        db.count(
            "SELECT count(*) FROM access_log WHERE action IN ('export:households', 'export:cases')"
        ),
        2
    );
    assert_eq!(get(addr, "/exports/nothing.xlsx", &me).status, 404);

    // Not signed in: every page sends to /login.
    for path in ["/", "/cases", "/grids/DEMO-G01", "/exports/households.csv"] {
        let page = get(addr, path, &[]);
        assert_eq!(page.status, 303, "{path}");
    }
}

/// The register a staff member exports for one grid re-imports on that
/// grid's phone to the same households: nothing created, nothing changed.
#[test]
fn exported_register_reimports_on_the_phone_unchanged() {
    use gridwork_core::exchange::ExportFormat;
    use gridwork_core::sync::SyncOptions;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start(&data, &["--demo", "--demo-size", "small"]);
    let addr = server.addr.as_str();
    let token = server
        .preamble
        .iter()
        .filter_map(|v| v.get("demo_token"))
        .find(|t| t["worker"] == "gw-demo-1")
        .expect("gw-demo-1's token")["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let phone = gridwork_core::Store::open(dir.path().join("phone.db"), None).unwrap();
    phone.init("gw-demo-1", "演示网格员一", "DEMO-G01").unwrap();
    let url = format!("http://{addr}");
    phone.sync(&url, &token, &SyncOptions::default()).unwrap();
    let households = phone.list_households().unwrap();
    assert!(!households.is_empty());
    let heads = phone.doc_heads().unwrap();

    set_password(&["--data-dir", data.to_str().unwrap()], "staff-demo");
    let session = try_login(addr, "staff-demo", PASSWORD)
        .cookie("gw_session")
        .unwrap();
    let me = [("gw_session", session.as_str())];
    assert_eq!(
        get(addr, "/exports/households.xlsx?grid=ELSEWHERE", &me).status,
        404
    );
    for format in [ExportFormat::Xlsx, ExportFormat::Csv] {
        let file = get(
            addr,
            &format!("/exports/households.{}?grid=DEMO-G01", format.code()),
            &me,
        );
        assert_eq!(file.status, 200);
        let report = phone.import_register(&file.bytes, format).unwrap();
        assert!(report.stored && report.errors.is_empty(), "{report:?}");
        assert_eq!(report.households_created, 0, "{report:?}");
        assert_eq!(
            report.households_updated + report.residents_created + report.residents_updated,
            0,
            "{report:?}"
        );
        assert_eq!(report.unchanged as usize, households.len(), "{report:?}");
        assert!(report.renumbered.is_empty());
        assert_eq!(
            phone.doc_heads().unwrap(),
            heads,
            "{format:?}: no document changed"
        );
    }
    drop(server);
}

/// `serve --read-database` (issue 13): the dashboard's pages read the
/// replica, while sign-in, sessions and staff moves use the database the
/// phones sync with. The "replica" here is a copy of the database made
/// different on purpose (every hazard closed), so the pages show which one
/// they read; a real deployment points it at a hot standby.
#[test]
fn dashboard_pages_read_the_replica_and_writes_go_to_the_database() {
    let pg = gridwork_tests::postgres::TestPostgres::start();
    let primary = pg.create_database("town");
    let dir = tempfile::tempdir().unwrap();
    drop(start(
        &dir.path().join("seed"),
        &["--demo", "--demo-size", "small", "--database", &primary],
    ));
    set_password(&["--database", &primary], "staff-demo");
    let mut admin = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    admin
        .batch_execute("CREATE DATABASE town_replica TEMPLATE town")
        .unwrap();
    let replica = pg.url_for("town_replica");
    let mut on_replica = postgres::Client::connect(&replica, postgres::NoTls).unwrap();
    on_replica
        .batch_execute("UPDATE hazards SET status = 'closed'")
        .unwrap();
    let mut on_primary = postgres::Client::connect(&primary, postgres::NoTls).unwrap();
    let open_hazards = on_primary.count("SELECT count(*) FROM hazards WHERE status != 'closed'");
    assert!(open_hazards > 0);

    // A replica at another schema version is refused, without its URL.
    let empty = pg.create_database("empty");
    let refused = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &primary])
        .args(["--read-database", &empty])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("read-database") && !stderr.contains(&empty),
        "{stderr}"
    );
    // And it needs --database.
    let alone = Command::new(BIN)
        .args(["serve", "--read-database", &replica])
        .output()
        .unwrap();
    assert_eq!(alone.status.code(), Some(2));

    let server = start(
        &dir.path().join("serve"),
        &["--database", &primary, "--read-database", &replica],
    );
    let addr = server.addr.as_str();
    let session = sign_in(addr);
    let me = [("gw_session", session.as_str())];
    let home = get(addr, "/", &me);
    assert_eq!(home.status, 200, "{}", home.body);
    assert_eq!(figure(&home.body, "id=\"totals\"", "open_hazards"), "0");
    assert_eq!(
        figure(&home.body, "id=\"totals\"", "households"),
        on_replica
            .count("SELECT count(*) FROM households WHERE status = 'active'")
            .to_string()
    );

    // A staff move is checked and written on the database itself.
    move_first_open_case(addr, &me, &mut on_primary, "副本测试");
    let written = "SELECT count(*) FROM case_transitions WHERE note = '副本测试'";
    assert_eq!(on_primary.count(written), 1);
    assert_eq!(on_replica.count(written), 0);
    drop(server);
}

/// The same on a real hot standby (a streaming replica of the test
/// PostgreSQL): the demo town seeded on the database reaches the pages
/// through the standby, and a staff move made on the database shows on
/// the standby-served list once it has replicated.
#[test]
fn dashboard_on_a_hot_standby_follows_the_database() {
    let mut pg = gridwork_tests::postgres::TestPostgres::start();
    pg.create_database("town");
    let standby = pg.start_standby();
    let town = pg.url_for("town");
    let replica = standby.url_for("town");
    let mut on_primary = postgres::Client::connect(&town, postgres::NoTls).unwrap();
    // The schema first, and on the standby before the server checks it there.
    let out = Command::new(BIN)
        .args(["admin", "--database", &town, "grid", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let until = |what: &str, mut done: Box<dyn FnMut() -> bool + '_>| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: not replicated in 60 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    until(
        "schema",
        Box::new(|| {
            postgres::Client::connect(&replica, postgres::NoTls)
                .ok()
                .and_then(|mut c| {
                    c.query_one("SELECT coalesce(max(version), 0) FROM server_schema", &[])
                        .ok()
                })
                .is_some_and(|row| row.get::<_, i64>(0) == gridwork_server::pg::CURRENT_VERSION)
        }),
    );

    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        &[
            "--demo",
            "--demo-size",
            "small",
            "--database",
            &town,
            "--read-database",
            &replica,
        ],
    );
    set_password(&["--database", &town], "staff-demo");
    let addr = server.addr.as_str();
    let session = sign_in(addr);
    let me = [("gw_session", session.as_str())];
    let households = on_primary
        .count("SELECT count(*) FROM households WHERE status = 'active'")
        .to_string();
    until(
        "the demo town",
        Box::new(|| figure(&get(addr, "/", &me).body, "id=\"totals\"", "households") == households),
    );

    let (case, next) = move_first_open_case(addr, &me, &mut on_primary, "已受理");
    until(
        "the move",
        Box::new(|| case_status(&get(addr, "/cases?all=1", &me).body, &case) == next),
    );
    drop(server);
    drop(standby);
}

/// `serve --demo` builds a town at real scale (issue 15 §9): 3 communities,
/// 7 片区, 14 grids of 100–150 households, visits every week up to today,
/// open and overdue work, plausible people (Fujian identity numbers, ages
/// that fit their tags), and the town's staff see every community.
#[test]
fn the_demo_town_is_at_real_scale_and_busy_up_to_today() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start(&data, &["--demo"]);
    let mut db = gridwork_server::db::connect(&data).unwrap();
    assert_eq!(db.count("SELECT count(*) FROM grids WHERE level = 2"), 3);
    assert_eq!(db.count("SELECT count(*) FROM grids WHERE level = 3"), 7);
    assert_eq!(db.count("SELECT count(*) FROM grids WHERE level = 4"), 14);
    for per_grid in db.texts("SELECT CAST(count(*) AS TEXT) FROM households GROUP BY grid") {
        let n: i64 = per_grid.parse().unwrap();
        assert!((100..=150).contains(&n), "{n} households in a grid");
    }
    let now = gridwork_server::db::now_ms();
    let week = 7 * 86_400_000i64;
    for w in 0..4 {
        let visits = db.count(&format!(
            "SELECT count(*) FROM visits WHERE started_at >= {} AND started_at < {}",
            now - (w + 1) * week,
            now - w * week
        ));
        assert!(visits >= 200, "{visits} visits {w} weeks ago");
    }
    assert!(
        db.count(&format!(
            "SELECT count(*) FROM hazards WHERE status != 'closed' AND deadline < {now}"
        )) > 0
    );
    assert!(db.count("SELECT count(*) FROM cases WHERE status != 'closed'") > 0);
    // People: every identity number from Fujian or a place a floating
    // population comes from; ages that fit the tags.
    let foreign = db.count(
        "SELECT count(*) FROM residents WHERE substr(id_number, 1, 2) NOT IN ('35', '36', '43', '51')",
    );
    assert_eq!(foreign, 0);
    let year: i64 = db.text("SELECT strftime('%Y', 'now')").parse().unwrap();
    let children_too_old = db.count(&format!(
        "SELECT count(*) FROM residents r JOIN resident_tags t ON t.resident_id = r.id
         WHERE t.tag = 'child_in_distress' AND CAST(substr(r.birth_date, 1, 4) AS INTEGER) < {}",
        year - 18
    ));
    assert_eq!(children_too_old, 0);
    let young_elderly = db.count(&format!(
        "SELECT count(*) FROM residents r JOIN resident_tags t ON t.resident_id = r.id
         WHERE t.tag = 'elderly_alone' AND CAST(substr(r.birth_date, 1, 4) AS INTEGER) > {}",
        year - 69
    ));
    assert_eq!(young_elderly, 0);
    // The town's staff see the three communities.
    set_password(&["--data-dir", data.to_str().unwrap()], "town-demo");
    let ok = try_login(&server.addr, "town-demo", PASSWORD);
    assert_eq!(ok.status, 303, "{}", ok.body);
    let session = ok.cookie("gw_session").unwrap();
    let home = get(&server.addr, "/", &[("gw_session", &session)]);
    for c in ["DEMO-C1", "DEMO-C2", "DEMO-C3"] {
        assert!(
            home.body.contains(&format!(r#"data-community="{c}""#)),
            "{c}"
        );
    }
}

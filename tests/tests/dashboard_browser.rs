//! The staff dashboard in a real browser: headless Chromium (over
//! chromedriver) against the real `gridwork-server`, with phones driven
//! through the `gridwork` CLI.
//!
//! Three phones in two communities sync households, visits, a hazard and a
//! case. Community staff of C1 are refused with a wrong password and without
//! the sign-in form's CSRF token, then sign in; the overview's figures equal
//! what the phones of C1 synced (and nothing of community C2); the grid,
//! household, hazards and evaluation pages load; the case is moved through
//! every stage to `closed` with the queue's one form per case (dispatched
//! to a named handler of the directory, the handler shown on the queue; the
//! staff member who reported the handling back finds 核查 disabled and a
//! colleague verifies and closes), a form without its CSRF token is refused
//! and changes nothing; the phone that opened the case sees it closed by
//! the staff after its next sync. Community C2's staff see only C2.
//!
//! Screenshots go to `target/browser-screenshots/`. Without chromedriver the
//! test is skipped unless `GRIDWORK_BROWSER_TEST=required` (`.ci/run`).

use gridwork_tests::browser::{self, Browser};
use gridwork_tests::cli::Phone;
use gridwork_tests::server::Server;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;
use tempfile::TempDir;

/// The dashboard password of both community staff (given to the admin
/// command through an environment variable).
const STAFF_PASSWORD: &str = "Xingfu-2026-社区";
/// The start of the one sign-in refusal text (`web::html::LOGIN_FAILED`).
const LOGIN_FAILED: &str = "用户名或密码错误，或账户已暂时锁定";
/// The start of the CSRF refusal text (`web::html::CSRF_FAILED`).
const CSRF_FAILED: &str = "表单已失效或不是从本站提交的，未做任何更改";
/// A valid GB 11643 identity number (a resident born in 1949).
const ID_NUMBER: &str = "11010519491231002X";

/// The figures of one grid (or a whole subtree) as the overview shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Figures {
    households: u64,
    households_visited: u64,
    visits_this_month: u64,
    special_group_households: u64,
    special_due: u64,
    special_overdue: u64,
    open_hazards: u64,
    hazards_overdue: u64,
    open_cases: u64,
    cases_past_response_target: u64,
    responses: u64,
    responses_within_target: u64,
}

impl Figures {
    fn add(self, o: Figures) -> Figures {
        Figures {
            households: self.households + o.households,
            households_visited: self.households_visited + o.households_visited,
            visits_this_month: self.visits_this_month + o.visits_this_month,
            special_group_households: self.special_group_households + o.special_group_households,
            special_due: self.special_due + o.special_due,
            special_overdue: self.special_overdue + o.special_overdue,
            open_hazards: self.open_hazards + o.open_hazards,
            hazards_overdue: self.hazards_overdue + o.hazards_overdue,
            open_cases: self.open_cases + o.open_cases,
            cases_past_response_target: self.cases_past_response_target
                + o.cases_past_response_target,
            responses: self.responses + o.responses,
            responses_within_target: self.responses_within_target + o.responses_within_target,
        }
    }

    /// `coverage` as the overview prints it: visited / households, one
    /// decimal, `—` for no households (no data is not 0%).
    fn coverage(&self) -> String {
        if self.households == 0 {
            return "—".into();
        }
        format!(
            "{:.1}%",
            self.households_visited as f64 * 100.0 / self.households as f64
        )
    }

    /// `(name, text)` of every figure, as in `[data-figure=NAME]`.
    fn named(&self) -> Vec<(&'static str, String)> {
        let n = |v: u64| v.to_string();
        vec![
            ("households", n(self.households)),
            ("households_visited", n(self.households_visited)),
            ("visits_this_month", n(self.visits_this_month)),
            ("coverage", self.coverage()),
            ("special_group_households", n(self.special_group_households)),
            ("special_due", n(self.special_due)),
            ("special_overdue", n(self.special_overdue)),
            ("open_hazards", n(self.open_hazards)),
            ("hazards_overdue", n(self.hazards_overdue)),
            ("open_cases", n(self.open_cases)),
            (
                "cases_past_response_target",
                n(self.cases_past_response_target),
            ),
            ("responses", n(self.responses)),
            ("responses_within_target", n(self.responses_within_target)),
        ]
    }
}

/// What one phone recorded, counted by the test as it went.
#[derive(Default)]
struct Work {
    households: Vec<String>,
    visited: BTreeSet<String>,
    visits: u64,
    special: BTreeSet<String>,
    open_hazards: u64,
    open_cases: u64,
}

impl Work {
    /// The figures the server must show for this phone's grid, from what the
    /// test did; the policy-dependent due/overdue counts come from the
    /// phone's own `gridwork report`, whose other figures must agree.
    fn figures(&self, phone: &Phone) -> Figures {
        let report = phone.json(&["report"]);
        let get = |k: &str| report[k].as_u64().unwrap_or_else(|| panic!("report.{k}"));
        let f = Figures {
            households: self.households.len() as u64,
            households_visited: self.visited.len() as u64,
            visits_this_month: self.visits,
            special_group_households: self.special.len() as u64,
            special_due: get("special_groups_due"),
            special_overdue: get("special_groups_overdue"),
            open_hazards: self.open_hazards,
            hazards_overdue: 0,
            open_cases: self.open_cases,
            cases_past_response_target: 0,
            responses: 0,
            responses_within_target: 0,
        };
        assert_eq!(get("households_total"), f.households, "{report}");
        assert_eq!(get("households_visited_this_month"), f.households_visited);
        assert_eq!(get("visits_this_month"), f.visits_this_month);
        assert_eq!(get("special_group_households"), f.special_group_households);
        assert_eq!(get("open_hazards"), f.open_hazards);
        assert_eq!(get("open_cases"), f.open_cases);
        assert_eq!(get("hazards_past_deadline"), 0);
        assert_eq!(get("cases_past_response_target"), 0);
        f
    }
}

fn add_household(phone: &Phone, work: &mut Work, address: &str) -> String {
    let id = phone.add_household(address, &["--representative", "住户"]);
    work.households.push(id.clone());
    id
}

fn visit(phone: &Phone, work: &mut Work, household: &str) {
    // Positions a few tens of metres apart in a Fuzhou neighbourhood.
    let n = work.visits as f64;
    let (lat, lon) = (
        format!("{:.5}", 26.0745 + n * 0.0004),
        format!("{:.5}", 119.2965 + n * 0.0006),
    );
    phone.json(&[
        "visit",
        "record",
        household,
        "--note",
        "入户走访",
        "--lat",
        &lat,
        "--lon",
        &lon,
    ]);
    work.visited.insert(household.to_string());
    work.visits += 1;
}

/// The server with two communities: T1 → C1 → C1-1 → G1, G2 and
/// T1 → C2 → C2-1 → G3; gridworkers gw-a (G1), gw-c (G2), gw-z (G3) with
/// device tokens; community staff staff-c1 (C1) and staff-c2 (C2) with a
/// dashboard password.
fn start_server(dir: &Path) -> (Server, Vec<String>) {
    let server = Server::start(&dir.join("server"), &[]);
    for (code, name, parent) in [
        ("T1", "演示镇", None),
        ("C1", "幸福社区", Some("T1")),
        ("C1-1", "幸福片区", Some("C1")),
        ("G1", "幸福第一网格", Some("C1-1")),
        ("G2", "幸福第二网格", Some("C1-1")),
        ("C2", "和平社区", Some("T1")),
        ("C2-1", "和平片区", Some("C2")),
        ("G3", "和平第一网格", Some("C2-1")),
    ] {
        let mut args = vec!["grid", "add", code, "--name", name];
        if let Some(parent) = parent {
            args.extend(["--parent", parent]);
        }
        server.admin(&args);
    }
    let mut tokens = Vec::new();
    for (id, grid) in [("gw-a", "G1"), ("gw-c", "G2"), ("gw-z", "G3")] {
        tokens.push(server.add_gridworker(id, grid));
    }
    for (id, name, grid) in [
        ("staff-c1", "李社工", "C1"),
        ("staff-c1b", "钱社工", "C1"),
        ("staff-c2", "赵社工", "C2"),
    ] {
        let added = server.admin_env(
            &[
                "worker",
                "add",
                id,
                "--name",
                name,
                "--role",
                "community_staff",
                "--grid",
                grid,
                "--password-env",
                "GW_STAFF_PASSWORD",
            ],
            &[("GW_STAFF_PASSWORD", STAFF_PASSWORD)],
        );
        assert_eq!(added["password_set"], true, "{added}");
    }
    // The directory cases are dispatched to (`admin handler`).
    server.admin(&[
        "handler",
        "add",
        "wuye",
        "--name",
        "幸福物业",
        "--kind",
        "department",
        "--grid",
        "C1",
    ]);
    server.admin(&[
        "handler",
        "add",
        "wang",
        "--name",
        "王建国",
        "--kind",
        "person",
        "--grid",
        "C1",
    ]);
    (server, tokens)
}

/// Check every `[data-figure]` inside `scope` against `expected`; `names`
/// limits the check to those figures (the per-grid rows show fewer).
async fn assert_figures(b: &Browser, scope: &str, expected: &Figures, names: &[&str]) {
    for (name, value) in expected.named() {
        if !names.is_empty() && !names.contains(&name) {
            continue;
        }
        let css = format!("{scope} [data-figure=\"{name}\"]");
        assert_eq!(b.text(&css).await, value, "{scope}: figure {name}");
    }
}

/// The figures every per-grid row of the overview carries.
const ROW_FIGURES: &[&str] = &[
    "households",
    "households_visited",
    "visits_this_month",
    "coverage",
    "open_hazards",
    "open_cases",
];

/// Sign in through the form; `csrf: false` removes the hidden token first.
async fn sign_in(b: &Browser, user: &str, password: &str, csrf: bool) {
    b.goto("/login").await;
    assert_eq!(b.path().await, "/login");
    let user_field = b.find("form[action=\"/login\"] input[name=\"user\"]").await;
    user_field.clear().await.expect("clear user");
    user_field.send_keys(user).await.expect("type user");
    b.find("form[action=\"/login\"] input[name=\"password\"]")
        .await
        .send_keys(password)
        .await
        .expect("type password");
    if !csrf {
        b.script("document.querySelector('form[action=\"/login\"] input[name=\"csrf\"]').remove(); return null;")
            .await;
    }
    let submit = b
        .find("form[action=\"/login\"] button[type=\"submit\"]")
        .await;
    b.click_and_wait(&submit).await;
}

/// The case's row on the current page, and its status code.
async fn case_status(b: &Browser, case: &str) -> String {
    let cell = b
        .find(&format!("tr[data-case=\"{case}\"] [data-field=\"status\"]"))
        .await;
    cell.attr("data-status")
        .await
        .expect("data-status")
        .unwrap_or_else(|| panic!("case {case}: status cell without data-status"))
}

/// The queue's one form of `case` (a note, the handler to dispatch to,
/// one button per move).
fn action_form(case: &str) -> String {
    format!("form[action=\"/cases/{case}/transition\"]")
}

/// Move `case` to `to` with its form on `/cases` (one click, one page); a
/// dispatch goes to the person `wang` (王建国) of the directory.
async fn act(b: &Browser, case: &str, to: &str, note: &str) {
    b.goto("/cases").await;
    let form = action_form(case);
    let button = format!("{form} button[data-action=\"{to}\"]");
    assert!(
        b.exists(&button).await,
        "/cases: no `{button}` (allowed next stages of the case missing?)"
    );
    assert!(b.exists(&format!("{form} input[name=\"csrf\"]")).await);
    let notes = b.find_all(&format!("{form} input[name=\"note\"]")).await;
    assert_eq!(notes.len(), 1, "one note field per case");
    notes[0].send_keys(note).await.expect("type note");
    if to == "dispatched" {
        b.script(&format!(
            "document.querySelector('{}').value = 'wang'; return null;",
            format!("{form} select[name=\"assignee\"]").replace('\'', "\\'")
        ))
        .await;
    }
    let submit = b.find(&button).await;
    b.click_and_wait(&submit).await;
    let path = b.path().await;
    assert!(
        path.starts_with("/cases"),
        "after `{to}` the browser is on {path}, not back on /cases: {}",
        b.body_text().await
    );
    assert_eq!(b.status().await, 200, "{path} after `{to}`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_see_their_figures_and_close_a_case_in_a_browser() {
    let test = "dashboard_browser";
    let Some(driver) = browser::chromedriver(test) else {
        return;
    };
    // Built (or found up to date) first, so that the timings below are the
    // scenario's own.
    let build = Instant::now();
    gridwork_tests::cli::workspace_bins();
    let build = build.elapsed();
    let started = Instant::now();
    let dir = TempDir::new().unwrap();
    let (server, tokens) = start_server(dir.path());
    let url = server.url.clone();
    let phone = |name: &str, worker: &str, grid: &str| {
        let p = Phone::new(dir.path().join(format!("{name}.db")));
        p.init(worker, grid);
        p
    };
    let a = phone("a", "gw-a", "G1");
    let c = phone("c", "gw-c", "G2");
    let z = phone("z", "gw-z", "G3");

    // G1: three households, one with a resident living alone (a special
    // group, not yet visited), two visited; a resident's request and a
    // hazard.
    let mut g1 = Work::default();
    let h1 = add_household(&a, &mut g1, "幸福里1号楼101室");
    a.json(&[
        "resident",
        "add",
        &h1,
        "--name",
        "王秀英",
        "--id-number",
        ID_NUMBER,
        "--tag",
        "elderly_alone",
    ]);
    g1.special.insert(h1.clone());
    a.json(&["household", "edit", &h1, "--phone", "13912345678"]);
    let h2 = add_household(&a, &mut g1, "幸福里1号楼102室");
    let h3 = add_household(&a, &mut g1, "幸福里2号楼201室");
    visit(&a, &mut g1, &h2);
    visit(&a, &mut g1, &h3);
    let case = a.json(&[
        "case",
        "open",
        "--category",
        "环境卫生",
        "--description",
        "楼道堆放杂物，居民请求清理",
        "--household",
        &h1,
    ]);
    let case_id = case["id"].as_str().unwrap().to_string();
    assert_eq!(case["status"], "collected");
    g1.open_cases += 1;
    a.json(&[
        "hazard",
        "report",
        "--category",
        "消防安全",
        "--description",
        "电动车在楼道内充电",
        "--severity",
        "medium",
        "--household",
        &h2,
        "--lat",
        "26.0749",
        "--lon",
        "119.2958",
    ]);
    g1.open_hazards += 1;

    // G2: two households, one visited.
    let mut g2 = Work::default();
    let h4 = add_household(&c, &mut g2, "幸福里3号楼301室");
    add_household(&c, &mut g2, "幸福里3号楼302室");
    visit(&c, &mut g2, &h4);

    // G3, in the other community: one household.
    let mut g3 = Work::default();
    let h6 = add_household(&z, &mut g3, "和平里1号楼101室");

    a.sync(&url, &tokens[0]);
    c.sync(&url, &tokens[1]);
    z.sync(&url, &tokens[2]);
    let want_g1 = g1.figures(&a);
    let want_g2 = g2.figures(&c);
    let want_g3 = g3.figures(&z);
    let want_c1 = want_g1.add(want_g2);
    assert_eq!(want_c1.special_group_households, 1);
    let setup = started.elapsed();

    let b = Browser::start(&driver, &url).await;

    // Sign-in page: a login CSRF token in the form and in a cookie.
    b.goto("/login").await;
    assert_eq!(b.status().await, 200);
    assert!(
        b.exists("form[action=\"/login\"] input[name=\"csrf\"]")
            .await
    );
    assert!(b.cookie("gw_login_csrf").await.is_some());
    assert!(b.cookie("gw_session").await.is_none());

    // A wrong password: the sign-in page again, 401, the generic text.
    sign_in(&b, "staff-c1", "not-the-password", true).await;
    assert_eq!(b.status().await, 401);
    assert_eq!(b.path().await, "/login");
    let refusal = b.text("[role=\"alert\"]").await;
    assert!(refusal.starts_with(LOGIN_FAILED), "{refusal}");
    assert!(b.cookie("gw_session").await.is_none(), "no session");
    b.screenshot("login-refused").await;

    // The right password without the form's CSRF token: 403, no session.
    sign_in(&b, "staff-c1", STAFF_PASSWORD, false).await;
    assert_eq!(b.status().await, 403);
    assert!(b.body_text().await.contains(CSRF_FAILED));
    assert!(b.cookie("gw_session").await.is_none(), "no session");

    // Signed in: the overview of C1.
    sign_in(&b, "staff-c1", STAFF_PASSWORD, true).await;
    assert_eq!(b.path().await, "/");
    assert_eq!(b.status().await, 200);
    assert!(b.cookie("gw_session").await.is_some());
    assert_figures(&b, "#totals", &want_c1, &[]).await;
    for (grid, want) in [("G1", &want_g1), ("G2", &want_g2)] {
        assert_figures(
            &b,
            &format!("#grids tr[data-grid=\"{grid}\"]"),
            want,
            ROW_FIGURES,
        )
        .await;
        assert!(b.exists(&format!("a[href=\"/grids/{grid}\"]")).await);
    }
    assert_eq!(
        b.text("#cases-by-status [data-status=\"collected\"]").await,
        "1"
    );
    for nav in ["/cases", "/hazards", "/evaluation"] {
        assert!(b.exists(&format!("a[href=\"{nav}\"]")).await, "nav {nav}");
    }
    // Nothing of community C2.
    assert!(!b.exists("#grids tr[data-grid=\"G3\"]").await);
    assert!(!b.exists("a[href=\"/grids/G3\"]").await);
    assert_ne!(want_c1.add(want_g3).households, want_c1.households);
    b.screenshot("overview").await;

    b.goto("/?lang=en").await;
    assert_eq!(
        b.script("return document.documentElement.lang;").await,
        "en"
    );
    assert_figures(&b, "#totals", &want_c1, &["households", "coverage"]).await;
    b.screenshot("overview-en").await;
    b.goto("/?lang=zh").await;
    assert_eq!(
        b.script("return document.documentElement.lang;").await,
        "zh-CN"
    );

    // Out of scope: another community's grid and household.
    b.goto("/grids/G3").await;
    let status = b.status().await;
    assert!(matches!(status, 403 | 404), "/grids/G3 answered {status}");
    b.goto(&format!("/households/{h6}")).await;
    let status = b.status().await;
    assert!(
        matches!(status, 403 | 404),
        "/households/<G3> answered {status}"
    );
    assert!(!b.body_text().await.contains("和平里1号楼101室"));

    // Drill-down: the community → its 片区 → G1, each page summing the
    // grids below it, with breadcrumbs back up.
    b.goto("/").await;
    let link = b.find("#children a[href=\"/grids/C1-1\"]").await;
    b.click_and_wait(&link).await;
    assert_eq!(b.path().await, "/grids/C1-1");
    assert_figures(&b, "#totals", &want_c1, &["households", "open_cases"]).await;
    assert!(b.exists("nav.crumbs a[href=\"/grids/C1\"]").await);
    b.screenshot("area-C1-1").await;
    let link = b.find("#grids a[href=\"/grids/G1\"]").await;
    b.click_and_wait(&link).await;
    assert_eq!(b.path().await, "/grids/G1");
    assert!(b.exists("nav.crumbs a[href=\"/grids/C1-1\"]").await);
    let mut shown = BTreeSet::new();
    for row in b.find_all("tr[data-household]").await {
        shown.insert(row.attr("data-household").await.unwrap().unwrap());
    }
    let expected: BTreeSet<String> = g1.households.iter().cloned().collect();
    assert_eq!(shown, expected, "households of G1");
    b.screenshot("grid-G1").await;
    let link = b
        .find(&format!(
            "tr[data-household=\"{h1}\"] a[href=\"/households/{h1}\"]"
        ))
        .await;
    b.click_and_wait(&link).await;
    assert_eq!(b.path().await, format!("/households/{h1}"));
    let page = b.body_text().await;
    assert!(page.contains("王秀英"), "resident listed");
    assert!(!page.contains(ID_NUMBER), "identity number masked");
    let masked = b.text("[data-field=\"id_number\"]").await;
    assert!(
        masked.contains('*') && masked.ends_with(&ID_NUMBER[14..]),
        "masked identity number: {masked}"
    );
    b.screenshot("household").await;

    b.goto("/hazards").await;
    assert_eq!(b.status().await, 200);
    assert!(b.body_text().await.contains("电动车在楼道内充电"));
    b.screenshot("hazards").await;

    b.goto("/evaluation").await;
    assert_eq!(b.status().await, 200);
    b.screenshot("evaluation").await;

    // Find the household by the last digits of its phone, see its open
    // case with the first-response countdown running.
    b.goto("/households").await;
    let q = b.find("form.filters input[name=\"q\"]").await;
    q.send_keys("5678").await.expect("type the digits");
    let find = b.find("form.filters button[type=\"submit\"]").await;
    b.click_and_wait(&find).await;
    assert!(b.path().await.starts_with("/households"));
    let rows = b.find_all("#households tr[data-household]").await;
    assert_eq!(rows.len(), 1, "one household ends in 5678");
    assert_eq!(
        rows[0].attr("data-household").await.unwrap().as_deref(),
        Some(h1.as_str())
    );
    b.screenshot("households-search").await;
    let link = b
        .find(&format!("#households a[href=\"/households/{h1}\"]"))
        .await;
    b.click_and_wait(&link).await;
    let clock = format!("#household-cases tr[data-case=\"{case_id}\"] [data-clock=\"response\"]");
    assert!(b.exists(&clock).await, "the open case with its countdown");
    assert!(
        b.text(&clock).await.contains("首次响应剩"),
        "{}",
        b.text(&clock).await
    );
    b.screenshot("household-case").await;

    // The map before: the open case counted (its household has no located
    // visit yet), the hazard too.
    b.goto("/map").await;
    assert_eq!(b.status().await, 200);
    let cases_before: u64 = b.text("[data-figure=\"map_cases\"]").await.parse().unwrap();
    let unlocated_before: u64 = b
        .text("[data-figure=\"map_cases_unlocated\"]")
        .await
        .parse()
        .unwrap();
    assert_eq!(cases_before + unlocated_before, 1);
    assert_eq!(b.text("[data-figure=\"map_hazards\"]").await, "1");
    assert_eq!(
        b.text("[data-figure=\"map_visits\"]").await,
        (want_c1.visits_this_month).to_string(),
        "C1's located visits"
    );
    assert!(b.exists("svg.map [data-point=\"hazard\"]").await);
    b.screenshot("map").await;

    // The case queue: register and dispatch.
    b.goto("/cases").await;
    assert_eq!(case_status(&b, &case_id).await, "collected");
    act(&b, &case_id, "registered", "社区已受理").await;
    assert_eq!(case_status(&b, &case_id).await, "registered");
    act(&b, &case_id, "dispatched", "派物业清理").await;
    assert_eq!(case_status(&b, &case_id).await, "dispatched");
    b.screenshot("cases-dispatched").await;

    assert!(
        b.text(&format!(
            "tr[data-case=\"{case_id}\"] [data-assignee=\"wang\"]"
        ))
        .await
        .contains("王建国"),
        "the queue names who the case was dispatched to"
    );
    // A form without its CSRF token: 403, nothing changes.
    let form = action_form(&case_id);
    b.script(&format!(
        "document.querySelector('{}').querySelector('input[name=\"csrf\"]').remove(); return null;",
        form.replace('\'', "\\'")
    ))
    .await;
    let submit = b
        .find(&format!("{form} button[data-action=\"handling\"]"))
        .await;
    b.click_and_wait(&submit).await;
    assert_eq!(b.status().await, 403);
    assert!(b.body_text().await.contains(CSRF_FAILED));
    b.screenshot("csrf-refused").await;
    b.goto("/cases").await;
    assert_eq!(case_status(&b, &case_id).await, "dispatched", "unchanged");

    // Handle, feedback, verify, close.
    let stages = [
        ("registered", "社区已受理"),
        ("dispatched", "派物业清理"),
        ("handling", "物业正在清理"),
        ("feedback", "已清理完毕"),
        ("verified", "现场核查无误"),
        ("closed", "办结"),
    ];
    for (to, note) in &stages[2..4] {
        act(&b, &case_id, to, note).await;
    }
    // Who reported the handling back may not verify it: another does.
    b.goto("/cases").await;
    let verify = b
        .find(&format!(
            "{} button[data-action=\"verified\"]",
            action_form(&case_id)
        ))
        .await;
    assert!(
        verify.attr("disabled").await.unwrap().is_some(),
        "verify is disabled for the handler"
    );
    let logout = b
        .find("form[action=\"/logout\"] button[type=\"submit\"]")
        .await;
    b.click_and_wait(&logout).await;
    sign_in(&b, "staff-c1b", STAFF_PASSWORD, true).await;
    for (to, note) in &stages[4..] {
        act(&b, &case_id, to, note).await;
    }
    b.goto("/cases?all=1").await;
    assert_eq!(case_status(&b, &case_id).await, "closed");
    b.screenshot("cases-closed").await;

    // The gridworker's page: their visits of the last 30 days, by name.
    b.goto("/workers/gw-a").await;
    assert_eq!(b.status().await, 200);
    assert_eq!(
        b.text("#worker-figures [data-figure=\"visits\"]").await,
        "2"
    );
    b.screenshot("worker").await;
    b.goto("/visits").await;
    assert_eq!(
        b.text("[data-figure=\"found\"]").await,
        want_c1.visits_this_month.to_string()
    );
    b.screenshot("visits").await;

    // The map follows: the closed case is gone.
    b.goto("/map").await;
    let cases_after: u64 = b.text("[data-figure=\"map_cases\"]").await.parse().unwrap();
    let unlocated_after: u64 = b
        .text("[data-figure=\"map_cases_unlocated\"]")
        .await
        .parse()
        .unwrap();
    assert_eq!(cases_after + unlocated_after, 0);

    // The overview follows.
    b.goto("/").await;
    let after = Figures {
        open_cases: 0,
        responses: 1,
        responses_within_target: 1,
        ..want_c1
    };
    assert_figures(&b, "#totals", &after, &[]).await;
    assert_eq!(
        b.text("#cases-by-status [data-status=\"closed\"]").await,
        "1"
    );

    // The phone that opened the case sees what staff did.
    a.sync(&url, &tokens[0]);
    let shown = a.json(&["case", "show", &case_id]);
    assert_eq!(shown["status"], "closed", "{shown}");
    let transitions = shown["transitions"].as_array().expect("transitions");
    let made: Vec<(&str, &str, &str)> = transitions
        .iter()
        .map(|t| {
            (
                t["to"].as_str().unwrap(),
                t["by"].as_str().unwrap(),
                t["note"].as_str().unwrap(),
            )
        })
        .collect();
    let want: Vec<(&str, &str, &str)> = stages
        .iter()
        .enumerate()
        .map(|(i, (to, note))| (*to, if i < 4 { "staff-c1" } else { "staff-c1b" }, *note))
        .collect();
    let notes_shown = made.iter().any(|(_, _, n)| !n.is_empty());
    if notes_shown {
        assert_eq!(made, want, "{shown}");
    } else {
        // The queue's forms carry no note field.
        let to_by: Vec<_> = made.iter().map(|(to, by, _)| (*to, *by)).collect();
        let want: Vec<_> = want.iter().map(|(to, by, _)| (*to, *by)).collect();
        assert_eq!(to_by, want, "{shown}");
    }
    let listed = a.json(&["case", "list"]);
    let listed = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == case_id.as_str())
        .expect("case listed");
    assert_eq!(listed["status"], "closed");

    // Sign out; C2's staff see C2 only.
    let logout = b
        .find("form[action=\"/logout\"] button[type=\"submit\"]")
        .await;
    b.click_and_wait(&logout).await;
    assert_eq!(b.path().await, "/login");
    sign_in(&b, "staff-c2", STAFF_PASSWORD, true).await;
    assert_eq!(b.path().await, "/");
    assert_figures(
        &b,
        "#totals",
        &want_g3,
        &["households", "coverage", "open_cases"],
    )
    .await;
    assert!(b.exists("#grids tr[data-grid=\"G3\"]").await);
    assert!(!b.exists("#grids tr[data-grid=\"G1\"]").await);

    b.close().await;
    eprintln!(
        "{test}: binaries built or checked in {:.1}s; phones and server {:.1}s, \
         the whole scenario {:.1}s; screenshots in {}",
        build.as_secs_f64(),
        setup.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        browser::screenshot_dir().display()
    );
}

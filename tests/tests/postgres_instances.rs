//! Several `gridwork-server` instances on one PostgreSQL database (issue
//! 13): a throwaway PostgreSQL from the installed binaries, two real server
//! processes on 127.0.0.1 serving from it, and phones (the CLI) that
//! alternate between the instances while they edit the same household and
//! case offline. They converge, nothing is lost, a staff member's action
//! taken through one instance reaches a gridworker syncing through the
//! other, and a third instance started later serves the same data.

use gridwork_tests::cli::Phone;
use gridwork_tests::postgres::TestPostgres;
use gridwork_tests::server::{admin_database, Server};
use serde_json::Value;
use tempfile::TempDir;

/// Everything two converged replicas of grid G1 must agree on.
fn state(p: &Phone) -> (Value, Value, Value) {
    (
        p.json(&["household", "list"]),
        p.json(&["case", "list"]),
        p.json(&["conflicts"]),
    )
}

/// Add worker `id` with `role` on `grid` through `admin --database` and
/// issue a device token; returns the token.
fn worker_token(url: &str, id: &str, role: &str, grid: &str) -> String {
    admin_database(
        url,
        &[
            "worker", "add", id, "--name", "测试", "--role", role, "--grid", grid,
        ],
    );
    admin_database(url, &["token", "issue", id])["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The households the `gridwork docs` list of a phone names, with heads.
fn docs(p: &Phone) -> Value {
    p.json(&["docs"])
}

#[test]
fn two_instances_on_one_database_converge_phones_that_alternate() {
    let pg = TestPostgres::start();
    let url = pg.create_database("two_instances");
    let dir = TempDir::new().unwrap();
    let a_server = Server::start(&dir.path().join("a"), &["--database", &url]);
    let b_server = Server::start(&dir.path().join("b"), &["--database", &url]);
    let instances = [a_server.url.clone(), b_server.url.clone()];

    // Accounts through the admin command on the database itself.
    admin_database(&url, &["grid", "add", "T1", "--name", "演示镇"]);
    admin_database(
        &url,
        &["grid", "add", "C1", "--name", "幸福社区", "--parent", "T1"],
    );
    admin_database(
        &url,
        &["grid", "add", "C1-1", "--name", "片区一", "--parent", "C1"],
    );
    admin_database(
        &url,
        &[
            "grid",
            "add",
            "G1",
            "--name",
            "第一网格",
            "--parent",
            "C1-1",
        ],
    );
    let token = |id: &str, role: &str, grid: &str| worker_token(&url, id, role, grid);
    let gw_a = token("gw-a", "gridworker", "G1");
    let gw_b = token("gw-b", "gridworker", "G1");
    let staff = token("staff-c1", "community_staff", "C1");
    let listed = admin_database(&url, &["worker", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 3);

    let phone = |name: &str, worker: &str, grid: &str| {
        let p = Phone::new(dir.path().join(format!("{name}.db")));
        p.init(worker, grid);
        p
    };
    let a = phone("a", "gw-a", "G1");
    let b = phone("b", "gw-b", "G1");
    let s = phone("s", "staff-c1", "C1");

    // A registers a household and opens a case through instance A; B
    // receives them through instance B.
    let h = a.add_household("幸福里1号楼101室", &["--phone", "13800138000"]);
    let case = a.json(&[
        "case",
        "open",
        "--category",
        "环境卫生",
        "--description",
        "楼道垃圾",
        "--household",
        &h,
    ]);
    let case_id = case["id"].as_str().unwrap().to_string();
    a.sync(&instances[0], &gw_a);
    b.sync(&instances[1], &gw_b);
    assert_eq!(b.json(&["household", "show", &h])["phone"], "13800138000");

    // Offline edits of the same household on both phones, several rounds,
    // each phone switching instance every time.
    for round in 0..4usize {
        a.json(&[
            "household",
            "edit",
            &h,
            "--phone",
            &format!("1390000000{round}"),
        ]);
        b.json(&["resident", "add", &h, "--name", &format!("居民{round}")]);
        a.json(&["visit", "record", &h, "--note", &format!("第{round}次走访")]);
        a.sync(&instances[round % 2], &gw_a);
        b.sync(&instances[(round + 1) % 2], &gw_b);
    }
    // The case is escalated by A (through instance B).
    a.json(&[
        "case",
        "transition",
        &case_id,
        "--to",
        "escalated",
        "--note",
        "上报社区",
    ]);
    a.sync(&instances[1], &gw_a);

    // The community staff member dispatches it through instance A …
    s.sync(&instances[0], &staff);
    assert_eq!(s.json(&["case", "show", &case_id])["status"], "escalated");
    s.json(&[
        "case",
        "transition",
        &case_id,
        "--to",
        "dispatched",
        "--note",
        "社区派单",
    ]);
    s.sync(&instances[0], &staff);
    // … and gridworker B, syncing through instance B, sees the dispatch.
    b.sync(&instances[1], &gw_b);
    assert_eq!(b.json(&["case", "show", &case_id])["status"], "dispatched");

    // Two fault-free rounds through alternating instances: everything
    // converges, nothing is lost.
    for round in 0..2usize {
        a.sync(&instances[round % 2], &gw_a);
        b.sync(&instances[(round + 1) % 2], &gw_b);
    }
    assert_eq!(state(&a), state(&b));
    assert_eq!(docs(&a), docs(&b));
    let shown = a.json(&["household", "show", &h]);
    assert_eq!(shown["residents"].as_array().unwrap().len(), 4);
    assert_eq!(
        a.json(&["visit", "list", "--household", &h])
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert!(a.json(&["check"])["ok"].as_bool().unwrap());

    // A third instance, started now, serves the same data: a new phone of
    // gridworker B's receives the whole grid from it.
    let mut c_server = Server::start(&dir.path().join("c"), &["--database", &url]);
    let fresh = phone("b2", "gw-b", "G1");
    fresh.sync(&c_server.url, &gw_b);
    assert_eq!(state(&fresh), state(&a));
    // SIGTERM shuts an instance down cleanly (its pooled connections too).
    assert_eq!(c_server.stop(), Some(0));
}

#[test]
fn concurrent_pushes_through_two_instances_lose_nothing() {
    let pg = TestPostgres::start();
    let url = pg.create_database("concurrent_pushes");
    let dir = TempDir::new().unwrap();
    let servers = [
        Server::start(&dir.path().join("a"), &["--database", &url]),
        Server::start(&dir.path().join("b"), &["--database", &url]),
    ];
    admin_database(&url, &["grid", "add", "T1", "--name", "镇"]);
    admin_database(
        &url,
        &["grid", "add", "C1", "--name", "社区", "--parent", "T1"],
    );
    admin_database(
        &url,
        &["grid", "add", "P1", "--name", "片区", "--parent", "C1"],
    );
    admin_database(
        &url,
        &["grid", "add", "G1", "--name", "网格", "--parent", "P1"],
    );
    // Six phones of one grid, each with its own households and an edit of
    // a shared one, all pushing at once through both instances: the docs
    // and the feed counter are contended across the two processes.
    let first = Phone::new(dir.path().join("first.db"));
    first.init("gw-0", "G1");
    let first_token = worker_token(&url, "gw-0", "gridworker", "G1");
    let shared = first.add_household("共用1号", &[]);
    first.sync(&servers[0].url, &first_token);
    let phones: Vec<(Phone, String)> = (1..=6)
        .map(|i| {
            let id = format!("gw-{i}");
            let token = worker_token(&url, &id, "gridworker", "G1");
            let p = Phone::new(dir.path().join(format!("p{i}.db")));
            p.init(&id, "G1");
            p.sync(&servers[i % 2].url, &token);
            for n in 0..3 {
                p.add_household(&format!("{i}号楼{n}室"), &[]);
            }
            p.json(&["resident", "add", &shared, "--name", &format!("住户{i}")]);
            (p, token)
        })
        .collect();
    std::thread::scope(|scope| {
        for (i, (p, token)) in phones.iter().enumerate() {
            let url = servers[i % 2].url.clone();
            scope.spawn(move || p.sync(&url, token));
        }
    });
    // Settle: every phone syncs twice more, alternating.
    for round in 0..2 {
        for (i, (p, token)) in phones.iter().enumerate() {
            p.sync(&servers[(i + round) % 2].url, token);
        }
    }
    let households = |p: &Phone| p.json(&["household", "list"]).as_array().unwrap().len();
    for (p, _) in &phones {
        assert_eq!(households(p), 1 + 6 * 3);
        assert_eq!(
            p.json(&["household", "show", &shared])["residents"]
                .as_array()
                .unwrap()
                .len(),
            6
        );
        assert_eq!(state(p), state(&phones[0].0));
    }
}

#[test]
fn templates_and_policies_published_on_postgres_reach_phones_through_any_instance() {
    let pg = TestPostgres::start();
    let url = pg.create_database("publication");
    let dir = TempDir::new().unwrap();
    let servers = [
        Server::start(&dir.path().join("a"), &["--database", &url]),
        Server::start(&dir.path().join("b"), &["--database", &url]),
    ];
    admin_database(&url, &["grid", "add", "T1", "--name", "镇"]);
    admin_database(
        &url,
        &["grid", "add", "C1", "--name", "社区", "--parent", "T1"],
    );
    admin_database(
        &url,
        &["grid", "add", "P1", "--name", "片区", "--parent", "C1"],
    );
    admin_database(
        &url,
        &["grid", "add", "G1", "--name", "一网格", "--parent", "P1"],
    );
    let token = worker_token(&url, "gw-a", "gridworker", "G1");
    let a = Phone::new(dir.path().join("a.db"));
    a.init("gw-a", "G1");

    // A template version published to the community, through the admin
    // command on the database.
    // One above the newest built-in version (2).
    let mut v2 = a.json(&["form", "show", "duty-sanitation"]);
    v2["version"] = serde_json::json!(3);
    let file = dir.path().join("v2.json");
    std::fs::write(&file, serde_json::to_vec(&v2).unwrap()).unwrap();
    let published = admin_database(
        &url,
        &[
            "template",
            "publish",
            file.to_str().unwrap(),
            "--grid",
            "C1",
            "--by",
            "staff-1",
        ],
    );
    assert_eq!(published["doc_id"], "template/duty-sanitation/3");
    assert_eq!(published["changed"], true);
    let again = admin_database(
        &url,
        &[
            "template",
            "publish",
            file.to_str().unwrap(),
            "--grid",
            "C1",
        ],
    );
    assert_eq!(again["changed"], false);
    assert_eq!(
        admin_database(&url, &["template", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A policy set on the community; a grid added afterwards inherits it.
    let policy = dir.path().join("policy.json");
    std::fs::write(&policy, br#"{"first_response_minutes": 10}"#).unwrap();
    let set = admin_database(
        &url,
        &["policy", "set", "--grid", "C1", policy.to_str().unwrap()],
    );
    assert_eq!(set["effective"]["first_response_minutes"], 10);
    assert_eq!(set["republished"], serde_json::json!(["C1", "P1", "G1"]));
    admin_database(
        &url,
        &["grid", "add", "G2", "--name", "二网格", "--parent", "P1"],
    );
    let shown = admin_database(&url, &["policy", "show", "--grid", "G2"]);
    assert_eq!(shown["effective"]["first_response_minutes"], 10);

    // The phone receives both through either instance.
    a.sync(&servers[1].url, &token);
    let newest: Vec<u64> = a
        .json(&["form", "templates"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["id"] == "duty-sanitation")
        .map(|t| t["version"].as_u64().unwrap())
        .collect();
    assert_eq!(newest, vec![1, 2, 3]);
    let docs = a.json(&["docs"]);
    assert!(
        docs.as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == "policy/G1"),
        "{docs}"
    );
    a.sync(&servers[0].url, &token);
}

/// One plain HTTP request through the core's transport (redirects
/// followed): status and body.
fn http(method: &'static str, url: &str, form: Option<&str>) -> (u16, String) {
    use gridwork_core::sync::{HttpRequest, HttpTransport, Transport};
    let transport = HttpTransport::new().unwrap();
    let mut headers = Vec::new();
    if form.is_some() {
        headers.push((
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ));
    }
    let response = transport
        .exchange(HttpRequest {
            method,
            url: url.to_string(),
            token: String::new(),
            headers,
            body: form.unwrap_or_default().as_bytes().to_vec(),
        })
        .unwrap();
    let body = String::from_utf8_lossy(&response.body).into_owned();
    (response.status, body)
}

#[test]
fn a_residents_request_filed_on_one_instance_wakes_a_phone_waiting_on_the_other() {
    use gridwork_core::sync::{SyncOptions, WaitOptions};
    let pg = TestPostgres::start();
    let url = pg.create_database("residents");
    let dir = TempDir::new().unwrap();
    let servers = [
        Server::start(&dir.path().join("a"), &["--database", &url]),
        Server::start(&dir.path().join("b"), &["--database", &url]),
    ];
    for (code, parent) in [
        ("T1", None),
        ("C1", Some("T1")),
        ("P1", Some("C1")),
        ("G1", Some("P1")),
    ] {
        let mut args = vec!["grid", "add", code, "--name", code];
        if let Some(parent) = parent {
            args.extend(["--parent", parent]);
        }
        admin_database(&url, &args);
    }
    let token = worker_token(&url, "gw-a", "gridworker", "G1");
    let invite = admin_database(&url, &["invite", "add", "--grid", "G1"]);
    let link = invite["path"].as_str().unwrap().to_string();
    let (a_url, b_url) = (servers[0].url.clone(), servers[1].url.clone());
    let phone_path = dir.path().join("phone.db");
    {
        let phone = gridwork_core::Store::open(&phone_path, None).unwrap();
        phone.init("gw-a", "网格员", "G1").unwrap();
        phone.sync(&b_url, &token, &SyncOptions::default()).unwrap();
    }
    // The phone waits on instance B.
    let waiting = {
        let (path, b_url, token) = (phone_path.clone(), b_url.clone(), token.clone());
        std::thread::spawn(move || {
            let phone = gridwork_core::Store::open(&path, None).unwrap();
            let options = WaitOptions {
                hold_secs: 20,
                ..Default::default()
            };
            phone.wait_for_changes(&b_url, &token, &options).unwrap()
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    // A resident files on instance A.
    let (status, page) = http("GET", &format!("{a_url}{link}"), None);
    assert_eq!(status, 200);
    let key = r#"name="form" value=""#;
    let start = page.find(key).unwrap() + key.len();
    let form = &page[start..start + page[start..].find('"').unwrap()];
    let filed = std::time::Instant::now();
    let body = format!(
        "form={form}&kind=request&category=repair&text=%E8%B7%AF%E7%81%AF%E4%B8%8D%E4%BA%AE"
    );
    let (status, answer) = http("POST", &format!("{a_url}{link}"), Some(&body));
    // The transport follows the redirect to the tracking page.
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains(r#"data-status="collected""#), "{answer}");
    assert!(
        waiting.join().unwrap(),
        "the phone on the other instance woke"
    );
    assert!(
        filed.elapsed() < std::time::Duration::from_secs(5),
        "woke {:?} after the filing",
        filed.elapsed()
    );
    let phone = gridwork_core::Store::open(&phone_path, None).unwrap();
    phone.sync(&b_url, &token, &SyncOptions::default()).unwrap();
    let cases = phone.list_cases(false).unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].opened_by.0, "resident");
    assert_eq!(cases[0].category, "设施报修");
}

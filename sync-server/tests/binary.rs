//! End-to-end tests of the `gridwork-server` binary: serve (port
//! announcement, /healthz, SIGTERM), the PostgreSQL refusal, the admin
//! commands, `serve --demo` tokens and staff sign-ins, and `GET /metrics`
//! counting real sync requests.

use gridwork_core::sync::protocol::{self, DocPush, SyncRequest, SyncResponse};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;

use common::{exchange, post_sync, start, start_with_env, Reply, Server, BIN};

/// One HTTP/1.1 request without a body; returns (status, body text).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let reply = exchange(addr, method, path, headers, &[]);
    (reply.status, reply.text())
}

/// Sign in to the dashboard as a browser does: GET /login for the login
/// CSRF cookie and the matching hidden field, then POST the form with both.
fn sign_in(addr: &str, user: &str, password: &str) -> Reply {
    let page = exchange(addr, "GET", "/login", &[], &[]);
    assert_eq!(page.status, 200);
    let csrf = page.cookie("gw_login_csrf").expect("login CSRF cookie");
    assert!(page
        .text()
        .contains(&format!(r#"name="csrf" value="{csrf}""#)));
    // Worker ids, demo passwords and CSRF tokens need no URL-encoding.
    let form = format!("user={user}&password={password}&csrf={csrf}");
    let cookie = format!("gw_login_csrf={csrf}");
    let headers = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    exchange(addr, "POST", "/login", &headers, form.as_bytes())
}

/// SIGTERM the server and require a prompt exit 0.
fn terminate(mut server: Server) {
    let pid = server.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
            return;
        }
        assert!(Instant::now() < deadline, "server did not stop within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn admin(data_dir: &Path, args: &[&str]) -> Output {
    common::admin_with_env(data_dir, args, &[])
}

fn admin_json(data_dir: &Path, args: &[&str]) -> Value {
    common::admin_json(data_dir, args, &[])
}

#[test]
fn serve_healthz_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start(&data, &[]);
    assert!(server.preamble.is_empty());
    assert!(data.join("gridwork.db").exists());
    let (status, body) = http(&server.addr, "GET", "/healthz", &[]);
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body, serde_json::json!({ "status": "ok" }));
    let (status, body) = http(&server.addr, "GET", "/nope", &[]);
    assert_eq!(status, 404);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "not_found");
    terminate(server);
    // A second start on the same data directory works (migrations are idempotent).
    let server = start(&data, &[]);
    terminate(server);
}

#[test]
fn other_databases_are_refused_with_exit_2() {
    for url in ["mysql://x", "sqlite:///tmp/x.db"] {
        let out = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", url])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("不支持的数据库地址"), "{stderr}");
        assert!(stderr.contains("unsupported --database URL"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn an_unreachable_postgres_fails_without_printing_the_url() {
    // Port 1 on loopback: nothing listens there.
    let url = "postgres://gridwork:s3cret-pass@127.0.0.1:1/gridwork?connect_timeout=2";
    for args in [
        vec!["serve", "--listen", "127.0.0.1:0", "--database", url],
        vec!["admin", "--database", url, "grid", "list"],
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("PostgreSQL"), "{stderr}");
        assert!(!stderr.contains("s3cret-pass"), "{stderr}");
        assert!(out.stdout.is_empty() || !String::from_utf8_lossy(&out.stdout).contains("s3cret"));
    }
}

#[test]
fn admin_commands_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let g = grid_tree(data);
    assert_eq!(g["level"], 4);
    let grids = admin_json(data, &["grid", "list"]);
    assert_eq!(grids.as_array().unwrap().len(), 4);
    assert_eq!(grids[0]["code"], "T");
    assert_eq!(grids[0]["parent"], Value::Null);

    // A 5th level and an unknown parent are user errors: exit 1, one line.
    for args in [
        &["grid", "add", "X", "--name", "x", "--parent", "G1"][..],
        &["grid", "add", "X", "--name", "x", "--parent", "NOPE"][..],
    ] {
        let out = admin(data, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim().lines().count(),
            1
        );
    }
    // An unknown role is a usage error: exit 2.
    let out = admin(
        data,
        &[
            "worker", "add", "w", "--name", "n", "--role", "boss", "--grid", "G1",
        ],
    );
    assert_eq!(out.status.code(), Some(2));

    let w = admin_json(
        data,
        &[
            "worker",
            "add",
            "gw-1",
            "--name",
            "网格员甲",
            "--role",
            "gridworker",
            "--grid",
            "G1",
        ],
    );
    assert_eq!(w["role"], "gridworker");
    admin_json(
        data,
        &[
            "worker",
            "add",
            "staff-1",
            "--name",
            "社区人员",
            "--role",
            "community_staff",
            "--grid",
            "C",
        ],
    );
    let workers = admin_json(data, &["worker", "list"]);
    assert_eq!(workers.as_array().unwrap().len(), 2);

    let issued = admin_json(data, &["token", "issue", "gw-1"]);
    assert_eq!(issued["worker"], "gw-1");
    let token = issued["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43);
    admin_json(data, &["token", "issue", "gw-1"]);
    let out = admin(data, &["token", "issue", "nobody"]);
    assert_eq!(out.status.code(), Some(1));

    // The token is not stored in clear anywhere in the data directory.
    let db_bytes = std::fs::read(data.join("gridwork.db")).unwrap();
    assert!(!db_bytes.windows(token.len()).any(|w| w == token.as_bytes()));

    let revoked = admin_json(data, &["token", "revoke", "gw-1"]);
    assert_eq!(
        revoked,
        serde_json::json!({ "worker": "gw-1", "revoked": 2 })
    );
    let revoked = admin_json(data, &["token", "revoke", "gw-1"]);
    assert_eq!(revoked["revoked"], 0);
}

#[test]
fn demo_prints_tokens_then_listens_and_seeds_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start(&data, &["--demo", "--demo-size", "small"]);
    // Every preamble line is one object with one key: tokens, then passwords.
    assert!(server
        .preamble
        .iter()
        .all(|v| v.as_object().is_some_and(|o| o.len() == 1)));
    let tokens: Vec<&Value> = server
        .preamble
        .iter()
        .filter_map(|v| v.get("demo_token"))
        .collect();
    let workers: Vec<&str> = tokens
        .iter()
        .map(|t| t["worker"].as_str().unwrap())
        .collect();
    assert_eq!(
        workers,
        [
            "gw-demo-1",
            "gw-demo-2",
            "gw-demo-3",
            "staff-demo",
            "town-demo"
        ]
    );
    assert_eq!(tokens[0]["grid"], "DEMO-G01");
    assert_eq!(tokens[2]["grid"], "DEMO-G02");
    assert_eq!(tokens[3]["grid"], "DEMO-C1");
    assert_eq!(tokens[4]["grid"], "DEMO");
    assert!(tokens
        .iter()
        .all(|t| t["token"].as_str().unwrap().len() == 43));
    let (status, _) = http(&server.addr, "GET", "/healthz", &[]);
    assert_eq!(status, 200);

    // The staff's dashboard sign-ins: printed once, and they work.
    let lines = server.preamble.len();
    assert_eq!(
        server.preamble[lines - 2..]
            .iter()
            .filter_map(|v| v.get("demo_password"))
            .count(),
        2,
        "passwords come after the tokens"
    );
    let passwords: Vec<(String, String)> = server
        .preamble
        .iter()
        .filter_map(|v| v.get("demo_password"))
        .map(|p| {
            let password = p["password"].as_str().unwrap().to_owned();
            let groups: Vec<&str> = password.split('-').collect();
            assert_eq!(groups.len(), 4, "{p}");
            assert!(groups
                .iter()
                .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_alphanumeric())));
            let user = p["worker"].as_str().unwrap().to_owned();
            let expected = match user.as_str() {
                "staff-demo" => ("community_staff", "DEMO-C1"),
                _ => ("town_staff", "DEMO"),
            };
            assert_eq!(
                (p["role"].as_str(), p["grid"].as_str()),
                (Some(expected.0), Some(expected.1))
            );
            (user, password)
        })
        .collect();
    let users: Vec<&str> = passwords.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(users, ["staff-demo", "town-demo"]);
    for (user, password) in &passwords {
        let signed_in = sign_in(&server.addr, user, password);
        assert_eq!(signed_in.status, 303, "{user}: {}", signed_in.text());
        assert_eq!(signed_in.header("location"), Some("/"));
        let session = signed_in.cookie("gw_session").expect("session cookie");
        let cookie = format!("gw_session={session}");
        let home = exchange(&server.addr, "GET", "/", &[("Cookie", &cookie)], &[]);
        assert_eq!(home.status, 200, "{user}");
    }
    let wrong = sign_in(&server.addr, "staff-demo", &passwords[1].1);
    assert_eq!(wrong.status, 401);
    terminate(server);

    let grids = admin_json(&data, &["grid", "list"]);
    assert_eq!(grids.as_array().unwrap().len(), 5);
    // Demo grid data was written and every doc is on the feed.
    let db = gridwork_server::db::open(&data).unwrap();
    let (docs, feed, g01, g02, other) = gridwork_server::db::read(&db, |c| {
        let count = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0));
        Ok((
            count("SELECT count(*) FROM docs")?,
            count("SELECT count(*) FROM doc_feed")?,
            count("SELECT count(*) FROM households WHERE grid = 'DEMO-G01'")?,
            count("SELECT count(*) FROM households WHERE grid = 'DEMO-G02'")?,
            count("SELECT count(*) FROM docs WHERE scope NOT IN ('DEMO-G01', 'DEMO-G02')")?,
        ))
    })
    .unwrap();
    assert!(docs > 0);
    assert_eq!(feed, docs);
    assert_eq!((g01, g02, other), (40, 20, 0));
    drop(db);
    // Only the passwords' hashes are stored.
    let db_bytes = std::fs::read(data.join("gridwork.db")).unwrap();
    for (_, password) in &passwords {
        assert!(!db_bytes
            .windows(password.len())
            .any(|w| w == password.as_bytes()));
    }
    // Seeded once: a second start prints no tokens and no passwords.
    let server = start(&data, &["--demo", "--demo-size", "small"]);
    assert!(server.preamble.is_empty());
    terminate(server);
}

/// The samples of an OpenMetrics / Prometheus text exposition, keyed by
/// `name{labels}`, after checking its shape: `# HELP`, `# TYPE` (and
/// `# UNIT`) lines naming each family before its samples, every sample a
/// `name{labels} value` line of a declared family, and `# EOF` last.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let valid_name = |n: &str| {
        !n.is_empty()
            && !n.starts_with(|c: char| c.is_ascii_digit())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.pop(), Some("# EOF"), "{text}");
    let mut helped = BTreeSet::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in lines {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let (kind, name, rest) = (parts.next(), parts.next(), parts.next());
            let name = name.unwrap_or_else(|| panic!("{line}"));
            assert!(valid_name(name), "{line}");
            match kind {
                Some("HELP") => assert!(helped.insert(name.to_owned()), "{line}"),
                Some("TYPE") => {
                    let kind = rest.unwrap_or_default();
                    assert!(
                        [
                            "counter",
                            "gauge",
                            "histogram",
                            "summary",
                            "unknown",
                            "info"
                        ]
                        .contains(&kind),
                        "{line}"
                    );
                    assert!(types.insert(name.to_owned(), kind.to_owned()).is_none());
                }
                Some("UNIT") => assert!(name.ends_with(rest.unwrap_or("?")), "{line}"),
                _ => panic!("unknown comment: {line}"),
            }
            continue;
        }
        let (key, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        let name = match key.split_once('{') {
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                for pair in labels.split(',') {
                    let (label, quoted) = pair.split_once('=').unwrap_or_else(|| panic!("{line}"));
                    assert!(valid_name(label), "{line}");
                    assert!(quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'));
                }
                name
            }
            None => key,
        };
        assert!(valid_name(name), "{line}");
        let family = ["_total", "_bucket", "_sum", "_count", "_created", ""]
            .iter()
            .find_map(|suffix| {
                let family = name.strip_suffix(suffix)?;
                types.contains_key(family).then_some(family)
            })
            .unwrap_or_else(|| panic!("sample of an undeclared family: {line}"));
        assert!(helped.contains(family), "{line}");
        assert!(samples.insert(key.to_owned(), value).is_none(), "{line}");
    }
    samples
}

/// GET /metrics (with optional headers): its checked samples.
fn scrape(addr: &str, headers: &[(&str, &str)]) -> BTreeMap<String, f64> {
    let reply = exchange(addr, "GET", "/metrics", headers, &[]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    parse_exposition(&reply.text())
}

/// The grid tree T → C → C-1 → G1 through `admin grid add`; returns G1's JSON.
fn grid_tree(data: &Path) -> Value {
    common::grid_tree(data)
}

/// [`grid_tree`] with gridworker gw-1 in G1; returns gw-1's token.
fn small_town(data: &Path) -> String {
    grid_tree(data);
    common::gridworker_token(data, "gw-1")
}

/// A phone of the first release (protocol version 1) keeps syncing with this
/// server: its request is understood, its push applied, and the answer comes
/// in version 1 with reasons it knows.
#[test]
fn a_version_1_phone_is_answered_in_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = small_town(&data);
    let server = start(&data, &[]);
    let addr = server.addr.as_str();
    // A phone's household, pushed whole as a first-release phone does.
    let phone = gridwork_core::Store::open(dir.path().join("old.db"), None).unwrap();
    let device = phone.init("gw-1", "网格员", "G1").unwrap();
    let household = phone
        .add_household(gridwork_core::model::NewHousehold {
            address: "1号楼".into(),
            ..Default::default()
        })
        .unwrap();
    let id = gridwork_core::docs::DocId::household(household.id);
    let saved = phone.export_doc(&id).unwrap();
    let heads = protocol::to_hashes(&automerge::Automerge::load(&saved).unwrap().get_heads());
    let old = protocol::v1::SyncRequest {
        device: device.actor,
        pushes: vec![
            DocPush {
                id: id.to_string(),
                heads,
                changes: saved,
            },
            DocPush {
                id: "template/visit/1".into(),
                ..DocPush::default()
            },
        ],
        ..Default::default()
    };
    let reply = post_sync(addr, &token, &protocol::v1::encode(&old).unwrap());
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(protocol::version_of(&reply.body).unwrap(), 1);
    let answer: protocol::v1::SyncResponse = protocol::v1::decode(&reply.body).unwrap();
    assert_eq!(
        answer.docs.len(),
        1,
        "the household was applied and acknowledged"
    );
    assert_eq!(
        answer.rejected.iter().map(|r| r.reason).collect::<Vec<_>>(),
        [protocol::v1::RejectReason::ReadOnly]
    );
}

#[test]
fn metrics_count_syncs_by_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = small_town(&data);
    let server = start(&data, &[]);
    let addr = server.addr.as_str();
    let before = scrape(addr, &[]);
    let requests = |outcome: &str| format!("gridwork_sync_requests_total{{outcome=\"{outcome}\"}}");
    for outcome in [
        "ok",
        "rejected",
        "unauthorized",
        "bad_request",
        "too_large",
        "error",
    ] {
        assert_eq!(before[&requests(outcome)], 0.0, "{outcome}");
    }

    // One plain sync, one whose push is refused (templates are read-only),
    // one with an unknown token, one with a body that is not a sync body.
    let plain = protocol::encode(&SyncRequest {
        device: "phone-1".into(),
        ..SyncRequest::default()
    })
    .unwrap();
    let refused = protocol::encode(&SyncRequest {
        device: "phone-1".into(),
        pushes: vec![DocPush {
            id: "template/visit/1".into(),
            ..DocPush::default()
        }],
        ..SyncRequest::default()
    })
    .unwrap();
    let garbage = b"not a sync body".to_vec();
    let ok = post_sync(addr, &token, &plain);
    assert_eq!(ok.status, 200, "{}", ok.text());
    let rejected = post_sync(addr, &token, &refused);
    assert_eq!(rejected.status, 200);
    let answer: SyncResponse = protocol::decode(&rejected.body).unwrap();
    assert_eq!(answer.rejected.len(), 1);
    let unauthorized = post_sync(addr, &"A".repeat(43), &plain);
    assert_eq!(unauthorized.status, 401);
    let bad = post_sync(addr, &token, &garbage);
    assert_eq!(bad.status, 400);

    let after = scrape(addr, &[]);
    let delta = |key: &str| after[key] - before.get(key).copied().unwrap_or(0.0);
    for (outcome, expected) in [
        ("ok", 1.0),
        ("rejected", 1.0),
        ("unauthorized", 1.0),
        ("bad_request", 1.0),
        ("too_large", 0.0),
        ("error", 0.0),
    ] {
        assert_eq!(delta(&requests(outcome)), expected, "{outcome}");
    }
    // Every request is timed, the 401 too; the scrapes are not counted.
    assert_eq!(delta("gridwork_sync_request_duration_seconds_count"), 4.0);
    assert_eq!(
        delta("gridwork_sync_request_duration_seconds_bucket{le=\"+Inf\"}"),
        4.0
    );
    assert!(delta("gridwork_sync_request_duration_seconds_sum") > 0.0);
    let mut cumulative = 0.0;
    for le in ["0.005", "0.01", "0.1", "1.0", "10.0", "+Inf"] {
        let count = after[&format!("gridwork_sync_request_duration_seconds_bucket{{le=\"{le}\"}}")];
        assert!(count >= cumulative, "buckets are cumulative");
        cumulative = count;
    }
    // Bodies read by the handler (not the refused 401), every response body.
    let read = plain.len() + refused.len() + garbage.len();
    assert_eq!(delta("gridwork_sync_request_bytes_total"), read as f64);
    let sent: usize = [&ok, &rejected, &unauthorized, &bad]
        .iter()
        .map(|r| r.body.len())
        .sum();
    assert_eq!(delta("gridwork_sync_response_bytes_total"), sent as f64);
    assert_eq!(delta("gridwork_sync_docs_received_total"), 1.0);
    assert_eq!(delta("gridwork_sync_docs_rejected_total"), 1.0);
    assert_eq!(delta("gridwork_sync_docs_sent_total"), 0.0);
    assert_eq!(after["gridwork_docs"], 0.0);
    assert_eq!(after["gridwork_devices"], 1.0);
    // No worker id, grid, device or doc id in the exposition.
    let text = exchange(addr, "GET", "/metrics", &[], &[]).text();
    for private in ["gw-1", "G1", "phone-1", "template/visit"] {
        assert!(!text.contains(private), "{private}");
    }
    terminate(server);
}

#[test]
fn metrics_token_env_guards_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = "metrics-0123456789abcdef";
    let args = ["--metrics-token-env", "GW_TEST_METRICS_TOKEN"];
    let server = start_with_env(&data, &args, &[("GW_TEST_METRICS_TOKEN", token)]);
    let (status, _) = http(&server.addr, "GET", "/metrics", &[]);
    assert_eq!(status, 401);
    let wrong = [("Authorization", "Bearer metrics-wrong-0123456789")];
    assert_eq!(http(&server.addr, "GET", "/metrics", &wrong).0, 401);
    let bearer = format!("Bearer {token}");
    let samples = scrape(&server.addr, &[("Authorization", bearer.as_str())]);
    assert_eq!(samples["gridwork_sync_request_duration_seconds_count"], 0.0);
    assert_eq!(http(&server.addr, "GET", "/healthz", &[]).0, 200);
    terminate(server);

    // An unset variable is a user error naming it: exit 1, one line, no port.
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .args(args)
        .env_remove("GW_TEST_METRICS_TOKEN")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GW_TEST_METRICS_TOKEN"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty());
}

/// Issue 12: nothing in the server's data directory holds a resident's
/// name, ID number or phone in the clear, after a demo start and after an
/// online backup (the database and the backup are encrypted).
#[test]
fn no_personal_data_in_the_clear_in_the_data_directory_or_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start(&data, &["--demo", "--demo-size", "small"]);
    let backup = dir.path().join("backup.db");
    let taken = admin_json(&data, &["backup", "--to", backup.to_str().unwrap()]);
    assert!(taken["docs"].as_i64().unwrap() > 0);
    let _ = server.child.kill();
    let _ = server.child.wait();
    let conn = gridwork_server::db::connect(&data).unwrap();
    let mut secrets: Vec<String> = Vec::new();
    let mut stmt = conn
        .prepare("SELECT name, id_number, phone FROM residents WHERE id_number != '' LIMIT 50")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok([
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ])
        })
        .unwrap();
    for row in rows {
        secrets.extend(row.unwrap().into_iter().filter(|s| s.chars().count() >= 2));
    }
    drop(stmt);
    drop(conn);
    assert!(
        secrets.len() >= 50,
        "demo residents with names, ID numbers and phones"
    );
    let mut files = vec![backup];
    files.extend(std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().path()));
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        for secret in &secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds personal data in the clear",
                file.display()
            );
        }
    }
}

//! End-to-end tests of the `gridwork-server` binary: serve (port
//! announcement, /healthz, SIGTERM), the PostgreSQL refusal, the admin
//! commands, and `serve --demo` tokens.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;

use common::{start, Server, BIN};

/// One HTTP/1.1 request; returns (status, body).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status: u16 = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
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
    Command::new(BIN)
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap()
}

fn admin_json(data_dir: &Path, args: &[&str]) -> Value {
    let out = admin(data_dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
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
fn postgres_is_refused_with_exit_2() {
    for url in ["postgres://x", "postgresql://user@host/db"] {
        let out = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", url])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("PostgreSQL 尚未支持"), "{stderr}");
        assert!(
            stderr.contains("PostgreSQL is not yet supported"),
            "{stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn admin_commands_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    admin_json(data, &["grid", "add", "T", "--name", "演示镇"]);
    admin_json(
        data,
        &["grid", "add", "C", "--name", "幸福社区", "--parent", "T"],
    );
    admin_json(
        data,
        &["grid", "add", "C-1", "--name", "一片区", "--parent", "C"],
    );
    let g = admin_json(
        data,
        &["grid", "add", "G1", "--name", "第一网格", "--parent", "C-1"],
    );
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
    let server = start(&data, &["--demo"]);
    let tokens: Vec<&Value> = server.preamble.iter().map(|v| &v["demo_token"]).collect();
    let workers: Vec<&str> = tokens
        .iter()
        .map(|t| t["worker"].as_str().unwrap())
        .collect();
    assert_eq!(
        workers,
        ["gw-demo-1", "gw-demo-2", "gw-demo-3", "staff-demo"]
    );
    assert_eq!(tokens[0]["grid"], "DEMO-G01");
    assert_eq!(tokens[2]["grid"], "DEMO-G02");
    assert_eq!(tokens[3]["grid"], "DEMO-C1");
    assert!(tokens
        .iter()
        .all(|t| t["token"].as_str().unwrap().len() == 43));
    let (status, _) = http(&server.addr, "GET", "/healthz", &[]);
    assert_eq!(status, 200);
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
    // Seeded once: a second start prints no tokens.
    let server = start(&data, &["--demo"]);
    assert!(server.preamble.is_empty());
    terminate(server);
}

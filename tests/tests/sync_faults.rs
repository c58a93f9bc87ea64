//! Sync through a faulty network: the real `gridwork-server` on 127.0.0.1
//! behind the fault-injecting proxy of `gridwork_tests::proxy`, phones driven
//! through the `gridwork` CLI.
//!
//! The data-loss scenario of issue 11 §1: phones A and B of grid G1 carry
//! two years of history each (A 40 households, B 60 — together more than a
//! feed page of 400 docs). A uploads and the response is lost on the way
//! back: the server applied the upload, A never heard back, so A's docs stay
//! dirty and its feed cursor stays before them. B uploads its 60 households.
//! Then A and B sync normally, twice each. The old feed loop read
//! PAGE_DOCS + 1 entries, counted only the docs it sent, and when A's
//! re-pushed docs were skipped it ended without `more` and jumped A's cursor
//! past B's docs it never read: A kept its 40 households while B had 100.
//! Both phones must end with all 100 households, the same docs at the same
//! heads as each other and as the server, and consistent read models.

use gridwork_tests::cli::{stderr_lines, Phone};
use gridwork_tests::proxy::{Fault, Proxy};
use gridwork_tests::server::Server;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Instant;
use tempfile::TempDir;

/// The server's feed page (`gridwork_server::sync::engine::PAGE_DOCS`).
const PAGE_DOCS: usize = 400;

struct Town {
    _dir: TempDir,
    server: Server,
    a: Phone,
    b: Phone,
    tokens: [String; 2],
}

/// The grid tree of `sync.rs`'s town, with two gridworkers of G1.
fn town() -> Town {
    let dir = TempDir::new().unwrap();
    let server = Server::start(&dir.path().join("server"), &[]);
    server.add_small_town();
    let tokens = [("gw-a", "G1"), ("gw-b", "G1")].map(|(id, grid)| server.add_gridworker(id, grid));
    let phone = |name: &str, worker: &str| {
        let p = Phone::new(dir.path().join(format!("{name}.db")));
        p.init(worker, "G1");
        p
    };
    let a = phone("a", "gw-a");
    let b = phone("b", "gw-b");
    Town {
        _dir: dir,
        server,
        a,
        b,
        tokens,
    }
}

/// `(id, heads)` of every doc, sorted by id.
fn docs(docs: &Value) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = docs
        .as_array()
        .expect("docs is an array")
        .iter()
        .map(|d| {
            (
                d["id"].as_str().expect("id").to_string(),
                d["heads"].clone(),
            )
        })
        .collect();
    out.sort_by(|x, y| x.0.cmp(&y.0));
    out
}

/// Ids of the households a phone lists.
fn households(p: &Phone) -> BTreeSet<String> {
    p.json(&["household", "list"])
        .as_array()
        .expect("household list is an array")
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_string())
        .collect()
}

#[test]
fn a_lost_upload_response_does_not_hide_the_other_phones_docs() {
    let t = town();
    // Timed from here: starting the town builds the binaries if needed.
    let started = Instant::now();
    let proxy = Proxy::start(&t.server.url);
    let url = proxy.url.clone();

    // Two years of history on each phone, authored by its own worker;
    // different seeds, so different ids (`--force`: the phones are
    // initialised but have never synced).
    let demo = ["demo", "--force", "--households"];
    let a_demo =
        t.a.json(&[&demo[..], &["40", "--years", "2", "--seed", "11"]].concat());
    let b_demo =
        t.b.json(&[&demo[..], &["60", "--years", "2", "--seed", "12"]].concat());
    assert_eq!(
        (a_demo["households"].as_u64(), b_demo["households"].as_u64()),
        (Some(40), Some(60))
    );
    let a_households = households(&t.a);
    let b_households = households(&t.b);
    assert_eq!((a_households.len(), b_households.len()), (40, 60));
    assert!(
        a_households.is_disjoint(&b_households),
        "A's and B's households differ"
    );
    let all_households: BTreeSet<String> = a_households.union(&b_households).cloned().collect();
    let a_docs = docs(&t.a.json(&["docs"]));
    let b_docs = docs(&t.b.json(&["docs"]));
    assert!(
        a_docs.len() > PAGE_DOCS,
        "A's own docs fill more than a feed page ({} docs)",
        a_docs.len()
    );
    eprintln!(
        "demo: A {} docs, B {} docs ({:.1} s)",
        a_docs.len(),
        b_docs.len(),
        started.elapsed().as_secs_f64()
    );

    // A uploads; the server applies it and the response is lost. The sync's
    // first request is the account check (no pushes), the second the upload.
    proxy.plan([Fault::Pass, Fault::Drop]);
    let before = proxy.forwarded();
    let mut cmd =
        t.a.command(&["sync", "--server", &url, "--token-env", "GRIDWORK_TOKEN"]);
    cmd.env("GRIDWORK_TOKEN", &t.tokens[0]);
    let out = cmd.output().expect("run gridwork sync");
    assert_eq!(out.status.code(), Some(1), "a lost response fails the sync");
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "one error line: {lines:?}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("network error"),
        "a network error: {lines:?}"
    );
    let exchanges = proxy.exchanges()[before..].to_vec();
    assert_eq!(
        exchanges.len(),
        2,
        "account check, then the upload: {exchanges:?}"
    );
    let upload = &exchanges[1];
    assert_eq!(upload.fault, Fault::Drop);
    assert_eq!(
        (upload.method.as_str(), upload.path.as_str()),
        ("POST", "/v1/sync")
    );
    assert_eq!(
        upload.status,
        Some(200),
        "the server processed the lost upload"
    );
    assert!(
        upload.request_body > exchanges[0].request_body,
        "the upload carries A's docs"
    );
    // The server really holds A's history; A does not know it.
    let server_store = t.server.store();
    let server_g1 = |label: &str| -> Vec<(String, Value)> {
        let all = server_store.json(&["docs"]);
        let g1: Vec<Value> = all
            .as_array()
            .expect("docs")
            .iter()
            .filter(|d| d["scope"] == "G1")
            .cloned()
            .collect();
        let g1 = docs(&Value::Array(g1));
        eprintln!("{label}: the server holds {} docs of G1", g1.len());
        g1
    };
    assert_eq!(
        server_g1("after the lost upload"),
        a_docs,
        "the server applied A's upload"
    );
    assert_eq!(households(&t.a), a_households);

    // B uploads its 60 households (and receives A's 40).
    let b_first = t.b.sync(&url, &t.tokens[1]);
    eprintln!("B's upload: {b_first}");

    // Then both sync normally, twice each.
    for round in 1..=2 {
        let a_sync = t.a.sync(&url, &t.tokens[0]);
        eprintln!("A sync {round}: {a_sync}");
        let b_sync = t.b.sync(&url, &t.tokens[1]);
        eprintln!("B sync {round}: {b_sync}");
    }
    let exchanges = proxy.exchanges();
    assert!(
        exchanges
            .iter()
            .filter(|e| e.fault == Fault::Pass)
            .all(|e| e.status == Some(200)),
        "every other request answered: {exchanges:?}"
    );
    assert_eq!(
        exchanges.iter().filter(|e| e.fault == Fault::Drop).count(),
        1
    );

    let a_now = households(&t.a);
    let b_now = households(&t.b);
    assert_eq!(
        b_now.len(),
        100,
        "B lists {} households, expected 100 (its 60 + A's 40)",
        b_now.len()
    );
    assert_eq!(
        a_now.len(),
        100,
        "A lists {} households, expected 100 (its 40 + B's 60): {} of B's never arrived",
        a_now.len(),
        b_households.difference(&a_now).count()
    );
    assert_eq!(a_now, all_households);
    assert_eq!(b_now, all_households);

    let a_final = docs(&t.a.json(&["docs"]));
    let b_final = docs(&t.b.json(&["docs"]));
    assert_eq!(
        a_final.len(),
        a_docs.len() + b_docs.len(),
        "A holds every doc of G1"
    );
    assert!(
        a_final == b_final,
        "A and B hold the same docs at the same heads"
    );
    assert!(
        server_g1("at the end") == a_final,
        "the server holds the same docs of G1 at the same heads"
    );
    for (name, p) in [("A", &t.a), ("B", &t.b)] {
        let check = p.json(&["check"]);
        assert_eq!(
            check["ok"], true,
            "{name}'s read models match its docs: {check}"
        );
    }
    eprintln!(
        "{} requests through the proxy, {:.1} s in all",
        exchanges.len(),
        started.elapsed().as_secs_f64()
    );
}

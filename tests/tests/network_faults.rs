//! Issue 12 §5: a loopback proxy between four phones and the real server
//! drops, truncates, duplicates, delays and resets requests and responses
//! at random (seeded) while the phones edit the same grid — households'
//! phone numbers, visits, cases and their transitions — and sync, each on
//! its own thread, until at least 1,000 faults have been injected. Then
//! the proxy turns clean, every phone syncs until quiet, and:
//!
//! - all phones hold the same docs at the same heads, and so does the
//!   server (every phone doc, and every server doc of the grid);
//! - every visit recorded is there exactly once on every phone, and no
//!   transition is held twice;
//! - `check` passes on every phone and on the server's store.
//!
//! The fault counts by kind are printed (the closing note reports them).

use gridwork_core::model::{
    CaseState, HouseholdEdit, HouseholdId, NewCase, NewHousehold, NewVisit, Workflow,
};
use gridwork_core::sync::SyncOptions;
use gridwork_core::Store;
use gridwork_tests::cli::Phone;
use gridwork_tests::proxy::Proxy;
use gridwork_tests::server::Server;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Faults to inject before the storm ends.
const FAULTS: usize = 1_000;
/// Share of requests that get a fault.
const FAULT_RATE: f64 = 0.5;
/// The storm never runs longer than this (the test then fails on the count).
const MAX_STORM: Duration = Duration::from_secs(240);

struct Handset {
    store: Store,
    token: String,
    path: std::path::PathBuf,
}

fn faults_so_far(proxy: &Proxy) -> usize {
    proxy
        .fault_counts()
        .iter()
        .filter(|(kind, _)| **kind != "pass")
        .map(|(_, n)| n)
        .sum()
}

fn households(store: &Store) -> Vec<HouseholdId> {
    store
        .list_households()
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect()
}

/// One random edit on `store`; returns the id of a visit it recorded.
fn edit(store: &Store, step: u64, phone: usize) -> Option<String> {
    let homes = households(store);
    let pick = |n: u64| homes.get((n as usize) % homes.len().max(1)).copied();
    match step % 5 {
        0 => {
            let h = pick(step / 5)?;
            store
                .edit_household(
                    h,
                    HouseholdEdit {
                        phone: Some(format!("139{phone:02}{:06}", step % 1_000_000)),
                        ..Default::default()
                    },
                )
                .ok()?;
            None
        }
        1 | 2 => {
            let h = pick(step / 5 + phone as u64)?;
            let visit = store
                .record_visit(NewVisit {
                    household: h,
                    note: format!("走访 {phone}-{step}"),
                    ..Default::default()
                })
                .expect("a visit is recorded offline");
            Some(visit.id.to_string())
        }
        3 => {
            store
                .open_case(NewCase {
                    category: "环境卫生".into(),
                    description: "楼道堆物".into(),
                    household: pick(step),
                    ..Default::default()
                })
                .expect("a case is opened offline");
            None
        }
        _ => {
            let cases = store.list_cases(true).unwrap();
            let case = cases.get((step as usize + phone) % cases.len().max(1))?;
            let next = case.status.next();
            let to: &CaseState = next.get(step as usize % next.len().max(1))?;
            let _ = store.transition_case(case.id, to.code(), "处理");
            None
        }
    }
}

fn docs_of(path: &std::path::Path) -> BTreeMap<String, Value> {
    let phone = Phone::new(path);
    phone
        .json(&["docs"])
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].as_str().unwrap().to_string(), d.clone()))
        .collect()
}

#[test]
fn a_thousand_network_faults_lose_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"), &["--no-rate-limits"]);
    server.add_small_town();
    let token_a = server.add_gridworker("gw-a", "G1");
    let token_b = server.add_gridworker("gw-b", "G1");
    let second = |worker: &str| -> String {
        server.admin(&["token", "issue", worker])["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let tokens = [token_a, second("gw-a"), token_b, second("gw-b")];
    let workers = ["gw-a", "gw-a", "gw-b", "gw-b"];
    let proxy = Proxy::start(&server.url);
    let phones: Vec<Handset> = (0..4)
        .map(|i| {
            let path = dir.path().join(format!("phone{i}.db"));
            let store = Store::open(&path, None).unwrap();
            store.init(workers[i], "网格员", "G1").unwrap();
            Handset {
                store,
                token: tokens[i].clone(),
                path,
            }
        })
        .collect();
    for n in 0..8 {
        phones[0]
            .store
            .add_household(NewHousehold {
                address: format!("幸福里{n}号楼101室"),
                ..Default::default()
            })
            .unwrap();
    }
    let clean = SyncOptions::default();
    for phone in &phones {
        phone.store.sync(&proxy.url, &phone.token, &clean).unwrap();
    }
    phones[0]
        .store
        .sync(&proxy.url, &phones[0].token, &clean)
        .unwrap();

    // The storm: every phone edits and syncs on its own thread.
    proxy.random(20261204, FAULT_RATE);
    let recorded: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let (mut syncs, mut failed) = (0u64, 0u64);
    std::thread::scope(|scope| {
        let workers: Vec<_> = phones
            .iter()
            .enumerate()
            .map(|(i, phone)| {
                let (recorded, stop, proxy, clean) = (&recorded, &stop, &proxy, &clean);
                scope.spawn(move || {
                    let (mut syncs, mut failed) = (0u64, 0u64);
                    let mut step = i as u64 * 7;
                    while !stop.load(Ordering::SeqCst) {
                        step += 1;
                        if let Some(visit) = edit(&phone.store, step, i) {
                            recorded.lock().unwrap().insert(visit);
                        }
                        syncs += 1;
                        if phone.store.sync(&proxy.url, &phone.token, clean).is_err() {
                            failed += 1;
                        }
                    }
                    (syncs, failed)
                })
            })
            .collect();
        while faults_so_far(&proxy) < FAULTS && started.elapsed() < MAX_STORM {
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::SeqCst);
        for worker in workers {
            let (s, f) = worker.join().unwrap();
            syncs += s;
            failed += f;
        }
    });
    let counts = proxy.fault_counts();
    let injected = faults_so_far(&proxy);
    eprintln!(
        "network faults: {injected} injected over {} requests in {:.0?} ({syncs} syncs, {failed} failed): {counts:?}",
        counts.values().sum::<usize>(),
        started.elapsed()
    );
    assert!(
        injected >= FAULTS,
        "only {injected} faults in {MAX_STORM:?}"
    );
    for kind in [
        "drop_response",
        "truncate_response",
        "drop_request",
        "truncate_request",
        "duplicate_request",
        "delay",
        "reset",
    ] {
        assert!(
            counts.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} fault"
        );
    }

    // Calm: sync until every phone has nothing left to say.
    proxy.random(0, 0.0);
    for _ in 0..3 {
        for phone in &phones {
            phone
                .store
                .sync(&proxy.url, &phone.token, &clean)
                .expect("a clean sync succeeds after the storm");
        }
    }

    // The same docs everywhere.
    let first = docs_of(&phones[0].path);
    for phone in &phones[1..] {
        assert_eq!(docs_of(&phone.path), first, "phones differ");
    }
    let server_store = server.store();
    let server_docs: BTreeMap<String, Value> = server_store
        .json(&["docs"])
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].as_str().unwrap().to_string(), d.clone()))
        .collect();
    for (id, doc) in &first {
        assert_eq!(server_docs.get(id), Some(doc), "{id} differs on the server");
    }
    for (id, doc) in &server_docs {
        if doc["scope"] == "G1" {
            assert!(first.contains_key(id), "{id} of G1 missing on the phones");
        }
    }

    // Every visit exactly once; no transition twice.
    let recorded = recorded.lock().unwrap().clone();
    assert!(recorded.len() > 20, "{} visits recorded", recorded.len());
    for phone in &phones {
        let visits: Vec<String> = phone
            .store
            .list_visits(None)
            .unwrap()
            .into_iter()
            .map(|v| v.id.to_string())
            .collect();
        let unique: BTreeSet<String> = visits.iter().cloned().collect();
        assert_eq!(unique.len(), visits.len(), "a visit is held twice");
        assert_eq!(unique, recorded, "visits lost or invented");
        for case in phone.store.list_cases(false).unwrap() {
            let ids: BTreeSet<_> = case.transitions.iter().map(|t| t.id).collect();
            assert_eq!(
                ids.len(),
                case.transitions.len(),
                "a transition is held twice"
            );
        }
        let report = phone.store.check().unwrap();
        assert!(report.differences.is_empty(), "{report:?}");
    }
    assert_eq!(server_store.json(&["check"])["ok"], true);
}

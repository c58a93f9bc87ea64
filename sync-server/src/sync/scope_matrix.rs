//! The sync half of the authorization matrix (issue 12 §5): for every doc
//! kind a grid holds — household, visit log, case, hazard, form record,
//! work log, template, policy — and every kind of account, in scope and out
//! of it, whether a first sync delivers the doc (pull) and whether a change
//! the account makes to it is kept or refused, and why (push). Each cell is
//! asserted; the table is printed.
//!
//! The world: T1 → C1 → P1 → G1, and T1 → C2 → P2 → G3. gw-a (G1) makes
//! one doc of each kind on its phone and syncs; the server publishes a
//! template at T1 and a policy for G1. Then gw-b (same grid), gw-c (G3,
//! another community), staff-c1 (community C1), staff-c2 (C2) and town
//! staff (T1) each first-sync a fresh phone and push one change to every
//! doc under their own device's actor.

use super::engine;
use super::sqlite::SqliteTx;
use crate::accounts::{self, Account};
use automerge::transaction::Transactable;
use automerge::{ActorId, Author, AutoCommit, ROOT};
use gridwork_core::docs::DocId;
use gridwork_core::model::{NewCase, NewHazard, NewHousehold, NewVisit, Role, Timestamp};
use gridwork_core::store::Db;
use gridwork_core::sync::protocol::{self, DocPush, SyncRequest};
use gridwork_core::sync::{SyncOptions, Transport};
use gridwork_core::{Clock, ManualClock, Store, StoreOptions};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A phone's in-process link to the server, as one account.
struct Link {
    server: Arc<Db>,
    account: Account,
    now: Arc<ManualClock>,
}

impl Transport for Link {
    fn post(&self, _url: &str, _token: &str, body: Vec<u8>) -> gridwork_core::Result<Vec<u8>> {
        let request: SyncRequest = protocol::decode(&body)?;
        let response = self.server.write(|tx| {
            let mut storage = SqliteTx::new(tx);
            engine::process(&mut storage, &self.account, &request, self.now.now())
                .map_err(|e| gridwork_core::Error::Protocol(e.to_string()))
        })?;
        protocol::encode(&response)
    }
}

/// The accounts (columns): worker, grid, role.
const ACCOUNTS: [(&str, &str, Role); 6] = [
    ("gw-a", "G1", Role::Gridworker),
    ("gw-b", "G1", Role::Gridworker),
    ("gw-c", "G3", Role::Gridworker),
    ("staff-c1", "C1", Role::CommunityStaff),
    ("staff-c2", "C2", Role::CommunityStaff),
    ("town", "T1", Role::TownStaff),
];

struct World {
    dir: tempfile::TempDir,
    server: Arc<Db>,
    clock: Arc<ManualClock>,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let server = Arc::new(crate::db::open(&dir.path().join("server")).unwrap());
        for (code, parent) in [
            ("T1", None),
            ("C1", Some("T1")),
            ("P1", Some("C1")),
            ("G1", Some("P1")),
            ("C2", Some("T1")),
            ("P2", Some("C2")),
            ("G3", Some("P2")),
        ] {
            accounts::add_grid(&server, code, code, parent).unwrap();
        }
        for (worker, grid, role) in ACCOUNTS {
            accounts::add_worker(&server, worker, worker, role, grid).unwrap();
        }
        World {
            dir,
            server,
            clock: Arc::new(ManualClock::new(Timestamp(1_780_000_000_000))),
        }
    }

    fn account(&self, worker: &str) -> Account {
        crate::db::read(&self.server, |c| accounts::account_of(c, worker))
            .unwrap()
            .unwrap()
    }

    /// A fresh phone of `worker` and its link.
    fn phone(&self, worker: &str, grid: &str) -> (Store, Link) {
        let store = Store::open_with(
            self.dir.path().join(format!("{worker}.db")),
            StoreOptions {
                clock: Some(self.clock.clone() as Arc<dyn Clock>),
                ..StoreOptions::default()
            },
        )
        .unwrap();
        store.init(worker, worker, grid).unwrap();
        let link = Link {
            server: self.server.clone(),
            account: self.account(worker),
            now: self.clock.clone(),
        };
        (store, link)
    }
}

fn sync(store: &Store, link: &Link) -> gridwork_core::sync::SyncSummary {
    store
        .sync_with(link, "http://in-process", "t", &SyncOptions::default())
        .unwrap()
}

/// gw-a's docs of every kind a phone makes, by kind.
fn make_docs(store: &Store) -> BTreeMap<&'static str, String> {
    let household = store
        .add_household(NewHousehold {
            address: "幸福里1号楼101室".into(),
            ..Default::default()
        })
        .unwrap();
    let visit = store
        .record_visit(NewVisit {
            household: household.id,
            note: "走访".into(),
            ..Default::default()
        })
        .unwrap();
    let case = store
        .open_case(NewCase {
            category: "环境卫生".into(),
            description: "楼道堆物".into(),
            household: Some(household.id),
            ..Default::default()
        })
        .unwrap();
    let hazard = store
        .report_hazard(NewHazard {
            category: "消防".into(),
            description: "电动车楼道充电".into(),
            ..Default::default()
        })
        .unwrap();
    let mut answers = BTreeMap::new();
    answers.insert("checked_at".to_string(), serde_json::json!("2026-05-20"));
    answers.insert("place".to_string(), serde_json::json!("河道"));
    answers.insert("problems".to_string(), serde_json::json!(["none"]));
    let record = store
        .fill_form("duty-river-care", None, "河道", answers)
        .unwrap();
    store
        .set_work_log_day("2026-05-20", vec!["走访".into()], "")
        .unwrap();
    let ids: BTreeMap<String, String> = store
        .doc_heads()
        .unwrap()
        .into_iter()
        .map(|d| (d.kind, d.id))
        .collect();
    let _ = (visit, case, hazard, record);
    let mut out = BTreeMap::new();
    for kind in [
        "household",
        "visit_log",
        "case",
        "hazard",
        "form_record",
        "work_log",
    ] {
        out.insert(
            kind,
            ids.get(kind)
                .unwrap_or_else(|| panic!("no {kind} doc"))
                .clone(),
        );
    }
    out
}

/// Push one change to the doc `id` (as held by the server) from `worker`'s
/// device: a new root key under the device's own actor and the worker as
/// author. The rejection reason's code, or `kept`.
fn probe_push(world: &World, worker: &str, id: &str) -> String {
    let server_store = Store::attach(world.server.clone(), None, "Asia/Shanghai").unwrap();
    let bytes = server_store.export_doc(&DocId(id.to_string())).unwrap();
    let mut doc = AutoCommit::load(&bytes).unwrap();
    let actor = ActorId::from(worker.as_bytes().to_vec());
    doc.set_actor(actor.clone());
    doc.set_author(Some(Author::from(worker.as_bytes().to_vec())));
    doc.put(ROOT, "probe", 1).unwrap();
    let request = SyncRequest {
        device: hex::encode(actor.to_bytes()),
        pushes: vec![DocPush {
            id: id.to_string(),
            heads: protocol::to_hashes(&doc.get_heads()),
            changes: doc.save(),
        }],
        ..SyncRequest::default()
    };
    let account = world.account(worker);
    let now = world.clock.now();
    let response = world
        .server
        .scratch(|tx| {
            let mut storage = SqliteTx::new(tx);
            engine::process(&mut storage, &account, &request, now)
                .map_err(|e| gridwork_core::Error::Protocol(e.to_string()))
        })
        .unwrap();
    match response.rejected.first() {
        Some(r) => r.reason.code().to_string(),
        None if response.need_slow_path.is_empty() => "kept".to_string(),
        None => "slow_path".to_string(),
    }
}

#[test]
fn every_doc_kind_for_every_account_in_and_out_of_scope() {
    let world = World::new();
    let (a, link_a) = world.phone("gw-a", "G1");
    let docs = make_docs(&a);
    let summary = sync(&a, &link_a);
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    // A new version of a built-in template, published at the town.
    let mut template = gridwork_core::forms::find("duty-river-care", None).unwrap();
    template.version += 1;
    crate::publish::publish_template(&world.server, &template, Vec::new(), Some("T1"), "admin")
        .unwrap();
    let mut docs: BTreeMap<&str, String> = docs;
    let change =
        gridwork_core::schedule::PolicyOverride::from_json(r#"{"first_response_minutes": 20}"#)
            .unwrap();
    crate::publish::set_policy(&world.server, "G1", &change, false, "admin").unwrap();
    let server_store = Store::attach(world.server.clone(), None, "Asia/Shanghai").unwrap();
    for d in server_store.doc_heads().unwrap() {
        match d.kind.as_str() {
            "template" => {
                docs.insert("template", d.id);
            }
            "policy" => {
                docs.insert("policy", d.id);
            }
            _ => {}
        }
    }

    // Pulls: a first sync of a fresh phone of each other account.
    let mut pulls: BTreeMap<(&str, &str), bool> = BTreeMap::new();
    for (worker, grid, _) in &ACCOUNTS[1..] {
        let (store, link) = world.phone(worker, grid);
        sync(&store, &link);
        let held: Vec<String> = store
            .doc_heads()
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        for (kind, id) in &docs {
            pulls.insert((kind, worker), held.contains(id));
        }
    }
    // Pushes: one change to every doc from every account's own device.
    let mut pushes: BTreeMap<(&str, &str), String> = BTreeMap::new();
    for (worker, _, _) in &ACCOUNTS {
        for (kind, id) in &docs {
            pushes.insert((kind, worker), probe_push(&world, worker, id));
        }
    }

    let mut table = String::from("| doc kind | account | pulled | push |\n|---|---|---|---|\n");
    for kind in docs.keys() {
        for (worker, _, _) in &ACCOUNTS {
            let pulled = match pulls.get(&(kind, worker)) {
                None => "(owner)".to_string(),
                Some(p) => p.to_string(),
            };
            table.push_str(&format!(
                "| {kind} | {worker} | {pulled} | {} |\n",
                pushes[&(*kind, *worker)]
            ));
        }
    }
    println!("{table}");

    // In scope: G1's own gridworkers, community C1, town T1.
    let in_scope = |worker: &str| matches!(worker, "gw-a" | "gw-b" | "staff-c1" | "town");
    for kind in docs.keys() {
        for (worker, _, _) in &ACCOUNTS {
            let push = &pushes[&(*kind, *worker)];
            let pulled = pulls.get(&(kind, worker)).copied();
            match *kind {
                // Published by the office: everyone below T1 reads them, nobody
                // writes them from a phone.
                "template" => {
                    assert_eq!(push, "ReadOnly", "{kind} {worker}");
                    assert!(pulled.unwrap_or(true), "{kind} {worker} pulled");
                }
                "policy" => {
                    assert_eq!(push, "ReadOnly", "{kind} {worker}");
                    assert_eq!(pulled.unwrap_or(true), in_scope(worker), "{kind} {worker}");
                }
                // A worker's own work log: read across the grid and by staff,
                // written by its owner alone.
                "work_log" => {
                    let expected = if *worker == "gw-a" {
                        "kept"
                    } else {
                        "OutOfScope"
                    };
                    assert_eq!(push, expected, "{kind} {worker}");
                    assert_eq!(pulled.unwrap_or(true), in_scope(worker), "{kind} {worker}");
                }
                _ => {
                    if in_scope(worker) {
                        assert!(pulled.unwrap_or(true), "{kind} {worker} pulled");
                        assert_eq!(push, "kept", "{kind} {worker}");
                    } else {
                        assert_eq!(pulled, Some(false), "{kind} {worker} pulled");
                        assert_eq!(push, "OutOfScope", "{kind} {worker}");
                    }
                }
            }
        }
    }
    assert_eq!(docs.len(), 8, "every kind: {docs:?}");
    assert_eq!(pushes[&("household", "gw-a")], "kept");
    assert_eq!(pushes[&("case", "staff-c1")], "kept");
}

//! Property test of the sync protocol: several phones — real core stores
//! running the real sync client — talk to the engine in-process over a link
//! that loses responses after the server committed, replays old requests to
//! the server and old responses to the phone, while the engine pages the
//! feed with random small limits.
//!
//! Invariant: once every phone has synced twice without faults, each phone
//! holds exactly the docs of its account's scope, at the server's heads and
//! filed under the same grids, and its read models equal a rebuild.
//!
//! The same body runs on both storage backends (the conformance suite of
//! issue 13): the embedded SQLite database, and a fresh database per case
//! in a throwaway PostgreSQL ([`gridwork_tests::postgres::TestPostgres`]).

use super::engine::{self, Limits};
use crate::accounts::{self, Account};
use crate::backend::Backend;
use gridwork_core::model::{
    CaseState, HouseholdEdit, HouseholdId, NewCase, NewHousehold, NewVisit, Role, Timestamp,
    Workflow,
};
use gridwork_core::sync::protocol::{self, SyncRequest};
use gridwork_core::sync::{SyncOptions, Transport};
use gridwork_core::{Clock, ManualClock, Store, StoreOptions};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What the network does to one request.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Delivered both ways.
    None,
    /// The server applies the request; its response is lost.
    DropResponse,
    /// Before the request, the server receives an old request again (a
    /// retrying proxy); that duplicate's response goes nowhere.
    ReplayRequest(usize),
    /// The server applies the request, and the phone receives an old
    /// response instead of this one (a broken cache).
    ReplayResponse(usize),
}

/// One step of a scenario.
#[derive(Clone, Debug)]
enum Op {
    AddHousehold(usize),
    EditPhone(usize, usize, u16),
    Visit(usize, usize),
    OpenCase(usize, usize),
    Transition(usize, usize, usize),
    Sync(usize, Fault),
}

/// The phones: two gridworkers sharing G1, one of G2, and a community staff
/// member whose scope is the whole community (C1, G1, G2).
const PHONES: [(&str, &str, Role); 4] = [
    ("gw-a", "G1", Role::Gridworker),
    ("gw-b", "G1", Role::Gridworker),
    ("gw-c", "G2", Role::Gridworker),
    ("staff", "C1", Role::CommunityStaff),
];

/// The phone's link to the in-process server.
struct Link {
    server: Backend,
    account: Account,
    limits: Limits,
    now: Arc<ManualClock>,
    fault: Mutex<Fault>,
    requests: Mutex<Vec<Vec<u8>>>,
    responses: Mutex<Vec<Vec<u8>>>,
}

impl Link {
    fn answer(&self, body: &[u8]) -> gridwork_core::Result<Vec<u8>> {
        let request: SyncRequest = protocol::decode(body)?;
        let now = self.now.now();
        let response = self
            .server
            .sync(|storage| {
                engine::process_with(storage, &self.account, &request, now, self.limits)
            })
            .expect("the engine answers every well-formed request");
        protocol::encode(&response)
    }
}

impl Transport for Link {
    fn post(&self, _url: &str, _token: &str, body: Vec<u8>) -> gridwork_core::Result<Vec<u8>> {
        let fault = std::mem::replace(&mut *self.fault.lock().unwrap(), Fault::None);
        if let Fault::ReplayRequest(k) = fault {
            let old = {
                let requests = self.requests.lock().unwrap();
                (!requests.is_empty()).then(|| requests[k % requests.len()].clone())
            };
            if let Some(old) = old {
                self.answer(&old)?;
            }
        }
        let reply = self.answer(&body)?;
        self.requests.lock().unwrap().push(body);
        self.responses.lock().unwrap().push(reply.clone());
        match fault {
            Fault::DropResponse => Err(gridwork_core::Error::Network("response lost".into())),
            Fault::ReplayResponse(k) => {
                let responses = self.responses.lock().unwrap();
                Ok(responses[k % responses.len()].clone())
            }
            _ => Ok(reply),
        }
    }
}

struct Phone {
    store: Store,
    link: Link,
    households: Vec<HouseholdId>,
}

struct World {
    _dir: tempfile::TempDir,
    server: Backend,
    phones: Vec<Phone>,
    clock: Arc<ManualClock>,
}

/// A phone's store at `path` on the world's clock.
fn open_store(clock: Arc<ManualClock>, path: &std::path::Path) -> Store {
    Store::open_with(
        path,
        StoreOptions {
            clock: Some(clock as Arc<dyn Clock>),
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

/// Where the world's server keeps its data.
enum On<'p> {
    /// A SQLite database in the world's directory.
    Sqlite,
    /// A fresh database in this PostgreSQL.
    Postgres(&'p gridwork_tests::postgres::TestPostgres),
}

/// A fresh server backend.
fn backend(on: &On<'_>, dir: &std::path::Path) -> Backend {
    match on {
        On::Sqlite => Backend::Sqlite(Arc::new(crate::db::open(&dir.join("server")).unwrap())),
        On::Postgres(pg) => {
            static CASE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let url = pg.create_database(&format!("engine_case_{n}"));
            Backend::Postgres(Arc::new(crate::pg::store::PgStore::open(&url, 2).unwrap()))
        }
    }
}

fn world(limits: Limits) -> World {
    world_on(&On::Sqlite, limits)
}

fn world_on(on: &On<'_>, limits: Limits) -> World {
    let dir = tempfile::tempdir().unwrap();
    let server = backend(on, dir.path());
    server
        .transaction(|c| {
            accounts::add_grid_in(c, "T1", "镇", None)?;
            accounts::add_grid_in(c, "C1", "社区", Some("T1"))?;
            accounts::add_grid_in(c, "P1", "片区", Some("C1"))?;
            accounts::add_grid_in(c, "G1", "一网格", Some("P1"))?;
            accounts::add_grid_in(c, "G2", "二网格", Some("P1"))?;
            Ok(())
        })
        .unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp(1_780_000_000_000)));
    let phones = PHONES
        .iter()
        .enumerate()
        .map(|(i, (worker, grid, role))| {
            let account = server
                .transaction(|c| {
                    accounts::add_worker_in(c, worker, "网格员", *role, grid)?;
                    accounts::account_of(c, worker)
                })
                .unwrap()
                .unwrap();
            let store = open_store(clock.clone(), &dir.path().join(format!("phone{i}.db")));
            store.init(worker, "网格员", grid).unwrap();
            Phone {
                store,
                link: Link {
                    server: server.clone(),
                    account,
                    limits,
                    now: clock.clone(),
                    fault: Mutex::new(Fault::None),
                    requests: Mutex::new(Vec::new()),
                    responses: Mutex::new(Vec::new()),
                },
                households: Vec::new(),
            }
        })
        .collect();
    World {
        _dir: dir,
        server,
        phones,
        clock,
    }
}

impl World {
    fn run(&mut self, op: &Op) {
        self.clock.advance_minutes(7);
        match *op {
            Op::AddHousehold(p) => {
                let phone = &mut self.phones[p];
                let n = phone.households.len();
                let h = phone
                    .store
                    .add_household(NewHousehold {
                        address: format!("{p}号楼{n}室"),
                        ..Default::default()
                    })
                    .unwrap();
                phone.households.push(h.id);
            }
            Op::EditPhone(p, i, suffix) => {
                let phone = &self.phones[p];
                if let Some(h) = pick(&known_households(&phone.store), i) {
                    phone
                        .store
                        .edit_household(
                            h,
                            HouseholdEdit {
                                phone: Some(format!("1390000{suffix:04}")),
                                ..Default::default()
                            },
                        )
                        .unwrap();
                }
            }
            Op::Visit(p, i) => {
                let phone = &self.phones[p];
                if let Some(h) = pick(&known_households(&phone.store), i) {
                    phone
                        .store
                        .record_visit(NewVisit {
                            household: h,
                            note: "走访".into(),
                            ..Default::default()
                        })
                        .unwrap();
                }
            }
            Op::OpenCase(p, i) => {
                let phone = &self.phones[p];
                let household = pick(&known_households(&phone.store), i);
                phone
                    .store
                    .open_case(NewCase {
                        category: "环境卫生".into(),
                        description: "楼道堆物".into(),
                        household,
                        ..Default::default()
                    })
                    .unwrap();
            }
            Op::Transition(p, i, choice) => {
                let phone = &self.phones[p];
                let cases = phone.store.list_cases(true).unwrap();
                if let Some(case) = cases.get(i % cases.len().max(1)) {
                    let next = case.status.next();
                    if !next.is_empty() {
                        let to: CaseState = next[choice % next.len()];
                        phone
                            .store
                            .transition_case(case.id, to.code(), "处理")
                            .unwrap();
                    }
                }
            }
            Op::Sync(p, fault) => {
                let phone = &self.phones[p];
                *phone.link.fault.lock().unwrap() = fault;
                // A fault makes this sync fail or apply less; never corrupts.
                let _ = phone.store.sync_with(
                    &phone.link,
                    "http://in-process",
                    "t",
                    &SyncOptions::default(),
                );
            }
        }
    }

    /// Sync phone `p` without faults.
    fn sync(&self, p: usize) -> gridwork_core::sync::SyncSummary {
        let phone = &self.phones[p];
        phone
            .store
            .sync_with(
                &phone.link,
                "http://in-process",
                "t",
                &SyncOptions::default(),
            )
            .expect("a fault-free sync succeeds")
    }

    /// Sync every phone twice, in order, without faults.
    fn quiesce(&self) {
        for _ in 0..2 {
            for p in 0..self.phones.len() {
                self.sync(p);
            }
        }
    }

    /// Server docs (id → scope and heads) in the scope of `account`.
    fn server_docs_in(&self, account: &Account) -> BTreeMap<String, String> {
        let rows = self
            .server
            .transaction(|c| Ok(c.rows("SELECT id, scope, heads FROM docs", &[])?))
            .unwrap();
        let mut out = BTreeMap::new();
        for row in rows {
            let [id, scope, heads] = super::storage::cells(row).unwrap();
            let scope = scope.text().unwrap();
            if account.scope.iter().any(|g| g.as_str() == scope) {
                let heads: Vec<String> =
                    heads.blob().unwrap().chunks(32).map(hex::encode).collect();
                out.insert(id.text().unwrap(), format!("{scope} {}", heads.join(",")));
            }
        }
        out
    }

    /// The households in the server's read model.
    fn server_households(&self) -> Vec<HouseholdId> {
        self.server
            .transaction(|c| Ok(c.rows("SELECT id FROM households", &[])?))
            .unwrap()
            .into_iter()
            .map(|row| {
                let [id] = super::storage::cells(row).unwrap();
                id.text().unwrap().parse().unwrap()
            })
            .collect()
    }
}

fn known_households(store: &Store) -> Vec<HouseholdId> {
    store
        .list_households()
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect()
}

fn pick<T: Copy>(items: &[T], i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[i % items.len()])
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        4 => Just(Fault::None),
        2 => Just(Fault::DropResponse),
        1 => any::<usize>().prop_map(Fault::ReplayRequest),
        1 => any::<usize>().prop_map(Fault::ReplayResponse),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let phone = 0..PHONES.len();
    prop_oneof![
        4 => phone.clone().prop_map(Op::AddHousehold),
        2 => (phone.clone(), any::<usize>(), any::<u16>())
            .prop_map(|(p, i, s)| Op::EditPhone(p, i, s % 10_000)),
        2 => (phone.clone(), any::<usize>()).prop_map(|(p, i)| Op::Visit(p, i)),
        1 => (phone.clone(), any::<usize>()).prop_map(|(p, i)| Op::OpenCase(p, i)),
        2 => (phone.clone(), any::<usize>(), any::<usize>())
            .prop_map(|(p, i, c)| Op::Transition(p, i, c)),
        4 => (phone, fault()).prop_map(|(p, f)| Op::Sync(p, f)),
    ]
}

fn limits() -> impl Strategy<Value = Limits> {
    (1usize..6, 200usize..20_000).prop_map(|(page_docs, page_bytes)| Limits {
        page_docs,
        page_bytes,
    })
}

/// The conformance property on one backend: random ops and faults on four
/// phones, then two fault-free rounds; every phone holds exactly its scope
/// at the server's heads, and nothing a phone made is lost.
fn converges_on(on: &On<'_>) {
    let config = ProptestConfig {
        cases: 24,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let strategy = (limits(), prop::collection::vec(op(), 10..60));
    let outcome = runner.run(&strategy, |(limits, ops)| {
        let mut world = world_on(on, limits);
        for op in &ops {
            world.run(op);
        }
        world.quiesce();
        for phone in &world.phones {
            let held: BTreeMap<String, String> = phone
                .store
                .doc_heads()
                .unwrap()
                .into_iter()
                .map(|d| (d.id, format!("{} {}", d.scope, d.heads.join(","))))
                .collect();
            let expected = world.server_docs_in(&phone.link.account);
            // Filed under the same grids too (a staff phone on C1 once filed
            // the visit logs it received under C1, the server under G1).
            prop_assert_eq!(
                &held,
                &expected,
                "phone {} holds its scope at the server's heads, filed as the server files it",
                phone.link.account.worker_id
            );
            prop_assert!(phone.store.dirty_docs().unwrap().is_empty());
            prop_assert!(phone.store.check().unwrap().ok);
        }
        // Nothing a phone made was lost: every household it registered is on the server.
        let on_server = world.server_households();
        for phone in &world.phones {
            for h in &phone.households {
                prop_assert!(on_server.contains(h));
            }
        }
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[test]
fn every_phone_converges_on_exactly_its_scope_on_sqlite() {
    converges_on(&On::Sqlite);
}

#[test]
fn every_phone_converges_on_exactly_its_scope_on_postgres() {
    let pg = gridwork_tests::postgres::TestPostgres::start();
    converges_on(&On::Postgres(&pg));
}

/// A phone store restored from an older copy of itself (a file backup, a
/// copied SD card) confirms an older round than it once did: the server
/// forgets what it believed the phone holds and sends its scope again.
#[test]
fn a_phone_restored_from_an_older_copy_gets_back_what_it_lost() {
    let mut w = world(Limits::default());
    let path = w._dir.path().join("phone0.db");
    w.run(&Op::AddHousehold(0));
    w.sync(0);
    // A copy of the idle store's files (the database and its WAL).
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        for ext in ["", "-wal"] {
            let f = format!("{}{ext}", from.display());
            if std::path::Path::new(&f).exists() {
                std::fs::copy(&f, format!("{}{ext}", to.display())).unwrap();
            }
        }
    };
    let backup = w._dir.path().join("phone0.backup.db");
    copy(&path, &backup);
    for _ in 0..5 {
        w.run(&Op::AddHousehold(1));
    }
    w.sync(1);
    w.sync(0);
    w.sync(0);
    assert_eq!(known_households(&w.phones[0].store).len(), 6);
    // Restore the older copy.
    w.phones[0].store = open_store(w.clock.clone(), &w._dir.path().join("scratch.db"));
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
    copy(&backup, &path);
    w.phones[0].store = open_store(w.clock.clone(), &path);
    assert_eq!(known_households(&w.phones[0].store).len(), 1);
    w.sync(0);
    assert_eq!(known_households(&w.phones[0].store).len(), 6);
    assert!(w.phones[0].store.check().unwrap().ok);
}

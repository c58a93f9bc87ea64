//! Convergence of several phones through the real `gridwork-server` on
//! 127.0.0.1: two gridworkers sharing a grid and one of another grid, offline
//! edits of the same household field and the same case, syncs in several
//! orders, scope enforcement, a server restart, a lost response, a revoked
//! token.

use gridwork_core::docs::DocId;
use gridwork_core::model::{HouseholdEdit, HouseholdId, NewVisit};
use gridwork_core::sync::{SyncOptions, Transport};
use gridwork_core::Store;
use gridwork_tests::cli::{stderr_lines, Phone};
use gridwork_tests::server::Server;
use serde_json::Value;
use tempfile::TempDir;

struct Town {
    _dir: TempDir,
    server: Server,
    a: Phone,
    b: Phone,
    c: Phone,
    tokens: [String; 3],
}

fn town() -> Town {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("server");
    let server = Server::start(&data, &[]);
    server.add_small_town();
    let tokens = [("gw-a", "G1"), ("gw-b", "G1"), ("gw-c", "G2")]
        .map(|(id, grid)| server.add_gridworker(id, grid));
    let phone = |name: &str, worker: &str, grid: &str| {
        let p = Phone::new(dir.path().join(format!("{name}.db")));
        p.init(worker, grid);
        p
    };
    let a = phone("a", "gw-a", "G1");
    let b = phone("b", "gw-b", "G1");
    let c = phone("c", "gw-c", "G2");
    Town {
        _dir: dir,
        server,
        a,
        b,
        c,
        tokens,
    }
}

/// Everything two converged replicas must agree on.
fn state(p: &Phone) -> (Value, Value, Value, Value) {
    let docs: Vec<Value> = p.json(&["docs"]).as_array().unwrap().clone();
    (
        p.json(&["household", "list"]),
        p.json(&["case", "list"]),
        p.json(&["conflicts"]),
        Value::Array(docs),
    )
}

fn server_store(server: &Server) -> Phone {
    server.store()
}

#[test]
fn phones_converge_merge_conflicts_and_stay_in_scope() {
    let mut t = town();
    let url = t.server.url.clone();
    let h = t.a.add_household(
        "幸福里1号楼101室",
        &["--phone", "13800138000", "--tag", "独居老人"],
    );
    t.a.json(&["resident", "add", &h, "--name", "王五"]);
    let case = t.a.json(&[
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
    let first = t.a.sync(&url, &t.tokens[0]);
    assert_eq!(
        first["round_trips"], 2,
        "first contact: the account is checked before anything is uploaded"
    );
    assert!(first["docs_up"].as_u64().unwrap() >= 2);
    t.b.sync(&url, &t.tokens[1]);
    assert_eq!(
        t.b.json(&["household", "show", &h])["residents"][0]["name"],
        "王五"
    );

    // The other grid's gridworker receives nothing of this grid.
    let c_first = t.c.sync(&url, &t.tokens[2]);
    assert_eq!(c_first["docs_down"], 0);
    assert!(t.c.json(&["docs"]).as_array().unwrap().is_empty());

    // Offline on both phones: the same field, the same case, other work.
    t.a.json(&[
        "household",
        "edit",
        &h,
        "--phone",
        "13900000001",
        "--add-tag",
        "低保",
    ]);
    t.b.json(&[
        "household",
        "edit",
        &h,
        "--phone",
        "13900000002",
        "--add-tag",
        "残疾人",
    ]);
    t.a.json(&[
        "case",
        "transition",
        &case_id,
        "--to",
        "registered",
        "--note",
        "A 受理",
    ]);
    t.b.json(&[
        "case",
        "transition",
        &case_id,
        "--to",
        "escalated",
        "--note",
        "B 上报社区",
    ]);
    t.a.json(&["visit", "record", &h, "--note", "A 走访"]);
    t.b.json(&["resident", "add", &h, "--name", "赵六"]);
    let h2 = t.b.add_household("幸福里1号楼102室", &[]);

    // Several orders: B, A, B.
    t.b.sync(&url, &t.tokens[1]);
    let a_sync = t.a.sync(&url, &t.tokens[0]);
    assert_eq!(a_sync["round_trips"], 1, "one round trip for a day's work");
    assert_eq!(
        a_sync["new_conflicts"], 2,
        "the phone field, and the case's concurrent transitions"
    );
    t.b.sync(&url, &t.tokens[1]);
    assert_eq!(state(&t.a), state(&t.b), "A and B converged");
    let conflicts = t.a.json(&["conflicts"]);
    let fields: Vec<(&str, &str)> = conflicts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["record"].as_str().unwrap(), c["field"].as_str().unwrap()))
        .collect();
    assert_eq!(fields, [("case", "workflow"), ("household", "phone")]);
    let shown = t.a.json(&["household", "show", &h]);
    assert_eq!(
        shown["tags"],
        serde_json::json!(["elderly_alone", "disabled", "low_income"])
    );
    assert_eq!(shown["residents"].as_array().unwrap().len(), 2);
    let c = t.a.json(&["case", "show", &case_id]);
    assert_eq!(
        c["transitions"].as_array().unwrap().len(),
        2,
        "both concurrent transitions kept"
    );
    assert!(t.a.json(&["household", "show", &h2])["id"].is_string());

    // The server's own replica agrees too.
    let server_docs = server_store(&t.server).json(&["docs"]);
    let g1_docs: Vec<Value> = server_docs
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["scope"] == "G1")
        .cloned()
        .collect();
    let a_docs = t.a.json(&["docs"]);
    let strip = |v: &Value| -> Vec<(Value, Value)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| (d["id"].clone(), d["heads"].clone()))
            .collect()
    };
    assert_eq!(strip(&Value::Array(g1_docs)), strip(&a_docs));

    // C still has nothing of G1 after everything.
    let c_again = t.c.sync(&url, &t.tokens[2]);
    assert_eq!(c_again["docs_down"], 0);
    assert!(t.c.json(&["docs"]).as_array().unwrap().is_empty());

    // Resolve on A; it reaches B.
    t.a.json(&[
        "conflicts",
        "resolve",
        "--household",
        &h,
        "--field",
        "phone",
        "--value",
        "13900000002",
    ]);
    // The case moves on from the state both now see: no conflict is open.
    t.a.json(&["case", "transition", &case_id, "--to", "dispatched"]);
    t.a.sync(&url, &t.tokens[0]);
    t.b.sync(&url, &t.tokens[1]);
    assert_eq!(t.b.json(&["conflicts"]), serde_json::json!([]));
    assert_eq!(t.b.json(&["household", "show", &h])["phone"], "13900000002");

    // A restart of the server loses nothing.
    assert_eq!(t.server.stop(), Some(0));
    let server = Server::start(&t.server.data_dir, &[]);
    let url = server.url.clone();
    t.a.json(&["visit", "record", &h, "--note", "重启后走访"]);
    t.a.sync(&url, &t.tokens[0]);
    t.b.sync(&url, &t.tokens[1]);
    assert_eq!(state(&t.a), state(&t.b));
    assert_eq!(
        t.b.json(&["visit", "list", "--household", &h])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for p in [&t.a, &t.b, &t.c] {
        assert_eq!(p.json(&["check"])["ok"], true);
    }

    // A revoked token gets 401: the CLI exits 1 with one line.
    server.admin(&["token", "revoke", "gw-b"]);
    let mut cmd =
        t.b.command(&["sync", "--server", &url, "--token-env", "GRIDWORK_TOKEN"]);
    cmd.env("GRIDWORK_TOKEN", &t.tokens[1]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("unauthorized"), "{lines:?}");
}

/// Forwards to HTTP, then loses the response on the first `drop` calls.
struct LossyTransport {
    inner: gridwork_core::sync::HttpTransport,
    drop_next: std::sync::atomic::AtomicU32,
}

impl Transport for LossyTransport {
    fn post(&self, url: &str, token: &str, body: Vec<u8>) -> gridwork_core::Result<Vec<u8>> {
        let reply = self.inner.post(url, token, body)?;
        if self.drop_next.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            self.drop_next
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            return Err(gridwork_core::Error::Network("response lost (test)".into()));
        }
        Ok(reply)
    }
}

#[test]
fn lost_responses_and_foreign_pushes_are_harmless() {
    let t = town();
    let url = t.server.url.clone();
    let h = t.a.add_household("和平苑2号楼201室", &[]);
    t.a.sync(&url, &t.tokens[0]);
    t.b.sync(&url, &t.tokens[1]);

    // B records a visit; the server applies it but B never hears back.
    let household: HouseholdId = h.parse().unwrap();
    {
        let b = Store::open(&t.b.store, None).unwrap();
        b.record_visit(NewVisit {
            household,
            note: "响应丢失".into(),
            ..Default::default()
        })
        .unwrap();
        let lossy = LossyTransport {
            inner: gridwork_core::sync::HttpTransport::new().unwrap(),
            drop_next: 1.into(),
        };
        let lost = b.sync_with(&lossy, &url, &t.tokens[1], &SyncOptions::default());
        assert!(matches!(lost, Err(gridwork_core::Error::Network(_))));
        assert_eq!(
            b.dirty_docs().unwrap().len(),
            1,
            "still dirty: nothing moved on the phone"
        );
        // The next sync repeats harmlessly.
        let summary = b
            .sync_with(&lossy, &url, &t.tokens[1], &SyncOptions::default())
            .unwrap();
        assert_eq!(summary.round_trips, 1);
        assert!(b.dirty_docs().unwrap().is_empty());
    }
    t.a.sync(&url, &t.tokens[0]);
    let visits = t.a.json(&["visit", "list", "--household", &h]);
    assert_eq!(
        visits.as_array().unwrap().len(),
        1,
        "exactly one visit, no duplicate"
    );
    let server_visits = server_store(&t.server).json(&["visit", "list", "--household", &h]);
    assert_eq!(server_visits.as_array().unwrap().len(), 1);
    assert_eq!(state(&t.a), state(&t.b));

    // C (grid G2) gets hold of G1's household doc and pushes an edit: refused.
    let doc = DocId::household(household);
    let before = server_store(&t.server).json(&["docs"]);
    {
        let a = Store::open(&t.a.store, None).unwrap();
        let bytes = a.export_doc(&doc).unwrap();
        let c = Store::open(&t.c.store, None).unwrap();
        c.merge_doc(&doc, &bytes).unwrap();
        c.edit_household(
            household,
            HouseholdEdit {
                phone: Some("13700000000".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let summary = c.sync(&url, &t.tokens[2], &SyncOptions::default()).unwrap();
        assert_eq!(summary.rejected.len(), 1);
        assert_eq!(summary.rejected[0].id, doc.to_string());
        assert_eq!(summary.docs_down, 0);
    }
    assert_eq!(
        server_store(&t.server).json(&["docs"]),
        before,
        "nothing of the foreign push was applied"
    );
    t.a.sync(&url, &t.tokens[0]);
    assert_ne!(t.a.json(&["household", "show", &h])["phone"], "13700000000");
}

#[test]
fn demo_server_serves_two_converging_phones() {
    let dir = TempDir::new().unwrap();
    let server = Server::start(&dir.path().join("server"), &["--demo"]);
    let token_of = |worker: &str| -> String {
        server
            .preamble
            .iter()
            .find(|v| v["demo_token"]["worker"] == worker)
            .and_then(|v| v["demo_token"]["token"].as_str())
            .unwrap_or_else(|| panic!("no demo token for {worker}: {:?}", server.preamble))
            .to_string()
    };
    let one = Phone::new(dir.path().join("one.db"));
    one.init("gw-demo-1", "DEMO-G01");
    let two = Phone::new(dir.path().join("two.db"));
    two.init("gw-demo-2", "DEMO-G01");
    let first = one.sync(&server.url, &token_of("gw-demo-1"));
    assert!(first["docs_down"].as_u64().unwrap() > 40);
    two.sync(&server.url, &token_of("gw-demo-2"));
    let h = one.json(&["household", "list"]);
    assert!(h.as_array().unwrap().len() >= 40);
    let id = h[0]["id"].as_str().unwrap().to_string();
    two.json(&["visit", "record", &id, "--note", "第二台手机"]);
    two.sync(&server.url, &token_of("gw-demo-2"));
    one.sync(&server.url, &token_of("gw-demo-1"));
    assert_eq!(
        one.json(&["household", "list"]),
        two.json(&["household", "list"])
    );
    assert_eq!(one.json(&["docs"]), two.json(&["docs"]));
    assert_eq!(one.json(&["check"])["ok"], true);
    assert_eq!(two.json(&["check"])["ok"], true);
}

#[test]
fn bad_bodies_get_clear_statuses_and_change_nothing() {
    let t = town();
    let url = format!("{}/v1/sync", t.server.url);
    t.a.add_household("幸福里1号楼101室", &[]);
    t.a.sync(&t.server.url, &t.tokens[0]);
    let before = server_store(&t.server).json(&["docs"]);
    let http = gridwork_core::sync::HttpTransport::new().unwrap();
    let status = |body: Vec<u8>, token: &str| match http.post(&url, token, body) {
        Err(gridwork_core::Error::Server { status, message }) => (status, message),
        Err(gridwork_core::Error::Unauthorized) => (401, String::new()),
        other => panic!("expected an error status, got {other:?}"),
    };
    // Malformed: not a sync body, and a sync header over garbage.
    assert_eq!(status(b"hello".to_vec(), &t.tokens[0]).0, 400);
    assert_eq!(status(b"GWS\x00\x01garbage".to_vec(), &t.tokens[0]).0, 400);
    // A protocol version from the future.
    let mut future = gridwork_core::sync::protocol::encode(
        &gridwork_core::sync::protocol::SyncRequest::default(),
    )
    .unwrap();
    future[3] = 0;
    future[4] = 99;
    let (code, message) = status(future, &t.tokens[0]);
    assert_eq!(code, 400);
    assert!(message.contains("99"), "{message}");
    // Over the size cap.
    let huge = vec![0u8; gridwork_core::sync::protocol::MAX_REQUEST_BYTES + 1024];
    assert_eq!(status(huge, &t.tokens[0]).0, 413);
    // Unknown token.
    assert_eq!(status(b"hello".to_vec(), "not-a-token").0, 401);
    assert_eq!(server_store(&t.server).json(&["docs"]), before);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_server_restored_from_backup_is_caught_up_by_the_slow_path() {
    let mut t = town();
    let h = t.a.add_household("翠竹园3号楼301室", &[]);
    t.a.sync(&t.server.url, &t.tokens[0]);
    // Back up the server's data directory (after a clean shutdown).
    assert_eq!(t.server.stop(), Some(0));
    let backup = t.server.data_dir.with_file_name("backup");
    copy_dir(&t.server.data_dir, &backup);
    let mut server = Server::start(&t.server.data_dir, &[]);
    t.a.json(&["household", "edit", &h, "--phone", "13900000001"]);
    t.a.sync(&server.url, &t.tokens[0]);
    t.a.json(&["household", "edit", &h, "--representative", "李四"]);
    // The server is restored from the backup: it lost A's first edit, while A
    // believes the server has it.
    assert_eq!(server.stop(), Some(0));
    std::fs::remove_dir_all(&t.server.data_dir).unwrap();
    copy_dir(&backup, &t.server.data_dir);
    let server = Server::start(&t.server.data_dir, &[]);
    let summary = t.a.sync(&server.url, &t.tokens[0]);
    assert!(
        summary["slow_path_docs"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    let server_docs = server_store(&server).json(&["docs"]);
    let a_docs = t.a.json(&["docs"]);
    let heads_of = |docs: &Value, id: &str| -> Value {
        docs.as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .map(|d| d["heads"].clone())
            .unwrap_or(Value::Null)
    };
    let doc = format!("household/{h}");
    assert_eq!(
        heads_of(&server_docs, &doc),
        heads_of(&a_docs, &doc),
        "server caught up"
    );
    assert_eq!(
        server_store(&server).json(&["household", "show", &h])["representative"],
        "李四"
    );
    assert_eq!(
        server_store(&server).json(&["household", "show", &h])["phone"],
        "13900000001"
    );
    // B, a fresh phone, gets everything from the restored server.
    t.b.sync(&server.url, &t.tokens[1]);
    assert_eq!(t.b.json(&["household", "show", &h])["phone"], "13900000001");
    assert!(!t.a.json(&["docs"]).as_array().unwrap().is_empty());
    let again = t.a.sync(&server.url, &t.tokens[0]);
    assert_eq!(again["docs_up"], 0, "nothing left dirty");
}

/// `sync` with `token`, captured (for syncs expected to fail).
fn sync_output(p: &Phone, url: &str, token: &str) -> std::process::Output {
    let mut cmd = p.command(&["sync", "--server", url, "--token-env", "GRIDWORK_TOKEN"]);
    cmd.env("GRIDWORK_TOKEN", token);
    cmd.output().unwrap()
}

/// The one stderr line of a sync refused for the account (409
/// account_mismatch): exit 1, nothing on stdout, what to do in zh-CN and
/// English, ids only.
fn refused_for_the_account(out: &std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let lines = stderr_lines(out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = lines[0].clone();
    for part in [
        "error: 此手机初始化为网格员",
        "请核对令牌",
        "check the token",
        "init --force",
        "init --force --discard-unsynced",
        "export households",
        "import register",
    ] {
        assert!(line.contains(part), "{part:?} missing in {line}");
    }
    line
}

/// A household as shown, without what a register import cannot keep: ids,
/// registration times and the grid (the import files it under the phone's
/// grid), and the household note (not a register column).
fn register_fields(shown: &Value) -> Value {
    let mut h = shown.clone();
    let obj = h.as_object_mut().unwrap();
    for key in ["id", "grid", "created_at", "note"] {
        obj.remove(key);
    }
    for r in obj["residents"].as_array_mut().unwrap() {
        let r = r.as_object_mut().unwrap();
        r.remove("id");
        r.remove("created_at");
    }
    h
}

/// The setup trap of issue 11 §5, end to end: a phone initialised for the
/// wrong grid (or with another worker's token) that recorded work before its
/// first sync is refused before anything moves, `init --force` refuses to
/// drop the unsynced work, and the deliberate way out — export the register,
/// `init --force --discard-unsynced`, import the register — gets the work
/// into the right grid.
#[test]
fn a_phone_initialised_for_the_wrong_account_is_refused_and_can_start_over() {
    let t = town();
    let url = t.server.url.clone();
    // gw-a's own phone has synced real data into G1.
    let h_a =
        t.a.add_household("幸福里1号楼101室", &["--tag", "独居老人"]);
    t.a.sync(&url, &t.tokens[0]);

    // A new phone, initialised as gw-a but with grid G2 (the typo); work is
    // recorded before the first sync.
    let x = Phone::new(t.a.store.with_file_name("x.db"));
    x.init("gw-a", "G2");
    let h_x = x.add_household(
        "幸福里2号楼202室",
        &[
            "--representative",
            "李四",
            "--phone",
            "13800138000",
            "--tag",
            "低保",
            "--tag",
            "独居老人",
            "--community",
            "幸福社区",
            "--building",
            "2",
            "--unit",
            "1",
            "--room",
            "202",
            "--risk",
            "yellow",
            "--note",
            "门铃坏了",
        ],
    );
    x.json(&[
        "resident",
        "add",
        &h_x,
        "--name",
        "李四",
        "--id-number",
        "11010519491231002X",
        "--phone",
        "13900000000",
        "--relation",
        "户主",
        "--tag",
        "残疾人",
    ]);
    x.json(&[
        "resident",
        "add",
        &h_x,
        "--name",
        "李小",
        "--birth",
        "2015-06-01",
        "--gender",
        "male",
        "--relation",
        "子女",
    ]);
    x.json(&["visit", "record", &h_x, "--note", "首次走访"]);
    let x_shown = x.json(&["household", "show", &h_x]);
    assert_eq!(x_shown["grid"], "G2");
    let x_docs = x.json(&["docs"]);
    let server_before = server_store(&t.server).json(&["docs"]);

    // The sync with gw-a's token is refused: nothing up, nothing down.
    let line = refused_for_the_account(&sync_output(&x, &url, &t.tokens[0]));
    assert!(
        line.contains("gw-a / 网格 G2") && line.contains("gw-a in G1"),
        "{line}"
    );
    for personal in ["幸福里", "李四", "李小", "13800138000", "门铃"] {
        assert!(!line.contains(personal), "{line}");
    }
    assert_eq!(x.json(&["docs"]), x_docs, "X received nothing");
    let list = x.json(&["household", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], Value::String(h_x.clone()));
    assert_eq!(
        server_store(&t.server).json(&["docs"]),
        server_before,
        "nothing of X reached the server"
    );

    // `init --force` for the right grid refuses to drop the unsynced work.
    let init = |extra: &[&str]| {
        let mut args = vec!["init", "--force"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[
            "--worker-id",
            "gw-a",
            "--worker-name",
            "测试网格员",
            "--grid",
            "G1",
        ]);
        x.run(&args)
    };
    let out = init(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    for part in [
        "error: store: ",
        "尚未同步",
        "change(s) not yet synced",
        "gridwork export households --out FILE.xlsx",
        "init --force --discard-unsynced",
        "gridwork import register FILE.xlsx",
    ] {
        assert!(lines[0].contains(part), "{part:?} missing in {lines:?}");
    }
    assert_eq!(x.json(&["docs"]), x_docs, "X unchanged");
    assert_eq!(x.json(&["household", "show", &h_x]), x_shown);
    // `--discard-unsynced` alone is a usage error (it requires --force).
    let out = x.run(&[
        "init",
        "--discard-unsynced",
        "--worker-id",
        "gw-a",
        "--worker-name",
        "测试网格员",
        "--grid",
        "G1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(x.json(&["docs"]), x_docs);

    // The way out: save the register, start over discarding, read it back.
    let register = t.a.store.with_file_name("register.xlsx");
    let register = register.to_str().unwrap();
    let exported = x.json(&["export", "households", "--out", register]);
    assert_eq!(exported["rows"], 2, "one row per resident");
    let out = init(&["--discard-unsynced"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let device: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(device["worker_id"], "gw-a");
    assert_eq!(device["grid"], "G1");
    assert_eq!(x.json(&["docs"]), serde_json::json!([]));
    let imported = x.json(&["import", "register", register]);
    assert_eq!(imported["stored"], true, "{imported}");
    assert_eq!(imported["households_created"], 1, "{imported}");
    assert_eq!(imported["residents_created"], 2, "{imported}");
    let list = x.json(&["household", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let h_x2 = list[0]["id"].as_str().unwrap().to_string();
    assert_ne!(h_x2, h_x, "the import never adopts a file's id");
    let reimported = x.json(&["household", "show", &h_x2]);
    assert_eq!(reimported["grid"], "G1");
    assert_eq!(
        register_fields(&reimported),
        register_fields(&x_shown),
        "the register round trip keeps the household's fields, tags and residents"
    );
    // What the register does not carry (README, init --discard-unsynced):
    // the household note and the visit are gone.
    assert_eq!(x_shown["note"], "门铃坏了");
    assert_eq!(reimported["note"], "");
    assert_eq!(x.json(&["visit", "list"]), serde_json::json!([]));

    // Now X syncs as gw-a in G1: it gets A's household and delivers its own.
    let first = x.sync(&url, &t.tokens[0]);
    assert_eq!(first["docs_up"], 1, "{first}");
    let ids = |p: &Phone| -> Vec<String> {
        let mut ids: Vec<String> = p
            .json(&["household", "list"])
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let mut both = vec![h_a.clone(), h_x2.clone()];
    both.sort();
    assert_eq!(ids(&x), both);
    t.a.sync(&url, &t.tokens[0]);
    assert_eq!(ids(&t.a), both);
    assert_eq!(
        register_fields(&t.a.json(&["household", "show", &h_x2])),
        register_fields(&x_shown)
    );
    assert_eq!(state(&t.a), state(&x), "A and X converged");
    let server_docs = server_store(&t.server).json(&["docs"]);
    assert!(
        server_docs
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["scope"] != "G2" && d["id"] != format!("household/{h_x}")),
        "nothing was ever filed under the wrong grid: {server_docs}"
    );
    for p in [&t.a, &x] {
        assert_eq!(p.json(&["check"])["ok"], true);
    }

    // Another worker's token is refused the same way: a fresh phone set up
    // as gw-a in G1 with gw-b's token receives nothing of G1 …
    let y = Phone::new(t.a.store.with_file_name("y.db"));
    y.init("gw-a", "G1");
    let line = refused_for_the_account(&sync_output(&y, &url, &t.tokens[1]));
    assert!(
        line.contains("gw-a / 网格 G1") && line.contains("gw-b in G1"),
        "{line}"
    );
    assert_eq!(y.json(&["docs"]), serde_json::json!([]));
    // … and gw-a's own phone, which has synced before and so pushes its
    // unsynced edit in the request, gets nothing applied.
    t.a.json(&["household", "edit", &h_a, "--phone", "13700000000"]);
    let a_docs = t.a.json(&["docs"]);
    let server_before = server_store(&t.server).json(&["docs"]);
    refused_for_the_account(&sync_output(&t.a, &url, &t.tokens[1]));
    assert_eq!(t.a.json(&["docs"]), a_docs);
    assert_eq!(server_store(&t.server).json(&["docs"]), server_before);
    let again = t.a.sync(&url, &t.tokens[0]);
    assert_eq!(again["docs_up"], 1, "the edit is still unsynced: {again}");
}

//! Forms and schedules end to end through the real `gridwork-server` on
//! 127.0.0.1 and the `gridwork` CLI: staff publish a new template version
//! (JSON) and an XLSForm the test builds itself; phones receive them as
//! read-only docs on their next sync, fill the newest version, and keep
//! records of the old version readable and valid. A grid policy reaches the
//! phones of that grid only; case timers follow it (clock set with `--now`).

use gridwork_core::sync::protocol::{self, DocPush, RejectReason, SyncRequest, SyncResponse};
use gridwork_core::sync::Transport;
use gridwork_tests::cli::{stderr_lines, Phone};
use gridwork_tests::server::Server;
use rust_xlsxwriter::Workbook;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

struct Town {
    dir: TempDir,
    server: Server,
    a: Phone,
    c: Phone,
    tokens: [String; 2],
}

fn town() -> Town {
    let dir = TempDir::new().unwrap();
    let server = Server::start(&dir.path().join("server"), &[]);
    for (code, parent) in [
        ("T1", None),
        ("C1", Some("T1")),
        ("C1-1", Some("C1")),
        ("G1", Some("C1-1")),
        ("G2", Some("C1-1")),
    ] {
        let mut args = vec!["grid", "add", code, "--name", code];
        if let Some(parent) = parent {
            args.extend(["--parent", parent]);
        }
        server.admin(&args);
    }
    let mut tokens = Vec::new();
    for (id, grid) in [("gw-a", "G1"), ("gw-c", "G2")] {
        tokens.push(server.add_gridworker(id, grid));
    }
    let phone = |name: &str, worker: &str, grid: &str| {
        let p = Phone::new(dir.path().join(format!("{name}.db")));
        p.init(worker, grid);
        p
    };
    let a = phone("a", "gw-a", "G1");
    let c = phone("c", "gw-c", "G2");
    Town {
        server,
        a,
        c,
        tokens: [tokens[0].clone(), tokens[1].clone()],
        dir,
    }
}

fn write_json(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path
}

fn versions(p: &Phone, id: &str) -> Vec<(u64, String, bool)> {
    p.json(&["form", "templates"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["id"] == id)
        .map(|t| {
            (
                t["version"].as_u64().unwrap(),
                t["source"].as_str().unwrap().to_string(),
                t["newest"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// An XLSForm "妇女儿童关爱" with a group, select_one, select_multiple, a
/// relevant and a constraint, zh/en labels, and one metadata row.
fn build_xlsform(path: &Path) {
    let mut book = Workbook::new();
    let survey = book.add_worksheet().set_name("survey").unwrap();
    let rows: &[&[&str]] = &[
        &[
            "type",
            "name",
            "label::zh",
            "label::en",
            "required",
            "relevant",
            "constraint",
            "constraint_message::zh",
            "constraint_message::en",
        ],
        &["start", "start", "", "", "", "", "", "", ""],
        &[
            "begin group",
            "visit",
            "走访情况",
            "Visit",
            "",
            "",
            "",
            "",
            "",
        ],
        &[
            "date",
            "visited_on",
            "走访日期",
            "Visited on",
            "yes",
            "",
            ". <= today()",
            "不能晚于今天",
            "not after today",
        ],
        &[
            "select_one need",
            "need",
            "主要需求",
            "Main need",
            "yes",
            "",
            "",
            "",
            "",
        ],
        &[
            "select_multiple help",
            "help",
            "提供帮助",
            "Help given",
            "",
            "${need} != 'none'",
            "count-selected(.) <= 2",
            "最多两项",
            "two at most",
        ],
        &[
            "integer",
            "children",
            "儿童人数",
            "Children",
            "",
            "",
            ". >= 0 and . < 10",
            "",
            "",
        ],
        &["end group", "", "", "", "", "", "", "", ""],
        &[
            "note",
            "thanks",
            "感谢配合",
            "Thank you",
            "",
            "",
            "",
            "",
            "",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                survey.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
    }
    let choices = book.add_worksheet().set_name("choices").unwrap();
    let rows: &[&[&str]] = &[
        &["list_name", "name", "label::zh", "label::en"],
        &["need", "none", "无", "None"],
        &["need", "study", "学业", "Study"],
        &["need", "health", "健康", "Health"],
        &["help", "visit", "上门探视", "Home visit"],
        &["help", "goods", "物资", "Goods"],
        &["help", "referral", "转介", "Referral"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            choices.write_string(r as u32, c as u16, *cell).unwrap();
        }
    }
    let settings = book.add_worksheet().set_name("settings").unwrap();
    for (c, (head, value)) in [
        ("form_id", "duty-women-children"),
        ("version", "1"),
        ("form_title::zh", "管一管：妇女儿童关爱"),
        ("form_title::en", "Duty: women and children"),
        ("category", "duty"),
    ]
    .iter()
    .enumerate()
    {
        settings.write_string(0, c as u16, *head).unwrap();
        settings.write_string(1, c as u16, *value).unwrap();
    }
    book.save(path).unwrap();
}

#[test]
fn published_templates_reach_phones_and_old_versions_stay_valid() {
    let t = town();
    let url = t.server.url.clone();
    let dir = t.dir.path();
    // Answers of the newest built-in version (2, the sanitation ledger's own form).
    let v1_answers = json!({"checked_at": "2026-11-20", "place": "3栋", "area_type": "market", "problems": ["none"]});
    let v1_file = write_json(dir, "v1.json", &v1_answers);
    let old = t.a.json(&[
        "form",
        "fill",
        "duty-sanitation",
        "--subject",
        "3栋",
        "--answers",
        v1_file.to_str().unwrap(),
    ]);
    assert_eq!(old["template"]["version"], 2);
    t.a.sync(&url, &t.tokens[0]);

    // Staff publish v3 to the community C1: one more field, required at a
    // market.
    let mut v2 = t.a.json(&["form", "show", "duty-sanitation"]);
    v2["version"] = json!(3);
    v2["fields"].as_array_mut().unwrap().push(json!({
        "id": "bags", "label_zh": "清运袋数", "label_en": "Bags removed", "type": "integer",
        "required": true, "relevant": "${area_type} = 'market'", "constraint": ". > 0"
    }));
    let v2_file = write_json(dir, "v2.json", &v2);
    let published = t.server.admin(&[
        "template",
        "publish",
        v2_file.to_str().unwrap(),
        "--grid",
        "C1",
        "--by",
        "staff-1",
    ]);
    assert_eq!(
        (published["doc_id"].as_str(), published["changed"].as_bool()),
        (Some("template/duty-sanitation/3"), Some(true))
    );
    // Publishing the same file again changes nothing; a lower version is refused.
    assert_eq!(
        t.server.admin(&[
            "template",
            "publish",
            v2_file.to_str().unwrap(),
            "--grid",
            "C1"
        ])["changed"],
        false
    );
    let mut stale = v2.clone();
    stale["version"] = json!(2);
    let stale_file = write_json(dir, "stale.json", &stale);
    let out = gridwork_tests::server::admin_output(
        &t.server.data_dir,
        &["template", "publish", stale_file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("template.version"));

    // XLSForm: converted and checked on the desktop, published as .xlsx to G1 only.
    let xlsx = dir.join("women.xlsx");
    build_xlsform(&xlsx);
    let imported = t.a.json(&["form", "import", xlsx.to_str().unwrap()]);
    assert_eq!(imported["template"]["id"], "duty-women-children");
    assert_eq!(imported["skipped"][0]["name"], "start");
    t.server.admin(&[
        "template",
        "publish",
        xlsx.to_str().unwrap(),
        "--grid",
        "G1",
    ]);
    let listed = t.server.admin(&["template", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);

    // Phone A (G1) gets both; phone C (G2) only the community's v3.
    assert_eq!(
        versions(&t.a, "duty-sanitation"),
        [(1, "builtin".into(), false), (2, "builtin".into(), true)]
    );
    t.a.sync(&url, &t.tokens[0]);
    t.c.sync(&url, &t.tokens[1]);
    assert_eq!(
        versions(&t.a, "duty-sanitation"),
        [
            (1, "builtin".into(), false),
            (2, "builtin".into(), false),
            (3, "published".into(), true)
        ]
    );
    assert_eq!(versions(&t.c, "duty-sanitation").len(), 3);
    assert_eq!(versions(&t.a, "duty-women-children").len(), 1);
    assert!(versions(&t.c, "duty-women-children").is_empty());

    // New records use v3: the v2 answers now miss `bags`, named with its label.
    let out = t.a.run(&[
        "form",
        "fill",
        "duty-sanitation",
        "--subject",
        "3栋",
        "--answers",
        v1_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("answers.bags (清运袋数 / Bags removed)"),
        "{lines:?}"
    );
    let mut v2_answers = v1_answers.clone();
    v2_answers["bags"] = json!(3);
    let v2_answers_file = write_json(dir, "v2-answers.json", &v2_answers);
    let new = t.a.json(&[
        "form",
        "fill",
        "duty-sanitation",
        "--subject",
        "3栋",
        "--answers",
        v2_answers_file.to_str().unwrap(),
    ]);
    assert_eq!(new["template"]["version"], 3);
    // The v2 record still shows, and its version still serves it.
    let records = t.a.json(&["form", "list", "--template", "duty-sanitation"]);
    let record_versions: Vec<u64> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["template"]["version"].as_u64().unwrap())
        .collect();
    assert_eq!(record_versions, [3, 2]);
    assert_eq!(
        t.a.json(&["form", "show", "duty-sanitation", "--version", "1"])["fields"]
            .as_array()
            .unwrap()
            .len(),
        6
    );

    // The XLSForm round trip: fill, with relevance and constraints applied.
    let good = write_json(
        dir,
        "w-good.json",
        &json!({"visited_on": "2026-11-20", "need": "study", "help": ["visit", "goods"], "children": 2}),
    );
    let record = t.a.json(&[
        "form",
        "fill",
        "duty-women-children",
        "--subject",
        "2栋",
        "--answers",
        good.to_str().unwrap(),
    ]);
    assert_eq!(record["template"]["version"], 1);
    let bad = write_json(
        dir,
        "w-bad.json",
        &json!({"visited_on": "2026-11-20", "need": "none", "help": ["visit"], "children": 12}),
    );
    let out = t.a.run(&[
        "form",
        "fill",
        "duty-women-children",
        "--subject",
        "2栋",
        "--answers",
        bad.to_str().unwrap(),
    ]);
    let line = stderr_lines(&out).join(" ");
    assert!(
        line.contains("answers.help (提供帮助 / Help given)") && line.contains("not relevant"),
        "{line}"
    );
    assert!(line.contains("answers.children"), "{line}");

    // The records reach the server and the other gridworker's grid stays clean.
    t.a.sync(&url, &t.tokens[0]);
    t.c.sync(&url, &t.tokens[1]);
    assert!(t.c.json(&["form", "list"]).as_array().unwrap().is_empty());
    assert!(t.a.json(&["check"])["ok"].as_bool().unwrap());
}

#[test]
fn phones_cannot_change_a_template() {
    let t = town();
    let url = t.server.url.clone();
    let mut v2 = t.a.json(&["form", "show", "duty-river-care"]);
    v2["version"] = json!(3);
    let file = write_json(t.dir.path(), "river.json", &v2);
    t.server
        .admin(&["template", "publish", file.to_str().unwrap()]);
    t.a.sync(&url, &t.tokens[0]);

    // A (buggy or hostile) device pushes an edited copy of the template doc.
    let id = gridwork_core::docs::DocId::template("duty-river-care", 3);
    let store = gridwork_core::Store::open(&t.a.store, None).unwrap();
    let mut doc = automerge::Automerge::load(&store.export_doc(&id).unwrap()).unwrap();
    drop(store);
    let mut tx = doc.transaction();
    automerge::transaction::Transactable::put(&mut tx, automerge::ROOT, "body", "{}").unwrap();
    tx.commit();
    let request = SyncRequest {
        device: "ab".repeat(16),
        pushes: vec![DocPush {
            id: id.to_string(),
            heads: protocol::to_hashes(&doc.get_heads()),
            changes: doc.save(),
        }],
        ..SyncRequest::default()
    };
    let http = gridwork_core::sync::HttpTransport::new().unwrap();
    let reply = http
        .post(
            &format!("{url}/v1/sync"),
            &t.tokens[0],
            protocol::encode(&request).unwrap(),
        )
        .unwrap();
    let response: SyncResponse = protocol::decode(&reply).unwrap();
    assert_eq!(response.rejected.len(), 1);
    assert_eq!(response.rejected[0].reason, RejectReason::ReadOnly);
    // The server's copy is untouched, and phones still read the original.
    t.c.sync(&url, &t.tokens[1]);
    assert_eq!(t.c.json(&["form", "show", "duty-river-care"])["version"], 3);
    assert_eq!(
        t.c.json(&["form", "show", "duty-river-care"])["fields"],
        v2["fields"]
    );
}

#[test]
fn a_grid_policy_reaches_its_phones_and_drives_case_timers() {
    let t = town();
    let url = t.server.url.clone();
    let policy = write_json(
        t.dir.path(),
        "policy.json",
        &json!({"first_response_minutes": 10, "visit_intervals": {"low_income": "weekly"}}),
    );
    let set = t
        .server
        .admin(&["policy", "set", "--grid", "G1", policy.to_str().unwrap()]);
    assert_eq!(set["effective"]["first_response_minutes"], 10);
    assert_eq!(set["republished"], json!(["G1"]));
    // A grid added later under C1 inherits nothing from G1.
    t.a.sync(&url, &t.tokens[0]);
    t.c.sync(&url, &t.tokens[1]);

    let opened = "2026-11-29T02:00:00Z";
    let at = |p: &Phone, now: &str| Phone {
        now: Some(now.into()),
        ..p.clone()
    };
    for p in [&t.a, &t.c] {
        at(p, opened).json(&[
            "case",
            "open",
            "--category",
            "环境卫生",
            "--description",
            "楼道堆物",
        ]);
    }
    let overdue = |p: &Phone, now: &str| {
        at(p, now)
            .json(&["case", "list", "--overdue"])
            .as_array()
            .unwrap()
            .len()
    };
    // G1 follows its 10-minute target; G2 the default 30 minutes.
    assert_eq!(overdue(&t.a, "2026-11-29T02:09:00Z"), 0);
    assert_eq!(overdue(&t.a, "2026-11-29T02:11:00Z"), 1);
    assert_eq!(overdue(&t.c, "2026-11-29T02:29:00Z"), 0);
    assert_eq!(overdue(&t.c, "2026-11-29T02:31:00Z"), 1);
    let case = &at(&t.c, "2026-11-29T02:31:00Z").json(&["case", "list", "--overdue"])[0];
    assert_eq!(case["timers"]["response_overdue"], true);
    // Escalating is a recorded transition; any response stops the clock.
    let id = case["id"].as_str().unwrap();
    at(&t.c, "2026-11-29T02:32:00Z").json(&[
        "case",
        "transition",
        id,
        "--to",
        "escalated",
        "--note",
        "上报社区",
    ]);
    assert_eq!(overdue(&t.c, "2026-11-29T02:33:00Z"), 0);
    let shown = at(&t.c, "2026-11-29T02:33:00Z").json(&["case", "show", id]);
    assert_eq!(
        (
            shown["escalated"].as_bool(),
            shown["timers"]["responded_late"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert_eq!(
        at(&t.c, "2026-11-29T02:33:00Z").json(&["report"])["response_target_minutes"],
        30
    );
    assert_eq!(
        at(&t.a, "2026-11-29T02:33:00Z").json(&["report"])["response_target_minutes"],
        10
    );
}

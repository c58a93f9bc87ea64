//! The `gridwork` command-line contract: commands, JSON fields, exit codes,
//! one-line errors without personal data, keys only from the environment.

use gridwork_tests::cli::{stderr_lines, Phone};
use serde_json::Value;
use tempfile::TempDir;

fn phone(dir: &TempDir) -> Phone {
    let p = Phone::new(dir.path().join("phone.db"));
    p.init("gw-001", "G-001");
    p
}

#[test]
fn households_residents_and_visits_round_trip() {
    let dir = TempDir::new().unwrap();
    let p = phone(&dir);
    let id = p.add_household(
        "幸福里小区3号楼2单元501室",
        &[
            "--representative",
            "李四",
            "--phone",
            "13800138000",
            "--tag",
            "低保",
            "--tag",
            "elderly_alone",
        ],
    );
    let list = p.json(&["household", "list"]);
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 1);
    for field in ["id", "address", "tags", "next_visit_due"] {
        assert!(
            items[0].get(field).is_some(),
            "household list item lacks {field}"
        );
    }
    assert_eq!(
        items[0]["tags"],
        serde_json::json!(["elderly_alone", "low_income"])
    );

    let resident = p.json(&[
        "resident",
        "add",
        &id,
        "--name",
        "王五",
        "--id-number",
        "11010519491231002X",
        "--phone",
        "13900000000",
        "--tag",
        "disabled",
    ]);
    assert!(resident["id"].is_string());
    let shown = p.json(&["household", "show", &id]);
    assert_eq!(shown["residents"][0]["birth_date"], "1949-12-31");

    let edited = p.json(&[
        "household",
        "edit",
        &id,
        "--phone",
        "13700000000",
        "--remove-tag",
        "低保",
        "--add-tag",
        "floating",
    ]);
    assert_eq!(edited["phone"], "13700000000");
    assert_eq!(
        edited["tags"],
        serde_json::json!(["elderly_alone", "floating"])
    );

    let answers = dir.path().join("answers.json");
    std::fs::write(
        &answers,
        r#"{"public_areas": "ok", "sanitation": {"outcome": "problem", "note": "垃圾未清"}}"#,
    )
    .unwrap();
    let visit = p.json(&[
        "visit",
        "record",
        &id,
        "--answers",
        answers.to_str().unwrap(),
        "--note",
        "上门走访",
        "--lat",
        "31.2",
        "--lon",
        "121.5",
    ]);
    let visit_id = visit["id"].as_str().unwrap();
    let shown = p.json(&["visit", "show", visit_id]);
    assert_eq!(shown["answers"][1]["outcome"], "problem");
    assert_eq!(shown["location"]["lat"], 31.2);
    assert_eq!(
        p.json(&["visit", "list", "--household", &id])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let found = p.json(&["household", "list", "--search", "王五"]);
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(p.json(&["check"])["ok"], true);
}

#[test]
fn hazards_cases_forms_due_conflicts_and_report() {
    let dir = TempDir::new().unwrap();
    let mut p = phone(&dir);
    p.now = Some("2026-05-01T02:00:00Z".into());
    let id = p.add_household("和平苑1号楼101室", &["--tag", "独居老人"]);
    let hazard = p.json(&[
        "hazard",
        "report",
        "--category",
        "消防安全",
        "--description",
        "楼道堆物",
        "--household",
        &id,
        "--deadline",
        "2026-05-10",
    ]);
    let hid = hazard["id"].as_str().unwrap();
    assert_eq!(hazard["status"], "reported");
    assert_eq!(
        p.json(&["hazard", "transition", hid, "--to", "rectifying"])["status"],
        "rectifying"
    );
    assert_eq!(
        p.json(&["hazard", "list", "--open"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let case = p.json(&[
        "case",
        "open",
        "--category",
        "环境卫生",
        "--description",
        "垃圾清运",
        "--channel",
        "phone",
        "--household",
        &id,
    ]);
    let cid = case["id"].as_str().unwrap();
    // Reminders: the household due today, then the case's first response
    // (due at 02:30) within 30 minutes; the hazard's deadline only within
    // ten days (refused: at most a week).
    let reminders = p.json(&["reminders", "--within", "30m"]);
    let kinds: Vec<(&str, &str)> = reminders
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["id"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("visit_due", id.as_str()), ("case_response", cid)]);
    assert_eq!(reminders[1]["overdue"], false);
    assert_eq!(reminders[1]["title"], "环境卫生");
    assert_eq!(p.json(&["reminders"]), reminders, "30 minutes by default");
    assert_eq!(
        p.run(&["reminders", "--within", "10d"]).status.code(),
        Some(2)
    );
    // 45 minutes later nobody has answered: the report counts it.
    p.now = Some("2026-05-01T02:45:00Z".into());
    assert_eq!(p.json(&["reminders", "--within", "0"])[1]["overdue"], true);
    let report = p.json(&["report"]);
    assert_eq!(report["cases_awaiting_response_overdue"], 1);
    assert_eq!(report["open_hazards"], 1);
    let moved = p.json(&[
        "case",
        "transition",
        cid,
        "--to",
        "registered",
        "--note",
        "已受理",
    ]);
    assert_eq!(moved["status"], "registered");
    assert_eq!(moved["transitions"][0]["note"], "已受理");
    assert_eq!(p.json(&["case", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(
        p.json(&["case", "edit", cid, "--urgency", "urgent"])["urgency"],
        "urgent"
    );
    assert_eq!(
        p.run(&["case", "edit", cid, "--urgency", "whenever"])
            .status
            .code(),
        Some(1)
    );

    let form = dir.path().join("form.json");
    std::fs::write(
        &form,
        r#"{"checked_at": "2026-05-01", "place": "河道", "problems": ["none"]}"#,
    )
    .unwrap();
    let record = p.json(&[
        "form",
        "fill",
        "duty-river-care",
        "--subject",
        "河道巡查",
        "--answers",
        form.to_str().unwrap(),
    ]);
    assert_eq!(record["template"]["version"], 2);
    // The checklist, the hazard form, and both versions of the twelve duties.
    assert_eq!(p.json(&["form", "templates"]).as_array().unwrap().len(), 26);

    // Never visited: due from registration day; weekly policy.
    let due = p.json(&["due"]);
    assert_eq!(due[0]["id"], Value::String(id.clone()));
    assert_eq!(due[0]["visit_interval"], "weekly");
    assert_eq!(p.json(&["conflicts"]), serde_json::json!([]));
    assert_eq!(p.json(&["check"])["ok"], true);
}

#[test]
fn user_errors_exit_1_with_one_line_and_no_personal_data() {
    let dir = TempDir::new().unwrap();
    let p = phone(&dir);
    let id = p.add_household("幸福里1号楼101室", &[]);
    let cases: Vec<Vec<&str>> = vec![
        vec!["household", "add", "--address", ""],
        vec!["household", "add", "--address", "x", "--phone", "12345"],
        vec!["household", "add", "--address", "x", "--tag", "vip"],
        vec![
            "resident",
            "add",
            &id,
            "--name",
            "王五",
            "--id-number",
            "110105194912310021",
        ],
        vec!["household", "show", "0190b7a4-0000-7000-8000-000000000001"],
        vec!["household", "show", "not-an-id"],
        vec![
            "init",
            "--worker-id",
            "x",
            "--worker-name",
            "y",
            "--grid",
            "z",
        ],
    ];
    for args in cases {
        let out = p.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
        assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
        assert!(
            !lines[0].contains("110105194912310021") && !lines[0].contains("12345"),
            "{lines:?}"
        );
    }
    let out = p.run(&[
        "resident",
        "add",
        &id,
        "--name",
        "王五",
        "--id-number",
        "110105194912310021",
    ]);
    assert!(stderr_lines(&out)[0].starts_with("error: id_number:"));
    // Nothing was stored by the failed commands.
    assert_eq!(p.json(&["household", "list"]).as_array().unwrap().len(), 1);
    assert!(p.json(&["household", "show", &id])["residents"]
        .as_array()
        .unwrap()
        .is_empty());
    // Usage errors exit 2.
    assert_eq!(p.run(&["household", "frobnicate"]).status.code(), Some(2));
    assert_eq!(p.run(&["household", "add"]).status.code(), Some(2));
}

#[test]
fn encrypted_store_keeps_names_out_of_the_file_and_refuses_wrong_keys() {
    let dir = TempDir::new().unwrap();
    let mut p = Phone::new(dir.path().join("secret.db"));
    p.key = Some(("GRIDWORK_TEST_KEY".into(), "s3cret-passphrase".into()));
    p.init("gw-001", "G-001");
    let id = p.add_household("幸福里1号楼101室", &["--representative", "诸葛孔明"]);
    p.json(&["resident", "add", &id, "--name", "欧阳娜娜"]);
    for file in ["secret.db", "secret.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            for name in ["欧阳娜娜", "诸葛孔明", "幸福里"] {
                assert!(
                    !bytes.windows(name.len()).any(|w| w == name.as_bytes()),
                    "{file} contains {name}"
                );
            }
        }
    }
    let mut wrong = p.clone();
    wrong.key = Some(("GRIDWORK_TEST_KEY".into(), "wrong".into()));
    let out = wrong.run(&["household", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr_lines(&out).len(), 1);
    assert!(
        stderr_lines(&out)[0].contains("key"),
        "{:?}",
        stderr_lines(&out)
    );
    let mut no_key = p.clone();
    no_key.key = None;
    assert_eq!(no_key.run(&["household", "list"]).status.code(), Some(1));
    // A named variable that is not set is a clear error, not a plain store.
    let out = no_key.run(&["--key-env", "GRIDWORK_UNSET_VARIABLE", "household", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(p.json(&["household", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn demo_grid_of_150_households_lists_and_checks() {
    let dir = TempDir::new().unwrap();
    let p = phone(&dir);
    let summary = p.json(&["demo", "--force", "--households", "150", "--years", "5"]);
    assert_eq!(summary["households"], 150);
    assert!(summary["visits"].as_u64().unwrap() > 8000);
    assert!(summary["hazards"].as_u64().unwrap() > 300);
    assert!(summary["cases"].as_u64().unwrap() > 1500);
    let list = p.json(&["household", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 150);
    let out = p.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The due list starts with overdue special-group households.
    let due = p.json(&["due"]);
    let first = &due.as_array().unwrap()[0];
    assert_eq!(first["due_status"], "overdue");
    assert!(!first["all_tags"].as_array().unwrap().is_empty());
    // Whole order: overdue special groups (most days first), then other
    // overdue households, then those due soon.
    let rank = |e: &Value| {
        (
            e["due_status"] != "overdue",
            e["all_tags"].as_array().unwrap().is_empty(),
            -e["days_overdue"].as_i64().unwrap(),
        )
    };
    let ranks: Vec<_> = due.as_array().unwrap().iter().map(rank).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "due order");
    let names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["representative"].as_str().unwrap().to_string())
        .collect();
    assert!(
        names.iter().all(|n| n.chars().count() >= 2),
        "Chinese names"
    );
}

/// The store's files (the database and SQLite's side files) under `dir`.
fn store_files(dir: &TempDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".db"))
        .collect();
    names.sort();
    names
}

#[test]
fn commands_on_a_missing_store_fail_and_create_nothing() {
    let dir = TempDir::new().unwrap();
    let mut p = Phone::new(dir.path().join("typo.db"));
    p.now = Some("2026-05-01T02:00:00Z".into());
    let commands: Vec<Vec<&str>> = vec![
        vec!["household", "list"],
        vec!["household", "add", "--address", "幸福里1号楼101室"],
        vec!["due"],
        vec!["report"],
        vec!["docs"],
        vec!["check"],
        vec!["form", "templates"],
        vec!["conflicts"],
        vec![
            "sync",
            "--server",
            "http://127.0.0.1:9",
            "--token-env",
            "PATH",
        ],
    ];
    for args in &commands {
        let out = p.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
        assert!(
            lines[0].starts_with("error: store: ")
                && lines[0].contains("请先运行 init")
                && lines[0].contains("no store at this path; run init first"),
            "{lines:?}"
        );
        assert!(!lines[0].contains("幸福里"), "{lines:?}");
        assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
        assert!(store_files(&dir).is_empty(), "{args:?} created a file");
    }
    // The same with an encrypted store's key variable.
    let mut keyed = p.clone();
    keyed.key = Some(("GRIDWORK_TEST_KEY".into(), "s3cret-passphrase".into()));
    let out = keyed.run(&["household", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_lines(&out)[0].contains("run init first"));
    assert!(store_files(&dir).is_empty());

    // `init` and `demo` create their store.
    p.init("gw-001", "G-001");
    assert_eq!(p.json(&["household", "list"]), serde_json::json!([]));
    let demo = Phone::new(dir.path().join("demo.db"));
    let summary = demo.json(&["demo", "--households", "2", "--years", "1"]);
    assert_eq!(summary["households"], 2);
    assert_eq!(
        demo.json(&["household", "list"]).as_array().unwrap().len(),
        2
    );
}

#[test]
fn init_force_starts_a_clean_store_over_and_refuses_unsynced_work() {
    let dir = TempDir::new().unwrap();
    let p = phone(&dir);
    let force = |worker: &str, grid: &str| {
        p.run(&[
            "init",
            "--force",
            "--worker-id",
            worker,
            "--worker-name",
            "测试网格员",
            "--grid",
            grid,
        ])
    };

    // A freshly initialised store holds nothing unsynced: the wrong grid
    // can be corrected.
    let out = force("gw-002", "G-002");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let device: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(device["worker_id"], "gw-002");
    assert_eq!(device["grid"], "G-002");
    assert_eq!(p.json(&["household", "list"]), serde_json::json!([]));
    assert_eq!(p.json(&["docs"]), serde_json::json!([]));
    // Plain `init` is still once only.
    let out = p.run(&[
        "init",
        "--worker-id",
        "gw-003",
        "--worker-name",
        "测试网格员",
        "--grid",
        "G-003",
    ]);
    assert_eq!(out.status.code(), Some(1));

    // New records belong to the new grid; while one is unsynced, `--force`
    // is refused with one line and changes nothing.
    let id = p.add_household("幸福里1号楼101室", &["--representative", "李四"]);
    assert_eq!(p.json(&["household", "show", &id])["grid"], "G-002");
    let docs = p.json(&["docs"]);
    let out = force("gw-003", "G-003");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("error: store: ")
            && lines[0].contains("尚未同步")
            && lines[0].contains("1 change(s) not yet synced"),
        "{lines:?}"
    );
    assert!(
        !lines[0].contains("幸福里") && !lines[0].contains("李四"),
        "{lines:?}"
    );
    assert_eq!(p.json(&["docs"]), docs);
    let list = p.json(&["household", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], Value::String(id.clone()));
    let other = p.add_household("幸福里1号楼102室", &[]);
    assert_eq!(p.json(&["household", "show", &other])["grid"], "G-002");
    assert_eq!(p.json(&["check"])["ok"], true);
}

#[test]
fn visits_open_and_link_follow_up_cases() {
    let dir = TempDir::new().unwrap();
    let p = phone(&dir);
    let h = p.add_household("和平苑2号楼201室", &[]);
    let recorded = p.json(&[
        "visit",
        "record",
        &h,
        "--note",
        "楼道堆放杂物",
        "--open-case",
        "环境卫生",
    ]);
    let visit = recorded["id"].as_str().unwrap().to_string();
    let case = &recorded["case"];
    assert_eq!(case["household"], Value::String(h.clone()));
    assert_eq!(case["channel"], "visit");
    assert_eq!(
        case["description"], "楼道堆放杂物",
        "the visit's note by default"
    );
    assert_eq!(recorded["follow_up_cases"], serde_json::json!([case["id"]]));
    // A case opened for the visit afterwards, and an existing one linked.
    let later = p.json(&[
        "case",
        "open",
        "--category",
        "帮办代办",
        "--description",
        "代办高龄补贴",
        "--visit",
        &visit,
    ]);
    assert_eq!(later["household"], Value::String(h.clone()));
    let loose = p.json(&[
        "case",
        "open",
        "--category",
        "邻里纠纷",
        "--description",
        "楼上漏水",
    ]);
    let linked = p.json(&[
        "visit",
        "link",
        &visit,
        "--case",
        loose["id"].as_str().unwrap(),
    ]);
    assert_eq!(
        linked["follow_up_cases"],
        serde_json::json!([case["id"], later["id"], loose["id"]])
    );
    assert_eq!(
        p.json(&["visit", "show", &visit])["follow_up_cases"],
        linked["follow_up_cases"]
    );
    // --case-description needs --open-case; a bad visit id is refused.
    assert_eq!(
        p.run(&["visit", "record", &h, "--case-description", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        p.run(&[
            "case",
            "open",
            "--category",
            "x",
            "--description",
            "y",
            "--visit",
            "nope"
        ])
        .status
        .code(),
        Some(1)
    );
}

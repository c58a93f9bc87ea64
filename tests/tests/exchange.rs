//! Excel in and out through the `gridwork` CLI: a demo grid's register
//! exported as XLSX and CSV re-imports into a fresh store with the same
//! households and residents, re-imports into its own store without moving a
//! document, and a register with one bad ID number is refused whole.

use gridwork_tests::cli::{stderr_lines, Phone};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use tempfile::TempDir;

/// A store filled by `demo --households 30 --years 1`.
fn demo(dir: &TempDir) -> Phone {
    let p = Phone::new(dir.path().join("source.db"));
    let summary = p.json(&["demo", "--households", "30", "--years", "1"]);
    assert_eq!(summary["households"], 30);
    p
}

fn fresh(dir: &TempDir, name: &str) -> Phone {
    let p = Phone::new(dir.path().join(name));
    p.init("gw-002", "G-002");
    p
}

fn export(p: &Phone, kind: &str, out: &Path) -> Value {
    let out_text = out.to_str().unwrap();
    let report = p.json(&["export", kind, "--out", out_text]);
    let bytes = std::fs::read(out).unwrap();
    assert_eq!(report["bytes"], bytes.len());
    assert_eq!(report["out"], out_text);
    assert_eq!(report["kind"], kind);
    report
}

/// The fields of a household (and its residents) that an import carries.
fn register_view(h: &Value) -> Value {
    let residents: Vec<Value> = h["residents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            json!({
                "name": r["name"], "gender": r["gender"], "birth_date": r["birth_date"],
                "id_number": r["id_number"], "phone": r["phone"], "relation": r["relation"],
                "tags": r["tags"], "moved_out": r["moved_out"],
            })
        })
        .collect();
    json!({
        "community": h["community"], "building": h["building"], "unit": h["unit"],
        "room": h["room"], "address": h["address"], "representative": h["representative"],
        "phone": h["phone"], "tags": h["tags"], "risk": h["risk"], "status": h["status"],
        "residents": residents,
    })
}

#[test]
fn demo_register_round_trips_through_xlsx_and_csv() {
    let dir = TempDir::new().unwrap();
    let source = demo(&dir);
    let households = source.json(&["household", "list"]);
    let households = households.as_array().unwrap();
    assert_eq!(households.len(), 30);
    let shown: Vec<Value> = households
        .iter()
        .map(|h| source.json(&["household", "show", h["id"].as_str().unwrap()]))
        .collect();
    let residents: usize = shown
        .iter()
        .map(|h| h["residents"].as_array().unwrap().len())
        .sum();
    assert!(
        shown
            .iter()
            .flat_map(|h| h["residents"].as_array().unwrap())
            .any(|r| r["id_number"].as_str().unwrap().ends_with('X')),
        "the demo grid has an ID number ending in X (kept as text)"
    );

    for format in ["xlsx", "csv"] {
        let file = dir.path().join(format!("register.{format}"));
        let report = export(&source, "households", &file);
        assert_eq!(report["format"], format);
        assert_eq!(report["rows"], residents);
        let bytes = std::fs::read(&file).unwrap();
        match format {
            "xlsx" => assert_eq!(&bytes[..2], b"PK", "an Office Open XML (zip) file"),
            _ => assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 with BOM"),
        }

        let copy = fresh(&dir, &format!("fresh-{format}.db"));
        let imported = copy.json(&["import", "register", file.to_str().unwrap()]);
        assert_eq!(imported["stored"], true, "{imported}");
        assert_eq!(imported["errors"], json!([]));
        assert_eq!(imported["households_created"], 30);
        assert_eq!(imported["residents_created"], residents);
        assert_eq!(imported["rows"], residents);
        let new_ids: HashMap<&str, &str> = imported["renumbered"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "household")
            .map(|r| (r["file_id"].as_str().unwrap(), r["id"].as_str().unwrap()))
            .collect();
        assert_eq!(new_ids.len(), 30);

        // `household list` of the copy: the same addresses, representatives and tags.
        let listed = copy.json(&["household", "list"]);
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 30);
        for h in households {
            let new_id = new_ids[h["id"].as_str().unwrap()];
            let row = listed.iter().find(|c| c["id"] == new_id).unwrap();
            for field in [
                "address",
                "representative",
                "tags",
                "all_tags",
                "risk",
                "status",
                "residents",
            ] {
                assert_eq!(row[field], h[field], "{format}: household list {field}");
            }
        }
        // `household show` of each: every household and resident field.
        for original in &shown {
            let new_id = new_ids[original["id"].as_str().unwrap()];
            let copied = copy.json(&["household", "show", new_id]);
            assert_eq!(register_view(&copied), register_view(original), "{format}");
        }
        assert_eq!(copy.json(&["check"])["ok"], true);

        // The same file into the copy again: its (unknown) ids match what the
        // first import created, by address, ID number and name; nothing moves.
        let heads = copy.json(&["docs"]);
        let again = copy.json(&["import", "register", file.to_str().unwrap()]);
        assert_eq!(again["unchanged"], 30, "{again}");
        assert_eq!(again["households_created"], 0);
        assert_eq!(again["residents_created"], 0);
        assert_eq!(again["renumbered"], imported["renumbered"]);
        assert_eq!(copy.json(&["docs"]), heads);
    }
}

#[test]
fn reimport_into_the_source_store_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let source = demo(&dir);
    let heads = source.json(&["docs"]);
    for format in ["xlsx", "csv"] {
        let file = dir.path().join(format!("register.{format}"));
        export(&source, "households", &file);
        let report = source.json(&["import", "register", file.to_str().unwrap()]);
        assert_eq!(report["stored"], true);
        assert_eq!(report["unchanged"], 30, "{report}");
        for count in [
            "households_created",
            "households_updated",
            "residents_created",
            "residents_updated",
        ] {
            assert_eq!(report[count], 0, "{format}: {count}");
        }
        assert_eq!(report["renumbered"], json!([]));
        assert_eq!(source.json(&["docs"]), heads, "{format}: no document moved");
    }
}

#[test]
fn a_register_with_one_bad_id_number_is_refused_whole() {
    let dir = TempDir::new().unwrap();
    let source = demo(&dir);
    let file = dir.path().join("register.csv");
    export(&source, "households", &file);
    let text = String::from_utf8(std::fs::read(&file).unwrap()).unwrap();
    // Break the check digit of the ID number on spreadsheet row 5.
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let id_col = header
        .iter()
        .position(|h| h.ends_with("id_number"))
        .unwrap();
    let mut cells: Vec<String> = lines[4].split(',').map(str::to_string).collect();
    let good = cells[id_col].clone();
    assert_eq!(good.len(), 18);
    let last = if good.ends_with('0') { '1' } else { '0' };
    let bad = format!("{}{last}", &good[..17]);
    cells[id_col] = bad.clone();
    lines[4] = cells.join(",");
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, lines.join("\r\n")).unwrap();

    let copy = fresh(&dir, "fresh.db");
    let heads = copy.json(&["docs"]);
    let out = copy.run(&["import", "register", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr_lines(&out);
    assert_eq!(stderr.len(), 1, "{stderr:?}");
    assert!(stderr[0].contains("row 5 id_number"), "{stderr:?}");
    assert!(!stderr[0].contains(&bad) && !stderr[0].contains(&good));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["stored"], false);
    assert_eq!(
        report["errors"],
        json!([{"row": 5, "column": "id_number", "message": "身份证号校验位错误 / ID number check digit is wrong"}])
    );
    assert_eq!(report["households_created"], 0);
    assert_eq!(copy.json(&["household", "list"]), json!([]));
    assert_eq!(copy.json(&["docs"]), heads);
}

#[test]
fn record_exports_have_one_row_per_record() {
    let dir = TempDir::new().unwrap();
    let source = demo(&dir);
    for (kind, list) in [
        ("visits", vec!["visit", "list"]),
        ("hazards", vec!["hazard", "list"]),
        ("cases", vec!["case", "list"]),
    ] {
        let records = source.json(&list).as_array().unwrap().len();
        assert!(records > 0, "the demo grid has {kind}");
        for format in ["xlsx", "csv"] {
            let file = dir.path().join(format!("{kind}.{format}"));
            let report = export(&source, kind, &file);
            assert_eq!(report["rows"], records, "{kind} {format}");
        }
        // CSV: one header line plus one line per record (no line breaks in demo values).
        let text = std::fs::read_to_string(dir.path().join(format!("{kind}.csv"))).unwrap();
        assert_eq!(text.trim_end().split("\r\n").count(), records + 1, "{kind}");
    }
    // An unknown extension needs --format.
    let out = source.run(&[
        "export",
        "cases",
        "--out",
        dir.path().join("cases.txt").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr_lines(&out).len(), 1);
}

//! The register import checks every cell with the same text and date rules
//! as the `Store` API (`docs/limits.md`): each bad cell is a row error
//! naming its column, without the value, and nothing is stored.

use super::*;
use tempfile::TempDir;

#[test]
fn register_cells_follow_the_input_limits() {
    let dir = TempDir::new().unwrap();
    let store = super::tests::store(&dir, "a.db");
    let long = "巷".repeat(201);
    let file = [
        "地址,户代表,房号,姓名,出生日期,身份证号,关系".to_string(),
        "\"幸福里1号\u{1b}[2J\",,,王五,,,".into(),
        "\u{200b},,,王五,,,".into(),
        "幸福里2号,李\u{202e}四,,王五,,,".into(),
        "幸福里3号,,,王五,2099-01-01,,".into(),
        "幸福里4号,,,\u{200b},,,".into(),
        "幸福里5号,,,王五,,,\"配\n偶\"".into(),
        format!("{long},,,王五,,,"),
        "幸福里6号,,,王五,0000-01-01,,".into(),
        "幸福里7号,,\u{7}501,王五,,,".into(),
        // A valid ID number whose birth date (2099-01-01) is in the future.
        "幸福里8号,,,王五,,110105209901010012,".into(),
    ]
    .join("\n");
    let report = store
        .import_register(file.as_bytes(), ExportFormat::Csv)
        .unwrap();
    assert!(!report.stored);
    let errors: Vec<(u32, &str)> = report
        .errors
        .iter()
        .map(|e| (e.row, e.column.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (2, "address"),
            (3, "address"),
            (4, "representative"),
            (5, "birth_date"),
            (6, "name"),
            (7, "relation"),
            (8, "address"),
            (9, "birth_date"),
            (10, "room"),
            (11, "id_number"),
        ],
        "{report:?}"
    );
    for e in &report.errors {
        assert!(
            !e.message.contains('\u{1b}')
                && !e.message.contains('巷')
                && !e.message.contains("2099"),
            "{e:?}"
        );
    }
    assert!(store.list_households().unwrap().is_empty());
}

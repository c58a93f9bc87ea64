//! XLSForm cells read by their type (dates and times as ISO text, refused
//! where they make no sense), `${field}` references checked as pyxform
//! checks them, `acknowledge` refused, and the spreadsheet limits.

use super::*;
use crate::forms::refs;

const SETTINGS_V1: &str = "
form_id | version
refs    | num:1
";

fn import_one(survey: &str) -> Result<XlsImport> {
    import(&[("survey", survey), ("settings", SETTINGS_V1)])
}

#[test]
fn references_to_fields_are_kept_for_the_apps_to_fill() {
    let t = import_one(
        "
type    | name | label::zh        | label::en        | hint      | constraint | constraint_message::zh | constraint_message::en
text    | who  | 姓名             | Name
integer | age  | ${who} 的年龄    | Age of ${who}    | ${who}?   | . > 0      | ${who} 的年龄应大于0   | ${who}: more than 0
note    | end  | 谢谢 ${who}，${age} 岁
",
    )
    .unwrap()
    .template;
    let age = t.field("age").unwrap();
    assert_eq!(age.label_zh, "${who} 的年龄");
    assert_eq!(
        age.constraint_message.as_deref(),
        Some("${who} 的年龄应大于0 / ${who}: more than 0")
    );
    let answer = |n: &str| (n == "who").then(|| "王五".to_string());
    assert_eq!(refs::fill(&age.label_zh, answer), "王五 的年龄");
    assert_eq!(
        refs::fill(&t.field("end").unwrap().label_zh, answer),
        "谢谢 王五， 岁"
    );
}

#[test]
fn a_reference_to_a_missing_field_names_the_row_column_and_name() {
    // The same files pyxform refuses with "[row : N] … Could not find the
    // name 'missing'", in every column it checks.
    for (column, cell) in [
        ("label", "Age of ${missing}"),
        ("hint", "see ${missing}"),
        ("constraint_message::en", "bad ${missing}"),
        ("required_message", "${missing} needed"),
    ] {
        let survey = format!(
            "
type    | name | label | {column}
text    | who  | Name
integer | age  | Age   | {cell}
"
        );
        let (field, message) = invalid(import_one(&survey));
        assert_eq!(field, "xlsform.survey.row3", "{column}");
        assert!(message.contains("${missing}"), "{message}");
        assert!(message.contains(column), "{message}");
        assert!(message.contains("不是本表单的字段"), "{message}");
    }
    // A relevant referring to a missing field, too (with its row).
    let (field, message) = invalid(import_one(
        "
type | name | label | relevant
text | who  | Name  | ${nobody} = 'x'
",
    ));
    assert_eq!(field, "xlsform.survey.row2");
    assert!(message.contains("${nobody}"), "{message}");
}

#[test]
fn references_to_rows_not_imported_groups_or_malformed_ones_are_refused() {
    // `start` is metadata: Gridwork records it itself, no field holds it.
    let (field, message) = invalid(import_one(
        "
type  | name  | label
start | start |
text  | who   | Started ${start}
",
    ));
    assert_eq!(field, "xlsform.survey.row3");
    assert!(
        message.contains("refers to a row that is not imported"),
        "{message}"
    );
    let (_, message) = invalid(import_one(
        "
type        | name | label
begin group | g    | G
text        | who  | In ${g}
end group
",
    ));
    assert!(message.contains("${g}"), "{message}");
    let (field, message) = invalid(import_one(
        "
type | name | label
text | who  | Name ${who name}
",
    ));
    assert_eq!(field, "xlsform.survey.row2");
    assert!(message.contains("malformed"), "{message}");
}

#[test]
fn a_choice_label_reference_is_checked_too() {
    let (field, message) = invalid(import(&[
        (
            "survey",
            "
type          | name | label
text          | who  | Name
select_one yn | ok   | OK?
",
        ),
        (
            "choices",
            "
list_name | name | label
yn        | yes  | ${who} agrees
yn        | no   | ${nobody} agrees
",
        ),
        ("settings", SETTINGS_V1),
    ]));
    assert_eq!(field, "template.refs.v1.ok.choices");
    assert!(message.contains("${nobody}"), "{message}");
}

#[test]
fn json_templates_from_staff_are_checked_but_synced_ones_load_as_published() {
    let mut value =
        serde_json::to_value(crate::forms::find("visit-checklist", None).unwrap()).unwrap();
    value["fields"][0]["label_zh"] = "检查 ${nobody}".into();
    let text = value.to_string();
    let err = Template::from_json(&text).unwrap_err().to_string();
    assert!(err.contains("${nobody}") && err.contains(".label"), "{err}");
    assert!(Template::from_synced_json(&text).is_ok());
}

#[test]
fn date_and_time_cells_are_iso_text_in_labels() {
    let t = import_one(
        "
type | name | label
text | d    | date:2025-01-02
text | t    | time:08:00
",
    )
    .unwrap()
    .template;
    assert_eq!(t.field("d").unwrap().label_zh, "2025-01-02");
    assert_eq!(t.field("t").unwrap().label_zh, "08:00");
}

#[test]
fn a_date_where_a_date_makes_no_sense_is_refused() {
    // A version typed as 2024-11-30 became a date (serial 45626).
    let (field, message) = invalid(import(&[
        ("survey", "type | name | label\ntext | who | Name"),
        ("settings", "form_id | version\nrefs | date:2024-11-30"),
    ]));
    assert_eq!(field, "xlsform.settings.version");
    assert!(message.contains("date or time"), "{message}");
    // A choice named 2026-01-01 (serial 46023).
    let (field, message) = invalid(import(&[
        ("survey", "type | name | label\nselect_one d | day | Day"),
        (
            "choices",
            "list_name | name | label\nd | date:2026-01-01 | New year",
        ),
        ("settings", SETTINGS_V1),
    ]));
    assert_eq!(field, "xlsform.choices.row2");
    assert!(message.contains("name"), "{message}");
    // A field named 08:00.
    let (field, _) = invalid(import_one("type | name | label\ntext | time:08:00 | Time"));
    assert_eq!(field, "xlsform.survey.row2");
}

#[test]
fn acknowledge_is_refused_as_unsupported_not_read_as_yes_no() {
    let survey = "
type        | name  | label
text        | who   | Name
acknowledge | agree | I agree
";
    let (field, message) = invalid(import_one(survey));
    assert_eq!(field, "xlsform.survey");
    assert!(
        message.contains("'agree'") && message.contains("acknowledge"),
        "{message}"
    );
    assert!(message.contains("OK"), "{message}");
    let imported = import_xlsx(
        &xlsx(&[("survey", survey), ("settings", SETTINGS_V1)]),
        &ImportOptions {
            allow_unsupported: true,
            category: None,
        },
    )
    .unwrap();
    assert!(imported.template.field("agree").is_none());
    assert_eq!(imported.skipped.len(), 1);
    assert_eq!(
        (imported.skipped[0].row, imported.skipped[0].name.as_str()),
        (3, "agree")
    );
}

#[test]
fn a_zip_bomb_or_too_many_rows_is_refused_with_the_limit() {
    match import_xlsx(
        &crate::spreadsheet::tests::zip_bomb(),
        &ImportOptions::default(),
    ) {
        Err(Error::TooLarge { field, limit, .. }) => {
            assert_eq!((field.as_str(), limit), ("xlsform", 64 * 1024 * 1024));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("survey").unwrap();
    sheet.write_string(0, 0, "type").unwrap();
    sheet.write_string(60_000, 0, "text").unwrap();
    let settings = book.add_worksheet();
    settings.set_name("settings").unwrap();
    settings.write_string(0, 0, "form_id").unwrap();
    settings.write_string(1, 0, "big").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    match import_xlsx(&bytes, &ImportOptions::default()) {
        Err(Error::TooLarge { field, limit, .. }) => {
            assert_eq!((field.as_str(), limit), ("xlsform.survey", 50_000));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

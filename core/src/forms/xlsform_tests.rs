//! XLSForm import: workbooks built in memory with rust_xlsxwriter, covering
//! every supported type, groups, labels, the round trip to answer
//! validation, and each way an import is refused or rows are skipped.

use super::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A workbook from `(sheet, table)` pairs. A table is one line per row and
/// `|` between cells (trimmed); a blank line is a blank row. A cell written
/// `num:3.0` is stored as a number, `bool:true` as a boolean,
/// `date:2024-11-30` and `time:08:00` as date- and time-formatted cells.
fn xlsx(sheets: &[(&str, &str)]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    for (name, table) in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(*name).unwrap();
        for (r, line) in table.trim().lines().enumerate() {
            for (c, cell) in line.split('|').map(str::trim).enumerate() {
                let (r, c) = (r as u32, c as u16);
                if let Some(n) = cell.strip_prefix("num:") {
                    sheet.write_number(r, c, n.parse::<f64>().unwrap()).unwrap();
                } else if let Some(b) = cell.strip_prefix("bool:") {
                    sheet.write_boolean(r, c, b == "true").unwrap();
                } else if let Some(d) = cell.strip_prefix("date:") {
                    // What Excel makes of a typed 2024-11-30: a date cell.
                    let d = rust_xlsxwriter::ExcelDateTime::parse_from_str(d).unwrap();
                    let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
                    sheet.write_datetime_with_format(r, c, &d, &format).unwrap();
                } else if let Some(t) = cell.strip_prefix("time:") {
                    let t = rust_xlsxwriter::ExcelDateTime::parse_from_str(t).unwrap();
                    let format = rust_xlsxwriter::Format::new().set_num_format("hh:mm");
                    sheet.write_datetime_with_format(r, c, &t, &format).unwrap();
                } else if !cell.is_empty() {
                    sheet.write_string(r, c, cell).unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

const SETTINGS: &str = "
form_id          | version | form_title::zh | form_title::en | category
duty-elder-care  | num:2024112901 | 关爱老人 | Elder care  | duty
";

const CHOICES: &str = "
list_name | name    | label::zh | label::en
yn        | yes     | 是        | Yes
yn        | no      | 否        | No

needs     | meal    | 助餐      | Meals
needs     | clean   | 保洁      | Cleaning
needs     | num:3   | 其他      | Other
";

/// Every supported type, two groups (one with `relevant`), zh/en labels,
/// constraints with messages, an ignored `hint` and an empty `appearance`.
const SURVEY: &str = "
type                | name        | label::zh  | label::en      | hint     | required | relevant          | constraint               | constraint_message::zh | constraint_message::en | appearance
begin group         | household   | 住户情况   | Household
text                | resident    | 住户姓名   | Resident name  | 填全名   | yes
integer             | people      | 人数       | People         |          | true()   |                   | . >= 1 and . <= 20       | 人数应在1到20之间      | Between 1 and 20
decimal             | area        | 面积       | Area           |          | no
date                | visit_date  | 日期       | Date           |          | bool:true |                  | . <= today()             | 日期不能晚于今天       | Not after today
time                | visit_time  | 时间       | Time
select_one yn       | alone       | 独居       | Lives alone    |          | num:1
select_multiple needs | needs     | 需求       | Needs          |          |          | ${alone} = 'yes'  | count-selected(.) <= 2
end group
begin_group         | checks      | 检查       | Checks         |          |          | ${people} > 0
note                | intro       | 请拍照     | Take a photo
image               | photo       | 照片       | Photo
geopoint            | where       | 位置       | Location
yes_no              | confirmed   | 已确认     | Confirmed
yes_no              | fire_ok     | 消防通道畅通 | Fire passages clear |  |          | ${alone} = 'yes'
checklist_item      | sanitation  | 环境卫生   | Sanitation
photo               | photo2      | 照片二     | Photo 2
location            | where2      | 位置二     | Location 2
end_group
";

fn options(allow_unsupported: bool) -> ImportOptions {
    ImportOptions {
        allow_unsupported,
        category: None,
    }
}

fn import(sheets: &[(&str, &str)]) -> Result<XlsImport> {
    import_xlsx(&xlsx(sheets), &ImportOptions::default())
}

/// A survey with the standard settings and choices sheets.
fn import_survey(survey: &str, allow_unsupported: bool) -> Result<XlsImport> {
    import_xlsx(
        &xlsx(&[
            ("survey", survey),
            ("choices", CHOICES),
            ("settings", SETTINGS),
        ]),
        &options(allow_unsupported),
    )
}

/// The `(field, message)` of a validation error.
fn invalid<T: std::fmt::Debug>(result: Result<T>) -> (String, String) {
    match result {
        Err(Error::Validation { field, message }) => (field, message),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn full() -> Template {
    let imported = import_survey(SURVEY, false).unwrap();
    assert_eq!(imported.skipped, vec![]);
    imported.template
}

#[test]
fn imports_every_supported_type_with_groups_and_labels() {
    let t = full();
    assert_eq!(t.id, "duty-elder-care");
    assert_eq!(t.version, 2024112901);
    assert_eq!(
        (t.title_zh.as_str(), t.title_en.as_str()),
        ("关爱老人", "Elder care")
    );
    assert_eq!(t.category, TemplateCategory::Duty);
    // `id:type@section` of every field, in order.
    let layout: Vec<String> = t
        .fields
        .iter()
        .map(|f| {
            format!(
                "{}:{}@{}",
                f.id,
                json!(f.field_type).as_str().unwrap(),
                f.section
            )
        })
        .collect();
    assert_eq!(
        layout.join(" "),
        "resident:text@household people:integer@household area:decimal@household \
         visit_date:date@household visit_time:time@household alone:select_one@household \
         needs:select_multiple@household intro:note@checks photo:photo@checks \
         where:location@checks confirmed:yes_no@checks fire_ok:yes_no@checks \
         sanitation:checklist_item@checks photo2:photo@checks where2:location@checks"
    );
    let sections: Vec<(&str, &str, &str)> = t
        .sections
        .iter()
        .map(|s| (s.id.as_str(), s.title_zh.as_str(), s.title_en.as_str()))
        .collect();
    assert_eq!(
        sections,
        [
            ("household", "住户情况", "Household"),
            ("checks", "检查", "Checks")
        ]
    );
    let f = |id: &str| t.field(id).unwrap();
    assert_eq!(f("resident").label(), "住户姓名 / Resident name");
    let required: Vec<&str> = t
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(required, ["resident", "people", "visit_date", "alone"]);
    assert_eq!(
        f("people").constraint.as_deref(),
        Some(". >= 1 and . <= 20")
    );
    assert_eq!(
        f("people").constraint_message.as_deref(),
        Some("人数应在1到20之间 / Between 1 and 20")
    );
    assert_eq!(f("needs").constraint_message, None);
    // A group's relevant is and-ed into each of its fields.
    assert_eq!(f("needs").relevant.as_deref(), Some("${alone} = 'yes'"));
    assert_eq!(f("photo").relevant.as_deref(), Some("${people} > 0"));
    assert_eq!(
        f("fire_ok").relevant.as_deref(),
        Some("(${people} > 0) and (${alone} = 'yes')")
    );
    assert_eq!(f("resident").relevant, None);
    let yn: Vec<(&str, &str, &str)> = f("alone")
        .choices
        .iter()
        .map(|c| (c.value.as_str(), c.label_zh.as_str(), c.label_en.as_str()))
        .collect();
    assert_eq!(yn, [("yes", "是", "Yes"), ("no", "否", "No")]);
    // A numeric choice name is text.
    let needs: Vec<&str> = f("needs")
        .choices
        .iter()
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(needs, ["meal", "clean", "3"]);
    // The result is a normal template: it round-trips through its JSON.
    let text = serde_json::to_string(&t).unwrap();
    assert_eq!(Template::from_json(&text).unwrap(), t);
}

fn good_answers() -> BTreeMap<String, Value> {
    [
        ("resident", json!("张三")),
        ("people", json!(3)),
        ("area", json!(55.5)),
        ("visit_date", json!("2026-11-01")),
        ("visit_time", json!("09:30")),
        ("alone", json!("yes")),
        ("needs", json!(["meal", "3"])),
        ("photo", json!("a".repeat(64))),
        ("where", json!({"lat": 31.2, "lon": 121.5, "accuracy_m": 8})),
        ("confirmed", json!(true)),
        ("fire_ok", json!(false)),
        ("sanitation", json!("problem")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// `field: message` of every failing answer.
fn form_errors(t: &Template, answers: &BTreeMap<String, Value>) -> Vec<String> {
    match t.validate_answers_on(answers, "2026-11-29") {
        Err(Error::FormInvalid { template, errors }) => {
            assert_eq!(template, "duty-elder-care v2024112901");
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect()
        }
        other => panic!("expected FormInvalid, got {other:?}"),
    }
}

#[test]
fn imported_template_validates_answers() {
    let t = full();
    t.validate_answers_on(&good_answers(), "2026-11-29")
        .unwrap();
    let mut bad = good_answers();
    bad.insert("alone".into(), json!("no")); // hides needs and fire_ok
    bad.insert("people".into(), json!(25));
    bad.remove("resident");
    bad.insert("visit_date".into(), json!("2026-12-01"));
    const HIDDEN: &str = "此字段当前不适用，应留空 / not relevant here, leave it empty";
    assert_eq!(
        form_errors(&t, &bad),
        [
            "answers.resident: 必填 / required".to_string(),
            "answers.people: 人数应在1到20之间 / Between 1 and 20".into(),
            "answers.visit_date: 日期不能晚于今天 / Not after today".into(),
            format!("answers.needs: {HIDDEN}"),
            format!("answers.fire_ok: {HIDDEN}"),
        ]
    );
    // The checks group's relevant hides its fields: with people = 0 (which
    // also fails the constraint) their answers are rejected.
    let mut hidden = good_answers();
    hidden.insert("people".into(), json!(0));
    let fields: Vec<String> = form_errors(&t, &hidden)
        .into_iter()
        .map(|e| e.split(':').next().unwrap().to_string())
        .collect();
    assert_eq!(
        fields.join(" "),
        "answers.people answers.photo answers.where answers.confirmed answers.fire_ok \
         answers.sanitation"
    );
}

const UNSUPPORTED: &str = "
type          | name     | label     | calculation | default
text          | resident | 姓名      |             | 无名
calculate     | total    |           | 1 + 1
barcode       | code     | 条码
begin repeat  | members  | 成员
text          | member   | 成员姓名
begin group   | inner    | 内部
integer       | age      | 年龄
end group
end repeat
select_one yn or_other | choice | 选择
integer       | count    | 数量
select_one_from_file streets.csv | street | 街道
";

#[test]
fn unsupported_rows_fail_by_default_listing_every_row() {
    let (field, message) = invalid(import_survey(UNSUPPORTED, false));
    assert_eq!(field, "xlsform.survey");
    for part in [
        "row 2 'resident': 不支持列 'default'，已忽略 / column 'default' is not supported (ignored)",
        "row 3 'total': 类型 'calculate' 不受支持 / type 'calculate' is not supported",
        "row 4 'code': 类型 'barcode' 不受支持 / type 'barcode' is not supported",
        "row 5 'members': 类型 'begin repeat' 不受支持 / type 'begin repeat' is not supported",
        "row 6 'member': 位于重复组 'members' 中",
        "row 7 'inner': 位于重复组 'members' 中",
        "row 8 'age': 位于重复组 'members' 中",
        "row 11 'choice': 类型 'select_one yn or_other' 不受支持",
        "row 13 'street': 类型 'select_one_from_file streets.csv' 不受支持",
    ] {
        assert!(message.contains(part), "{part} not in {message}");
    }
    assert!(!message.contains("row 12"), "{message}");
}

#[test]
fn allow_unsupported_lists_skipped_rows() {
    let imported = import_survey(UNSUPPORTED, true).unwrap();
    let ids: Vec<&str> = imported
        .template
        .fields
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    // A row with only an unsupported column is imported without it.
    assert_eq!(ids, ["resident", "count"]);
    let rows: Vec<String> = imported
        .skipped
        .iter()
        .map(|s| format!("{} {}", s.row, s.name))
        .collect();
    assert_eq!(
        rows.join(", "),
        "2 resident, 3 total, 4 code, 5 members, 6 member, 7 inner, 8 age, 11 choice, 13 street"
    );
    assert!(imported.skipped.iter().all(|s| s.sheet == "survey"));
    assert_eq!(
        imported.skipped[1].reason,
        "类型 'calculate' 不受支持 / type 'calculate' is not supported"
    );
    // The report serialises for the CLI's `{"template": …, "skipped": […]}`.
    let text = serde_json::to_value(&imported).unwrap();
    assert_eq!(text["skipped"][0]["row"], 2);
}

#[test]
fn every_listed_column_is_reported_when_set() {
    let columns = "calculation repeat_count choice_filter default read_only trigger appearance";
    for column in columns.split(' ').chain(["label::fr"]) {
        let survey = format!("type | name | label | {column}\ntext | a | 甲 | x\ntext | b | 乙 |");
        let (field, message) = invalid(import_survey(&survey, false));
        assert_eq!(field, "xlsform.survey");
        assert!(
            message.contains(&format!("row 2 'a': 不支持列 '{column}'"))
                && message.contains(&format!("column '{column}' is not supported"))
                && !message.contains("row 3"),
            "{message}"
        );
    }
}

#[test]
fn metadata_rows_are_skipped_without_failing() {
    let survey = "
type     | name      | label
start    | started
end      | ended
today    | day
deviceid | device
username | user
audit    | audit
text     | resident  | 姓名
";
    let imported = import_survey(survey, false).unwrap();
    assert_eq!(imported.template.fields.len(), 1);
    assert_eq!(imported.skipped.len(), 6);
    for s in &imported.skipped {
        assert_eq!(
            s.reason,
            "由系统自动记录 / metadata captured automatically by Gridwork"
        );
    }
    assert_eq!((imported.skipped[0].row, imported.skipped[5].row), (2, 7));
    assert_eq!(imported.skipped[5].name, "audit");
}

#[test]
fn missing_settings_or_form_id_is_named() {
    let survey = "type | name | label\ntext | a | 甲";
    let (field, message) = invalid(import(&[("survey", survey)]));
    assert_eq!(field, "xlsform.settings");
    assert!(message.contains("form_id"), "{message}");
    let (field, _) = invalid(import(&[
        ("survey", survey),
        ("settings", "form_title | version\n标题 | 2"),
    ]));
    assert_eq!(field, "xlsform.settings.form_id");
    let (field, message) = invalid(import(&[
        ("survey", survey),
        ("settings", "form_id\nElder Care"),
    ]));
    assert_eq!(field, "xlsform.settings.form_id");
    assert!(message.contains("'Elder Care'"), "{message}");
    let (field, _) = invalid(import(&[("settings", "form_id\nok")]));
    assert_eq!(field, "xlsform.survey");
}

#[test]
fn settings_defaults_version_title_and_category() {
    let survey = "type | name | label\ntext | a | 甲";
    let t = import(&[("survey", survey), ("settings", "form_id\nmy-form")])
        .unwrap()
        .template;
    assert_eq!((t.version, t.title_zh.as_str()), (1, "my-form"));
    assert_eq!(t.category, TemplateCategory::Duty);
    let settings = "form_id | form_title | category\nhz | 隐患 | hazard";
    let t = import(&[("survey", survey), ("settings", settings)])
        .unwrap()
        .template;
    assert_eq!(
        (t.title_zh.as_str(), t.category),
        ("隐患", TemplateCategory::Hazard)
    );
    let overridden = import_xlsx(
        &xlsx(&[("survey", survey), ("settings", settings)]),
        &ImportOptions {
            allow_unsupported: false,
            category: Some(TemplateCategory::VisitChecklist),
        },
    )
    .unwrap();
    assert_eq!(
        overridden.template.category,
        TemplateCategory::VisitChecklist
    );
    let (field, _) = invalid(import(&[
        ("survey", survey),
        ("settings", "form_id | category\nx | other"),
    ]));
    assert_eq!(field, "xlsform.settings.category");
}

#[test]
fn version_cells_may_be_numbers_or_text() {
    let survey = "type | name | label\ntext | a | 甲";
    let version = |cell: &str| {
        import(&[
            ("survey", survey),
            ("settings", &format!("form_id | version\nf | {cell}")),
        ])
        .map(|i| i.template.version)
    };
    assert_eq!(version("num:3.0").unwrap(), 3);
    assert_eq!(version("num:2024112901").unwrap(), 2024112901);
    assert_eq!(version("2024112901").unwrap(), 2024112901);
    for bad in ["num:3.5", "num:0", "num:-2", "v2", "num:5000000000"] {
        let (field, _) = invalid(version(bad));
        assert_eq!(field, "xlsform.settings.version", "{bad}");
    }
}

#[test]
fn select_with_unknown_list_names_the_row() {
    let survey = "type | name | label\ntext | a | 甲\nselect_one colours | b | 乙";
    let (field, message) = invalid(import_survey(survey, false));
    assert_eq!(field, "xlsform.survey.row3");
    assert!(
        message.contains("list 'colours' is not in the choices sheet"),
        "{message}"
    );
    // No choices sheet at all.
    let (field, message) = invalid(import(&[("survey", survey), ("settings", SETTINGS)]));
    assert_eq!(field, "xlsform.survey.row3");
    assert!(message.contains("no choices sheet"), "{message}");
    let (field, _) = invalid(import_survey(
        "type | name | label\nselect_one | b | 乙",
        false,
    ));
    assert_eq!(field, "xlsform.survey.row2");
}

#[test]
fn duplicate_choice_names_are_rejected() {
    let choices = "list name | value | label\nyn | yes | 是\nyn | no | 否\nyn | yes | 是的";
    let survey = "type | name | label\nselect_one yn | a | 甲";
    let (field, message) = invalid(import(&[
        ("survey", survey),
        ("choices", choices),
        ("settings", SETTINGS),
    ]));
    assert_eq!(field, "xlsform.choices.row4");
    assert!(
        message.contains("choice 'yes' is repeated in list 'yn'"),
        "{message}"
    );
}

#[test]
fn bad_required_value_names_sheet_and_row() {
    let survey = "type | name | label | required\ntext | a | 甲 | yes\ntext | b | 乙 | ${a} = 'x'";
    let (field, message) = invalid(import_survey(survey, false));
    assert_eq!(field, "xlsform.survey.row3");
    assert!(message.contains("required must be yes or no"), "{message}");
}

#[test]
fn expression_parse_error_names_the_field_and_position() {
    let survey =
        "type | name | label | relevant\ninteger | age | 年龄\ntext | why | 原因 | ${age} >";
    let (field, message) = invalid(import_survey(survey, false));
    assert_eq!(field, "template.duty-elder-care.v2024112901.why.relevant");
    assert!(message.contains("at 8"), "{message}");
    // Inside a group with its own relevant, the position is still the cell's.
    let survey = "type | name | label | relevant\ninteger | age | 年龄\nbegin group | g | 组 | ${age} > 1\ntext | why | 原因 | ${age} >\nend group";
    let (field, message) = invalid(import_survey(survey, false));
    assert_eq!(field, "template.duty-elder-care.v2024112901.why.relevant");
    assert!(message.contains("at 8"), "{message}");
    // A group's own expression is named by its row.
    let survey =
        "type | name | label | relevant\nbegin group | g | 组 | (1\ntext | a | 甲\nend group";
    let (field, message) = invalid(import_survey(survey, false));
    assert_eq!(field, "xlsform.survey.row2.relevant");
    assert!(message.contains("at 2"), "{message}");
    // Unknown functions and fields are reported by the template check.
    let survey = "type | name | label | constraint\ninteger | a | 甲 | regex(., '[0-9]')";
    let (field, message) = invalid(import_survey(survey, false));
    assert_eq!(field, "template.duty-elder-care.v2024112901.a.constraint");
    assert!(
        message.contains("at 0") && message.contains("regex"),
        "{message}"
    );
}

#[test]
fn label_columns_accept_language_spellings() {
    for (zh, en) in [
        ("label::zh", "label::en"),
        ("label::zh-CN", "label::English (en)"),
        ("label::Chinese (zh)", "label"),
        ("label::中文", "label::english"),
        ("label", "label::en"),
    ] {
        let survey = format!("type | name | {zh} | {en}\ntext | a | 甲 | A");
        let field = import_survey(&survey, false).unwrap().template.fields[0].clone();
        assert_eq!(
            (field.label_zh.as_str(), field.label_en.as_str()),
            ("甲", "A"),
            "{zh} {en}"
        );
    }
    // English only: it becomes the (required) zh-CN label.
    let field = import_survey("type | name | label::en\ntext | a | A", false)
        .unwrap()
        .template
        .fields[0]
        .clone();
    assert_eq!(
        (field.label_zh.as_str(), field.label_en.as_str()),
        ("A", "")
    );
    let (field, _) = invalid(import_survey("type | name | label\ntext | a |", false));
    assert_eq!(field, "xlsform.survey.row2");
}

#[test]
fn structure_errors_name_the_row() {
    // Rows after a `type | name | label` header, and the error's field.
    let cases = [
        ("text | a-b | 甲", "xlsform.survey.row2"),
        ("text | a | 甲\ntext | a | 乙", "xlsform.survey.row3"),
        ("text | a | 甲\nend group", "xlsform.survey.row3"),
        ("begin group | g | 组\ntext | a | 甲", "xlsform.survey.row2"),
        ("| a | 甲", "xlsform.survey.row2"),
    ];
    for (rows, want) in cases {
        let (field, message) = invalid(import_survey(
            &format!("type | name | label\n{rows}"),
            false,
        ));
        assert_eq!(field, want, "{rows}: {message}");
    }
    for survey in [
        "name | label\na | 甲",
        "type | name | label | label::zh | label::中文\ntext | a | A | 甲 | 甲",
    ] {
        assert_eq!(invalid(import_survey(survey, false)).0, "xlsform.survey");
    }
    // Blank rows are ignored, and row numbers count them.
    let survey = "type | name | label\n\ntext | a | 甲\n\ncalculate | c |";
    let (_, message) = invalid(import_survey(survey, false));
    assert!(message.contains("row 5 'c'"), "{message}");
}

#[test]
fn not_an_xlsx_is_rejected() {
    for bytes in [
        &b""[..],
        b"type,name,label\ntext,a,A\n",
        b"PK\x03\x04 truncated zip",
    ] {
        let (field, message) = invalid(import_xlsx(bytes, &ImportOptions::default()));
        assert_eq!(field, "xlsform");
        assert_eq!(message, "不是有效的 xlsx 文件 / not a readable .xlsx file");
    }
}

#[test]
fn import_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("form.xlsx");
    std::fs::write(
        &path,
        xlsx(&[
            ("survey", SURVEY),
            ("choices", CHOICES),
            ("settings", SETTINGS),
        ]),
    )
    .unwrap();
    let imported = import_xlsx_file(&path, &ImportOptions::default()).unwrap();
    assert_eq!(imported.template, full());
    assert!(matches!(
        import_xlsx_file(&dir.path().join("missing.xlsx"), &ImportOptions::default()),
        Err(Error::Io(_))
    ));
}

/// Cells read by their type, `${field}` references, `acknowledge`, limits.
#[path = "xlsform_reading_tests.rs"]
mod reading;

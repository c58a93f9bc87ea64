//! Exports and the register import: CSV bytes (BOM, CRLF, quoting, formula
//! guard), header matching, XLSX cells read back with calamine, grouping of
//! rows into households, row errors with their row numbers, all-or-nothing,
//! idempotent re-import, and one row per record in every export.

use super::import::{col, find_register, match_columns, read_sheets, SheetRow};
use super::*;
use crate::clock::ManualClock;
use crate::model::*;
use crate::{Store, StoreOptions};
use std::sync::Arc;
use tempfile::TempDir;

/// A store of gw-001 on G-001 at 2026-03-10 10:00 local (shared by the
/// exchange test modules).
pub(super) fn store(dir: &TempDir, name: &str) -> Store {
    let at: jiff::Timestamp = "2026-03-10T02:00:00Z".parse().unwrap();
    let store = Store::open_with(
        dir.path().join(name),
        StoreOptions {
            clock: Some(Arc::new(ManualClock::new(Timestamp::from_jiff(at)))),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.init("gw-001", "张三", "G-001").unwrap();
    store
}

/// Two households: one with a moved-out resident, one without residents and moved out.
fn sample(store: &Store) -> (Household, Household) {
    let a = store
        .add_household(NewHousehold {
            community: "幸福里".into(),
            building: "3".into(),
            unit: "2".into(),
            room: "0501".into(),
            address: "幸福里3号楼2单元0501室".into(),
            representative: "李四".into(),
            phone: "021-62345678".into(),
            tags: vec!["低保".into(), "floating".into()],
            risk: "yellow".into(),
            note: String::new(),
        })
        .unwrap();
    store
        .add_resident(
            a.id,
            NewResident {
                name: "王五".into(),
                id_number: "11010519491231002X".into(),
                phone: "13800138000".into(),
                relation: "户主".into(),
                tags: vec!["disabled".into()],
                ..NewResident::default()
            },
        )
        .unwrap();
    let child = store
        .add_resident(
            a.id,
            NewResident {
                name: "王小五".into(),
                gender: "male".into(),
                birth_date: "2015-06-01".into(),
                relation: "子女".into(),
                ..NewResident::default()
            },
        )
        .unwrap();
    let a = store
        .edit_resident(
            a.id,
            child.id,
            ResidentEdit {
                moved_out: Some(true),
                ..ResidentEdit::default()
            },
        )
        .unwrap();
    let b = store
        .add_household(NewHousehold {
            address: "和平苑1号楼101室".into(),
            ..NewHousehold::default()
        })
        .unwrap();
    let b = store
        .edit_household(
            b.id,
            HouseholdEdit {
                status: Some("moved_out".into()),
                ..HouseholdEdit::default()
            },
        )
        .unwrap();
    (a, b)
}

/// A household without ids, times and grid, to compare across stores.
fn comparable(mut h: Household) -> serde_json::Value {
    h.residents.iter_mut().for_each(|r| {
        r.id = ResidentId(uuid::Uuid::nil());
        r.created_at = Timestamp(0);
    });
    let mut v = serde_json::to_value(&h).unwrap();
    for key in ["id", "grid", "created_at"] {
        v.as_object_mut().unwrap().remove(key);
    }
    v
}

fn csv_text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A register CSV from lines with `|` between cells (BOM-less, LF).
fn register_csv(lines: &[&str]) -> Vec<u8> {
    lines
        .iter()
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>().join(","))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

/// The rows of a file's first sheet, header included.
fn read_rows(bytes: &[u8], format: ExportFormat) -> Vec<SheetRow> {
    read_sheets(bytes, format).unwrap().remove(0)
}

fn texts(row: &SheetRow) -> Vec<String> {
    row.cells.iter().map(|c| c.clone().unwrap()).collect()
}

#[test]
fn column_indices_match_the_register_columns() {
    assert_eq!(REGISTER_COLUMNS.len(), col::COUNT);
    for (i, key) in [
        (col::HOUSEHOLD_ID, "household_id"),
        (col::ADDRESS, "address"),
        (col::PHONE, "phone"),
        (col::STATUS, "status"),
        (col::RESIDENT_ID, "resident_id"),
        (col::NAME, "name"),
        (col::ID_NUMBER, "id_number"),
        (col::RESIDENT_PHONE, "resident_phone"),
        (col::MOVED_OUT, "moved_out"),
    ] {
        assert_eq!(REGISTER_COLUMNS[i].key, key);
    }
}

const TEST_COLUMNS: &[Column] = &[
    Column::new("text", "文本", ColumnKind::Text, 10.0),
    Column::new("code", "编码", ColumnKind::Verbatim, 10.0),
    Column::new("count", "数量", ColumnKind::Number, 10.0),
];

#[test]
fn csv_has_bom_crlf_rfc4180_quoting_and_a_formula_guard() {
    let table = Table {
        sheet: "测试 Test",
        columns: TEST_COLUMNS,
        rows: vec![
            vec![
                Cell::text("a,b"),
                Cell::text("say \"hi\""),
                Cell::Number(3.0),
            ],
            vec![
                Cell::text("line1\nline2"),
                Cell::text("=1+1"),
                Cell::Number(2.5),
            ],
            vec![Cell::text("-5"), Cell::Empty, Cell::Number(-1.0)],
        ],
    };
    let bytes = table.to_bytes(ExportFormat::Csv).unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte-order mark");
    assert_eq!(
        &csv_text(&bytes[3..]),
        "文本 / text,编码 / code,数量 / count\r\n\
         \"a,b\",\"say \"\"hi\"\"\",3\r\n\
         \"line1\nline2\",'=1+1,2.5\r\n\
         '-5,,-1\r\n"
    );
    // Read back: values as written, the guard removed, Excel row numbers
    // (a line break inside quotes stays in one row).
    let rows = read_rows(&bytes, ExportFormat::Csv);
    assert_eq!(
        texts(&rows[0]),
        ["文本 / text", "编码 / code", "数量 / count"]
    );
    assert_eq!(rows[0].number, 1);
    let rows: Vec<(u32, Vec<String>)> = rows[1..].iter().map(|r| (r.number, texts(r))).collect();
    assert_eq!(
        rows,
        vec![
            (2, vec!["a,b".into(), "say \"hi\"".into(), "3".into()]),
            (3, vec!["line1\nline2".into(), "=1+1".into(), "2.5".into()]),
            (4, vec!["-5".into(), "".into(), "-1".into()]),
        ]
    );
}

#[test]
fn csv_row_numbers_follow_excel_rows() {
    // CRLF, a blank line, a line break inside quotes, LF and a lone CR.
    let text = "地址\r\nA\r\n\r\n\"B\r\nb\"\r\nC\n\nD\rE";
    let rows = read_rows(text.as_bytes(), ExportFormat::Csv);
    let numbers: Vec<u32> = rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [1, 2, 4, 5, 7, 8]);
}

#[test]
fn csv_that_is_not_utf8_is_refused_as_a_whole() {
    // "地址" in GBK.
    let err = read_sheets(b"\xb5\xd8\xd6\xb7\r\nx\r\n", ExportFormat::Csv)
        .err()
        .unwrap();
    assert!(matches!(err, Error::Validation { ref field, .. } if field == "register"));
}

#[test]
fn headers_match_by_zh_or_en_part_in_any_order() {
    let headers: Vec<String> = [
        "PHONE",
        "姓名",
        "Birth Date",
        "地址 / address",
        "备注 / note",
        "身份证号码",
        "",
        "居民标签 / RESIDENT_TAGS",
    ]
    .map(String::from)
    .to_vec();
    let (found, ignored) = match_columns(&headers).unwrap();
    assert_eq!(found[col::PHONE], Some(0));
    assert_eq!(found[col::NAME], Some(1));
    assert_eq!(found[col::BIRTH_DATE], Some(2));
    assert_eq!(found[col::ADDRESS], Some(3));
    assert_eq!(found[col::ID_NUMBER], Some(5));
    assert_eq!(found[col::RESIDENT_TAGS], Some(7));
    assert_eq!(found[col::HOUSEHOLD_ID], None);
    assert_eq!(ignored, ["备注 / note"]);

    let twice = ["电话", "phone", "地址"].map(String::from).to_vec();
    assert!(match_columns(&twice).is_err());
    let no_address = ["姓名", "电话"].map(String::from).to_vec();
    assert!(match_columns(&no_address).is_err());
}

#[test]
fn xlsx_parses_back_with_calamine_and_keeps_ids_as_text() {
    use calamine::{Data, Reader, Xlsx};
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a.db");
    let (a, _) = sample(&s);
    let bytes = s
        .export(ExportKind::Households, ExportFormat::Xlsx)
        .unwrap();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(&bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["住户名册 Register"]);
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<&[Data]> = range.rows().collect();
    // Header + two residents of `a` + one row for the household without residents.
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[0][col::ID_NUMBER],
        Data::String("身份证号 / id_number".into())
    );
    let first = rows
        .iter()
        .find(|r| r[col::NAME] == Data::String("王五".into()))
        .unwrap();
    assert_eq!(
        first[col::ID_NUMBER],
        Data::String("11010519491231002X".into())
    );
    assert_eq!(
        first[col::RESIDENT_PHONE],
        Data::String("13800138000".into())
    );
    assert_eq!(first[col::PHONE], Data::String("021-62345678".into()));
    assert_eq!(first[col::ROOM], Data::String("0501".into()));
    assert_eq!(first[col::HOUSEHOLD_ID], Data::String(a.id.to_string()));
    assert_eq!(first[col::TAGS], Data::String("low_income;floating".into()));
    // The labels follow the codes, for people (the importer skips them).
    let label = |key: &str| {
        let at = REGISTER_EXPORT_COLUMNS
            .iter()
            .position(|c| c.key == key)
            .unwrap();
        first[at].clone()
    };
    assert_eq!(
        label("tags_label"),
        Data::String("低保对象；流动人口".into())
    );
    assert_eq!(label("status_label"), Data::String("在册".into()));
}

#[test]
fn register_reimport_is_unchanged_and_imports_into_a_fresh_store() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a.db");
    let (a, b) = sample(&s);
    for format in [ExportFormat::Xlsx, ExportFormat::Csv] {
        let bytes = s.export(ExportKind::Households, format).unwrap();
        // Same store: nothing changes, no document moves.
        let heads = s.doc_heads().unwrap();
        let report = s.import_register(&bytes, format).unwrap();
        assert!(report.stored && report.errors.is_empty(), "{report:?}");
        assert_eq!(report.rows, 3);
        assert_eq!(report.unchanged, 2, "{report:?}");
        assert_eq!(
            (
                report.households_created,
                report.households_updated,
                report.residents_created,
                report.residents_updated
            ),
            (0, 0, 0, 0)
        );
        assert!(report.renumbered.is_empty() && report.ignored_columns.is_empty());
        assert_eq!(s.doc_heads().unwrap(), heads);

        // A fresh store: everything created under new ids, values equal.
        let fresh = store(&dir, &format!("fresh-{}.db", format.code()));
        let report = fresh.import_register(&bytes, format).unwrap();
        assert!(report.stored, "{report:?}");
        assert_eq!(
            (report.households_created, report.residents_created),
            (2, 2)
        );
        assert_eq!(report.renumbered.len(), 4);
        for source in [&a, &b] {
            let source = s.household(source.id).unwrap();
            let new_id = report
                .renumbered
                .iter()
                .find(|r| r.kind == "household" && r.file_id == source.id.to_string())
                .unwrap()
                .id
                .parse()
                .unwrap();
            assert_ne!(new_id, source.id);
            let copy = fresh.household(new_id).unwrap();
            assert_eq!(comparable(copy), comparable(source));
        }
        assert!(fresh.check().unwrap().ok);
        // The same file again: its unknown ids are matched by address, ID
        // number and name to what the first import created; nothing moves.
        let heads = fresh.doc_heads().unwrap();
        let again = fresh.import_register(&bytes, format).unwrap();
        assert_eq!(
            (
                again.unchanged,
                again.households_created,
                again.residents_created
            ),
            (2, 0, 0),
            "{again:?}"
        );
        assert_eq!(again.renumbered, report.renumbered);
        assert_eq!(fresh.doc_heads().unwrap(), heads);
    }
}

#[test]
fn an_edited_cell_updates_that_household_in_one_change() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a.db");
    let (a, b) = sample(&s);
    let text = csv_text(&s.export(ExportKind::Households, ExportFormat::Csv).unwrap());
    let edited = text
        .replace("13800138000", "13900139000")
        .replace("户主", "本人");
    let heads = s.doc_heads().unwrap();
    let report = s
        .import_register(edited.as_bytes(), ExportFormat::Csv)
        .unwrap();
    assert!(report.stored);
    assert_eq!(
        (
            report.households_updated,
            report.residents_updated,
            report.unchanged
        ),
        (1, 1, 1)
    );
    let after = s.doc_heads().unwrap();
    let moved: Vec<&str> = after
        .iter()
        .zip(&heads)
        .filter(|(x, y)| x.heads != y.heads)
        .map(|(x, _)| x.id.as_str())
        .collect();
    assert_eq!(moved, [format!("household/{}", a.id)]);
    let a = s.household(a.id).unwrap();
    assert_eq!(a.residents[0].phone, "13900139000");
    assert_eq!(a.residents[0].relation, "本人");
    assert_eq!(s.household(b.id).unwrap().status, HouseholdStatus::MovedOut);
}

#[test]
fn rows_group_by_address_and_merged_household_cells() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a.db");
    // No household_id column; row 3 continues row 2's household (merged
    // cells); row 5 is the same address as row 2.
    let file = register_csv(&[
        "地址 | 户主 | 户标签 | 姓名 | 身份证号 | 性别 | 已迁出",
        "幸福里1号 | 李四 | 低保 | 李四 | 11010519491231002X | | ",
        " | | | 李小四 | | 男 | 是",
        "幸福里2号 | 赵六 | | | | | ",
        "幸福里1号 | | | 李大四 | | 女 | ",
    ]);
    let report = s.import_register(&file, ExportFormat::Csv).unwrap();
    assert!(report.stored, "{report:?}");
    assert_eq!(
        (report.households_created, report.residents_created),
        (2, 3)
    );
    let list = s.list_households().unwrap();
    assert_eq!(list.len(), 2);
    let one = list.iter().find(|h| h.address == "幸福里1号").unwrap();
    let one = s.household(one.id).unwrap();
    assert_eq!(one.representative, "李四");
    assert_eq!(one.tags, [SpecialGroup::LowIncome]);
    let names: Vec<&str> = one.residents.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["李四", "李小四", "李大四"]);
    // Birth date and gender come from the ID number when blank.
    assert_eq!(one.residents[0].birth_date, "1949-12-31");
    assert_eq!(one.residents[0].gender, Gender::Female);
    assert!(one.residents[1].moved_out);
    // A row with only the address joins the household of that address,
    // also when the family's other rows carry its household_id.
    let id = one.id.to_string();
    let mixed = format!("户编号,地址,姓名,性别\n{id},幸福里1号,李小四,男\n,幸福里1号,李新生,女\n");
    let report = s
        .import_register(mixed.as_bytes(), ExportFormat::Csv)
        .unwrap();
    assert!(report.stored, "{report:?}");
    assert_eq!(
        (
            report.households_updated,
            report.residents_created,
            report.households_created
        ),
        (1, 1, 0)
    );
    assert_eq!(s.household(one.id).unwrap().residents.len(), 4);
    // Without ids the same file matches by address, ID number and name.
    let heads = s.doc_heads().unwrap();
    let again = s.import_register(&file, ExportFormat::Csv).unwrap();
    assert_eq!(
        (
            again.unchanged,
            again.households_created,
            again.residents_created
        ),
        (2, 0, 0)
    );
    assert_eq!(s.doc_heads().unwrap(), heads);
}

#[test]
fn the_register_may_sit_below_a_title_row_on_a_later_sheet() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let notes = book.add_worksheet();
    notes.write_string(0, 0, "填表说明 / instructions").unwrap();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "幸福里社区住户名册").unwrap();
    for (c, h) in ["序号", "住址", "户主", "联系电话"].iter().enumerate() {
        sheet.write_string(2, c as u16, *h).unwrap();
    }
    sheet.write_number(3, 0, 1.0).unwrap();
    sheet.write_string(3, 1, "幸福里9号").unwrap();
    sheet.write_string(3, 2, "孙七").unwrap();
    sheet.write_number(3, 3, 13800138000.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let register = find_register(read_sheets(&bytes, ExportFormat::Xlsx).unwrap()).unwrap();
    assert_eq!(register.ignored, ["序号"]);
    assert_eq!(register.rows.len(), 1);
    assert_eq!(register.rows[0].number, 4);

    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a.db");
    let report = s.import_register(&bytes, ExportFormat::Xlsx).unwrap();
    assert!(report.stored, "{report:?}");
    let list = s.list_households().unwrap();
    assert_eq!(list.len(), 1);
    let h = s.household(list[0].id).unwrap();
    assert_eq!(
        (
            h.address.as_str(),
            h.representative.as_str(),
            h.phone.as_str()
        ),
        ("幸福里9号", "孙七", "13800138000")
    );

    let no_register = find_register(read_sheets(b"a,b\r\n1,2\r\n", ExportFormat::Csv).unwrap());
    assert!(matches!(no_register, Err(Error::Validation { .. })));
}

#[test]
fn invalid_rows_are_all_listed_and_nothing_is_stored() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a.db");
    let file = register_csv(&[
        "地址 / address | 电话 / phone | 姓名 / name | 身份证号 / id_number | 出生日期 / birth_date | 性别 / gender | 居民标签 / resident_tags | 备注",
        "幸福里1号 | 13800138000 | 张一 | 11010519491231002X | | | | 随便",
        "幸福里2号 | 999 | 张二 | | | | | ",
        "幸福里3号 | | 张三 | 110105194912310021 | | | vip | ",
        "幸福里4号 | | 张四 | 11010519491231002X | 1950-01-01 | male | | ",
        "幸福里5号 | | 张五 | | 1990-02-30 | | | ",
        " | | | | | | | ",
        "幸福里1号 | 13700137000 | | | | | | ",
    ]);
    let report = s.import_register(&file, ExportFormat::Csv).unwrap();
    assert!(!report.stored);
    assert_eq!(report.ignored_columns, ["备注"]);
    let found: Vec<(u32, &str)> = report
        .errors
        .iter()
        .map(|e| (e.row, e.column.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (2, "id_number"),
            (3, "phone"),
            (4, "id_number"),
            (4, "resident_tags"),
            (5, "gender"),
            (5, "birth_date"),
            (5, "id_number"),
            (6, "birth_date"),
            (8, "phone"),
        ]
    );
    for e in &report.errors {
        for value in [
            "999",
            "110105194912310021",
            "vip",
            "1990-02-30",
            "11010519491231002X",
        ] {
            assert!(!e.message.contains(value), "{e:?}");
        }
        assert!(e.message.contains(" / "), "zh / en: {e:?}");
    }
    let line = report.errors_line();
    assert!(
        line.contains("row 4 id_number") && !line.contains("110105"),
        "{line}"
    );
    // Nothing stored, not even the valid first row.
    assert!(s.list_households().unwrap().is_empty());
    assert!(s.doc_heads().unwrap().is_empty());
}

#[test]
fn stored_duplicate_id_numbers_do_not_block_a_reimport() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a.db");
    let (_, b) = sample(&s);
    // The API lets two residents share an ID number (a data error).
    s.add_resident(
        b.id,
        NewResident {
            name: "王五".into(),
            id_number: "11010519491231002X".into(),
            ..NewResident::default()
        },
    )
    .unwrap();
    let bytes = s.export(ExportKind::Households, ExportFormat::Csv).unwrap();
    let report = s.import_register(&bytes, ExportFormat::Csv).unwrap();
    assert!(report.stored && report.unchanged == 2, "{report:?}");
    // A fresh store would receive the duplicate: refused, both rows named.
    let fresh = store(&dir, "fresh.db");
    let report = fresh.import_register(&bytes, ExportFormat::Csv).unwrap();
    assert!(!report.stored);
    let rows: Vec<(u32, &str)> = report
        .errors
        .iter()
        .map(|e| (e.row, e.column.as_str()))
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|(_, c)| *c == "id_number"));
}

#[test]
fn unknown_ids_are_renumbered_and_foreign_residents_refused() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a.db");
    let (a, b) = sample(&s);
    let stranger = HouseholdId::new();
    let resident_of_a = a.residents[0].id;
    let file = format!(
        "household_id,address,resident_id,name\n{stranger},新地址1号,,新人\n{},和平苑1号楼101室,{resident_of_a},王五\n",
        b.id
    );
    let report = s
        .import_register(file.as_bytes(), ExportFormat::Csv)
        .unwrap();
    assert!(!report.stored);
    assert_eq!(report.errors.len(), 1);
    assert_eq!(
        (report.errors[0].row, report.errors[0].column.as_str()),
        (3, "resident_id")
    );

    let file = format!("household_id,address,name\n{stranger},新地址1号,新人\n");
    let report = s
        .import_register(file.as_bytes(), ExportFormat::Csv)
        .unwrap();
    assert!(report.stored);
    assert_eq!(report.households_created, 1);
    assert_eq!(report.renumbered.len(), 1);
    assert_eq!(report.renumbered[0].file_id, stranger.to_string());
    let id: HouseholdId = report.renumbered[0].id.parse().unwrap();
    assert_eq!(s.household(id).unwrap().residents[0].name, "新人");
    assert!(s.household(stranger).is_err());
    // Again: the unknown id now maps to that household by its address.
    let again = s
        .import_register(file.as_bytes(), ExportFormat::Csv)
        .unwrap();
    assert_eq!((again.unchanged, again.households_created), (1, 0));
    assert_eq!(again.renumbered, report.renumbered);
}

#[test]
fn exports_have_one_row_per_record() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "demo.db");
    let summary = crate::demo::generate(
        &s,
        crate::demo::DemoOptions {
            households: 4,
            years: 1,
            seed: 7,
        },
        |_, _| {},
    )
    .unwrap();
    let visits = s.export_table(ExportKind::Visits).unwrap();
    let hazards = s.export_table(ExportKind::Hazards).unwrap();
    let cases = s.export_table(ExportKind::Cases).unwrap();
    assert_eq!(visits.rows.len(), s.list_visits(None).unwrap().len());
    assert_eq!(visits.rows.len(), summary.visits as usize);
    assert_eq!(hazards.rows.len(), s.list_hazards(false).unwrap().len());
    assert_eq!(cases.rows.len(), s.list_cases(false).unwrap().len());
    assert!(!visits.rows.is_empty());
    let register = s.export_table(ExportKind::Households).unwrap();
    let expected: usize = s
        .list_households()
        .unwrap()
        .iter()
        .map(|h| s.household(h.id).unwrap().residents.len().max(1))
        .sum();
    assert_eq!(register.rows.len(), expected);
    for table in [&visits, &hazards, &cases, &register] {
        assert!(table.rows.iter().all(|r| r.len() == table.columns.len()));
        for format in [ExportFormat::Xlsx, ExportFormat::Csv] {
            let rows = read_rows(&table.to_bytes(format).unwrap(), format);
            assert_eq!(
                rows.len(),
                table.rows.len() + 1,
                "{} {format:?}",
                table.sheet
            );
            assert_eq!(rows[0].cells.len(), table.columns.len());
        }
    }
    // Times are local `YYYY-MM-DD HH:MM`.
    let started = visits.rows[0][1].as_text();
    assert_eq!(started.len(), 16, "{started}");
    assert!(jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", &started).is_ok());
}

#[test]
fn kinds_and_formats_parse() {
    for kind in ExportKind::ALL {
        assert_eq!(ExportKind::parse(kind.code()).unwrap(), kind);
    }
    assert!(ExportKind::parse("evaluation").is_err());
    assert_eq!(ExportFormat::parse(".XLSX").unwrap(), ExportFormat::Xlsx);
    assert_eq!(
        ExportFormat::from_path(std::path::Path::new("a/名册.csv")),
        Some(ExportFormat::Csv)
    );
    assert_eq!(
        ExportFormat::from_path(std::path::Path::new("a/b.txt")),
        None
    );
}

//! Import of a household register ([`Store::import_register`]): the columns
//! of the register export ([`REGISTER_COLUMNS`]), read from XLSX or CSV,
//! matched by header (see the [module header](super)). The register is the
//! first worksheet with a header row, which is the first of its first ten
//! non-blank rows that names an `address` or `household_id` column (so a
//! title row above the header is fine). Spreadsheet row numbers are Excel's:
//! 1-based, blank rows counted.
//!
//! # Rules
//!
//! - **All or nothing.** Every row is validated first, with the same
//!   validators the API uses (phones, GB 11643 ID numbers with their birth
//!   date and gender, dates, tags, risk, status). If any row is invalid,
//!   nothing is stored and [`ImportReport::errors`] lists every problem: the
//!   1-based spreadsheet row, the column key and the reason in zh-CN /
//!   English — never the value. Errors of the file itself (not a workbook,
//!   CSV not in UTF-8, neither an `address` nor a `household_id` column, a column
//!   twice) are an `Err`. A valid file is imported in ONE write transaction.
//! - **Households.** Rows are grouped by `household_id` when present, else by
//!   `address`. A row with neither continues the household of the row above
//!   (Excel registers often merge the household cells of a family). Within a
//!   household the household columns may be left blank after the first row;
//!   two different non-blank values are an error.
//! - **Which household a group is.** A `household_id` that exists in the
//!   store updates that household. Without one, the one stored household
//!   with exactly that address is updated; none creates a household; several
//!   is an error (fill in `household_id`). An unknown `household_id` (a
//!   register from another phone, or imported before) is matched the same
//!   way by address — unless a `household_id` of the file names that
//!   household — else creates a household with a **new id**: the file's id
//!   is never adopted, because two devices creating the same document id
//!   independently would collide on sync. Every unknown id of the file is
//!   listed in [`ImportReport::renumbered`] with the id it now maps to.
//!   Groups that are the same stored household are one household (a row
//!   added below an exported family with only the address filled in).
//! - **Which resident a row is.** A `resident_id` of the household updates
//!   that resident; one of another household is an error. Otherwise (no or
//!   an unknown `resident_id`) the household's resident with the same ID
//!   number, else with the same name, is updated — never one that another
//!   row names by `resident_id` — else a resident is created (with a new
//!   id). A row with all resident columns blank is a household without a
//!   resident.
//! - **What a cell means.** A column that is absent leaves that field as it
//!   is; a blank cell in a present column clears it (a blank birth date or
//!   gender is taken from the ID number). Tags in a cell replace the tag set.
//!   New residents are checked as `add_resident` checks them (birth date and
//!   gender must match the ID number); an existing resident is checked
//!   field by field as `edit_resident` does, and against the ID number only
//!   when the ID number, birth date or gender changes.
//! - **Nothing is deleted.** Households and residents that the file does not
//!   mention stay as they are; mark people moved out with `moved_out` and
//!   `status` instead.
//! - **Idempotent.** A household whose values all equal the stored ones is
//!   not written at all: re-importing an export makes no Automerge change
//!   and reports every household `unchanged`. A changed household gets one
//!   change for its own and its residents' fields; a new household or
//!   resident is created through the API's own write path.

use super::export::looks_like_formula;
use super::{ExportFormat, REGISTER_COLUMNS};
use crate::api::{add_household_in, add_resident_in, Store};
use crate::docs::household::{tag_set, HouseholdDoc, ResidentDoc};
use crate::docs::{DocId, DocKind};
use crate::model::ids::require_non_empty;
use crate::model::*;
use crate::store::{CommitMeta, WriteTx};
use crate::{Error, Result};
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// What an import did, or why it stored nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// True when the register was imported. False when any row was invalid:
    /// then nothing was stored, the counts are zero and `errors` says why.
    pub stored: bool,
    /// Data rows read (blank rows are skipped).
    pub rows: u32,
    /// Households created.
    pub households_created: u32,
    /// Existing households whose document changed (own or residents' fields,
    /// new residents).
    pub households_updated: u32,
    /// Residents created.
    pub residents_created: u32,
    /// Existing residents whose fields changed.
    pub residents_updated: u32,
    /// Existing households left exactly as they were (no new change).
    pub unchanged: u32,
    /// Ids of the file that the store did not know, with the id of the
    /// record they were matched to or created as.
    pub renumbered: Vec<Renumbered>,
    /// Header cells that match no register column; their values were ignored.
    pub ignored_columns: Vec<String>,
    /// Every invalid cell, by row then column. Non-empty means nothing stored.
    pub errors: Vec<RowError>,
}

/// Why one cell of a register was refused. Never carries the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based spreadsheet row (the header is row 1 in an exported file).
    pub row: u32,
    /// Column key (`id_number`, `phone`, …; see [`REGISTER_COLUMNS`]).
    pub column: String,
    /// Why (zh-CN / English).
    pub message: String,
}

/// A file id that the store did not know, and the id its record has now
/// (created, or matched by address / ID number / name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Renumbered {
    /// Row where the record starts.
    pub row: u32,
    /// `household` or `resident`.
    pub kind: String,
    /// The id in the file.
    pub file_id: String,
    /// The id in the store.
    pub id: String,
}

impl ImportReport {
    /// One line for a terminal or a log, e.g. `register: 2 行有误，未导入任何数据 /
    /// 2 rows invalid, nothing imported: row 3 id_number: …; row 7 phone: …`
    /// (the first ten problems; no values).
    pub fn errors_line(&self) -> String {
        let rows = self
            .errors
            .iter()
            .map(|e| e.row)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let mut details = self
            .errors
            .iter()
            .take(10)
            .map(|e| format!("row {} {}: {}", e.row, e.column, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        if self.errors.len() > 10 {
            details.push_str(&format!("; … (+{})", self.errors.len() - 10));
        }
        format!("register: {rows} 行有误，未导入任何数据 / {rows} rows invalid, nothing imported: {details}")
    }
}

// ---------------------------------------------------------------------------
// Columns
// ---------------------------------------------------------------------------

/// Indices into [`REGISTER_COLUMNS`].
pub(super) mod col {
    pub const HOUSEHOLD_ID: usize = 0;
    pub const COMMUNITY: usize = 1;
    pub const BUILDING: usize = 2;
    pub const UNIT: usize = 3;
    pub const ROOM: usize = 4;
    pub const ADDRESS: usize = 5;
    pub const REPRESENTATIVE: usize = 6;
    pub const PHONE: usize = 7;
    pub const TAGS: usize = 8;
    pub const RISK: usize = 9;
    pub const STATUS: usize = 10;
    pub const RESIDENT_ID: usize = 11;
    pub const NAME: usize = 12;
    pub const GENDER: usize = 13;
    pub const BIRTH_DATE: usize = 14;
    pub const ID_NUMBER: usize = 15;
    pub const RESIDENT_PHONE: usize = 16;
    pub const RELATION: usize = 17;
    pub const RESIDENT_TAGS: usize = 18;
    pub const MOVED_OUT: usize = 19;
    /// Number of columns.
    pub const COUNT: usize = 20;
}

/// Further header names accepted per column (besides its key and zh header).
const ALIASES: [&[&str]; col::COUNT] = [
    &["户id", "household"],
    &["小区"],
    &["楼号", "楼"],
    &[],
    &["门牌号", "室"],
    &["住址", "家庭住址"],
    &["户主", "联系人"],
    &["联系电话", "户电话"],
    &["户重点人群"],
    &["风险等级"],
    &["户状态"],
    &["居民id"],
    &["居民姓名"],
    &[],
    &["出生年月日", "birth"],
    &["身份证号码", "公民身份号码", "身份证"],
    &["手机", "手机号", "居民手机"],
    &["与户主关系"],
    &["重点人群"],
    &["是否迁出"],
];

/// The household columns (grouped per household).
const HOUSEHOLD_COLUMNS: [usize; 10] = [
    col::COMMUNITY,
    col::BUILDING,
    col::UNIT,
    col::ROOM,
    col::ADDRESS,
    col::REPRESENTATIVE,
    col::PHONE,
    col::TAGS,
    col::RISK,
    col::STATUS,
];

/// Lowercase, without spaces, `_` and `-`.
fn normalize_header(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The register column a header cell names: the whole cell, else its parts
/// around `/` (the English part first).
fn column_of(header: &str) -> Option<usize> {
    let mut candidates = vec![normalize_header(header)];
    let parts: Vec<&str> = header.split(['/', '／']).collect();
    if parts.len() > 1 {
        candidates.extend(parts.iter().rev().map(|p| normalize_header(p)));
    }
    candidates
        .into_iter()
        .filter(|c| !c.is_empty())
        .find_map(|c| {
            REGISTER_COLUMNS.iter().enumerate().find_map(|(i, column)| {
                let mut names = [column.key, column.zh]
                    .into_iter()
                    .chain(ALIASES[i].iter().copied());
                names.any(|n| normalize_header(n) == c).then_some(i)
            })
        })
}

/// Map header cells to register columns: for each column, the index of the
/// file column holding it; plus the ignored header cells.
pub(super) fn match_columns(
    headers: &[String],
) -> Result<([Option<usize>; col::COUNT], Vec<String>)> {
    let mut found = [None; col::COUNT];
    let mut ignored = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        let header = header.trim();
        if header.is_empty() {
            continue;
        }
        match column_of(header) {
            Some(c) if found[c].is_some() => {
                let column = &REGISTER_COLUMNS[c];
                return Err(Error::invalid(
                    "register",
                    format!(
                        "“{}”列出现两次 / column {} appears twice",
                        column.zh, column.key
                    ),
                ));
            }
            Some(c) => found[c] = Some(i),
            None => ignored.push(header.to_string()),
        }
    }
    if found[col::ADDRESS].is_none() && found[col::HOUSEHOLD_ID].is_none() {
        return Err(Error::invalid(
            "register",
            "缺少“地址”或“户编号”列 / the file has neither an address nor a household_id column",
        ));
    }
    Ok((found, ignored))
}

// ---------------------------------------------------------------------------
// Reading the file
// ---------------------------------------------------------------------------

/// One non-blank row of a sheet.
pub(super) struct SheetRow {
    /// 1-based spreadsheet row number.
    pub(super) number: u32,
    /// Trimmed cell texts; `None` for an error value (`#N/A`, …).
    pub(super) cells: Vec<Option<String>>,
}

/// How far down a sheet the header row is looked for (title rows above it).
const HEADER_SEARCH_ROWS: usize = 10;

/// A register found in a file: its columns and its data rows.
pub(super) struct Register {
    /// For each register column, the file column holding it.
    pub(super) columns: [Option<usize>; col::COUNT],
    /// Header cells that name no register column.
    pub(super) ignored: Vec<String>,
    /// The rows below the header.
    pub(super) rows: Vec<SheetRow>,
}

/// Read a file as sheets (CSV: one) of non-blank rows.
pub(super) fn read_sheets(bytes: &[u8], format: ExportFormat) -> Result<Vec<Vec<SheetRow>>> {
    match format {
        ExportFormat::Xlsx => read_xlsx(bytes),
        ExportFormat::Csv => Ok(vec![read_csv(bytes)?]),
    }
}

/// The register of a file: the first sheet with a header row (one of its
/// first non-blank rows naming an `address` or `household_id` column, so a
/// title row above the header is fine).
pub(super) fn find_register(sheets: Vec<Vec<SheetRow>>) -> Result<Register> {
    let mut first_error = None;
    for mut rows in sheets {
        for i in 0..rows.len().min(HEADER_SEARCH_ROWS) {
            let headers: Vec<String> = rows[i]
                .cells
                .iter()
                .map(|c| c.clone().unwrap_or_default())
                .collect();
            match match_columns(&headers) {
                Ok((columns, ignored)) => {
                    return Ok(Register {
                        columns,
                        ignored,
                        rows: rows.split_off(i + 1),
                    })
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        Error::invalid("register", "文件中没有表头行 / the file has no header row")
    }))
}

/// Keep a row unless all its cells are blank.
fn push_row(rows: &mut Vec<SheetRow>, number: u32, cells: Vec<Option<String>>) {
    if cells.iter().any(|c| c.as_deref() != Some("")) {
        rows.push(SheetRow { number, cells });
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<SheetRow>>> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|_| {
            Error::invalid(
                "register",
                "不是有效的 xlsx 工作簿 / not a valid xlsx workbook",
            )
        })?;
    let mut sheets = Vec::new();
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|_| Error::invalid("register", "工作表无法读取 / a sheet cannot be read"))?;
        let (first_row, _) = range.start().unwrap_or((0, 0));
        let mut rows = Vec::new();
        for (i, cells) in range.rows().enumerate() {
            let cells = cells.iter().map(xlsx_cell_text).collect();
            push_row(&mut rows, first_row + i as u32 + 1, cells);
        }
        sheets.push(rows);
    }
    Ok(sheets)
}

/// A cell as trimmed text; whole numbers without a decimal point, dates as
/// `YYYY-MM-DD`; `None` for an error value.
fn xlsx_cell_text(cell: &calamine::Data) -> Option<String> {
    use calamine::Data;
    Some(match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, m, day, h, min, _, _) = d.to_ymd_hms_milli();
            if (h, min) == (0, 0) {
                format!("{y:04}-{m:02}-{day:02}")
            } else {
                format!("{y:04}-{m:02}-{day:02} {h:02}:{min:02}")
            }
        }
        Data::DateTime(d) => d.as_f64().to_string(),
        Data::Error(_) => return None,
    })
}

fn read_csv(bytes: &[u8]) -> Result<Vec<SheetRow>> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::invalid(
            "register",
            "CSV 文件不是 UTF-8 编码：请另存为“CSV UTF-8”或使用 xlsx / the CSV file is not UTF-8: save it as CSV UTF-8 or use xlsx",
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // The spreadsheet row of a record: 1 + the line breaks before it (blank
    // lines count), less those inside quoted values of earlier records (Excel
    // shows such a record as one row). The reader's own line numbers are not
    // used: with CRLF it counts a record's terminator to the next record.
    let bytes = text.as_bytes();
    let (mut scanned, mut breaks, mut inner_breaks) = (0usize, 0u64, 0u64);
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Error::invalid(
                "register",
                format!("CSV 格式错误（约第 {line} 行）/ malformed CSV near line {line}"),
            )
        })?;
        let mut start = record.position().map_or(0, |p| p.byte() as usize);
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > scanned {
            breaks += count_breaks(&bytes[scanned..start]);
            scanned = start;
        }
        let number = (1 + breaks).saturating_sub(inner_breaks) as u32;
        inner_breaks += record
            .iter()
            .map(|f| count_breaks(f.as_bytes()))
            .sum::<u64>();
        let cells = record
            .iter()
            .map(|f| Some(unescape_formula(f.trim()).to_string()))
            .collect();
        push_row(&mut rows, number, cells);
    }
    Ok(rows)
}

/// Line breaks in `bytes`: CRLF, LF or a lone CR each count once.
fn count_breaks(bytes: &[u8]) -> u64 {
    let mut n = 0;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\n' => n += 1,
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => n += 1,
            _ => {}
        }
    }
    n
}

/// Undo the `'` the CSV writer puts before formula-like text.
fn unescape_formula(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if looks_like_formula(text) => rest,
        _ => text,
    }
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

/// One data row with its register values: `None` where the column is absent.
struct Row {
    number: u32,
    values: [Option<String>; col::COUNT],
}

impl Row {
    fn get(&self, c: usize) -> Option<&str> {
        self.values[c].as_deref()
    }
    fn text(&self, c: usize) -> &str {
        self.get(c).unwrap_or("")
    }
    fn has_resident(&self) -> bool {
        (col::RESIDENT_ID..=col::MOVED_OUT).any(|c| !self.text(c).is_empty())
    }
}

/// Collects row errors; converts validator errors into them.
#[derive(Default)]
struct Errors(Vec<RowError>);

impl Errors {
    fn push(&mut self, row: u32, c: usize, message: impl Into<String>) {
        self.0.push(RowError {
            row,
            column: REGISTER_COLUMNS[c].key.to_string(),
            message: message.into(),
        });
    }

    /// The value, or `None` after recording a validation error against
    /// column `c`. Other errors (storage) are returned.
    fn check<T>(&mut self, row: u32, c: usize, result: Result<T>) -> Result<Option<T>> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(Error::Validation { message, .. }) => {
                self.push(row, c, message);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// Household values of a group: `None` = column absent (left as it is).
#[derive(Default)]
struct HouseholdValues {
    text: BTreeMap<usize, String>,
    tags: Option<Vec<SpecialGroup>>,
    risk: Option<RiskLevel>,
    status: Option<HouseholdStatus>,
}

/// Resident values of a row, final (inferred from the ID number where blank).
#[derive(Default)]
struct ResidentValues {
    name: Option<String>,
    gender: Option<Gender>,
    birth_date: Option<String>,
    id_number: Option<String>,
    phone: Option<String>,
    relation: Option<String>,
    tags: Option<Vec<SpecialGroup>>,
    moved_out: Option<bool>,
}

/// The stored record a planned one is, or a new one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target<T> {
    Existing(T),
    New,
}

struct ResidentPlan {
    row: u32,
    target: Target<ResidentId>,
    /// The file's resident_id when the store does not know it.
    unknown_id: Option<ResidentId>,
    values: ResidentValues,
}

struct HouseholdPlan {
    row: u32,
    target: Target<HouseholdId>,
    /// The file's household_id when the store does not know it.
    unknown_id: Option<HouseholdId>,
    values: HouseholdValues,
    residents: Vec<ResidentPlan>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum GroupKey {
    Id(HouseholdId),
    Address(String),
}

/// Split a tag cell (`;`, `,`, `、`, `|` and full-width forms) and parse it.
fn parse_tag_cell(text: &str) -> Result<Vec<SpecialGroup>> {
    let tags: Vec<String> = text
        .split([';', '；', ',', '，', '、', '|'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    crate::model::household::parse_tags(&tags)
}

fn parse_status(text: &str) -> Result<HouseholdStatus> {
    match text.trim() {
        "" | "在册" | "正常" => Ok(HouseholdStatus::Active),
        "已迁出" | "迁出" => Ok(HouseholdStatus::MovedOut),
        other => HouseholdStatus::parse(&other.to_ascii_lowercase()),
    }
}

fn parse_bool(text: &str, field: &str) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "n" | "0" | "否" => Ok(false),
        "true" | "yes" | "y" | "1" | "是" | "已迁出" => Ok(true),
        _ => Err(Error::invalid(
            field,
            "应为 true/false（是/否） / must be true or false",
        )),
    }
}

fn optional_phone(raw: &str, field: &str) -> Result<String> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        validate::phone(raw, field)
    }
}

fn optional_id_number(raw: &str) -> Result<String> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        validate::id_number(raw, "id_number")
    }
}

fn optional_date(raw: &str) -> Result<String> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        validate::date(raw, "birth_date")
    }
}

/// Gender encoded in a valid ID number (17th digit odd for men).
fn gender_of_id(id_number: &str) -> Gender {
    match id_number.as_bytes().get(16) {
        Some(d) if (d - b'0') % 2 == 1 => Gender::Male,
        Some(_) => Gender::Female,
        None => Gender::Unknown,
    }
}

/// The checks `add_resident` makes: birth date and gender must match the ID number.
fn check_against_id(
    errors: &mut Errors,
    row: u32,
    id_number: &str,
    birth_date: &str,
    gender: Gender,
) {
    if id_number.is_empty() {
        return;
    }
    if !birth_date.is_empty()
        && validate::birth_date_of_id(id_number).as_deref() != Some(birth_date)
    {
        errors.push(
            row,
            col::BIRTH_DATE,
            "出生日期与身份证号不一致 / birth date does not match the ID number",
        );
    }
    if gender != Gender::Unknown && gender != gender_of_id(id_number) {
        errors.push(
            row,
            col::GENDER,
            "性别与身份证号不一致 / gender does not match the ID number",
        );
    }
}

/// The validation pass: every row checked, households and residents matched
/// against the store (read inside the import's write transaction).
struct Planner<'t, 'a> {
    tx: &'t mut WriteTx<'a>,
    errors: Errors,
    /// Stored residents already taken by a row.
    claimed_residents: HashSet<ResidentId>,
    /// Every valid resident_id of the file: such residents are never
    /// matched by ID number or name to another row.
    file_resident_ids: HashSet<ResidentId>,
    /// resident_ids of the file seen so far.
    seen_resident_ids: HashSet<ResidentId>,
    /// The ID number of each valid resident row, its row, and whether the
    /// import would give it to a resident (new, or changed).
    id_numbers: Vec<(String, u32, bool)>,
}

impl Planner<'_, '_> {
    fn plan(&mut self, rows: &[Row]) -> Result<Vec<HouseholdPlan>> {
        // Group rows into households, in order of first appearance.
        let mut groups: Vec<(GroupKey, Vec<usize>)> = Vec::new();
        let mut index: HashMap<GroupKey, usize> = HashMap::new();
        // The household of the row above: `Some(None)` when that row's
        // household_id was invalid (its continuation rows are skipped).
        let mut previous: Option<Option<usize>> = None;
        for (i, row) in rows.iter().enumerate() {
            let id_text = row.text(col::HOUSEHOLD_ID);
            let address = row.text(col::ADDRESS);
            let key = if !id_text.is_empty() {
                let parsed = HouseholdId::parse_field(id_text, "household_id");
                match self.errors.check(row.number, col::HOUSEHOLD_ID, parsed)? {
                    Some(id) => GroupKey::Id(id),
                    None => {
                        previous = Some(None);
                        continue;
                    }
                }
            } else if !address.is_empty() {
                GroupKey::Address(address.to_string())
            } else {
                match previous {
                    Some(Some(g)) => groups[g].1.push(i),
                    Some(None) => {}
                    None => {
                        self.errors
                            .push(row.number, col::ADDRESS, "不能为空 / must not be empty")
                    }
                }
                continue;
            };
            let g = *index.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(i);
            previous = Some(Some(g));
        }
        // Which household each group is: known household_ids and addresses
        // first, then unknown household_ids, which are matched by address
        // unless a household_id of the file names that household.
        let mut resolved: Vec<Option<(Target<HouseholdId>, Option<HouseholdId>)>> =
            vec![None; groups.len()];
        let mut named: HashSet<HouseholdId> = HashSet::new();
        let mut unknown = Vec::new();
        for (g, (key, members)) in groups.iter().enumerate() {
            let first = rows[members[0]].number;
            match key {
                GroupKey::Id(id) if self.tx.doc_exists(&DocId::household(*id))? => {
                    named.insert(*id);
                    resolved[g] = Some((Target::Existing(*id), None));
                }
                GroupKey::Id(_) => unknown.push(g),
                GroupKey::Address(address) => match self.households_at(address)?.as_slice() {
                    [] => resolved[g] = Some((Target::New, None)),
                    [one] => resolved[g] = Some((Target::Existing(*one), None)),
                    _ => self.errors.push(
                        first,
                        col::HOUSEHOLD_ID,
                        "有多户使用此地址，请填写户编号 / several households have this address: fill in household_id",
                    ),
                },
            }
        }
        for g in unknown {
            let GroupKey::Id(file_id) = groups[g].0 else {
                continue;
            };
            let address = groups[g]
                .1
                .iter()
                .map(|&i| rows[i].text(col::ADDRESS))
                .find(|a| !a.is_empty());
            let found = match address {
                Some(address) => self.households_at(address)?,
                None => Vec::new(),
            };
            let target = match found.as_slice() {
                [one] if named.insert(*one) => Target::Existing(*one),
                _ => Target::New,
            };
            resolved[g] = Some((target, Some(file_id)));
        }
        // Groups that are the same stored household become one (e.g. a row
        // added below an exported family with only the address filled in).
        let mut merged: Vec<(Target<HouseholdId>, Option<HouseholdId>, Vec<usize>)> = Vec::new();
        let mut by_household: HashMap<HouseholdId, usize> = HashMap::new();
        for ((_, members), resolution) in groups.into_iter().zip(resolved) {
            let Some((target, unknown_id)) = resolution else {
                continue;
            };
            if let Target::Existing(id) = target {
                if let Some(&m) = by_household.get(&id) {
                    let (_, known, rows) = &mut merged[m];
                    rows.extend(members);
                    rows.sort_unstable();
                    *known = known.or(unknown_id);
                    continue;
                }
                by_household.insert(id, merged.len());
            }
            merged.push((target, unknown_id, members));
        }
        let mut plans = Vec::with_capacity(merged.len());
        for (target, unknown_id, members) in merged {
            let members: Vec<&Row> = members.iter().map(|&i| &rows[i]).collect();
            plans.push(self.plan_household(target, unknown_id, &members)?);
        }
        self.check_duplicate_id_numbers();
        Ok(plans)
    }

    /// The stored households with exactly this address.
    fn households_at(&mut self, address: &str) -> Result<Vec<HouseholdId>> {
        let mut stmt = self
            .tx
            .conn()
            .prepare_cached("SELECT id FROM households WHERE address = ?1 ORDER BY id")?;
        let ids = stmt
            .query_map([address], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        ids.iter().map(|id| id.parse()).collect()
    }

    /// An ID number the import would give to a resident must not appear on
    /// another row of the file. Duplicates already stored are left alone, so
    /// re-importing an export never fails on them.
    fn check_duplicate_id_numbers(&mut self) {
        let mut rows: HashMap<&str, Vec<u32>> = HashMap::new();
        for (id, row, _) in &self.id_numbers {
            rows.entry(id.as_str()).or_default().push(*row);
        }
        for (id, row, introduced) in &self.id_numbers {
            let others = &rows[id.as_str()];
            if let Some(other) = others.iter().find(|r| **r != *row).filter(|_| *introduced) {
                self.errors.0.push(RowError {
                    row: *row,
                    column: REGISTER_COLUMNS[col::ID_NUMBER].key.to_string(),
                    message: format!(
                        "身份证号与第 {other} 行重复 / the ID number repeats row {other}"
                    ),
                });
            }
        }
    }

    /// Validate the rows of one household and match its residents.
    fn plan_household(
        &mut self,
        target: Target<HouseholdId>,
        unknown_id: Option<HouseholdId>,
        rows: &[&Row],
    ) -> Result<HouseholdPlan> {
        let existing = match target {
            Target::Existing(id) => Some(load_household(self.tx, id)?),
            Target::New => None,
        };
        let values = self.household_values(rows, existing.is_none())?;
        let mut residents = Vec::new();
        for row in rows.iter().filter(|r| r.has_resident()) {
            if let Some(plan) = self.plan_resident(row, existing.as_ref())? {
                residents.push(plan);
            }
        }
        Ok(HouseholdPlan {
            row: rows[0].number,
            target,
            unknown_id,
            values,
            residents,
        })
    }

    /// The household columns of a group: the first non-blank value of each,
    /// validated; a different non-blank value in a later row is an error.
    fn household_values(&mut self, rows: &[&Row], new: bool) -> Result<HouseholdValues> {
        let mut values = HouseholdValues::default();
        for c in HOUSEHOLD_COLUMNS {
            if rows[0].get(c).is_none() {
                if c == col::ADDRESS && new {
                    self.errors
                        .push(rows[0].number, c, "不能为空 / must not be empty");
                }
                continue;
            }
            let mut chosen: Option<(&str, u32)> = None;
            for row in rows {
                let text = row.text(c);
                match chosen {
                    _ if text.is_empty() => {}
                    None => chosen = Some((text, row.number)),
                    Some((first, n)) if first != text => self.errors.push(
                        row.number,
                        c,
                        format!(
                            "与本户第 {n} 行不一致 / differs from row {n} of the same household"
                        ),
                    ),
                    Some(_) => {}
                }
            }
            let (text, row) = chosen.unwrap_or(("", rows[0].number));
            match c {
                col::ADDRESS => {
                    if let Some(v) =
                        self.errors
                            .check(row, c, require_non_empty(text, "address"))?
                    {
                        values.text.insert(c, v);
                    }
                }
                col::PHONE => {
                    if let Some(v) = self.errors.check(row, c, optional_phone(text, "phone"))? {
                        values.text.insert(c, v);
                    }
                }
                col::TAGS => values.tags = self.errors.check(row, c, parse_tag_cell(text))?,
                col::RISK => {
                    values.risk =
                        self.errors
                            .check(row, c, RiskLevel::parse(&text.to_ascii_lowercase()))?
                }
                col::STATUS => values.status = self.errors.check(row, c, parse_status(text))?,
                _ => {
                    values.text.insert(c, text.to_string());
                }
            }
        }
        Ok(values)
    }

    /// Match a resident row to a resident of the household (or a new one)
    /// and validate its values.
    fn plan_resident(
        &mut self,
        row: &Row,
        household: Option<&HouseholdDoc>,
    ) -> Result<Option<ResidentPlan>> {
        let n = row.number;
        let errors_before = self.errors.0.len();
        // Values, field by field.
        let name = match row.get(col::NAME) {
            Some(t) => self
                .errors
                .check(n, col::NAME, require_non_empty(t, "name"))?,
            None => None,
        };
        let id_number = match row.get(col::ID_NUMBER) {
            Some(t) => self
                .errors
                .check(n, col::ID_NUMBER, optional_id_number(t))?,
            None => None,
        };
        let birth_date = match row.get(col::BIRTH_DATE) {
            Some(t) => self.errors.check(n, col::BIRTH_DATE, optional_date(t))?,
            None => None,
        };
        let gender = match row.get(col::GENDER) {
            Some(t) => self
                .errors
                .check(n, col::GENDER, Gender::parse(&t.to_ascii_lowercase()))?,
            None => None,
        };
        let phone = match row.get(col::RESIDENT_PHONE) {
            Some(t) => {
                self.errors
                    .check(n, col::RESIDENT_PHONE, optional_phone(t, "resident_phone"))?
            }
            None => None,
        };
        let tags = match row.get(col::RESIDENT_TAGS) {
            Some(t) => self
                .errors
                .check(n, col::RESIDENT_TAGS, parse_tag_cell(t))?,
            None => None,
        };
        let moved_out = match row.get(col::MOVED_OUT) {
            Some(t) => self
                .errors
                .check(n, col::MOVED_OUT, parse_bool(t, "moved_out"))?,
            None => None,
        };
        let relation = row.get(col::RELATION).map(str::to_string);
        let file_id = match row.get(col::RESIDENT_ID).filter(|t| !t.is_empty()) {
            Some(t) => {
                let parsed = ResidentId::parse_field(t, "resident_id");
                match self.errors.check(n, col::RESIDENT_ID, parsed)? {
                    Some(id) => Some(id),
                    None => return Ok(None),
                }
            }
            None => None,
        };
        let invalid = self.errors.0.len() > errors_before;
        // Which resident: its resident_id if the household has it, else the
        // household's resident with the same ID number, else the same name.
        let stored = household.map(|h| &h.residents);
        if let Some(id) = file_id {
            if !self.seen_resident_ids.insert(id) {
                self.errors.push(
                    n,
                    col::RESIDENT_ID,
                    "同一居民在文件中出现两次 / the resident appears twice in the file",
                );
                return Ok(None);
            }
        }
        let known = file_id.filter(|id| stored.is_some_and(|s| s.contains_key(&id.to_string())));
        if let (Some(id), None) = (file_id, known) {
            let elsewhere: Option<String> = self
                .tx
                .conn()
                .query_row(
                    "SELECT household_id FROM residents WHERE id = ?1",
                    [id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            if elsewhere.is_some() {
                self.errors.push(
                    n,
                    col::RESIDENT_ID,
                    "该居民属于另一户 / the resident belongs to another household",
                );
                return Ok(None);
            }
        }
        let target = match known {
            Some(id) => Target::Existing(id),
            None => {
                let taken = |id: &ResidentId| {
                    self.claimed_residents.contains(id) || self.file_resident_ids.contains(id)
                };
                let candidates = || {
                    stored.into_iter().flatten().filter_map(|(id, r)| {
                        id.parse::<ResidentId>()
                            .ok()
                            .filter(|id| !taken(id))
                            .map(|id| (id, r))
                    })
                };
                let found = match id_number.as_deref().filter(|x| !x.is_empty()) {
                    Some(x) => candidates().find(|(_, r)| r.id_number == x),
                    None => name
                        .as_deref()
                        .and_then(|x| candidates().find(|(_, r)| r.name == x)),
                };
                found.map_or(Target::New, |(id, _)| Target::Existing(id))
            }
        };
        if let Target::Existing(id) = target {
            self.claimed_residents.insert(id);
        }
        let unknown_id = file_id.filter(|_| known.is_none());
        let mut values = ResidentValues {
            name,
            gender,
            birth_date,
            id_number,
            phone,
            relation,
            tags,
            moved_out,
        };
        if invalid {
            return Ok(None);
        }
        // A blank birth date or gender is taken from the ID number.
        let previous = match target {
            Target::Existing(id) => stored.and_then(|s| s.get(&id.to_string())),
            Target::New => None,
        };
        let id_final = values
            .id_number
            .clone()
            .or_else(|| previous.map(|p| p.id_number.clone()))
            .unwrap_or_default();
        if !id_final.is_empty() {
            if values.birth_date.as_deref() == Some("") {
                values.birth_date = validate::birth_date_of_id(&id_final);
            }
            if values.gender == Some(Gender::Unknown) {
                values.gender = Some(gender_of_id(&id_final));
            }
        }
        match previous {
            None => {
                if values.name.is_none() {
                    self.errors
                        .push(n, col::NAME, "不能为空 / must not be empty");
                }
                let birth = values.birth_date.clone().unwrap_or_default();
                let gender = values.gender.unwrap_or_default();
                check_against_id(&mut self.errors, n, &id_final, &birth, gender);
            }
            Some(p) => {
                let birth = values
                    .birth_date
                    .clone()
                    .unwrap_or_else(|| p.birth_date.clone());
                let gender = values
                    .gender
                    .unwrap_or_else(|| Gender::parse(&p.gender).unwrap_or_default());
                let changed =
                    id_final != p.id_number || birth != p.birth_date || gender.code() != p.gender;
                if changed {
                    check_against_id(&mut self.errors, n, &id_final, &birth, gender);
                }
            }
        }
        if !id_final.is_empty() {
            let introduced = previous.is_none_or(|p| p.id_number != id_final);
            self.id_numbers.push((id_final.clone(), n, introduced));
        }
        if target == Target::New {
            // Fill what a new resident needs from the values found.
            values
                .birth_date
                .get_or_insert_with(|| validate::birth_date_of_id(&id_final).unwrap_or_default());
            if values.gender.is_none() && !id_final.is_empty() {
                values.gender = Some(gender_of_id(&id_final));
            }
        }
        Ok(Some(ResidentPlan {
            row: n,
            target,
            unknown_id,
            values,
        }))
    }
}

/// The stored household document.
fn load_household(tx: &mut WriteTx<'_>, id: HouseholdId) -> Result<HouseholdDoc> {
    tx.with_doc(&DocId::household(id), |am| Ok(autosurgeon::hydrate(am)?))?
        .ok_or_else(|| Error::not_found("household", id))
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

fn set_text(slot: &mut String, value: Option<&String>) {
    if let Some(v) = value {
        if *slot != *v {
            *slot = v.clone();
        }
    }
}

/// Replace a doc tag set by `tags` unless it already holds exactly them.
fn set_tags(slot: &mut BTreeMap<String, bool>, tags: Option<&Vec<SpecialGroup>>) {
    if let Some(tags) = tags {
        let want = tag_set(tags);
        let have: BTreeMap<String, bool> = slot
            .iter()
            .filter(|(_, on)| **on)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if have != want {
            *slot = want;
        }
    }
}

fn apply_household(doc: &mut HouseholdDoc, v: &HouseholdValues) {
    set_text(&mut doc.community, v.text.get(&col::COMMUNITY));
    set_text(&mut doc.building, v.text.get(&col::BUILDING));
    set_text(&mut doc.unit, v.text.get(&col::UNIT));
    set_text(&mut doc.room, v.text.get(&col::ROOM));
    set_text(&mut doc.address, v.text.get(&col::ADDRESS));
    set_text(&mut doc.representative, v.text.get(&col::REPRESENTATIVE));
    set_text(&mut doc.phone, v.text.get(&col::PHONE));
    set_tags(&mut doc.tags, v.tags.as_ref());
    if let Some(r) = v.risk {
        set_text(&mut doc.risk, Some(&r.code().to_string()));
    }
    if let Some(s) = v.status {
        set_text(&mut doc.status, Some(&s.code().to_string()));
    }
}

fn apply_resident(doc: &mut ResidentDoc, v: &ResidentValues) {
    set_text(&mut doc.name, v.name.as_ref());
    if let Some(g) = v.gender {
        set_text(&mut doc.gender, Some(&g.code().to_string()));
    }
    set_text(&mut doc.birth_date, v.birth_date.as_ref());
    set_text(&mut doc.id_number, v.id_number.as_ref());
    set_text(&mut doc.phone, v.phone.as_ref());
    set_text(&mut doc.relation, v.relation.as_ref());
    set_tags(&mut doc.tags, v.tags.as_ref());
    if let Some(m) = v.moved_out {
        doc.moved_out = m;
    }
}

/// Every value of a plan applied to a household doc (`ids`: the stored id
/// of each planned resident, in order).
fn apply_plan(doc: &mut HouseholdDoc, plan: &HouseholdPlan, ids: &[ResidentId]) -> Result<()> {
    apply_household(doc, &plan.values);
    for (resident, id) in plan.residents.iter().zip(ids) {
        let r = doc
            .residents
            .get_mut(&id.to_string())
            .ok_or_else(|| Error::not_found("resident", id))?;
        apply_resident(r, &resident.values);
    }
    Ok(())
}

fn codes(tags: &Option<Vec<SpecialGroup>>) -> Vec<String> {
    tags.iter()
        .flatten()
        .map(|t| t.code().to_string())
        .collect()
}

/// Write one planned household inside the import's transaction.
fn apply(
    tx: &mut WriteTx<'_>,
    plan: &HouseholdPlan,
    grid: &GridCode,
    meta: &CommitMeta,
    report: &mut ImportReport,
) -> Result<()> {
    let v = &plan.values;
    let text = |c: usize| v.text.get(&c).cloned().unwrap_or_default();
    let (id, created) = match plan.target {
        Target::Existing(id) => (id, false),
        Target::New => {
            let id = HouseholdId::new();
            let input = NewHousehold {
                community: text(col::COMMUNITY),
                building: text(col::BUILDING),
                unit: text(col::UNIT),
                room: text(col::ROOM),
                address: text(col::ADDRESS),
                representative: text(col::REPRESENTATIVE),
                phone: text(col::PHONE),
                tags: codes(&v.tags),
                risk: v.risk.unwrap_or_default().code().into(),
                note: String::new(),
            };
            add_household_in(tx, id, &input, grid, meta)?;
            report.households_created += 1;
            (id, true)
        }
    };
    if let Some(file_id) = plan.unknown_id {
        report.renumbered.push(Renumbered {
            row: plan.row,
            kind: "household".into(),
            file_id: file_id.to_string(),
            id: id.to_string(),
        });
    }
    let mut ids = Vec::with_capacity(plan.residents.len());
    let mut added = false;
    for r in &plan.residents {
        let rid = match r.target {
            Target::Existing(rid) => rid,
            Target::New => {
                let rid = ResidentId::new();
                let rv = &r.values;
                let input = NewResident {
                    name: rv.name.clone().unwrap_or_default(),
                    gender: rv.gender.unwrap_or_default().code().into(),
                    birth_date: rv.birth_date.clone().unwrap_or_default(),
                    id_number: rv.id_number.clone().unwrap_or_default(),
                    phone: rv.phone.clone().unwrap_or_default(),
                    relation: rv.relation.clone().unwrap_or_default(),
                    tags: codes(&rv.tags),
                };
                add_resident_in(tx, id, rid, &input, grid, meta)?;
                report.residents_created += 1;
                added = true;
                rid
            }
        };
        if let Some(file_id) = r.unknown_id {
            report.renumbered.push(Renumbered {
                row: r.row,
                kind: "resident".into(),
                file_id: file_id.to_string(),
                id: rid.to_string(),
            });
        }
        ids.push(rid);
    }
    // Everything the create paths do not set (status, moved out) and every
    // edit of an existing household: one change, only if anything differs.
    let before = load_household(tx, id)?;
    let mut after = before.clone();
    apply_plan(&mut after, plan, &ids)?;
    if after != before {
        tx.edit_doc(
            &DocId::household(id),
            DocKind::Household,
            grid,
            meta,
            |am| {
                let mut doc: HouseholdDoc = autosurgeon::hydrate(am)?;
                apply_plan(&mut doc, plan, &ids)?;
                autosurgeon::reconcile(am, &doc)?;
                Ok(())
            },
        )?;
    }
    if !created {
        for (r, rid) in plan.residents.iter().zip(&ids) {
            if let Target::Existing(_) = r.target {
                let key = rid.to_string();
                if before.residents.get(&key) != after.residents.get(&key) {
                    report.residents_updated += 1;
                }
            }
        }
        if after != before || added {
            report.households_updated += 1;
        } else {
            report.unchanged += 1;
        }
    }
    Ok(())
}

impl Store {
    /// Import a household register (the columns of the register export) in
    /// one write transaction, all rows or none; see the [module header](self)
    /// for how rows become households and residents. Row errors are returned
    /// in an `Ok` report with `stored: false`; errors of the file itself
    /// (unreadable, no address column, …) as `Err`.
    pub fn import_register(&self, bytes: &[u8], format: ExportFormat) -> Result<ImportReport> {
        let Register {
            columns,
            ignored: ignored_columns,
            rows,
        } = find_register(read_sheets(bytes, format)?)?;
        let mut errors = Errors::default();
        let rows: Vec<Row> = rows
            .iter()
            .map(|r| Row {
                number: r.number,
                values: std::array::from_fn(|c| {
                    let i = columns[c]?;
                    match r.cells.get(i) {
                        None => Some(String::new()),
                        Some(Some(text)) => Some(text.clone()),
                        Some(None) => {
                            errors.push(
                                r.number,
                                c,
                                "单元格含错误值 / the cell holds an error value",
                            );
                            Some(String::new())
                        }
                    }
                }),
            })
            .collect();
        let (device, meta) = self.meta_at(self.now())?;
        let mut report = ImportReport {
            rows: rows.len() as u32,
            ignored_columns,
            ..ImportReport::default()
        };
        self.db.write(|tx| {
            let (plans, mut errors) = {
                let mut planner = Planner {
                    tx: &mut *tx,
                    errors,
                    claimed_residents: HashSet::new(),
                    file_resident_ids: rows
                        .iter()
                        .filter_map(|r| r.text(col::RESIDENT_ID).parse().ok())
                        .collect(),
                    seen_resident_ids: HashSet::new(),
                    id_numbers: Vec::new(),
                };
                (planner.plan(&rows)?, planner.errors.0)
            };
            if !errors.is_empty() {
                let order = |e: &RowError| {
                    REGISTER_COLUMNS
                        .iter()
                        .position(|c| c.key == e.column)
                        .unwrap_or(usize::MAX)
                };
                errors.sort_by_key(|e| (e.row, order(e)));
                errors.dedup();
                report.errors = errors;
                return Ok(());
            }
            for plan in &plans {
                apply(tx, plan, &device.grid, &meta, &mut report)?;
            }
            report.stored = true;
            Ok(())
        })?;
        if report.stored {
            tracing::info!(
                households_created = report.households_created,
                households_updated = report.households_updated,
                residents_created = report.residents_created,
                residents_updated = report.residents_updated,
                "register imported"
            );
        }
        Ok(report)
    }
}

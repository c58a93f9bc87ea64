//! Exports: one [`Table`] builder per [`ExportKind`], read from the read
//! models through the public queries, and the two writers (XLSX, CSV) that
//! turn any table into bytes. See the [module header](super) for the format.

use super::{
    write_error, Cell, Column, ColumnKind, ExportFormat, ExportKind, Table, REGISTER_COLUMNS,
    REGISTER_EXPORT_COLUMNS,
};
use crate::api::{resolve_template, Reader, Store};
use crate::forms::template::Template;
use crate::model::*;
use crate::store::sql::{columns, SqlConn};
use crate::Result;
use std::collections::{HashMap, HashSet};

const VISIT_COLUMNS: &[Column] = &[
    Column::new("visit_id", "走访编号", ColumnKind::Verbatim, 38.0),
    Column::new("started_at", "开始时间", ColumnKind::Verbatim, 17.0),
    Column::new("ended_at", "结束时间", ColumnKind::Verbatim, 17.0),
    Column::new("worker", "网格员", ColumnKind::Verbatim, 12.0),
    Column::new("household_id", "户编号", ColumnKind::Verbatim, 38.0),
    Column::new("address", "住户地址", ColumnKind::Text, 30.0),
    Column::new("checklist", "走访清单", ColumnKind::Text, 22.0),
    Column::new("ok_items", "正常项", ColumnKind::Number, 8.0),
    Column::new("problem_items", "问题项", ColumnKind::Number, 8.0),
    Column::new("na_items", "不适用项", ColumnKind::Number, 8.0),
    Column::new("problems", "发现的问题", ColumnKind::Text, 30.0),
    Column::new("note", "备注", ColumnKind::Text, 24.0),
];

const HAZARD_COLUMNS: &[Column] = &[
    Column::new("hazard_id", "隐患编号", ColumnKind::Verbatim, 38.0),
    Column::new("reported_at", "上报时间", ColumnKind::Verbatim, 17.0),
    Column::new("category", "类别", ColumnKind::Text, 12.0),
    Column::new("severity", "严重程度", ColumnKind::Text, 10.0),
    Column::new("status", "状态", ColumnKind::Text, 12.0),
    Column::new("place", "地点", ColumnKind::Text, 18.0),
    Column::new("description", "描述", ColumnKind::Text, 36.0),
    Column::new("household_id", "户编号", ColumnKind::Verbatim, 38.0),
    Column::new("address", "住户地址", ColumnKind::Text, 30.0),
    Column::new("deadline", "整改期限", ColumnKind::Verbatim, 17.0),
    Column::new("reported_by", "上报人", ColumnKind::Verbatim, 12.0),
    Column::new("last_change_at", "最近处理时间", ColumnKind::Verbatim, 17.0),
    Column::new("severity_code", "严重程度代码", ColumnKind::Verbatim, 10.0),
    Column::new("status_code", "状态代码", ColumnKind::Verbatim, 12.0),
];

const CASE_COLUMNS: &[Column] = &[
    Column::new("case_id", "事件编号", ColumnKind::Verbatim, 38.0),
    Column::new("opened_at", "受理时间", ColumnKind::Verbatim, 17.0),
    Column::new("channel", "渠道", ColumnKind::Text, 10.0),
    Column::new("category", "类别", ColumnKind::Text, 12.0),
    Column::new("urgency", "紧急程度", ColumnKind::Text, 10.0),
    Column::new("description", "描述", ColumnKind::Text, 36.0),
    Column::new("status", "状态", ColumnKind::Text, 12.0),
    Column::new("household_id", "户编号", ColumnKind::Verbatim, 38.0),
    Column::new("address", "住户地址", ColumnKind::Text, 30.0),
    Column::new("opened_by", "受理人", ColumnKind::Verbatim, 12.0),
    Column::new(
        "first_response_at",
        "首次响应时间",
        ColumnKind::Verbatim,
        17.0,
    ),
    Column::new(
        "first_response_minutes",
        "首次响应用时(分钟)",
        ColumnKind::Number,
        12.0,
    ),
    Column::new("responded_late", "响应超时", ColumnKind::Text, 10.0),
    Column::new("escalated", "已上报社区", ColumnKind::Text, 10.0),
    Column::new("handling_due_at", "办理期限", ColumnKind::Verbatim, 17.0),
    Column::new("handling_overdue", "办理超期", ColumnKind::Text, 10.0),
    Column::new("channel_code", "渠道代码", ColumnKind::Verbatim, 10.0),
    Column::new("urgency_code", "紧急程度代码", ColumnKind::Verbatim, 10.0),
    Column::new("status_code", "状态代码", ColumnKind::Verbatim, 12.0),
];

impl Store {
    /// Export `what` as `format` (see the [module header](super) for the
    /// columns and the file format).
    pub fn export(&self, what: ExportKind, format: ExportFormat) -> Result<Vec<u8>> {
        self.export_table(what)?.to_bytes(format)
    }

    /// Export `what` as `format`, only the records of `grids` (households
    /// and their visits by the household's grid, hazards and cases by
    /// theirs); see [`Reader::export_table_in`].
    pub fn export_in(
        &self,
        what: ExportKind,
        format: ExportFormat,
        grids: &[GridCode],
    ) -> Result<Vec<u8>> {
        self.export_table_in(what, grids)?.to_bytes(format)
    }

    /// The table of [`Store::export_in`].
    pub fn export_table_in(&self, what: ExportKind, grids: &[GridCode]) -> Result<Table> {
        self.read(|r| r.export_table_in(what, grids))
    }

    /// The table an export writes, before it is written (row count, checks,
    /// other writers). One builder per [`ExportKind`]: a new export is a new
    /// variant, a builder returning a [`Table`] and an arm in
    /// [`Reader::export_table`].
    pub fn export_table(&self, what: ExportKind) -> Result<Table> {
        self.read(|r| r.export_table(what))
    }
}

impl<C: SqlConn + ?Sized> Reader<'_, C> {
    /// The table of `what`, only the records of `grids`: what the server's
    /// dashboard sends a staff member, whose database holds the whole town.
    pub fn export_table_in(&self, what: ExportKind, grids: &[GridCode]) -> Result<Table> {
        let scope = ExportScope::of(self.conn, grids)?;
        self.scoped_table(what, &scope)
    }

    /// The table of `what`, every record.
    pub fn export_table(&self, what: ExportKind) -> Result<Table> {
        self.scoped_table(what, &ExportScope::All)
    }

    fn scoped_table(&self, what: ExportKind, scope: &ExportScope) -> Result<Table> {
        match what {
            ExportKind::Households => self.register_table(scope),
            ExportKind::Visits => self.visits_table(scope),
            ExportKind::Hazards => self.hazards_table(scope),
            ExportKind::Cases => self.cases_table(scope),
        }
    }

    /// The register: one row per resident, household columns repeated; a
    /// household without residents is one row with the resident columns empty.
    fn register_table(&self, scope: &ExportScope) -> Result<Table> {
        let mut rows = Vec::new();
        for summary in self.list_households()? {
            if !scope.has_household(summary.id) {
                continue;
            }
            let h = self.household(summary.id)?;
            let household = [
                Cell::text(h.id.to_string()),
                Cell::text(&h.community),
                Cell::text(&h.building),
                Cell::text(&h.unit),
                Cell::text(&h.room),
                Cell::text(&h.address),
                Cell::text(&h.representative),
                Cell::text(&h.phone),
                Cell::text(tag_codes(&h.tags)),
                Cell::text(h.risk.code()),
                Cell::text(h.status.code()),
            ];
            let household_labels = [
                Cell::text(tag_labels(&h.tags)),
                Cell::text(risk_label(h.risk)),
                Cell::text(match h.status {
                    HouseholdStatus::Active => "在册",
                    HouseholdStatus::MovedOut => "已迁出",
                }),
            ];
            if h.residents.is_empty() {
                let mut row = household.to_vec();
                row.resize(REGISTER_COLUMNS.len(), Cell::Empty);
                row.extend(household_labels.iter().cloned());
                row.resize(REGISTER_EXPORT_COLUMNS.len(), Cell::Empty);
                rows.push(row);
            }
            for r in &h.residents {
                let mut row = household.to_vec();
                row.extend([
                    Cell::text(r.id.to_string()),
                    Cell::text(&r.name),
                    Cell::text(r.gender.code()),
                    Cell::text(&r.birth_date),
                    Cell::text(&r.id_number),
                    Cell::text(&r.phone),
                    Cell::text(&r.relation),
                    Cell::text(tag_codes(&r.tags)),
                    Cell::text(bool_code(r.moved_out)),
                ]);
                row.extend(household_labels.iter().cloned());
                row.extend([
                    Cell::text(match r.gender {
                        Gender::Male => "男",
                        Gender::Female => "女",
                        Gender::Unknown => "",
                    }),
                    Cell::text(tag_labels(&r.tags)),
                    Cell::text(yes_no(r.moved_out)),
                ]);
                rows.push(row);
            }
        }
        Ok(Table {
            sheet: "住户名册 Register",
            columns: REGISTER_EXPORT_COLUMNS,
            rows,
        })
    }

    /// Visits, newest first, with the checklist outcomes counted and the
    /// problem items named.
    fn visits_table(&self, scope: &ExportScope) -> Result<Table> {
        let addresses = self.addresses()?;
        let mut templates: HashMap<(String, u32), Option<Template>> = HashMap::new();
        let mut rows = Vec::new();
        for v in self.list_visits(None)? {
            if !scope.has_household(v.household) {
                continue;
            }
            let key = (v.checklist.id.clone(), v.checklist.version);
            let template = templates.entry(key).or_insert_with(|| {
                resolve_template(self.conn, &v.checklist.id, Some(v.checklist.version))
                    .ok()
                    .map(std::borrow::Cow::into_owned)
            });
            let count = |o: Outcome| v.answers.iter().filter(|a| a.outcome == o).count() as f64;
            let problems = v
                .answers
                .iter()
                .filter(|a| a.outcome == Outcome::Problem)
                .map(|a| {
                    let label = template
                        .as_ref()
                        .and_then(|t| t.field(&a.item))
                        .map_or(a.item.as_str(), |f| f.label_zh.as_str());
                    if a.note.trim().is_empty() {
                        label.to_string()
                    } else {
                        format!("{label}({})", a.note.trim())
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            let checklist = match template {
                Some(t) => format!("{} v{}", t.title_zh, t.version),
                None => format!("{} v{}", v.checklist.id, v.checklist.version),
            };
            rows.push(vec![
                Cell::text(v.id.to_string()),
                Cell::text(self.local_time(v.started_at)),
                Cell::text(self.local_time(v.ended_at)),
                Cell::text(v.worker.as_str()),
                Cell::text(v.household.to_string()),
                Cell::text(addresses.get(&v.household).cloned().unwrap_or_default()),
                Cell::text(checklist),
                Cell::Number(count(Outcome::Ok)),
                Cell::Number(count(Outcome::Problem)),
                Cell::Number(count(Outcome::NotApplicable)),
                Cell::text(problems),
                Cell::text(&v.note),
            ]);
        }
        Ok(Table {
            sheet: "走访记录 Visits",
            columns: VISIT_COLUMNS,
            rows,
        })
    }

    /// Hazards, newest first.
    fn hazards_table(&self, scope: &ExportScope) -> Result<Table> {
        let addresses = self.addresses()?;
        let rows = self
            .list_hazards(false)?
            .into_iter()
            .filter(|h| scope.has_grid(&h.grid))
            .map(|h| {
                vec![
                    Cell::text(h.id.to_string()),
                    Cell::text(self.local_time(h.reported_at)),
                    Cell::text(&h.category),
                    Cell::text(h.severity.label_zh()),
                    Cell::text(h.status.label_zh()),
                    Cell::text(&h.place),
                    Cell::text(&h.description),
                    Cell::text(h.household.map(|id| id.to_string()).unwrap_or_default()),
                    Cell::text(address_of(&addresses, h.household)),
                    Cell::text(h.deadline.map(|t| self.local_time(t)).unwrap_or_default()),
                    Cell::text(h.reported_by.as_str()),
                    Cell::text(
                        h.transitions
                            .iter()
                            .map(|t| t.at)
                            .max()
                            .map(|t| self.local_time(t))
                            .unwrap_or_default(),
                    ),
                    Cell::text(h.severity.code()),
                    Cell::text(h.status.code()),
                ]
            })
            .collect();
        Ok(Table {
            sheet: "隐患 Hazards",
            columns: HAZARD_COLUMNS,
            rows,
        })
    }

    /// Cases, newest first, with their first-response time and timers as of now.
    fn cases_table(&self, scope: &ExportScope) -> Result<Table> {
        let addresses = self.addresses()?;
        let rows = self
            .list_cases(false)?
            .into_iter()
            .filter(|c| scope.has_grid(&c.grid))
            .map(|c| {
                let minutes = c.first_response_at.map(|at| {
                    let m = (at.0 - c.opened_at.0) as f64 / 60_000.0;
                    Cell::Number((m * 10.0).round() / 10.0)
                });
                vec![
                    Cell::text(c.id.to_string()),
                    Cell::text(self.local_time(c.opened_at)),
                    Cell::text(c.channel.label_zh()),
                    Cell::text(&c.category),
                    Cell::text(c.urgency.label_zh()),
                    Cell::text(&c.description),
                    Cell::text(c.status.label_zh()),
                    Cell::text(c.household.map(|id| id.to_string()).unwrap_or_default()),
                    Cell::text(address_of(&addresses, c.household)),
                    Cell::text(c.opened_by.as_str()),
                    Cell::text(
                        c.first_response_at
                            .map(|t| self.local_time(t))
                            .unwrap_or_default(),
                    ),
                    minutes.unwrap_or(Cell::Empty),
                    Cell::text(yes_no(c.timers.responded_late || c.timers.response_overdue)),
                    Cell::text(yes_no(c.escalated)),
                    Cell::text(self.local_time(c.timers.handling_due_at)),
                    Cell::text(yes_no(c.timers.handling_overdue)),
                    Cell::text(c.channel.code()),
                    Cell::text(c.urgency.code()),
                    Cell::text(c.status.code()),
                ]
            })
            .collect();
        Ok(Table {
            sheet: "诉求事件 Cases",
            columns: CASE_COLUMNS,
            rows,
        })
    }

    /// Address of every household, for the record exports.
    fn addresses(&self) -> Result<HashMap<HouseholdId, String>> {
        Ok(self
            .list_households()?
            .into_iter()
            .map(|h| (h.id, h.address))
            .collect())
    }

    /// `YYYY-MM-DD HH:MM` in the store's time zone.
    fn local_time(&self, at: Timestamp) -> String {
        at.to_jiff()
            .to_zoned_datetime(self.tz.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    }
}

fn address_of(addresses: &HashMap<HouseholdId, String>, id: Option<HouseholdId>) -> String {
    id.and_then(|id| addresses.get(&id).cloned())
        .unwrap_or_default()
}

/// Tag labels joined by `；`.
fn tag_labels(tags: &[SpecialGroup]) -> String {
    tags.iter()
        .map(|t| t.label_zh())
        .collect::<Vec<_>>()
        .join("；")
}

/// A risk level's zh-CN label.
fn risk_label(risk: RiskLevel) -> &'static str {
    match risk {
        RiskLevel::None => "无",
        RiskLevel::Blue => "蓝",
        RiskLevel::Yellow => "黄",
        RiskLevel::Red => "红",
    }
}

/// Tag codes joined by `;`.
fn tag_codes(tags: &[SpecialGroup]) -> String {
    tags.iter().map(|t| t.code()).collect::<Vec<_>>().join(";")
}

/// 是/否, for people (the record exports; the register keeps `true`/`false`
/// for its re-import).
fn yes_no(value: bool) -> &'static str {
    if value {
        "是"
    } else {
        "否"
    }
}

fn bool_code(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

// ---------------------------------------------------------------------------
// Writers
// ---------------------------------------------------------------------------

/// Write a table as an XLSX workbook with one worksheet.
pub(super) fn write_xlsx(table: &Table) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| write_error("xlsx", e);
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(table.sheet).map_err(err)?;
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    for (c, column) in table.columns.iter().enumerate() {
        let c = c as u16;
        sheet.set_column_width(c, column.width).map_err(err)?;
        if column.kind == ColumnKind::Verbatim {
            sheet.set_column_format(c, &text).map_err(err)?;
        }
        sheet
            .write_string_with_format(0, c, column.header(), &bold)
            .map_err(err)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, (cell, column)) in row.iter().zip(table.columns).enumerate() {
            let c = c as u16;
            match cell {
                Cell::Empty => {}
                Cell::Text(s) if column.kind == ColumnKind::Verbatim => {
                    sheet
                        .write_string_with_format(r, c, s, &text)
                        .map_err(err)?;
                }
                Cell::Text(s) => {
                    sheet.write_string(r, c, s).map_err(err)?;
                }
                Cell::Number(n) => {
                    sheet.write_number(r, c, *n).map_err(err)?;
                }
            }
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(err)?;
    let last_col = table.columns.len().saturating_sub(1) as u16;
    sheet
        .autofilter(0, 0, table.rows.len() as u32, last_col)
        .map_err(err)?;
    book.save_to_buffer().map_err(err)
}

/// Characters that make Excel read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// True when `text`, after any leading `'`, starts like a formula.
pub(super) fn looks_like_formula(text: &str) -> bool {
    text.trim_start_matches('\'').starts_with(FORMULA_START)
}

/// Write a table as UTF-8 CSV with a byte-order mark, CRLF and RFC 4180
/// quoting; text that Excel would run as a formula gets a leading `'`.
pub(super) fn write_csv(table: &Table) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64 * (table.rows.len() + 1));
    out.extend_from_slice("\u{feff}".as_bytes());
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let err = |e: csv::Error| write_error("csv", e);
    writer
        .write_record(table.columns.iter().map(Column::header))
        .map_err(err)?;
    for row in &table.rows {
        writer
            .write_record(row.iter().map(|cell| match cell {
                Cell::Text(t) if looks_like_formula(t) => format!("'{t}"),
                other => other.as_text(),
            }))
            .map_err(err)?;
    }
    writer
        .into_inner()
        .map_err(|e| write_error("csv", e.error()))
}

/// Which records an export covers.
enum ExportScope {
    /// Everything in the store (the phone's own export).
    All,
    /// The listed grids, and the households in them.
    Grids {
        grids: HashSet<String>,
        households: HashSet<HouseholdId>,
    },
}

impl ExportScope {
    fn of<C: SqlConn + ?Sized>(conn: &C, grids: &[GridCode]) -> Result<ExportScope> {
        let grids: HashSet<String> = grids.iter().map(|g| g.0.clone()).collect();
        let mut households = HashSet::new();
        for row in conn.rows("SELECT id, grid FROM households", &[])? {
            let [id, grid] = columns(row)?;
            if grids.contains(&grid.text()?) {
                if let Ok(id) = id.text()?.parse() {
                    households.insert(id);
                }
            }
        }
        Ok(ExportScope::Grids { grids, households })
    }

    fn has_grid(&self, grid: &GridCode) -> bool {
        match self {
            ExportScope::All => true,
            ExportScope::Grids { grids, .. } => grids.contains(&grid.0),
        }
    }

    fn has_household(&self, id: HouseholdId) -> bool {
        match self {
            ExportScope::All => true,
            ExportScope::Grids { households, .. } => households.contains(&id),
        }
    }
}

//! The monthly evaluation as a spreadsheet: one row per gridworker, as
//! [`evaluation()`](super::evaluation()) returns them, written by the core's
//! XLSX and CSV writers like every other export (see
//! [`gridwork_core::exchange`] for the file format). Counts are number cells;
//! shares are percentages rounded to one decimal (`83.3` means 83.3 %),
//! the score is rounded to one decimal too.

use super::EvaluationRow;
use gridwork_core::exchange::{Cell, Column, ColumnKind, ExportFormat, Table};
use gridwork_core::Result;

/// The evaluation's columns, in export order.
pub const EVALUATION_COLUMNS: &[Column] = &[
    Column::new("worker_id", "网格员编号", ColumnKind::Verbatim, 12.0),
    Column::new("name", "姓名", ColumnKind::Text, 10.0),
    Column::new("grid", "网格", ColumnKind::Verbatim, 16.0),
    Column::new("month", "月份", ColumnKind::Verbatim, 9.0),
    Column::new("households", "住户数", ColumnKind::Number, 8.0),
    Column::new(
        "households_visited",
        "本人走访户数",
        ColumnKind::Number,
        10.0,
    ),
    Column::new(
        "grid_households_visited",
        "网格已走访户数",
        ColumnKind::Number,
        10.0,
    ),
    Column::new("coverage_pct", "走访覆盖率(%)", ColumnKind::Number, 10.0),
    Column::new(
        "special_households",
        "重点人群户数",
        ColumnKind::Number,
        10.0,
    ),
    Column::new("special_on_time", "按期走访户数", ColumnKind::Number, 10.0),
    Column::new("special_pct", "重点人群按期率(%)", ColumnKind::Number, 12.0),
    Column::new("cases", "应响应诉求数", ColumnKind::Number, 10.0),
    Column::new("responses_on_time", "按时响应数", ColumnKind::Number, 10.0),
    Column::new("response_pct", "按时响应率(%)", ColumnKind::Number, 10.0),
    Column::new("hazards", "应整改隐患数", ColumnKind::Number, 10.0),
    Column::new("hazards_closed", "当月销号数", ColumnKind::Number, 10.0),
    Column::new("hazard_pct", "隐患销号率(%)", ColumnKind::Number, 10.0),
    Column::new("forms", "台账填报数", ColumnKind::Number, 10.0),
    Column::new("forms_target", "台账目标数", ColumnKind::Number, 10.0),
    Column::new("form_pct", "台账完成率(%)", ColumnKind::Number, 10.0),
    Column::new("score", "综合得分", ColumnKind::Number, 9.0),
    // Added in issue 16, after the older columns (scripts read them by place).
    Column::new("duty_cases", "计入台账的事项数", ColumnKind::Number, 12.0),
];

/// The evaluation `rows` as a [`Table`], in their order.
pub fn evaluation_table(rows: &[EvaluationRow]) -> Table {
    let count = |n: u32| Cell::Number(f64::from(n));
    let pct = |share: f64| Cell::Number(one_decimal(share * 100.0));
    Table {
        sheet: "考核 Evaluation",
        columns: EVALUATION_COLUMNS,
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::text(r.worker.as_str()),
                    Cell::text(&r.name),
                    Cell::text(r.grid.as_str()),
                    Cell::text(&r.month),
                    count(r.households),
                    count(r.households_visited),
                    count(r.grid_households_visited),
                    pct(r.coverage),
                    count(r.special_households),
                    count(r.special_on_time),
                    pct(r.special_share),
                    count(r.cases),
                    count(r.responses_on_time),
                    pct(r.response_share),
                    count(r.hazards),
                    count(r.hazards_closed),
                    pct(r.hazard_share),
                    count(r.forms),
                    count(r.forms_target),
                    pct(r.form_share),
                    Cell::Number(one_decimal(r.score)),
                    count(r.duty_cases),
                ]
            })
            .collect(),
    }
}

/// Write the evaluation `rows` as `format` (XLSX, or CSV with a byte-order
/// mark and the formula guard), with bilingual headers.
pub fn export_evaluation(rows: &[EvaluationRow], format: ExportFormat) -> Result<Vec<u8>> {
    evaluation_table(rows).to_bytes(format)
}

/// `value` rounded to one decimal.
fn one_decimal(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

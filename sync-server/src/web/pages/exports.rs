//! `GET /exports`: the downloads page; `GET /exports/{kind}.{xlsx|csv}`:
//! households (the register, re-importable with `gridwork import register`),
//! visits, hazards and cases of the staff member's subtree, and the
//! evaluation of a month (`?month=YYYY-MM`), as Excel or CSV, written by the
//! core's `exchange` module. Exports holding personal data (households,
//! visits, cases) are recorded in the access log with the grids they covered.

use super::evaluation::{rows as evaluation_rows, EvaluationQuery};
use super::{Names, Outcome, PageRequest, View};
use crate::access_log;
use crate::dashboard::export_evaluation;
use crate::db::now_ms;
use crate::error::Error;
use crate::web::page::{frame, previous_month};
use axum::extract::{Path, Query};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gridwork_core::exchange::{Cell, ExportFormat, ExportKind, Table};
use gridwork_core::model::GridCode;
use maud::html;

/// The downloads: (kind code, zh, en).
const KINDS: &[(&str, &str, &str)] = &[
    (
        "households",
        "住户名册（可重新导入）",
        "Household register (re-importable)",
    ),
    ("visits", "走访记录", "Visits"),
    ("hazards", "隐患", "Hazards"),
    ("cases", "事项", "Cases"),
];

/// `GET /exports`.
pub async fn index(request: PageRequest) -> Response {
    request
        .respond(|view| Ok(Outcome::Page(StatusCode::OK, page(view))))
        .await
}

fn page(view: &View) -> String {
    let ctx = &view.ctx;
    let month = previous_month();
    let body = html! {
        p.hint { (ctx.t("导出范围为您管辖的网格；含个人信息的导出会记入访问日志。", "Exports cover the grids in your area; exports holding personal data are recorded in the access log.")) }
        table.data #exports {
            tbody {
                @for (kind, zh, en) in KINDS {
                    tr data-export=(kind) {
                        td { (ctx.t(zh, en)) }
                        td { a href={ "/exports/" (kind) ".xlsx" } download { "Excel (.xlsx)" } }
                        td { a href={ "/exports/" (kind) ".csv" } download { "CSV" } }
                    }
                }
                tr data-export="evaluation" {
                    td { (ctx.t("上月考核", "Last month's evaluation")) " " (month) }
                    td { a href={ "/exports/evaluation.xlsx?month=" (month) } download { "Excel (.xlsx)" } }
                    td { a href={ "/exports/evaluation.csv?month=" (month) } download { "CSV" } }
                }
            }
        }
    };
    frame(ctx, ctx.t("导出", "Exports"), body)
}

/// The columns of the record exports that hold a person's id.
const PERSON_COLUMNS: &[&str] = &["worker", "reported_by", "opened_by"];

/// Write people as `姓名（id）` in the record exports' person columns: the
/// name for people, the id kept for scripts.
fn name_people(table: &mut Table, names: &Names) {
    let at: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| PERSON_COLUMNS.contains(&c.key))
        .map(|(i, _)| i)
        .collect();
    for row in &mut table.rows {
        for &i in &at {
            if let Some(Cell::Text(id)) = row.get(i) {
                if let Some(name) = names.name_of(id) {
                    let named = format!("{name}（{id}）");
                    row[i] = Cell::Text(named);
                }
            }
        }
    }
}

/// `GET /exports/{file}`, file = `KIND.xlsx` or `KIND.csv`; `?grid=CODE`
/// narrows it to one node of the subtree.
pub async fn download(
    Path(file): Path<String>,
    Query(query): Query<EvaluationQuery>,
    request: PageRequest,
) -> Response {
    request.respond(move |view| {
        let not_found = || Error::not_found("export", file.clone());
        let (kind, ext) = file.rsplit_once('.').ok_or_else(not_found)?;
        let format = ExportFormat::parse(ext).map_err(|_| not_found())?;
        let grids = match query.grid.trim() {
            "" => view.scope.grids(),
            grid => {
                let grid = GridCode(grid.to_owned());
                if !view.scope.covers(&grid) {
                    return Err(Error::not_found("grid", grid.0));
                }
                view.scope.grids_under(&grid)
            }
        };
        let (bytes, name) = if kind == "evaluation" {
            let (month, mut rows) = evaluation_rows(view, &query.month)?;
            rows.retain(|r| grids.contains(&r.grid));
            (
                export_evaluation(&rows, format)?,
                format!("evaluation-{month}"),
            )
        } else {
            let what = ExportKind::parse(kind).map_err(|_| not_found())?;
            let mut table = view.read(|r| Ok(r.export_table_in(what, &grids)?))?;
            name_people(&mut table, &view.names()?);
            let bytes = table.to_bytes(format)?;
            if what != ExportKind::Hazards {
                let codes: Vec<String> = grids.iter().map(|g| g.0.clone()).collect();
                access_log::record_export(
                    &view.state.backend,
                    &view.ctx.account.worker_id.0,
                    what.code(),
                    &codes,
                    now_ms(),
                )?;
            }
            (bytes, what.code().to_owned())
        };
        tracing::info!(worker = %view.ctx.account.worker_id.0, export = %kind, "export downloaded");
        let mime = match format {
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ExportFormat::Csv => "text/csv; charset=utf-8",
        };
        let disposition = format!("attachment; filename=\"gridwork-{name}.{}\"", format.code());
        let mut response = (StatusCode::OK, bytes).into_response();
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition).map_err(|_| not_found())?,
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(Outcome::Raw(response))
    })
    .await
}

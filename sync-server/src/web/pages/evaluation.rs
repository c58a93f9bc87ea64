//! `GET /evaluation?month=YYYY-MM&sort=COLUMN`: the gridworkers' evaluation
//! (考核) for a month — the gridworkers whose grid is in the staff member's
//! subtree, scored by the core's documented formula (`docs/evaluation.md`:
//! coverage, special-group visits on time, first responses on time,
//! hazards closed, forms completed). Sorting is by links in the column
//! headers (no script); the same rows download as XLSX or CSV from
//! `/exports/evaluation.xlsx?month=…`.

use super::{Outcome, PageRequest, View};
use crate::accounts;
use crate::dashboard::{self, EvaluationRow, Evaluee};
use crate::error::Error;
use crate::web::page::{current_month, frame, percent, previous_month};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use gridwork_core::model::Role;
use maud::html;
use serde::Deserialize;

/// Query of `GET /evaluation` (and of the evaluation export).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EvaluationQuery {
    /// `YYYY-MM`; the last complete month when empty (the current one is
    /// still being worked).
    pub month: String,
    /// Column to sort by (see [`COLUMNS`]); score when empty.
    pub sort: String,
    /// Exports only: narrow to this grid of the subtree (e.g. the register
    /// of one gridworker's grid, to hand to their phone).
    pub grid: String,
}

/// Sortable columns: (code, zh, en).
const COLUMNS: &[(&str, &str, &str)] = &[
    ("worker", "网格员", "Gridworker"),
    ("grid", "网格", "Grid"),
    ("coverage", "网格走访覆盖", "Grid coverage"),
    ("own", "本人走访户", "Own visits (households)"),
    ("special", "特殊群体按时", "Special groups on time"),
    ("response", "按时响应", "Responses on time"),
    ("hazards", "隐患销号", "Hazards closed"),
    ("forms", "表单完成", "Forms"),
    ("score", "得分", "Score"),
];

/// The evaluation rows of `month` (empty = the last complete month) for the gridworkers
/// of `view`'s scope, in the core's order (score, then id).
pub fn rows(view: &View, month: &str) -> Result<(String, Vec<EvaluationRow>), Error> {
    let month = if month.trim().is_empty() {
        previous_month()
    } else {
        month.trim().to_owned()
    };
    let evaluees: Vec<Evaluee> = view
        .state
        .backend
        .read(|conn| accounts::list_workers_in(conn))?
        .into_iter()
        .filter(|w| w.role == Role::Gridworker && view.scope.covers(&w.grid))
        .map(|w| Evaluee {
            worker: w.id,
            name: w.name,
            grid: w.grid,
        })
        .collect();
    let rows = view.read(|r| Ok(dashboard::evaluation(r, &evaluees, &month)?))?;
    Ok((month, rows))
}

fn sort_rows(rows: &mut [EvaluationRow], sort: &str) {
    let key = |r: &EvaluationRow| -> f64 {
        match sort {
            "coverage" => r.coverage,
            "own" => f64::from(r.households_visited),
            "special" => r.special_share,
            "response" => r.response_share,
            "hazards" => r.hazard_share,
            "forms" => r.form_share,
            _ => r.score,
        }
    };
    match sort {
        "worker" => rows.sort_by(|a, b| a.worker.0.cmp(&b.worker.0)),
        "grid" => rows.sort_by(|a, b| (&a.grid.0, &a.worker.0).cmp(&(&b.grid.0, &b.worker.0))),
        _ => rows.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.worker.0.cmp(&b.worker.0))),
    }
}

/// `GET /evaluation`.
pub async fn evaluation(Query(query): Query<EvaluationQuery>, request: PageRequest) -> Response {
    request
        .respond(move |view| {
            let (month, mut rows) = rows(view, &query.month)?;
            sort_rows(&mut rows, &query.sort);
            Ok(Outcome::Page(
                StatusCode::OK,
                page(view, &month, &rows, &query.sort),
            ))
        })
        .await
}

fn page(view: &View, month: &str, rows: &[EvaluationRow], sort: &str) -> String {
    let ctx = &view.ctx;
    let sort = if sort.is_empty() { "score" } else { sort };
    let body = html! {
        form.bar method="get" action="/evaluation" {
            label { (ctx.t("月份", "Month")) " " input type="month" name="month" value=(month); }
            input type="hidden" name="sort" value=(sort);
            button type="submit" { (ctx.t("查看", "Show")) }
            a href={ "/exports/evaluation.xlsx?month=" (month) } { (ctx.t("导出 Excel", "Export XLSX")) }
            a href={ "/exports/evaluation.csv?month=" (month) } { "CSV" }
            @if month != previous_month() { a href="/evaluation" { (ctx.t("上个完整月", "Last complete month")) } }
            @if month != current_month() { a href={ "/evaluation?month=" (current_month()) "&sort=" (sort) } { (ctx.t("本月（进行中）", "This month (in progress)")) } }
        }
        @if month == current_month() {
            p.hint.warn data-month="in-progress" { (ctx.t("本月尚未结束，得分会随工作进展变化。", "This month is not over: the scores change as the work goes on.")) }
        }
        p.hint {
            (ctx.t("得分 = 100 ×（0.30 走访覆盖 + 0.25 特殊群体按时走访 + 0.20 按时首次响应 + 0.15 隐患销号 + 0.10 表单完成）；公式详见 docs/evaluation.md。",
                   "Score = 100 × (0.30 coverage + 0.25 special groups visited on time + 0.20 first responses on time + 0.15 hazards closed + 0.10 forms completed); see docs/evaluation.md."))
            " "
            (ctx.t("时间以服务器收到记录时核验的为准；“时间未核验”为手机时钟有误或补传过迟的记录数。",
                   "Times are those the server checked on receipt; “unverified times” counts records made on a phone whose clock was wrong, or sent in very late."))
        }
        table.data #evaluation {
            thead { tr {
                @for (code, zh, en) in COLUMNS {
                    th.num[*code != "worker" && *code != "grid"] aria-sort=[(*code == sort).then_some("descending")] {
                        a href={ "/evaluation?month=" (month) "&sort=" (code) } { (ctx.t(zh, en)) }
                    }
                }
                th.num title=(ctx.t("服务器无法核验其时间的记录数", "Records whose time the server could not verify")) {
                    (ctx.t("时间未核验", "Unverified times"))
                }
            } }
            tbody {
                @for r in rows {
                    tr data-worker=(r.worker.0) {
                        td { (r.name) " " code { (r.worker.0) } }
                        td { (view.scope.name_of(&r.grid)) }
                        td.num data-figure="coverage" title={ (r.grid_households_visited) "/" (r.households) } { (percent(r.coverage)) }
                        td.num data-figure="own_visited" { (r.households_visited) }
                        td.num data-figure="special" title={ (r.special_on_time) "/" (r.special_households) } { (percent(r.special_share)) }
                        td.num data-figure="response" title={ (r.responses_on_time) "/" (r.cases) } { (percent(r.response_share)) }
                        td.num data-figure="hazards" title={ (r.hazards_closed) "/" (r.hazards) } { (percent(r.hazard_share)) }
                        td.num data-figure="forms" title={ (r.forms) " + " (r.duty_cases) "/" (r.forms_target) } { (percent(r.form_share)) }
                        td.num data-figure="score" { strong { (format!("{:.1}", r.score)) } }
                        td.num data-figure="unverified" { (r.unverified) }
                    }
                }
            }
        }
    };
    frame(ctx, ctx.t("网格员考核", "Gridworker evaluation"), body)
}

//! A person's work (issue 15 §4): `GET /visits?grid=…&worker=…&days=N&problems=1&page=N`,
//! the visits of the subtree newest first, each with its household, the
//! gridworker by name and the checklist problems by label; and
//! `GET /workers/{id}`, a gridworker's or staff member's page — their grid,
//! what they did in the last 30 days (visits, households visited, cases
//! opened, workflow moves), their recent visits and cases and their work
//! log. Only people whose node lies in the viewer's subtree (404 otherwise).

use super::filters::{area_select, pager, RECORDS_PER_PAGE};
use super::{Names, Outcome, PageRequest, View};
use crate::accounts;
use crate::error::Error;
use crate::web::labels;
use crate::web::page::{frame, local_time, PageCtx};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use gridwork_core::api::reads::{in_list, json_list, read_visits};
use gridwork_core::model::{
    CaseState, GridCode, HouseholdId, Outcome as ItemOutcome, Visit, Worker, Workflow,
};
use gridwork_core::store::sql::{columns, SqlValue};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;

/// Days a worker's page and the visit list look back by default.
const DEFAULT_DAYS: u32 = 30;
/// Most days the visit list looks back.
const MAX_DAYS: u32 = 366;

/// The query of `GET /visits`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct VisitQuery {
    /// A node of the subtree; the whole subtree when empty.
    pub grid: String,
    /// A worker id: only their visits.
    pub worker: String,
    /// Days back (default 30).
    pub days: Option<u32>,
    /// `1` for visits that found a problem only.
    pub problems: Option<String>,
    /// 1-based page.
    pub page: Option<usize>,
}

impl VisitQuery {
    fn url(&self, page: usize) -> String {
        let days = self.days.map(|d| d.to_string()).unwrap_or_default();
        let page = if page > 1 {
            page.to_string()
        } else {
            String::new()
        };
        let pairs: Vec<(&str, &str)> = [
            ("grid", self.grid.trim()),
            ("worker", self.worker.trim()),
            ("days", days.as_str()),
            ("problems", self.problems.as_deref().unwrap_or("")),
            ("page", page.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        match serde_urlencoded::to_string(&pairs) {
            Ok(q) if !q.is_empty() => format!("/visits?{q}"),
            _ => "/visits".to_owned(),
        }
    }
}

/// Which visits a list or a person's page asks for.
struct VisitFilter<'a> {
    grids: &'a [GridCode],
    /// Since (ms).
    since: i64,
    worker: Option<&'a str>,
    problems_only: bool,
}

/// One page of visits (newest first) and what the page needs to show them.
struct VisitPage {
    /// Visits matching the filter.
    total: usize,
    /// Distinct households among them.
    households: usize,
    /// The page's visits.
    visits: Vec<Visit>,
    /// Their households' addresses.
    addresses: HashMap<HouseholdId, String>,
}

/// The visits `f` selects: counted in SQL, and only `limit` of them from
/// `offset` read in full (answers and photos are read per visit).
fn visit_page(
    view: &View,
    f: &VisitFilter<'_>,
    offset: usize,
    limit: usize,
) -> Result<VisitPage, Error> {
    let scope = json_list(f.grids);
    view.read(|r| {
        let dialect = r.conn.dialect();
        let mut filter = format!(
            "v.household_id IN (SELECT id FROM households WHERE grid {}) AND v.started_at >= ?2",
            in_list(dialect, 1)
        );
        let mut args: Vec<SqlValue<'_>> = vec![scope.as_str().into(), f.since.into()];
        if let Some(worker) = f.worker {
            filter.push_str(" AND v.worker_id = ?3");
            args.push(worker.into());
        }
        if f.problems_only {
            filter.push_str(
                " AND EXISTS (SELECT 1 FROM visit_answers a WHERE a.visit_id = v.id AND a.outcome = 'problem')",
            );
        }
        let counts = r
            .conn
            .rows(
                &format!("SELECT count(*), count(DISTINCT v.household_id) FROM visits v WHERE {filter}"),
                &args,
            )?
            .into_iter()
            .next()
            .map(columns)
            .transpose()?;
        let (total, households) = match counts {
            Some([total, households]) => (total.count()? as usize, households.count()? as usize),
            None => (0, 0),
        };
        let visits = read_visits(
            r.conn,
            &format!(
                "WHERE v.id IN (SELECT v.id FROM visits v WHERE {filter}
                   ORDER BY v.started_at DESC, v.id DESC LIMIT {limit} OFFSET {offset})"
            ),
            &args,
        )?;
        let ids: Vec<GridCode> = visits.iter().map(|v| GridCode(v.household.to_string())).collect();
        let mut addresses = HashMap::new();
        for row in r.conn.rows(
            &format!("SELECT id, address FROM households WHERE id {}", in_list(dialect, 1)),
            &[json_list(&ids).as_str().into()],
        )? {
            let [id, address] = columns(row)?;
            if let Ok(id) = id.text()?.parse() {
                addresses.insert(id, address.text()?);
            }
        }
        Ok(VisitPage {
            total,
            households,
            visits,
            addresses,
        })
    })
}

/// A visit's checklist problems: each item by its label, with its note.
pub fn problems(ctx: &PageCtx, v: &Visit) -> Markup {
    html! {
        @for a in v.answers.iter().filter(|a| a.outcome == ItemOutcome::Problem) {
            div.problem data-item=(a.item) {
                span.tag.warn { (labels::checklist_item(ctx.lang, &a.item)) }
                @if !a.note.is_empty() { " " (a.note) }
            }
        }
    }
}

/// The visits table.
fn visits_table(
    ctx: &PageCtx,
    visits: &[&Visit],
    addresses: &HashMap<HouseholdId, String>,
    names: &Names,
) -> Markup {
    html! {
        table.data #visits {
            thead { tr {
                th { (ctx.t("时间", "When")) } th { (ctx.t("住户", "Household")) }
                th { (ctx.t("网格员", "Gridworker")) } th { (ctx.t("发现问题", "Problems found")) }
                th { (ctx.t("备注", "Note")) }
            } }
            tbody {
                @for v in visits {
                    tr data-visit=(v.id) {
                        td { (local_time(v.started_at)) }
                        td { a href={ "/households/" (v.household) } { (addresses.get(&v.household).map_or("—", String::as_str)) } }
                        td { (names.person(&v.worker.0)) }
                        td { (problems(ctx, v)) }
                        td { (v.note) }
                    }
                }
            }
        }
    }
}

/// `GET /visits`.
pub async fn visits(Query(query): Query<VisitQuery>, request: PageRequest) -> Response {
    request
        .respond(move |view| {
            let grids = view.scope.grids_of(&query.grid)?;
            let days = query.days.unwrap_or(DEFAULT_DAYS).clamp(1, MAX_DAYS);
            let since = crate::db::now_ms() - i64::from(days) * 86_400_000;
            let worker = Some(query.worker.trim()).filter(|w| !w.is_empty());
            if let Some(w) = worker {
                // Only people who work in the viewer's subtree.
                let known = view
                    .state
                    .backend
                    .read(|conn| accounts::list_workers_in(conn))?
                    .into_iter()
                    .any(|x| x.id.0 == w && view.scope.covers(&x.grid));
                if !known {
                    return Err(Error::not_found("worker", ""));
                }
            }
            let problems_only = query.problems.as_deref() == Some("1");
            let filter = VisitFilter {
                grids: &grids,
                since,
                worker,
                problems_only,
            };
            let first = visit_page(view, &filter, 0, 0)?;
            let pages = first.total.div_ceil(RECORDS_PER_PAGE).max(1);
            let current = query.page.unwrap_or(1).clamp(1, pages);
            let page = visit_page(view, &filter, (current - 1) * RECORDS_PER_PAGE, RECORDS_PER_PAGE)?;
            let names = view.names()?;
            let ctx = &view.ctx;
            let shown: Vec<&Visit> = page.visits.iter().collect();
            let body = html! {
                form.filters method="get" action="/visits" {
                    (area_select(view, &query.grid))
                    label { (ctx.t("天数", "Days")) " " input type="number" name="days" min="1" max=(MAX_DAYS) value=(days); }
                    label { input type="checkbox" name="problems" value="1" checked[problems_only]; " " (ctx.t("只看发现问题的", "with problems only")) }
                    @if let Some(w) = worker { input type="hidden" name="worker" value=(w); }
                    button type="submit" { (ctx.t("筛选", "Filter")) }
                    a href="/visits" { (ctx.t("清除", "Clear")) }
                }
                p.hint {
                    @if let Some(w) = worker { (names.person(w)) " · " }
                    (ctx.t("近 ", "last ")) (days) (ctx.t(" 天走访 ", " days: ")) span data-figure="found" { (page.total) } (ctx.t(" 次", " visits"))
                }
                (visits_table(ctx, &shown, &page.addresses, &names))
                (pager(ctx, current, pages, |page| query.url(page)))
            };
            Ok(Outcome::Page(StatusCode::OK, frame(ctx, ctx.t("走访记录", "Visits"), body)))
        })
        .await
}

/// `GET /workers/{id}`.
pub async fn worker(Path(id): Path<String>, request: PageRequest) -> Response {
    request
        .respond(move |view| {
            let not_found = || Error::not_found("worker", "");
            let worker: Worker = view
                .state
                .backend
                .read(|conn| accounts::list_workers_in(conn))?
                .into_iter()
                .find(|w| w.id.0 == id)
                .ok_or_else(not_found)?;
            if !view.scope.covers(&worker.grid) {
                return Err(not_found());
            }
            Ok(Outcome::Page(StatusCode::OK, worker_page(view, &worker)?))
        })
        .await
}

fn worker_page(view: &View, w: &Worker) -> Result<String, Error> {
    let ctx = &view.ctx;
    let now = crate::db::now_ms();
    let since = now - i64::from(DEFAULT_DAYS) * 86_400_000;
    let grids = view.scope.grids();
    let filter = VisitFilter {
        grids: &grids,
        since,
        worker: Some(w.id.as_str()),
        problems_only: false,
    };
    let visits = visit_page(view, &filter, 0, 20)?;
    let scope = json_list(&grids);
    let (opened, moves, recent_cases) = view.read(|r| {
        let in_scope = in_list(r.conn.dialect(), 1);
        let count = |sql: &str| -> Result<i64, Error> {
            Ok(r.conn
                .value(sql, &[scope.as_str().into(), w.id.as_str().into(), since.into()])?
                .map(|c| c.int())
                .transpose()?
                .unwrap_or(0))
        };
        let opened = count(&format!(
            "SELECT count(*) FROM cases WHERE grid {in_scope} AND opened_by = ?2 AND opened_at >= ?3"
        ))?;
        let moves = count(&format!(
            "SELECT count(*) FROM case_transitions t JOIN cases c ON c.doc_key = t.doc_key
             WHERE c.grid {in_scope} AND t.by_worker = ?2 AND t.at >= ?3"
        ))?;
        let recent = gridwork_core::api::reads::read_cases(
            r.conn,
            &format!(
                "WHERE id IN (SELECT c.id FROM cases c WHERE c.grid {in_scope}
                   AND (c.opened_by = ?2 OR c.doc_key IN (SELECT t.doc_key FROM case_transitions t WHERE t.by_worker = ?2))
                   ORDER BY c.opened_at DESC, c.id DESC LIMIT 20)"
            ),
            &[scope.as_str().into(), w.id.as_str().into()],
            r.now,
        )?;
        Ok((opened, moves, recent))
    })?;
    let log = view.read(|r| {
        let mut out = Vec::new();
        for row in r.conn.rows(
            "SELECT date, priorities, notes FROM work_log_days WHERE worker_id = ?1 ORDER BY date DESC LIMIT 14",
            &[w.id.as_str().into()],
        )? {
            let [date, priorities, notes] = columns(row)?;
            let priorities: Vec<String> = serde_json::from_str(&priorities.text()?).unwrap_or_default();
            out.push((date.text()?, priorities, notes.text()?));
        }
        Ok(out)
    })?;
    let names = view.names()?;
    let recent: Vec<&Visit> = visits.visits.iter().collect();
    let body = html! {
        p { (ctx.lang.role(w.role)) " · " (view.scope.name_of(&w.grid)) " · " code { (w.id.0) } }
        section #worker-figures .cards {
            div.card-figure { h3 { (ctx.t("走访次数", "Visits")) } p.period { (ctx.t("近 30 天", "Last 30 days")) } p.big { span data-figure="visits" { (visits.total) } } }
            div.card-figure { h3 { (ctx.t("走访户数", "Households visited")) } p.period { (ctx.t("近 30 天", "Last 30 days")) } p.big { span data-figure="households_visited" { (visits.households) } } }
            div.card-figure { h3 { (ctx.t("受理事项", "Cases taken")) } p.period { (ctx.t("近 30 天", "Last 30 days")) } p.big { span data-figure="cases_opened" { (opened) } } }
            div.card-figure { h3 { (ctx.t("办理操作", "Workflow moves")) } p.period { (ctx.t("近 30 天", "Last 30 days")) } p.big { span data-figure="moves" { (moves) } } }
        }
        h2 { (ctx.t("最近走访", "Recent visits")) " · " a href={ "/visits?worker=" (w.id.0) } { (ctx.t("全部", "all")) } }
        @if recent.is_empty() { p.hint { (ctx.t("近 30 天没有走访。", "No visits in the last 30 days.")) } }
        @else { (visits_table(ctx, &recent, &visits.addresses, &names)) }
        h2 { (ctx.t("经手事项", "Cases handled")) }
        @if recent_cases.is_empty() { p.hint { (ctx.t("没有事项。", "No cases.")) } } @else {
            table.data #worker-cases {
                thead { tr { th { (ctx.t("受理时间", "Taken")) } th { (ctx.t("类别", "Category")) } th { (ctx.t("内容", "Request")) } th { (ctx.t("状态", "Status")) } } }
                tbody {
                    @for c in &recent_cases {
                        tr data-case=(c.id) {
                            td { (local_time(c.opened_at)) }
                            td { (c.category) }
                            td { a href={ "/cases?all=1#case-" (c.id) } { (c.description) } }
                            td { (labels::case_state(ctx.lang, CaseState::parse(c.status.code()).unwrap_or(c.status))) }
                        }
                    }
                }
            }
        }
        h2 { (ctx.t("工作日志", "Work log")) }
        @if log.is_empty() { p.hint { (ctx.t("没有工作日志。", "No work log.")) } } @else {
            table.data #work-log {
                thead { tr { th { (ctx.t("日期", "Date")) } th { (ctx.t("重点工作", "Priorities")) } th { (ctx.t("记事", "Notes")) } } }
                tbody { @for (date, priorities, notes) in &log { tr { td { (date) } td { (priorities.join("、")) } td { (notes) } } } }
            }
        }
    };
    Ok(frame(ctx, &w.name, body))
}

//! `GET /`: the overview of the signed-in staff member's subtree — the
//! totals, one row per 4th-level grid, open hazards by category and
//! severity, cases by status, first responses against the target and a
//! 12-week trend — and `GET /grids/{code}`: one grid's figures and its
//! households with their visit schedule.
//!
//! Every figure is an element with `data-figure="NAME"` holding the value as
//! text (integers, coverage as `66.7%`), inside `#totals` or a
//! `#grids tr[data-grid=CODE]` row, so people and the browser test read the
//! same numbers.

use super::{Outcome, PageRequest, View};
use crate::dashboard::{self, GridFigures, Overview};
use crate::error::Error;
use crate::web::charts::{self, Bar, WeekBar};
use crate::web::html::Lang;
use crate::web::labels;
use crate::web::page::{frame, local_time, minutes, percent, PageCtx};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use gridwork_core::model::{CaseState, GridCode, Workflow};
use gridwork_core::schedule::DueStatus;
use maud::{html, Markup};

/// `GET /`.
pub async fn overview(request: PageRequest) -> Response {
    request
        .respond(|view| {
            let grids = view.scope.grids();
            let overview = view.read(|r| Ok(dashboard::overview(r, &grids)?))?;
            Ok(Outcome::Page(
                StatusCode::OK,
                overview_page(view, &overview),
            ))
        })
        .await
}

/// `GET /grids/{code}`.
pub async fn grid(Path(code): Path<String>, request: PageRequest) -> Response {
    request
        .respond(move |view| {
            let grid = GridCode(code);
            if !view.scope.covers(&grid) {
                return Err(Error::not_found("grid", grid.0));
            }
            let overview =
                view.read(|r| Ok(dashboard::overview(r, std::slice::from_ref(&grid))?))?;
            Ok(Outcome::Page(
                StatusCode::OK,
                grid_page(view, &grid, &overview)?,
            ))
        })
        .await
}

/// The figure cells shared by the totals and the grid rows.
fn figure(name: &str, value: impl std::fmt::Display) -> Markup {
    html! { span data-figure=(name) { (value.to_string()) } }
}

fn totals(ctx: &PageCtx, t: &GridFigures, o: &Overview) -> Markup {
    let r = &o.response;
    html! {
        section #totals .cards {
            div.card-figure {
                h3 { (ctx.t("在册住户", "Households")) }
                p.big { (figure("households", t.households)) }
                p.sub { (ctx.t("特殊群体户 ", "special groups ")) (figure("special_group_households", t.special_group_households)) }
            }
            div.card-figure {
                h3 { (ctx.t("本月走访覆盖率", "Visit coverage this month")) }
                p.big { (figure("coverage", percent(t.coverage))) }
                p.sub {
                    (ctx.t("已走访 ", "visited ")) (figure("households_visited", t.households_visited))
                    (ctx.t(" 户，走访 ", " households, ")) (figure("visits_this_month", t.visits_this_month))
                    (ctx.t(" 次", " visits"))
                }
            }
            div.card-figure {
                h3 { (ctx.t("特殊群体走访", "Special-group visits")) }
                p.big.warn { (figure("special_overdue", t.special_overdue)) }
                p.sub { (ctx.t("已逾期；即将到期 ", "overdue; due soon ")) (figure("special_due", t.special_due)) }
            }
            div.card-figure {
                h3 { (ctx.t("未销号隐患", "Open hazards")) }
                p.big { (figure("open_hazards", t.open_hazards)) }
                p.sub { (ctx.t("超期未整改 ", "past deadline ")) (figure("hazards_overdue", t.hazards_overdue)) }
            }
            div.card-figure {
                h3 { (ctx.t("未结事项", "Open cases")) }
                p.big { (figure("open_cases", t.open_cases)) }
                p.sub { (ctx.t("累计响应超时 ", "missed the response target, all time ")) (figure("cases_past_response_target", t.cases_past_response_target)) }
            }
            div.card-figure {
                h3 { (ctx.t("本月首次响应", "First responses this month")) }
                p.big { (percent(r.share_within_target)) }
                p.sub {
                    (figure("responses_within_target", r.within_target)) " / " (figure("responses", r.responded))
                    (ctx.t(" 在 ", " within ")) (r.target_minutes) (ctx.t(" 分钟内", " min"))
                }
            }
        }
    }
}

/// Which rows a [`figures_table`] lists.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RowKind {
    /// 4th-level grids, each linking to its drill-down (`#grids`,
    /// `tr[data-grid]`).
    Grid,
    /// Communities summed from their grids (`#communities`,
    /// `tr[data-community]`).
    Community,
}

/// One row of figures per grid or community, the same columns for both.
fn figures_table(view: &View, kind: RowKind, rows: &[GridFigures]) -> Markup {
    let ctx = &view.ctx;
    let (id, first) = match kind {
        RowKind::Grid => ("grids", ctx.t("网格", "Grid")),
        RowKind::Community => ("communities", ctx.t("社区", "Community")),
    };
    html! {
        table.data id=(id) {
            thead { tr {
                th { (first) }
                th.num { (ctx.t("住户", "Households")) }
                th.num { (ctx.t("本月已走访", "Visited")) }
                th.num { (ctx.t("走访次数", "Visits")) }
                th.num { (ctx.t("覆盖率", "Coverage")) }
                th.num { (ctx.t("特殊群体逾期", "Special overdue")) }
                th.num { (ctx.t("即将到期", "Due soon")) }
                th.num { (ctx.t("未销号隐患", "Open hazards")) }
                th.num { (ctx.t("超期隐患", "Hazards overdue")) }
                th.num { (ctx.t("未结事项", "Open cases")) }
            } }
            tbody {
                @for g in rows {
                    tr data-grid=[(kind == RowKind::Grid).then_some(&g.grid.0)]
                       data-community=[(kind == RowKind::Community).then_some(&g.grid.0)] {
                        td {
                            @if kind == RowKind::Grid {
                                a href={ "/grids/" (g.grid.0) } { (view.scope.name_of(&g.grid)) }
                            } @else {
                                (view.scope.name_of(&g.grid))
                            }
                            " " code { (g.grid.0) }
                        }
                        td.num { (figure("households", g.households)) }
                        td.num { (figure("households_visited", g.households_visited)) }
                        td.num { (figure("visits_this_month", g.visits_this_month)) }
                        td.num { (figure("coverage", percent(g.coverage))) }
                        td.num { (figure("special_overdue", g.special_overdue)) }
                        td.num { (figure("special_due", g.special_due)) }
                        td.num { (figure("open_hazards", g.open_hazards)) }
                        td.num { (figure("hazards_overdue", g.hazards_overdue)) }
                        td.num { (figure("open_cases", g.open_cases)) }
                    }
                }
            }
        }
    }
}

/// One row per community (level 2) of the scope, summed from its grids:
/// what town staff compare first. Empty for a single community.
fn community_rows(view: &View, o: &Overview) -> Markup {
    let communities: Vec<GridFigures> = view
        .scope
        .nodes
        .iter()
        .filter(|n| n.level == 2)
        .map(|c| {
            GridFigures::sum(
                c.code.clone(),
                o.grids
                    .iter()
                    .filter(|g| view.scope.is_below(&g.grid, &c.code)),
            )
        })
        .collect();
    html! {
        @if communities.len() > 1 {
            h2 { (view.ctx.t("各社区", "Communities")) }
            (figures_table(view, RowKind::Community, &communities))
        }
    }
}

fn hazards_and_cases(ctx: &PageCtx, o: &Overview) -> Markup {
    let lang = ctx.lang;
    let status_bars: Vec<Bar> = o
        .cases_by_status
        .iter()
        .map(|s| Bar {
            label: CaseState::parse(&s.status)
                .map(|st| labels::case_state(lang, st).to_owned())
                .unwrap_or_else(|_| s.status.clone()),
            value: s.count as f64,
            shown: s.count.to_string(),
        })
        .collect();
    let r = &o.response;
    html! {
        div.columns {
            section {
                h2 { (ctx.t("未销号隐患（按类别和等级）", "Open hazards by category and severity")) }
                @if o.hazards_by_category.is_empty() {
                    p.hint { (ctx.t("没有未销号的隐患。", "No open hazards.")) }
                } @else {
                    table #hazards-by-category .data {
                        thead { tr {
                            th { (ctx.t("类别", "Category")) } th { (ctx.t("等级", "Severity")) }
                            th.num { (ctx.t("未销号", "Open")) } th.num { (ctx.t("超期", "Overdue")) }
                        } }
                        tbody {
                            @for cell in &o.hazards_by_category {
                                tr data-category=(cell.category) data-severity=(cell.severity) {
                                    td { (cell.category) }
                                    td { (labels::severity(lang, &cell.severity)) }
                                    td.num { (cell.open) }
                                    td.num { (cell.overdue) }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { (ctx.t("事项（按状态）", "Cases by status")) }
                div #cases-by-status {
                    (charts::bars(ctx.t("事项状态", "Case status"), &status_bars, 1.0))
                    ul.counts {
                        @for s in &o.cases_by_status {
                            li { (CaseState::parse(&s.status).map_or(s.status.as_str(), |st| labels::case_state(lang, st))) " " span data-status=(s.status) { (s.count) } }
                        }
                    }
                }
            }
        }
        section #response {
            h2 { (ctx.t("首次响应（本月受理的事项）", "First responses (cases taken this month)")) }
            table.data {
                tbody {
                    tr { th { (ctx.t("目标", "Target")) } td { (r.target_minutes) (ctx.t(" 分钟", " minutes")) } }
                    tr { th { (ctx.t("本月事项", "Cases this month")) } td data-figure="response_cases" { (r.cases) } }
                    tr { th { (ctx.t("按时响应占比", "Share within target")) } td data-figure="share_within_target" { (percent(r.share_within_target)) } }
                    tr { th { (ctx.t("响应用时中位数（分钟）", "Median minutes")) } td data-figure="median_minutes" { (minutes(r.median_minutes)) } }
                    tr { th { (ctx.t("最慢（分钟）", "Slowest (minutes)")) } td data-figure="slowest_minutes" {
                        (minutes(r.slowest_minutes))
                        @if let Some(case) = &r.slowest_case { " · " a href={ "/cases#case-" (case) } { (ctx.t("查看", "view")) } }
                    } }
                    tr { th { (ctx.t("超时未响应", "Awaiting response, overdue")) } td data-figure="awaiting_overdue" { (r.awaiting_overdue) } }
                    tr { th { (ctx.t("时间未核验的事项", "Cases with unverified times")) } td data-figure="response_unverified" { (r.unverified) } }
                }
            }
            p.hint {
                (ctx.t("受理和首次响应时间以服务器收到记录时核验的时间计：手机时间超前或时钟有误的记录按服务器收到的时间计算，并计入“时间未核验”。",
                       "Times are those the server checked on receipt: a record claiming a time after it arrived, or made on a phone whose clock was wrong, counts at the time the server received it and is counted as unverified."))
            }
        }
    }
}

fn trend(ctx: &PageCtx, o: &Overview) -> Markup {
    let weeks: Vec<WeekBar> = o
        .trend
        .iter()
        .map(|w| WeekBar {
            label: w.week_start.get(5..).unwrap_or(&w.week_start).to_owned(),
            bar: w.visits,
            line: w.cases_opened,
        })
        .collect();
    html! {
        section #trend {
            h2 { (ctx.t("近 12 周趋势", "The last 12 weeks")) }
            (charts::trend(ctx.t("每周走访与事项", "Visits and cases per week"), ctx.t("走访", "visits"), ctx.t("新事项", "new cases"), &weeks))
            table.data.compact {
                thead { tr {
                    th { (ctx.t("周（周一）", "Week of")) }
                    @for w in &o.trend { th.num { (w.week_start.get(5..).unwrap_or(&w.week_start)) } }
                } }
                tbody {
                    tr { th { (ctx.t("走访", "Visits")) } @for w in &o.trend { td.num { (w.visits) } } }
                    tr { th { (ctx.t("走访户数", "Households")) } @for w in &o.trend { td.num { (w.households_visited) } } }
                    tr { th { (ctx.t("新事项", "New cases")) } @for w in &o.trend { td.num { (w.cases_opened) } } }
                    tr { th { (ctx.t("新隐患", "New hazards")) } @for w in &o.trend { td.num { (w.hazards_reported) } } }
                }
            }
        }
    }
}

fn coverage_chart(view: &View, o: &Overview) -> Markup {
    let bars: Vec<Bar> = o
        .grids
        .iter()
        .map(|g| Bar {
            label: view.scope.name_of(&g.grid),
            value: g.coverage,
            shown: percent(g.coverage),
        })
        .collect();
    charts::bars(
        view.ctx.t("本月走访覆盖率", "Visit coverage this month"),
        &bars,
        1.0,
    )
}

fn overview_page(view: &View, o: &Overview) -> String {
    let ctx = &view.ctx;
    let body = html! {
        p.hint { (ctx.t("统计月份：", "Month: ")) (o.month) (ctx.t("。数据为各网格员手机已同步的记录。", ". Figures count what the gridworkers' phones have synced.")) }
        (totals(ctx, &o.totals, o))
        (community_rows(view, o))
        h2 { (ctx.t("各网格", "Grids")) }
        @if o.grids.is_empty() {
            p.hint { (ctx.t("您的管辖范围内还没有网格。", "There are no grids in your area yet.")) }
        } @else {
            (coverage_chart(view, o))
            (figures_table(view, RowKind::Grid, &o.grids))
        }
        (hazards_and_cases(ctx, o))
        (trend(ctx, o))
    };
    frame(ctx, ctx.t("总览", "Overview"), body)
}

fn due_code(status: DueStatus) -> &'static str {
    match status {
        DueStatus::Overdue => "overdue",
        DueStatus::Due => "due",
        DueStatus::NotDue => "not_due",
    }
}

fn due_label(lang: Lang, status: DueStatus) -> &'static str {
    match status {
        DueStatus::Overdue => lang.pick("已逾期", "overdue"),
        DueStatus::Due => lang.pick("即将到期", "due soon"),
        DueStatus::NotDue => lang.pick("未到期", "not due"),
    }
}

fn grid_page(view: &View, grid: &GridCode, o: &Overview) -> Result<String, Error> {
    let ctx = &view.ctx;
    let households = view.read(|r| Ok(r.grid_households(grid)?))?;
    let name = view.scope.name_of(grid);
    let body = html! {
        p { a href="/" { "← " (ctx.t("总览", "Overview")) } " · " code { (grid.0) } " · " (o.month) }
        (totals(ctx, &o.totals, o))
        h2 { (ctx.t("住户与走访计划", "Households and their visit schedule")) }
        table #households .data {
            thead { tr {
                th { (ctx.t("地址", "Address")) }
                th { (ctx.t("特殊群体", "Special groups")) }
                th.num { (ctx.t("在住人数", "Residents")) }
                th { (ctx.t("上次走访", "Last visit")) }
                th { (ctx.t("下次应访", "Next due")) }
                th { (ctx.t("状态", "Status")) }
            } }
            tbody {
                @for h in &households {
                    tr data-household=(h.id) data-due=(due_code(h.due_status)) class=[(h.due_status == DueStatus::Overdue).then_some("overdue")] {
                        td { a href={ "/households/" (h.id) } { (h.address) } }
                        td { @for tag in &h.all_tags { span.tag { (ctx.t(tag.label_zh(), tag.code())) } " " } }
                        td.num { (h.residents) }
                        td { (h.last_visit_at.map(local_time).unwrap_or_else(|| "—".into())) }
                        td { (h.next_visit_due) }
                        td { (due_label(ctx.lang, h.due_status)) }
                    }
                }
            }
        }
        (hazards_and_cases(ctx, o))
        (trend(ctx, o))
    };
    Ok(frame(ctx, &name, body))
}

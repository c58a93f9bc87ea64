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
use crate::web::page::{frame, local_time, minutes, share, PageCtx};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use gridwork_core::api::HouseholdSummary;
use gridwork_core::model::{CaseState, GridCode, GridNode, Workflow};
use gridwork_core::schedule::DueStatus;
use maud::{html, Markup};

/// `GET /`: the page of the staff member's own node (or of their whole
/// subtree, should it have several tops).
pub async fn overview(request: PageRequest) -> Response {
    request
        .respond(|view| {
            let roots = view.scope.roots();
            let node = match roots.as_slice() {
                [one] => Some((*one).clone()),
                _ => None,
            };
            Ok(Outcome::Page(
                StatusCode::OK,
                node_page(view, node.as_ref())?,
            ))
        })
        .await
}

/// `GET /grids/{code}`: any node of the subtree — a community, a 片区 or a
/// grid — with its figures summed over the grids below it.
pub async fn grid(Path(code): Path<String>, request: PageRequest) -> Response {
    request
        .respond(move |view| {
            let code = GridCode(code);
            let Some(node) = view.scope.node(&code).cloned() else {
                return Err(Error::not_found("grid", code.0));
            };
            Ok(Outcome::Page(StatusCode::OK, node_page(view, Some(&node))?))
        })
        .await
}

/// The name of a grid level, e.g. 社区 for 2.
pub fn level_name(lang: Lang, level: u8) -> &'static str {
    match level {
        1 => lang.pick("镇街", "Town"),
        2 => lang.pick("社区", "Community"),
        3 => lang.pick("片区", "Area"),
        _ => lang.pick("网格", "Grid"),
    }
}

/// The heading of a list of nodes of `level`, e.g. 各社区.
fn level_heading(lang: Lang, level: u8) -> &'static str {
    match level {
        1 => lang.pick("各镇街", "Towns"),
        2 => lang.pick("各社区", "Communities"),
        3 => lang.pick("各片区", "Areas"),
        _ => lang.pick("各网格", "Grids"),
    }
}

/// Breadcrumbs from the top of the staff member's subtree to `node`.
fn breadcrumbs(view: &View, node: Option<&GridNode>) -> Markup {
    let path = node
        .map(|n| view.scope.path_to(&n.code))
        .unwrap_or_default();
    html! {
        nav.crumbs aria-label=(view.ctx.t("位置", "Location")) {
            a href="/" { (view.ctx.t("总览", "Overview")) }
            @for (i, n) in path.iter().enumerate() {
                " › "
                @if i + 1 == path.len() {
                    span aria-current="page" data-node=(n.code.0) { (n.name) }
                } @else {
                    a href={ "/grids/" (n.code.0) } data-node=(n.code.0) { (n.name) }
                }
            }
        }
    }
}

/// The figure cells shared by the totals and the grid rows.
fn figure(name: &str, value: impl std::fmt::Display) -> Markup {
    html! { span data-figure=(name) { (value.to_string()) } }
}

/// A card's period: what time its figures cover.
fn period(text: &str) -> Markup {
    html! { p.period { (text) } }
}

fn totals(ctx: &PageCtx, t: &GridFigures, o: &Overview) -> Markup {
    let r = &o.response;
    let month = match ctx.lang {
        Lang::Zh => format!("本月（{}）", o.month),
        Lang::En => format!("This month ({})", o.month),
    };
    let now = ctx.t("当前", "Now");
    html! {
        section #totals .cards {
            div.card-figure {
                h3 { (ctx.t("在册住户", "Households")) }
                (period(now))
                p.big { (figure("households", t.households)) }
                p.sub { (ctx.t("特殊群体户 ", "special groups ")) (figure("special_group_households", t.special_group_households)) }
            }
            div.card-figure {
                h3 { (ctx.t("走访覆盖率", "Visit coverage")) }
                (period(&month))
                p.big { (figure("coverage", share(t.households_visited, t.households))) }
                p.sub {
                    (ctx.t("已走访 ", "visited ")) (figure("households_visited", t.households_visited))
                    (ctx.t(" 户，走访 ", " households, ")) (figure("visits_this_month", t.visits_this_month))
                    (ctx.t(" 次", " visits"))
                }
            }
            div.card-figure {
                h3 { (ctx.t("特殊群体走访", "Special-group visits")) }
                (period(now))
                p.big.warn { (figure("special_overdue", t.special_overdue)) }
                p.sub { (ctx.t("已逾期；即将到期 ", "overdue; due soon ")) (figure("special_due", t.special_due)) }
            }
            div.card-figure {
                h3 { (ctx.t("未销号隐患", "Open hazards")) }
                (period(now))
                p.big { (figure("open_hazards", t.open_hazards)) }
                p.sub { (ctx.t("超期未整改 ", "past deadline ")) (figure("hazards_overdue", t.hazards_overdue)) }
            }
            div.card-figure {
                h3 { (ctx.t("未结事项", "Open cases")) }
                (period(now))
                p.big { (figure("open_cases", t.open_cases)) }
                p.sub { (ctx.t("其中超时未响应 ", "of which awaiting a response past the target ")) (figure("cases_awaiting_overdue", t.cases_awaiting_overdue)) }
            }
            div.card-figure {
                h3 { (ctx.t("首次响应", "First responses")) }
                (period(&month))
                p.big { (figure("share_within_target", share(r.within_target, r.responded))) }
                p.sub {
                    (figure("responses_within_target", r.within_target)) " / " (figure("responses", r.responded))
                    (ctx.t(" 在 ", " within ")) (r.target_minutes) (ctx.t(" 分钟内", " min"))
                }
            }
            div.card-figure {
                h3 { (ctx.t("超时响应", "Responses past the target")) }
                (period(ctx.t("累计（全部时间）", "All time")))
                p.big { (figure("cases_past_response_target", t.cases_past_response_target)) }
                p.sub { (ctx.t("含已结案事项", "closed cases included")) }
            }
        }
    }
}

/// One row of figures per node (community, 片区 or grid), the same
/// columns for all, each row linking to the node's own page: `tr` with
/// `data-node`, plus `data-grid` for a grid and `data-community` for a
/// community.
fn figures_table(view: &View, id: &str, level: u8, rows: &[GridFigures]) -> Markup {
    let ctx = &view.ctx;
    html! {
        table.data id=(id) {
            thead { tr {
                th { (level_name(ctx.lang, level)) }
                th.num { (ctx.t("住户", "Households")) }
                th.num { (ctx.t("本月已走访", "Visited this month")) }
                th.num { (ctx.t("本月走访次数", "Visits this month")) }
                th.num { (ctx.t("本月覆盖率", "Coverage this month")) }
                th.num { (ctx.t("特殊群体逾期", "Special overdue")) }
                th.num { (ctx.t("即将到期", "Due soon")) }
                th.num { (ctx.t("未销号隐患", "Open hazards")) }
                th.num { (ctx.t("超期隐患", "Hazards overdue")) }
                th.num { (ctx.t("未结事项", "Open cases")) }
                th.num { (ctx.t("超时未响应", "Awaiting, overdue")) }
            } }
            tbody {
                @for g in rows {
                    tr data-node=(g.grid.0)
                       data-grid=[(level == 4).then_some(&g.grid.0)]
                       data-community=[(level == 2).then_some(&g.grid.0)] {
                        td {
                            a href={ "/grids/" (g.grid.0) } { (view.scope.name_of(&g.grid)) }
                            " " code { (g.grid.0) }
                        }
                        td.num { (figure("households", g.households)) }
                        td.num { (figure("households_visited", g.households_visited)) }
                        td.num { (figure("visits_this_month", g.visits_this_month)) }
                        td.num { (figure("coverage", share(g.households_visited, g.households))) }
                        td.num { (figure("special_overdue", g.special_overdue)) }
                        td.num { (figure("special_due", g.special_due)) }
                        td.num { (figure("open_hazards", g.open_hazards)) }
                        td.num { (figure("hazards_overdue", g.hazards_overdue)) }
                        td.num { (figure("open_cases", g.open_cases)) }
                        td.num { (figure("cases_awaiting_overdue", g.cases_awaiting_overdue)) }
                    }
                }
            }
        }
    }
}

/// The rows of `nodes` summed from the grids of `o` below each.
fn node_rows(view: &View, o: &Overview, nodes: &[&GridNode]) -> Vec<GridFigures> {
    nodes
        .iter()
        .map(|n| {
            GridFigures::sum(
                n.code.clone(),
                o.grids
                    .iter()
                    .filter(|g| g.grid == n.code || view.scope.is_below(&g.grid, &n.code)),
            )
        })
        .collect()
}

fn hazards_and_cases(ctx: &PageCtx, o: &Overview) -> Markup {
    let lang = ctx.lang;
    let status_bars: Vec<Bar> = o
        .cases_by_status
        .iter()
        .filter(|s| s.status != CaseState::Closed.code())
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
                h2 { (ctx.t("未结事项（按状态）", "Open cases by status")) }
                div #cases-by-status {
                    (charts::bars(ctx.t("事项状态", "Case status"), &status_bars, 1.0))
                    ul.counts {
                        @for s in &o.cases_by_status {
                            li {
                                (CaseState::parse(&s.status).map_or(s.status.as_str(), |st| labels::case_state(lang, st)))
                                @if s.status == CaseState::Closed.code() { (ctx.t("（累计）", " (all time)")) }
                                " " span data-status=(s.status) { (s.count) }
                            }
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
                    tr { th { (ctx.t("按时响应占比", "Share within target")) } td data-figure="share_within_target" { (share(r.within_target, r.responded)) } }
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
            shown: share(g.households_visited, g.households),
        })
        .collect();
    charts::bars(
        view.ctx.t("本月走访覆盖率", "Visit coverage this month"),
        &bars,
        1.0,
    )
}

/// The page of `node` (or of the whole subtree when `None`): breadcrumbs,
/// the totals of the grids below it, one row per node directly below it
/// (each a link one level down), every grid below it when that is another
/// list, and for a grid its households.
fn node_page(view: &View, node: Option<&GridNode>) -> Result<String, Error> {
    let ctx = &view.ctx;
    let (grids, children) = match node {
        Some(n) => (
            view.scope.grids_under(&n.code),
            view.scope.children(&n.code),
        ),
        None => (view.scope.grids(), view.scope.roots()),
    };
    let o = view.read(|r| Ok(dashboard::overview(r, &grids)?))?;
    let child_level = children.first().map_or(4, |c| c.level);
    let child_rows = node_rows(view, &o, &children);
    let households = match node {
        Some(n) if n.level == 4 => Some(view.read(|r| Ok(r.grid_households(&n.code)?))?),
        _ => None,
    };
    let title = node.map_or(ctx.t("总览", "Overview"), |n| n.name.as_str());
    let body = html! {
        (breadcrumbs(view, node))
        p.hint {
            @if let Some(n) = node { (level_name(ctx.lang, n.level)) " " code { (n.code.0) } " · " }
            a href={ "/map" @if let Some(n) = node { "?grid=" (n.code.0) } } { (ctx.t("地图", "map")) } " · "
            a href={ "/households" @if let Some(n) = node { "?grid=" (n.code.0) } } { (ctx.t("查找住户", "find a household")) } " · "
            (ctx.t("数据为各网格员手机已同步的记录。", "Figures count what the gridworkers' phones have synced."))
        }
        (totals(ctx, &o.totals, &o))
        @if households.is_none() {
            @if children.is_empty() {
                p.hint { (ctx.t("这里还没有下级网格。", "There are no grids below this yet.")) }
            } @else if child_level == 4 {
                h2 { (level_heading(ctx.lang, 4)) }
                (coverage_chart(view, &o))
                (figures_table(view, "grids", 4, &o.grids))
            } @else {
                h2 { (level_heading(ctx.lang, child_level)) }
                (figures_table(view, if child_level == 2 { "communities" } else { "children" }, child_level, &child_rows))
                h2 { (ctx.t("全部网格", "Every grid")) }
                (coverage_chart(view, &o))
                (figures_table(view, "grids", 4, &o.grids))
            }
        }
        @if let Some(households) = &households {
            (households_table(ctx, households))
        }
        (hazards_and_cases(ctx, &o))
        (trend(ctx, &o))
    };
    Ok(frame(ctx, title, body))
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

fn households_table(ctx: &PageCtx, households: &[HouseholdSummary]) -> Markup {
    html! {
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
                @for h in households {
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
    }
}

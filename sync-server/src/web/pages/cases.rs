//! `GET /cases`: the residents' requests of the staff member's subtree as a
//! queue by stage (to register → to dispatch → being handled → to verify →
//! to close; closed ones with `?all=1`), each with one form per allowed next
//! state, posted to `POST /cases/{id}/transition` ([`super::transitions`]).

use super::filters::{ListQuery, RECORDS_PER_PAGE};
use super::photos::gallery;
use super::transitions::{actions_form, Action, RecordKind};
use super::{Names, Outcome, PageRequest, View};
use crate::accounts::handlers::{self, Handler};
use crate::web::labels::{self, STAGES};
use crate::web::page::{case_clock, frame, local_time, PageCtx};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use gridwork_core::model::GridCode;
use gridwork_core::model::{Case, CaseState, Urgency, Workflow};
use maud::{html, Markup};
use std::collections::HashMap;

/// `GET /cases?grid=…&category=…&status=…&overdue=1&q=…&all=1&page=N`.
pub async fn queue(Query(query): Query<ListQuery>, request: PageRequest) -> Response {
    let all = query.wants_all_with(CaseState::Closed.code());
    request
        .respond(move |view| {
            let codes: Vec<&str> = CaseState::ALL.iter().map(|s| s.code()).collect();
            query.check_status(&codes)?;
            let grids = query.grids(view)?;
            let cases = view.read(|r| Ok(r.cases_in(&grids, !all)?))?;
            let mut categories: Vec<String> = cases.iter().map(|c| c.category.clone()).collect();
            categories.sort();
            categories.dedup();
            let cases: Vec<Case> = cases
                .into_iter()
                .filter(|c| {
                    query.matches(&c.category, c.status.code())
                        && (!query.overdue_only() || c.timers.overdue())
                        && query.matches_text(&[&c.description])
                })
                .collect();
            let names = view.names()?;
            let mut serving: HashMap<GridCode, Vec<Handler>> = HashMap::new();
            for c in &cases {
                if !serving.contains_key(&c.grid) {
                    let list = view
                        .state
                        .backend
                        .read(|conn| handlers::handlers_for_grid_in(conn, &c.grid))?;
                    serving.insert(c.grid.clone(), list);
                }
            }
            let listed = Listed {
                query: &query,
                categories: &categories,
                names: &names,
                serving: &serving,
            };
            Ok(Outcome::Page(StatusCode::OK, page(view, &cases, &listed)))
        })
        .await
}

/// The case's action form: every allowed next state but 上报社区 (the
/// gridworker's move), 核查 refused to whoever reported the handling back,
/// and the handlers serving its grid when it can be dispatched.
fn actions(ctx: &PageCtx, case: &Case, handlers: &[Handler], back: &str) -> Markup {
    let from = case.status;
    let replay = CaseState::replay_all(&case.transitions);
    let handled_by_me = case
        .transitions
        .iter()
        .filter(|t| {
            t.to == CaseState::Feedback.code() && !replay.skipped.iter().any(|s| s.id == t.id)
        })
        .max_by_key(|t| (t.at, t.id))
        .is_some_and(|t| t.by == ctx.account.worker_id);
    let refusal = ctx.t(
        "您提交了办理反馈，须由他人核查",
        "You reported the handling back: someone else must verify it",
    );
    let moves: Vec<Action<'_>> = from
        .next()
        .iter()
        .filter(|to| **to != CaseState::Escalated)
        .map(|to| Action {
            to: to.code(),
            label: labels::case_action(ctx.lang, from, *to),
            refused: (*to == CaseState::Verified && handled_by_me).then_some(refusal),
        })
        .collect();
    let dispatch = from.next().contains(&CaseState::Dispatched);
    actions_form(
        ctx,
        RecordKind::Case,
        &case.id.to_string(),
        &moves,
        dispatch.then_some(handlers),
        back,
    )
}

/// Who case `c` is dispatched to now: the assignee of the latest applied
/// step that named one.
pub fn current_assignee(c: &Case) -> Option<&str> {
    let replay = CaseState::replay_all(&c.transitions);
    let mut named: Vec<_> = c
        .transitions
        .iter()
        .filter(|t| !t.assignee.is_empty() && !replay.skipped.iter().any(|s| s.id == t.id))
        .collect();
    named.sort_by_key(|t| (t.at, t.id));
    named.last().map(|t| t.assignee.as_str())
}

/// A stage's cases in the order to work them: overdue first, then urgent,
/// then the oldest.
fn in_order(mut cases: Vec<&Case>) -> Vec<&Case> {
    cases.sort_by_key(|c| {
        (
            !c.timers.overdue(),
            c.urgency != Urgency::Urgent,
            c.opened_at,
            c.id,
        )
    });
    cases
}

/// What a queue page shows besides its cases.
struct Listed<'a> {
    query: &'a ListQuery,
    categories: &'a [String],
    names: &'a Names,
    serving: &'a HashMap<GridCode, Vec<Handler>>,
}

/// Every case state as (code, label) for the filter.
fn states(ctx: &PageCtx) -> Vec<(&'static str, &'static str)> {
    CaseState::ALL
        .iter()
        .map(|s| (s.code(), labels::case_state(ctx.lang, *s)))
        .collect()
}

fn page(view: &View, cases: &[Case], listed: &Listed<'_>) -> String {
    let ctx = &view.ctx;
    let Listed {
        query,
        categories,
        names,
        serving,
    } = listed;
    let all = query.wants_all();
    // The whole filtered queue in working order (by stage; overdue, then
    // urgent, then oldest within one), one page of it shown.
    let ordered: Vec<&Case> = STAGES
        .iter()
        .flat_map(|(_, states)| {
            in_order(
                cases
                    .iter()
                    .filter(|c| states.contains(&c.status))
                    .collect(),
            )
        })
        .collect();
    let current = query.current_page(ordered.len());
    let shown: Vec<&Case> = ordered
        .iter()
        .skip((current - 1) * RECORDS_PER_PAGE)
        .take(RECORDS_PER_PAGE)
        .copied()
        .collect();
    let back = query.url("/cases", current);
    let body = html! {
        (query.form(view, "/cases", categories, &states(ctx)))
        p.bar {
            span { (ctx.t("共 ", "")) span data-figure="found" { (cases.len()) } (ctx.t(" 件", " cases")) }
            @if all {
                a href="/cases" { (ctx.t("只看未结事项", "Open cases only")) }
            } @else {
                a href="/cases?all=1" { (ctx.t("包括已结案", "Include closed cases")) }
            }
        }
        (query.pager(ctx, "/cases", ordered.len()))
        @for (stage, states) in STAGES {
            @let total = cases.iter().filter(|c| states.contains(&c.status)).count();
            @let in_stage: Vec<&Case> = shown.iter().filter(|c| states.contains(&c.status)).copied().collect();
            @if !(total == 0 && *stage == "closed") {
                section.stage data-stage=(stage) {
                    h2 { (labels::stage(ctx.lang, stage)) " (" (total) ")" }
                    @if in_stage.is_empty() {
                        p.hint { (ctx.t("无", "None")) }
                    } @else {
                        table.data.cases {
                            thead { tr {
                                th { (ctx.t("受理时间", "Taken")) } th { (ctx.t("网格", "Grid")) }
                                th { (ctx.t("类别", "Category")) } th { (ctx.t("内容", "Request")) }
                                th { (ctx.t("状态", "Status")) } th { (ctx.t("时限", "Deadlines")) }
                                th { (ctx.t("办理", "Actions")) }
                            } }
                            tbody {
                                @for c in in_stage {
                                    @let replay = CaseState::replay_all(&c.transitions);
                                    tr id={ "case-" (c.id) } data-case=(c.id) class=[(c.timers.response_overdue || c.timers.handling_overdue).then_some("overdue")] {
                                        td { (local_time(c.opened_at)) }
                                        td { (view.scope.name_of(&c.grid)) }
                                        td {
                                            (c.category)
                                            @if c.urgency == Urgency::Urgent { " " span.tag.warn data-urgency="urgent" { (ctx.t("紧急", "urgent")) } }
                                        }
                                        td {
                                            (c.description)
                                            @if let Some(h) = c.household { " · " a href={ "/households/" (h) } data-household=(h) { (ctx.t("查看住户", "household")) } }
                                            (gallery(ctx, ("诉求照片", "Request photos"), &c.photos))
                                        }
                                        td data-field="status" data-status=(c.status.code()) {
                                            (labels::case_state(ctx.lang, c.status))
                                            @if let Some(who) = current_assignee(c) {
                                                br; span.assignee data-assignee=(who) { (ctx.t("承办：", "handler: ")) (names.person(who)) }
                                            }
                                        }
                                        td.timers {
                                            (case_clock(ctx, c)) " "
                                            @if !replay.open.is_empty() { span.tag.warn data-conflict="workflow" title=(ctx.t("有离线操作与当前状态不符，未生效；请按当前状态继续办理", "A move made offline did not match the current state and did not apply; continue from the current state")) { (ctx.t("流程冲突", "workflow conflict")) } " " }
                                        }
                                        td { (actions(ctx, c, serving.get(&c.grid).map_or(&[][..], Vec::as_slice), &back)) }
                                    }
                                    @if !c.transitions.is_empty() {
                                        tr.history data-history=(c.id) {
                                            td colspan="7" {
                                                @for t in &c.transitions {
                                                    @let skipped = replay.skipped.iter().any(|s| s.id == t.id);
                                                    span.step.skipped[skipped] data-to=(t.to) data-by=(t.by.0) data-applied=(!skipped) {
                                                        (local_time(t.at)) " " (names.person(&t.by.0)) " → "
                                                        (CaseState::parse(&t.to).map_or(t.to.as_str(), |st| labels::case_state(ctx.lang, st)))
                                                        @if !t.note.is_empty() { "：" (t.note) }
                                                        (gallery(ctx, ("照片", "Photos"), &t.photos))
                                                        @if skipped { " " (ctx.t("（未生效：当时状态已变）", "(did not apply: the state had changed)")) }
                                                    }
                                                    " "
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let body = html! { (body) (query.pager(ctx, "/cases", ordered.len())) };
    frame(ctx, ctx.t("事项办理", "Cases"), body)
}

//! `GET /cases`: the residents' requests of the staff member's subtree as a
//! queue by stage (to register → to dispatch → being handled → to verify →
//! to close; closed ones with `?all=1`), each with one form per allowed next
//! state, posted to `POST /cases/{id}/transition` ([`super::transitions`]).

use super::photos::gallery;
use super::transitions::{action_form, RecordKind};
use super::{Names, Outcome, PageRequest, View};
use crate::web::labels::{self, STAGES};
use crate::web::page::{case_clock, frame, local_time, PageCtx};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use gridwork_core::model::{Case, CaseState, Urgency, Workflow};
use maud::{html, Markup};
use serde::Deserialize;

/// Query of `GET /cases` and `GET /hazards`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CasesQuery {
    /// `1` to list closed cases too.
    all: Option<String>,
}

impl CasesQuery {
    /// True for `?all=1`.
    pub fn wants_all(&self) -> bool {
        self.all.as_deref() == Some("1")
    }
}

/// `GET /cases`.
pub async fn queue(Query(query): Query<CasesQuery>, request: PageRequest) -> Response {
    let all = query.wants_all();
    request
        .respond(move |view| {
            let codes = view.scope.codes();
            let cases = view.read(|r| Ok(r.cases_in(&codes, !all)?))?;
            let names = view.names()?;
            Ok(Outcome::Page(
                StatusCode::OK,
                page(view, &cases, all, &names),
            ))
        })
        .await
}

fn actions(ctx: &PageCtx, case: &Case, all: bool) -> Markup {
    let from = case.status;
    let id = case.id.to_string();
    html! {
        @for to in from.next() {
            (action_form(ctx, RecordKind::Case, &id, *to, labels::case_action(ctx.lang, from, *to), all))
        }
    }
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

fn page(view: &View, cases: &[Case], all: bool, names: &Names) -> String {
    let ctx = &view.ctx;
    let body = html! {
        p.bar {
            span { (ctx.t("共 ", "")) (cases.len()) (ctx.t(" 件", " cases")) }
            @if all {
                a href="/cases" { (ctx.t("只看未结事项", "Open cases only")) }
            } @else {
                a href="/cases?all=1" { (ctx.t("包括已结案", "Include closed cases")) }
            }
        }
        @for (stage, states) in STAGES {
            @let in_stage = in_order(cases.iter().filter(|c| states.contains(&c.status)).collect());
            @if !(in_stage.is_empty() && *stage == "closed") {
                section.stage data-stage=(stage) {
                    h2 { (labels::stage(ctx.lang, stage)) " (" (in_stage.len()) ")" }
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
                                        }
                                        td data-field="status" data-status=(c.status.code()) { (labels::case_state(ctx.lang, c.status)) }
                                        td.timers {
                                            (case_clock(ctx, c)) " "
                                            @if !replay.open.is_empty() { span.tag.warn data-conflict="workflow" title=(ctx.t("有离线操作与当前状态不符，未生效；请按当前状态继续办理", "A move made offline did not match the current state and did not apply; continue from the current state")) { (ctx.t("流程冲突", "workflow conflict")) } " " }
                                        }
                                        td { (actions(ctx, c, all)) }
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
    frame(ctx, ctx.t("事项办理", "Cases"), body)
}

//! `GET /hazards`: the safety hazards of the staff member's subtree, open
//! ones only by default (`?all=1` lists closed ones too), newest first,
//! with their rectification deadline (overdue ones marked) and one form per
//! allowed next state — ordering a rectification, recording it, verifying
//! and closing (销号) — posted to `POST /hazards/{id}/transition`
//! ([`super::transitions`]).

use super::photos::gallery;
use super::transitions::{actions_form, Action, RecordKind};
use super::{Outcome, PageRequest, View};
use crate::web::labels;
use crate::web::page::{frame, local_time};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use gridwork_core::model::{Hazard, HazardState, Workflow};
use maud::html;

use super::filters::{ListQuery, RECORDS_PER_PAGE};

/// `GET /hazards?grid=…&category=…&status=…&overdue=1&q=…&all=1&page=N`.
pub async fn list(Query(query): Query<ListQuery>, request: PageRequest) -> Response {
    let all = query.wants_all_with(HazardState::Closed.code());
    request
        .respond(move |view| {
            let codes: Vec<&str> = HazardState::ALL.iter().map(|s| s.code()).collect();
            query.check_status(&codes)?;
            let grids = query.grids(view)?;
            let hazards = view.read(|r| Ok(r.hazards_in(&grids, !all)?))?;
            let mut categories: Vec<String> = hazards.iter().map(|h| h.category.clone()).collect();
            categories.sort();
            categories.dedup();
            let now = crate::db::now_ms();
            let hazards: Vec<Hazard> = hazards
                .into_iter()
                .filter(|h| {
                    query.matches(&h.category, h.status.code())
                        && (!query.overdue_only() || is_overdue(h, now))
                        && query.matches_text(&[&h.description, &h.place])
                })
                .collect();
            Ok(Outcome::Page(
                StatusCode::OK,
                page(view, &hazards, &query, &categories),
            ))
        })
        .await
}

/// Not closed and past its rectification deadline at `now`.
fn is_overdue(h: &Hazard, now: i64) -> bool {
    h.status != HazardState::Closed && h.deadline.is_some_and(|d| d.0 < now)
}

/// The photos of the transitions to `rectified` (and any later step): what
/// the place looks like after the rectification.
fn after_photos(h: &Hazard) -> Vec<String> {
    h.transitions
        .iter()
        .filter(|t| t.to == HazardState::Rectified.code() || t.to == HazardState::Closed.code())
        .flat_map(|t| t.photos.iter().cloned())
        .collect()
}

fn page(view: &View, hazards: &[Hazard], query: &ListQuery, categories: &[String]) -> String {
    let ctx = &view.ctx;
    let now = crate::db::now_ms();
    let all = query.wants_all();
    let current = query.current_page(hazards.len());
    let back = query.url("/hazards", current);
    let states: Vec<(&'static str, &'static str)> = HazardState::ALL
        .iter()
        .map(|s| (s.code(), labels::hazard_state(ctx.lang, *s)))
        .collect();
    let body = html! {
        (query.form(view, "/hazards", categories, &states))
        p.bar {
            span { (ctx.t("共 ", "")) (hazards.len()) (ctx.t(" 条", " hazards")) }
            @if all {
                a href="/hazards" { (ctx.t("只看未销号", "Open hazards only")) }
            } @else {
                a href="/hazards?all=1" { (ctx.t("包括已销号", "Include closed hazards")) }
            }
        }
        table.data #hazards {
            thead { tr {
                th { (ctx.t("上报时间", "Reported")) } th { (ctx.t("网格", "Grid")) }
                th { (ctx.t("类别", "Category")) } th { (ctx.t("等级", "Severity")) }
                th { (ctx.t("地点", "Place")) } th { (ctx.t("描述", "Description")) }
                th { (ctx.t("照片", "Photos")) } th { (ctx.t("整改期限", "Deadline")) }
                th { (ctx.t("状态", "Status")) } th { (ctx.t("办理", "Actions")) }
            } }
            tbody {
                @for h in hazards.iter().skip((current - 1) * RECORDS_PER_PAGE).take(RECORDS_PER_PAGE) {
                    @let overdue = is_overdue(h, now);
                    tr id={ "hazard-" (h.id) } data-hazard=(h.id) data-status=(h.status.code()) class=[overdue.then_some("overdue")] {
                        td { (local_time(h.reported_at)) }
                        td { (view.scope.name_of(&h.grid)) }
                        td { (h.category) }
                        td { (labels::severity(ctx.lang, h.severity.code())) }
                        td { (h.place) }
                        td { (h.description) }
                        td.photos {
                            (gallery(ctx, ("整改前", "Before"), &h.photos))
                            (gallery(ctx, ("整改后", "After"), &after_photos(h)))
                        }
                        td {
                            @if let Some(d) = h.deadline { (local_time(d)) }
                            @if overdue { " " span.tag.warn { (ctx.t("已超期", "overdue")) } }
                        }
                        td data-field="status" {
                            (labels::hazard_state(ctx.lang, h.status))
                            @if !HazardState::replay(&h.transitions).1.is_empty() {
                                " " span.tag.warn data-conflict="workflow" title=(ctx.t("有离线操作与当前状态不符，未生效", "A move made offline did not match the current state and did not apply")) { (ctx.t("流程冲突", "workflow conflict")) }
                            }
                        }
                        td {
                            @let moves: Vec<Action<'_>> = h.status.next().iter().map(|to| Action {
                                to: to.code(),
                                label: labels::hazard_action(ctx.lang, h.status, *to),
                                refused: None,
                            }).collect();
                            (actions_form(ctx, RecordKind::Hazard, &h.id.to_string(), &moves, None, &back))
                        }
                    }
                }
            }
        }
    };
    let body = html! { (body) (query.pager(ctx, "/hazards", hazards.len())) };
    frame(ctx, ctx.t("隐患排查", "Hazards"), body)
}

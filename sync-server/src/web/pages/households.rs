//! `GET /households/{id}`: one household's register entry and visit history
//! for staff whose subtree holds it (404 otherwise). Personal data is shown
//! minimised — identity numbers as `110105********002X`, phones as
//! `138****5678`, birth dates as the year — and every view is written to
//! the access log ([`crate::access_log`]) before the page is sent; the page
//! ends with the household's recent access-log entries.

use super::{Outcome, PageRequest, View};
use crate::access_log;
use crate::db::now_ms;
use crate::error::Error;
use crate::web::labels;
use crate::web::page::{case_clock, frame, local_time, mask_id_number, mask_phone};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use gridwork_core::model::{Household, HouseholdId, Workflow};
use maud::html;

/// How many access-log entries the page shows.
const ACCESS_LOG_SHOWN: u32 = 20;

/// `GET /households/{id}`.
pub async fn household(Path(id): Path<String>, request: PageRequest) -> Response {
    request.respond(move |view| {
        let not_found = || Error::not_found("household", "");
        let id: HouseholdId = id.parse().map_err(|_| not_found())?;
        let household = view
            .read(|r| Ok(r.household(id)?))
            .map_err(|_| not_found())?;
        if !view.scope.covers(&household.grid) {
            return Err(not_found());
        }
        access_log::record_household_view(
            &view.state.backend,
            &view.ctx.account.worker_id.0,
            &household.id.to_string(),
            now_ms(),
        )?;
        tracing::info!(worker = %view.ctx.account.worker_id.0, household = %household.id, "household viewed");
        Ok(Outcome::Page(StatusCode::OK, page(view, &household)?))
    })
    .await
}

fn page(view: &View, h: &Household) -> Result<String, Error> {
    let ctx = &view.ctx;
    let (visits, cases, hazards) = view.read(|r| {
        Ok((
            r.list_visits(Some(h.id))?,
            r.cases_of_household(h.id)?,
            r.hazards_of_household(h.id)?,
        ))
    })?;
    let names = view.names()?;
    let log = access_log::for_household(&view.state.backend, &h.id.to_string(), ACCESS_LOG_SHOWN)?;
    let tag_list = |tags: &[gridwork_core::model::SpecialGroup]| {
        tags.iter()
            .map(|t| ctx.t(t.label_zh(), t.code()))
            .collect::<Vec<_>>()
            .join("、")
    };
    let body = html! {
        p { a href={ "/grids/" (h.grid.0) } { "← " (view.scope.name_of(&h.grid)) } }
        p.hint { (ctx.t("本页的查看已记入访问日志。证件号和电话已部分隐藏。", "Viewing this page is recorded in the access log. ID numbers and phones are partly hidden.")) }
        table.data #register {
            tbody {
                tr { th { (ctx.t("户代表", "Representative")) } td { (h.representative) } }
                tr { th { (ctx.t("电话", "Phone")) } td data-field="phone" { (mask_phone(&h.phone)) } }
                tr { th { (ctx.t("户标签", "Household tags")) } td { (tag_list(&h.tags)) } }
                tr { th { (ctx.t("风险等级", "Risk")) } td data-risk=(h.risk.code()) { (labels::risk(ctx.lang, h.risk)) } }
                tr { th { (ctx.t("状态", "Status")) } td data-status=(h.status.code()) { (labels::household_status(ctx.lang, h.status)) } }
            }
        }
        h2 { (ctx.t("家庭成员", "Residents")) }
        table.data #residents {
            thead { tr {
                th { (ctx.t("姓名", "Name")) } th { (ctx.t("关系", "Relation")) }
                th { (ctx.t("出生年份", "Born")) } th { (ctx.t("证件号", "ID number")) }
                th { (ctx.t("电话", "Phone")) } th { (ctx.t("特殊群体", "Special groups")) }
                th { (ctx.t("在住", "Living here")) }
            } }
            tbody {
                @for r in &h.residents {
                    tr data-resident=(r.id) {
                        td { (r.name) }
                        td { (r.relation) }
                        td { (r.birth_date.get(..4).unwrap_or("")) }
                        td data-field="id_number" { (mask_id_number(&r.id_number)) }
                        td { (mask_phone(&r.phone)) }
                        td { (tag_list(&r.tags)) }
                        td { (if r.moved_out { ctx.t("已迁出", "moved out") } else { ctx.t("是", "yes") }) }
                    }
                }
            }
        }
        h2 { (ctx.t("走访记录", "Visits")) }
        @if visits.is_empty() {
            p.hint { (ctx.t("还没有走访记录。", "No visits yet.")) }
        } @else {
            table.data #visits {
                thead { tr {
                    th { (ctx.t("时间", "When")) } th { (ctx.t("网格员", "Gridworker")) }
                    th { (ctx.t("发现问题", "Problems found")) } th { (ctx.t("备注", "Note")) }
                } }
                tbody {
                    @for v in &visits {
                        tr data-visit=(v.id) {
                            td { (local_time(v.started_at)) }
                            td { (names.person(&v.worker.0)) }
                            td { (super::workers::problems(ctx, v)) }
                            td { (v.note) }
                        }
                    }
                }
            }
        }
        h2 { (ctx.t("本户事项", "Cases of this household")) }
        @if cases.is_empty() {
            p.hint { (ctx.t("没有事项。", "No cases.")) }
        } @else {
            table.data #household-cases {
                thead { tr {
                    th { (ctx.t("受理时间", "Taken")) } th { (ctx.t("类别", "Category")) }
                    th { (ctx.t("内容", "Request")) } th { (ctx.t("状态", "Status")) }
                    th { (ctx.t("时限", "Deadlines")) }
                } }
                tbody {
                    @for c in &cases {
                        tr data-case=(c.id) data-status=(c.status.code()) class=[(c.timers.response_overdue || c.timers.handling_overdue).then_some("overdue")] {
                            td { (local_time(c.opened_at)) }
                            td { (c.category) }
                            td { a href={ "/cases#case-" (c.id) } { (c.description) } (super::photos::gallery(ctx, ("诉求照片", "Request photos"), &c.photos)) }
                            td { (labels::case_state(ctx.lang, c.status)) }
                            td { (case_clock(ctx, c)) }
                        }
                    }
                }
            }
        }
        h2 { (ctx.t("本户隐患", "Hazards at this household")) }
        @if hazards.is_empty() {
            p.hint { (ctx.t("没有隐患。", "No hazards.")) }
        } @else {
            table.data #household-hazards {
                thead { tr {
                    th { (ctx.t("上报时间", "Reported")) } th { (ctx.t("类别", "Category")) }
                    th { (ctx.t("描述", "Description")) } th { (ctx.t("状态", "Status")) }
                    th { (ctx.t("整改期限", "Deadline")) }
                } }
                tbody {
                    @for hz in &hazards {
                        tr data-hazard=(hz.id) data-status=(hz.status.code()) {
                            td { (local_time(hz.reported_at)) }
                            td { (hz.category) }
                            td { a href={ "/hazards#hazard-" (hz.id) } { (hz.description) } }
                            td { (labels::hazard_state(ctx.lang, hz.status)) }
                            td { (hz.deadline.map(local_time).unwrap_or_else(|| "—".into())) }
                        }
                    }
                }
            }
        }
        h2 { (ctx.t("访问日志", "Access log")) }
        table.data #access-log {
            thead { tr { th { (ctx.t("时间", "When")) } th { (ctx.t("查看人", "Who")) } th { (ctx.t("操作", "What")) } } }
            tbody {
                @for e in &log {
                    tr { td { (local_time(gridwork_core::model::Timestamp(e.at))) } td { (names.person(&e.worker_id)) } td data-action=(e.action) { (if e.action == "household" { ctx.t("查看本户信息", "viewed this household") } else { e.action.as_str() }) } }
                }
            }
        }
    };
    Ok(frame(ctx, &h.address, body))
}

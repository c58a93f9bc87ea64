//! `GET /invites`: the residents' invitation links of the 4th-level grids
//! in the staff member's subtree, each with its QR code (SVG drawn by the
//! server), and the household contact changes residents proposed that
//! wait for a decision. `POST /invites` makes a link (fields `grid`,
//! `days`), `POST /invites/{id}/revoke` stops one, `GET /invites/{id}/print`
//! is a printable poster, `POST /proposals/{id}` records a decision
//! (`outcome` = `applied` after the register was changed, or `dismissed`).
//! Every POST carries the session's CSRF token.

use super::{Outcome, PageRequest, View};
use crate::db::now_ms;
use crate::error::Error;
use crate::intake::invites::{self, Invite};
use crate::intake::requests;
use crate::web::page::{frame, local_time};
use axum::extract::rejection::FormRejection;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Form};
use gridwork_core::model::{GridCode, Timestamp};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;

/// The public base URL of links: `serve --public-url`, else `https` behind
/// `--secure-cookies` and the request's `Host` (letters, digits, `.`, `-`,
/// `:`, `[`, `]` only).
fn base_url(headers: &HeaderMap, config: crate::web::WebConfig) -> String {
    if let Some(url) = config.public_url {
        return url.to_string();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = if config.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// `text` as a QR code, an inline SVG of at least `size` pixels.
pub fn qr_svg(text: &str, size: u32) -> Markup {
    let svg = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map(|code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(size, size)
                .build()
        })
        .unwrap_or_default();
    // Inline in HTML: without the XML declaration.
    let start = svg.find("<svg").unwrap_or(0);
    html! { (PreEscaped(&svg[start..])) }
}

fn grids_4th(view: &View) -> Vec<&gridwork_core::model::GridNode> {
    view.scope
        .nodes
        .iter()
        .filter(|n| n.level == crate::accounts::MAX_LEVEL)
        .collect()
}

/// `GET /invites`.
pub async fn index(
    request: PageRequest,
    headers: HeaderMap,
    Extension(config): Extension<crate::web::WebConfig>,
) -> Response {
    let base = base_url(&headers, config);
    request
        .respond(move |view| Ok(Outcome::Page(StatusCode::OK, page(view, &base)?)))
        .await
}

fn page(view: &View, base: &str) -> Result<String, Error> {
    let ctx = &view.ctx;
    let grids = grids_4th(view);
    let codes: Vec<GridCode> = grids.iter().map(|g| g.code.clone()).collect();
    let now = now_ms();
    let (links, proposals, open_proposals) = view.state.backend.read(|conn| {
        let links = invites::list_in(conn, &codes)?
            .into_iter()
            .map(|invite| {
                let token = invites::token_of(conn, &invite)?;
                Ok((invite, token))
            })
            .collect::<Result<Vec<(Invite, String)>, Error>>()?;
        Ok((
            links,
            requests::open_proposals_in(conn, &codes)?,
            requests::count_open_proposals_in(conn, &codes)?,
        ))
    })?;
    if !proposals.is_empty() {
        let grids: Vec<String> = codes.iter().map(|g| g.as_str().to_string()).collect();
        crate::access_log::record_search(
            &view.state.backend,
            &ctx.account.worker_id.0,
            "household_proposals",
            &grids,
            now,
        )?;
    }
    let body = html! {
        @if !base.starts_with("https://") {
            p.error { (ctx.t(
                "注意：链接不是 https 地址，居民填写的信息将明文传输。请以 serve --public-url https://… 启动服务器后再打印。",
                "Note: the link is not an https address, so what residents type travels unencrypted. Start the server with serve --public-url https://… before printing.")) }
        }
        p.hint { (ctx.t(
            "把链接或二维码发到网格微信群：居民无需注册即可提交诉求，诉求作为“已采集”事项立即同步到网格员手机，30 分钟计时从服务器收到时开始。持有链接的人都能提交，请定期更换。",
            "Share a link or its QR code in the grid's WeChat group: residents file requests without an account; each becomes a collected case on the gridworker's phone at once, its 30-minute clock starting when the server receives it. Anyone holding the link can file, so renew links from time to time.")) }
        h2 { (ctx.t("新建链接", "New link")) }
        form.inline method="post" action="/invites" {
            (ctx.csrf_field())
            label { (ctx.t("网格", "Grid")) " "
                select name="grid" required {
                    @for g in &grids { option value=(g.code.as_str()) { (g.name) " (" (g.code.as_str()) ")" } }
                }
            }
            label { (ctx.t("有效天数", "Days")) " "
                input type="number" name="days" min="1" max=(invites::MAX_DAYS) value=(invites::DEFAULT_DAYS);
            }
            button type="submit" { (ctx.t("生成", "Create")) }
        }
        h2 { (ctx.t("邀请链接", "Links")) }
        @if links.is_empty() {
            p { (ctx.t("还没有链接。", "No links yet.")) }
        }
        table.data #invites {
            tbody {
                @for (invite, token) in &links {
                    @let url = format!("{base}/r/{token}");
                    @let usable = invite.usable_at(now);
                    tr #{ "invite-" (invite.id) } data-invite=(invite.id) data-usable=(usable) {
                        td { (view.scope.name_of(&GridCode(invite.grid.clone()))) }
                        td {
                            @if usable {
                                a.invite-link href=(url) { (url) }
                            } @else if invite.revoked_at.is_some() {
                                (ctx.t("已停用", "Revoked"))
                            } @else {
                                (ctx.t("已过期", "Expired"))
                            }
                            br;
                            small { (ctx.t("有效期至 ", "Valid until ")) (local_time(Timestamp(invite.expires_at))) }
                        }
                        td.qr { @if usable { (qr_svg(&url, 120)) } }
                        td {
                            @if usable {
                                a href={ "/invites/" (invite.id) "/print" } { (ctx.t("打印", "Print")) }
                                form method="post" action={ "/invites/" (invite.id) "/revoke" } {
                                    (ctx.csrf_field())
                                    button type="submit" { (ctx.t("停用", "Revoke")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (ctx.t("居民提交的联系方式变更（待核实）", "Contact changes proposed by residents (to check)")) }
        @if proposals.is_empty() {
            p { (ctx.t("没有待核实的变更。", "Nothing to check.")) }
        } @else {
            p.hint { (ctx.t("核实后在手机上修改住户登记，再标记为“已更新”；登记不会被自动修改。请先拨打登记的原电话核实，谨防冒名更改。", "Check, change the register on the phone, then mark it applied; the register is never changed by itself. Call the number on the register first: anyone with the link can propose a change.")) }
            @if open_proposals as usize > proposals.len() {
                p.hint data-figure="proposals_open" { (ctx.t("待核实共 ", "Open in all: ")) (open_proposals) (ctx.t(" 条，按提交先后显示前 ", ", the oldest ")) (proposals.len()) (ctx.t(" 条。", " shown.")) }
            }
            table.data #proposals {
                thead { tr {
                    th { (ctx.t("网格", "Grid")) } th { (ctx.t("住址", "Address")) } th { (ctx.t("联系人", "Contact")) }
                    th { (ctx.t("新电话", "New phone")) } th { (ctx.t("备注", "Note")) } th { (ctx.t("提交时间", "Received")) } th {}
                } }
                tbody {
                    @for p in &proposals {
                        tr data-proposal=(p.id) {
                            td { (view.scope.name_of(&GridCode(p.grid.clone()))) }
                            td { (p.address) } td { (p.name) } td { (p.phone) } td { (p.note) }
                            td { (local_time(Timestamp(p.received_at))) }
                            td {
                                form method="post" action={ "/proposals/" (p.id) } {
                                    (ctx.csrf_field())
                                    button type="submit" name="outcome" value="applied" { (ctx.t("已更新登记", "Applied")) }
                                    button type="submit" name="outcome" value="dismissed" { (ctx.t("忽略", "Dismiss")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(frame(
        ctx,
        ctx.t("居民诉求入口", "Residents' requests"),
        body,
    ))
}

/// The fields of `POST /invites`.
#[derive(Deserialize)]
pub struct CreateForm {
    csrf: String,
    grid: String,
    #[serde(default)]
    days: String,
}

/// `POST /invites`.
pub async fn create(
    request: PageRequest,
    form: Result<Form<CreateForm>, FormRejection>,
) -> Response {
    let form = match request.checked_form(form, "invite") {
        Ok(form) => form,
        Err(refused) => return refused,
    };
    request
        .respond(move |view| {
            let grid = GridCode(form.grid.trim().to_string());
            if !grids_4th(view).iter().any(|g| g.code == grid) {
                return Err(Error::not_found("grid", ""));
            }
            let days = if form.days.trim().is_empty() {
                invites::DEFAULT_DAYS
            } else {
                form.days.trim().parse().map_err(|_| {
                    Error::invalid("days", "有效天数应为整数 / days must be a whole number")
                })?
            };
            let by = view.ctx.account.worker_id.0.clone();
            let (invite, _) = view
                .state
                .backend
                .transaction(|conn| invites::create_in(conn, &grid, &by, days, now_ms()))?;
            tracing::info!(worker = %by, invite = %invite.id, grid = %invite.grid, "invitation link made");
            Ok(Outcome::SeeOther(format!("/invites#invite-{}", invite.id)))
        })
        .await
}

impl super::StaffForm for CreateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl super::StaffForm for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The CSRF field alone (revoke, decide).
#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
    #[serde(default)]
    outcome: String,
}

/// The invite `id` if it belongs to a grid of the viewer's subtree.
fn own_invite(view: &View, id: &str) -> Result<Invite, Error> {
    let invite = view
        .state
        .backend
        .read(|conn| invites::get_in(conn, id))?
        .filter(|i| view.scope.covers(&GridCode(i.grid.clone())))
        .ok_or_else(|| Error::not_found("invite", ""))?;
    Ok(invite)
}

/// `POST /invites/{id}/revoke`.
pub async fn revoke(
    request: PageRequest,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    if let Err(refused) = request.checked_form(form, "revoke_invite") {
        return refused;
    }
    request
        .respond(move |view| {
            let invite = own_invite(view, &id)?;
            view.state
                .backend
                .transaction(|conn| invites::revoke_in(conn, &invite.id, now_ms()))?;
            tracing::info!(worker = %view.ctx.account.worker_id.0, invite = %invite.id, "invitation link revoked");
            Ok(Outcome::SeeOther(format!("/invites#invite-{}", invite.id)))
        })
        .await
}

/// `POST /proposals/{id}`.
pub async fn decide(
    request: PageRequest,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let form = match request.checked_form(form, "decide_proposal") {
        Ok(form) => form,
        Err(refused) => return refused,
    };
    request
        .respond(move |view| {
            let grids = view.scope.codes();
            let by = view.ctx.account.worker_id.0.clone();
            view.state.backend.transaction(|conn| {
                requests::decide_proposal_in(conn, &id, &grids, form.outcome.trim(), &by, now_ms())
            })?;
            Ok(Outcome::SeeOther("/invites#proposals".into()))
        })
        .await
}

/// `GET /invites/{id}/print`: a poster with the grid's name, the QR code
/// and the link, for the notice board or the WeChat group.
pub async fn print(
    request: PageRequest,
    Path(id): Path<String>,
    headers: HeaderMap,
    Extension(config): Extension<crate::web::WebConfig>,
) -> Response {
    let base = base_url(&headers, config);
    request
        .respond(move |view| {
            let invite = own_invite(view, &id)?;
            if !invite.usable_at(now_ms()) {
                return Err(Error::not_found("invite", ""));
            }
            let token = view
                .state
                .backend
                .read(|conn| invites::token_of(conn, &invite))?;
            let url = format!("{base}/r/{token}");
            let grid = view.scope.name_of(&GridCode(invite.grid.clone()));
            let markup = html! {
                (DOCTYPE)
                html lang="zh-CN" {
                    head {
                        meta charset="utf-8";
                        title { (grid) " · 居民诉求" }
                        link rel="stylesheet" href="/assets/style.css";
                    }
                    body.poster {
                        h1 { (grid) }
                        p.big { "扫码向网格员反映问题，30 分钟内回应" }
                        p { "Scan to tell your gridworker; answered within 30 minutes" }
                        (qr_svg(&url, 360))
                        p.link { (url) }
                        p { "有效期至 " (local_time(Timestamp(invite.expires_at))) }
                    }
                }
            };
            Ok(Outcome::Page(StatusCode::OK, markup.into_string()))
        })
        .await
}

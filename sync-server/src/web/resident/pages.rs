//! The markup of the residents' pages ([`super`]): small, script-free,
//! zh-CN first with English on `?lang=en`.

use super::Submission;
use crate::error::Error;
use crate::intake::invites::LinkRefused;
use crate::intake::requests::{Tracked, CATEGORIES, MAX_SHORT_CHARS, MAX_TEXT_CHARS};
use crate::web::html::Lang;
use crate::web::page::{duration, local_time};
use axum::http::StatusCode;
use gridwork_core::model::{CaseState, Timestamp, Workflow};
use maud::{html, Markup, DOCTYPE};

fn frame(lang: Lang, title: &str, refresh: bool, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang=(lang.html_lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                @if refresh {
                    meta http-equiv="refresh" content="30";
                }
                title { (title) }
                link rel="stylesheet" href="/assets/resident.css";
            }
            body {
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
    .into_string()
}

/// The request form (and the contact-change form), with `values` kept
/// and `message` shown after a refusal.
pub(super) fn form(
    lang: Lang,
    token: &str,
    form_token: &str,
    values: &Submission,
    message: Option<&str>,
) -> String {
    let action = format!("/r/{token}");
    let other_lang = match lang {
        Lang::Zh => (format!("{action}?lang=en"), "English"),
        Lang::En => (action.clone(), "中文"),
    };
    let hidden = html! {
        input type="hidden" name="form" value=(form_token);
        input type="hidden" name="lang" value=(lang.code());
        div.hp aria-hidden="true" {
            label { "请勿填写 / leave empty" input type="text" name="website" tabindex="-1" autocomplete="off"; }
        }
    };
    let body = html! {
        p.lead { (lang.pick("网格员会在 30 分钟内回应您的诉求。请不要在此填写身份证号等敏感信息。", "Your gridworker answers within 30 minutes. Please do not enter ID numbers or other sensitive details here.")) }
        @if let Some(message) = message {
            p.error role="alert" { (message) }
        }
        form method="post" action=(action) enctype="multipart/form-data" {
            (hidden)
            input type="hidden" name="kind" value="request";
            label for="category" { (lang.pick("问题类别", "Category")) }
            select #category name="category" required {
                option value="" { (lang.pick("请选择", "Choose")) }
                @for (code, zh, en) in CATEGORIES {
                    option value=(code) selected[values.category == *code] { (lang.pick(zh, en)) }
                }
            }
            label for="text" { (lang.pick("问题描述", "What is the problem?")) }
            textarea #text name="text" rows="5" maxlength=(MAX_TEXT_CHARS) required { (values.text) }
            label for="place" { (lang.pick("地点（选填）", "Where (optional)")) }
            input #place type="text" name="place" maxlength=(MAX_SHORT_CHARS) value=(values.place);
            label for="phone" { (lang.pick("回电号码（选填）", "Phone to call back (optional)")) }
            input #phone type="tel" name="phone" maxlength="20" inputmode="tel" value=(values.phone);
            label for="photo" { (lang.pick("照片（选填）", "Photo (optional)")) }
            input #photo type="file" name="photo" accept="image/*";
            button type="submit" { (lang.pick("提交诉求", "Send")) }
        }
        details open[values.kind == "contact"] {
            summary { (lang.pick("更新家庭联系方式", "Update your household's contact details")) }
            p { (lang.pick("网格员核实后才会更新登记信息。", "The register changes only after your gridworker checks it.")) }
            form method="post" action=(action) {
                (hidden)
                input type="hidden" name="kind" value="contact";
                label for="address" { (lang.pick("住址（小区、楼栋、门牌）", "Address (estate, building, door)")) }
                input #address type="text" name="address" maxlength=(MAX_SHORT_CHARS) required value=(values.address);
                label for="name" { (lang.pick("联系人（选填）", "Contact person (optional)")) }
                input #name type="text" name="name" maxlength=(MAX_SHORT_CHARS) value=(values.name);
                label for="new-phone" { (lang.pick("新的联系电话", "New phone number")) }
                input #new-phone type="tel" name="new_phone" maxlength="20" inputmode="tel" required value=(values.new_phone);
                label for="note" { (lang.pick("备注（选填）", "Note (optional)")) }
                input #note type="text" name="note" maxlength=(MAX_TEXT_CHARS) value=(values.note);
                button type="submit" { (lang.pick("提交更新", "Send update")) }
            }
        }
        p.lang { a href=(other_lang.0) { (other_lang.1) } }
    };
    frame(
        lang,
        lang.pick("向网格员反映问题", "Tell your gridworker"),
        false,
        body,
    )
}

/// The page of a link that does not work.
pub(super) fn refused(lang: Lang, refused: LinkRefused) -> (StatusCode, String) {
    let (status, text) = match refused {
        LinkRefused::Unknown => (
            StatusCode::NOT_FOUND,
            lang.pick(
                "链接无效，请向网格员索取新的链接。",
                "This link is not valid; ask your gridworker for a new one.",
            ),
        ),
        LinkRefused::Expired => (
            StatusCode::GONE,
            lang.pick(
                "链接已过期，请向网格员索取新的链接。",
                "This link has expired; ask your gridworker for a new one.",
            ),
        ),
        LinkRefused::Revoked => (
            StatusCode::GONE,
            lang.pick(
                "链接已停用，请向网格员索取新的链接。",
                "This link was withdrawn; ask your gridworker for a new one.",
            ),
        ),
    };
    let body = html! { p.error { (text) } };
    (
        status,
        frame(
            lang,
            lang.pick("无法使用此链接", "Link not usable"),
            false,
            body,
        ),
    )
}

/// After a contact proposal (or a dropped bot submission).
pub(super) fn thanks(lang: Lang) -> String {
    let body = html! { p { (lang.pick("已收到，网格员核实后会更新。谢谢！", "Received; your gridworker will check it. Thank you!")) } };
    frame(lang, lang.pick("已提交", "Sent"), false, body)
}

/// Past the rate limit: the message shown above the form.
pub(super) fn too_many_message(lang: Lang, retry_after_secs: u64) -> String {
    let minutes = retry_after_secs.div_ceil(60);
    match lang {
        Lang::Zh => format!("提交太频繁，请 {minutes} 分钟后再试，或直接在微信群里联系网格员。"),
        Lang::En => format!("Too many submissions; try again in {minutes} minutes, or write to your gridworker in the WeChat group."),
    }
}

/// A failure on our side (no details).
pub(super) fn failed(lang: Lang, error: &Error) -> String {
    tracing::warn!(error = %error, "resident page failed");
    let body = html! { p.error { (lang.pick("服务暂时不可用，请稍后再试，或直接在微信群里联系网格员。", "The service is unavailable; try again later, or write to your gridworker in the WeChat group.")) } };
    frame(
        lang,
        lang.pick("出错了", "Something went wrong"),
        false,
        body,
    )
}

/// A form sent from another site.
/// The page of a post the server had no room to read now (503).
pub(super) fn busy(lang: Lang) -> String {
    let body = html! { p.error { (lang.pick("提交的人较多，请稍后再试。", "Many people are sending right now; please try again in a moment.")) } };
    frame(lang, lang.pick("请稍后再试", "Try again soon"), false, body)
}

pub(super) fn failed_form(lang: Lang) -> String {
    let body = html! { p.error { (lang.pick("请在网格员分享的页面上提交。", "Please send the form from the page your gridworker shared.")) } };
    frame(lang, lang.pick("无法提交", "Not sent"), false, body)
}

/// The steps a resident sees, in order: (state reached, zh, en).
const STEPS: &[(CaseState, &str, &str)] = &[
    (CaseState::Collected, "已收到", "Received"),
    (
        CaseState::Registered,
        "网格员已受理",
        "Accepted by your gridworker",
    ),
    (
        CaseState::Dispatched,
        "已派给承办部门",
        "Passed to the department in charge",
    ),
    (CaseState::Handling, "正在办理", "Being handled"),
    (CaseState::Feedback, "已反馈结果", "Result reported"),
    (CaseState::Closed, "已办结", "Closed"),
];

fn step_index(state: CaseState) -> usize {
    match state {
        CaseState::Collected => 0,
        CaseState::Registered | CaseState::Escalated => 1,
        CaseState::Dispatched => 2,
        CaseState::Handling => 3,
        CaseState::Feedback | CaseState::Verified => 4,
        CaseState::Closed => 5,
    }
}

/// The tracking page.
pub(super) fn tracking(lang: Lang, tracked: &Tracked, fresh: bool) -> String {
    let reached = step_index(tracked.status);
    let body = html! {
        @if fresh {
            p.ok role="status" { (lang.pick("已收到您的诉求。请收藏本页，随时查看办理进度。", "Your request was received. Bookmark this page to follow it.")) }
        }
        dl {
            dt { (lang.pick("类别", "Category")) }
            dd { (tracked.category) }
            dt { (lang.pick("收到时间", "Received")) }
            dd { (local_time(Timestamp(tracked.received_at))) }
            dt { (lang.pick("首次回应", "First response")) }
            dd #first-response {
                @match tracked.first_response_at {
                    Some(at) => {
                        (local_time(Timestamp(at)))
                        " (" (duration(lang, at - tracked.received_at)) ")"
                    }
                    None => (lang.pick("等待网格员回应（30 分钟内）", "Waiting for your gridworker (within 30 minutes)")),
                }
            }
            @if let Some(at) = tracked.closed_at {
                dt { (lang.pick("办结时间", "Closed")) }
                dd { (local_time(Timestamp(at))) }
            }
        }
        ol.steps #status data-status=(tracked.status.code()) {
            @for (i, (_, zh, en)) in STEPS.iter().enumerate() {
                li.done[i <= reached] aria-current=[(i == reached).then_some("step")] { (lang.pick(zh, en)) }
            }
        }
    };
    frame(
        lang,
        lang.pick("诉求办理进度", "Your request"),
        tracked.status != CaseState::Closed,
        body,
    )
}

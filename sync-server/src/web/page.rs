//! The frame every dashboard page shares, built with maud (markup checked at
//! compile time, every interpolated value escaped): the signed-in staff
//! member, the navigation, the language switch and the sign-out form; plus
//! the small formatters pages use (percentages, local times, masked
//! identity numbers) and the HTML error page.
//!
//! Pages are rendered by the handlers in [`super::pages`]; the data comes
//! from the core's dashboard queries over the server's store.

use super::html::Lang;
use crate::accounts::Account;
use crate::error::Error;
use axum::http::StatusCode;
use gridwork_core::model::{Case, CaseState, Timestamp};
use maud::{html, Markup, DOCTYPE};

/// The time zone the dashboard shows local times and months in.
pub const TIMEZONE: &str = "Asia/Shanghai";

/// What every page needs to know about the request.
pub struct PageCtx {
    /// The page language.
    pub lang: Lang,
    /// The signed-in staff member.
    pub account: Account,
    /// The session's CSRF token, for the hidden `csrf` field of every form.
    pub csrf: String,
    /// The page's own path (no query), for the language switch.
    pub path: String,
}

impl PageCtx {
    /// `zh` or `en`, whichever the page language is.
    pub fn t(&self, zh: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(zh, en)
    }

    /// The hidden CSRF field of a form.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }
}

/// The navigation entries: (path, zh, en).
const NAV: &[(&str, &str, &str)] = &[
    ("/", "总览", "Overview"),
    ("/households", "住户", "Households"),
    ("/visits", "走访", "Visits"),
    ("/hazards", "隐患", "Hazards"),
    ("/cases", "事项办理", "Cases"),
    ("/map", "地图", "Map"),
    ("/invites", "居民诉求", "Residents"),
    ("/evaluation", "考核", "Evaluation"),
    ("/exports", "导出", "Exports"),
];

/// A whole page: `title` and `body` in the frame.
pub fn frame(ctx: &PageCtx, title: &str, body: Markup) -> String {
    let lang = ctx.lang;
    let who = match lang {
        Lang::Zh => format!("{}（{}）", ctx.account.name, lang.role(ctx.account.role)),
        Lang::En => format!("{} ({})", ctx.account.name, lang.role(ctx.account.role)),
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.html_lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Gridwork" }
                link rel="stylesheet" href="/assets/style.css";
            }
            body.wide {
                header {
                    span.brand { "Gridwork " (lang.pick("网格工作台", "staff dashboard")) }
                    nav.main {
                        @for (path, zh, en) in NAV {
                            @let current = if *path == "/" { ctx.path == "/" } else { ctx.path.starts_with(path) };
                            a href=(path) aria-current=[current.then_some("page")] { (lang.pick(zh, en)) }
                        }
                    }
                    nav.lang {
                        a href={ (ctx.path) "?lang=zh" } lang="zh-CN" { "中文" }
                        " · "
                        a href={ (ctx.path) "?lang=en" } lang="en" { "English" }
                    }
                }
                main {
                    div.bar {
                        p.who { (lang.pick("已登录：", "Signed in as ")) (who) }
                        form method="post" action="/logout" {
                            (ctx.csrf_field())
                            button type="submit" { (lang.pick("退出登录", "Sign out")) }
                        }
                    }
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    markup.into_string()
}

/// `part / whole` as a percentage with one decimal (`66.7%`), or a dash
/// when there is nothing to divide by: "no data" is not "0%".
pub fn share(part: u32, whole: u32) -> String {
    if whole == 0 {
        "—".to_owned()
    } else {
        percent(f64::from(part) / f64::from(whole))
    }
}

/// `share` (0..=1) as a percentage with one decimal: `66.7%`.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A local date and time `YYYY-MM-DD HH:MM` in [`TIMEZONE`].
pub fn local_time(at: Timestamp) -> String {
    let tz = jiff::tz::TimeZone::get(TIMEZONE).unwrap_or(jiff::tz::TimeZone::UTC);
    match jiff::Timestamp::from_millisecond(at.0) {
        Ok(ts) => ts
            .to_zoned_datetime(tz)
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => String::new(),
    }
}

/// The current local month `YYYY-MM` in [`TIMEZONE`].
pub fn current_month() -> String {
    let tz = jiff::tz::TimeZone::get(TIMEZONE).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::now()
        .to_zoned_datetime(tz)
        .strftime("%Y-%m")
        .to_string()
}

/// The last complete local month `YYYY-MM` in [`TIMEZONE`] (the one
/// before [`current_month`]).
pub fn previous_month() -> String {
    let tz = jiff::tz::TimeZone::get(TIMEZONE).unwrap_or(jiff::tz::TimeZone::UTC);
    let today = jiff::Timestamp::now().to_zoned_datetime(tz).date();
    let first = today.first_of_month();
    first
        .yesterday()
        .unwrap_or(first)
        .strftime("%Y-%m")
        .to_string()
}

/// A duration for people: `12 分钟`, `5 小时 20 分`, `3 天`.
pub fn duration(lang: Lang, ms: i64) -> String {
    let minutes = (ms.abs() + 59_999) / 60_000;
    match (lang, minutes) {
        (Lang::Zh, m) if m < 60 => format!("{m} 分钟"),
        (Lang::En, m) if m < 60 => format!("{m} min"),
        (Lang::Zh, m) if m < 48 * 60 => format!("{} 小时 {} 分", m / 60, m % 60),
        (Lang::En, m) if m < 48 * 60 => format!("{} h {} min", m / 60, m % 60),
        (Lang::Zh, m) => format!("{} 天", m / (24 * 60)),
        (Lang::En, m) => format!("{} days", m / (24 * 60)),
    }
}

/// A case's clocks as of now: the first-response countdown while it waits
/// for one (超时响应 once past it), the handling countdown until the
/// handler reports back (办理超期 once past it). Each clock is an element
/// with `data-clock` (`response`, `handling`), `data-due` (ms) and
/// `data-overdue`.
pub fn case_clock(ctx: &PageCtx, case: &Case) -> Markup {
    let now = crate::db::now_ms();
    let t = &case.timers;
    let waiting = case.first_response_at.is_none() && case.status == CaseState::Collected;
    let handling = matches!(
        case.status,
        CaseState::Collected
            | CaseState::Registered
            | CaseState::Escalated
            | CaseState::Dispatched
            | CaseState::Handling
    );
    let response_left = t.response_due_at.0 - now;
    let handling_left = t.handling_due_at.0 - now;
    html! {
        @if waiting {
            @if response_left > 0 {
                span.clock data-clock="response" data-due=(t.response_due_at.0) data-overdue="false" {
                    (ctx.t("首次响应剩 ", "first response due in ")) (duration(ctx.lang, response_left))
                }
            } @else {
                span.tag.warn.clock data-clock="response" data-due=(t.response_due_at.0) data-overdue="true" {
                    (ctx.t("超时响应 · 已超 ", "response overdue by ")) (duration(ctx.lang, response_left))
                }
            }
            " "
        } @else if t.responded_late {
            span.tag { (ctx.t("超时响应", "responded late")) } " "
        }
        @if handling {
            @if handling_left > 0 {
                span.clock data-clock="handling" data-due=(t.handling_due_at.0) data-overdue="false" title=(local_time(t.handling_due_at)) {
                    (ctx.t("办结剩 ", "handling due in ")) (duration(ctx.lang, handling_left))
                }
            } @else {
                span.tag.warn.clock data-clock="handling" data-due=(t.handling_due_at.0) data-overdue="true" title=(local_time(t.handling_due_at)) {
                    (ctx.t("办理超期 ", "handling overdue by ")) (duration(ctx.lang, handling_left))
                }
            }
        }
    }
}

/// Minutes with one decimal, or a dash.
pub fn minutes(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |m| format!("{m:.1}"))
}

/// An identity number with only the region code (first 6) and the last 4
/// characters shown: `110101********123X`. Short values are masked whole.
pub fn mask_id_number(id_number: &str) -> String {
    let chars: Vec<char> = id_number.chars().collect();
    if chars.len() < 12 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..6].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 10));
    out.extend(&chars[chars.len() - 4..]);
    out
}

/// A phone number with its middle digits hidden: `138****5678`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..3].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 7));
    out.extend(&chars[chars.len() - 4..]);
    out
}

/// The HTML page for an error: the status of [`Error::status`] and its
/// message (server errors get a generic text; the detail goes to the log).
pub fn error_page(ctx: &PageCtx, error: &Error) -> (StatusCode, String) {
    let status = error.status();
    let message = if status.is_server_error() {
        tracing::error!(error = %error, "dashboard request failed");
        "服务器内部错误 / internal server error".to_owned()
    } else {
        error.to_string()
    };
    let title = ctx.t("无法完成", "Could not do that");
    let body = html! {
        p.error role="alert" { (message) }
        p { a href="/" { (ctx.t("返回总览", "Back to the overview")) } }
    };
    (status, frame(ctx, title, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_identity_numbers_and_phones() {
        assert_eq!(mask_id_number("11010519491231002X"), "110105********002X");
        assert_eq!(mask_id_number("123"), "***");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("12345"), "*****");
    }

    #[test]
    fn formats_figures() {
        assert_eq!(percent(2.0 / 3.0), "66.7%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(minutes(None), "—");
        assert_eq!(minutes(Some(12.26)), "12.3");
        assert_eq!(local_time(Timestamp(0)), "1970-01-01 08:00");
    }
}

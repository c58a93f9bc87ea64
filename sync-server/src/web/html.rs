//! Server-rendered HTML of the staff dashboard: HTML escaping, the page
//! language (zh-CN by default, English on `?lang=en`), the page frame and
//! each page. Everything interpolated into markup goes through [`escape`].
//! No scripts; the only asset is the embedded stylesheet.

use gridwork_core::model::Role;
use std::fmt::Write;

/// Shown for every refused login, whatever the reason, so that a wrong
/// user, a wrong password and a locked account look the same.
pub const LOGIN_FAILED: &str = "用户名或密码错误，或账户已暂时锁定 / wrong user or password, or the account is locked for a while";

/// Shown (403) when a POST form lacks its CSRF token or it does not match.
pub const CSRF_FAILED: &str = "表单已失效或不是从本站提交的，未做任何更改；请返回后重试 / the form has expired or was not sent from this site; nothing was changed, please go back and try again";

/// Escape `text` for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The language a page is rendered in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Parse a `lang` query value or `gw_lang` cookie: `zh`, `zh-CN` or `en`.
    pub fn parse(value: &str) -> Option<Lang> {
        match value {
            "zh" | "zh-CN" | "zh-cn" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The short code stored in the `gw_lang` cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The value of the page's `<html lang>`.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// `zh` or `en`, whichever this language is.
    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// A role's display name.
    pub fn role(self, role: Role) -> &'static str {
        match role {
            Role::Gridworker => self.pick("网格员", "gridworker"),
            Role::CommunityStaff => self.pick("社区工作人员", "community staff"),
            Role::TownStaff => self.pick("镇街工作人员", "town staff"),
            Role::Admin => self.pick("管理员", "administrator"),
        }
    }

    /// A grid level's display name (1 = town … 4 = a gridworker's grid).
    pub fn level(self, level: u8) -> &'static str {
        match level {
            1 => self.pick("镇街", "town"),
            2 => self.pick("社区", "community"),
            3 => self.pick("三级网格", "level 3"),
            _ => self.pick("网格", "grid"),
        }
    }
}

/// A whole page: `title` and `body` (already HTML) in the frame with the
/// stylesheet and the language switch; `path` is the page's own path, used
/// for the switch links (`path?lang=…`).
pub fn page(lang: Lang, title: &str, path: &str, body: &str) -> String {
    let path = escape(path);
    format!(
        r#"<!DOCTYPE html>
<html lang="{html_lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Gridwork</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<header><span class="brand">Gridwork {brand}</span>
<nav class="lang"><a href="{path}?lang=zh" lang="zh-CN">中文</a> · <a href="{path}?lang=en" lang="en">English</a></nav></header>
<main>
{body}
</main>
</body>
</html>
"#,
        html_lang = lang.html_lang(),
        title = escape(title),
        brand = lang.pick("网格工作台", "staff dashboard"),
    )
}

/// The sign-in page; `csrf` is the login CSRF token (also in the
/// `gw_login_csrf` cookie), `user` is put back after a refusal, `error` is
/// shown above the form.
pub fn login_page(lang: Lang, csrf: &str, user: &str, error: Option<&str>) -> String {
    let title = lang.pick("工作人员登录", "Staff sign-in");
    let mut body = format!("<h1>{}</h1>\n", escape(title));
    if let Some(error) = error {
        let _ = writeln!(
            body,
            r#"<p class="error" role="alert">{}</p>"#,
            escape(error)
        );
    }
    let _ = write!(
        body,
        r#"<form method="post" action="/login" class="card">
<input type="hidden" name="csrf" value="{csrf}">
<label>{user_label}<input name="user" value="{user}" autocomplete="username" required autofocus></label>
<label>{password_label}<input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">{submit}</button>
</form>
<p class="hint">{hint}</p>"#,
        csrf = escape(csrf),
        user = escape(user),
        user_label = lang.pick("工作人员编号", "Worker ID"),
        password_label = lang.pick("密码", "Password"),
        submit = lang.pick("登录", "Sign in"),
        hint = lang.pick(
            "网格员请在手机应用中使用设备令牌登录。",
            "Gridworkers sign in on the phone app with their device token."
        ),
    );
    page(lang, title, "/login", &body)
}

/// The 403 page for a POST whose CSRF token is missing or wrong.
pub fn csrf_failed_page(lang: Lang) -> String {
    let title = lang.pick("请求被拒绝", "Request refused");
    let body = format!(
        r#"<h1>{}</h1>
<p class="error" role="alert">{}</p>
<p><a href="/">{}</a></p>"#,
        escape(title),
        escape(CSRF_FAILED),
        lang.pick("返回", "Back"),
    );
    page(lang, title, "/", &body)
}

/// The page answering a sign-in over its rate limit (429): wait and retry.
pub fn too_many_sign_ins_page(lang: Lang, retry_after_secs: u64) -> String {
    let title = lang.pick("登录尝试过于频繁", "Too many sign-in attempts");
    let message = match lang {
        Lang::Zh => format!("请 {retry_after_secs} 秒后再试。"),
        Lang::En => format!("Please try again in {retry_after_secs} seconds."),
    };
    let body = format!(
        r#"<h1>{}</h1>
<p class="error" role="alert">{}</p>
<p><a href="/login">{}</a></p>"#,
        escape(title),
        escape(&message),
        lang.pick("返回登录", "Back to sign-in"),
    );
    page(lang, title, "/login", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("张三 O'Neil"), "张三 O&#39;Neil");
    }

    #[test]
    fn languages() {
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::default(), Lang::Zh);
        assert_eq!(Lang::En.role(Role::TownStaff), "town staff");
    }

    #[test]
    fn pages_escape_what_they_render() {
        let html = login_page(Lang::En, "tok", "\"><b>", Some(LOGIN_FAILED));
        assert!(html.contains(r#"value="&quot;&gt;&lt;b&gt;""#));
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("wrong user or password"));
        assert!(html.contains(r#"name="csrf" value="tok""#));
    }
}

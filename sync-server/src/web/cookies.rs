//! Cookies of the staff dashboard: reading one from a request's `Cookie`
//! headers and writing `Set-Cookie` values. Every cookie we set is
//! `HttpOnly; SameSite=Strict; Path=/`, plus `Secure` when the server runs
//! with `--secure-cookies` (behind HTTPS).

use axum::http::{header, HeaderMap, HeaderValue};

/// The signed-in session (random token; only its SHA-256 is stored).
pub const SESSION: &str = "gw_session";
/// The login form's CSRF token before there is a session (double submit).
pub const LOGIN_CSRF: &str = "gw_login_csrf";
/// The chosen page language (`zh` or `en`).
pub const LANG: &str = "gw_lang";

/// The value of the first cookie called `name` in the request's `Cookie`
/// headers (there may be several), or `None`. Names are case-sensitive;
/// surrounding spaces and double quotes around the value are dropped.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| {
            let value = value.trim();
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value)
        })
}

/// A `Set-Cookie` value: `name=value; HttpOnly; SameSite=Strict; Path=/`,
/// with `Max-Age` when given (0 deletes the cookie) and `Secure` when
/// `secure`. `value` must be a cookie-safe token (we only set base64url
/// tokens and language codes); anything else yields an empty deletion.
pub fn set(name: &str, value: &str, max_age_secs: Option<i64>, secure: bool) -> HeaderValue {
    let safe = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    let (value, max_age_secs) = if safe {
        (value, max_age_secs)
    } else {
        ("", Some(0))
    };
    let mut text = format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/");
    if let Some(age) = max_age_secs {
        text.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that deletes the cookie `name`.
pub fn clear(name: &str, secure: bool) -> HeaderValue {
    set(name, "", Some(0), secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(header::COOKIE, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn reads_cookies_from_one_or_many_headers() {
        let h = headers(&["a=1; gw_session=abc_-9 ; gw_lang=en", "b=2"]);
        assert_eq!(get(&h, SESSION), Some("abc_-9"));
        assert_eq!(get(&h, LANG), Some("en"));
        assert_eq!(get(&h, "b"), Some("2"));
        assert_eq!(get(&h, "gw"), None);
        assert_eq!(get(&h, "GW_LANG"), None);
        assert_eq!(get(&headers(&[]), SESSION), None);
        // First one wins; quotes are dropped; empty values and junk are fine.
        let h = headers(&["x=\"q\"; x=2; junk; y="]);
        assert_eq!(get(&h, "x"), Some("q"));
        assert_eq!(get(&h, "y"), Some(""));
        assert_eq!(get(&h, "junk"), None);
    }

    #[test]
    fn writes_strict_http_only_cookies() {
        let v = set(SESSION, "tok-en_1", Some(43200), false);
        assert_eq!(
            v,
            "gw_session=tok-en_1; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"
        );
        let v = set(LANG, "en", None, true);
        assert_eq!(v, "gw_lang=en; HttpOnly; SameSite=Strict; Path=/; Secure");
        assert_eq!(
            clear(SESSION, false),
            "gw_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
        );
        // A value that could break out of the header is never written.
        let v = set(LANG, "en; Domain=evil", None, false);
        assert_eq!(v, "gw_lang=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    }
}

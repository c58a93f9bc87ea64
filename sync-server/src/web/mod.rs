//! The staff dashboard (issue 6), served as plain HTML by the same binary:
//! staff sign-in with a password, a session cookie and CSRF-protected
//! forms. No scripts and no external assets (the stylesheet is embedded).
//!
//! Routes: `GET /login` (the form; sets the `gw_login_csrf` cookie),
//! `POST /login` (fields `user`, `password`, `csrf`; 303 → `/` with the
//! `gw_session` cookie, or 401 with one generic message), `POST /logout`
//! (field `csrf`), `GET /assets/style.css`, and the pages after sign-in
//! ([`pages`]: overview, grid drill-down, household detail, hazards, the
//! case queue and its actions, evaluation, exports; 303 → `/login` when not
//! signed in). Pages are zh-CN unless `?lang=en` was chosen (remembered in
//! the `gw_lang` cookie). A POST whose CSRF token is missing or wrong gets
//! 403 and changes nothing.
//!
//! Passwords and lockout: [`crate::accounts::passwords`]; sessions and the
//! [`StaffSession`] extractor: [`session`]. Sign-ins are logged with the
//! worker id only.

pub mod charts;
pub mod cookies;
pub mod csrf;
pub mod html;
pub mod labels;
pub mod page;
pub mod pages;
pub mod resident;
pub mod session;

pub use session::StaffSession;

use crate::accounts::{self, LoginRefused};
use crate::db;
use crate::error::Error;
use crate::state::AppState;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Extension, Form, Router};
use html::Lang;
use pages::invites;
use serde::Deserialize;

/// Largest form body the dashboard accepts.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// How long the `gw_lang` cookie is kept: one year, in seconds.
const LANG_COOKIE_SECS: i64 = 365 * 24 * 60 * 60;

/// Options of the dashboard routes.
#[derive(Clone, Copy, Debug, Default)]
pub struct WebConfig {
    /// Add `Secure` to every cookie (`serve --secure-cookies`, for a server
    /// reached over HTTPS).
    pub secure_cookies: bool,
    /// `serve --public-url`: the base of residents' invitation links and
    /// their QR codes; without it the address the dashboard was reached at.
    pub public_url: Option<&'static str>,
}

/// Check `serve --public-url`: `http://` or `https://` and a host, no path
/// query or spaces; returned without a trailing `/`.
pub fn check_public_url(url: &str) -> Result<String, Error> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host)
            if !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) =>
        {
            Ok(url.to_string())
        }
        _ => Err(Error::invalid(
            "public_url",
            "应为 https://主机名[:端口] / must be https://host[:port]",
        )),
    }
}

/// The dashboard routes, to be merged into the server's router.
pub fn routes(config: WebConfig) -> Router<AppState> {
    Router::new()
        .route("/", get(pages::overview::overview))
        .route("/grids/{code}", get(pages::overview::grid))
        .route("/households", get(pages::household_list::list))
        .route("/households/{id}", get(pages::households::household))
        .route("/hazards", get(pages::hazards::list))
        .route("/cases", get(pages::cases::queue))
        .route("/cases/{id}/transition", post(pages::transitions::case))
        .route("/hazards/{id}/transition", post(pages::transitions::hazard))
        .route("/map", get(pages::map::map))
        .route("/visits", get(pages::workers::visits))
        .route("/workers/{id}", get(pages::workers::worker))
        .route("/evaluation", get(pages::evaluation::evaluation))
        .route("/photos/{id}", get(pages::photos::original))
        .route("/photos/{id}/thumb", get(pages::photos::thumb))
        .route("/exports", get(pages::exports::index))
        .route("/exports/{file}", get(pages::exports::download))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/assets/style.css", get(stylesheet))
        .route("/invites", get(invites::index).post(invites::create))
        .route("/invites/{id}/revoke", post(invites::revoke))
        .route("/invites/{id}/print", get(invites::print))
        .route("/proposals/{id}", post(invites::decide))
        .route("/assets/resident.css", get(resident::stylesheet))
        .route(
            "/r/{token}",
            get(resident::form)
                .post(resident::submit)
                // The photo: wider than the dashboard's forms (the layer
                // nearest the handler decides).
                .layer(DefaultBodyLimit::max(resident::photo::MAX_SUBMISSION_BYTES)),
        )
        .route("/r/t/{tracking}", get(resident::track))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(Extension(config))
        .layer(middleware::map_response(security_headers))
}

/// Headers on every dashboard response: no framing, no sniffing, no
/// referrer, and a content security policy that allows only our own
/// stylesheet and forms.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// An HTML page that is never cached (it may show who is signed in).
pub(crate) fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// A 303 redirect to `to`.
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Append `Set-Cookie: value` to `response`.
pub(crate) fn add_cookie(response: &mut Response, value: HeaderValue) {
    response.headers_mut().append(header::SET_COOKIE, value);
}

/// The `lang` query parameter, if it names a language.
fn lang_param(uri: &Uri) -> Option<Lang> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "lang")
        .and_then(|(_, value)| Lang::parse(value))
}

/// The page language: `?lang=` if given (then also the `gw_lang` cookie to
/// remember it), else the cookie, else zh-CN.
pub(crate) fn choose_lang(
    uri: &Uri,
    headers: &HeaderMap,
    config: WebConfig,
) -> (Lang, Option<HeaderValue>) {
    match lang_param(uri) {
        Some(lang) => (
            lang,
            Some(cookies::set(
                cookies::LANG,
                lang.code(),
                Some(LANG_COOKIE_SECS),
                config.secure_cookies,
            )),
        ),
        None => (cookie_lang(headers), None),
    }
}

/// The language remembered in the `gw_lang` cookie, else zh-CN.
fn cookie_lang(headers: &HeaderMap) -> Lang {
    cookies::get(headers, cookies::LANG)
        .and_then(Lang::parse)
        .unwrap_or_default()
}

/// The 403 answer to a POST without a valid CSRF token.
pub(crate) fn csrf_refused(lang: Lang) -> Response {
    html_response(StatusCode::FORBIDDEN, html::csrf_failed_page(lang))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("style.css"),
    )
        .into_response()
}

/// `GET /login`: the sign-in form with a login CSRF token in a hidden field
/// and in the `gw_login_csrf` cookie; already signed in → 303 `/`.
async fn login_page(
    State(state): State<AppState>,
    Extension(config): Extension<WebConfig>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let (lang, lang_cookie) = choose_lang(&uri, &headers, config);
    let mut response = if StaffSession::from_headers(&state, &headers)
        .await?
        .is_some()
    {
        see_other("/")
    } else {
        // Keep a token the browser already has, so two open tabs both work.
        let token = match cookies::get(&headers, cookies::LOGIN_CSRF) {
            Some(t) if csrf::well_formed(t) => t.to_owned(),
            _ => csrf::random_token()?,
        };
        let mut response = html_response(StatusCode::OK, html::login_page(lang, &token, "", None));
        add_cookie(
            &mut response,
            cookies::set(cookies::LOGIN_CSRF, &token, None, config.secure_cookies),
        );
        response
    };
    if let Some(cookie) = lang_cookie {
        add_cookie(&mut response, cookie);
    }
    Ok(response)
}

/// The fields of the sign-in form (missing ones are empty).
#[derive(Default, Deserialize)]
#[serde(default)]
struct LoginForm {
    user: String,
    password: String,
    csrf: String,
}

/// `POST /login`: check the login CSRF (403), then the password (401 with
/// the generic message), then start a session: 303 → `/` with `gw_session`.
async fn login(
    State(state): State<AppState>,
    Extension(config): Extension<WebConfig>,
    crate::listener::Peer(peer): crate::listener::Peer,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, Error> {
    let lang = cookie_lang(&headers);
    let expected = cookies::get(&headers, cookies::LOGIN_CSRF).unwrap_or_default();
    let form = match form {
        Ok(Form(form)) if csrf::tokens_match(expected, &form.csrf) => form,
        _ => {
            tracing::warn!("sign-in form refused: missing or mismatched CSRF token");
            return Ok(csrf_refused(lang));
        }
    };
    let user = form.user.trim().to_owned();
    // Throttled per address and per user before the (costly) password check.
    if let Err(Error::TooManyRequests { retry_after_secs }) = state.limits.sign_in(peer.ip(), &user)
    {
        let mut response = html_response(
            StatusCode::TOO_MANY_REQUESTS,
            html::too_many_sign_ins_page(lang, retry_after_secs),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after_secs.into());
        return Ok(response);
    }
    let previous = cookies::get(&headers, cookies::SESSION).and_then(accounts::token_hash);
    let backend = state.backend.clone();
    let attempt_user = user.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<_, Error> {
        let now = db::now_ms();
        match accounts::password_login_at(&backend, &attempt_user, &form.password, now)? {
            Ok(account) => {
                if let Some(hash) = previous {
                    session::delete_session(&backend, &hash)?;
                }
                let new = session::create_session_at(&backend, &account.worker_id.0, now)?;
                Ok(Ok((account, new)))
            }
            Err(refused) => Ok(Err(refused)),
        }
    })
    .await??;
    match outcome {
        Ok((account, new)) => {
            tracing::info!(worker = %account.worker_id.0, "staff signed in");
            let mut response = see_other("/");
            let max_age = session::SESSION_TTL_MS / 1000;
            add_cookie(
                &mut response,
                cookies::set(
                    cookies::SESSION,
                    &new.token,
                    Some(max_age),
                    config.secure_cookies,
                ),
            );
            add_cookie(
                &mut response,
                cookies::clear(cookies::LOGIN_CSRF, config.secure_cookies),
            );
            Ok(response)
        }
        Err(refused) => {
            // The typed user name is only logged when it is a known worker id.
            match refused {
                LoginRefused::UnknownUser => tracing::warn!("staff sign-in refused: unknown user"),
                reason => tracing::warn!(worker = %user, ?reason, "staff sign-in refused"),
            }
            Ok(html_response(
                StatusCode::UNAUTHORIZED,
                html::login_page(lang, expected, &user, Some(html::LOGIN_FAILED)),
            ))
        }
    }
}

/// A form whose only field is the session's CSRF token.
#[derive(Default, Deserialize)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

/// `POST /logout`: with the session's CSRF token, end the session and clear
/// the cookie (303 → `/login`); without it 403 and the session lives on.
async fn logout(
    State(state): State<AppState>,
    Extension(config): Extension<WebConfig>,
    headers: HeaderMap,
    staff: StaffSession,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, Error> {
    match form {
        Ok(Form(form)) if csrf::tokens_match(&staff.csrf, &form.csrf) => {}
        _ => {
            tracing::warn!(worker = %staff.account.worker_id.0, "sign-out refused: missing or mismatched CSRF token");
            return Ok(csrf_refused(cookie_lang(&headers)));
        }
    }
    let backend = state.backend.clone();
    let hash = *staff.token_hash();
    tokio::task::spawn_blocking(move || session::delete_session(&backend, &hash)).await??;
    tracing::info!(worker = %staff.account.worker_id.0, "staff signed out");
    let mut response = see_other("/login");
    add_cookie(
        &mut response,
        cookies::clear(cookies::SESSION, config.secure_cookies),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lang_from_query_then_cookie_then_default() {
        let config = WebConfig::default();
        let mut headers = HeaderMap::new();
        let uri: Uri = "/login?x=1&lang=en".parse().unwrap();
        let (lang, cookie) = choose_lang(&uri, &headers, config);
        assert_eq!(lang, Lang::En);
        assert_eq!(
            cookie.unwrap(),
            "gw_lang=en; HttpOnly; SameSite=Strict; Path=/; Max-Age=31536000"
        );
        let uri: Uri = "/login".parse().unwrap();
        assert_eq!(choose_lang(&uri, &headers, config), (Lang::Zh, None));
        headers.insert(header::COOKIE, HeaderValue::from_static("gw_lang=en"));
        assert_eq!(choose_lang(&uri, &headers, config), (Lang::En, None));
        let uri: Uri = "/?lang=xx".parse().unwrap();
        assert_eq!(choose_lang(&uri, &headers, config).0, Lang::En);
    }
}

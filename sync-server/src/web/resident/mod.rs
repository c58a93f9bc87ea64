//! The residents' H5 pages (issue 16, ADR 21), reached through a grid's
//! invitation link, without an account:
//!
//! - `GET /r/{token}`: the request form (category, text, place, callback
//!   phone, a photo) and, folded below, a form proposing new household
//!   contact details; an unknown link is 404, an expired or revoked one 410;
//! - `POST /r/{token}`: file it (field `kind` = `request` or `contact`;
//!   `multipart/form-data` with an optional `photo` file, or URL-encoded);
//!   a request becomes a `collected` case (the 30-minute clock starts now)
//!   with the photo as the case's own ([`photo`]), and the answer is a 303
//!   to its tracking page;
//! - `GET /r/t/{tracking}`: the request's status and response times, and
//!   nothing else; it refreshes itself every 30 s until answered.
//!
//! zh-CN first (`?lang=en` for English), large text, no script, no CDN,
//! one small stylesheet (`/assets/resident.css`); the dashboard's security
//! headers apply (CSP, no referrer — the link is the credential). A form
//! carries a token signed for its invite and the time it was shown (valid
//! [`FORM_TTL_MS`]), a honeypot field (filled: the request is answered as
//! if accepted and dropped), and submissions are rate limited per source
//! address and per link ([`crate::limits::RateLimits::resident_request`]).

mod pages;
pub mod photo;

use crate::db::now_ms;
use crate::error::Error;
use crate::intake::invites::{self, Invite, LinkRefused};
use crate::intake::requests::{self, ContactProposal, ResidentRequest};
use crate::listener::Peer;
use crate::state::AppState;
use crate::web::html::Lang;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;

/// How long a shown form can be sent (6 hours).
pub const FORM_TTL_MS: i64 = 6 * 3_600_000;

/// `?lang=` of a resident page.
#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    new: String,
}

impl LangQuery {
    fn lang(&self) -> Lang {
        Lang::parse(&self.lang).unwrap_or_default()
    }
}

/// The fields of both forms.
#[derive(Debug, Default, Deserialize)]
pub struct Submission {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    form: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    new_phone: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    note: String,
    /// The honeypot: hidden from people, filled by form-filling bots.
    #[serde(default)]
    website: String,
}

impl Submission {
    /// Set field `name` (as a multipart form sends them one by one); an
    /// unknown name is ignored, as the URL-encoded form ignores it.
    fn set(&mut self, name: &str, value: String) {
        let slot = match name {
            "kind" => &mut self.kind,
            "form" => &mut self.form,
            "lang" => &mut self.lang,
            "category" => &mut self.category,
            "text" => &mut self.text,
            "place" => &mut self.place,
            "phone" => &mut self.phone,
            "new_phone" => &mut self.new_phone,
            "address" => &mut self.address,
            "name" => &mut self.name,
            "note" => &mut self.note,
            "website" => &mut self.website,
            _ => return,
        };
        *slot = value;
    }
}

fn page(status: StatusCode, body: String) -> Response {
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

async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, Error> + Send + 'static,
) -> Result<R, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}

/// The form token of `invite` shown at `at`: `{at}.{mac}`.
fn form_token(state: &AppState, invite: &Invite, at: i64) -> Result<String, Error> {
    let mac = state
        .backend
        .read(|conn| invites::sign(conn, &["form", &invite.id, &at.to_string()]))?;
    Ok(format!(
        "{at}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac[..16])
    ))
}

fn form_token_ok(state: &AppState, invite: &Invite, token: &str, now: i64) -> bool {
    let Some((at, _)) = token.split_once('.') else {
        return false;
    };
    let Ok(at) = at.parse::<i64>() else {
        return false;
    };
    // A minute of clock skew between instances is allowed.
    if at > now.saturating_add(60_000) || now.checked_sub(at).is_none_or(|age| age > FORM_TTL_MS) {
        return false;
    }
    use subtle::ConstantTimeEq;
    form_token(state, invite, at).is_ok_and(|t| bool::from(t.as_bytes().ct_eq(token.as_bytes())))
}

fn verify(state: &AppState, token: &str) -> Result<Result<Invite, LinkRefused>, Error> {
    let now = now_ms();
    state
        .backend
        .read(|conn| invites::verify_in(conn, token, now))
}

/// `GET /r/{token}`.
pub async fn form(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<LangQuery>,
) -> Response {
    let lang = query.lang();
    let result = blocking(move || {
        let invite = match verify(&state, &token)? {
            Ok(invite) => invite,
            Err(refused) => return Ok(pages::refused(lang, refused)),
        };
        let form = form_token(&state, &invite, now_ms())?;
        Ok((
            StatusCode::OK,
            pages::form(lang, &token, &form, &Submission::default(), None),
        ))
    })
    .await;
    match result {
        Ok((status, body)) => page(status, body),
        Err(e) => page(StatusCode::INTERNAL_SERVER_ERROR, pages::failed(lang, &e)),
    }
}

/// `POST /r/{token}`: the link is checked before the body is read, and at
/// most [`photo::READERS`] bodies are read at once ([`photo::read`]).
pub async fn submit(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    if cross_site(request.headers()) {
        // Another site posting residents' browsers to this link: refused
        // before anything is counted, read or stored.
        return page(StatusCode::FORBIDDEN, pages::failed_form(Lang::default()));
    }
    let checked = {
        let (state, token) = (state.clone(), token.clone());
        blocking(move || verify(&state, &token)).await
    };
    let invite = match checked {
        Ok(Ok(invite)) => invite,
        Ok(Err(refused)) => {
            let (status, body) = pages::refused(Lang::default(), refused);
            return page(status, body);
        }
        Err(e) => {
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::failed(Lang::default(), &e),
            )
        }
    };
    let Some((received, reading)) = photo::read_bounded(request, peer.ip()).await else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::busy(Lang::default()),
        );
    };
    let lang = Lang::parse(&received.submission.lang).unwrap_or_default();
    let result = blocking(move || {
        let filed = file(&state, peer.ip(), &token, &invite, received);
        // The reader is given back once the photo is stored or refused.
        drop(reading);
        filed
    })
    .await;
    match result {
        Ok(Ok(tracking)) => {
            let suffix = if lang == Lang::En { "&lang=en" } else { "" };
            (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, format!("/r/t/{tracking}?new=1{suffix}")),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
            )
                .into_response()
        }
        Ok(Err((status, body))) => page(status, body),
        Err(e) => page(StatusCode::INTERNAL_SERVER_ERROR, pages::failed(lang, &e)),
    }
}

/// What a post through `invite` comes to: the tracking token of the filed
/// request, or the page to answer with (the form again with a message, a
/// thank-you).
type Filing = Result<String, (StatusCode, String)>;

/// Check and file what was `received` through `invite` (link `token`) from
/// `address`: the form token, then the fields (a form sent back for a typo
/// is not counted), then the limits, the honeypot, and last the photo
/// (decoded only for a counted submission).
fn file(
    state: &AppState,
    address: std::net::IpAddr,
    token: &str,
    invite: &Invite,
    received: photo::Received,
) -> Result<Filing, Error> {
    let photo::Received {
        submission,
        photo,
        photo_too_large,
        unreadable,
    } = received;
    let lang = Lang::parse(&submission.lang).unwrap_or_default();
    let now = now_ms();
    let again = |status: StatusCode, message: &str| -> Result<Filing, Error> {
        let form = form_token(state, invite, now)?;
        let message = with_photo_hint(lang, message, photo.is_some() || photo_too_large);
        Ok(Err((
            status,
            pages::form(lang, token, &form, &submission, Some(&message)),
        )))
    };
    if unreadable {
        // Nothing is stored or counted: the form again, with what arrived.
        return again(
            StatusCode::BAD_REQUEST,
            lang.pick(
                "表单未能完整收到，请检查后重新提交 / the form did not arrive whole; check it and send it again",
                "The form did not arrive whole; check it and send it again.",
            ),
        );
    }
    if !form_token_ok(state, invite, &submission.form, now) {
        return again(
            StatusCode::FORBIDDEN,
            lang.pick(
                "页面已过期，请重新提交 / the page has expired; please send it again",
                "The page has expired; please send it again.",
            ),
        );
    }
    let mut request = ResidentRequest {
        category: submission.category.clone(),
        text: submission.text.clone(),
        place: submission.place.clone(),
        phone: submission.phone.clone(),
        photos: Vec::new(),
    };
    let proposal = ContactProposal {
        address: submission.address.clone(),
        name: submission.name.clone(),
        phone: submission.new_phone.clone(),
        note: submission.note.clone(),
    };
    let contact = submission.kind == "contact";
    let checked = if photo_too_large {
        Err(photo::too_large())
    } else if contact {
        requests::check_proposal(&proposal).map(|_| ())
    } else {
        requests::check_request(&request)
            .map(|_| ())
            .and_then(|()| photo.as_deref().map_or(Ok(()), photo::check))
    };
    match checked {
        Ok(()) => {}
        Err(Error::Invalid { message, .. }) => {
            let status = if photo_too_large {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return again(status, &message);
        }
        Err(e) => return Err(e),
    }
    if let Err(Error::TooManyRequests { retry_after_secs }) =
        state.limits.resident_request(address, &invite.id)
    {
        // The form again, with what was typed, and when to try again.
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            &pages::too_many_message(lang, retry_after_secs),
        );
    }
    if !submission.website.is_empty() {
        // A bot filled the hidden field: answer as if accepted, keep nothing.
        tracing::info!(invite = %invite.id, "resident form: honeypot filled, dropped");
        return Ok(Err((StatusCode::OK, pages::thanks(lang))));
    }
    if contact {
        return match state
            .backend
            .transaction(|conn| requests::propose_contact_in(conn, invite, &proposal, now))
        {
            Ok(_) => {
                tracing::info!(invite = %invite.id, grid = %invite.grid, "resident contact change proposed");
                Ok(Err((StatusCode::OK, pages::thanks(lang))))
            }
            Err(Error::Invalid { message, .. }) => again(StatusCode::BAD_REQUEST, &message),
            Err(e) => Err(e),
        };
    }
    if let Some(bytes) = &photo {
        match photo::store(state, bytes) {
            Ok(id) => request.photos.push(id),
            Err(Error::Invalid { message, .. }) => return again(StatusCode::BAD_REQUEST, &message),
            Err(e) => return Err(e),
        }
    }
    let filed = match &state.backend {
        crate::backend::Backend::Sqlite(db) => crate::db::write(db, |tx| {
            requests::file_request_in(tx, invite, &request, now)
        }),
        crate::backend::Backend::Postgres(pg) => {
            pg.edit(|tx| requests::file_request_in(tx, invite, &request, now))
        }
    };
    match filed {
        Ok(filed) => {
            state.feed_watch.poke();
            tracing::info!(invite = %invite.id, case = %filed.case_id, grid = %filed.grid, photos = request.photos.len(), "resident request filed");
            Ok(Ok(filed.tracking))
        }
        Err(Error::Invalid { message, .. }) => again(StatusCode::BAD_REQUEST, &message),
        Err(e) => Err(e),
    }
}

/// `message` of a refused form, and when a photo had been chosen, that it
/// must be chosen again (a browser never fills a file input back in).
fn with_photo_hint(lang: Lang, message: &str, had_photo: bool) -> String {
    if had_photo && !message.contains("重新选择") {
        format!(
            "{message} {}",
            lang.pick("（照片需重新选择）", "(Choose the photo again.)")
        )
    } else {
        message.to_string()
    }
}

/// True when the browser says the form was sent from another site:
/// `Sec-Fetch-Site: cross-site`, or an `Origin` whose host is not this
/// request's `Host`.
fn cross_site(headers: &axum::http::HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    match (header("origin"), header("host")) {
        (Some("null") | None, _) => false,
        (Some(origin), Some(host)) => {
            let origin_host = origin.split("://").nth(1).unwrap_or_default();
            !origin_host.eq_ignore_ascii_case(host)
        }
        (Some(_), None) => true,
    }
}

/// `GET /r/t/{tracking}`.
pub async fn track(
    State(state): State<AppState>,
    Path(tracking): Path<String>,
    Query(query): Query<LangQuery>,
) -> Response {
    let lang = query.lang();
    let fresh = query.new == "1";
    let result = blocking(move || {
        state
            .backend
            .read(|conn| requests::track_in(conn, &tracking))
    })
    .await;
    match result {
        Ok(Some(tracked)) => page(StatusCode::OK, pages::tracking(lang, &tracked, fresh)),
        Ok(None) => page(
            StatusCode::NOT_FOUND,
            pages::refused(lang, LinkRefused::Unknown).1,
        ),
        Err(e) => page(StatusCode::INTERNAL_SERVER_ERROR, pages::failed(lang, &e)),
    }
}

/// `GET /assets/resident.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("resident.css"),
    )
        .into_response()
}

//! `POST /v1/sync`: decode, authenticate, run the [`engine`] in one storage
//! transaction on a blocking thread, encode. Bodies over
//! [`MAX_REQUEST_BYTES`] get 413, malformed bodies 400 with nothing changed,
//! unknown protocol versions 400 `unsupported_protocol`, bad tokens 401.
//! Every request is counted and timed for `GET /metrics` ([`crate::metrics`]).
//! `GET /v1/wait` ([`wait`]) is the phones' long poll for new work.

pub mod admission;
#[cfg(test)]
mod admission_tests;
pub mod budget;
pub mod engine;
#[cfg(test)]
mod engine_props;
pub mod page;
#[cfg(test)]
mod scope_matrix;
pub mod sqlite;
pub mod storage;
pub mod validate;
pub mod wait;

use crate::accounts::Authenticated;
use crate::error::Error;
use crate::metrics::SyncStats;
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Router};
use gridwork_core::model::Timestamp;
use gridwork_core::sync::protocol::{self, MAX_REQUEST_BYTES};

/// The sync routes, each request timed and counted by
/// [`crate::metrics::track_sync`] into `state`'s metrics. The body is read
/// by the handler itself, under the memory budget.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/sync", post(sync))
        .route_layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::track_sync,
        ))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .merge(Router::new().route("/v1/wait", get(wait::wait)))
}

/// `POST /v1/sync`: the answer (or error) with the request's [`SyncStats`]
/// attached for the metrics.
async fn sync(State(state): State<AppState>, request: Request) -> Response {
    let mut stats = SyncStats::default();
    let mut response = match answer(state, request, &mut stats).await {
        Ok(body) => ([(header::CONTENT_TYPE, protocol::CONTENT_TYPE)], body).into_response(),
        Err(e) => e.into_response(),
    };
    response.extensions_mut().insert(stats);
    response
}

/// Rate limits, authentication, the body read under the memory budget,
/// then decode, validate, run the engine in one write transaction, encode;
/// fills in the counts of `stats`.
async fn answer(
    state: AppState,
    request: Request,
    stats: &mut SyncStats,
) -> Result<Vec<u8>, Error> {
    let peer = crate::listener::peer_of(&request);
    state.limits.sync_from(peer.ip())?;
    let (mut parts, body) = request.into_parts();
    let Authenticated(account) = Authenticated::from_request_parts(&mut parts, &state).await?;
    if let Some(token) = crate::accounts::bearer_token(&parts.headers) {
        state.limits.sync_with_token(token)?;
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // A body declared over the cap is still read up to the cap before the
    // 413 (as axum's body limit does): a client that is still sending when
    // the connection closes would see a reset instead of the answer.
    // The body, and the window a zstd decoder may hold while it is counted
    // and decoded.
    let mut lease = state
        .budget
        .lease(
            declared
                .unwrap_or(MAX_REQUEST_BYTES)
                .clamp(1, MAX_REQUEST_BYTES)
                + protocol::REQUEST_WINDOW_BYTES,
        )
        .await?;
    let body = axum::body::to_bytes(body, MAX_REQUEST_BYTES)
        .await
        .map_err(|e| {
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            {
                too_large()
            } else {
                Error::BadRequest("请求体读取失败 / the request body could not be read".into())
            }
        })?;
    stats.request_bytes = body.len() as u64;
    let backend = state.backend.clone();
    let feed_watch = state.feed_watch.clone();
    let started = std::time::Instant::now();
    let (response, version, pushes, docs_received) = tokio::task::spawn_blocking(move || {
        let compressed = body.len();
        let inflated = protocol::inflated_len(&body).map_err(decode_error)?;
        // The inflated buffer and the decoded request holding the same bytes,
        // leased in one step (no request holds part of it while waiting).
        lease.grow_blocking(compressed + 2 * inflated + protocol::REQUEST_WINDOW_BYTES)?;
        let (request, version) =
            protocol::decode_request_sized(&body, inflated).map_err(decode_error)?;
        drop(body);
        validate::request(&request)?;
        let pushes = request.pushes.len();
        let docs_received = (request.pushes.len() + request.sync_messages.len()) as u64;
        let now = Timestamp(jiff::Timestamp::now().as_millisecond());
        let result = backend.sync(|storage| engine::process(storage, &account, &request, now));
        // The lease is given back once the request is no longer held.
        drop(request);
        drop(lease);
        result.map(|response| (response, version, pushes, docs_received))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
    if docs_received > 0 {
        // Wake the waiters of the scopes this sync may have changed.
        feed_watch.poke();
    }
    stats.docs_received = docs_received;
    stats.docs_sent = response.docs.len() as u64;
    stats.docs_rejected = response.rejected.len() as u64;
    let body = protocol::encode_response(&response, version).map_err(Error::Core)?;
    tracing::info!(
        pushes,
        docs = response.docs.len(),
        rejected = response.rejected.len(),
        bytes = body.len(),
        micros = started.elapsed().as_micros() as u64,
        "sync"
    );
    Ok(body)
}

/// The server's error for a body that does not decode.
fn decode_error(e: gridwork_core::Error) -> Error {
    match e {
        gridwork_core::Error::UnsupportedProtocol { found, supported } => {
            Error::UnsupportedProtocol { found, supported }
        }
        gridwork_core::Error::Protocol(m) if m.contains("too large") => too_large(),
        other => Error::BadRequest(other.to_string()),
    }
}

/// 413 for a body over [`MAX_REQUEST_BYTES`] (or too large once inflated).
fn too_large() -> Error {
    Error::TooLarge(format!(
        "同步请求超过上限（压缩后 {} MiB，解压后 {} MiB）/ the sync request is over the limit ({} MiB compressed, {} MiB decompressed)",
        MAX_REQUEST_BYTES >> 20,
        protocol::MAX_DECODED_REQUEST_BYTES >> 20,
        MAX_REQUEST_BYTES >> 20,
        protocol::MAX_DECODED_REQUEST_BYTES >> 20,
    ))
}

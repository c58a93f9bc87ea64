//! `POST /v1/sync`: decode, authenticate, run the [`engine`] in one storage
//! transaction on a blocking thread, encode. Bodies over
//! [`MAX_REQUEST_BYTES`] get 413, malformed bodies 400 with nothing changed,
//! unknown protocol versions 400 `unsupported_protocol`, bad tokens 401.
//! Every request is counted and timed for `GET /metrics` ([`crate::metrics`]).

pub mod admission;
#[cfg(test)]
mod admission_tests;
pub mod engine;
#[cfg(test)]
mod engine_props;
pub mod page;
pub mod sqlite;
pub mod storage;

use crate::accounts::{Account, Authenticated};
use crate::error::Error;
use crate::metrics::SyncStats;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{middleware, Router};
use gridwork_core::model::Timestamp;
use gridwork_core::sync::protocol::{self, MAX_REQUEST_BYTES};

/// The sync routes, each request timed and counted by
/// [`crate::metrics::track_sync`] into `state`'s metrics.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/sync", post(sync))
        .route_layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::track_sync,
        ))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
}

/// `POST /v1/sync`: the answer (or error) with the request's [`SyncStats`]
/// attached for the metrics.
async fn sync(
    State(state): State<AppState>,
    Authenticated(account): Authenticated,
    body: Bytes,
) -> Response {
    let mut stats = SyncStats {
        request_bytes: body.len() as u64,
        ..SyncStats::default()
    };
    let mut response = match answer(state, account, &body, &mut stats).await {
        Ok(body) => ([(header::CONTENT_TYPE, protocol::CONTENT_TYPE)], body).into_response(),
        Err(e) => e.into_response(),
    };
    response.extensions_mut().insert(stats);
    response
}

/// Decode, run the engine in one write transaction, encode; fills in the
/// doc counts of `stats`.
async fn answer(
    state: AppState,
    account: Account,
    body: &[u8],
    stats: &mut SyncStats,
) -> Result<Vec<u8>, Error> {
    let (request, version) = protocol::decode_request(body).map_err(|e| match e {
        gridwork_core::Error::UnsupportedProtocol { found, supported } => {
            Error::UnsupportedProtocol { found, supported }
        }
        other => Error::BadRequest(other.to_string()),
    })?;
    stats.docs_received = (request.pushes.len() + request.sync_messages.len()) as u64;
    let db = state.db.clone();
    let started = std::time::Instant::now();
    let (response, pushes) = tokio::task::spawn_blocking(move || {
        let now = Timestamp(jiff::Timestamp::now().as_millisecond());
        let mut failure = None;
        let result = db.write(|tx| {
            let mut storage = sqlite::SqliteTx::new(tx);
            engine::process(&mut storage, &account, &request, now).map_err(|e| {
                failure = Some(e);
                gridwork_core::Error::Cancelled
            })
        });
        match result {
            Ok(response) => Ok((response, request.pushes.len())),
            Err(e) => Err(failure.unwrap_or(Error::Core(e))),
        }
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
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

//! Photos and other attachments on the server (issue 14): the phones'
//! resumable upload and ranged download of blobs, by id (the SHA-256 of the
//! bytes), after the documents naming them have synced.
//!
//! - `GET /v1/blobs/{id}/status` → `{"id", "received", "complete", "size"}`:
//!   how much the server holds, so an upload resumes where it stopped.
//! - `PUT /v1/blobs/{id}` with `Content-Range: bytes START-END/TOTAL` and
//!   `Content-Digest: sha-256=:BASE64:` (RFC 9530) of the chunk: a chunk
//!   whose digest does not match is refused (400 on `content-digest`) and
//!   nothing is kept; a chunk starting past what the server holds gets 409;
//!   an overlap is skipped. A chunk cut short by a dropped connection keeps
//!   the bytes that arrived (as tus does), so the next chunk starts there. The answer is the status after. When the upload
//!   reaches TOTAL the whole blob is hashed: a mismatch drops it (400 on
//!   `blob`). A duplicate upload of a complete blob costs nothing. The
//!   answer is `{"received", "complete", "size"}`.
//! - `GET`/`HEAD /v1/blobs/{id}` with an optional `Range: bytes=A-B`: the
//!   bytes (200 or 206), `Accept-Ranges: bytes`.
//!
//! Every route needs a device token, and a blob exists for a device only
//! when a document in its scope names it ([`in_scope`], read from the
//! `attachment_refs` read model joined to the docs' scopes): anything else
//! is 404, whether or not the bytes are here.

pub mod store;

use crate::accounts::{Account, Authenticated};
use crate::backend::Backend;
use crate::error::Error;
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use gridwork_core::api::reads::{in_list, json_list};
use gridwork_core::model::attachment::is_blob_id;
use gridwork_core::model::GridCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
pub use store::{BlobStatus, BlobStore, FileBlobStore, MAX_BLOB_BYTES};

/// Largest chunk one `PUT` may carry.
pub const MAX_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// The blob routes (device tokens).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/blobs/{id}", get(download).put(upload))
        .route("/v1/blobs/{id}/status", get(status))
        .layer(DefaultBodyLimit::max(MAX_CHUNK_BYTES))
}

/// True if a document within `scope` names blob `id`.
pub fn in_scope(backend: &Backend, id: &str, scope: &[GridCode]) -> Result<bool, Error> {
    let grids = json_list(scope);
    backend.read(|conn| {
        let sql = format!(
            "SELECT 1 FROM attachment_refs r JOIN docs d ON d.key = r.doc_key
             WHERE r.blob = ?1 AND d.scope {} LIMIT 1",
            in_list(conn.dialect(), 2)
        );
        Ok(conn
            .value(&sql, &[id.into(), grids.as_str().into()])?
            .is_some())
    })
}

/// The blob `id` names, when it is a blob id a document in `account`'s
/// scope names; 404 otherwise (the same answer whether or not it exists).
async fn visible(state: &AppState, account: &Account, id: &str) -> Result<(), Error> {
    if !is_blob_id(id) {
        return Err(Error::not_found("blob", ""));
    }
    let backend = state.backend.clone();
    let (id, scope) = (id.to_string(), account.scope.clone());
    let found = tokio::task::spawn_blocking(move || in_scope(&backend, &id, &scope)).await??;
    if found {
        Ok(())
    } else {
        Err(Error::not_found("blob", ""))
    }
}

fn status_json(id: &str, status: BlobStatus) -> Value {
    json!({
        "id": id,
        "received": status.received(),
        "complete": matches!(status, BlobStatus::Complete { .. }),
        "size": match status { BlobStatus::Complete { size } => Some(size), _ => None },
    })
}

async fn blob_status(state: &AppState, id: &str) -> Result<BlobStatus, Error> {
    let blobs = state.blobs.clone();
    let id = id.to_string();
    tokio::task::spawn_blocking(move || blobs.status(&id)).await?
}

/// `GET /v1/blobs/{id}/status`.
async fn status(
    State(state): State<AppState>,
    Authenticated(account): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    visible(&state, &account, &id).await?;
    let status = blob_status(&state, &id).await?;
    Ok(Json(status_json(&id, status)))
}

/// `bytes START-END/TOTAL` (END inclusive) → (start, end exclusive, total);
/// `bytes */TOTAL` (an empty blob, or a probe) → (0, 0, total).
fn content_range(headers: &HeaderMap) -> Result<(u64, u64, u64), Error> {
    let bad = || {
        Error::invalid(
            "content-range",
            "需要 Content-Range: bytes 起-止/总大小 / Content-Range: bytes START-END/TOTAL is required",
        )
    };
    let text = headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(bad)?;
    let (range, total) = text
        .trim()
        .strip_prefix("bytes ")
        .and_then(|r| r.split_once('/'))
        .ok_or_else(bad)?;
    let total: u64 = total.parse().map_err(|_| bad())?;
    let (start, end) = if range == "*" {
        (0, 0)
    } else {
        let (a, b) = range.split_once('-').ok_or_else(bad)?;
        let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        (a, b.checked_add(1).ok_or_else(bad)?)
    };
    if end < start || end > total || end - start > MAX_CHUNK_BYTES as u64 {
        return Err(bad());
    }
    if total > MAX_BLOB_BYTES {
        return Err(Error::TooLarge(format!(
            "附件最大 {MAX_BLOB_BYTES} 字节 / a blob may have {MAX_BLOB_BYTES} bytes at most"
        )));
    }
    Ok((start, end, total))
}

/// A chunk's body as it arrived: whole, or cut short when the connection
/// dropped (what arrived before the drop).
enum Arrived {
    Whole(Vec<u8>),
    Cut(Vec<u8>),
}

/// Read a chunk's body of `expected` bytes as its frames arrive, keeping
/// what came before a drop.
async fn read_chunk(body: axum::body::Body, expected: usize) -> Result<Arrived, Error> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut bytes = Vec::with_capacity(expected.min(MAX_CHUNK_BYTES));
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    if bytes.len() + data.len() > expected {
                        return Err(Error::invalid(
                            "content-range",
                            "分块长度与 Content-Range 不符 / the chunk is longer than its Content-Range",
                        ));
                    }
                    bytes.extend_from_slice(&data);
                }
            }
            Err(_) => return Ok(Arrived::Cut(bytes)),
        }
    }
    if bytes.len() != expected {
        return Err(Error::invalid(
            "content-range",
            "分块长度与 Content-Range 不符 / the chunk is shorter than its Content-Range",
        ));
    }
    Ok(Arrived::Whole(bytes))
}

/// Check the chunk against its `Content-Digest: sha-256=:BASE64:`.
fn check_digest(headers: &HeaderMap, body: &[u8]) -> Result<(), Error> {
    let missing = || {
        Error::invalid(
            "content-digest",
            "需要 Content-Digest: sha-256=:…: / Content-Digest: sha-256=:BASE64: is required",
        )
    };
    let text = headers
        .get("content-digest")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let encoded = text
        .split(',')
        .find_map(|item| item.trim().strip_prefix("sha-256=:"))
        .and_then(|v| v.strip_suffix(':'))
        .ok_or_else(missing)?;
    let claimed = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| missing())?;
    if claimed.as_slice() != Sha256::digest(body).as_slice() {
        return Err(Error::invalid(
            "content-digest",
            "分块校验失败，未保存，请重发 / the chunk does not match its digest; nothing was kept, send it again",
        ));
    }
    Ok(())
}

/// `PUT /v1/blobs/{id}`: one chunk. When the connection drops mid-chunk,
/// the bytes that arrived are kept (TLS has vouched for each of them; the
/// whole blob's hash is still checked at the end), so a weak link loses no
/// more than what was in flight; a whole chunk must match its digest.
async fn upload(
    State(state): State<AppState>,
    Authenticated(account): Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<Value>, Error> {
    if let Some(token) = crate::accounts::bearer_token(&headers) {
        state.limits.sync_with_token(token)?;
    }
    visible(&state, &account, &id).await?;
    let (start, end, total) = content_range(&headers)?;
    let digest = headers.get("content-digest").is_some();
    if !digest {
        // Refused before the body is read: a chunk without a digest would
        // be kept unchecked if its connection then dropped.
        check_digest(&headers, &[])?;
    }
    let bytes = match read_chunk(body, (end - start) as usize).await? {
        Arrived::Whole(bytes) => {
            check_digest(&headers, &bytes)?;
            bytes
        }
        Arrived::Cut(bytes) => {
            if !bytes.is_empty() {
                let blobs = state.blobs.clone();
                let blob = id.clone();
                // Nobody hears the answer; a failure here only means the
                // client resends those bytes.
                let kept =
                    tokio::task::spawn_blocking(move || blobs.append(&blob, start, total, &bytes))
                        .await;
                tracing::debug!(kept = kept.is_ok(), "kept the bytes of a cut chunk");
            }
            return Err(Error::BadRequest(
                "连接中断 / the connection dropped mid-chunk".into(),
            ));
        }
    };
    let blobs = state.blobs.clone();
    let blob = id.clone();
    let status =
        tokio::task::spawn_blocking(move || blobs.append(&blob, start, total, &bytes)).await??;
    if let BlobStatus::Complete { size } = status {
        tracing::debug!(size, "blob complete");
    }
    // The answer to a chunk leaves out the id the client just sent: on a
    // weak link every byte of the hundreds of answers counts.
    let mut answer = status_json(&id, status);
    if let Some(object) = answer.as_object_mut() {
        object.remove("id");
    }
    Ok(Json(answer))
}

/// `Range: bytes=A-B` / `bytes=A-` / `bytes=-N` of a blob of `size` bytes →
/// (start, end exclusive); `None` when absent or not a single range.
fn requested_range(headers: &HeaderMap, size: u64) -> Option<(u64, u64)> {
    let text = headers.get(header::RANGE)?.to_str().ok()?.trim();
    let spec = text.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.saturating_sub(n), size)
        }
        (a, "") => (a.parse().ok()?, size),
        (a, b) => {
            let (first, last) = (a.parse::<u64>().ok()?, b.parse::<u64>().ok()?);
            if first > last {
                // Invalid, not unsatisfiable: ignored (RFC 9110 §14.1.1).
                return None;
            }
            (first, last.saturating_add(1).min(size))
        }
    };
    Some((start, end))
}

/// `GET`/`HEAD /v1/blobs/{id}`.
async fn download(
    State(state): State<AppState>,
    Authenticated(account): Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    visible(&state, &account, &id).await?;
    serve_blob(&state, &id, &headers).await
}

/// `GET /v1/blobs/{id}` after the scope check: [`blob_response`] on a
/// blocking thread.
async fn serve_blob(state: &AppState, id: &str, headers: &HeaderMap) -> Result<Response, Error> {
    let blobs = state.blobs.clone();
    let (id, headers) = (id.to_string(), headers.clone());
    tokio::task::spawn_blocking(move || blob_response(&*blobs, &id, &headers)).await?
}

/// `Cache-Control` of a photo: the bytes of an id never change, but a
/// browser must ask again each time (a 304 when it has them), so that
/// signing out or losing the scope takes effect on a shared computer.
pub const CACHE: &str = "private, no-cache";

/// The bytes of complete blob `id` (a range of them when `headers` ask),
/// for the phones' route and the dashboard's; 404 when not complete here.
/// Call it after the caller's scope check.
pub fn blob_response(
    blobs: &dyn BlobStore,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response, Error> {
    let BlobStatus::Complete { size } = blobs.status(id)? else {
        return Err(Error::not_found("blob", ""));
    };
    let etag = format!("\"{id}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        let h = response.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE));
        h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex"));
        return Ok(response);
    }
    let range = requested_range(headers, size);
    if let Some((start, end)) = range {
        if start >= end || start >= size {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
            );
            return Ok(response);
        }
    }
    let (start, end) = range.unwrap_or((0, size));
    let head = blobs.read(id, 0, 12)?.unwrap_or_default();
    let bytes = blobs
        .read(id, start, end)?
        .ok_or_else(|| Error::not_found("blob", ""))?;
    let mut response = (
        if range.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        },
        bytes,
    )
        .into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(sniff_mime(&head)),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE));
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex"));
    if range.is_some() {
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {start}-{}/{size}", end - 1)).expect("ascii"),
        );
    }
    Ok(response)
}

/// The content type of a blob from its first bytes (photos are JPEG).
fn sniff_mime(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else {
        "application/octet-stream"
    }
}

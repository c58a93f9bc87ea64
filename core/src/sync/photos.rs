//! The photo step of a sync: after the documents have synced (so the
//! server knows which records name which blobs), upload the blobs this
//! phone holds and the server does not, resumably, over links that drop
//! every few seconds; and fetch another device's photo on demand.
//!
//! Upload of one blob: ask the server how much it holds
//! (`GET /v1/blobs/{id}/status`), then `PUT` chunks from there, each with
//! its `Content-Range` and `Content-Digest`. The server keeps what arrived
//! of a chunk cut by a drop, and after any failure the server is asked
//! again where to resume: nothing it holds is sent twice, and a drop costs
//! only the bytes in flight. Chunks are sized to take about
//! [`PhotoSyncOptions::target_chunk_ms`] at the rate the last one went
//! (progress and the per-chunk digest at a useful grain, few request heads
//! on a slow link). When the server verified the whole blob's hash the
//! attachment is marked uploaded, and only then may the storage budget drop
//! its original.
//!
//! One blob that fails (the server refuses it, the link gives up on it) is
//! reported and the others go on.

use super::transport::{HttpRequest, HttpResponse, Transport};
use crate::{Error, Result, Store};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A photo-progress callback.
pub type PhotoProgressFn = Arc<dyn Fn(&PhotoProgress) + Send + Sync>;

/// Options of [`Store::upload_photos_with`].
#[derive(Clone)]
pub struct PhotoSyncOptions {
    /// First chunk size, bytes (default 32 KiB).
    pub initial_chunk: usize,
    /// Smallest chunk (default 8 KiB).
    pub min_chunk: usize,
    /// Largest chunk (default 1 MiB; the server takes 4 MiB at most).
    pub max_chunk: usize,
    /// How long a chunk should take (default 4 s) at the rate the last one
    /// went.
    pub target_chunk_ms: u64,
    /// Failed requests in a row after which one blob is left for the next
    /// sync (default 12).
    pub max_failures: u32,
    /// Pause after a failed request, doubled up to 30 s (default 500 ms).
    pub retry_delay: Duration,
    /// Called after each chunk the server acknowledged.
    pub progress: Option<PhotoProgressFn>,
}

impl Default for PhotoSyncOptions {
    fn default() -> Self {
        PhotoSyncOptions {
            initial_chunk: 32 * 1024,
            min_chunk: 8 * 1024,
            max_chunk: 1024 * 1024,
            target_chunk_ms: 4000,
            max_failures: 12,
            retry_delay: Duration::from_millis(500),
            progress: None,
        }
    }
}

/// Progress of the photo step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoProgress {
    /// The blob being uploaded.
    pub id: String,
    /// Its bytes the server holds.
    pub received: u64,
    /// Its size.
    pub size: u64,
    /// Blobs finished so far in this step.
    pub done: u32,
    /// Blobs this step set out to upload.
    pub total: u32,
}

/// One blob the step could not finish, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoFailure {
    /// The blob.
    pub id: String,
    /// `not_on_server` (no synced record names it yet: sync first),
    /// `refused` (the server refused its bytes), `gave_up` (the link failed
    /// too often; the next sync resumes where it stopped), `missing` (the
    /// bytes are no longer on this phone).
    pub reason: String,
}

/// What the photo step did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoSyncSummary {
    /// Blobs the server now holds that it did not before this step.
    pub uploaded: u32,
    /// Blobs the server already held (a duplicate upload costs nothing).
    pub already_there: u32,
    /// Body bytes sent in chunks.
    pub bytes_sent: u64,
    /// Requests made (status and chunks).
    pub requests: u32,
    /// Requests that got no answer or a refusal, retried.
    pub retries: u32,
    /// Uploads that continued a partial one instead of starting at zero.
    pub resumed: u32,
    /// Blobs left for the next sync, with why.
    pub failed: Vec<PhotoFailure>,
    /// Attachments still waiting for upload after this step.
    pub pending: u32,
}

#[derive(Deserialize)]
struct StatusBody {
    received: u64,
    complete: bool,
}

/// One blob's outcome.
enum Outcome {
    Uploaded { resumed: bool },
    AlreadyThere,
    Failed(&'static str),
}

fn blob_url(server: &str, id: &str) -> String {
    format!("{}/v1/blobs/{id}", server.trim_end_matches('/'))
}

/// An error for statuses the photo step does not handle itself.
/// Bytes of one photo sent in one upload run, at most this many times its
/// size (plus a chunk) before the run gives up on it.
const MAX_RESEND_FACTOR: u64 = 3;

/// Largest photo [`Store::fetch_photo_with`] takes from a server (the
/// server keeps none larger).
const MAX_FETCHED_BLOB: u64 = 32 * 1024 * 1024;

fn status_error(response: &HttpResponse) -> Error {
    if response.status == 401 {
        return Error::Unauthorized;
    }
    let json = serde_json::from_slice::<serde_json::Value>(&response.body).ok();
    let message = json
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(|m| m.as_str())
        .unwrap_or("")
        .to_string();
    Error::Server {
        status: response.status,
        message,
    }
}

/// The field a 400 answer names (`content-digest`, `blob`, …).
fn refused_field(response: &HttpResponse) -> Option<String> {
    let json = serde_json::from_slice::<serde_json::Value>(&response.body).ok()?;
    let message = json.get("message")?.as_str()?;
    Some(message.split(':').next()?.trim().to_string())
}

impl Store {
    /// The photo step over HTTPS ([`Store::upload_photos_with`] through the
    /// production transport).
    #[cfg(feature = "http")]
    pub fn upload_photos(
        &self,
        server_url: &str,
        token: &str,
        allow_insecure: bool,
        options: &PhotoSyncOptions,
    ) -> Result<PhotoSyncSummary> {
        super::transport::check_server_url(server_url, allow_insecure)?;
        let transport = super::transport::HttpTransport::new()?;
        self.upload_photos_with(&transport, server_url, token, options)
    }

    /// Upload every attachment a record names that the server does not
    /// hold yet (run it after a sync has pushed the records). A blob that
    /// fails is reported in the summary and the others go on; only a
    /// refused token ([`Error::Unauthorized`]) stops the step.
    pub fn upload_photos_with(
        &self,
        transport: &dyn Transport,
        server_url: &str,
        token: &str,
        options: &PhotoSyncOptions,
    ) -> Result<PhotoSyncSummary> {
        let ids = self.pending_uploads()?;
        let mut summary = PhotoSyncSummary::default();
        let total = ids.len() as u32;
        for (done, id) in ids.iter().enumerate() {
            let mut upload = Upload {
                transport,
                url: blob_url(server_url, id),
                token,
                options,
                summary: &mut summary,
                progress: PhotoProgress {
                    id: id.clone(),
                    done: done as u32,
                    total,
                    ..PhotoProgress::default()
                },
            };
            match upload.run(self)? {
                Outcome::Uploaded { resumed } => {
                    self.mark_uploaded(id)?;
                    summary.uploaded += 1;
                    summary.resumed += u32::from(resumed);
                }
                Outcome::AlreadyThere => {
                    self.mark_uploaded(id)?;
                    summary.already_there += 1;
                }
                Outcome::Failed(reason) => summary.failed.push(PhotoFailure {
                    id: id.clone(),
                    reason: reason.into(),
                }),
            }
        }
        summary.pending = self.upload_queue()?.pending;
        Ok(summary)
    }

    /// The bytes of attachment `id`: from this phone when they are here,
    /// else fetched from the server in ranges (resuming after a drop),
    /// checked against the id and kept. A record must name it (the server
    /// answers only for blobs in this device's scope).
    pub fn fetch_photo_with(
        &self,
        transport: &dyn Transport,
        server_url: &str,
        token: &str,
        id: &str,
        options: &PhotoSyncOptions,
    ) -> Result<Vec<u8>> {
        if let Some(bytes) = self.attachment_bytes(id)? {
            return Ok(bytes);
        }
        if !crate::model::attachment::is_blob_id(id) {
            return Err(Error::not_found("photo", ""));
        }
        let url = blob_url(server_url, id);
        let mut bytes: Vec<u8> = Vec::new();
        let mut size: Option<u64> = None;
        let mut mime = None;
        let mut failures = 0u32;
        let piece = options.max_chunk.max(options.min_chunk) as u64;
        while size.is_none_or(|s| (bytes.len() as u64) < s) {
            let start = bytes.len() as u64;
            let request = HttpRequest {
                method: "GET",
                url: url.clone(),
                token: token.into(),
                headers: vec![(
                    "Range".into(),
                    format!("bytes={start}-{}", start + piece - 1),
                )],
                body: vec![],
            };
            match transport.exchange(request) {
                Ok(r) if r.status == 206 || r.status == 200 => {
                    let nothing = r.body.is_empty() && r.status == 206;
                    if r.status == 200 {
                        // The whole blob (the server ignored the range).
                        bytes = r.body;
                        size = Some(bytes.len() as u64);
                    } else {
                        size = size.or_else(|| total_of(&r));
                        bytes.extend_from_slice(&r.body);
                    }
                    if size.is_some_and(|s| s > MAX_FETCHED_BLOB) {
                        return Err(Error::Protocol(
                            "photo larger than any the server keeps".into(),
                        ));
                    }
                    if start == 0 {
                        mime = r.content_type.clone();
                    }
                    if nothing {
                        // Nothing moved: a failure, not progress.
                        failures += 1;
                        if failures > options.max_failures {
                            return Err(Error::Protocol("the server sends no bytes".into()));
                        }
                        std::thread::sleep(backoff(options, failures));
                    } else {
                        failures = 0;
                    }
                }
                Ok(r) if r.status == 416 => break,
                Ok(r) if r.status == 404 => return Err(Error::not_found("photo", id)),
                Ok(r) => return Err(status_error(&r)),
                Err(Error::Network(e)) => {
                    failures += 1;
                    if failures > options.max_failures {
                        return Err(Error::Network(e));
                    }
                    std::thread::sleep(backoff(options, failures));
                    continue;
                }
                Err(e) => return Err(e),
            }
            if size.is_none() {
                return Err(Error::Protocol("no Content-Range in the answer".into()));
            }
        }
        self.store_downloaded(
            id,
            mime.as_deref().unwrap_or("application/octet-stream"),
            &bytes,
        )?;
        Ok(bytes)
    }
}

/// The TOTAL of a `Content-Range: bytes A-B/TOTAL` answer.
fn total_of(response: &HttpResponse) -> Option<u64> {
    response
        .content_range
        .as_deref()?
        .rsplit('/')
        .next()?
        .trim()
        .parse()
        .ok()
}

fn backoff(options: &PhotoSyncOptions, failures: u32) -> Duration {
    let factor = 1u32 << failures.min(6).saturating_sub(1);
    (options.retry_delay * factor).min(Duration::from_secs(30))
}

/// The upload of one blob.
struct Upload<'a> {
    transport: &'a dyn Transport,
    url: String,
    token: &'a str,
    options: &'a PhotoSyncOptions,
    summary: &'a mut PhotoSyncSummary,
    progress: PhotoProgress,
}

impl Upload<'_> {
    fn send(&mut self, request: HttpRequest) -> Result<HttpResponse> {
        self.summary.requests += 1;
        self.transport.exchange(request)
    }

    /// How much of the blob the server holds; `None` when it does not see
    /// the blob (no synced record in this device's scope names it).
    fn status(&mut self) -> Result<Option<StatusBody>> {
        let request = HttpRequest {
            method: "GET",
            url: format!("{}/status", self.url),
            token: self.token.into(),
            ..HttpRequest::default()
        };
        let response = self.send(request)?;
        match response.status {
            200 => serde_json::from_slice(&response.body)
                .map(Some)
                .map_err(|_| Error::Protocol("bad blob status".into())),
            404 => Ok(None),
            _ => Err(status_error(&response)),
        }
    }

    fn run(&mut self, store: &Store) -> Result<Outcome> {
        let options = self.options;
        let mut failures = 0u32;
        // Where the server stands; asked again after every failure.
        let mut offset = loop {
            match self.status() {
                Ok(Some(s)) if s.complete => return Ok(Outcome::AlreadyThere),
                Ok(Some(s)) => break s.received,
                Ok(None) => return Ok(Outcome::Failed("not_on_server")),
                Err(Error::Network(_)) => {
                    failures += 1;
                    self.summary.retries += 1;
                    if failures >= options.max_failures {
                        return Ok(Outcome::Failed("gave_up"));
                    }
                    std::thread::sleep(backoff(options, failures));
                }
                Err(e) => return Err(e),
            }
        };
        let resumed = offset > 0;
        let Some(bytes) = store.attachment_bytes(&self.progress.id)? else {
            return Ok(Outcome::Failed("missing"));
        };
        let size = bytes.len() as u64;
        self.progress.size = size;
        let mut chunk = options
            .initial_chunk
            .clamp(options.min_chunk, options.max_chunk);
        let mut sent_here = 0u64;
        loop {
            if offset > size {
                return Ok(Outcome::Failed("refused"));
            }
            let end = (offset + chunk as u64).min(size);
            let piece = &bytes[offset as usize..end as usize];
            let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(piece));
            let range = if piece.is_empty() {
                format!("bytes */{size}")
            } else {
                format!("bytes {offset}-{}/{size}", end - 1)
            };
            let request = HttpRequest {
                method: "PUT",
                url: self.url.clone(),
                token: self.token.into(),
                headers: vec![
                    ("Content-Range".into(), range),
                    ("Content-Digest".into(), format!("sha-256=:{digest}:")),
                    ("Content-Type".into(), "application/octet-stream".into()),
                ],
                body: piece.to_vec(),
            };
            let started = Instant::now();
            self.summary.bytes_sent += piece.len() as u64;
            sent_here += piece.len() as u64;
            if sent_here > size.saturating_mul(MAX_RESEND_FACTOR) + options.max_chunk as u64 {
                // However the link behaves, a photo is not worth sending
                // this many times over; it stays queued for the next sync.
                return Ok(Outcome::Failed("gave_up"));
            }
            let mut failed_after_ok = false;
            let answer = self.send(request);
            let failed = match answer {
                Ok(r) if r.status == 200 => {
                    let status: StatusBody = serde_json::from_slice(&r.body)
                        .map_err(|_| Error::Protocol("bad blob status".into()))?;
                    if status.complete {
                        return Ok(Outcome::Uploaded { resumed });
                    }
                    if status.received <= offset {
                        // The server took the chunk but did not move on (or
                        // went back): not progress. Ask where it stands.
                        failed_after_ok = true;
                    }
                    offset = status.received;
                    self.progress.received = offset;
                    if let Some(progress) = &options.progress {
                        progress(&self.progress);
                    }
                    if !failed_after_ok {
                        failures = 0;
                    }
                    // Aim at target_chunk_ms per chunk at the rate this
                    // one went, moving at most a factor of two at a time.
                    let took = started.elapsed().as_millis().max(1) as u64;
                    let ideal = (piece.len() as u64).saturating_mul(options.target_chunk_ms) / took;
                    chunk = (ideal as usize)
                        .clamp(chunk / 2, chunk.saturating_mul(2))
                        .clamp(options.min_chunk, options.max_chunk);
                    failed_after_ok
                }
                Ok(r) if r.status == 400 && refused_field(&r).as_deref() == Some("blob") => {
                    // The whole blob does not hash to its id: these bytes
                    // can never be accepted.
                    return Ok(Outcome::Failed("refused"));
                }
                // A chunk damaged on the way (400 content-digest), a gap
                // (409), an overloaded server: ask where to resume.
                Ok(r) if matches!(r.status, 400 | 409 | 429 | 500..=599) => true,
                Ok(r) if r.status == 404 => return Ok(Outcome::Failed("not_on_server")),
                Ok(r) => return Err(status_error(&r)),
                Err(Error::Network(_)) => true,
                Err(e) => return Err(e),
            };
            if failed {
                failures += 1;
                self.summary.retries += 1;
                if failures >= options.max_failures {
                    return Ok(Outcome::Failed("gave_up"));
                }
                chunk = (chunk / 2).max(options.min_chunk);
                std::thread::sleep(backoff(options, failures));
                loop {
                    match self.status() {
                        Ok(Some(s)) if s.complete => return Ok(Outcome::Uploaded { resumed }),
                        Ok(Some(s)) => {
                            offset = s.received;
                            break;
                        }
                        Ok(None) => return Ok(Outcome::Failed("not_on_server")),
                        Err(Error::Network(_)) => {
                            failures += 1;
                            self.summary.retries += 1;
                            if failures >= options.max_failures {
                                return Ok(Outcome::Failed("gave_up"));
                            }
                            std::thread::sleep(backoff(options, failures));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}

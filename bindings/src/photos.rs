//! Photos for the apps: bytes in (from the camera or the gallery), blob ids
//! out to put in a hazard, visit, transition or form; bytes back out for
//! display; the upload step after a sync and fetching another device's
//! photo, as async functions like [`GridworkStore::sync`].

use crate::error::{ApiError, ApiResult};
use crate::store::GridworkStore;
use gridwork_core::api::{Attachment, TrimReport, UploadQueue, UploadState};
use gridwork_core::media::PhotoOptions;
use gridwork_core::model::*;
use gridwork_core::sync::photos::PhotoFailure;
use gridwork_core::sync::{PhotoSyncOptions, PhotoSyncSummary};
use std::sync::Arc;

/// Where an attachment stands between the phone and the server.
#[uniffi::remote(Enum)]
pub enum UploadState {
    /// The server does not have it yet.
    Pending,
    /// The server has it and verified its hash.
    Uploaded,
    /// Another device's: fetched on demand.
    Remote,
}

/// What the phone knows of one attachment.
#[uniffi::remote(Record)]
pub struct Attachment {
    /// Blob id: SHA-256 of the bytes, 64 lowercase hex digits.
    pub id: String,
    /// MIME type (`image/jpeg` for photos).
    pub mime: String,
    /// Size of the original, bytes.
    pub size: u64,
    /// Upload state.
    pub state: UploadState,
    /// True when the original is on this phone.
    pub on_phone: bool,
    /// True when a thumbnail is kept.
    pub has_thumbnail: bool,
    /// When it was attached here.
    pub created_at: Timestamp,
}

/// The attachments waiting for upload.
#[uniffi::remote(Record)]
pub struct UploadQueue {
    /// How many.
    pub pending: u32,
    /// Their total size, bytes.
    pub pending_bytes: u64,
}

/// What the storage budget dropped.
#[uniffi::remote(Record)]
pub struct TrimReport {
    /// Originals dropped (kept as thumbnails).
    pub dropped: u32,
    /// Bytes freed.
    pub freed_bytes: u64,
    /// Bytes of originals still on the phone.
    pub kept_bytes: u64,
}

/// One photo the upload step left for next time, and why.
#[uniffi::remote(Record)]
pub struct PhotoFailure {
    /// Blob id.
    pub id: String,
    /// `not_on_server`, `refused`, `gave_up` or `missing`.
    pub reason: String,
}

/// What the upload step did.
#[uniffi::remote(Record)]
pub struct PhotoSyncSummary {
    /// Photos the server holds now that it did not before.
    pub uploaded: u32,
    /// Photos the server already held.
    pub already_there: u32,
    /// Body bytes sent.
    pub bytes_sent: u64,
    /// Requests made.
    pub requests: u32,
    /// Failed requests retried.
    pub retries: u32,
    /// Uploads that resumed a partial one.
    pub resumed: u32,
    /// Photos left for the next sync.
    pub failed: Vec<PhotoFailure>,
    /// Attachments still waiting.
    pub pending: u32,
}

/// Run `work` on a thread of its own and await its result, so the blocking
/// core call works under any executor.
pub(crate) async fn off_thread<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> gridwork_core::Result<T> + Send + 'static,
) -> ApiResult<T> {
    let (done, result) = futures_channel::oneshot::channel();
    let worker = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = done.send(work());
        })
        .map_err(|e| ApiError::Storage {
            reason: format!("cannot start a thread: {e}"),
        })?;
    let outcome = result.await.map_err(|_| ApiError::Storage {
        reason: "the worker thread stopped unexpectedly".into(),
    })?;
    // The thread has sent its result and only has to return from waking
    // this future (which may run foreign code); wait for it so no thread of
    // ours outlives the call.
    let _ = worker.join();
    Ok(outcome?)
}

#[uniffi::export]
impl GridworkStore {
    /// Take a photo in (JPEG, PNG or WebP bytes): downscaled to 1600 px on
    /// the long edge, re-encoded as JPEG without metadata (GPS kept only
    /// with `keep_location`), stored encrypted with a thumbnail. Put the
    /// returned id into a record's `photos`.
    pub fn attach_photo(&self, bytes: Vec<u8>, keep_location: bool) -> ApiResult<Attachment> {
        let options = PhotoOptions {
            keep_location,
            ..PhotoOptions::default()
        };
        Ok(self.inner.attach_photo(&bytes, &options)?)
    }

    /// Take any file in as it is (photos are still re-encoded), up to 20 MiB.
    pub fn attach_bytes(&self, bytes: Vec<u8>, mime: String) -> ApiResult<Attachment> {
        Ok(self.inner.attach_bytes(&bytes, &mime)?)
    }

    /// What the phone knows of attachment `id`.
    pub fn attachment(&self, id: String) -> ApiResult<Option<Attachment>> {
        Ok(self.inner.attachment(&id)?)
    }

    /// The original bytes of attachment `id`, when on this phone (else
    /// `fetch_photo`).
    pub fn photo_bytes(&self, id: String) -> ApiResult<Option<Vec<u8>>> {
        Ok(self.inner.attachment_bytes(&id)?)
    }

    /// The thumbnail of attachment `id`, when kept.
    pub fn photo_thumbnail(&self, id: String) -> ApiResult<Option<Vec<u8>>> {
        Ok(self.inner.attachment_thumbnail(&id)?)
    }

    /// The attachments waiting for upload.
    pub fn upload_queue(&self) -> ApiResult<UploadQueue> {
        Ok(self.inner.upload_queue()?)
    }

    /// Drop uploaded originals (oldest first, each kept as its thumbnail)
    /// while originals take more than `budget_bytes`; never one the server
    /// has not confirmed.
    pub fn trim_photos(&self, budget_bytes: u64) -> ApiResult<TrimReport> {
        Ok(self.inner.trim_attachments(budget_bytes)?)
    }

    /// Move a hazard with photos of the step (a rectification's "after").
    pub fn transition_hazard_with_photos(
        &self,
        id: HazardId,
        to: String,
        note: String,
        photos: Vec<String>,
    ) -> ApiResult<Hazard> {
        Ok(self
            .inner
            .transition_hazard_with_photos(id, &to, &note, &photos)?)
    }

    /// Move a case with photos of the step.
    pub fn transition_case_with_photos(
        &self,
        id: CaseId,
        to: String,
        note: String,
        photos: Vec<String>,
    ) -> ApiResult<Case> {
        Ok(self
            .inner
            .transition_case_with_photos(id, &to, &note, &photos)?)
    }

    /// Upload the photos waiting, after a `sync` pushed their records:
    /// resumable (a dropped connection costs one small chunk), one failing
    /// photo never stops the others.
    pub async fn upload_photos(
        &self,
        server_url: String,
        token: String,
    ) -> ApiResult<PhotoSyncSummary> {
        let store = self.inner.clone();
        off_thread("gridwork-photos", move || {
            store.upload_photos(&server_url, &token, false, &PhotoSyncOptions::default())
        })
        .await
    }

    /// The bytes of photo `id`: from the phone, or fetched from the server
    /// (resuming after drops) and kept.
    pub async fn fetch_photo(
        &self,
        server_url: String,
        token: String,
        id: String,
    ) -> ApiResult<Vec<u8>> {
        let store: Arc<gridwork_core::Store> = self.inner.clone();
        off_thread("gridwork-photos", move || {
            gridwork_core::sync::transport::check_server_url(&server_url, false)?;
            let transport = gridwork_core::sync::HttpTransport::new()?;
            store.fetch_photo_with(
                &transport,
                &server_url,
                &token,
                &id,
                &PhotoSyncOptions::default(),
            )
        })
        .await
    }
}

//! The photo a resident may send with a request: reading the form (a
//! `multipart/form-data` post from the H5 page, or the plain
//! `application/x-www-form-urlencoded` one older pages and scripts send),
//! and turning the photo into a blob of the server's store the way a phone
//! would ([`gridwork_core::media::prepare_photo`]: upright, at most 1600
//! pixels, re-encoded as JPEG without any EXIF), so that the case can name
//! it and the grid's phones and staff can fetch it.
//!
//! The photo is read in full before anything is checked, but never more
//! than [`MAX_PHOTO_BYTES`]: a larger one is dropped at that point and the
//! form comes back with what was typed (the file input is the form's last
//! field). Decoding is bounded ([`MAX_DECODE_BYTES`]) and one photo is
//! decoded at a time in a process, so strangers' uploads cannot take the
//! server's memory.

use super::Submission;
use crate::error::Error;
use crate::state::AppState;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use axum::Form;
use gridwork_core::media::{self, PhotoOptions};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Largest photo file a resident may send, bytes (a phone camera's JPEG is
/// 2–8 MB).
pub const MAX_PHOTO_BYTES: usize = 12 * 1024 * 1024;

/// Largest request body of the resident form: the photo, the text, and
/// room for the parser to read ahead past [`MAX_PHOTO_BYTES`] of a photo
/// (so that a large photo is reported as such).
pub const MAX_SUBMISSION_BYTES: usize = MAX_PHOTO_BYTES + 1024 * 1024;

/// Most memory one decoded photo may take on the server, bytes (a
/// 48-megapixel camera picture is 144 MB as RGB).
pub const MAX_DECODE_BYTES: u64 = 160 * 1024 * 1024;

/// One photo decoded at a time in this process.
static DECODING: Mutex<()> = Mutex::new(());

/// Most resident form bodies read at once in this process (each holds up
/// to [`MAX_SUBMISSION_BYTES`] in memory while it is read and checked).
pub const READERS: usize = 8;

/// How long a post waits for a reader before the server answers 503.
const READER_WAIT: Duration = Duration::from_secs(10);

static READING: Semaphore = Semaphore::const_new(READERS);

/// What a resident's post carried.
#[derive(Debug, Default)]
pub struct Received {
    /// The text fields.
    pub submission: Submission,
    /// The photo file's bytes, when one was chosen.
    pub photo: Option<Vec<u8>>,
    /// The photo was larger than [`MAX_PHOTO_BYTES`] (and dropped).
    pub photo_too_large: bool,
    /// The body could not be read as a form (malformed, or over
    /// [`MAX_SUBMISSION_BYTES`]); the fields read before are kept.
    pub unreadable: bool,
}

/// Most bodies one client address (an IPv6 /64) has read at once.
pub const READERS_PER_ADDRESS: usize = 2;

/// How long reading one body may take (12 MiB at about 1.6 Mbit/s); a
/// slower one is answered as not received whole.
const READ_DEADLINE: Duration = Duration::from_secs(60);

/// Longest value of one text field, bytes (the longest field is 500
/// characters of up to four bytes).
const MAX_FIELD_BYTES: usize = 4 * 1024;

/// Most parts of one multipart body.
const MAX_PARTS: usize = 32;

/// The addresses reading a body now, with how many each.
static READING_FROM: Mutex<Option<HashMap<IpAddr, usize>>> = Mutex::new(None);

/// One of an address's [`READERS_PER_ADDRESS`], given back when dropped.
struct AddressReader(IpAddr);

impl AddressReader {
    fn take(address: IpAddr) -> Option<AddressReader> {
        let address = crate::limits::address_block(address);
        let mut reading = READING_FROM.lock().unwrap_or_else(|e| e.into_inner());
        let count = reading
            .get_or_insert_with(HashMap::new)
            .entry(address)
            .or_default();
        if *count >= READERS_PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(AddressReader(address))
    }
}

impl Drop for AddressReader {
    fn drop(&mut self) {
        let mut reading = READING_FROM.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(map) = reading.as_mut() {
            if let Some(count) = map.get_mut(&self.0) {
                *count -= 1;
                if *count == 0 {
                    map.remove(&self.0);
                }
            }
        }
    }
}

/// [`read`] from `address` once one of the [`READERS`] is free and the
/// address reads fewer than [`READERS_PER_ADDRESS`] bodies; `None` when
/// the address already has its share or no reader came free within 10 s
/// (the server is busy). A body not read whole within 60 s is unreadable.
pub async fn read_bounded(request: Request, address: IpAddr) -> Option<Received> {
    let _own = AddressReader::take(address)?;
    let _reader = tokio::time::timeout(READER_WAIT, READING.acquire())
        .await
        .ok()?
        .ok()?;
    Some(
        tokio::time::timeout(READ_DEADLINE, read(request))
            .await
            .unwrap_or(Received {
                unreadable: true,
                ..Received::default()
            }),
    )
}

/// Read the form of `request`: multipart (with an optional `photo` file)
/// or URL-encoded (at most [`crate::web::MAX_FORM_BYTES`]).
pub async fn read(request: Request) -> Received {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut received = read_fields(request).await;
    if received.unreadable
        && received.photo.is_none()
        && declared.is_some_and(|n| n > MAX_PHOTO_BYTES)
    {
        // The body limit struck before the photo's own count did.
        received.unreadable = false;
        received.photo_too_large = true;
    }
    received
}

async fn read_fields(request: Request) -> Received {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("multipart/form-data"));
    if !multipart {
        // The dashboard's form limit, not the photo's.
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, crate::web::MAX_FORM_BYTES).await else {
            return Received {
                unreadable: true,
                ..Received::default()
            };
        };
        let request = Request::from_parts(parts, axum::body::Body::from(bytes));
        // Not a form at all (no or another content type): no fields, which
        // the form token check then refuses.
        let submission = Form::<Submission>::from_request(request, &())
            .await
            .map(|Form(submission)| submission)
            .unwrap_or_default();
        return Received {
            submission,
            ..Received::default()
        };
    }
    let mut received = Received::default();
    let Ok(mut parts) = Multipart::from_request(request, &()).await else {
        received.unreadable = true;
        return received;
    };
    let mut text_bytes = 0usize;
    for _ in 0..MAX_PARTS {
        let mut field = match parts.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return received,
            Err(_) => {
                received.unreadable = true;
                return received;
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let is_photo = name == "photo";
        let limit = if is_photo {
            MAX_PHOTO_BYTES
        } else {
            MAX_FIELD_BYTES.min(crate::web::MAX_FORM_BYTES.saturating_sub(text_bytes))
        };
        let mut bytes = Vec::new();
        let mut over = false;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) if bytes.len() + chunk.len() > limit => {
                    // Stop here; the next part skips what is left of it.
                    over = true;
                    break;
                }
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(_) => {
                    received.unreadable = true;
                    return received;
                }
            }
        }
        if is_photo {
            if over {
                received.photo_too_large = true;
                received.photo = None;
            } else if !bytes.is_empty() {
                // An empty file input sends an empty part.
                received.photo = Some(bytes);
            }
            continue;
        }
        text_bytes += bytes.len();
        match String::from_utf8(bytes) {
            Ok(value) if !over => received.submission.set(&name, value),
            _ => {
                received.unreadable = true;
                return received;
            }
        }
    }
    // More parts than any form of ours has.
    received.unreadable = true;
    received
}

/// The refusal of a photo over [`MAX_PHOTO_BYTES`].
pub fn too_large() -> Error {
    let mib = MAX_PHOTO_BYTES >> 20;
    Error::invalid(
        "photo",
        format!("照片文件过大（最大 {mib} MB），请重新选择 / the photo file is too large (at most {mib} MB); choose it again"),
    )
}

/// The options the server prepares a resident's photo with.
fn options() -> PhotoOptions {
    PhotoOptions {
        max_input_bytes: MAX_PHOTO_BYTES,
        max_decode_bytes: MAX_DECODE_BYTES,
        ..PhotoOptions::default()
    }
}

/// Check from its header that `bytes` is a photo the server takes (JPEG,
/// PNG or WebP within the size limits), before the submission is counted
/// against the limits; nothing is decoded.
pub fn check(bytes: &[u8]) -> Result<(), Error> {
    Ok(media::probe_photo(bytes, &options())?)
}

/// Prepare `bytes` as a phone would and keep the result in the blob store:
/// its blob id, which a case may name from now on.
pub fn store(state: &AppState, bytes: &[u8]) -> Result<String, Error> {
    let prepared = {
        let _one_at_a_time = DECODING.lock().unwrap_or_else(|e| e.into_inner());
        media::prepare_photo(bytes, &options())?
    };
    let id = gridwork_core::api::attachments::blob_id(&prepared.bytes);
    let total = prepared.bytes.len() as u64;
    let complete = |status| matches!(status, crate::blobs::BlobStatus::Complete { .. });
    // From the start: whatever a phone's interrupted upload of the same
    // bytes left is overlapped, not repeated.
    if !complete(state.blobs.status(&id)?)
        && !complete(state.blobs.append(&id, 0, total, &prepared.bytes)?)
    {
        return Err(Error::Internal(
            "photo blob not complete after writing it".into(),
        ));
    }
    Ok(id)
}

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

/// What a post holds while it is read and checked: one of the
/// [`READERS`] and one of its address's [`READERS_PER_ADDRESS`], given back
/// when dropped (after the photo is stored, or the post refused).
pub struct Reading {
    _reader: Option<tokio::sync::SemaphorePermit<'static>>,
    _own: AddressReader,
}

/// Read the form of `request` from `address`: a multipart body once one of
/// the [`READERS`] is free and the address reads fewer than
/// [`READERS_PER_ADDRESS`] bodies (a URL-encoded one, at most
/// [`crate::web::MAX_FORM_BYTES`], needs no reader); `None` when the
/// address already has its share or no reader came free within 10 s (the
/// server is busy). A body not read whole within 60 s is unreadable, with
/// the fields read until then kept. The [`Reading`] is to be held until
/// the post is filed or refused.
pub async fn read_bounded(request: Request, address: IpAddr) -> Option<(Received, Reading)> {
    let own = AddressReader::take(address)?;
    let reader = if is_multipart(&request) {
        Some(
            tokio::time::timeout(READER_WAIT, READING.acquire())
                .await
                .ok()?
                .ok()?,
        )
    } else {
        None
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let multipart = reader.is_some();
    let mut received = Received::default();
    if tokio::time::timeout(READ_DEADLINE, read(request, &mut received))
        .await
        .is_err()
    {
        received.unreadable = true;
    } else if received.unreadable && multipart && declared.is_some_and(|n| n > MAX_SUBMISSION_BYTES)
    {
        // A form body past the route's limit: its photo is what is too
        // large (the limit may strike before the photo's own count does).
        received.unreadable = false;
        received.photo_too_large = true;
    }
    Some((
        received,
        Reading {
            _reader: reader,
            _own: own,
        },
    ))
}

fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("multipart/form-data"))
}

/// Read the form of `request` into `received`: multipart (with an optional
/// `photo` file) or URL-encoded (at most [`crate::web::MAX_FORM_BYTES`]).
pub async fn read(request: Request, received: &mut Received) {
    if !is_multipart(&request) {
        // The dashboard's form limit, not the photo's.
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, crate::web::MAX_FORM_BYTES).await else {
            received.unreadable = true;
            return;
        };
        let request = Request::from_parts(parts, axum::body::Body::from(bytes));
        // Not a form at all (no or another content type): no fields, which
        // the form token check then refuses.
        received.submission = Form::<Submission>::from_request(request, &())
            .await
            .map(|Form(submission)| submission)
            .unwrap_or_default();
        return;
    }
    let Ok(mut parts) = Multipart::from_request(request, &()).await else {
        received.unreadable = true;
        return;
    };
    let mut text_bytes = 0usize;
    for _ in 0..MAX_PARTS {
        let mut field = match parts.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return,
            // Past the body limit while skipping the rest of a photo that
            // was too large: that photo is the answer.
            Err(_) if received.photo_too_large => return,
            Err(_) => {
                received.unreadable = true;
                return;
            }
        };
        let is_photo = field.name() == Some("photo");
        let name = field.name().unwrap_or_default().to_string();
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
                // Inside a photo, the body limit (a photo far too large).
                Err(_) if is_photo => {
                    received.photo_too_large = true;
                    received.photo = None;
                    return;
                }
                Err(_) => {
                    received.unreadable = true;
                    return;
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
                return;
            }
        }
    }
    // More parts than any form of ours has.
    received.unreadable = true;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn multipart(parts: &[(&str, &[u8])]) -> Request {
        let boundary = "XyZbOuNdArY";
        let mut body = Vec::new();
        for (name, value) in parts {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"x\"\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        Request::builder()
            .method("POST")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(axum::body::Body::from(body))
            .unwrap()
    }

    async fn read_all(request: Request) -> Received {
        let mut received = Received::default();
        read(request, &mut received).await;
        received
    }

    #[tokio::test]
    async fn the_fields_photo_and_limits_of_a_multipart_form() {
        let photo = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3];
        let ok = read_all(multipart(&[
            ("form", b"123.abc"),
            ("text", "楼道堆物".as_bytes()),
            ("unknown", b"ignored"),
            ("photo", &photo),
        ]))
        .await;
        assert!(!ok.unreadable && !ok.photo_too_large);
        assert_eq!(ok.submission.form, "123.abc");
        assert_eq!(ok.submission.text, "楼道堆物");
        assert_eq!(ok.photo.as_deref(), Some(&photo[..]));

        // An empty file input: no photo.
        let empty = read_all(multipart(&[("text", b"x"), ("photo", b"")])).await;
        assert!(empty.photo.is_none() && !empty.unreadable);

        // A text part over 4 KiB: unreadable, the fields before it kept.
        let long = vec![b'a'; MAX_FIELD_BYTES + 1];
        let refused = read_all(multipart(&[("text", b"kept"), ("note", &long)])).await;
        assert!(refused.unreadable);
        assert_eq!(refused.submission.text, "kept");

        // More parts than any form has.
        let many: Vec<(&str, &[u8])> = vec![("note", b"x"); MAX_PARTS + 1];
        assert!(read_all(multipart(&many)).await.unreadable);

        // A photo the body limit cuts off (the default 2 MB here, arriving
        // in one piece): never taken.
        let big = vec![0x55; 3 * 1024 * 1024];
        let cut = read_all(multipart(&[("text", b"kept"), ("photo", &big)])).await;
        assert!(cut.photo.is_none() && (cut.photo_too_large || cut.unreadable));
    }

    #[tokio::test]
    async fn a_url_encoded_form_keeps_the_dashboards_limit() {
        let form = |body: Vec<u8>| {
            Request::builder()
                .method("POST")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(body))
                .unwrap()
        };
        let ok = read_all(form(b"text=%E6%A5%BC&kind=request".to_vec())).await;
        assert_eq!(
            (ok.submission.text.as_str(), ok.submission.kind.as_str()),
            ("楼", "request")
        );
        let mut long = b"text=".to_vec();
        long.resize(crate::web::MAX_FORM_BYTES + 1, b'a');
        assert!(read_all(form(long)).await.unreadable);
    }

    #[test]
    fn an_address_reads_two_bodies_at_once() {
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        let first = AddressReader::take(a).unwrap();
        let second = AddressReader::take(mapped).expect("the same address, mapped");
        assert!(AddressReader::take(a).is_none(), "a third waits");
        assert!(AddressReader::take("203.0.113.8".parse().unwrap()).is_some());
        drop(first);
        let third = AddressReader::take(a).expect("one was given back");
        drop((second, third));
        assert!(READING_FROM
            .lock()
            .unwrap()
            .as_ref()
            .is_none_or(|m| !m.contains_key(&a)));
    }
}

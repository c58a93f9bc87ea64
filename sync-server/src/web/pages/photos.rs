//! `GET /photos/{id}` and `GET /photos/{id}/thumb`: a photo and its
//! thumbnail for the signed-in staff member, when a record in their subtree
//! names it (404 otherwise, the same answer whether or not it exists), and
//! [`gallery`], the thumbnails the hazard and case pages show (before and
//! after a rectification side by side).
//!
//! Thumbnails are made from the stored original on first request
//! ([`gridwork_core::media::thumbnail`]) and kept beside it in the blob
//! store (one made at a time; a blob that is not a picture is remembered as
//! such). Both answers carry an ETag and `private, no-cache`: the browser
//! asks again each time and gets a 304 when it has the bytes, so signing out
//! or losing the scope takes effect on a shared computer.

use super::{Outcome, PageRequest, View};
use crate::error::Error;
use crate::web::page::PageCtx;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gridwork_core::model::attachment::is_blob_id;
use maud::{html, Markup};

/// Long edge of the dashboard's thumbnails, pixels.
pub const THUMB_EDGE: u32 = 240;

/// `GET /photos/{id}`.
pub async fn original(
    Path(id): Path<String>,
    headers: HeaderMap,
    request: PageRequest,
) -> Response {
    request
        .respond(move |view| {
            visible(view, &id)?;
            Ok(Outcome::Raw(crate::blobs::blob_response(
                &*view.state.blobs,
                &id,
                &headers,
            )?))
        })
        .await
}

/// Thumbnails made at once: decoding a photo takes memory and CPU, and a
/// gallery asks for many at the same time.
static MAKING_THUMBNAILS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `GET /photos/{id}/thumb`.
pub async fn thumb(Path(id): Path<String>, headers: HeaderMap, request: PageRequest) -> Response {
    request
        .respond(move |view| {
            visible(view, &id)?;
            let etag = format!("\"{id}-{THUMB_EDGE}\"");
            let cached = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
            let bytes = if cached {
                Vec::new()
            } else {
                thumbnail_of(view, &id)?
            };
            let mut response = if cached {
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                bytes.into_response()
            };
            let h = response.headers_mut();
            if !cached {
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
            }
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(crate::blobs::CACHE),
            );
            h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex"));
            Ok(Outcome::Raw(response))
        })
        .await
}

/// The dashboard thumbnail of blob `id`: made once from the original (one
/// at a time) and kept; a blob that is not a picture the thumbnailer will
/// decode is remembered as such (an empty derived file) and answers 404
/// without being decoded again.
fn thumbnail_of(view: &View, id: &str) -> Result<Vec<u8>, Error> {
    let name = format!("thumb{THUMB_EDGE}.jpg");
    let blobs = &view.state.blobs;
    let not_a_picture = || Error::not_found("photo", "");
    if let Some(bytes) = blobs.derived(id, &name)? {
        return if bytes.is_empty() {
            Err(not_a_picture())
        } else {
            Ok(bytes)
        };
    }
    let _one_at_a_time = MAKING_THUMBNAILS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(bytes) = blobs.derived(id, &name)? {
        return if bytes.is_empty() {
            Err(not_a_picture())
        } else {
            Ok(bytes)
        };
    }
    let original = blobs.read(id, 0, u64::MAX)?.ok_or_else(not_a_picture)?;
    match gridwork_core::media::thumbnail(&original, THUMB_EDGE) {
        Ok(thumb) => {
            blobs.put_derived(id, &name, &thumb)?;
            Ok(thumb)
        }
        Err(_) => {
            blobs.put_derived(id, &name, &[])?;
            Err(not_a_picture())
        }
    }
}

/// 404 unless a record in the view's subtree names blob `id`.
fn visible(view: &View, id: &str) -> Result<(), Error> {
    if is_blob_id(id) && crate::blobs::in_scope(&view.state.backend, id, &view.scope.codes())? {
        Ok(())
    } else {
        Err(Error::not_found("photo", ""))
    }
}

/// Thumbnails of `photos` linking to the originals, under a caption; nothing
/// when there are none.
pub fn gallery(ctx: &PageCtx, caption: (&'static str, &'static str), photos: &[String]) -> Markup {
    html! {
        @if !photos.is_empty() {
            figure.photos data-photos=(caption.1) {
                figcaption { (ctx.t(caption.0, caption.1)) }
                @for id in photos {
                    a href={ "/photos/" (id) } target="_blank" rel="noopener" {
                        img src={ "/photos/" (id) "/thumb" } loading="lazy" alt=(ctx.t(caption.0, caption.1)) data-photo=(id);
                    }
                }
            }
        }
    }
}

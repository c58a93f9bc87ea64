//! `GET /photos/{id}` and `GET /photos/{id}/thumb`: a photo and its
//! thumbnail for the signed-in staff member, when a record in their subtree
//! names it (404 otherwise, the same answer whether or not it exists), and
//! [`gallery`], the thumbnails the hazard and case pages show (before and
//! after a rectification side by side).
//!
//! Thumbnails are made from the stored original on first request
//! ([`gridwork_core::media::thumbnail`]) and kept beside it in the blob
//! store; both answers may be cached by the browser for good (an id's bytes
//! never change).

use super::{Outcome, PageRequest, View};
use crate::error::Error;
use crate::web::page::PageCtx;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue};
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

/// `GET /photos/{id}/thumb`.
pub async fn thumb(Path(id): Path<String>, request: PageRequest) -> Response {
    request
        .respond(move |view| {
            visible(view, &id)?;
            let name = format!("thumb{THUMB_EDGE}.jpg");
            let blobs = &view.state.blobs;
            let bytes = match blobs.derived(&id, &name)? {
                Some(bytes) => bytes,
                None => {
                    let original = blobs
                        .read(&id, 0, u64::MAX)?
                        .ok_or_else(|| Error::not_found("photo", ""))?;
                    let thumb = gridwork_core::media::thumbnail(&original, THUMB_EDGE)
                        .map_err(|_| Error::not_found("photo", ""))?;
                    blobs.put_derived(&id, &name, &thumb)?;
                    thumb
                }
            };
            let mut response = bytes.into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            );
            Ok(Outcome::Raw(response))
        })
        .await
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

//! Photos and other attachments on the phone: taking them in
//! ([`Store::attach_photo`], [`Store::attach_bytes`]), reading them back, the
//! upload queue the sync client works through, and the storage budget that
//! drops uploaded originals down to their thumbnails.
//!
//! A blob is stored once, in the store's own SQLCipher database (so it is
//! encrypted at rest with the store's key), under the SHA-256 of its bytes;
//! records name it by that id ([`crate::model::attachment`]). A record may
//! name only blobs this phone holds ([`check_attached`]), so every photo a
//! phone reports can be uploaded from it.

use super::Store;
use crate::media::{self, PhotoOptions};
use crate::model::attachment::is_blob_id;
use crate::model::Timestamp;
use crate::store::sql::{columns, SqlConn};
use crate::{Error, Result};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Largest attachment kept on the phone (bytes after any re-encoding).
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;

/// Where an attachment stands between this phone and the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// Taken here; the server does not have it yet.
    Pending,
    /// The server has it and verified its hash.
    Uploaded,
    /// Another device's: known here from a record, fetched on demand.
    Remote,
}

impl UploadState {
    /// Stable code (`attachments.upload_state`).
    pub fn code(self) -> &'static str {
        match self {
            UploadState::Pending => "pending",
            UploadState::Uploaded => "uploaded",
            UploadState::Remote => "remote",
        }
    }

    fn parse(code: &str) -> UploadState {
        match code {
            "uploaded" => UploadState::Uploaded,
            "remote" => UploadState::Remote,
            _ => UploadState::Pending,
        }
    }
}

/// What the phone knows of one attachment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The blob id: SHA-256 of the bytes, 64 lowercase hex digits.
    pub id: String,
    /// MIME type (`image/jpeg` for photos).
    pub mime: String,
    /// Size of the original, bytes.
    pub size: u64,
    /// Upload state.
    pub state: UploadState,
    /// True when the original's bytes are on this phone (false once dropped
    /// to the thumbnail, or for another device's photo not fetched yet).
    pub on_phone: bool,
    /// True when a thumbnail is kept.
    pub has_thumbnail: bool,
    /// When it was attached (or first seen) here.
    pub created_at: Timestamp,
}

/// The attachments waiting for upload.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadQueue {
    /// How many.
    pub pending: u32,
    /// Their total size, bytes.
    pub pending_bytes: u64,
}

/// What [`Store::trim_attachments`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrimReport {
    /// Originals dropped (each kept as its thumbnail).
    pub dropped: u32,
    /// Bytes freed.
    pub freed_bytes: u64,
    /// Bytes of originals still on the phone.
    pub kept_bytes: u64,
}

/// The blob id of `bytes`.
pub fn blob_id(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Check a MIME type: `type/subtype`, ASCII letters, digits and `.+-`.
fn check_mime(mime: &str) -> Result<String> {
    let mime = mime.trim().to_ascii_lowercase();
    let ok = mime.len() <= 100
        && mime.split_once('/').is_some_and(|(t, s)| {
            let part = |p: &str| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            };
            part(t) && part(s)
        });
    if !ok {
        return Err(Error::invalid(
            "mime",
            "文件类型格式不正确（如 image/jpeg）/ the MIME type must look like image/jpeg",
        ));
    }
    Ok(mime)
}

impl Store {
    /// Take a photo in: decode it (JPEG, PNG or WebP), downscale it to
    /// `options.max_long_edge`, re-encode it as JPEG without metadata (GPS
    /// kept only with `options.keep_location`), and store it with a
    /// thumbnail, encrypted with the store. Returns the attachment; its id
    /// goes into a hazard's, visit's, transition's or form's photos. Taking
    /// the same photo twice stores it once.
    pub fn attach_photo(&self, bytes: &[u8], options: &PhotoOptions) -> Result<Attachment> {
        let photo = media::prepare_photo(bytes, options)?;
        self.store_blob(&photo.bytes, photo.mime, Some(&photo.thumbnail))
    }

    /// Take any attachment in: a photo (by its bytes, whatever `mime` says)
    /// goes through [`Store::attach_photo`] with the default options; other
    /// files are stored as they are, up to [`MAX_ATTACHMENT_BYTES`].
    pub fn attach_bytes(&self, bytes: &[u8], mime: &str) -> Result<Attachment> {
        if media::is_image(bytes) {
            return self.attach_photo(bytes, &PhotoOptions::default());
        }
        let mime = check_mime(mime)?;
        self.store_blob(bytes, &mime, None)
    }

    /// [`Store::attach_bytes`] of a file's contents (the MIME type guessed from
    /// the bytes for photos, `application/octet-stream` otherwise unless
    /// given).
    pub fn attach_file(
        &self,
        path: impl AsRef<std::path::Path>,
        mime: Option<&str>,
    ) -> Result<Attachment> {
        let path = path.as_ref();
        let size = std::fs::metadata(path)?.len();
        let limit = PhotoOptions::default().max_input_bytes as u64;
        if size > limit {
            return Err(Error::TooLarge {
                field: "photo".into(),
                limit,
                message: "文件过大 / the file is too large".into(),
            });
        }
        let bytes = std::fs::read(path)?;
        self.attach_bytes(&bytes, mime.unwrap_or("application/octet-stream"))
    }

    fn store_blob(&self, bytes: &[u8], mime: &str, thumbnail: Option<&[u8]>) -> Result<Attachment> {
        if bytes.is_empty() {
            return Err(Error::invalid(
                "photo",
                "附件为空 / the attachment is empty",
            ));
        }
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(Error::TooLarge {
                field: "photo".into(),
                limit: MAX_ATTACHMENT_BYTES as u64,
                message: "附件过大（最大 20 MiB）/ the attachment is too large (20 MiB at most)"
                    .into(),
            });
        }
        let id = blob_id(bytes);
        let now = self.now();
        self.db.write(|tx| {
            // A blob already here keeps its state; bytes dropped or never
            // fetched come back.
            tx.conn().execute(
                "INSERT INTO attachments (sha256, mime, size, bytes, thumbnail, upload_state, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)
                 ON CONFLICT(sha256) DO UPDATE SET bytes = excluded.bytes,
                     thumbnail = coalesce(attachments.thumbnail, excluded.thumbnail)",
                params![id, mime, bytes.len() as i64, bytes, thumbnail, now.0],
            )?;
            Ok(())
        })?;
        self.attachment(&id)?
            .ok_or_else(|| Error::not_found("attachment", &id))
    }

    /// What the phone knows of attachment `id`, if anything.
    pub fn attachment(&self, id: &str) -> Result<Option<Attachment>> {
        self.db.read(|conn| {
            conn.query_row(
                "SELECT sha256, mime, size, upload_state, bytes IS NOT NULL, thumbnail IS NOT NULL, created_at
                 FROM attachments WHERE sha256 = ?1",
                [id],
                |r| {
                    Ok(Attachment {
                        id: r.get(0)?,
                        mime: r.get(1)?,
                        size: r.get::<_, i64>(2)?.max(0) as u64,
                        state: UploadState::parse(&r.get::<_, String>(3)?),
                        on_phone: r.get(4)?,
                        has_thumbnail: r.get(5)?,
                        created_at: Timestamp(r.get(6)?),
                    })
                },
            )
            .optional()
            .map_err(Into::into)
        })
    }

    /// The original bytes of attachment `id`, when they are on this phone.
    pub fn attachment_bytes(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.db.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT bytes FROM attachments WHERE sha256 = ?1 AND bytes IS NOT NULL",
                    [id],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }

    /// The thumbnail of attachment `id`, when one is kept.
    pub fn attachment_thumbnail(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.db.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT thumbnail FROM attachments WHERE sha256 = ?1 AND thumbnail IS NOT NULL",
                    [id],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }

    /// The attachments waiting for upload.
    pub fn upload_queue(&self) -> Result<UploadQueue> {
        self.db.read(|conn| {
            let (pending, bytes): (i64, i64) = conn.query_row(
                "SELECT count(*), coalesce(sum(size), 0) FROM attachments
                 WHERE upload_state = 'pending' AND bytes IS NOT NULL",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(UploadQueue {
                pending: pending.max(0) as u32,
                pending_bytes: bytes.max(0) as u64,
            })
        })
    }

    /// Ids of the attachments to upload, oldest first: pending ones that
    /// a record names (a photo taken and then not used waits until it is).
    pub fn pending_uploads(&self) -> Result<Vec<String>> {
        self.db.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT a.sha256 FROM attachments a
                 WHERE a.upload_state = 'pending' AND a.bytes IS NOT NULL
                   AND EXISTS (SELECT 1 FROM attachment_refs r WHERE r.blob = a.sha256)
                 ORDER BY a.created_at, a.sha256",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Record that the server holds attachment `id` and verified its hash:
    /// from now on its original may be dropped by the storage budget.
    pub fn mark_uploaded(&self, id: &str) -> Result<()> {
        let now = self.now();
        self.db.write(|tx| {
            tx.conn().execute(
                "UPDATE attachments SET upload_state = 'uploaded', uploaded_at = ?2
                 WHERE sha256 = ?1 AND upload_state != 'uploaded'",
                params![id, now.0],
            )?;
            Ok(())
        })
    }

    /// Keep bytes fetched from the server for attachment `id` (another
    /// device's photo): they must hash to `id`; the attachment is then
    /// known as uploaded (the server has it).
    pub fn store_downloaded(&self, id: &str, mime: &str, bytes: &[u8]) -> Result<()> {
        if blob_id(bytes) != id {
            return Err(Error::invalid(
                "photo",
                "下载的照片校验失败 / the downloaded photo does not match its id",
            ));
        }
        let mime = check_mime(mime).unwrap_or_else(|_| "application/octet-stream".into());
        let thumbnail = media::is_image(bytes)
            .then(|| media::thumbnail(bytes, media::THUMBNAIL_EDGE).ok())
            .flatten();
        let now = self.now();
        self.db.write(|tx| {
            tx.conn().execute(
                "INSERT INTO attachments (sha256, mime, size, bytes, thumbnail, upload_state, created_at, uploaded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'uploaded', ?6, ?6)
                 ON CONFLICT(sha256) DO UPDATE SET bytes = excluded.bytes,
                     thumbnail = coalesce(attachments.thumbnail, excluded.thumbnail)",
                params![id, mime, bytes.len() as i64, bytes, thumbnail, now.0],
            )?;
            Ok(())
        })
    }

    /// The storage budget: while the originals on this phone take more
    /// than `budget_bytes`, drop the oldest ones the server has confirmed,
    /// each down to its thumbnail (refetched from the server on demand).
    /// A blob still waiting for upload is never dropped.
    pub fn trim_attachments(&self, budget_bytes: u64) -> Result<TrimReport> {
        self.db.write(|tx| {
            let conn = tx.conn();
            let mut kept: i64 = conn.query_row(
                "SELECT coalesce(sum(size), 0) FROM attachments WHERE bytes IS NOT NULL",
                [],
                |r| r.get(0),
            )?;
            let mut report = TrimReport::default();
            if kept.max(0) as u64 > budget_bytes {
                let candidates: Vec<(String, i64)> = {
                    let mut stmt = conn.prepare(
                        "SELECT sha256, size FROM attachments
                         WHERE bytes IS NOT NULL AND upload_state = 'uploaded'
                         ORDER BY coalesce(uploaded_at, created_at), sha256",
                    )?;
                    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                for (id, size) in candidates {
                    if kept.max(0) as u64 <= budget_bytes {
                        break;
                    }
                    conn.execute(
                        "UPDATE attachments SET bytes = NULL WHERE sha256 = ?1",
                        [&id],
                    )?;
                    kept -= size;
                    report.dropped += 1;
                    report.freed_bytes += size.max(0) as u64;
                }
            }
            report.kept_bytes = kept.max(0) as u64;
            Ok(report)
        })
    }
}

/// Check that every blob in `ids` is held by this store (in `attachments`),
/// so that whatever a record names can be uploaded from here; `field` names
/// the input in the error.
pub(crate) fn check_attached<C: SqlConn + ?Sized>(
    conn: &C,
    ids: &[String],
    field: &str,
) -> Result<()> {
    for id in ids {
        let found = conn.value(
            "SELECT 1 FROM attachments WHERE sha256 = ?1",
            &[id.as_str().into()],
        )?;
        if found.is_none() {
            return Err(Error::invalid(
                field,
                "照片未添加到本机（先拍照或选择照片）/ the photo was not attached on this phone",
            ));
        }
    }
    Ok(())
}

/// Every blob id a record of this store names that is not stored here at
/// all: another device's photos, to fetch on demand.
pub fn missing_blobs<C: SqlConn + ?Sized>(conn: &C) -> Result<Vec<String>> {
    conn.rows(
        "SELECT DISTINCT r.blob FROM attachment_refs r
         WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = r.blob AND a.bytes IS NOT NULL)
         ORDER BY r.blob",
        &[],
    )?
    .into_iter()
    .map(|row| {
        let [blob] = columns(row)?;
        blob.text()
    })
    .filter(|id| id.as_ref().map_or(true, |id| is_blob_id(id)))
    .collect()
}

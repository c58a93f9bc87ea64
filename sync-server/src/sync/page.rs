//! One page of a device's feed: what changed in its scope since its cursor,
//! oldest first, as much as one response may carry ([`Limits`]). The
//! cursor moves only over entries that were examined (ADR 11); the engine
//! ([`super::engine`]) adds the page to its response.

use super::storage::SyncTx;
use crate::accounts::Account;
use crate::error::Error;
use automerge::ChangeHash;
use gridwork_core::docs::DocId;
use gridwork_core::sync::protocol::{from_hashes, to_hashes, DocPull};
use std::collections::BTreeSet;

/// Most docs in one response page.
pub const PAGE_DOCS: usize = 2_000;
/// Response page budget in (uncompressed) document bytes.
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Feed entries read per query while filling a page.
const FEED_BATCH: usize = 256;
/// Stored docs read per query for a device that holds none yet.
const PREFETCH: usize = 128;

/// How much one response may carry. [`Limits::default`] is what the server
/// uses; tests shrink it to exercise paging.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most feed docs sent in one response.
    pub page_docs: usize,
    /// Feed doc bytes (uncompressed) after which the page is closed.
    pub page_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            page_docs: PAGE_DOCS,
            page_bytes: PAGE_BYTES,
        }
    }
}

/// One page of the feed for a device.
pub(super) struct FeedPage {
    pub(super) docs: Vec<DocPull>,
    /// The feed position the device may move its cursor to.
    pub(super) cursor: u64,
    /// Entries after `cursor` were not examined.
    pub(super) more: bool,
}

/// Walk the device's feed from `cursor`, oldest first, and collect what the
/// device lacks until the page is full.
///
/// The cursor only ever moves over entries that were *examined*: sent in
/// this page (pending under `round` until the device confirms it), pushed
/// by the device in this very request (its answer is in the push's reply),
/// or already held by the device at the heads the server knows it has. When
/// the page fills up, the cursor stops at the last examined entry and
/// `more` is set, however many entries were skipped on the way; only when
/// the scope's feed is exhausted does it jump to the head of the whole feed.
#[allow(clippy::too_many_arguments)]
pub(super) fn feed_page(
    tx: &mut dyn SyncTx,
    account: &Account,
    device: &str,
    cursor: u64,
    pushed: &BTreeSet<String>,
    round: u64,
    limits: Limits,
) -> Result<FeedPage, Error> {
    let head = tx.feed_max()?;
    let mut page = FeedPage {
        docs: Vec::new(),
        cursor,
        more: false,
    };
    let mut bytes = 0usize;
    // A device the server knows to hold nothing (a first sync) lacks every
    // doc entirely: no per-doc lookup of its heads, and the stored docs are
    // read PREFETCH at a time. For any other device the docs' heads and the
    // device's are read PREFETCH at a time, and only docs it lacks are read.
    let holds_any = tx.device_holds_any(device)?;
    let batch_size = FEED_BATCH.max(limits.page_docs + 1);
    // Heads the device will have once it applies this round, written at once.
    let mut pending: Vec<(DocId, Vec<ChangeHash>)> = Vec::new();
    loop {
        let batch = tx.feed_since(&account.feed_scopes, page.cursor, batch_size)?;
        let exhausted = batch.len() < batch_size;
        let mut prefetched = std::collections::HashMap::new();
        let mut known = std::collections::HashMap::new();
        for (i, (id, seq)) in batch.iter().enumerate() {
            if page.docs.len() >= limits.page_docs.max(1) || bytes >= limits.page_bytes {
                page.more = true;
                tx.set_pending_many(device, round, &pending)?;
                return Ok(page);
            }
            if i % PREFETCH == 0 {
                // This entry and the next ones (every entry of the batch
                // falls in exactly one such window): their stored docs, or
                // their heads and the device's.
                let ids: Vec<DocId> = batch[i..]
                    .iter()
                    .take(PREFETCH)
                    .filter(|(id, _)| !pushed.contains(id.as_str()))
                    .map(|(id, _)| id.clone())
                    .collect();
                if holds_any {
                    known = tx.heads_many(device, &ids)?;
                } else {
                    prefetched = tx.stored_docs(&ids)?;
                }
            }
            page.cursor = *seq;
            if pushed.contains(id.as_str()) {
                continue;
            }
            let pull = if holds_any {
                match known.remove(id) {
                    Some(known) => missing_part(tx, id, &known.stored, &known.device)?,
                    None => None,
                }
            } else {
                prefetched
                    .remove(id)
                    .filter(|(data, _)| !data.is_empty())
                    .map(|(data, heads)| DocPull {
                        id: id.to_string(),
                        heads: to_hashes(&heads),
                        data,
                    })
            };
            if let Some(pull) = pull {
                bytes += pull.data.len();
                pending.push((id.clone(), from_hashes(&pull.heads)));
                page.docs.push(pull);
            }
        }
        if exhausted {
            page.cursor = page.cursor.max(head);
            tx.set_pending_many(device, round, &pending)?;
            return Ok(page);
        }
    }
}

/// What a device lacks of stored doc `id`, whose heads are `stored` and of
/// which the device is known to have `base`: nothing when it has the doc's
/// heads (decided from stored heads, no load); the doc's stored bytes as
/// they are when it has none of it (no load, no re-encoding); else the
/// changes since the heads it is known to have, or the whole doc when
/// those heads are unknown here.
fn missing_part(
    tx: &mut dyn SyncTx,
    id: &DocId,
    stored: &[ChangeHash],
    base: &[ChangeHash],
) -> Result<Option<DocPull>, Error> {
    if base.is_empty() {
        let Some((data, heads)) = tx.stored_doc(id)? else {
            return Ok(None);
        };
        if data.is_empty() {
            return Ok(None);
        }
        return Ok(Some(DocPull {
            id: id.to_string(),
            heads: to_hashes(&heads),
            data,
        }));
    }
    if same(stored, base) {
        return Ok(None);
    }
    if let Some((data, heads)) = tx.latest_change_since(id, base)? {
        return Ok(Some(DocPull {
            id: id.to_string(),
            heads: to_hashes(&heads),
            data,
        }));
    }
    let mut heads = Vec::new();
    let data = tx
        .read_doc(id, &mut |doc| {
            heads = doc.get_heads();
            if same(&heads, base) {
                Vec::new()
            } else if base
                .iter()
                .all(|h| doc.get_change_meta_by_hash(h).is_some())
            {
                doc.save_after(base)
            } else {
                // Uncompressed: the response body's compression works
                // across docs, far better than per-doc column deflate.
                doc.save_nocompress()
            }
        })?
        .unwrap_or_default();
    if data.is_empty() {
        return Ok(None);
    }
    Ok(Some(DocPull {
        id: id.to_string(),
        heads: to_hashes(&heads),
        data,
    }))
}

/// The same heads, in any order.
pub(super) fn same(a: &[ChangeHash], b: &[ChangeHash]) -> bool {
    a.len() == b.len() && a.iter().all(|h| b.contains(h))
}

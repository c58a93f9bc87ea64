//! `GET /v1/wait?cursor=N[&timeout=S]`: a phone's long poll for new work.
//!
//! The phone sends the feed cursor of its last sync. The answer comes as
//! soon as a doc of the phone's feed scopes has a feed number above it —
//! at once when one already has — or after `timeout` seconds (default and
//! most [`MAX_HOLD_SECS`]) with `changed: false`; the phone then syncs, or
//! waits again. Waiters sleep on [`crate::feed_watch`] channels: no thread
//! and no query per idle phone.
//!
//! Authentication and rate limits are those of `POST /v1/sync` (a wait
//! counts as one sync request); a device token holds at most
//! [`MAX_WAITS_PER_TOKEN`] waits at once (a newer one ends the oldest with
//! `changed: false`), so one phone cannot pile up connections, and the server at most half its connection
//! cap (more get 503 with `Retry-After`), so waits never crowd out the
//! dashboard, the residents' pages or sync. On shutdown every wait ends at
//! once with `changed: false`.

use crate::accounts::Authenticated;
use crate::error::Error;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::Notify;

/// The longest a wait is held (seconds): under the usual 60 s idle
/// timeouts of carrier NATs and proxies, and the server's request timeout.
pub const MAX_HOLD_SECS: u64 = 55;

/// Waits one device token may hold at once.
pub const MAX_WAITS_PER_TOKEN: usize = 2;

/// The query of `GET /v1/wait`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct WaitQuery {
    /// The feed cursor of the phone's last sync (0: none yet).
    #[serde(default)]
    pub cursor: u64,
    /// Seconds to hold the request at most (1 to [`MAX_HOLD_SECS`]).
    pub timeout: Option<u64>,
}

/// The answer of `GET /v1/wait`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waited {
    /// True when the phone's scopes have something above its cursor: sync
    /// now.
    pub changed: bool,
    /// The newest feed number the server saw for the phone's scopes (the
    /// cursor sent back when nothing changed).
    pub seq: u64,
}

/// Waits in progress per device token (a hash of it) and in all, for the
/// caps: a waiting phone holds a connection, and the connections are
/// shared with the dashboard, the residents' pages and sync.
pub struct WaitSlots {
    /// Per token, its waits oldest first.
    held: Mutex<HashMap<[u8; 16], Vec<HeldWait>>>,
    next: AtomicU64,
    total: AtomicUsize,
    capacity: AtomicUsize,
}

impl Default for WaitSlots {
    fn default() -> Self {
        WaitSlots {
            held: Mutex::default(),
            next: AtomicU64::new(0),
            total: AtomicUsize::new(0),
            capacity: AtomicUsize::new(DEFAULT_MAX_WAITS),
        }
    }
}

/// One held wait: its slot number and its "end now" signal.
type HeldWait = (u64, Arc<Notify>);

/// Waits held at once unless `serve` sets it (half its connection cap).
pub const DEFAULT_MAX_WAITS: usize = 2048;

impl WaitSlots {
    /// Hold at most `max` waits at once (more: 503 with a retry time).
    pub fn set_capacity(&self, max: usize) {
        self.capacity.store(max.max(1), Ordering::SeqCst);
    }

    /// A slot for a wait of token `key`. A token already holding
    /// [`MAX_WAITS_PER_TOKEN`] waits gets one all the same: its oldest wait
    /// is told to end (a phone that cancelled a wait and waits again must
    /// not be refused while the server still holds the old request).
    fn take(&self, key: [u8; 16]) -> Result<WaitSlot<'_>, Error> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if self.total.load(Ordering::SeqCst) >= self.capacity.load(Ordering::SeqCst) {
            return Err(Error::Busy {
                retry_after_secs: 30,
            });
        }
        let waits = held.entry(key).or_default();
        if waits.len() >= MAX_WAITS_PER_TOKEN {
            let (_, oldest) = waits.remove(0);
            // A permit: the old wait ends even if it is not polling yet.
            oldest.notify_one();
        }
        let number = self.next.fetch_add(1, Ordering::SeqCst);
        let ended = Arc::new(Notify::new());
        waits.push((number, ended.clone()));
        self.total.fetch_add(1, Ordering::SeqCst);
        Ok(WaitSlot {
            slots: self,
            key,
            number,
            ended,
        })
    }
}

struct WaitSlot<'a> {
    slots: &'a WaitSlots,
    key: [u8; 16],
    number: u64,
    /// Signalled when a newer wait of the same token took this one's place.
    ended: Arc<Notify>,
}

impl Drop for WaitSlot<'_> {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(|e| e.into_inner());
        self.slots.total.fetch_sub(1, Ordering::SeqCst);
        if let Some(waits) = held.get_mut(&self.key) {
            waits.retain(|(n, _)| *n != self.number);
            if waits.is_empty() {
                held.remove(&self.key);
            }
        }
    }
}

/// `GET /v1/wait`.
pub async fn wait(
    State(state): State<AppState>,
    Query(query): Query<WaitQuery>,
    request: Request,
) -> Result<Json<Waited>, Error> {
    let peer = crate::listener::peer_of(&request);
    state.limits.sync_from(peer.ip())?;
    let (mut parts, _) = request.into_parts();
    let Authenticated(account) = Authenticated::from_request_parts(&mut parts, &state).await?;
    let token = crate::accounts::bearer_token(&parts.headers).unwrap_or_default();
    state.limits.sync_with_token(token)?;
    let slot = state.wait_slots.take(token_key(token))?;
    let hold = Duration::from_secs(
        query
            .timeout
            .unwrap_or(MAX_HOLD_SECS)
            .clamp(1, MAX_HOLD_SECS),
    );
    state.feed_watch.ensure_pump(&state.backend);
    // Subscribe before reading the feed: a change committed after the read
    // reaches a receiver, one committed before is in the read.
    let scopes: Vec<String> = account
        .feed_scopes
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let mut receivers: Vec<_> = scopes
        .iter()
        .map(|s| state.feed_watch.subscribe(s))
        .collect();
    let cursor = query.cursor;
    let backend = state.backend.clone();
    let feed_scopes = account.feed_scopes.clone();
    let (newest, head) = tokio::task::spawn_blocking(move || {
        backend.read(|conn| {
            Ok((
                crate::feed::feed_newest(conn, &feed_scopes)?,
                crate::feed::feed_head(conn)?,
            ))
        })
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
    let newest = newest.unwrap_or(0).max(0) as u64;
    // Something above the cursor, or a cursor past the whole feed (the
    // server was restored from an older backup): sync now, so that the
    // engine can bring the phone up to date or start it over.
    if newest > cursor || cursor > head.max(0) as u64 {
        return Ok(Json(Waited {
            changed: true,
            seq: newest,
        }));
    }
    let deadline = tokio::time::Instant::now() + hold;
    let mut closing = state.feed_watch.closing();
    loop {
        let woke = tokio::select! {
            woke = tokio::time::timeout_at(deadline, any_changed(&mut receivers)) => woke.is_ok(),
            _ = closing.wait_for(|closed| *closed) => false,
            _ = slot.ended.notified() => false,
        };
        if !woke {
            return Ok(Json(Waited {
                changed: false,
                seq: cursor,
            }));
        }
        let newest = receivers
            .iter_mut()
            .map(|r| *r.borrow_and_update())
            .max()
            .unwrap_or(0)
            .max(0) as u64;
        if newest > cursor {
            return Ok(Json(Waited {
                changed: true,
                seq: newest,
            }));
        }
    }
}

/// Resolves when any receiver sees a new value (never, when there are
/// none or every sender is gone).
async fn any_changed(receivers: &mut [tokio::sync::watch::Receiver<i64>]) {
    let mut pending: Vec<Pin<Box<dyn Future<Output = bool> + Send + '_>>> = receivers
        .iter_mut()
        .map(|r| Box::pin(async move { r.changed().await.is_ok() }) as Pin<Box<_>>)
        .collect();
    std::future::poll_fn(|cx| {
        let mut i = 0;
        while i < pending.len() {
            match pending[i].as_mut().poll(cx) {
                Poll::Ready(true) => return Poll::Ready(()),
                // A closed channel never fires again.
                Poll::Ready(false) => {
                    drop(pending.swap_remove(i));
                }
                Poll::Pending => i += 1,
            }
        }
        Poll::Pending
    })
    .await
}

fn token_key(token: &str) -> [u8; 16] {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

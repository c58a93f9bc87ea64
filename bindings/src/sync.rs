//! Sync with the office's server as an async function: the blocking core
//! sync runs on its own thread and the returned future completes when it
//! does, so it works under any executor (Kotlin coroutines, Swift
//! async/await, Python asyncio). Progress goes to a [`SyncListener`]
//! implemented in the app; a [`SyncCancel`] handle stops it between round
//! trips. A sync is idempotent and safe to retry after any failure.

use crate::error::ApiResult;
use crate::store::GridworkStore;
use gridwork_core::sync::client::ProgressFn;
use gridwork_core::sync::{SyncOptions, SyncProgress, SyncSummary, WaitOptions};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Progress after each applied round trip.
#[uniffi::remote(Record)]
pub struct SyncProgress {
    /// Round trips so far.
    pub round_trips: u32,
    /// Docs received so far.
    pub docs_down: u32,
    /// True while the server has more pages.
    pub more: bool,
}

/// Receives sync progress; implement it in Kotlin/Swift/Python. Called on
/// the sync's background thread: post to the UI thread yourself.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    /// One more round trip was applied.
    fn on_progress(&self, progress: SyncProgress);
}

/// Cancels a running sync before its next round trip; the sync then fails
/// with `ApiError.Cancelled` and nothing applied so far is lost.
#[derive(uniffi::Object, Default)]
pub struct SyncCancel {
    flag: Arc<AtomicBool>,
}

#[uniffi::export]
impl SyncCancel {
    /// A fresh handle.
    #[uniffi::constructor]
    pub fn new() -> Arc<SyncCancel> {
        Arc::new(SyncCancel::default())
    }

    /// Ask the sync to stop.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

#[uniffi::export]
impl GridworkStore {
    /// Exchange changes with the server at `server_url` (e.g.
    /// `https://grid.example.cn`) using the device `token`. One round trip
    /// for a typical day; more for a first sync, reported to `listener`.
    pub async fn sync(
        &self,
        server_url: String,
        token: String,
        listener: Option<Arc<dyn SyncListener>>,
        cancel: Option<Arc<SyncCancel>>,
    ) -> ApiResult<SyncSummary> {
        let store = self.inner.clone();
        let options = SyncOptions {
            progress: listener
                .map(|l| Arc::new(move |p: &SyncProgress| l.on_progress(p.clone())) as ProgressFn),
            cancel: cancel.map(|c| c.flag.clone()),
            push_budget: None,
            // The apps reach the server over https:// (or http:// to this
            // machine); plain http:// elsewhere is refused.
            allow_insecure: false,
        };
        crate::photos::off_thread("gridwork-sync", move || {
            store.sync(&server_url, &token, &options)
        })
        .await
    }

    /// Wait until the server has new work for this phone (`true`: sync
    /// now) or `hold_secs` (1–55, 0 = 55) pass with nothing new (`false`:
    /// wait again). The server holds one cheap request open meanwhile; run
    /// it in a loop while the app is in the foreground. `cancel` ends the
    /// wait at once with `ApiError.Cancelled`.
    pub async fn wait_for_changes(
        &self,
        server_url: String,
        token: String,
        hold_secs: u32,
        cancel: Option<Arc<SyncCancel>>,
    ) -> ApiResult<bool> {
        let store = self.inner.clone();
        let options = WaitOptions {
            hold_secs: u64::from(hold_secs),
            cancel: cancel.map(|c| c.flag.clone()),
            allow_insecure: false,
        };
        crate::photos::off_thread("gridwork-wait", move || {
            store.wait_for_changes(&server_url, &token, &options)
        })
        .await
    }
}

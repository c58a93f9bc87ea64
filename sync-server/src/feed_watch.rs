//! Wake-ups for the wait endpoint (`GET /v1/wait`, [`crate::sync::wait`]):
//! one `tokio::sync::watch` channel per feed scope that has a waiter, each
//! holding the newest feed number seen for its scope.
//!
//! A single pump task per server process moves the feed into the channels:
//! it reads the feed entries above the last number it saw (one grouped
//! query on the `doc_feed(seq)` index) and bumps the channels of the
//! scopes that changed. It runs when poked — by this process's writers,
//! right after their commit ([`FeedWatch::poke`]) — and at least every
//! [`POLL_INTERVAL`], which picks up what other processes wrote (`admin`
//! commands, other instances on the same PostgreSQL database). A waiter is
//! a future holding a few receivers: thousands of idle phones cost memory
//! for their connections and nothing else (no thread, no query).
//!
//! Channels without receivers are dropped by the pump, so the map holds
//! only scopes someone is waiting on.

use crate::backend::Backend;
use crate::error::Error;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How often the pump reads the feed when nobody pokes it: the longest a
/// waiter sleeps through a change written by another process.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The per-scope channels and the pump's position (cheap to share).
pub struct FeedWatch {
    scopes: Mutex<HashMap<String, watch::Sender<i64>>>,
    /// The feed number the pump has read up to (0 before its first run).
    seen: AtomicI64,
    poke: Notify,
    started: AtomicBool,
    /// True once the server is shutting down: every wait ends.
    closing: watch::Sender<bool>,
}

impl Default for FeedWatch {
    fn default() -> Self {
        FeedWatch {
            scopes: Mutex::default(),
            seen: AtomicI64::default(),
            poke: Notify::default(),
            started: AtomicBool::default(),
            closing: watch::channel(false).0,
        }
    }
}

impl FeedWatch {
    /// A receiver of `scope`'s newest feed number (the channel is created
    /// on first use, at the pump's current position).
    pub fn subscribe(&self, scope: &str) -> watch::Receiver<i64> {
        let mut scopes = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        scopes
            .entry(scope.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// End every wait now and from now on (the server is shutting down, so
    /// graceful shutdown does not sit out the waits' holds).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// A receiver that turns true when the server shuts down.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Tell the pump that something was committed (call after the commit).
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Scopes with a live channel (for tests and metrics).
    pub fn watched_scopes(&self) -> usize {
        self.scopes.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Start this process's pump over `backend` unless it runs already
    /// (must be called inside the tokio runtime).
    pub fn ensure_pump(self: &Arc<Self>, backend: &Backend) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = self.clone();
        let backend = backend.clone();
        // Runs as long as the runtime (the state lives as long as the server).
        tokio::spawn(async move {
            loop {
                if let Err(e) = this.pump_once(&backend).await {
                    tracing::warn!(error = %e, "feed watch: reading the feed failed");
                }
                let _ = tokio::time::timeout(POLL_INTERVAL, this.poke.notified()).await;
            }
        });
    }

    /// Read the feed above the pump's position and bump the channels of
    /// the scopes that changed; drop channels nobody holds.
    pub async fn pump_once(&self, backend: &Backend) -> Result<(), Error> {
        let seen = self.seen.load(Ordering::SeqCst);
        let backend = backend.clone();
        let (head, changed) = tokio::task::spawn_blocking(move || {
            backend.read(|conn| {
                let head = crate::feed::feed_head(conn)?;
                if head <= seen {
                    return Ok((head, Vec::new()));
                }
                let mut changed = Vec::new();
                for row in conn.rows(
                    "SELECT scope, MAX(seq) FROM doc_feed WHERE seq > ?1 GROUP BY scope",
                    &[seen.into()],
                )? {
                    let [scope, seq] = crate::sync::storage::cells(row)?;
                    changed.push((scope.text()?, seq.int()?));
                }
                Ok((head, changed))
            })
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let mut scopes = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        for (scope, seq) in changed {
            if let Some(sender) = scopes.get(&scope) {
                sender.send_if_modified(|newest| {
                    let newer = seq > *newest;
                    if newer {
                        *newest = seq;
                    }
                    newer
                });
            }
        }
        scopes.retain(|_, sender| sender.receiver_count() > 0);
        self.seen.fetch_max(head, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::feed_touch;

    fn backend() -> (tempfile::TempDir, Backend) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(dir.path()).unwrap();
        (dir, Backend::Sqlite(Arc::new(db)))
    }

    fn touch(backend: &Backend, doc: &str, scope: &str) -> i64 {
        backend.transaction(|c| feed_touch(c, doc, scope)).unwrap()
    }

    #[tokio::test]
    async fn a_change_wakes_the_waiters_of_its_scope_only() {
        let (_dir, backend) = backend();
        let watch = FeedWatch::default();
        let mut g1 = watch.subscribe("G1");
        let g2 = watch.subscribe("G2");
        watch.pump_once(&backend).await.unwrap();
        let seq = touch(&backend, "household/a", "G1");
        watch.pump_once(&backend).await.unwrap();
        assert!(g1.has_changed().unwrap());
        assert_eq!(*g1.borrow_and_update(), seq);
        assert!(!g2.has_changed().unwrap());
        // Nothing new: nobody wakes.
        watch.pump_once(&backend).await.unwrap();
        assert!(!g1.has_changed().unwrap());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Any interleaving of changes in three scopes, waiters arriving
        /// and pump runs (a pump may miss a poke: the next run catches
        /// up): after a pump, a waiter has been woken exactly when its
        /// scope changed since it last looked, and its value is the
        /// scope's newest feed number.
        #[test]
        fn every_waiter_of_a_changed_scope_wakes_and_no_other(
            ops in proptest::collection::vec((0u8..3, 0u8..3), 1..40)
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let (_dir, backend) = backend();
                let watch = FeedWatch::default();
                let scopes = ["G1", "G2", "config:G1"];
                // (scope index, receiver, changed since it last looked)
                let mut waiters: Vec<(usize, watch::Receiver<i64>, bool)> = Vec::new();
                let mut newest = [0i64; 3];
                for (op, scope) in ops {
                    let s = scope as usize;
                    match op {
                        0 => {
                            newest[s] = touch(&backend, &format!("doc/{s}"), scopes[s]);
                            for w in waiters.iter_mut().filter(|w| w.0 == s) {
                                w.2 = true;
                            }
                        }
                        1 => {
                            // A waiter subscribes, then reads the feed (as
                            // the endpoint does), then looks at its channel.
                            watch.pump_once(&backend).await.unwrap();
                            waiters.push((s, watch.subscribe(scopes[s]), false));
                        }
                        _ => {
                            watch.pump_once(&backend).await.unwrap();
                            for (s, rx, changed) in waiters.iter_mut() {
                                assert_eq!(rx.has_changed().unwrap(), *changed);
                                if *changed {
                                    assert_eq!(*rx.borrow_and_update(), newest[*s]);
                                    *changed = false;
                                }
                            }
                        }
                    }
                }
            });
        }
    }

    #[tokio::test]
    async fn channels_nobody_holds_are_dropped() {
        let (_dir, backend) = backend();
        let watch = FeedWatch::default();
        let kept = watch.subscribe("G1");
        drop(watch.subscribe("G2"));
        assert_eq!(watch.watched_scopes(), 2);
        watch.pump_once(&backend).await.unwrap();
        assert_eq!(watch.watched_scopes(), 1);
        drop(kept);
    }
}

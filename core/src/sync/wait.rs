//! Waiting for new work: the phone's side of `GET /v1/wait` (the server's
//! long poll, held up to 55 s). [`Store::wait_for_changes`] sends the feed
//! cursor of the last sync and returns `true` as soon as the server has
//! something new for the phone's scope — the app then syncs — or `false`
//! when the hold ran out with nothing new (the app waits again).
//!
//! Cancelling is immediate: the held request runs on its own thread and the
//! caller checks the cancel flag every [`CANCEL_CHECK`]; a cancelled wait
//! returns [`Error::Cancelled`] at once and its thread ends when the server
//! answers (within the hold).

use super::transport::{HttpRequest, Transport};
use crate::api::Store;
use crate::{Error, Result};
use serde::Deserialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a waiting caller looks at its cancel flag.
pub const CANCEL_CHECK: Duration = Duration::from_millis(100);

/// Longest hold the server grants (seconds).
pub const MAX_HOLD_SECS: u64 = 55;

/// Options of [`Store::wait_for_changes`].
#[derive(Clone, Debug, Default)]
pub struct WaitOptions {
    /// Seconds the server may hold the request (1 to 55; 0 = 55).
    pub hold_secs: u64,
    /// Set to true to stop waiting ([`Error::Cancelled`]).
    pub cancel: Option<Arc<AtomicBool>>,
    /// Allow plain `http://` to a server that is not on this machine (test
    /// set-ups only), as [`super::SyncOptions::allow_insecure`].
    pub allow_insecure: bool,
}

impl WaitOptions {
    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    }
}

#[derive(Deserialize)]
struct Waited {
    changed: bool,
}

impl Store {
    /// Wait until the server has new work for this phone (`true`) or the
    /// hold runs out (`false`), using the production HTTP transport.
    #[cfg(feature = "http")]
    pub fn wait_for_changes(
        &self,
        server_url: &str,
        token: &str,
        options: &WaitOptions,
    ) -> Result<bool> {
        super::transport::check_server_url(server_url, options.allow_insecure)?;
        let transport = Arc::new(super::transport::HttpTransport::new()?);
        self.wait_for_changes_with(transport, server_url, token, options)
    }

    /// [`Store::wait_for_changes`] through any [`Transport`].
    pub fn wait_for_changes_with(
        &self,
        transport: Arc<dyn Transport>,
        server_url: &str,
        token: &str,
        options: &WaitOptions,
    ) -> Result<bool> {
        if options.cancelled() {
            return Err(Error::Cancelled);
        }
        self.device()?;
        let cursor = self.db.read(|c| super::client::meta_u64(c, "cursor"))?;
        let hold = match options.hold_secs {
            0 => MAX_HOLD_SECS,
            s => s.min(MAX_HOLD_SECS),
        };
        let request = HttpRequest {
            method: "GET",
            url: format!(
                "{}/v1/wait?cursor={cursor}&timeout={hold}",
                server_url.trim_end_matches('/')
            ),
            token: token.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("gridwork-wait".into())
            .spawn(move || {
                let _ = send.send(transport.exchange(request));
            })
            .map_err(|e| Error::Network(e.to_string()))?;
        let response = loop {
            match receive.recv_timeout(CANCEL_CHECK) {
                Ok(response) => break response?,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if options.cancelled() => {
                    return Err(Error::Cancelled)
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::Network("the wait ended without an answer".into()))
                }
            }
        };
        match response.status {
            200 => serde_json::from_slice::<Waited>(&response.body)
                .map(|w| w.changed)
                .map_err(|_| Error::Protocol("unreadable answer to a wait".into())),
            401 => Err(Error::Unauthorized),
            status => Err(Error::Server {
                status,
                message: String::from_utf8_lossy(&response.body)
                    .chars()
                    .take(200)
                    .collect(),
            }),
        }
    }
}

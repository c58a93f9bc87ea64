//! How sync bodies reach the server: a small trait, so tests can drop or
//! delay responses and the mobile bindings could plug in the platform's HTTP
//! stack; [`HttpTransport`] (reqwest + rustls/ring) is the production one.

use crate::{Error, Result};

/// The error code (`{"error": …}`) of a server refusing a phone initialised
/// for another worker or grid than the token's (HTTP 409).
pub const ACCOUNT_MISMATCH: &str = "account_mismatch";

/// Sends one sync body and returns the server's body.
pub trait Transport: Send + Sync {
    /// POST `body` to `url` with the bearer `token`. HTTP 401 must map to
    /// [`Error::Unauthorized`], other non-2xx statuses to [`Error::Server`],
    /// unreachable servers to [`Error::Network`], a refusal with the code
    /// [`ACCOUNT_MISMATCH`] to [`Error::AccountMismatch`].
    fn post(&self, url: &str, token: &str, body: Vec<u8>) -> Result<Vec<u8>>;
}

/// The production transport: blocking reqwest over rustls (ring provider).
#[cfg(feature = "http")]
pub struct HttpTransport {
    client: reqwest::blocking::Client,
}

#[cfg(feature = "http")]
impl HttpTransport {
    /// A client with sane timeouts for weak mobile links.
    pub fn new() -> Result<HttpTransport> {
        // Install ring as the process-wide rustls provider (ignored if one is set).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(20))
            .timeout(std::time::Duration::from_secs(120))
            .user_agent(concat!("gridwork/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Network(e.to_string()))?;
        Ok(HttpTransport { client })
    }
}

#[cfg(feature = "http")]
impl Transport for HttpTransport {
    fn post(&self, url: &str, token: &str, body: Vec<u8>) -> Result<Vec<u8>> {
        let response = self
            .client
            .post(url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, super::protocol::CONTENT_TYPE)
            .body(body)
            .send()
            .map_err(|e| Error::Network(without_url(&e)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .map_err(|e| Error::Network(without_url(&e)))?;
        if status.as_u16() == 401 {
            return Err(Error::Unauthorized);
        }
        if !status.is_success() {
            let json = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
            let field = |name: &str| {
                json.as_ref()
                    .and_then(|v| v.get(name))
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            };
            let message = field("message")
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect());
            if field("error").as_deref() == Some(ACCOUNT_MISMATCH) {
                return Err(Error::AccountMismatch(message));
            }
            return Err(Error::Server {
                status: status.as_u16(),
                message,
            });
        }
        Ok(bytes.to_vec())
    }
}

/// A reqwest error's text without the URL (which may carry a token in a query).
#[cfg(feature = "http")]
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<server>");
    }
    text
}

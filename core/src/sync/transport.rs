//! How sync bodies reach the server: a small trait, so tests can drop or
//! delay responses and the mobile bindings could plug in the platform's HTTP
//! stack; [`HttpTransport`] (reqwest + rustls/ring) is the production one.

use crate::{Error, Result};

/// The error code (`{"error": …}`) of a server refusing a phone initialised
/// for another worker or grid than the token's (HTTP 409).
pub const ACCOUNT_MISMATCH: &str = "account_mismatch";

/// Check a server URL before anything is sent: `https://` anywhere, plain
/// `http://` only to this machine (`localhost`, `127.0.0.0/8`, `::1`)
/// unless `allow_insecure`; other schemes never. The error names the field
/// `server` and does not echo the URL.
pub fn check_server_url(url: &str, allow_insecure: bool) -> Result<()> {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return Err(Error::invalid(
            "server",
            "服务器地址应以 https:// 开头 / the server URL must start with https://",
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback || allow_insecure {
        return Ok(());
    }
    Err(Error::invalid(
        "server",
        "明文 http:// 只允许连接本机，请使用 https://（测试环境可加 --allow-insecure）/ plain http:// is only allowed to this machine; use https:// (or --allow-insecure in a test set-up)",
    ))
}

/// One plain HTTP request of the photo steps (`/v1/blobs/…`).
#[derive(Clone, Debug, Default)]
pub struct HttpRequest {
    /// `GET`, `PUT` or `HEAD`.
    pub method: &'static str,
    /// Full URL.
    pub url: String,
    /// Bearer token.
    pub token: String,
    /// Extra headers (`Content-Range`, `Content-Digest`, `Range`).
    pub headers: Vec<(String, String)>,
    /// Body (empty for `GET`).
    pub body: Vec<u8>,
}

/// The answer to an [`HttpRequest`], whatever its status.
#[derive(Clone, Debug, Default)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, when sent.
    pub content_type: Option<String>,
    /// `Content-Range`, when sent (a ranged download's answer).
    pub content_range: Option<String>,
    /// Body.
    pub body: Vec<u8>,
}

/// Sends one sync body and returns the server's body.
pub trait Transport: Send + Sync {
    /// POST `body` to `url` with the bearer `token`. HTTP 401 must map to
    /// [`Error::Unauthorized`], other non-2xx statuses to [`Error::Server`],
    /// unreachable servers to [`Error::Network`], a refusal with the code
    /// [`ACCOUNT_MISMATCH`] to [`Error::AccountMismatch`].
    fn post(&self, url: &str, token: &str, body: Vec<u8>) -> Result<Vec<u8>>;

    /// One request of the photo upload and download steps: any status is
    /// an answer (the caller reads it); only a request that got no answer
    /// (connection refused, cut, timed out) is an error, [`Error::Network`].
    /// Transports that carry only sync bodies keep this default, and the
    /// photo steps report that they cannot run.
    fn exchange(&self, request: HttpRequest) -> Result<HttpResponse> {
        let _ = request;
        Err(Error::Protocol(
            "此连接方式不支持照片上传 / this transport does not carry photos".into(),
        ))
    }
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

    fn exchange(&self, request: HttpRequest) -> Result<HttpResponse> {
        self.exchange_inner(request)
    }
}

#[cfg(feature = "http")]
impl HttpTransport {
    fn exchange_inner(&self, request: HttpRequest) -> Result<HttpResponse> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| Error::Protocol("bad method".into()))?;
        let mut builder = self
            .client
            .request(method, &request.url)
            .bearer_auth(&request.token);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        let response = builder
            .send()
            .map_err(|e| Error::Network(without_url(&e)))?;
        let status = response.status().as_u16();
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let content_range = header(reqwest::header::CONTENT_RANGE);
        let body = response
            .bytes()
            .map_err(|e| Error::Network(without_url(&e)))?
            .to_vec();
        Ok(HttpResponse {
            status,
            content_type,
            content_range,
            body,
        })
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

#[cfg(test)]
mod tests {
    use super::check_server_url;

    #[test]
    fn plain_http_only_to_this_machine_unless_allowed() {
        for ok in [
            "https://grid.example.cn",
            "HTTPS://grid.example.cn:8443/x",
            "http://127.0.0.1:8080",
            "http://127.5.6.7",
            "http://localhost:8080/",
            "http://[::1]:8080",
        ] {
            assert!(check_server_url(ok, false).is_ok(), "{ok}");
        }
        for refused in [
            "http://grid.example.cn",
            "http://10.0.2.2:8080",
            "http://127.0.0.1.evil.example",
            "http://localhost@evil.example",
            "ftp://127.0.0.1",
            "grid.example.cn",
        ] {
            let err = check_server_url(refused, false).unwrap_err().to_string();
            assert!(err.starts_with("server"), "{refused}: {err}");
            assert!(!err.contains("evil"), "the URL is not echoed: {err}");
        }
        assert!(check_server_url("http://10.0.2.2:8080", true).is_ok());
        assert!(check_server_url("ftp://x", true).is_err());
    }
}

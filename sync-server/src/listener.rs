//! The accept loop: how connections are taken, bounded and timed out, with
//! optional TLS, in place of `axum::serve` (which has no header or idle
//! timeouts and no cap on connections).
//!
//! - **Caps.** At most [`ConnectionLimits::max_connections`] connections are
//!   open at once (by default derived from the open-file limit, so the
//!   server never runs out of descriptors for its database and logs) and at
//!   most [`ConnectionLimits::max_per_address`] from one address: a single
//!   client cannot take every slot. At the total cap the loop stops
//!   accepting (new connections wait in the kernel's backlog); over the
//!   per-address cap a connection is closed at once.
//! - **Timeouts.** A client has [`ConnectionLimits::header_timeout`] to send
//!   a request's headers, on a new connection and between keep-alive
//!   requests alike (hyper's header read timeout), and the TLS handshake
//!   has the same bound; a request (body and answer) has
//!   [`ConnectionLimits::request_timeout`] ([`crate::serve`] adds it as a
//!   layer). Idle and slow sockets are thereby closed by the server.
//! - **Accept errors** (e.g. `EMFILE`) are logged once per back-off step
//!   and retried after a pause growing from 10 ms to 1 s, instead of
//!   spinning.
//! - **Shutdown.** When the shutdown future completes, the loop stops
//!   accepting, in-flight requests finish (up to 30 s), idle connections
//!   close.
//!
//! Each request carries the peer address as axum's `ConnectInfo`, for the
//! per-address rate limits ([`crate::limits`]).

use axum::extract::connect_info::ConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Bounds on connections (see the module header).
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// Open connections at once.
    pub max_connections: usize,
    /// Open connections from one IP address.
    pub max_per_address: usize,
    /// Time to send a request's headers (and to finish a TLS handshake).
    pub header_timeout: Duration,
    /// Time for one request, its body read and its answer.
    pub request_timeout: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client
    /// (`serve --trusted-proxy`): the per-address rate limits then count
    /// the client, not the proxy ([`client_address`]).
    pub trusted_proxies: Arc<Vec<IpAddr>>,
}

/// Descriptors kept back from the open-file limit for the database, its
/// WAL, logs and the listener itself.
const RESERVED_DESCRIPTORS: u64 = 64;

impl ConnectionLimits {
    /// Defaults: up to 4,096 connections (fewer when the open-file limit is
    /// lower), a quarter of them per address, 10 s for headers, 120 s per
    /// request.
    pub fn from_environment() -> ConnectionLimits {
        let max_connections = open_file_limit()
            .map(|limit| limit.saturating_sub(RESERVED_DESCRIPTORS).max(16))
            .unwrap_or(4096)
            .min(4096) as usize;
        ConnectionLimits {
            max_connections,
            max_per_address: (max_connections / 4).max(8),
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            trusted_proxies: Arc::default(),
        }
    }
}

/// The soft open-file limit of this process, if it can be read.
fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
        if ok && limit.rlim_cur != libc::RLIM_INFINITY {
            return Some(limit.rlim_cur);
        }
    }
    None
}

/// Open connections per address; a slot is given back when its
/// [`AddressSlot`] drops.
#[derive(Clone, Default)]
struct PerAddress {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's place in [`PerAddress`].
struct AddressSlot {
    table: PerAddress,
    ip: IpAddr,
}

impl PerAddress {
    fn take(&self, ip: IpAddr, cap: usize) -> Option<AddressSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serve `app` on `listener` until `shutdown` completes (see the module
/// header); with `tls`, every connection is TLS.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let total = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = PerAddress::default();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // HTTP/1.1 only: protocol detection (HTTP/2 prior knowledge) would read
    // from the socket before any timeout applies, and phones and browsers
    // are served well by HTTP/1.1 here.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_millis(10);
    loop {
        let permit = tokio::select! {
            permit = total.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_per_connection_error(&e) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, pause_ms = backoff.as_millis() as u64, "accept failed; pausing");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = &mut shutdown => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        backoff = Duration::from_millis(10);
        let Some(slot) = per_address.take(peer.ip(), limits.max_per_address) else {
            tracing::debug!("per-address connection cap reached; connection closed");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        let header_timeout = limits.header_timeout;
        let trusted = limits.trusted_proxies.clone();
        tokio::spawn(async move {
            let _held = (permit, slot);
            let service = hyper::service::service_fn(move |mut request| {
                let client = client_address(peer, request.headers(), &trusted);
                request.extensions_mut().insert(ConnectInfo(client));
                app.clone().oneshot(request)
            });
            let result = match tls {
                None => {
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    watcher.watch(connection).await
                }
                Some(acceptor) => {
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let connection =
                                builder.serve_connection(TokioIo::new(stream), service);
                            watcher.watch(connection).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => {
            tracing::warn!("connections still open after 30 s; stopping anyway");
        }
    }
    Ok(())
}

/// Accept errors that concern one connection only (the peer gave up
/// before we took it): retry at once.
fn is_per_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// A TLS acceptor from PEM files: the certificate chain and its private key.
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, crate::Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str| {
        crate::Error::invalid(
            what,
            "无法读取证书或私钥（PEM）/ cannot read the PEM certificate or key",
        )
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|_| bad("--tls-cert"))?
        .collect::<Result<_, _>>()
        .map_err(|_| bad("--tls-cert"))?;
    if chain.is_empty() {
        return Err(bad("--tls-cert"));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|_| bad("--tls-key"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| crate::Error::Internal(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|_| {
            crate::Error::invalid(
                "--tls-key",
                "证书与私钥不匹配 / the certificate and the key do not match",
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The client of a request from `peer`: `peer` itself, or — when `peer` is
/// one of the `trusted` reverse proxies — the right-most address of
/// `X-Forwarded-For` that is not itself a trusted proxy (the entries to its
/// left were written by the client and prove nothing). Port 0 then.
pub fn client_address(
    peer: SocketAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[IpAddr],
) -> SocketAddr {
    if !trusted.contains(&peer.ip()) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    forwarded
        .iter()
        .rev()
        .filter_map(|entry| entry.parse::<IpAddr>().ok())
        .find(|ip| !trusted.contains(ip))
        .map(|ip| SocketAddr::new(ip, 0))
        .unwrap_or(peer)
}

/// The peer address of a request served by [`serve`] (loopback for
/// requests made in-process, e.g. by tests calling the router directly).
pub fn peer_of<B>(request: &axum::http::Request<B>) -> SocketAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// The peer address as an extractor (see [`peer_of`]); never fails.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_slots_are_capped_and_given_back() {
        let table = PerAddress::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let a = table.take(ip, 2).unwrap();
        let _b = table.take(ip, 2).unwrap();
        assert!(table.take(ip, 2).is_none());
        assert!(table.take([10, 0, 0, 2].into(), 2).is_some());
        drop(a);
        assert!(table.take(ip, 2).is_some());
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_nobody_else_can() {
        let proxy: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let trusted: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap()];
        let mut headers = axum::http::HeaderMap::new();
        // The client wrote the first entry; the proxy appended the real one.
        headers.append("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        let client = client_address(proxy, &headers, &trusted);
        assert_eq!(client.ip().to_string(), "203.0.113.7");
        // Not from a trusted proxy: the header is ignored.
        let direct: SocketAddr = "198.51.100.2:4000".parse().unwrap();
        assert_eq!(client_address(direct, &headers, &trusted), direct);
        // No header, or nothing readable: the proxy itself.
        assert_eq!(
            client_address(proxy, &axum::http::HeaderMap::new(), &trusted),
            proxy
        );
        let mut junk = axum::http::HeaderMap::new();
        junk.append("x-forwarded-for", "unknown".parse().unwrap());
        assert_eq!(client_address(proxy, &junk, &trusted), proxy);
        // Two proxies in a row: the right-most untrusted address.
        let both: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "10.0.0.5".parse().unwrap()];
        let mut chain = axum::http::HeaderMap::new();
        chain.append("x-forwarded-for", "203.0.113.9, 10.0.0.5".parse().unwrap());
        assert_eq!(
            client_address(proxy, &chain, &both).ip().to_string(),
            "203.0.113.9"
        );
    }

    #[test]
    fn the_default_cap_leaves_descriptors_for_the_database() {
        let limits = ConnectionLimits::from_environment();
        if let Some(limit) = open_file_limit() {
            assert!(
                limits.max_connections as u64 <= limit.saturating_sub(RESERVED_DESCRIPTORS).max(16)
            );
        }
        assert!(limits.max_per_address < limits.max_connections);
    }
}

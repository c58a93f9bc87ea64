//! A fault-injecting HTTP/1.1 proxy for the sync scenarios: it sits on a
//! random 127.0.0.1 port between the phones and the real server, forwards
//! each request and hands the response back — or, when armed by the test,
//! loses it *after* the server has processed the request (the mobile-network
//! failure the sync protocol must survive: the server applied a push, the
//! phone never heard back), or cuts it after a number of bytes. Requests
//! can be lost before the server, truncated on the way, sent twice, delayed,
//! or answered by a connection reset; [`Proxy::random`] draws such faults
//! from a seeded generator for every request the plan does not cover.
//!
//! One request per connection: every request goes upstream with
//! `Connection: close`, so the server closes after its response and the
//! proxy reads that response to the end (Content-Length or chunked alike),
//! and every response comes back with `Connection: close` too, so the client
//! never reuses a connection. Request bodies may have a Content-Length or be
//! chunked (relayed as they are). Std threads and sockets only.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Longest request or response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// How long a socket may stay silent before the exchange is abandoned (the
/// sync client's own timeout is 120 s).
const IO_TIMEOUT: Duration = Duration::from_secs(120);

/// What happens to the response of one forwarded request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Returned to the client unchanged (but for `Connection: close`).
    Pass,
    /// Read in full from the server, then the client connection is closed
    /// without a byte written: the server did the work, the client sees the
    /// connection drop.
    Drop,
    /// Only the first `n` bytes (head included) reach the client, then the
    /// connection is closed.
    Cut(usize),
    /// The request never reaches the server; the client connection closes.
    DropRequest,
    /// Only the first `n` bytes of the request body reach the server, which
    /// then sees the connection end; the client connection closes.
    TruncateRequest(usize),
    /// The request reaches the server twice (a replay); the client gets the
    /// second response.
    Duplicate,
    /// The request waits this many milliseconds before it is forwarded.
    Delay(u64),
    /// The server processes the request; the client's connection is reset
    /// (RST) instead of answered.
    Reset,
}

impl Fault {
    /// The fault's kind, for counting (`pass`, `drop_response`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Pass => "pass",
            Fault::Drop => "drop_response",
            Fault::Cut(_) => "truncate_response",
            Fault::DropRequest => "drop_request",
            Fault::TruncateRequest(_) => "truncate_request",
            Fault::Duplicate => "duplicate_request",
            Fault::Delay(_) => "delay",
            Fault::Reset => "reset",
        }
    }
}

/// One request the proxy handled, in arrival order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// Request method, e.g. `POST`.
    pub method: String,
    /// Request target, e.g. `/v1/sync`.
    pub path: String,
    /// Request body bytes (as sent, i.e. compressed when the client
    /// compresses).
    pub request_body: usize,
    /// The server's status code; `None` when the server could not be reached
    /// or answered something unreadable (the client then got a 502).
    pub status: Option<u16>,
    /// Bytes of the server's whole response (head and body).
    pub response_bytes: usize,
    /// What was done with the response.
    pub fault: Fault,
}

#[derive(Default)]
struct State {
    /// Faults for the next requests, in order; `Pass` once empty.
    plan: VecDeque<Fault>,
    /// Random faults for requests the plan does not cover: the generator
    /// and the share of requests that get one.
    random: Option<(rand_chacha::ChaCha8Rng, f64)>,
    /// Every exchange so far.
    log: Vec<Exchange>,
}

impl State {
    /// The fault for the next request: the plan's, else a random one.
    fn next_fault(&mut self) -> Fault {
        if let Some(fault) = self.plan.pop_front() {
            return fault;
        }
        let Some((rng, rate)) = self.random.as_mut() else {
            return Fault::Pass;
        };
        use rand::RngExt;
        if !rng.random_bool(*rate) {
            return Fault::Pass;
        }
        match rng.random_range(0..7) {
            0 => Fault::Drop,
            1 => Fault::Cut(rng.random_range(0..600)),
            2 => Fault::DropRequest,
            3 => Fault::TruncateRequest(rng.random_range(0..200)),
            4 => Fault::Duplicate,
            5 => Fault::Delay(rng.random_range(1..200)),
            _ => Fault::Reset,
        }
    }
}

/// A running proxy; stopped when dropped.
pub struct Proxy {
    /// Base URL to give the clients, e.g. `http://127.0.0.1:41235`.
    pub url: String,
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listen on a random 127.0.0.1 port and forward to `upstream`, a base
    /// URL such as `http://127.0.0.1:41234` (plain http only).
    pub fn start(upstream: &str) -> Proxy {
        let authority = upstream
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("proxy upstream must be http://…, got {upstream}"))
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = conn else { continue };
                    let state = Arc::clone(&state);
                    let authority = authority.clone();
                    std::thread::spawn(move || {
                        // A client that hangs up mid-request is its own business.
                        let _ = serve(client, &authority, &state);
                    });
                }
            })
        };
        Proxy {
            url: format!("http://{addr}"),
            addr,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// Queue faults for the next requests, one per request in arrival order
    /// (after any still queued); requests beyond the queue pass.
    pub fn plan(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().plan.extend(faults);
    }

    /// Give a random fault to a `rate` share of the requests the plan does
    /// not cover, drawn from a generator seeded with `seed` (`rate` 0 turns
    /// it off).
    pub fn random(&self, seed: u64, rate: f64) {
        use rand::SeedableRng;
        self.lock().random =
            (rate > 0.0).then(|| (rand_chacha::ChaCha8Rng::seed_from_u64(seed), rate));
    }

    /// How many exchanges got each kind of fault so far (`pass` included).
    pub fn fault_counts(&self) -> std::collections::BTreeMap<&'static str, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for exchange in &self.lock().log {
            *counts.entry(exchange.fault.kind()).or_insert(0) += 1;
        }
        counts
    }

    /// Lose the responses of the next `n` requests after the server has
    /// processed them.
    pub fn drop_next(&self, n: usize) {
        self.plan(std::iter::repeat_n(Fault::Drop, n));
    }

    /// Cut the response of the next request after `bytes` bytes.
    pub fn cut_next(&self, bytes: usize) {
        self.plan([Fault::Cut(bytes)]);
    }

    /// Every request handled so far, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.lock().log.clone()
    }

    /// How many requests were forwarded to the server.
    pub fn forwarded(&self) -> usize {
        self.lock().log.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Handle one client connection: one request, one (possibly faulty) response.
fn serve(client: TcpStream, authority: &str, state: &Mutex<State>) -> std::io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let Some((request_line, headers)) = read_head(&mut reader)? else {
        return Ok(());
    };
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let body = read_body(&mut reader, &headers)?;

    let mut upstream_request = format!("{request_line}\r\n").into_bytes();
    for (name, value) in &headers {
        if is_hop_by_hop(name) || name.eq_ignore_ascii_case("host") {
            continue;
        }
        upstream_request.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    upstream_request
        .extend_from_slice(format!("Host: {authority}\r\nConnection: close\r\n\r\n").as_bytes());
    upstream_request.extend_from_slice(&body);

    let fault = state.lock().unwrap_or_else(|e| e.into_inner()).next_fault();
    let head_len = upstream_request.len() - body.len();
    let response = match fault {
        Fault::DropRequest => Err(invalid("request dropped")),
        Fault::TruncateRequest(n) => {
            let cut = head_len + n.min(body.len().saturating_sub(1));
            forward_truncated(authority, &upstream_request[..cut])
        }
        Fault::Duplicate => {
            let _ = forward(authority, &upstream_request);
            forward(authority, &upstream_request)
        }
        Fault::Delay(ms) => {
            std::thread::sleep(Duration::from_millis(ms));
            forward(authority, &upstream_request)
        }
        _ => forward(authority, &upstream_request),
    };
    let status = response.as_ref().ok().and_then(|r| status_of(r));
    let response = match (response, status) {
        (Ok(bytes), Some(_)) => close_connection(&bytes),
        _ => b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    };
    // Logged before the client hears anything, so the test sees the exchange
    // as soon as the client returns.
    state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .log
        .push(Exchange {
            method,
            path,
            request_body: body.len(),
            status,
            response_bytes: response.len(),
            fault,
        });
    let mut client = client;
    match fault {
        Fault::Pass | Fault::Duplicate | Fault::Delay(_) => client.write_all(&response)?,
        Fault::Drop | Fault::DropRequest | Fault::TruncateRequest(_) => {}
        Fault::Cut(n) => client.write_all(&response[..n.min(response.len())])?,
        Fault::Reset => {
            // SO_LINGER 0: closing sends a reset instead of a FIN.
            socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO))?;
            drop(client);
            return Ok(());
        }
    }
    client.flush()?;
    client.shutdown(Shutdown::Both)
}

/// Send one request upstream and read the whole response (the server closes
/// the connection after it, as asked).
fn forward(authority: &str, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut upstream = TcpStream::connect(authority)?;
    upstream.set_read_timeout(Some(IO_TIMEOUT))?;
    upstream.set_write_timeout(Some(IO_TIMEOUT))?;
    upstream.write_all(request)?;
    upstream.flush()?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    Ok(response)
}

/// Send the first part of a request upstream, then end the connection's
/// sending side (the server sees the body end early), and read whatever it
/// answers.
fn forward_truncated(authority: &str, part: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut upstream = TcpStream::connect(authority)?;
    upstream.set_read_timeout(Some(IO_TIMEOUT))?;
    upstream.write_all(part)?;
    upstream.shutdown(Shutdown::Write)?;
    let mut response = Vec::new();
    let _ = upstream.read_to_end(&mut response);
    Ok(response)
}

/// Header fields as `(name, value)`, in order.
type Headers = Vec<(String, String)>;

/// Read a request head: the request line and the header fields, or `None`
/// when the client closed before sending anything.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<Option<(String, Headers)>> {
    let mut first = String::new();
    let mut total = 0;
    let mut headers = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = reader.read_until(b'\n', &mut line)?;
        total += n;
        if total > MAX_HEAD {
            return Err(invalid("request head too long"));
        }
        if n == 0 {
            if first.is_empty() {
                return Ok(None);
            }
            return Err(invalid("connection closed inside the request head"));
        }
        let line = String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_string();
        if first.is_empty() {
            if line.is_empty() {
                continue; // stray CRLF before the request line
            }
            first = line;
        } else if line.is_empty() {
            return Ok(Some((first, headers)));
        } else {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid("header line without a colon"))?;
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
}

/// Read the request body as sent: `Content-Length` bytes, or the raw chunks
/// of a chunked body up to and including its trailer.
fn read_body(reader: &mut impl BufRead, headers: &[(String, String)]) -> std::io::Result<Vec<u8>> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            let mut size_line = Vec::new();
            reader.read_until(b'\n', &mut size_line)?;
            body.extend_from_slice(&size_line);
            let text = String::from_utf8_lossy(&size_line);
            let size = text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16).map_err(|_| invalid("bad chunk size"))?;
            if size == 0 {
                // Trailer fields, then the final empty line.
                loop {
                    let mut line = Vec::new();
                    if reader.read_until(b'\n', &mut line)? == 0 {
                        return Err(invalid("connection closed inside the trailer"));
                    }
                    body.extend_from_slice(&line);
                    if line == b"\r\n" || line == b"\n" {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + size + 2, 0); // the chunk and its CRLF
            reader.read_exact(&mut body[start..])?;
        }
    }
    if let Some(length) = header("content-length") {
        let length: usize = length.parse().map_err(|_| invalid("bad Content-Length"))?;
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(body)
}

/// The status code of a raw response.
fn status_of(response: &[u8]) -> Option<u16> {
    let end = response.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&response[..end]).ok()?;
    let mut parts = line.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/1."))?;
    parts.next()?.parse().ok()
}

/// The response with its connection-management headers replaced by
/// `Connection: close` (the body, however framed, is left as it is).
fn close_connection(response: &[u8]) -> Vec<u8> {
    let Some(head_end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response.to_vec();
    };
    let head = String::from_utf8_lossy(&response[..head_end]);
    let mut lines = head.split("\r\n");
    let mut out = format!("{}\r\n", lines.next().unwrap_or_default());
    for line in lines {
        let name = line.split(':').next().unwrap_or_default().trim();
        if !is_hop_by_hop(name) {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&response[head_end + 4..]);
    bytes
}

/// Connection-management headers the proxy sets itself.
fn is_hop_by_hop(name: &str) -> bool {
    ["connection", "keep-alive", "proxy-connection"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_rewritten_to_close_the_connection() {
        let response = b"HTTP/1.1 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\nok";
        assert_eq!(status_of(response), Some(200));
        assert_eq!(
            close_connection(response),
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nConnection: close\r\n\r\nok".to_vec()
        );
        assert_eq!(status_of(b"garbage"), None);
    }

    #[test]
    fn bodies_are_read_by_length_or_chunks() {
        let mut raw: &[u8] = b"POST /v1/sync HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcNEXT";
        let (line, headers) = read_head(&mut raw).unwrap().unwrap();
        assert_eq!(line, "POST /v1/sync HTTP/1.1");
        assert_eq!(read_body(&mut raw, &headers).unwrap(), b"abc");
        assert_eq!(raw, b"NEXT");

        let chunked = b"3\r\nabc\r\n0\r\n\r\n";
        let mut raw: &[u8] = chunked;
        let headers = vec![("Transfer-Encoding".to_string(), "chunked".to_string())];
        assert_eq!(read_body(&mut raw, &headers).unwrap(), chunked.to_vec());
        assert!(raw.is_empty());
    }

    /// A stand-in server answering every request with `hello`, counting the
    /// requests (with their bodies) it received.
    fn upstream() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let mut conn = conn.unwrap();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let (_, headers) = read_head(&mut reader).unwrap().unwrap();
                assert!(headers
                    .iter()
                    .any(|(n, v)| n == "Connection" && v == "close"));
                // A truncated request ends early: nothing to answer.
                let Ok(body) = read_body(&mut reader, &headers) else {
                    continue;
                };
                log.lock().unwrap().push(body);
                conn.write_all(
                    b"HTTP/1.1 200 OK\r\nconnection: keep-alive\r\ncontent-length: 5\r\n\r\nhello",
                )
                .unwrap();
            }
        });
        (url, seen)
    }

    /// Send one request to the proxy and read whatever comes back.
    fn request(proxy: &Proxy, body: &str) -> Vec<u8> {
        let mut conn = TcpStream::connect(proxy.addr).unwrap();
        write!(
            conn,
            "POST /v1/sync HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = Vec::new();
        // A reset ends the read with an error: what came before is the answer.
        let _ = conn.read_to_end(&mut response);
        response
    }

    #[test]
    fn responses_pass_are_lost_or_cut_after_the_server_answered() {
        let (url, seen) = upstream();
        let proxy = Proxy::start(&url);
        proxy.plan([Fault::Pass]);
        proxy.drop_next(1);
        proxy.cut_next(9);
        let full = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nConnection: close\r\n\r\nhello";
        assert_eq!(request(&proxy, "one"), full.to_vec());
        assert_eq!(request(&proxy, "two"), b"", "lost");
        assert_eq!(request(&proxy, "three"), full[..9].to_vec(), "cut");
        assert_eq!(
            request(&proxy, "four"),
            full.to_vec(),
            "the plan is used up"
        );
        assert_eq!(
            *seen.lock().unwrap(),
            [&b"one"[..], b"two", b"three", b"four"],
            "the server got every request"
        );
        let log = proxy.exchanges();
        assert_eq!(proxy.forwarded(), 4);
        assert_eq!(
            log.iter().map(|e| e.fault).collect::<Vec<_>>(),
            [Fault::Pass, Fault::Drop, Fault::Cut(9), Fault::Pass]
        );
        assert!(log.iter().all(|e| e.status == Some(200)
            && e.method == "POST"
            && e.path == "/v1/sync"
            && e.response_bytes == full.len()));
        assert_eq!(log[2].request_body, 5);
    }

    #[test]
    fn requests_are_lost_replayed_delayed_or_reset() {
        let (url, seen) = upstream();
        let proxy = Proxy::start(&url);
        proxy.plan([
            Fault::DropRequest,
            Fault::Duplicate,
            Fault::Delay(20),
            Fault::Reset,
        ]);
        assert_eq!(request(&proxy, "lost"), b"", "never forwarded");
        assert!(request(&proxy, "twice").ends_with(b"hello"));
        assert!(request(&proxy, "late").ends_with(b"hello"));
        assert_eq!(request(&proxy, "reset"), b"");
        assert_eq!(
            *seen.lock().unwrap(),
            [&b"twice"[..], b"twice", b"late", b"reset"],
            "the lost request never reached the server, the replay twice"
        );
        let counts = proxy.fault_counts();
        assert_eq!(counts["drop_request"], 1);
        assert_eq!(counts["duplicate_request"], 1);
        assert_eq!(counts["delay"], 1);
        assert_eq!(counts["reset"], 1);
        proxy.random(7, 1.0);
        for _ in 0..20 {
            request(&proxy, "x");
        }
        let total: usize = proxy.fault_counts().values().sum();
        assert_eq!(total, 24);
        assert_eq!(
            proxy.fault_counts().get("pass"),
            None,
            "every request got a fault"
        );
    }
}

//! `bench --photo-link`: one photo uploaded over a weak mobile link (issue
//! 14 §6). The link is simulated in front of the real `gridwork-server`: a
//! rate (64 kbit/s by default) and a drop every N seconds of link time (20
//! s), which cuts whatever request or answer is in flight at that moment.
//! Link time runs `--time-scale` times faster than the wall clock (100 by
//! default; the phone's chunk sizing target is scaled with it), so a
//! 3 MB photo that takes ~7 minutes at 64 kbit/s is measured in seconds.
//!
//! The server keeps the part of a chunk that arrived before a drop, so the
//! simulation hands that part over when it cuts a request.
//!
//! Printed: the photo's size, the bytes on the wire (request and answer
//! heads and bodies, including the parts of cut exchanges that were sent)
//! as a ratio against the photo (target ≤ 1.1), the drops, the requests,
//! and how many times an upload restarted from zero (target 0).

use crate::bench::report::{self, Row};
use crate::bench::Res;
use gridwork_core::model::NewHazard;
use gridwork_core::sync::transport::{HttpRequest, HttpResponse};
use gridwork_core::sync::{HttpTransport, PhotoSyncOptions, SyncOptions, Transport};
use gridwork_core::{Error, Store};
use gridwork_tests::server::Server;
use std::sync::Mutex;
use std::time::Duration;

/// Target: bytes on the wire per byte of photo.
const WIRE_TARGET: f64 = 1.1;

/// Options of the photo-link benchmark.
#[derive(Clone, Debug)]
pub struct PhotoLinkOptions {
    /// Link rate, kbit/s.
    pub kbps: f64,
    /// Link time between drops, seconds.
    pub drop_every_s: f64,
    /// Size of the photo to send, bytes (approximately: it is a real JPEG).
    pub photo_bytes: usize,
    /// How much faster than the wall clock link time runs.
    pub time_scale: f64,
}

impl Default for PhotoLinkOptions {
    fn default() -> Self {
        PhotoLinkOptions {
            kbps: 64.0,
            drop_every_s: 20.0,
            photo_bytes: 3_000_000,
            time_scale: 100.0,
        }
    }
}

#[derive(Default)]
struct LinkState {
    /// Link seconds since the last drop.
    since_drop: f64,
    /// Bytes that crossed the link (both ways).
    wire: u64,
    drops: u32,
    requests: u32,
    /// Start of the last chunk the server accepted, and restarts from zero.
    last_accepted_start: u64,
    restarts: u32,
}

/// A link of `rate` bytes per link second that drops every `drop_every`
/// link seconds, in front of the real transport.
struct Link {
    inner: HttpTransport,
    rate: f64,
    drop_every: f64,
    scale: f64,
    state: Mutex<LinkState>,
}

/// Bytes of a request's head as HTTP/1.1 sends it.
fn request_head(request: &HttpRequest) -> usize {
    let path = request
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("/");
    let mut head = format!(
        "{} {path} HTTP/1.1\r\nhost: 203.0.113.10:443\r\n",
        request.method
    );
    head.push_str(&format!("authorization: Bearer {}\r\n", request.token));
    head.push_str("user-agent: gridwork/0.1.0\r\naccept: */*\r\n");
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !request.body.is_empty() {
        head.push_str(&format!("content-length: {}\r\n", request.body.len()));
    }
    head.len() + 2
}

/// Bytes of an answer's head (status line, content type and length, date).
fn response_head(response: &HttpResponse) -> usize {
    let mut head = format!(
        "HTTP/1.1 {} OK\r\ncontent-length: {}\r\ndate: Sat, 05 Dec 2026 10:00:00 GMT\r\n",
        response.status,
        response.body.len()
    );
    if let Some(t) = &response.content_type {
        head.push_str(&format!("content-type: {t}\r\n"));
    }
    if let Some(r) = &response.content_range {
        head.push_str(&format!("content-range: {r}\r\n"));
    }
    head.len() + 2
}

impl Link {
    /// Carry `bytes` over the link: Ok when they all crossed before the next
    /// drop, Err with how many did when the link dropped part way (they are
    /// counted).
    fn carry(&self, bytes: usize) -> Result<(), usize> {
        let mut state = self.state.lock().unwrap();
        let seconds = bytes as f64 / self.rate;
        if state.since_drop + seconds > self.drop_every {
            let sent = ((self.drop_every - state.since_drop) * self.rate).max(0.0);
            state.wire += sent as u64;
            state.drops += 1;
            state.since_drop = 0.0;
            drop(state);
            std::thread::sleep(Duration::from_secs_f64((sent / self.rate) / self.scale));
            return Err(sent as usize);
        }
        state.since_drop += seconds;
        state.wire += bytes as u64;
        drop(state);
        std::thread::sleep(Duration::from_secs_f64(seconds / self.scale));
        Ok(())
    }
}

impl Transport for Link {
    fn post(&self, url: &str, token: &str, body: Vec<u8>) -> gridwork_core::Result<Vec<u8>> {
        self.inner.post(url, token, body)
    }

    fn exchange(&self, request: HttpRequest) -> gridwork_core::Result<HttpResponse> {
        let dropped = || Error::Network("the simulated link dropped".into());
        self.state.lock().unwrap().requests += 1;
        let start = request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-range"))
            .and_then(|(_, v)| {
                v.strip_prefix("bytes ")?
                    .split('-')
                    .next()?
                    .parse::<u64>()
                    .ok()
            });
        let head = request_head(&request);
        if let Err(sent) = self.carry(head + request.body.len()) {
            // The server keeps the part of a chunk that arrived before the
            // drop: hand it over (off the simulated wire, where it was
            // already counted) as the server would have received it.
            let arrived = sent.saturating_sub(head).min(request.body.len());
            if let (Some(start), true) = (start, arrived > 0) {
                let _ = self.inner.exchange(prefix_of(&request, start, arrived));
            }
            return Err(dropped());
        }
        let response = self.inner.exchange(request)?;
        if self
            .carry(response_head(&response) + response.body.len())
            .is_err()
        {
            return Err(dropped());
        }
        if let (Some(start), 200) = (start, response.status) {
            let mut state = self.state.lock().unwrap();
            if start == 0 && state.last_accepted_start > 0 {
                state.restarts += 1;
            }
            state.last_accepted_start = start;
        }
        Ok(response)
    }
}

/// The first `arrived` body bytes of a chunk that starts at `start`, as a
/// chunk of their own (what the server keeps of a chunk cut by a drop).
fn prefix_of(request: &HttpRequest, start: u64, arrived: usize) -> HttpRequest {
    use base64::Engine;
    use sha2::Digest;
    let body = request.body[..arrived].to_vec();
    let total = request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-range"))
        .and_then(|(_, v)| v.rsplit('/').next())
        .unwrap_or("0")
        .to_string();
    let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&body));
    HttpRequest {
        method: request.method,
        url: request.url.clone(),
        token: request.token.clone(),
        headers: vec![
            (
                "Content-Range".into(),
                format!("bytes {start}-{}/{total}", start + arrived as u64 - 1),
            ),
            ("Content-Digest".into(), format!("sha-256=:{digest}:")),
        ],
        body,
    }
}

/// A real JPEG of about `bytes` bytes: noise (which JPEG cannot squeeze)
/// over a gradient, at quality 92, sized by a first trial.
fn photo_of_about(bytes: usize) -> Res<Vec<u8>> {
    let make = |w: u32, h: u32| -> Res<Vec<u8>> {
        let mut state = 0x9E37_79B9u32;
        let image = image::RgbImage::from_fn(w, h, |x, y| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let n = (state & 0x7f) as u8;
            image::Rgb([(x % 256) as u8 ^ n, (y % 256) as u8, n.wrapping_mul(2)])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92).encode_image(&image)?;
        Ok(out)
    };
    let trial = make(800, 600)?;
    let scale = (bytes as f64 / trial.len() as f64).sqrt();
    make(
        ((800.0 * scale) as u32).clamp(16, 4000),
        ((600.0 * scale) as u32).clamp(16, 3000),
    )
}

/// Run the benchmark against a fresh server in a temporary directory.
pub fn run(options: &PhotoLinkOptions) -> Res<()> {
    let dir = tempfile::Builder::new()
        .prefix("gridwork-photo-bench-")
        .tempdir()?;
    let mut server = Server::start(&dir.path().join("server"), &["--no-rate-limits"]);
    let result = run_with(dir.path(), &server, options);
    server.stop();
    result
}

fn run_with(dir: &std::path::Path, server: &Server, o: &PhotoLinkOptions) -> Res<()> {
    server.add_small_town();
    let token = server.add_gridworker("gw-photo", "G1");
    let url = server.url.clone();

    let store = Store::open(dir.join("phone.db"), None)?;
    store.init("gw-photo", "网格员", "G1")?;
    let jpeg = photo_of_about(o.photo_bytes)?;
    // Kept as taken (no downscale), so the upload is the size asked for.
    let photo = store.attach_photo(
        &jpeg,
        &gridwork_core::media::PhotoOptions {
            max_long_edge: 4000,
            jpeg_quality: 92,
            ..Default::default()
        },
    )?;
    store.report_hazard(NewHazard {
        category: "消防安全".into(),
        description: "弱网上传照片".into(),
        photos: vec![photo.id.clone()],
        ..Default::default()
    })?;
    let transport = HttpTransport::new()?;
    store.sync_with(&transport, &url, &token, &SyncOptions::default())?;

    let link = Link {
        inner: HttpTransport::new()?,
        rate: o.kbps * 1000.0 / 8.0,
        drop_every: o.drop_every_s,
        scale: o.time_scale,
        state: Mutex::default(),
    };
    let sync_options = PhotoSyncOptions {
        // Chunks aim at 2 s of link time each.
        target_chunk_ms: (PhotoSyncOptions::default().target_chunk_ms as f64 / o.time_scale)
            .max(1.0) as u64,
        retry_delay: Duration::from_millis(1),
        max_failures: 1000,
        ..Default::default()
    };
    let mut rounds = 0;
    let started = std::time::Instant::now();
    loop {
        let summary = store.upload_photos_with(&link, &url, &token, &sync_options)?;
        rounds += 1;
        if summary.pending == 0 || rounds >= 20 {
            break;
        }
    }
    let wall = started.elapsed();
    let state = link.state.lock().unwrap();
    let uploaded = store.attachment(&photo.id)?.map(|a| a.state);
    let ratio = state.wire as f64 / photo.size as f64;
    let link_seconds = state.wire as f64 / link.rate;
    let rows = [
        Row::info("photo size", report::bytes(photo.size)),
        Row::ratio(
            "bytes on the wire",
            report::bytes(state.wire),
            format!("{} (the photo)", report::bytes(photo.size)),
            ratio,
            Some(WIRE_TARGET),
        ),
        Row::limit(
            "restarts from zero",
            state.restarts.to_string(),
            String::new(),
            0.0,
            f64::from(state.restarts),
            0.0,
            "0",
        ),
    ];
    println!(
        "photo over a {} kbit/s link dropping every {} s (link time ×{} faster): {} drops, {} requests, {:.0} s of link time, {:.1} s wall, upload {:?}",
        o.kbps, o.drop_every_s, o.time_scale, state.drops, state.requests, link_seconds, wall.as_secs_f64(), uploaded
    );
    report::print_table(&rows);
    println!(
        "{}",
        serde_json::json!({
            "photo_bytes": photo.size,
            "wire_bytes": state.wire,
            "wire_ratio": ratio,
            "wire_target": WIRE_TARGET,
            "drops": state.drops,
            "requests": state.requests,
            "restarts_from_zero": state.restarts,
            "uploaded": uploaded == Some(gridwork_core::api::UploadState::Uploaded),
            "pass": ratio <= WIRE_TARGET && state.restarts == 0,
        })
    );
    Ok(())
}

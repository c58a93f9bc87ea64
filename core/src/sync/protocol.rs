//! The wire format of `POST /v1/sync`.
//!
//! A body is `b"GWS"`, a protocol version (u16, big endian) and a
//! compressed [postcard] encoding of [`SyncRequest`] or [`SyncResponse`]:
//! zstd from version 3 on (one frame, window up to [`ZSTD_WINDOW_LOG`]),
//! deflate in versions 1 and 2. The version sits outside the compressed part
//! so a peer can refuse an unknown version before decoding anything.
//!
//! Fast path, one round trip: the phone sends its feed cursor, the round it
//! last applied and, for each dirty doc, its heads and the changes since the
//! heads it shares with the server. The server applies, then answers with
//! what the phone lacks: for each pushed doc the changes since the phone's
//! heads, for each doc of the phone's scope changed since the cursor the
//! changes since the heads the server knows this device has (the whole doc
//! when it knows none), and a new cursor. Large catch-ups are paged (`more`).
//!
//! Slow path: when either side lacks the dependencies of what it received
//! (a restored server, a phone restored from a backup), the doc is listed in
//! `need_slow_path` and both sides exchange Automerge sync messages for it,
//! batched across docs, until neither has anything to send.
//!
//! Versions: a phone speaks [`PROTOCOL_VERSION`]; a server answers every
//! version from [`OLDEST_PROTOCOL_VERSION`] up, in the version it was asked
//! in ([`decode_request`], [`encode_response`]), so phones that were not
//! updated keep syncing. Version 2 added the request id echoed by the
//! response (an answer to another request is refused), the phone's worker,
//! grid and clock, the server's time, and reject reasons carried as text so
//! a newer server's reasons reach an older phone as `Unknown` instead of
//! failing the decode. Version 3 carries the messages of version 2,
//! compressed with zstd instead of deflate: a first sync is several MiB of
//! similar documents, which zstd's window spans whole (deflate sees 32 KiB
//! at a time) at a fraction of the CPU. Version 1 is in [`v1`].

pub mod v1;

use crate::{Error, Result};
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::{Deserialize, Serialize};
use std::io::BufReader;
use std::io::{Read, Write};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 3;
/// The newest version whose bodies are deflate-compressed.
const LAST_DEFLATE_VERSION: u16 = 2;
/// zstd level of version-3 bodies: matches across the whole body come from
/// the window, not from searching harder.
const ZSTD_LEVEL: i32 = 3;
/// Largest zstd window (log2 bytes) of a response, which a phone decodes:
/// 8 MiB spans a whole response page (at most 4 MiB of documents), and
/// bounds what the phone allocates for it.
pub const ZSTD_WINDOW_LOG: u32 = 23;
/// Largest zstd window (log2 bytes) of a request, which a server decodes
/// for many phones at once: 1 MiB (a day's pushes fit in it), so a decoder
/// costs the server at most [`REQUEST_WINDOW_BYTES`] beyond its output.
pub const REQUEST_WINDOW_LOG: u32 = 20;
/// The memory a server's decoder of one request may hold for its window.
pub const REQUEST_WINDOW_BYTES: usize = 1 << REQUEST_WINDOW_LOG;
/// The oldest protocol version a server still answers.
pub const OLDEST_PROTOCOL_VERSION: u16 = 1;
/// Magic prefix of every body.
pub const MAGIC: &[u8; 3] = b"GWS";
/// Largest compressed request body a server accepts (HTTP 413 above).
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;
/// Largest decompressed body either side decodes (guards against zip bombs).
pub const MAX_DECODED_BYTES: u64 = 128 * 1024 * 1024;
/// Largest decompressed *request* a server decodes: the phone's push budget
/// (4 MiB of changes) plus one large doc fit many times over.
pub const MAX_DECODED_REQUEST_BYTES: u64 = 48 * 1024 * 1024;
/// Most docs (pushes plus slow-path messages) in one request; a phone stops
/// adding pushes there and sends the rest in the next round trip.
pub const MAX_DOCS_PER_REQUEST: usize = 5_000;
/// Largest `changes` of one pushed doc, and of one slow-path message; a
/// larger push is refused as [`RejectReason::TooLarge`].
pub const MAX_PUSH_BYTES: usize = 8 * 1024 * 1024;
/// Most new Automerge changes one push may bring to a doc.
pub const MAX_CHANGES_PER_PUSH: usize = 50_000;
/// Most heads a pushed doc may claim (a doc has one per concurrent branch).
pub const MAX_HEADS: usize = 256;
/// Longest document id (`kind/uuid` is 45 characters).
pub const MAX_DOC_ID_CHARS: usize = 128;
/// Longest device id (an Automerge actor as hex).
pub const MAX_DEVICE_CHARS: usize = 64;
/// Media type of sync bodies.
pub const CONTENT_TYPE: &str = "application/x-gridwork-sync";

/// A change hash (Automerge's 32-byte sha-256).
pub type Hash = [u8; 32];

/// What the phone sends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// This device's id (its Automerge actor, hex). The server keeps what each
    /// device has per device, not per worker.
    pub device: String,
    /// The server this phone last synced with (empty on a new phone).
    pub server_id: String,
    /// Feed position the phone has applied everything up to.
    pub cursor: u64,
    /// The last response round the phone applied.
    pub acked_round: u64,
    /// Dirty docs: heads and changes since the heads shared with the server.
    pub pushes: Vec<DocPush>,
    /// Slow-path Automerge sync messages.
    pub sync_messages: Vec<DocMessage>,
    /// Random per request; the response echoes it (v2).
    pub request_id: u64,
    /// The worker this phone was initialised for; the server refuses the
    /// request when it is not the token's worker (v2; empty = not checked).
    pub worker: String,
    /// The phone's grid; must be in the token's scope (v2).
    pub grid: String,
    /// The phone's clock when the request was built (corrected by the
    /// offset learnt at its last sync), UTC ms (v2; 0 = unknown).
    pub clock: i64,
}

/// One dirty doc.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPush {
    /// Document id.
    pub id: String,
    /// The phone's heads for this doc.
    pub heads: Vec<Hash>,
    /// `save_after(shared heads)` — changes the server may lack.
    pub changes: Vec<u8>,
}

/// An Automerge sync message for one doc (slow path).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMessage {
    /// Document id.
    pub id: String,
    /// The encoded `automerge::sync::Message`; empty means "I have nothing
    /// more to say for this doc".
    pub message: Vec<u8>,
}

/// What the server answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The server's identity; a phone seeing a new one re-pushes everything.
    pub server_id: String,
    /// This response's round; the phone echoes it as `acked_round` once applied.
    pub round: u64,
    /// The new feed cursor.
    pub cursor: u64,
    /// More feed entries wait: sync again (same round trip budget applies).
    pub more: bool,
    /// Docs the phone lacks changes of, and acknowledgements of pushed docs.
    pub docs: Vec<DocPull>,
    /// Pushed docs refused, with nothing applied.
    pub rejected: Vec<Rejection>,
    /// Docs whose pushed changes lack dependencies here: use the slow path.
    pub need_slow_path: Vec<String>,
    /// Slow-path replies.
    pub sync_messages: Vec<DocMessage>,
    /// The request's `request_id` (v2).
    pub request_id: u64,
    /// The server's clock when it answered, UTC ms (v2; 0 = unknown).
    pub server_time: i64,
}

/// Changes of one doc for the phone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPull {
    /// Document id.
    pub id: String,
    /// The server's heads for the doc after this request; empty (with empty
    /// `data`) for a pushed doc of which the server has exactly the pushed heads.
    pub heads: Vec<Hash>,
    /// Changes the phone lacks (`save_after`), or the whole saved doc; may be
    /// empty when a push only needs acknowledging.
    pub data: Vec<u8>,
}

/// Why a pushed doc was refused. On the wire (v2) and in JSON it is its
/// [`code`](RejectReason::code) as text, so a reason added by a newer server
/// reaches an older phone as [`RejectReason::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// The doc belongs (or would belong) to a grid outside the worker's scope.
    OutOfScope,
    /// The worker may read but not write this doc (e.g. form templates).
    ReadOnly,
    /// The doc id or its content is not a Gridwork document.
    Malformed,
    /// The content does not match the doc: it names a household, grid or
    /// worker outside the pusher's scope or inconsistent with the doc's id
    /// (e.g. a visit log whose entries belong to another household).
    Inconsistent,
    /// The push carries changes made by another worker's or another
    /// device's Automerge actor.
    ForeignActor,
    /// The push is over a size limit (bytes, changes or heads of one doc;
    /// see [`MAX_PUSH_BYTES`], [`MAX_CHANGES_PER_PUSH`], [`MAX_HEADS`]).
    TooLarge,
    /// A reason this build does not know (sent by a newer server).
    Unknown,
}

impl RejectReason {
    /// Every known reason.
    pub const ALL: [RejectReason; 7] = [
        RejectReason::OutOfScope,
        RejectReason::ReadOnly,
        RejectReason::Malformed,
        RejectReason::Inconsistent,
        RejectReason::ForeignActor,
        RejectReason::TooLarge,
        RejectReason::Unknown,
    ];

    /// Stable code (the wire and JSON form).
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::OutOfScope => "OutOfScope",
            RejectReason::ReadOnly => "ReadOnly",
            RejectReason::Malformed => "Malformed",
            RejectReason::Inconsistent => "Inconsistent",
            RejectReason::ForeignActor => "ForeignActor",
            RejectReason::TooLarge => "TooLarge",
            RejectReason::Unknown => "Unknown",
        }
    }

    /// The reason of a code; unknown codes are [`RejectReason::Unknown`].
    pub fn parse(code: &str) -> RejectReason {
        RejectReason::ALL
            .into_iter()
            .find(|r| r.code() == code)
            .unwrap_or(RejectReason::Unknown)
    }
}

impl Serialize for RejectReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for RejectReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Ok(RejectReason::parse(&code))
    }
}

/// A refused doc.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Document id.
    pub id: String,
    /// Why.
    pub reason: RejectReason,
}

/// Encode a message as a sync body of the current version, with the
/// window of a request ([`REQUEST_WINDOW_LOG`]).
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>> {
    encode_with(message, PROTOCOL_VERSION, REQUEST_WINDOW_LOG)
}

/// The protocol version of a body, without decoding it.
pub fn version_of(body: &[u8]) -> Result<u16> {
    if body.len() < 5 || &body[..3] != MAGIC {
        return Err(Error::Protocol("not a Gridwork sync body".into()));
    }
    Ok(u16::from_be_bytes([body[3], body[4]]))
}

/// Decode a sync body of this protocol version.
pub fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T> {
    let version = version_of(body)?;
    if version != PROTOCOL_VERSION {
        return Err(Error::UnsupportedProtocol {
            found: version,
            supported: PROTOCOL_VERSION,
        });
    }
    decode_payload(body)
}

/// A reader of the decompressed payload after the 5-byte header, by the
/// version's compression; a zstd frame may use a window of at most
/// `2^window_log` bytes.
fn payload_reader<'b>(body: &'b [u8], window_log: u32) -> Result<Box<dyn Read + 'b>> {
    let version = version_of(body)?;
    let payload = &body[5..];
    if version <= LAST_DEFLATE_VERSION {
        return Ok(Box::new(DeflateDecoder::new(payload)));
    }
    let mut decoder = zstd::stream::read::Decoder::with_buffer(BufReader::new(payload))
        .map_err(|_| Error::Protocol("body is not valid zstd data".into()))?;
    decoder
        .window_log_max(window_log)
        .map_err(|_| Error::Protocol("body is not valid zstd data".into()))?;
    Ok(Box::new(decoder))
}

/// The error of a payload that does not decompress.
fn not_compressed() -> Error {
    Error::Protocol("body is not validly compressed / 同步数据无法解压".into())
}

/// Decompress (with a cap) the payload after the 5-byte header (a response,
/// or a request as a phone encodes it).
pub fn decompress_payload(body: &[u8]) -> Result<Vec<u8>> {
    let mut raw = Vec::new();
    payload_reader(body, ZSTD_WINDOW_LOG)?
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(|_| not_compressed())?;
    if raw.len() as u64 > MAX_DECODED_BYTES {
        return Err(Error::Protocol("body too large once decompressed".into()));
    }
    Ok(raw)
}

/// Decompress (with a cap) and decode the payload after the 5-byte header.
pub(crate) fn decode_payload<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T> {
    let raw = decompress_payload(body)?;
    postcard::from_bytes(&raw).map_err(|e| Error::Protocol(format!("decode: {e}")))
}

/// The decompressed size of a request body, counted without keeping it
/// (the server's memory budget is leased for it before the real decode);
/// more than [`MAX_DECODED_REQUEST_BYTES`] is an error.
pub fn inflated_len(body: &[u8]) -> Result<usize> {
    let counted = std::io::copy(
        &mut payload_reader(body, REQUEST_WINDOW_LOG)?.take(MAX_DECODED_REQUEST_BYTES + 1),
        &mut std::io::sink(),
    )
    .map_err(|_| not_compressed())?;
    if counted > MAX_DECODED_REQUEST_BYTES {
        return Err(Error::Protocol("body too large once decompressed".into()));
    }
    Ok(counted as usize)
}

/// Decompress exactly `len` bytes (as counted by [`inflated_len`]) into one
/// buffer of that size, and decode.
fn decode_payload_sized<T: for<'de> Deserialize<'de>>(body: &[u8], len: usize) -> Result<T> {
    let mut raw = Vec::with_capacity(len);
    payload_reader(body, REQUEST_WINDOW_LOG)?
        .take(len as u64)
        .read_to_end(&mut raw)
        .map_err(|_| not_compressed())?;
    postcard::from_bytes(&raw).map_err(|e| Error::Protocol(format!("decode: {e}")))
}

/// Encode `message` under an explicit protocol version header, compressed
/// as that version compresses (a response's window).
pub(crate) fn encode_as<T: Serialize>(message: &T, version: u16) -> Result<Vec<u8>> {
    encode_with(message, version, ZSTD_WINDOW_LOG)
}

/// [`encode_as`] with a zstd window of at most `2^window_log` bytes.
fn encode_with<T: Serialize>(message: &T, version: u16, window_log: u32) -> Result<Vec<u8>> {
    let raw = postcard::to_stdvec(message).map_err(|e| Error::Protocol(format!("encode: {e}")))?;
    let mut out = Vec::with_capacity(raw.len() / 2 + 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_be_bytes());
    if version <= LAST_DEFLATE_VERSION {
        let mut encoder = DeflateEncoder::new(out, flate2::Compression::default());
        encoder.write_all(&raw)?;
        return Ok(encoder.finish()?);
    }
    let zstd_error = |e: std::io::Error| Error::Protocol(format!("zstd: {e}"));
    let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(zstd_error)?;
    // The window covers the whole body (up to the cap): matches reach back
    // to every earlier doc of the page.
    let window = (usize::BITS - raw.len().max(1).leading_zeros()).clamp(10, window_log);
    compressor
        .set_parameter(zstd::zstd_safe::CParameter::WindowLog(window))
        .map_err(zstd_error)?;
    compressor.include_contentsize(true).map_err(zstd_error)?;
    out.extend_from_slice(&compressor.compress(&raw).map_err(zstd_error)?);
    Ok(out)
}

/// A response of version 2 or later (the messages are the same; only the
/// compression differs), for tools that replay bodies recorded by an older
/// build.
pub fn decode_response(body: &[u8]) -> Result<SyncResponse> {
    match version_of(body)? {
        2..=PROTOCOL_VERSION => decode_payload(body),
        found => Err(Error::UnsupportedProtocol {
            found,
            supported: PROTOCOL_VERSION,
        }),
    }
}

/// The server's decode: a request of any version it answers, as the current
/// [`SyncRequest`] (fields a version lacks are empty), with that version.
/// Inflates at most [`MAX_DECODED_REQUEST_BYTES`].
pub fn decode_request(body: &[u8]) -> Result<(SyncRequest, u16)> {
    let len = inflated_len(body)?;
    decode_request_sized(body, len)
}

/// [`decode_request`] of a body whose decompressed size `len` was counted
/// by [`inflated_len`]: the inflated buffer is allocated once, at that size.
pub fn decode_request_sized(body: &[u8], len: usize) -> Result<(SyncRequest, u16)> {
    match version_of(body)? {
        // Versions 2 and 3 carry the same messages, compressed differently.
        version @ (2 | PROTOCOL_VERSION) => Ok((decode_payload_sized(body, len)?, version)),
        1 => Ok((
            decode_payload_sized::<v1::SyncRequest>(body, len)?.into(),
            1,
        )),
        found => Err(Error::UnsupportedProtocol {
            found,
            supported: PROTOCOL_VERSION,
        }),
    }
}

/// The server's encode: `response` in the protocol version of the request.
pub fn encode_response(response: &SyncResponse, version: u16) -> Result<Vec<u8>> {
    match version {
        1 => encode_as(&v1::SyncResponse::from(response.clone()), 1),
        2 => encode_as(response, 2),
        _ => encode_as(response, PROTOCOL_VERSION),
    }
}

/// Heads as wire hashes.
pub fn to_hashes(heads: &[automerge::ChangeHash]) -> Vec<Hash> {
    heads.iter().map(|h| h.0).collect()
}

/// Wire hashes as heads.
pub fn from_hashes(hashes: &[Hash]) -> Vec<automerge::ChangeHash> {
    hashes.iter().map(|h| automerge::ChangeHash(*h)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_checks() {
        let request = SyncRequest {
            device: "ab".into(),
            cursor: 7,
            pushes: vec![DocPush {
                id: "case/x".into(),
                heads: vec![[1; 32]],
                changes: vec![1, 2, 3],
            }],
            ..Default::default()
        };
        let body = encode(&request).unwrap();
        assert_eq!(version_of(&body).unwrap(), PROTOCOL_VERSION);
        assert_eq!(decode::<SyncRequest>(&body).unwrap(), request);
        let mut future = body.clone();
        future[4] = 99;
        assert!(matches!(
            decode::<SyncRequest>(&future),
            Err(Error::UnsupportedProtocol { found: 99, .. })
        ));
        assert!(matches!(
            decode::<SyncRequest>(b"GWS\0\x03garbage"),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            decode::<SyncRequest>(b"hello"),
            Err(Error::Protocol(_))
        ));
    }

    /// A phone of version 2 (deflate) is still answered, in version 2.
    #[test]
    fn a_version_2_request_is_answered_in_version_2_with_deflate() {
        let request = SyncRequest {
            device: "cd".into(),
            worker: "gw-1".into(),
            cursor: 5,
            ..Default::default()
        };
        let body = encode_as(&request, 2).unwrap();
        let mut raw = Vec::new();
        DeflateDecoder::new(&body[5..])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(postcard::from_bytes::<SyncRequest>(&raw).unwrap(), request);
        let (decoded, version) = decode_request(&body).unwrap();
        assert_eq!((decoded, version), (request, 2));
        let response = SyncResponse {
            round: 9,
            request_id: 3,
            ..Default::default()
        };
        let reply = encode_response(&response, 2).unwrap();
        assert_eq!(version_of(&reply).unwrap(), 2);
        let mut raw = Vec::new();
        DeflateDecoder::new(&reply[5..])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(
            postcard::from_bytes::<SyncResponse>(&raw).unwrap(),
            response
        );
    }

    /// Version 3's zstd window spans the body: documents that repeat each
    /// other more than deflate's 32 KiB apart still compress against each
    /// other (a first sync is thousands of similar docs).
    #[test]
    fn version_3_matches_across_the_whole_body() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let doc: Vec<u8> = (0..48 * 1024)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let response = SyncResponse {
            docs: (0..8)
                .map(|i| DocPull {
                    id: format!("household/{i}"),
                    heads: vec![[i as u8; 32]],
                    data: doc.clone(),
                })
                .collect(),
            ..Default::default()
        };
        let zstd = encode_response(&response, PROTOCOL_VERSION).unwrap();
        let deflate = encode_response(&response, 2).unwrap();
        assert_eq!(decode::<SyncResponse>(&zstd).unwrap(), response);
        assert!(
            zstd.len() * 4 < deflate.len(),
            "zstd {} bytes, deflate {} bytes",
            zstd.len(),
            deflate.len()
        );
    }

    /// A version-3 body is decompressed under the same caps as deflate, and
    /// one that needs a window over [`ZSTD_WINDOW_LOG`] is refused.
    #[test]
    fn version_3_bodies_are_capped() {
        let header = |v: u16| {
            let mut b = MAGIC.to_vec();
            b.extend_from_slice(&v.to_be_bytes());
            b
        };
        // 64 MiB of zeros: a tiny body, over the request cap once inflated.
        let zeros = vec![0u8; (MAX_DECODED_REQUEST_BYTES + 1024) as usize];
        let mut bomb = header(PROTOCOL_VERSION);
        bomb.extend_from_slice(&zstd::bulk::compress(&zeros, 3).unwrap());
        assert!(bomb.len() < 64 * 1024);
        assert!(matches!(inflated_len(&bomb), Err(Error::Protocol(_))));
        assert!(matches!(decode_request(&bomb), Err(Error::Protocol(_))));
        // A frame that declares a 16 MiB window.
        let mut wide = zstd::bulk::Compressor::new(1).unwrap();
        wide.set_parameter(zstd::zstd_safe::CParameter::WindowLog(24))
            .unwrap();
        wide.include_contentsize(false).unwrap();
        let mut big = header(PROTOCOL_VERSION);
        big.extend_from_slice(&wide.compress(&vec![7u8; 20 << 20]).unwrap());
        assert!(matches!(decompress_payload(&big), Err(Error::Protocol(_))));
        // A request must fit the server's smaller window: a response-sized
        // window is refused there, and a phone's own requests fit.
        let wide_request = encode_as(
            &SyncRequest {
                pushes: vec![DocPush {
                    id: "household/x".into(),
                    heads: Vec::new(),
                    changes: vec![3; 4 << 20],
                }],
                ..Default::default()
            },
            PROTOCOL_VERSION,
        )
        .unwrap();
        assert!(matches!(
            decode_request(&wide_request),
            Err(Error::Protocol(_))
        ));
        let phone_request = encode(&SyncRequest {
            pushes: vec![DocPush {
                id: "household/x".into(),
                heads: Vec::new(),
                changes: vec![3; 4 << 20],
            }],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(decode_request(&phone_request).unwrap().0.pushes.len(), 1);
        assert!(matches!(
            decode::<SyncResponse>(b"GWS\0\x03\x28\xb5\x2f\xfd garbage"),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn a_version_1_request_is_answered_in_version_1() {
        let old = v1::SyncRequest {
            device: "ab".into(),
            cursor: 3,
            pushes: vec![DocPush {
                id: "household/x".into(),
                heads: vec![[2; 32]],
                changes: vec![9],
            }],
            ..Default::default()
        };
        let body = encode_as(&old, 1).unwrap();
        let (request, version) = decode_request(&body).unwrap();
        assert_eq!(version, 1);
        assert_eq!(request.cursor, 3);
        assert_eq!(request.pushes, old.pushes);
        assert!(request.worker.is_empty(), "v1 carries no worker to check");
        let response = SyncResponse {
            server_id: "s".into(),
            round: 4,
            rejected: vec![
                Rejection {
                    id: "case/a".into(),
                    reason: RejectReason::ForeignActor,
                },
                Rejection {
                    id: "case/b".into(),
                    reason: RejectReason::ReadOnly,
                },
            ],
            request_id: 7,
            server_time: 11,
            ..Default::default()
        };
        let reply = encode_response(&response, version).unwrap();
        assert_eq!(version_of(&reply).unwrap(), 1);
        let seen: v1::SyncResponse = decode_payload(&reply).unwrap();
        assert_eq!(seen.round, 4);
        assert_eq!(
            seen.rejected.iter().map(|r| r.reason).collect::<Vec<_>>(),
            [v1::RejectReason::OutOfScope, v1::RejectReason::ReadOnly],
            "reasons v1 does not know map to the nearest one it does"
        );
        let current = encode_response(&response, PROTOCOL_VERSION).unwrap();
        assert_eq!(decode::<SyncResponse>(&current).unwrap(), response);
    }

    #[test]
    fn reject_reasons_travel_as_text_and_unknown_ones_survive() {
        for reason in RejectReason::ALL {
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.code()));
            assert_eq!(serde_json::from_str::<RejectReason>(&json).unwrap(), reason);
        }
        let from_newer: RejectReason = serde_json::from_str("\"QuotaExceeded\"").unwrap();
        assert_eq!(from_newer, RejectReason::Unknown);
    }
}

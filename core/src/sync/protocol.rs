//! The wire format of `POST /v1/sync`.
//!
//! A body is `b"GWS"`, a protocol version (u16, big endian) and a
//! deflate-compressed [postcard] encoding of [`SyncRequest`] or
//! [`SyncResponse`]. The version sits outside the compressed part so a peer
//! can refuse an unknown version before decoding anything.
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
//! failing the decode. Version 1 is in [`v1`].

pub mod v1;

use crate::{Error, Result};
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 2;
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

/// Encode a message as a sync body of the current version.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>> {
    encode_as(message, PROTOCOL_VERSION)
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

/// Inflate (with a cap) and decode the payload after the 5-byte header.
pub(crate) fn decode_payload<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T> {
    let mut raw = Vec::new();
    DeflateDecoder::new(&body[5..])
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(|_| Error::Protocol("body is not valid deflate data".into()))?;
    if raw.len() as u64 > MAX_DECODED_BYTES {
        return Err(Error::Protocol("body too large once decompressed".into()));
    }
    postcard::from_bytes(&raw).map_err(|e| Error::Protocol(format!("decode: {e}")))
}

/// The decompressed size of a request body, counted without keeping it
/// (the server's memory budget is leased for it before the real decode);
/// more than [`MAX_DECODED_REQUEST_BYTES`] is an error.
pub fn inflated_len(body: &[u8]) -> Result<usize> {
    version_of(body)?;
    let counted = std::io::copy(
        &mut DeflateDecoder::new(&body[5..]).take(MAX_DECODED_REQUEST_BYTES + 1),
        &mut std::io::sink(),
    )
    .map_err(|_| Error::Protocol("body is not valid deflate data".into()))?;
    if counted > MAX_DECODED_REQUEST_BYTES {
        return Err(Error::Protocol("body too large once decompressed".into()));
    }
    Ok(counted as usize)
}

/// Inflate exactly `len` bytes (as counted by [`inflated_len`]) into one
/// buffer of that size, and decode.
fn decode_payload_sized<T: for<'de> Deserialize<'de>>(body: &[u8], len: usize) -> Result<T> {
    let mut raw = Vec::with_capacity(len);
    DeflateDecoder::new(&body[5..])
        .take(len as u64)
        .read_to_end(&mut raw)
        .map_err(|_| Error::Protocol("body is not valid deflate data".into()))?;
    postcard::from_bytes(&raw).map_err(|e| Error::Protocol(format!("decode: {e}")))
}

/// Encode `message` under an explicit protocol version header.
pub(crate) fn encode_as<T: Serialize>(message: &T, version: u16) -> Result<Vec<u8>> {
    let raw = postcard::to_stdvec(message).map_err(|e| Error::Protocol(format!("encode: {e}")))?;
    let mut out = Vec::with_capacity(raw.len() / 2 + 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_be_bytes());
    let mut encoder = DeflateEncoder::new(out, flate2::Compression::default());
    encoder.write_all(&raw)?;
    Ok(encoder.finish()?)
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
        PROTOCOL_VERSION => Ok((decode_payload_sized(body, len)?, PROTOCOL_VERSION)),
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
            decode::<SyncRequest>(b"GWS\0\x02garbage"),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            decode::<SyncRequest>(b"hello"),
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

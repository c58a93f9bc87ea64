//! Protocol version 1, as phones of the first release speak it. A server
//! decodes these requests into the current [`super::SyncRequest`] and
//! answers in this shape, so an old phone keeps syncing with a newer server.
//! Frozen: never change these types (postcard is positional; a change would
//! break every phone still on version 1).

use super::{DocMessage, DocPull, DocPush};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Encode a message as a version-1 body (what an old phone or server sends).
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>> {
    super::encode_as(message, 1)
}

/// Decode a version-1 body.
pub fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T> {
    match super::version_of(body)? {
        1 => super::decode_payload(body),
        found => Err(Error::UnsupportedProtocol {
            found,
            supported: 1,
        }),
    }
}

/// A version-1 request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Device id (its Automerge actor, hex).
    pub device: String,
    /// The server it last synced with.
    pub server_id: String,
    /// Feed cursor.
    pub cursor: u64,
    /// Last applied round.
    pub acked_round: u64,
    /// Dirty docs.
    pub pushes: Vec<DocPush>,
    /// Slow-path messages.
    pub sync_messages: Vec<DocMessage>,
}

/// A version-1 response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Server identity.
    pub server_id: String,
    /// This response's round.
    pub round: u64,
    /// New feed cursor.
    pub cursor: u64,
    /// More pages wait.
    pub more: bool,
    /// Docs for the phone.
    pub docs: Vec<DocPull>,
    /// Refused pushes.
    pub rejected: Vec<Rejection>,
    /// Docs to reconcile by the slow path.
    pub need_slow_path: Vec<String>,
    /// Slow-path replies.
    pub sync_messages: Vec<DocMessage>,
}

/// A version-1 refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Document id.
    pub id: String,
    /// Why.
    pub reason: RejectReason,
}

/// The three reasons version 1 knows (encoded by variant index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectReason {
    /// Out of the worker's scope.
    OutOfScope,
    /// Read-only doc.
    ReadOnly,
    /// Not a Gridwork document.
    Malformed,
}

impl From<SyncRequest> for super::SyncRequest {
    fn from(r: SyncRequest) -> Self {
        super::SyncRequest {
            device: r.device,
            server_id: r.server_id,
            cursor: r.cursor,
            acked_round: r.acked_round,
            pushes: r.pushes,
            sync_messages: r.sync_messages,
            ..Default::default()
        }
    }
}

impl From<super::RejectReason> for RejectReason {
    /// Reasons added after version 1 map to the nearest one it knows: a
    /// doc whose content or author is refused is, to an old phone, out of
    /// its scope.
    fn from(r: super::RejectReason) -> Self {
        use super::RejectReason as Now;
        match r {
            Now::ReadOnly => RejectReason::ReadOnly,
            Now::Malformed | Now::TooLarge | Now::Unknown => RejectReason::Malformed,
            Now::OutOfScope | Now::Inconsistent | Now::ForeignActor => RejectReason::OutOfScope,
        }
    }
}

impl From<super::SyncResponse> for SyncResponse {
    fn from(r: super::SyncResponse) -> Self {
        SyncResponse {
            server_id: r.server_id,
            round: r.round,
            cursor: r.cursor,
            more: r.more,
            docs: r.docs,
            rejected: r
                .rejected
                .into_iter()
                .map(|x| Rejection {
                    id: x.id,
                    reason: x.reason.into(),
                })
                .collect(),
            need_slow_path: r.need_slow_path,
            sync_messages: r.sync_messages,
        }
    }
}

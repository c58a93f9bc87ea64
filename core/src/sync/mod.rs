//! Sync: the wire protocol shared with the server ([`protocol`]), the
//! transport trait ([`transport`]) and the phone's sync client ([`client`]).
//! See `protocol.rs` for the exchange.

pub mod client;
mod offset;
pub mod photos;
pub mod protocol;
pub mod transport;
pub mod wait;

pub use client::{SyncOptions, SyncProgress, SyncSummary};
pub use photos::{PhotoSyncOptions, PhotoSyncSummary};
#[cfg(feature = "http")]
pub use transport::HttpTransport;
pub use transport::{HttpRequest, HttpResponse, Transport};
pub use wait::WaitOptions;

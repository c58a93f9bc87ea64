//! # gridwork-server
//!
//! The server side of Gridwork: a sync peer that keeps the same documents as
//! the phones (its database is a core store, so documents are stored and
//! materialised by `gridwork-core`), plus accounts ([`accounts`]: grid tree,
//! workers, device tokens, staff passwords), the doc feed ([`feed`]), demo
//! seeding ([`demo`]), the admin commands ([`admin`]), the HTTP service
//! ([`serve`], [`sync`], [`blobs`] for photos, [`metrics`]) and the staff dashboard
//! ([`web`]); the PostgreSQL backend ([`pg`]). See
//! DESIGN §5 and `docs/ARCHITECTURE.md`.

#![warn(missing_docs)]

pub mod access_log;
pub mod accounts;
pub mod admin;
pub mod backend;
pub mod backup;
pub mod blobs;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod error;
pub mod feed;
pub mod feed_watch;
pub mod intake;
pub mod keys;
pub mod limits;
pub mod listener;
pub mod metrics;
pub mod pg;
pub mod publish;
pub mod serve;
pub mod state;
pub mod sync;
pub mod web;

pub use error::Error;
pub use state::AppState;

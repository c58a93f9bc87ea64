//! # gridwork-ffi
//!
//! The Gridwork core as seen from Kotlin (Android), Swift (iOS) and Python,
//! through UniFFI proc-macros. This crate only adapts types: every behaviour
//! lives in `gridwork-core`, so apps get exactly the core's validation,
//! storage, merging and sync.
//!
//! - [`types`]: the core's records and enums, declared for UniFFI (`remote`
//!   declarations of the core types, no copies), plus ids and timestamps as
//!   custom types (ids are strings, timestamps milliseconds since the epoch);
//! - [`error`]: [`ApiError`], the one small error enum apps handle;
//! - [`store`]: [`GridworkStore`], the store object (thread-safe, blocking
//!   calls; call them off the main thread);
//! - [`sync`]: sync as an async function with a progress listener (a
//!   foreign trait) and a cancel handle;
//! - [`photos`]: photos in (bytes) and out, the upload step and fetching
//!   another device's photo.
//!
//! Generate bindings with `bindings/generate.sh` (library mode, from the
//! built `cdylib`).

pub mod error;
pub mod photos;
pub mod store;
pub mod sync;
pub mod types;

pub use error::ApiError;
pub use store::GridworkStore;

uniffi::setup_scaffolding!();

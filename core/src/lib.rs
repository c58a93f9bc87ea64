//! # gridwork-core
//!
//! Everything a gridworker's phone does, with no UI and no network code:
//! the domain model ([`model`]), the replicated Automerge documents
//! ([`docs`]), the encrypted SQLite store with its read models ([`store`]),
//! form templates ([`forms`]), schedules ([`schedule`]), Excel import and
//! export ([`exchange`]), and
//! the public API —
//! one [`Store`] object — that the CLI, the mobile bindings and the sync
//! server build on. See `docs/ARCHITECTURE.md` at the repository root.

#![warn(missing_docs)]

pub mod api;
pub mod clock;
pub mod demo;
pub mod docs;
mod error;
pub mod exchange;
pub mod forms;
mod json;
pub mod media;
pub mod model;
pub mod schedule;
pub mod spreadsheet;
pub mod store;
pub mod sync;

pub use api::{
    CheckReport, Device, DueEntry, Figures, HouseholdQuery, HouseholdSummary, QuarantinedDoc,
    Store, StoreOptions, TemplateInfo,
};
pub use clock::{Clock, ManualClock, SkewedClock, SystemClock};
pub use docs::{Conflict, ConflictValue};
pub use error::{Error, FieldError, Result};
pub use store::DbKey;

//! Residents' intake (issue 16, ADR 21): the per-grid invitation links
//! ([`invites`]) and what residents file through them ([`requests`]) — a
//! request that becomes a `collected` case with the 30-minute clock
//! running from the server's receipt, a tracking link for it, and proposed
//! household contact changes that wait for the gridworker. The pages are
//! `crate::web::resident`; the admin commands `admin invite …`.

pub mod invites;
pub mod requests;

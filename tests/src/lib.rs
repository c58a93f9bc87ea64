//! Shared helpers for the end-to-end scenarios and the benchmark harness.

pub mod browser;
pub mod cli;
pub mod postgres;
pub mod proxy;
pub mod server;

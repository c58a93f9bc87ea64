//! The state every request handler shares: the open database, where it
//! lives, and the metrics.

use gridwork_core::store::Db;
use std::path::PathBuf;
use std::sync::Arc;

/// Shared by all handlers (cheap to clone). SQLite calls on `db` block:
/// run them in `tokio::task::spawn_blocking`.
#[derive(Clone)]
pub struct AppState {
    /// The server's database (a core store plus the server's tables).
    pub db: Arc<Db>,
    /// The data directory holding `gridwork.db`.
    pub data_dir: PathBuf,
    /// The sync metrics behind `GET /metrics` ([`crate::metrics`]); replace
    /// it before serving to require a scrape token.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Rate limits of sync and sign-in ([`crate::limits`]).
    pub limits: Arc<crate::limits::RateLimits>,
    /// Memory for sync requests being decoded ([`crate::sync::budget`]).
    pub budget: Arc<crate::sync::budget::MemoryBudget>,
}

impl AppState {
    /// State over an open database in `data_dir`.
    pub fn new(db: Db, data_dir: PathBuf) -> Self {
        AppState {
            db: Arc::new(db),
            data_dir,
            metrics: Arc::default(),
            limits: Arc::default(),
            budget: Arc::default(),
        }
    }
}

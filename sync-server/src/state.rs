//! The state every request handler shares: the storage backend, the data
//! directory, and the metrics.

use crate::backend::Backend;
use gridwork_core::store::Db;
use std::path::PathBuf;
use std::sync::Arc;

/// Shared by all handlers (cheap to clone). Storage calls block: run them
/// in `tokio::task::spawn_blocking`.
#[derive(Clone)]
pub struct AppState {
    /// The server's storage: SQLite (a core store plus the server's
    /// tables) or PostgreSQL.
    pub backend: Backend,
    /// The data directory holding `gridwork.db` (on PostgreSQL: the key and
    /// nothing else).
    pub data_dir: PathBuf,
    /// The sync metrics behind `GET /metrics` ([`crate::metrics`]); replace
    /// it before serving to require a scrape token.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Rate limits of sync and sign-in ([`crate::limits`]).
    pub limits: Arc<crate::limits::RateLimits>,
    /// Memory for sync requests being decoded ([`crate::sync::budget`]).
    pub budget: Arc<crate::sync::budget::MemoryBudget>,
    /// Photo and attachment bytes ([`crate::blobs`]): files under
    /// `data_dir/blobs` unless `serve --blob-dir` names another directory.
    pub blobs: Arc<dyn crate::blobs::BlobStore>,
    /// Wake-ups of `GET /v1/wait` ([`crate::feed_watch`]); writers call
    /// `poke` after their commit.
    pub feed_watch: Arc<crate::feed_watch::FeedWatch>,
    /// Waits held per device token ([`crate::sync::wait`]).
    pub wait_slots: Arc<crate::sync::wait::WaitSlots>,
}

impl AppState {
    /// State over an open database in `data_dir`.
    pub fn new(db: Db, data_dir: PathBuf) -> Self {
        Self::with_backend(Backend::Sqlite(Arc::new(db)), data_dir)
    }

    /// State over any backend.
    pub fn with_backend(backend: Backend, data_dir: PathBuf) -> Self {
        AppState {
            backend,
            blobs: Arc::new(crate::blobs::FileBlobStore::new(data_dir.join("blobs"))),
            data_dir,
            metrics: Arc::default(),
            limits: Arc::default(),
            budget: Arc::default(),
            feed_watch: Arc::default(),
            wait_slots: Arc::default(),
        }
    }
}

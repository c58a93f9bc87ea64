//! Where the server keeps its data: the embedded SQLite database of its data
//! directory (the default, one process) or a PostgreSQL database shared by
//! several stateless instances (`serve --database postgres://…`, issue 13).
//! Handlers reach storage through [`Backend`]: sync ([`Backend::sync`]),
//! the server's own tables ([`Backend::transaction`]) and the dashboard's
//! reads ([`Backend::read`]) run on both, in portable SQL. Only `admin
//! backup`/`restore` are SQLite's own (PostgreSQL has `pg_dump`).

use crate::accounts::{self, Account};
use crate::error::Error;
use crate::pg::store::PgStore;
use crate::sync::sqlite::SqliteTx;
use crate::sync::storage::SyncTx;
use gridwork_core::store::sql::SqlConn;
use gridwork_core::store::Db;
use std::sync::Arc;

/// The server's storage (cheap to clone). Every call blocks: run it in
/// `tokio::task::spawn_blocking`.
#[derive(Clone)]
pub enum Backend {
    /// `DATA_DIR/gridwork.db`.
    Sqlite(Arc<Db>),
    /// A PostgreSQL database, perhaps shared with other instances.
    Postgres(Arc<PgStore>),
}

impl Backend {
    /// Run `f` in one storage transaction of the sync engine and commit it
    /// (nothing is kept when `f` fails). On PostgreSQL `f` may run more
    /// than once, when a concurrent instance's transaction made PostgreSQL
    /// abort this one.
    pub fn sync<R>(
        &self,
        mut f: impl FnMut(&mut dyn SyncTx) -> Result<R, Error>,
    ) -> Result<R, Error> {
        match self {
            Backend::Sqlite(db) => {
                let mut failure = None;
                let result = db.write(|tx| {
                    let mut storage = SqliteTx::new(tx);
                    f(&mut storage).map_err(|e| {
                        failure = Some(e);
                        gridwork_core::Error::Cancelled
                    })
                });
                result.map_err(|e| failure.unwrap_or(Error::Core(e)))
            }
            Backend::Postgres(pg) => pg.edit(|storage| f(storage)),
        }
    }

    /// Run `f` in one transaction on the server's tables (portable SQL,
    /// [`SqlConn`]) and commit it; on PostgreSQL it may run more than once
    /// (see [`Backend::sync`]).
    pub fn transaction<R>(
        &self,
        mut f: impl FnMut(&dyn SqlConn) -> Result<R, Error>,
    ) -> Result<R, Error> {
        match self {
            Backend::Sqlite(db) => crate::db::write(db, |tx| f(tx.conn())),
            Backend::Postgres(pg) => pg.transaction(|tx| f(tx)),
        }
    }

    /// Run `f` on one consistent snapshot for reading (SQLite's reader
    /// connection; a read-only repeatable-read transaction on PostgreSQL).
    /// Nothing `f` does is kept.
    pub fn read<R>(&self, mut f: impl FnMut(&dyn SqlConn) -> Result<R, Error>) -> Result<R, Error> {
        match self {
            Backend::Sqlite(db) => crate::db::read(db, |conn| f(conn)),
            Backend::Postgres(pg) => pg.read(|tx| f(tx)),
        }
    }

    /// [`Backend::read`] for the dashboard's pages and exports: on
    /// PostgreSQL the read replica when one is configured
    /// ([`PgStore::read_reports`]), so staff reports do not load the
    /// database the phones sync with.
    pub fn read_reports<R>(
        &self,
        mut f: impl FnMut(&dyn SqlConn) -> Result<R, Error>,
    ) -> Result<R, Error> {
        match self {
            Backend::Sqlite(db) => crate::db::read(db, |conn| f(conn)),
            Backend::Postgres(pg) => pg.read_reports(|tx| f(tx)),
        }
    }

    /// The account a bearer token belongs to ([`accounts::authenticate`]).
    pub fn authenticate(&self, bearer: &str) -> Result<Account, Error> {
        match self {
            Backend::Sqlite(db) => accounts::authenticate(db, bearer),
            Backend::Postgres(pg) => pg.transaction(|tx| accounts::authenticate_in(tx, bearer)),
        }
    }

    /// True on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Backend::Postgres(_))
    }
}

//! The server's PostgreSQL database as a pool of connections, each with its
//! prepared statements, and transactions that are retried when PostgreSQL
//! gives up on them because of another instance's concurrent work.
//!
//! Several `gridwork-server` instances share one database. Each request runs
//! in one READ COMMITTED transaction; documents are locked row by row
//! (`SELECT … FOR UPDATE`) while they change, and the feed counter row is
//! locked from a transaction's first feed number to its commit, so numbers
//! become visible in order. Two transactions that lock a document and the
//! counter in opposite orders deadlock; PostgreSQL aborts one (`40P01`), as
//! it does a serialization failure (`40001`) or a second instance creating
//! the same document at the same moment (`23505`): the whole transaction is
//! then run again, which every sync step allows (they are idempotent).

use super::conn::{PgTx, Statements};
use crate::error::Error;
use gridwork_core::store::sql::SqlConn;
use gridwork_core::store::DocCache;
use postgres::Client;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How often a transaction is tried before its error is returned.
pub const ATTEMPTS: u32 = 8;

/// SQLSTATEs after which a transaction is run again: serialization
/// failure, deadlock, unique violation (two instances creating one row).
const RETRY_STATES: [&str; 3] = ["40001", "40P01", "23505"];

/// One pooled connection and its prepared statements.
struct Pooled {
    client: Client,
    statements: Statements,
}

/// Loaded documents an instance keeps between requests.
pub const DOC_CACHE: usize = 512;

/// The pool's connections: idle ones, and how many are open in all.
#[derive(Default)]
struct Pool {
    idle: Vec<Pooled>,
    open: usize,
}

/// A pool of at most `max` connections to the server's PostgreSQL
/// database; a request finding them all busy waits for one. Opening a
/// connection costs PostgreSQL a process and this side its prepared
/// statements, and more concurrent transactions than cores only contend.
pub struct PgStore {
    url: String,
    pool: Mutex<Pool>,
    available: Condvar,
    max: usize,
    /// Loaded docs and their latest changes; every use is checked against
    /// the heads stored in the database (another instance may have moved
    /// them), see [`super::sync_tx`].
    cache: Mutex<DocCache>,
    /// A read replica for the dashboard's reads ([`PgStore::read_reports`]).
    reports: Option<Box<PgStore>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    /// Close the pooled connections on a thread of their own: closing a
    /// synchronous client blocks on its runtime, which panics on a thread
    /// that drives async tasks (the server drops its state there when it
    /// shuts down).
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.pool.lock().unwrap_or_else(|e| e.into_inner()).idle);
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

impl PgStore {
    /// Connect to `url`, bring its schema up to date ([`super::migrate`])
    /// and open at most `max` connections (at least one) from now on.
    pub fn open(url: &str, max: usize) -> Result<PgStore, Error> {
        let mut client = super::connect(url)?;
        let before = super::migrate(&mut client)?;
        let store = PgStore::over(url, client, max);
        if before > 0 && before < super::REBUILD_AFTER {
            // A migration added a read model: fill it from the docs, as the
            // core does for SQLite ([`gridwork_core::store::migrations`]).
            let docs = store
                .transaction(|tx| Ok(gridwork_core::store::rebuild::rebuild_read_models(tx)?))?;
            tracing::info!(docs, "read models rebuilt after the upgrade");
        }
        Ok(store)
    }

    /// Connect to a read replica (a hot standby of the database) at `url`
    /// for [`PgStore::read_reports`]: nothing is migrated there, and a
    /// replica whose schema is not the version this build writes is
    /// refused (an error on field `read-database`; the URL is never
    /// repeated).
    pub fn open_replica(url: &str, max: usize) -> Result<PgStore, Error> {
        let mut client = super::connect(url)?;
        let found = super::schema_version(&mut client)?;
        if found != super::CURRENT_VERSION {
            return Err(Error::invalid(
                "read-database",
                format!(
                    "只读副本的数据库结构版本为 {found}，本服务需要 {} / the replica's schema is at version {found}, this server needs {}",
                    super::CURRENT_VERSION,
                    super::CURRENT_VERSION
                ),
            ));
        }
        Ok(PgStore::over(url, client, max))
    }

    /// Send the dashboard's reads ([`PgStore::read_reports`]) to `replica`.
    pub fn with_reports(mut self, replica: PgStore) -> PgStore {
        self.reports = Some(Box::new(replica));
        self
    }

    /// A pool over `url` holding `client` as its first connection.
    fn over(url: &str, client: Client, max: usize) -> PgStore {
        let store = PgStore {
            url: url.to_owned(),
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                open: 1,
            }),
            available: Condvar::new(),
            max: max.max(1),
            cache: Mutex::new(DocCache::new(DOC_CACHE)),
            reports: None,
        };
        store.give_back(Pooled {
            client,
            statements: Statements::new(),
        });
        store
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle connection, a new one while fewer than `max` are open, or
    /// the next one given back.
    fn take(&self) -> Result<Pooled, Error> {
        let mut pool = self.pool();
        loop {
            match pool.idle.pop() {
                Some(pooled) if !pooled.client.is_closed() => return Ok(pooled),
                Some(_closed) => pool.open -= 1,
                None if pool.open < self.max => {
                    pool.open += 1;
                    drop(pool);
                    return match super::connect(&self.url) {
                        Ok(client) => Ok(Pooled {
                            client,
                            statements: Statements::new(),
                        }),
                        Err(e) => {
                            self.pool().open -= 1;
                            self.available.notify_one();
                            Err(e)
                        }
                    };
                }
                None => pool = self.available.wait(pool).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }

    /// Give a connection back for the next request (a closed one is
    /// counted out).
    fn give_back(&self, pooled: Pooled) {
        let mut pool = self.pool();
        if pooled.client.is_closed() {
            pool.open -= 1;
        } else {
            pool.idle.push(pooled);
        }
        drop(pool);
        self.available.notify_one();
    }

    /// The instance's document cache.
    pub fn doc_cache(&self) -> &Mutex<DocCache> {
        &self.cache
    }

    /// Run `f` on a sync transaction ([`super::sync_tx::PgSyncTx`]: doc
    /// edits, feed numbers taken at commit) and commit; retried as
    /// [`PgStore::transaction`].
    pub fn edit<R>(
        &self,
        mut f: impl FnMut(&mut super::sync_tx::PgSyncTx<'_, '_>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        self.transaction(|tx| {
            let mut storage = super::sync_tx::PgSyncTx::new(tx, self.doc_cache());
            let out = f(&mut storage)?;
            storage.finish()?;
            Ok(out)
        })
    }

    /// Run `f` in one transaction and commit it; run it again (up to
    /// [`ATTEMPTS`] times) when PostgreSQL aborted it for a concurrent
    /// transaction's sake. `f` must be safe to run more than once.
    pub fn transaction<R>(
        &self,
        mut f: impl FnMut(&PgTx<'_>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut pooled = self.take()?;
            let result = run_once(&mut pooled, &mut f);
            self.give_back(pooled);
            match result {
                Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                    tracing::info!(attempt, error = %e, "PostgreSQL transaction retried");
                    std::thread::sleep(Duration::from_millis(2 << attempt.min(6)));
                }
                other => return other,
            }
        }
    }

    /// [`PgStore::read`] on the read replica when there is one
    /// (`serve --read-database`), else on the database: for the staff
    /// dashboard's pages and exports, which may lag the database by the
    /// replica's delay. Sign-in, sessions and the checks before a write
    /// read the database itself.
    pub fn read_reports<R>(
        &self,
        f: impl FnMut(&PgTx<'_>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        match &self.reports {
            Some(replica) => replica.read(f),
            None => self.read(f),
        }
    }

    /// Run `f` in a read-only transaction on one snapshot of the database
    /// (repeatable read: every query of a page sees the same state).
    pub fn read<R>(&self, mut f: impl FnMut(&PgTx<'_>) -> Result<R, Error>) -> Result<R, Error> {
        self.transaction(|tx| {
            tx.exec(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                &[],
            )?;
            f(tx)
        })
    }
}

/// Run `f` in a transaction on `pooled` and commit.
fn run_once<R>(
    pooled: &mut Pooled,
    f: &mut impl FnMut(&PgTx<'_>) -> Result<R, Error>,
) -> Result<R, Error> {
    let tx = pooled.client.transaction()?;
    let tx = PgTx::new(tx, &mut pooled.statements);
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

/// True for an error after which the transaction is worth running again.
pub fn is_transient(e: &Error) -> bool {
    let sqlstate = match e {
        Error::Postgres { sqlstate, .. } => sqlstate.as_deref(),
        Error::Core(gridwork_core::Error::Database { sqlstate, .. }) => sqlstate.as_deref(),
        _ => None,
    };
    sqlstate.is_some_and(|s| RETRY_STATES.contains(&s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwork_core::store::sql::SqlConn;

    #[test]
    fn a_full_pool_makes_requests_wait_instead_of_opening_more_connections() {
        let pg = gridwork_tests::postgres::TestPostgres::start();
        let url = pg.create_database("pool");
        let store = PgStore::open(&url, 2).unwrap();
        let most = Mutex::new(0i64);
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    store
                        .transaction(|tx| {
                            let open = tx
                                .value(
                                    "SELECT count(*) FROM pg_stat_activity
                                     WHERE datname = current_database()",
                                    &[],
                                )?
                                .unwrap()
                                .int()?;
                            let mut most = most.lock().unwrap();
                            *most = (*most).max(open);
                            drop(most);
                            std::thread::sleep(Duration::from_millis(100));
                            Ok(())
                        })
                        .unwrap();
                });
            }
        });
        let most = *most.lock().unwrap();
        assert!(
            (1..=2).contains(&most),
            "{most} connections were open at once"
        );
        assert_eq!(store.pool().open, 2);
    }
}

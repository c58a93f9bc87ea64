//! PostgreSQL backend of the server (issue 13): connecting to
//! `serve --database postgres://…`, bringing that database's schema up to
//! date, the portable SQL connection on a PostgreSQL transaction
//! ([`conn`]), the pool with retried transactions ([`store`]) and the sync
//! engine's storage on it ([`sync_tx`]).
//!
//! The schema is `sync-server/sql/pg/NNN_*.sql`: the first migration holds
//! every table and index of the server's SQLite database (the core store's
//! tables and the server's own) in PostgreSQL types, and
//! `tests/postgres_schema.rs` compares the two schemas so that neither can
//! change without the other. Migrations are numbered on their own (they do
//! not follow `PRAGMA user_version` or the SQLite `server_schema`); each runs
//! in one transaction with its row in `server_schema(version)`, under an
//! advisory lock so that two servers starting at once migrate one after the
//! other. A database written by a newer server is refused
//! ([`Error::SchemaTooNew`]).
//!
//! The client is `postgres`, the synchronous one: the server's storage code
//! is blocking and runs in `spawn_blocking`, as it does with SQLite.
//! Connections are plain TCP or Unix sockets (`NoTls`) for now.

pub mod conn;
pub mod copy;
pub mod store;
pub mod sync_tx;

use crate::error::Error;
use postgres::{Client, Config, NoTls};
use std::time::Duration;

/// The PostgreSQL migrations, in order; migration `i` takes the schema from
/// version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../sql/pg/001_initial.sql"),
    include_str!("../../sql/pg/002_photos.sql"),
    include_str!("../../sql/pg/003_assignees_handlers.sql"),
    include_str!("../../sql/pg/004_resident_requests.sql"),
    include_str!("../../sql/pg/005_case_photos.sql"),
];

/// A database migrated from a version below this one had a read model
/// added or changed (v5: cases' photos): its read models are rebuilt from
/// the docs after the upgrade.
pub const REBUILD_AFTER: i64 = 5;

/// The PostgreSQL schema version this build writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Key of the transaction-level advisory lock held by every migration step
/// (`pg_advisory_xact_lock`): ASCII "gridwork" read as a big-endian i64.
pub const MIGRATION_LOCK: i64 = 0x6772_6964_776f_726b;

/// How long [`connect`] waits for the server when the URL sets no
/// `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connect to `url` (`postgres://user[:password]@host[:port]/database?…` or
/// the `key=value` form), without TLS. Sets `application_name` to
/// `gridwork-server` and a connect timeout of
/// [`DEFAULT_CONNECT_TIMEOUT`] unless the URL sets them. A malformed URL is
/// [`Error::Invalid`] on field `database`; neither error repeats the URL
/// (it may hold a password).
pub fn connect(url: &str) -> Result<Client, Error> {
    let mut config: Config = url.parse().map_err(|_| {
        Error::invalid(
            "database",
            "数据库地址格式错误 / the --database URL is malformed (expected postgres://user@host:port/database)",
        )
    })?;
    if config.get_application_name().is_none() {
        config.application_name("gridwork-server");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    Ok(config.connect(NoTls)?)
}

/// Bring the schema up to [`CURRENT_VERSION`], one transaction per
/// migration, and return the version found before (0 for an empty
/// database). Running it again is a no-op. A database whose version is
/// newer than this build is refused with [`Error::SchemaTooNew`] and left
/// unchanged; a failing migration is rolled back whole, with the versions
/// before it kept.
pub fn migrate(client: &mut Client) -> Result<i64, Error> {
    // Held for the whole run (each step also takes it per transaction): a
    // second server starting at once waits until every step is done and
    // finds the schema current, rather than taking over half-way.
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = migrate_locked(client);
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    let before = result?;
    unlocked?;
    Ok(before)
}

fn migrate_locked(client: &mut Client) -> Result<i64, Error> {
    let mut before = None;
    loop {
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        let exists: bool = tx
            .query_one("SELECT to_regclass('server_schema') IS NOT NULL", &[])?
            .get(0);
        if !exists {
            tx.batch_execute("CREATE TABLE server_schema (version BIGINT NOT NULL)")?;
        }
        let found: i64 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM server_schema", &[])?
            .get(0);
        let first = *before.get_or_insert(found);
        if found > CURRENT_VERSION {
            return Err(Error::SchemaTooNew {
                found,
                supported: CURRENT_VERSION,
            });
        }
        if found == CURRENT_VERSION {
            tx.commit()?;
            return Ok(first);
        }
        tracing::info!(from = found, to = found + 1, "migrating PostgreSQL schema");
        tx.batch_execute(MIGRATIONS[found as usize])?;
        tx.execute(
            "INSERT INTO server_schema (version) VALUES ($1)",
            &[&(found + 1)],
        )?;
        tx.commit()?;
    }
}

/// The schema version of the database `client` is connected to (0 when it
/// has none).
pub fn schema_version(client: &mut Client) -> Result<i64, Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('server_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one("SELECT coalesce(max(version), 0) FROM server_schema", &[])?
        .get(0))
}

/// The SQLSTATE (when the server sent one) and a description of `e` fit
/// for logs and error messages: the client's category of failure and its
/// cause (an I/O error, a configuration problem); for an error sent by the
/// server its SQLSTATE, its message unless it is a data exception (class
/// 22) or an integrity violation (class 23), whose messages and details may
/// quote row values, and the schema, table, column, data type and
/// constraint it names. Never the server's `DETAIL` or `HINT`, nor the
/// connection string.
pub fn describe(e: &postgres::Error) -> (Option<String>, String) {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let mut text = if code.starts_with("22") || code.starts_with("23") {
            format!("SQLSTATE {code}")
        } else {
            format!("SQLSTATE {code}: {}", db.message())
        };
        for (label, name) in [
            ("schema", db.schema()),
            ("table", db.table()),
            ("column", db.column()),
            ("type", db.datatype()),
            ("constraint", db.constraint()),
        ] {
            if let Some(name) = name {
                text.push_str(&format!(", {label} {name}"));
            }
        }
        return (Some(code.to_owned()), text);
    }
    let mut text = e.to_string();
    if let Some(source) = std::error::Error::source(e) {
        text.push_str(&format!(": {source}"));
    }
    (None, text)
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        let (sqlstate, message) = describe(&e);
        Error::Postgres { sqlstate, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_url_is_invalid_and_not_repeated() {
        let err = connect("postgres://gw:s3cret@db.example:notaport/gridwork")
            .err()
            .expect("refused");
        assert!(matches!(&err, Error::Invalid { field, .. } if field == "database"));
        let text = err.to_string();
        assert!(
            !text.contains("s3cret") && !text.contains("db.example"),
            "{text}"
        );
    }

    #[test]
    fn a_refused_connection_names_neither_the_url_nor_the_password() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = connect(&format!(
            "postgres://gw:s3cret@127.0.0.1:{port}/gridwork?connect_timeout=5"
        ))
        .err()
        .expect("nothing listens there");
        let Error::Postgres { sqlstate, message } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(sqlstate, &None);
        let text = err.to_string();
        assert!(text.contains("PostgreSQL"), "{text}");
        assert!(
            !message.contains("s3cret") && !message.contains("gridwork"),
            "{message}"
        );
        assert_eq!(err.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn newer_schema_error_is_typed_and_bilingual() {
        let err = Error::SchemaTooNew {
            found: 9,
            supported: CURRENT_VERSION,
        };
        assert_eq!(err.code(), "schema_too_new");
        let text = err.to_string();
        assert!(text.contains("v9") && text.contains("数据库") && text.contains("newer"));
    }
}

//! The PostgreSQL schema (`sql/pg/`, `gridwork_server::pg`) against the
//! SQLite one, on a throwaway PostgreSQL (`gridwork_tests::postgres`):
//! migrations apply once, run again as no-ops (also from two connections at
//! once), refuse a database from a newer server, and leave exactly the
//! tables, columns (type, NOT NULL, default), primary keys, unique and
//! foreign keys and indexes of a fresh SQLite server database, so that the
//! two schemas cannot drift apart silently. CHECK constraints are not
//! compared.

use gridwork_server::{db, pg, Error};
use gridwork_tests::postgres::TestPostgres;
use std::collections::{BTreeMap, BTreeSet};

/// The columns whose values SQLite assigns as rowids on insert (INTEGER
/// PRIMARY KEY, inserted without it) and the code relies on: identity
/// columns in PostgreSQL. A new one must be added here and in `sql/pg/`.
const ROWID_KEYS: &[(&str, &str)] = &[("docs", "key"), ("access_log", "id")];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    /// PostgreSQL's name of the type (SQLite's declared type mapped).
    ty: String,
    /// Declared NOT NULL, or part of the primary key.
    not_null: bool,
    /// Has a DEFAULT clause.
    has_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ForeignKey {
    columns: Vec<String>,
    table: String,
    to: Vec<String>,
    on_delete: String,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    unique: BTreeSet<Vec<String>>,
    foreign_keys: BTreeSet<ForeignKey>,
}

#[derive(Debug, PartialEq, Eq)]
struct Index {
    table: String,
    columns: Vec<String>,
    unique: bool,
    partial: bool,
}

#[derive(Debug, Default)]
struct Schema {
    tables: BTreeMap<String, Table>,
    /// Indexes created by CREATE INDEX (not those of primary keys and
    /// UNIQUE constraints, compared per table).
    indexes: BTreeMap<String, Index>,
    /// (table, column) of the identity / rowid-assigned columns.
    identities: BTreeSet<(String, String)>,
}

fn sqlite_type(declared: &str) -> String {
    match declared {
        "INTEGER" => "bigint",
        "TEXT" => "text",
        "BLOB" => "bytea",
        "REAL" => "double precision",
        other => panic!("SQLite type {other} has no PostgreSQL counterpart in this test"),
    }
    .to_owned()
}

/// The schema of a fresh SQLite server database (`db::open`: the core's
/// migrations, then the server's).
fn sqlite_schema() -> Schema {
    let dir = tempfile::tempdir().unwrap();
    let database = db::open(dir.path()).unwrap();
    db::read(&database, |conn| {
        let mut schema = Schema::default();
        let tables: Vec<(String, String)> = conn
            .prepare(
                "SELECT name, sql FROM sqlite_master
                 WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (name, sql) in tables {
            let mut table = Table::default();
            let mut pk: Vec<(i64, String, String)> = Vec::new();
            let mut stmt = conn.prepare(
                "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk
                 FROM pragma_table_info(?1)",
            )?;
            let mut rows = stmt.query([&name])?;
            while let Some(r) = rows.next()? {
                let column: String = r.get(0)?;
                let declared: String = r.get(1)?;
                let key: i64 = r.get(4)?;
                if key > 0 {
                    pk.push((key, column.clone(), declared.clone()));
                }
                table.columns.insert(
                    column,
                    Column {
                        ty: sqlite_type(&declared),
                        not_null: r.get::<_, bool>(2)? || key > 0,
                        has_default: r.get(3)?,
                    },
                );
            }
            pk.sort();
            let rowid_alias = pk.len() == 1
                && pk[0].2 == "INTEGER"
                && !sql.to_uppercase().contains("WITHOUT ROWID");
            if rowid_alias && ROWID_KEYS.contains(&(name.as_str(), pk[0].1.as_str())) {
                schema.identities.insert((name.clone(), pk[0].1.clone()));
            }
            table.primary_key = pk.into_iter().map(|(_, c, _)| c).collect();
            let index_columns = |index: &str| -> rusqlite::Result<Vec<String>> {
                conn.prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")?
                    .query_map([index], |r| r.get(0))?
                    .collect()
            };
            let indexes: Vec<(String, bool, String, bool)> = conn
                .prepare("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1)")?
                .query_map([&name], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            for (index, unique, origin, partial) in indexes {
                match origin.as_str() {
                    "u" => {
                        table.unique.insert(index_columns(&index)?);
                    }
                    "c" => {
                        let columns = index_columns(&index)?;
                        schema.indexes.insert(
                            index,
                            Index {
                                table: name.clone(),
                                columns,
                                unique,
                                partial,
                            },
                        );
                    }
                    _ => {} // "pk": the primary key, compared above
                }
            }
            let mut fks: BTreeMap<i64, ForeignKey> = BTreeMap::new();
            let mut stmt = conn.prepare(
                "SELECT id, \"table\", \"from\", \"to\", on_delete
                 FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
            )?;
            let mut rows = stmt.query([&name])?;
            while let Some(r) = rows.next()? {
                let fk = fks.entry(r.get(0)?).or_insert_with(|| ForeignKey {
                    columns: vec![],
                    table: r.get(1).unwrap(),
                    to: vec![],
                    on_delete: r.get(4).unwrap(),
                });
                fk.columns.push(r.get(2)?);
                fk.to.push(
                    r.get::<_, Option<String>>(3)?.expect(
                        "a foreign key names the columns it references (the test needs them)",
                    ),
                );
            }
            table.foreign_keys = fks.into_values().collect();
            schema.tables.insert(name, table);
        }
        Ok(schema)
    })
    .unwrap()
}

fn on_delete(action: &str) -> String {
    match action {
        "a" => "NO ACTION",
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        other => panic!("unknown foreign key action {other}"),
    }
    .to_owned()
}

/// The schema of the `public` schema of the database `client` is on.
fn postgres_schema(client: &mut postgres::Client) -> Schema {
    let mut schema = Schema::default();
    for r in client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'NO',
                    column_default IS NOT NULL, is_identity = 'YES'
             FROM information_schema.columns WHERE table_schema = 'public'",
            &[],
        )
        .unwrap()
    {
        let (table, column): (String, String) = (r.get(0), r.get(1));
        if r.get::<_, bool>(5) {
            schema.identities.insert((table.clone(), column.clone()));
        }
        schema.tables.entry(table).or_default().columns.insert(
            column,
            Column {
                ty: r.get(2),
                not_null: r.get(3),
                has_default: r.get(4),
            },
        );
    }
    let names = |attrs: &str, rel: &str| {
        format!(
            "array(SELECT a.attname::text FROM unnest({attrs}) WITH ORDINALITY k(n, o)
                   JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.n ORDER BY k.o)"
        )
    };
    let constraints = format!(
        "SELECT t.relname::text, c.contype::text, {}, coalesce(f.relname::text, ''), {},
                c.confdeltype::text
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_namespace ns ON ns.oid = t.relnamespace
         LEFT JOIN pg_class f ON f.oid = c.confrelid
         WHERE ns.nspname = 'public' AND c.contype IN ('p', 'u', 'f')",
        names("c.conkey", "c.conrelid"),
        names("c.confkey", "c.confrelid"),
    );
    for r in client.query(&constraints, &[]).unwrap() {
        let table = schema.tables.entry(r.get(0)).or_default();
        let columns: Vec<String> = r.get(2);
        match r.get::<_, String>(1).as_str() {
            "p" => table.primary_key = columns,
            "u" => {
                table.unique.insert(columns);
            }
            _ => {
                table.foreign_keys.insert(ForeignKey {
                    columns,
                    table: r.get(3),
                    to: r.get(4),
                    on_delete: on_delete(&r.get::<_, String>(5)),
                });
            }
        }
    }
    let indexes = format!(
        "SELECT i.relname::text, t.relname::text, {}, x.indisunique, x.indpred IS NOT NULL
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace ns ON ns.oid = t.relnamespace
         WHERE ns.nspname = 'public' AND NOT EXISTS (
             SELECT 1 FROM pg_constraint c
             WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u', 'x'))",
        names("x.indkey::int2[]", "x.indrelid"),
    );
    for r in client.query(&indexes, &[]).unwrap() {
        schema.indexes.insert(
            r.get(0),
            Index {
                table: r.get(1),
                columns: r.get(2),
                unique: r.get(3),
                partial: r.get(4),
            },
        );
    }
    schema
}

fn versions(client: &mut postgres::Client) -> Vec<i64> {
    client
        .query("SELECT version FROM server_schema ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn postgres_schema_matches_the_sqlite_schema() {
    let server = TestPostgres::start();
    let url = server.create_database("schema_check");
    let mut client = pg::connect(&url).unwrap();
    assert_eq!(pg::schema_version(&mut client).unwrap(), 0);
    assert_eq!(pg::migrate(&mut client).unwrap(), 0);
    assert_eq!(pg::migrate(&mut client).unwrap(), pg::CURRENT_VERSION);
    assert_eq!(
        versions(&mut client),
        (1..=pg::CURRENT_VERSION).collect::<Vec<_>>()
    );

    let sqlite = sqlite_schema();
    let postgres = postgres_schema(&mut client);
    let names = |s: &Schema| s.tables.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&postgres), names(&sqlite), "tables");
    for (name, table) in &sqlite.tables {
        let pg_table = &postgres.tables[name];
        assert_eq!(
            pg_table.columns.keys().collect::<Vec<_>>(),
            table.columns.keys().collect::<Vec<_>>(),
            "columns of {name}"
        );
        assert_eq!(pg_table, table, "table {name}");
    }
    assert_eq!(postgres.indexes, sqlite.indexes, "indexes");
    assert_eq!(postgres.identities, sqlite.identities, "identity columns");
    let expected: BTreeSet<(String, String)> = ROWID_KEYS
        .iter()
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .collect();
    assert_eq!(sqlite.identities, expected, "rowid keys are rowid aliases");

    // The rows the migrations insert.
    let feed: Vec<(i64, i64)> = client
        .query("SELECT singleton, seq FROM feed_counter", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(feed, [(1, 0)]);

    // Identity columns number rows as SQLite's rowids do.
    let key: i64 = client
        .query_one(
            "INSERT INTO docs (id, kind, scope, snapshot, heads, updated_at)
             VALUES ('household/x', 'household', 'G1', '\\x', '\\x', 0) RETURNING key",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(key, 1);

    // Two servers starting on a fresh database at once: one migrates, the
    // other waits for it and finds the schema current.
    let url = server.create_database("concurrent");
    let runs: Vec<i64> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || pg::migrate(&mut pg::connect(&url).unwrap()).unwrap())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let mut sorted = runs.clone();
    sorted.sort();
    assert_eq!(sorted, [0, pg::CURRENT_VERSION], "{runs:?}");
    assert_eq!(
        versions(&mut pg::connect(&url).unwrap()),
        (1..=pg::CURRENT_VERSION).collect::<Vec<_>>()
    );
}

#[test]
fn a_database_from_a_newer_server_is_refused() {
    let server = TestPostgres::start();
    let url = server.create_database("newer");
    let mut client = pg::connect(&url).unwrap();
    pg::migrate(&mut client).unwrap();
    let newer = pg::CURRENT_VERSION + 1;
    client
        .execute("INSERT INTO server_schema (version) VALUES ($1)", &[&newer])
        .unwrap();

    let err = pg::migrate(&mut client).unwrap_err();
    match &err {
        Error::SchemaTooNew { found, supported } => {
            assert_eq!((*found, *supported), (newer, pg::CURRENT_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&format!("v{newer}")), "{text}");
    // The refusal changed nothing, and the connection is still usable.
    let mut expected: Vec<i64> = (1..=pg::CURRENT_VERSION).collect();
    expected.push(newer);
    assert_eq!(versions(&mut client), expected);
    assert_eq!(pg::schema_version(&mut client).unwrap(), newer);
}

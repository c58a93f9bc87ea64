//! `admin copy-to-postgres`: a demo town served from SQLite is copied into an
//! empty PostgreSQL database; a server on that database then gives a phone
//! the same documents, with the same heads, as the SQLite server does, and
//! later writes get fresh keys (the identity sequences moved on). A second
//! copy into the now non-empty database is refused and changes nothing.

use gridwork_tests::cli::Phone;
use gridwork_tests::postgres::TestPostgres;
use gridwork_tests::server::{admin_output, Server};
use serde_json::Value;
use tempfile::TempDir;

#[test]
fn a_demo_town_copied_to_postgres_serves_the_same_documents() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("server");
    let mut sqlite = Server::start(&data, &["--demo", "--demo-size", "small"]);
    let demo = sqlite
        .preamble
        .iter()
        .find_map(|v| v.get("demo_token"))
        .cloned()
        .expect("a demo token");
    let (worker, grid, token) = (
        demo["worker"].as_str().unwrap().to_string(),
        demo["grid"].as_str().unwrap().to_string(),
        demo["token"].as_str().unwrap().to_string(),
    );
    // A phone that synced before the move, and pushes a household afterwards.
    let before = Phone::new(dir.path().join("before.db"));
    before.init(&worker, &grid);
    before.sync(&sqlite.url, &token);
    assert_eq!(sqlite.stop(), Some(0));

    let pg = TestPostgres::start();
    let url = pg.create_database("copied");
    let out = admin_output(&data, &["copy-to-postgres", "--to", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["docs"].as_u64().unwrap() > 100, "{summary}");
    assert!(summary["tables"].as_u64().unwrap() > 20, "{summary}");

    // Copying again into the now non-empty database is refused.
    let again = admin_output(&data, &["copy-to-postgres", "--to", &url]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds data"));

    // A fresh phone gets the same docs from the PostgreSQL server as from the
    // SQLite one.
    let on_pg = Server::start(&dir.path().join("unused"), &["--database", &url]);
    let from_pg = Phone::new(dir.path().join("from-pg.db"));
    from_pg.init(&worker, &grid);
    from_pg.sync(&on_pg.url, &token);
    let sqlite = Server::start(&data, &[]);
    let from_sqlite = Phone::new(dir.path().join("from-sqlite.db"));
    from_sqlite.init(&worker, &grid);
    from_sqlite.sync(&sqlite.url, &token);
    assert_eq!(from_pg.json(&["docs"]), from_sqlite.json(&["docs"]));
    assert_eq!(
        from_pg.json(&["household", "list"]),
        from_sqlite.json(&["household", "list"])
    );

    // The phone that synced before the move carries on against PostgreSQL:
    // its new household gets a new doc row (no key clash with copied rows).
    let h = before.add_household("迁移后新增1号", &[]);
    before.sync(&on_pg.url, &token);
    from_pg.sync(&on_pg.url, &token);
    assert_eq!(
        from_pg.json(&["household", "show", &h])["address"],
        "迁移后新增1号"
    );
    assert_eq!(before.json(&["docs"]), from_pg.json(&["docs"]));
}

#[test]
fn serve_demo_on_an_empty_postgres_database_seeds_it_once() {
    let dir = TempDir::new().unwrap();
    let pg = TestPostgres::start();
    let url = pg.create_database("demo");
    let mut first = Server::start(
        &dir.path().join("a"),
        &["--demo", "--demo-size", "small", "--database", &url],
    );
    let demo = first
        .preamble
        .iter()
        .find_map(|v| v.get("demo_token"))
        .cloned()
        .expect("demo tokens on the first start");
    let phone = Phone::new(dir.path().join("phone.db"));
    phone.init(
        demo["worker"].as_str().unwrap(),
        demo["grid"].as_str().unwrap(),
    );
    let summary = phone.sync(&first.url, demo["token"].as_str().unwrap());
    assert!(summary["docs_down"].as_u64().unwrap() > 100, "{summary}");
    assert_eq!(first.stop(), Some(0));
    // A second start with --demo finds grids: nothing is seeded or printed.
    let second = Server::start(
        &dir.path().join("b"),
        &["--demo", "--demo-size", "small", "--database", &url],
    );
    assert!(second.preamble.is_empty(), "{:?}", second.preamble);
    let again = phone.sync(&second.url, demo["token"].as_str().unwrap());
    assert_eq!(again["docs_down"], 0, "{again}");
}

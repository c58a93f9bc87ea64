//! Re-initialisation ([`Store::reinit`], `gridwork init --force`): refused
//! while anything is unsynced, and on a clean store it leaves nothing of the
//! old owner behind but the schema's own bookkeeping.

use super::*;
use crate::clock::ManualClock;
use crate::model::*;
use crate::schedule::Policy;
use std::collections::BTreeMap;
use std::sync::Arc;
use tempfile::TempDir;

const T0: &str = "2026-03-10T02:00:00Z"; // 10:00 in Shanghai.

fn open(dir: &TempDir) -> Store {
    let clock = Arc::new(ManualClock::new(Timestamp::from_jiff(T0.parse().unwrap())));
    Store::open_with(
        dir.path().join("phone.db"),
        StoreOptions {
            clock: Some(clock),
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

fn phone(dir: &TempDir) -> Store {
    let store = open(dir);
    store.init("gw-1", "张三", "G-001").unwrap();
    store
}

fn add_household(store: &Store) -> Household {
    store
        .add_household(NewHousehold {
            address: "幸福里1号楼101室".into(),
            representative: "李四".into(),
            phone: "13800138000".into(),
            ..NewHousehold::default()
        })
        .unwrap()
}

/// Row count of every table in the database (from `sqlite_master`, so a
/// table added by a future migration is counted too).
fn table_counts(store: &Store) -> BTreeMap<String, i64> {
    store
        .db
        .read(|conn| {
            let names: Vec<String> = conn
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            names
                .into_iter()
                .map(|name| {
                    let count =
                        conn.query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| {
                            r.get(0)
                        })?;
                    Ok((name, count))
                })
                .collect()
        })
        .unwrap()
}

/// What the server's acknowledgement of every push (and of every photo
/// upload) does to the flags.
fn mark_all_synced(store: &Store) {
    store
        .db
        .write(|tx| {
            tx.conn().execute("UPDATE sync_docs SET dirty = 0", [])?;
            tx.conn()
                .execute("UPDATE attachments SET upload_state = 'uploaded'", [])?;
            Ok(())
        })
        .unwrap();
}

/// Fill every table: a demo grid, a work-log day, a published template and
/// policy, a conflict, an uploaded attachment, a quarantined doc and sync
/// state. A table added later must get a row here too (the test says which).
fn fill_every_table(store: &Store) {
    crate::demo::generate(
        store,
        crate::demo::DemoOptions {
            households: 6,
            years: 1,
            seed: 7,
        },
        |_, _| {},
    )
    .unwrap();
    // A household tag whatever the demo's draws were.
    store
        .add_household(crate::model::NewHousehold {
            address: "幸福里9号".into(),
            tags: vec!["low_income".into()],
            ..Default::default()
        })
        .unwrap();
    store
        .set_work_log_day("2026-03-10", vec!["走访".into()], "")
        .unwrap();
    let attached = store
        .attach_bytes(b"%PDF-1.4 a scanned notice", "application/pdf")
        .unwrap();
    store
        .report_hazard(crate::model::NewHazard {
            category: "消防安全".into(),
            description: "通道堵塞".into(),
            photos: vec![attached.id],
            ..Default::default()
        })
        .unwrap();
    let meta = server_meta("00aa11bb", "staff-1", store.now()).unwrap();
    let mut template = crate::forms::find("duty-sanitation", None).unwrap();
    template.version += 1;
    store
        .db
        .write(|tx| {
            publish_template_in(tx, &template, &GridCode("TOWN".into()), &meta)?;
            set_policy_in(tx, &GridCode("G-001".into()), &Policy::default(), &meta)?;
            let conn = tx.conn();
            let (key, household): (i64, String) = conn.query_row(
                "SELECT doc_key, id FROM households ORDER BY id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            conn.execute(
                "INSERT INTO conflicts (record, record_id, field, household_id, candidates, doc_key)
                 VALUES ('household', ?1, 'phone', ?1, '[]', ?2)",
                rusqlite::params![household, key],
            )?;
            conn.execute(
                "INSERT INTO time_checks (doc_id, item, claimed_at, received_at, status)
                 VALUES ('household/' || ?1, '', 1, 2, 'ok')",
                [&household],
            )?;
            conn.execute(
                "INSERT INTO attachments (sha256, mime, size, bytes, upload_state, created_at)
                 VALUES ('ab', 'image/jpeg', 1, x'ff', 'uploaded', 0)",
                [],
            )?;
            conn.execute(
                "INSERT INTO quarantine (doc_key, reason, revision) VALUES (?1, 'test', 0)",
                [key],
            )?;
            for (k, v) in [
                ("cursor", "42"),
                ("server_id", "srv"),
                ("clock_offset", "0"),
            ] {
                conn.execute(
                    "INSERT INTO sync_meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [k, v],
                )?;
            }
            Ok(())
        })
        .unwrap();
    mark_all_synced(store);
}

#[test]
fn reinit_of_a_synced_store_leaves_only_the_new_device() {
    let dir = TempDir::new().unwrap();
    let store = phone(&dir);
    fill_every_table(&store);
    let before = table_counts(&store);
    let empty: Vec<&String> = before
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(t, _)| t)
        .collect();
    assert!(
        empty.is_empty(),
        "fill_every_table must put rows in every table (so that reinit is seen to clear it): {empty:?}"
    );
    let old = store.device().unwrap();

    let device = store.reinit("gw-2", "王五", "G-002").unwrap();
    assert_eq!(device.worker_id.as_str(), "gw-2");
    assert_eq!(device.grid.as_str(), "G-002");
    assert_ne!(device.actor, old.actor, "a new owner gets a new actor");
    assert_eq!(store.device().unwrap(), device);
    assert_eq!(store.clock_offset(), None);

    // Every table is empty but the new device row and the schema's own
    // bookkeeping in sync_meta.
    for (table, count) in table_counts(&store) {
        let expected = match table.as_str() {
            "device" => 1,
            "sync_meta" => KEPT_SYNC_META.len() as i64,
            _ => 0,
        };
        assert_eq!(count, expected, "rows left in {table} after reinit");
    }
    let meta_keys: Vec<String> = store
        .db
        .read(|conn| {
            Ok(conn
                .prepare("SELECT key FROM sync_meta ORDER BY key")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
        .unwrap();
    assert_eq!(meta_keys, KEPT_SYNC_META);

    // The store works for the new owner and stays as it is when reopened.
    assert!(store.list_households().unwrap().is_empty());
    assert!(store.check().unwrap().ok);
    let h = add_household(&store);
    assert_eq!(store.list_households().unwrap().len(), 1);
    assert_eq!(store.household(h.id).unwrap().grid.as_str(), "G-002");
    drop(store);
    let store = open(&dir);
    assert_eq!(store.device().unwrap(), device);
    assert_eq!(store.list_households().unwrap().len(), 1);
    // Plain `init` still refuses an initialised store.
    assert!(matches!(
        store.init("gw-3", "赵六", "G-003"),
        Err(Error::AlreadyInitialized)
    ));
}

#[test]
fn reinit_is_refused_while_anything_is_unsynced_and_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let store = phone(&dir);
    let synced = add_household(&store);
    mark_all_synced(&store);
    let dirty = add_household(&store);
    let device = store.device().unwrap();
    let before = table_counts(&store);

    let err = store.reinit("gw-2", "王五", "G-002").unwrap_err();
    assert!(
        matches!(err, Error::UnsyncedChanges { count: 1 }),
        "{err:?}"
    );
    assert!(err.is_user_error());
    let message = err.to_string();
    assert!(
        message.contains("尚未同步") && message.contains("not yet synced"),
        "{message}"
    );
    for personal in ["幸福里", "李四", "13800138000", "张三"] {
        assert!(!message.contains(personal), "{message}");
    }
    // Nothing changed: same owner, both households, the dirty flag kept.
    assert_eq!(store.device().unwrap(), device);
    assert_eq!(table_counts(&store), before);
    assert_eq!(store.list_households().unwrap().len(), 2);
    assert_eq!(
        store.dirty_docs().unwrap(),
        vec![crate::docs::DocId::household(dirty.id)]
    );
    assert!(store.household(synced.id).is_ok());
    drop(store);
    assert_eq!(open(&dir).device().unwrap(), device);

    // An attachment waiting for upload counts as unsynced too.
    let store = open(&dir);
    mark_all_synced(&store);
    store
        .db
        .write(|tx| {
            tx.conn().execute(
                "INSERT INTO attachments (sha256, mime, size, bytes, created_at)
                 VALUES ('cd', 'image/jpeg', 1, x'ff', 0)",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    assert!(matches!(
        store.reinit("gw-2", "王五", "G-002"),
        Err(Error::UnsyncedChanges { count: 1 })
    ));
    assert_eq!(store.device().unwrap(), device);
}

#[test]
fn reinit_of_a_fresh_store_initialises_it_and_validates_first() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir);
    assert!(matches!(
        store.reinit("gw-2", "王五", " "),
        Err(Error::Validation { ref field, .. }) if field == "grid"
    ));
    assert!(matches!(store.device(), Err(Error::NotInitialized)));
    let device = store.reinit("gw-2", "王五", "G-002").unwrap();
    assert_eq!(device.grid.as_str(), "G-002");

    // Bad input on an initialised store changes nothing either.
    assert!(matches!(
        store.reinit("", "王五", "G-003"),
        Err(Error::Validation { ref field, .. }) if field == "worker_id"
    ));
    assert_eq!(store.device().unwrap(), device);
}

//! Tests of the doc storage's caches: the loaded-doc LRU, the stored bytes a
//! server sends a device that has none of a doc, and the latest change kept
//! encoded for devices that had the doc just before it.

use super::doc_store::decode_heads;
use super::{Db, Tuning};
use crate::docs::{DocId, DocKind};
use crate::model::{GridCode, Timestamp};
use automerge::transaction::Transactable;
use automerge::{Automerge, ReadDoc};

const AT: Timestamp = Timestamp(1_780_000_000_000);

/// The change that writes `value` under `key` in `source`, as bytes.
fn change(source: &mut Automerge, key: &str, value: &str) -> Vec<u8> {
    let before = source.get_heads();
    let mut tx = source.transaction();
    tx.put(automerge::ROOT, key, value).unwrap();
    tx.commit();
    source.save_after(&before)
}

/// Merge a change that writes `value` under `key` into doc `id` (a kind of
/// a newer app: stored and forwarded, never materialised).
fn put(db: &Db, source: &mut Automerge, id: &DocId, key: &str, value: &str) {
    let bytes = change(source, key, value);
    db.write(|tx| tx.merge_doc(id, DocKind::Unknown, &GridCode("G1".into()), &bytes, AT))
        .unwrap();
}

fn open(dir: &tempfile::TempDir, doc_cache: usize, compress: bool) -> Db {
    let tuning = Tuning {
        doc_cache,
        compress_snapshots: compress,
        ..Tuning::default()
    };
    Db::open_tuned(&dir.path().join("s.db"), None, tuning).unwrap()
}

#[test]
fn stored_bytes_load_as_the_whole_doc() {
    for compress in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, 4, compress);
        let id = DocId("note/1".into());
        let mut source = Automerge::new();
        for i in 0..40 {
            put(
                &db,
                &mut source,
                &id,
                &format!("k{}", i % 7),
                &format!("v{i}"),
            );
        }
        let (bytes, heads) = db
            .write(|tx| Ok(tx.stored_doc(&id)?.expect("stored")))
            .unwrap();
        let loaded = Automerge::load(&bytes).unwrap();
        assert_eq!(loaded.get_heads(), heads);
        let mut into_empty = Automerge::new();
        into_empty.load_incremental(&bytes).unwrap();
        assert_eq!(into_empty.get_heads(), heads);
        let v: String = loaded
            .get(automerge::ROOT, "k4")
            .unwrap()
            .unwrap()
            .0
            .as_str()
            .unwrap()
            .into();
        assert_eq!(v, "v39");
        let none = db
            .write(|tx| tx.stored_doc(&DocId("note/absent".into())))
            .unwrap();
        assert!(none.is_none());
    }
}

#[test]
fn the_latest_change_is_served_only_from_the_heads_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, 8, false);
    let id = DocId("note/2".into());
    let mut source = Automerge::new();
    put(&db, &mut source, &id, "a", "1");
    let before = db.write(|tx| tx.stored_heads(&id)).unwrap().unwrap();
    put(&db, &mut source, &id, "b", "2");
    let after = db.write(|tx| tx.stored_heads(&id)).unwrap().unwrap();
    let (bytes, heads) = db
        .write(|tx| tx.latest_change_since(&id, &before))
        .unwrap()
        .expect("the change just written is at hand");
    assert_eq!(heads, after);
    // Exactly what the doc itself would send.
    let expected = db
        .write(|tx| Ok(tx.with_doc(&id, |d| Ok(d.save_after(&before)))?.unwrap()))
        .unwrap();
    assert_eq!(bytes, expected);
    // From any other heads: not at hand.
    assert!(db
        .write(|tx| tx.latest_change_since(&id, &after))
        .unwrap()
        .is_none());
    assert!(db
        .write(|tx| tx.latest_change_since(&id, &[]))
        .unwrap()
        .is_none());
    // A change that is rolled back leaves no delta behind.
    let bytes = change(&mut source, "c", "3");
    let failed: crate::Result<()> = db.write(|tx| {
        tx.merge_doc(&id, DocKind::Unknown, &GridCode("G1".into()), &bytes, AT)?;
        Err(crate::Error::Cancelled)
    });
    assert!(failed.is_err());
    assert_eq!(db.write(|tx| tx.stored_heads(&id)).unwrap().unwrap(), after);
    let still = db.write(|tx| tx.latest_change_since(&id, &before)).unwrap();
    assert!(
        still.is_none(),
        "after a rollback the latest change is no longer at hand (it is loaded instead)"
    );
    let mut sorted = after.clone();
    sorted.sort();
    assert_eq!(decode_heads(&super::encode_heads(&after)), sorted);
}

#[test]
fn the_doc_cache_stays_within_its_capacity_and_keeps_recent_docs() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, 16, true);
    for i in 0..100 {
        let mut source = Automerge::new();
        put(&db, &mut source, &DocId(format!("note/{i}")), "k", "v");
    }
    let guard = db.writer().unwrap();
    let (_, cache) = guard.as_ref().unwrap();
    assert!(cache.len() <= 16, "{} docs cached", cache.len());
    assert!(cache.contains(&DocId("note/99".into())));
    assert!(!cache.contains(&DocId("note/0".into())));
}

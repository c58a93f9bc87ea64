//! The phone's attachments: taking photos in, what records may name, the
//! upload queue, downloads checked against their id, and the storage budget
//! that never drops a photo the server has not confirmed.

use super::*;
use crate::model::*;
use tempfile::TempDir;

fn phone(dir: &TempDir) -> Store {
    let store = Store::open(dir.path().join("phone.db"), None).unwrap();
    store.init("gw-1", "张三", "G-001").unwrap();
    store
}

fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x as u8).wrapping_add(seed), (y as u8) ^ seed, seed])
    })
    .write_to(&mut out, image::ImageFormat::Png)
    .unwrap();
    out.into_inner()
}

fn household(store: &Store) -> HouseholdId {
    store
        .add_household(NewHousehold {
            address: "幸福里1号".into(),
            ..Default::default()
        })
        .unwrap()
        .id
}

fn visit(h: HouseholdId, photos: Vec<String>) -> NewVisit {
    NewVisit {
        household: h,
        photos,
        ..Default::default()
    }
}

#[test]
fn records_name_only_photos_attached_here_and_the_queue_follows_them() {
    let dir = TempDir::new().unwrap();
    let store = phone(&dir);
    let h = household(&store);
    let a = store
        .attach_photo(&png(400, 300, 1), &Default::default())
        .unwrap();
    let b = store
        .attach_photo(&png(400, 300, 2), &Default::default())
        .unwrap();
    assert_eq!(a.mime, "image/jpeg");
    assert!(a.on_phone && a.has_thumbnail && a.state == UploadState::Pending);
    // Same photo, same id, stored once.
    assert_eq!(
        store
            .attach_photo(&png(400, 300, 1), &Default::default())
            .unwrap()
            .id,
        a.id
    );
    // Not attached here, or not an id at all: refused, nothing stored.
    let unknown = "ab".repeat(32);
    for photos in [vec![unknown.clone()], vec!["not-a-hash".into()]] {
        let err = store.record_visit(visit(h, photos)).unwrap_err();
        assert!(
            matches!(err, Error::Validation { ref field, .. } if field == "photos"),
            "{err:?}"
        );
    }
    assert!(store.list_visits(None).unwrap().is_empty());
    // Taken but not named by any record yet: not uploaded.
    assert_eq!(store.upload_queue().unwrap().pending, 2);
    assert!(store.pending_uploads().unwrap().is_empty());

    let first = store.record_visit(visit(h, vec![a.id.clone()])).unwrap();
    assert_eq!(first.photos, vec![a.id.clone()]);
    // A second visit of the same log (the incremental read-model path).
    let second = store
        .record_visit(visit(h, vec![b.id.clone(), a.id.clone()]))
        .unwrap();
    assert_eq!(
        store.visit(second.id).unwrap().photos,
        vec![b.id.clone(), a.id.clone()]
    );
    let mut pending = store.pending_uploads().unwrap();
    pending.sort();
    let mut both = vec![a.id.clone(), b.id.clone()];
    both.sort();
    assert_eq!(pending, both);
    // The incremental rows equal a rebuild's.
    let report = store.check().unwrap();
    assert!(report.differences.is_empty(), "{report:?}");

    // A case transition with a photo.
    let case = store
        .open_case(NewCase {
            category: "环境卫生".into(),
            description: "垃圾未清运".into(),
            ..Default::default()
        })
        .unwrap();
    let moved = store
        .transition_case_with_photos(case.id, "registered", "已受理", std::slice::from_ref(&b.id))
        .unwrap();
    assert_eq!(moved.transitions.last().unwrap().photos, vec![b.id.clone()]);
    assert!(store.check().unwrap().differences.is_empty());
}

#[test]
fn a_case_has_photos_of_its_own_read_back_and_referenced() {
    let dir = TempDir::new().unwrap();
    let store = phone(&dir);
    let shot = store
        .attach_photo(&png(500, 300, 9), &Default::default())
        .unwrap();
    let input = |photos: Vec<String>| NewCase {
        category: "安全隐患".into(),
        description: "楼道电动车充电".into(),
        photos,
        ..Default::default()
    };
    // Only photos attached here, well-formed, at most nine.
    let unknown = "ab".repeat(32);
    assert!(matches!(
        store.open_case(input(vec![unknown])),
        Err(Error::Validation { .. })
    ));
    assert!(store.open_case(input(vec!["not-a-blob".into()])).is_err());
    assert!(store.open_case(input(vec![shot.id.clone(); 10])).is_err());
    assert!(
        store.list_cases(false).unwrap().is_empty(),
        "nothing written"
    );

    let case = store.open_case(input(vec![shot.id.clone()])).unwrap();
    assert_eq!(case.photos, vec![shot.id.clone()]);
    assert_eq!(store.case(case.id).unwrap().photos, vec![shot.id.clone()]);
    let refs: Vec<(String, String)> = store
        .db
        .read(|conn| {
            let mut stmt =
                conn.prepare("SELECT record, item FROM attachment_refs WHERE blob = ?1")?;
            let rows = stmt.query_map([&shot.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .unwrap();
    assert_eq!(refs, vec![("case".to_string(), String::new())]);
    // The photo waits for upload like a hazard's, and the rows equal a
    // rebuild's.
    assert_eq!(store.pending_uploads().unwrap(), vec![shot.id.clone()]);
    assert!(store.check().unwrap().differences.is_empty());
    // An edit keeps the photos.
    let edited = store
        .edit_case(
            case.id,
            CaseEdit {
                urgency: Some("urgent".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(edited.photos, vec![shot.id]);
}

#[test]
fn the_budget_drops_only_confirmed_originals_and_keeps_thumbnails() {
    let dir = TempDir::new().unwrap();
    let store = phone(&dir);
    let photos: Vec<_> = (0..3)
        .map(|i| {
            store
                .attach_photo(&png(600, 400, i), &Default::default())
                .unwrap()
        })
        .collect();
    let total: u64 = photos.iter().map(|p| p.size).sum();
    // Nothing confirmed: nothing dropped, whatever the budget.
    let report = store.trim_attachments(0).unwrap();
    assert_eq!((report.dropped, report.kept_bytes), (0, total));
    store.mark_uploaded(&photos[0].id).unwrap();
    store.mark_uploaded(&photos[1].id).unwrap();
    // Within budget: nothing dropped.
    assert_eq!(store.trim_attachments(total).unwrap().dropped, 0);
    // Just over: the oldest confirmed one goes, and only it.
    let report = store.trim_attachments(total - 1).unwrap();
    assert_eq!(report.dropped, 1);
    assert_eq!(report.kept_bytes, total - photos[0].size);
    assert_eq!(store.attachment_bytes(&photos[0].id).unwrap(), None);
    assert!(store.attachment_thumbnail(&photos[0].id).unwrap().is_some());
    let info = store.attachment(&photos[0].id).unwrap().unwrap();
    assert!(!info.on_phone && info.has_thumbnail);
    // Budget 0: every confirmed original goes; the unconfirmed one stays.
    assert_eq!(store.trim_attachments(0).unwrap().dropped, 1);
    assert!(store.attachment_bytes(&photos[2].id).unwrap().is_some());
    // Bytes fetched back must hash to the id.
    let original = png(600, 400, 0);
    let err = store
        .store_downloaded(&photos[0].id, "image/jpeg", &original)
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }));
    assert_eq!(store.attachment_bytes(&photos[0].id).unwrap(), None);
}

#[test]
fn other_files_are_kept_as_they_are_within_the_limit() {
    let dir = TempDir::new().unwrap();
    let store = phone(&dir);
    let pdf = store
        .attach_bytes(b"%PDF-1.4 notice", "application/PDF")
        .unwrap();
    assert_eq!(pdf.mime, "application/pdf");
    assert_eq!(
        store.attachment_bytes(&pdf.id).unwrap().unwrap(),
        b"%PDF-1.4 notice"
    );
    assert_eq!(pdf.id, attachments::blob_id(b"%PDF-1.4 notice"));
    assert!(matches!(
        store.attach_bytes(b"x", "not a mime"),
        Err(Error::Validation { .. })
    ));
    let big = vec![0u8; attachments::MAX_ATTACHMENT_BYTES + 1];
    assert!(matches!(
        store.attach_bytes(&big, "application/octet-stream"),
        Err(Error::TooLarge { .. })
    ));
    // An empty file is refused: it could never be uploaded as a blob.
    assert!(matches!(
        store.attach_bytes(b"", "text/plain"),
        Err(Error::Validation { .. })
    ));
    assert_eq!(store.upload_queue().unwrap().pending, 1);
}

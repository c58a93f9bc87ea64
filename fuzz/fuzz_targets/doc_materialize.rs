//! Fuzzes loading and materialising synced documents: a phone or the
//! server receives Automerge bytes from peers and turns them into read
//! models, so any bytes must load or fail, and any loadable document —
//! whatever its shape — must materialise into rows or be quarantined with
//! an error, never panic.
//!
//! Input: the first byte picks the doc kind of the store merge (low
//! nibble) and the shape of the rest (high bit): either the raw bytes of a
//! saved doc or changes (mutated from the seed docs of every kind), or a
//! small program that builds a document with the keys and values the
//! Gridwork docs use, nested objects, wrong types and concurrent values
//! (conflicts), so materialisation meets every shape, not only what
//! survives Automerge's checksums. The doc is materialised as every kind,
//! then merged into a phone store through `WriteTx::merge_doc` (as sync
//! does), in a transaction rolled back afterwards.

#![no_main]

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Automerge, ObjId, ObjType, ScalarValue, ROOT};
use gridwork_core::docs::{self, DocId, DocKind};
use gridwork_core::model::{GridCode, Timestamp};
use gridwork_core::store::Db;
use gridwork_fuzz::{GRID, NOW};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const UUID: &str = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";

/// An id of each kind, in the shape its kind requires.
fn id_of(kind: DocKind) -> DocId {
    DocId(match kind {
        DocKind::Household => format!("household/{UUID}"),
        DocKind::VisitLog => format!("visit_log/{UUID}/2026"),
        DocKind::Hazard => format!("hazard/{UUID}"),
        DocKind::Case => format!("case/{UUID}"),
        DocKind::FormRecord => format!("form_record/{UUID}"),
        DocKind::WorkLog => "work_log/gw-a/2026-06".to_string(),
        DocKind::Template => "template/duty-elder-care/1".to_string(),
        DocKind::Policy => format!("policy/{GRID}"),
        DocKind::Unknown => format!("future_kind/{UUID}"),
    })
}

/// Keys the Gridwork docs read (struct fields, root keys, enum-ish values).
const KEYS: &[&str] = &[
    "kind",
    "id",
    "grid",
    "format",
    "household",
    "worker",
    "year",
    "month",
    "residents",
    "resident",
    "name",
    "gender",
    "birth_date",
    "id_number",
    "phone",
    "relation",
    "moved_out",
    "community",
    "building",
    "unit",
    "room",
    "address",
    "representative",
    "risk",
    "status",
    "note",
    "notes",
    "tags",
    "at",
    "by",
    "outcome",
    "category",
    "severity",
    "description",
    "place",
    "deadline",
    "photos",
    "lat",
    "lon",
    "accuracy",
    "reported_at",
    "reported_by",
    "opened_at",
    "opened_by",
    "updated_at",
    "updated_by",
    "transitions",
    "from",
    "to",
    "channel",
    "urgency",
    "workflow",
    "follow_ups",
    "record",
    "record_id",
    "template",
    "template_id",
    "template_version",
    "answers",
    "answer_notes",
    "values",
    "value",
    "field",
    "filled_at",
    "subject",
    "started_at",
    "ended_at",
    "body",
    "policy",
    "priorities",
    "published_at",
    "published_by",
    "version",
    "created_at",
    UUID,
    "2026-06-01",
    "",
];

/// Text values: kind codes, ids, dates, enum codes.
const TEXTS: &[&str] = &[
    "household",
    "visit_log",
    "hazard",
    "case",
    "form_record",
    "work_log",
    "template",
    "policy",
    UUID,
    "gw-a",
    "G1",
    "G2",
    "2026-06-01",
    "2026-06",
    "2026-13-45",
    "12:30",
    "open",
    "closed",
    "done",
    "yellow",
    "red",
    "male",
    "female",
    "moved_out",
    "in_person",
    "phone",
    "high",
    "",
    "not-a-uuid",
    "{}",
    "[]",
    "{\"fields\":[]}",
];

/// Longest program read, in bytes (two per op).
const MAX_PROGRAM: usize = 256;
/// Most conflicts one program makes.
const MAX_CONFLICTS: usize = 4;

/// Build a document from a small program over `ops` (see the module doc).
fn build(ops: &[u8]) -> Automerge {
    let mut doc = AutoCommit::new();
    doc.set_actor(ActorId::from(vec![0xa1; 16]));
    let mut stack: Vec<(ObjId, ObjType)> = vec![(ROOT, ObjType::Map)];
    // Forks copy the doc: a few conflicts are enough, and keep runs fast.
    let mut conflicts = 0;
    let mut bytes = ops.iter().take(MAX_PROGRAM).copied();
    let mut next = move || bytes.next();
    while let Some(op) = next() {
        let Some(arg) = next() else { break };
        let (obj, obj_type) = stack.last().cloned().unwrap_or((ROOT, ObjType::Map));
        let key = KEYS[arg as usize % KEYS.len()];
        let value: Option<ScalarValue> = match op % 12 {
            0 => Some(TEXTS[arg as usize % TEXTS.len()].into()),
            1 => Some(ScalarValue::Int(i64::from(arg as i8) * 1_000_000_007)),
            2 => Some(ScalarValue::Uint(u64::from(arg) << (arg % 64))),
            3 => Some(ScalarValue::F64(f64::from(arg as i8) / 3.0)),
            4 => Some(ScalarValue::Boolean(arg & 1 == 1)),
            5 => Some(ScalarValue::Null),
            6 => Some(ScalarValue::Timestamp(
                NOW + i64::from(arg as i8) * 86_400_000,
            )),
            7 => Some(ScalarValue::Bytes(vec![arg; 3])),
            8 => Some(ScalarValue::Counter(i64::from(arg).into())),
            _ => None,
        };
        let index = |doc: &AutoCommit| {
            let len = automerge::ReadDoc::length(doc, &obj);
            if len == 0 {
                0
            } else {
                arg as usize % (len + 1)
            }
        };
        match (op % 12, obj_type) {
            (0..=8, ObjType::Map) => {
                let _ = doc.put(&obj, key, value.unwrap_or(ScalarValue::Null));
            }
            (0..=8, _) => {
                let at = index(&doc);
                let _ = doc.insert(&obj, at, value.unwrap_or(ScalarValue::Null));
            }
            (9, _) => {
                // Open a nested map or list (text when arg says so) and enter it.
                let new_type = match arg % 3 {
                    0 => ObjType::Map,
                    1 => ObjType::List,
                    _ => ObjType::Text,
                };
                let made = if obj_type == ObjType::Map {
                    doc.put_object(&obj, key, new_type)
                } else {
                    let at = index(&doc);
                    doc.insert_object(&obj, at, new_type)
                };
                if let Ok(child) = made {
                    if new_type == ObjType::Text {
                        let _ = doc.splice_text(&child, 0, 0, TEXTS[arg as usize % TEXTS.len()]);
                    } else if stack.len() < 8 {
                        stack.push((child, new_type));
                    }
                }
            }
            (10, _) => {
                if stack.len() > 1 {
                    stack.pop();
                }
            }
            _ if conflicts >= MAX_CONFLICTS => {}
            _ => {
                conflicts += 1;
                // A concurrent value from another device for the same key:
                // a conflict the materialiser must surface or resolve.
                let mut other = doc.fork();
                other.set_actor(ActorId::from(vec![arg; 16]));
                if obj_type == ObjType::Map {
                    let _ = other.put(&obj, key, TEXTS[arg as usize % TEXTS.len()]);
                    let _ = doc.put(&obj, key, ScalarValue::Int(i64::from(arg)));
                } else {
                    let _ = other.delete(&obj, 0);
                }
                let _ = doc.merge(&mut other);
            }
        }
    }
    doc.document().clone()
}

/// A phone's store database (schema only) for the merges.
static PHONE: OnceLock<(tempfile::TempDir, Db)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let kind = *DocKind::ALL
        .get(usize::from(mode & 0x0f))
        .unwrap_or(&DocKind::Unknown);
    let (doc, bytes) = if mode & 0x80 == 0 {
        let Ok(doc) = Automerge::load(rest) else {
            // Changes without their dependencies still merge (and wait).
            let mut doc = Automerge::new();
            let _ = doc.load_incremental(rest);
            return;
        };
        (doc, rest.to_vec())
    } else {
        let doc = build(rest);
        let bytes = doc.save();
        (doc, bytes)
    };
    let _ = docs::format_of(&doc);
    let _ = docs::root_kind(&doc);
    let _ = docs::declared_grid(&doc);
    for each in DocKind::ALL.into_iter().chain([DocKind::Unknown]) {
        let _ = docs::materialize(&id_of(each), each, &doc);
    }
    let (_, db) = PHONE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("phone.db"), None).unwrap();
        (dir, db)
    });
    let merged = db.scratch(|tx| {
        tx.merge_doc(
            &id_of(kind),
            kind,
            &GridCode(GRID.into()),
            &bytes,
            Timestamp(NOW),
        )
    });
    if let Err(e) = merged {
        // Unreadable content is quarantined, not an error: only bytes that
        // are not Automerge at all may fail the merge.
        assert!(
            matches!(e, gridwork_core::Error::CorruptDocument { .. }),
            "merge of a loadable doc failed: {e:?}"
        );
    }
});

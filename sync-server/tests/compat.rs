//! Version skew (issue 11 §2), end to end with the real server: a phone of
//! today's version meets data made by newer versions — (a) a template and a
//! policy with keys it does not know, published by a newer server; (b) a
//! household with a new field and new tag; (c) a doc of a kind it does not
//! know; (d) a doc of a newer format; and a doc it cannot read at all —
//! pushed by a simulated newer client. Every other doc syncs, nothing is
//! lost, the old phone shows what it understands, refuses to edit what is
//! newer, and the newer data survives a round trip through it.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ReadDoc, ROOT};
use gridwork_core::docs::config::{PolicyDoc, TemplateDoc};
use gridwork_core::docs::household::HouseholdDoc;
use gridwork_core::docs::DocId;
use gridwork_core::model::{GridCode, HouseholdEdit, HouseholdId, NewHousehold, Timestamp};
use gridwork_core::store::CommitMeta;
use gridwork_core::sync::protocol::{self, DocPush, SyncRequest, SyncResponse};
use gridwork_core::sync::{HttpTransport, SyncOptions, Transport};
use gridwork_core::{Error, Store};
use std::path::Path;

mod common;

use common::start;

/// T → C → C-1 → G1 with gridworkers gw-a (today's phone) and gw-n (a
/// phone of a newer version); their tokens.
fn town(data: &Path) -> (String, String) {
    common::grid_tree(data);
    (
        common::gridworker_token(data, "gw-a"),
        common::gridworker_token(data, "gw-n"),
    )
}

fn phone(dir: &Path, name: &str, worker: &str) -> Store {
    let store = Store::open(dir.join(format!("{name}.db")), None).unwrap();
    store.init(worker, "网格员", "G1").unwrap();
    store
}

fn household(actor: &ActorId, id: HouseholdId, address: &str) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(actor.clone());
    let root = HouseholdDoc {
        kind: "household".into(),
        id: id.to_string(),
        grid: "G1".into(),
        address: address.into(),
        risk: "none".into(),
        status: "active".into(),
        ..Default::default()
    };
    autosurgeon::reconcile(&mut doc, &root).unwrap();
    doc
}

fn push(id: &DocId, doc: &mut AutoCommit) -> DocPush {
    DocPush {
        id: id.to_string(),
        heads: protocol::to_hashes(&doc.get_heads()),
        changes: doc.save(),
    }
}

fn scalar(doc: &AutoCommit, obj: &automerge::ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key).unwrap() {
        Some((automerge::Value::Scalar(s), _)) => Some(s.to_string()),
        _ => None,
    }
}

#[test]
fn an_old_phone_keeps_syncing_and_forwards_what_newer_versions_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let (token_a, token_n) = town(&data);
    let server = start(&data, &[]);
    let url = format!("http://{}", server.addr);
    let http = HttpTransport::new().unwrap();

    // Today's phone has its own work.
    let a = phone(dir.path(), "a", "gw-a");
    let own = a
        .add_household(NewHousehold {
            address: "幸福里1号".into(),
            ..Default::default()
        })
        .unwrap();
    a.sync(&url, &token_a, &SyncOptions::default()).unwrap();

    // (a) A newer server published a template and a policy with keys this
    // build does not know (written straight into its database).
    {
        let db = gridwork_server::db::open(&data).unwrap();
        let mut template =
            serde_json::to_value(gridwork_core::forms::builtin()[1].clone()).unwrap();
        let template_id = template["id"].as_str().unwrap().to_string();
        template["version"] = serde_json::json!(9);
        template["signature_required"] = serde_json::json!(true);
        template["fields"][0]["hint_audio"] = serde_json::json!("a.mp3");
        let mut policy = serde_json::to_value(gridwork_core::schedule::Policy::default()).unwrap();
        policy["first_response_minutes"] = serde_json::json!(20);
        policy["reminder_minutes"] = serde_json::json!(10);
        let meta = CommitMeta {
            actor: ActorId::from(vec![0x5e; 16]),
            worker: "admin".into(),
            at: Timestamp(1_780_000_000_000),
        };
        let grid = GridCode("G1".into());
        gridwork_server::db::write(&db, |tx| {
            let id = DocId::template(&template_id, 9);
            let doc = TemplateDoc {
                kind: "template".into(),
                grid: "G1".into(),
                template_id: template_id.clone(),
                version: 9,
                body: template.to_string(),
                published_by: "admin".into(),
                published_at: 1,
            };
            tx.edit_doc(
                &id,
                gridwork_core::docs::DocKind::Template,
                &grid,
                &meta,
                |am| Ok(autosurgeon::reconcile(am, &doc)?),
            )?;
            gridwork_server::feed::feed_touch(tx.conn(), id.as_str(), "G1")?;
            let id = DocId::policy(&grid);
            let doc = PolicyDoc {
                kind: "policy".into(),
                grid: "G1".into(),
                body: policy.to_string(),
                updated_by: "admin".into(),
                updated_at: 1,
            };
            tx.edit_doc(
                &id,
                gridwork_core::docs::DocKind::Policy,
                &grid,
                &meta,
                |am| Ok(autosurgeon::reconcile(am, &doc)?),
            )?;
            gridwork_server::feed::feed_touch(tx.conn(), id.as_str(), "G1")?;
            Ok(())
        })
        .unwrap();
    }

    // A newer phone pushes, in one request: (b) a household with a new field,
    // a new tag and a resident field; (c) a doc of a new kind; (d) a
    // household of a newer format; a household of a newer format this build
    // cannot read at all; and a plain household. A household of *this*
    // format that cannot be read is refused instead (it would hide a record
    // and skip the server's content checks).
    let n = phone(dir.path(), "n", "gw-n");
    let actor = ActorId::from(hex::decode(n.device().unwrap().actor).unwrap());
    let (h_new, h_newer, h_broken, h_plain) = (
        HouseholdId::new(),
        HouseholdId::new(),
        HouseholdId::new(),
        HouseholdId::new(),
    );
    let mut with_new_field = household(&actor, h_new, "幸福里2号");
    with_new_field
        .put(ROOT, "wechat_group", "三网格群")
        .unwrap();
    let tags = with_new_field.get(ROOT, "tags").unwrap().unwrap().1;
    with_new_field.put(&tags, "new_group_2027", true).unwrap();
    let meeting = DocId("meeting/0190a0b0-0000-7000-8000-00000000aaaa".into());
    let mut new_kind = AutoCommit::new().with_actor(actor.clone());
    new_kind.put(ROOT, "kind", "meeting").unwrap();
    new_kind.put(ROOT, "grid", "G1").unwrap();
    new_kind.put(ROOT, "topic", "议事会").unwrap();
    let mut newer_format = household(&actor, h_newer, "幸福里3号");
    newer_format.put(ROOT, "format", 2u64).unwrap();
    let mut unreadable = household(&actor, h_broken, "幸福里4号");
    unreadable.put(ROOT, "format", 2u64).unwrap();
    unreadable
        .put_object(ROOT, "residents", automerge::ObjType::List)
        .unwrap();
    let h_bad = HouseholdId::new();
    let mut bad = household(&actor, h_bad, "幸福里6号");
    bad.put_object(ROOT, "residents", automerge::ObjType::List)
        .unwrap();
    let mut plain = household(&actor, h_plain, "幸福里5号");
    let request = SyncRequest {
        device: n.device().unwrap().actor,
        pushes: vec![
            push(&DocId::household(h_new), &mut with_new_field),
            push(&meeting, &mut new_kind),
            push(&DocId::household(h_newer), &mut newer_format),
            push(&DocId::household(h_broken), &mut unreadable),
            push(&DocId::household(h_plain), &mut plain),
            push(&DocId::household(h_bad), &mut bad),
        ],
        ..SyncRequest::default()
    };
    let reply = http
        .post(
            &format!("{url}/v1/sync"),
            &token_n,
            protocol::encode(&request).unwrap(),
        )
        .unwrap();
    let response: SyncResponse = protocol::decode(&reply).unwrap();
    assert_eq!(
        response.rejected,
        [protocol::Rejection {
            id: DocId::household(h_bad).to_string(),
            reason: protocol::RejectReason::Malformed,
        }]
    );
    for pushed in request
        .pushes
        .iter()
        .filter(|p| !p.id.contains(&h_bad.to_string()))
    {
        assert!(
            response.docs.iter().any(|d| d.id == pushed.id),
            "{} applied and acknowledged",
            pushed.id
        );
    }

    // The old phone syncs: nothing fails, it says what it keeps unread and
    // what is read-only, and shows everything it understands.
    let summary = a.sync(&url, &token_a, &SyncOptions::default()).unwrap();
    assert!(summary.rejected.is_empty());
    let quarantined: Vec<&str> = summary.quarantined.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(
        quarantined,
        [DocId::household(h_broken).as_str(), meeting.as_str()]
    );
    let mut newer = vec![
        DocId::household(h_newer).to_string(),
        DocId::household(h_broken).to_string(),
    ];
    newer.sort();
    assert_eq!(summary.read_only, newer);
    let listed: Vec<HouseholdId> = a.list_households().unwrap().iter().map(|h| h.id).collect();
    for h in [own.id, h_new, h_newer, h_plain] {
        assert!(listed.contains(&h), "{h} listed");
    }
    assert!(!listed.contains(&h_broken) && !listed.contains(&h_bad));
    assert!(a
        .templates()
        .unwrap()
        .iter()
        .any(|t| t.version == 9 && t.source == "published"));
    assert_eq!(a.policy().unwrap().first_response_minutes, 20);

    // It edits what it may, and refuses to edit the newer-format doc.
    a.edit_household(
        h_new,
        HouseholdEdit {
            phone: Some("13800138000".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let refused = a.edit_household(
        h_newer,
        HouseholdEdit {
            note: Some("改".into()),
            ..Default::default()
        },
    );
    assert!(
        matches!(refused, Err(Error::NewerFormat { found: 2, .. })),
        "{refused:?}"
    );
    a.sync(&url, &token_a, &SyncOptions::default()).unwrap();
    assert!(a.check().unwrap().ok);

    // A newer phone that was never synced gets everything back intact.
    let fresh = phone(dir.path(), "fresh", "gw-n");
    fresh.sync(&url, &token_n, &SyncOptions::default()).unwrap();
    let doc_of = |id: &DocId| AutoCommit::load(&fresh.export_doc(id).unwrap()).unwrap();
    let back = doc_of(&DocId::household(h_new));
    assert_eq!(
        scalar(&back, &ROOT, "wechat_group").as_deref(),
        Some("\"三网格群\"")
    );
    assert_eq!(
        scalar(&back, &ROOT, "phone").as_deref(),
        Some("\"13800138000\"")
    );
    let tags = back.get(ROOT, "tags").unwrap().unwrap().1;
    assert!(scalar(&back, &tags, "new_group_2027").is_some());
    assert_eq!(doc_of(&meeting).get_heads(), new_kind.get_heads());
    assert_eq!(
        doc_of(&DocId::household(h_newer)).get_heads(),
        newer_format.get_heads(),
        "the newer-format doc was not touched by the old phone"
    );
    assert_eq!(
        doc_of(&DocId::household(h_broken)).get_heads(),
        unreadable.get_heads()
    );
    let a_heads: Vec<_> = a.doc_heads().unwrap();
    assert_eq!(fresh.doc_heads().unwrap(), a_heads, "the phones converged");
}

//! Writes the seed corpora of the fuzz targets to `fuzz/corpus/<target>/`:
//! small valid inputs of each (sync bodies and payloads a real phone sends
//! to the real engine, the docs it pushes, register exports, XLSForm
//! workbooks, the default templates' expressions), so that fuzzing starts
//! past the first bytes. Run from the repository root:
//! `bash tests/fuzz.sh --seeds` (it builds this with the targets' flags, so
//! it reuses their build, and links libFuzzer for the coverage hooks).

// The coverage hooks the instrumented crates call (never used here).
use libfuzzer_sys as _;

use gridwork_core::docs::{DocId, DocKind};
use gridwork_core::exchange::{ExportFormat, ExportKind};
use gridwork_core::model::{
    HouseholdEdit, NewCase, NewHazard, NewHousehold, NewResident, NewVisit, Timestamp,
};
use gridwork_core::sync::protocol::{self, SyncRequest};
use gridwork_core::sync::{SyncOptions, Transport};
use gridwork_fuzz::{phone_store, text_workbook, ServerWorld, NOW};
use gridwork_server::sync::{engine, sqlite::SqliteTx};
use std::path::Path;
use std::sync::Mutex;

/// The phone's link to the in-process server, keeping every body.
struct Link {
    world: ServerWorld,
    requests: Mutex<Vec<Vec<u8>>>,
    responses: Mutex<Vec<Vec<u8>>>,
}

impl Transport for Link {
    fn post(&self, _url: &str, _token: &str, body: Vec<u8>) -> gridwork_core::Result<Vec<u8>> {
        let (request, version) = protocol::decode_request(&body)?;
        let response = self.world.db.write(|tx| {
            let mut storage = SqliteTx::new(tx);
            engine::process(&mut storage, &self.world.account, &request, Timestamp(NOW))
                .map_err(|e| gridwork_core::Error::Protocol(e.to_string()))
        })?;
        let reply = protocol::encode_response(&response, version)?;
        self.requests.lock().unwrap().push(body);
        self.responses.lock().unwrap().push(reply.clone());
        Ok(reply)
    }
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

const SURVEY: &str = "#survey
type|name|label::zh|label::en|required|relevant|constraint|constraint_message::zh
begin group|household|住户情况|Household
text|resident|住户姓名|Resident name|yes
integer|people|人数|People|true()||. >= 1 and . <= 20|人数应在1到20之间
decimal|area|面积|Area|no
date|visit_date|日期|Date|?true||. <= today()
time|visit_time|时间|Time
select_one yn|alone|独居|Lives alone|=1
select_multiple needs|needs|需求|Needs|||${alone} = 'yes'|count-selected(.) <= 2
end group
begin_group|checks|检查|Checks||${people} > 0
note|intro|请拍照|Take a photo
image|photo|照片|Photo
geopoint|where|位置|Location
acknowledge|confirmed|已确认|Confirmed
yes_no|fire_ok|消防通道畅通|Fire passages clear||${alone} = 'yes'
calculate|calc|计算|Calc
start|start
end_group
#choices
list_name|name|label::zh|label::en
yn|yes|是|Yes
yn|no|否|No
needs|meal|助餐|Meals
needs|=3|其他|Other
#settings
form_id|version|form_title::zh|form_title::en|category
duty-elder-care|=2024112901|关爱老人|Elder care|duty";

fn main() {
    // Sync: a phone with one of every record syncs twice with the engine.
    let dir = tempfile::tempdir().unwrap();
    let store = phone_store(dir.path());
    let household = store
        .add_household(NewHousehold {
            community: "幸福里".into(),
            building: "3".into(),
            unit: "2".into(),
            room: "0501".into(),
            address: "幸福里3号楼2单元0501室".into(),
            representative: "李四".into(),
            phone: "021-62345678".into(),
            tags: vec!["低保".into()],
            risk: "yellow".into(),
            note: String::new(),
        })
        .unwrap();
    store
        .add_resident(
            household.id,
            NewResident {
                name: "王五".into(),
                id_number: "11010519491231002X".into(),
                phone: "13800138000".into(),
                relation: "户主".into(),
                ..NewResident::default()
            },
        )
        .unwrap();
    store
        .record_visit(NewVisit {
            household: household.id,
            note: "走访".into(),
            ..Default::default()
        })
        .unwrap();
    store
        .open_case(NewCase {
            category: "环境卫生".into(),
            description: "楼道堆物".into(),
            household: Some(household.id),
            ..Default::default()
        })
        .unwrap();
    store
        .report_hazard(NewHazard {
            category: "消防".into(),
            description: "灭火器过期".into(),
            place: "3号楼".into(),
            ..Default::default()
        })
        .unwrap();
    let link = Link {
        world: ServerWorld::new(),
        requests: Mutex::new(Vec::new()),
        responses: Mutex::new(Vec::new()),
    };
    let options = SyncOptions::default();
    store
        .sync_with(&link, "http://server", "token", &options)
        .unwrap();
    store
        .edit_household(
            household.id,
            HouseholdEdit {
                phone: Some("13900139000".into()),
                ..HouseholdEdit::default()
            },
        )
        .unwrap();
    store
        .sync_with(&link, "http://server", "token", &options)
        .unwrap();
    let mut docs = 0;
    for (i, body) in link.requests.lock().unwrap().iter().enumerate() {
        write("sync_decode", &format!("request-{i}"), body);
        let (request, _): (SyncRequest, u16) = protocol::decode_request(body).unwrap();
        write(
            "sync_engine",
            &format!("request-{i}"),
            &postcard::to_stdvec(&request).unwrap(),
        );
        for push in &request.pushes {
            let kind = DocId(push.id.clone()).kind().unwrap_or(DocKind::Unknown);
            let mode = DocKind::ALL.iter().position(|k| *k == kind).unwrap_or(15) as u8;
            let mut seed = vec![mode];
            seed.extend_from_slice(&push.changes);
            write("doc_materialize", &format!("doc-{docs}"), &seed);
            docs += 1;
        }
    }
    for (i, body) in link.responses.lock().unwrap().iter().enumerate() {
        write("sync_decode", &format!("response-{i}"), body);
    }
    // Programs that build docs (high bit set): a household-like root.
    write(
        "doc_materialize",
        "program-household",
        &[0x80, 0, 0, 0, 2, 0, 9, 0, 8, 0, 79, 9, 9, 0, 10, 0, 11, 3],
    );

    // Register: the phone's exports, raw and as text workbooks.
    let csv = store
        .export(ExportKind::Households, ExportFormat::Csv)
        .unwrap();
    write("register_import_csv", "export.csv", &csv);
    let xlsx = store
        .export(ExportKind::Households, ExportFormat::Xlsx)
        .unwrap();
    write(
        "register_import_xlsx",
        "export-raw",
        &[&[0u8][..], &xlsx].concat(),
    );
    let text = String::from_utf8_lossy(&csv)
        .trim_start_matches('\u{feff}')
        .replace(',', "|")
        .replace('\r', "");
    write(
        "register_import_xlsx",
        "export-text",
        format!("\u{1}#register\n{text}").as_bytes(),
    );

    // XLSForm: the importer tests' workbook, as text and as an xlsx.
    write(
        "xlsform_import",
        "survey-text",
        format!("\u{3}{SURVEY}").as_bytes(),
    );
    let book = text_workbook(SURVEY).unwrap();
    write(
        "xlsform_import",
        "survey-raw",
        &[&[0u8][..], &book].concat(),
    );

    // A sheet spanning the whole grid (once a 512 GiB allocation).
    let mut corners = rust_xlsxwriter::Workbook::new();
    let sheet = corners.add_worksheet();
    sheet.set_name("survey").unwrap();
    sheet.write_string(0, 0, "type").unwrap();
    sheet.write_string(1_048_575, 16_383, "name").unwrap();
    let corners = corners.save_to_buffer().unwrap();
    for target in ["xlsform_import", "register_import_xlsx"] {
        write(target, "corners-raw", &[&[0u8][..], &corners].concat());
    }

    // Expressions: every one of the default templates, and a few more.
    let mut expressions: Vec<String> = gridwork_core::forms::default_pack::all()
        .iter()
        .flat_map(|t| t.fields.iter())
        .flat_map(|f| [f.relevant.clone(), f.constraint.clone()])
        .flatten()
        .collect();
    expressions.extend(
        [
            "${a} + 2 * -3 div 4 mod 5 >= 1 or not(${b} != 'x')",
            "selected(${needs}, 'meal') and count-selected(.) <= 2",
            "string-length(.) = 18 and regex(., '^[0-9]{17}[0-9X]$')",
            ". <= today() and . >= date('2020-01-01')",
            "if(${x} > 0, concat('a', ${y}), '')",
        ]
        .map(String::from),
    );
    expressions.sort();
    expressions.dedup();
    for (i, e) in expressions.iter().enumerate() {
        write("expr_parse", &format!("expr-{i}"), e.as_bytes());
    }
    println!(
        "seeds written: {} requests, {docs} docs, {} expressions",
        link.requests.lock().unwrap().len(),
        expressions.len()
    );
}

//! The sync benchmark (issue 3): `bench --sync`.
//!
//! Starts the real `gridwork-server` (release binary when the bench runs in
//! release) on a temp data directory with a grid tree T → C → C-1 → G1 and two
//! gridworkers of G1. Phone P1 (gw-1) generates the demo grid and syncs it up;
//! phone P2 (gw-2) starts empty and measures, against baselines taken in the
//! same run:
//!
//! * the first sync of the whole grid, vs. gzip'd JSON of the same data;
//! * one offline day (10 visits, 5 household edits, 3 case transitions) while
//!   P1 makes 2 household edits and syncs first, then ONE sync of P2: bytes,
//!   HTTP round trips and the server's CPU time, vs. gzip'd JSON of the day's
//!   changes and vs. the stock Automerge sync protocol run doc by doc on the
//!   same documents with sync states persisted from before the day.

use crate::bench::report::{self, Row};
use crate::bench::timing::answers;
use crate::bench::{size, thread_cpu_ns, timed, Export, Res};
use automerge::sync::{Message, State, SyncDoc};
use automerge::Automerge;
use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::Compression;
use gridwork_core::demo::{self, DemoOptions};
use gridwork_core::docs::DocId;
use gridwork_core::model::{
    Case, CaseId, HouseholdEdit, HouseholdId, Location, NewCase, NewVisit, Transition, Visit,
    Workflow,
};
use gridwork_core::sync::protocol::{self, SyncRequest, SyncResponse};
use gridwork_core::sync::{HttpTransport, SyncOptions, SyncSummary, Transport};
use gridwork_core::Store;
use gridwork_tests::server::Server;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

#[path = "stock.rs"]
mod stock;
use stock::{persisted_states, stock_day};

/// Largest acceptable ratio of the first sync's download to gzip'd JSON.
const FIRST_SYNC_TARGET: f64 = 1.3;
/// Largest acceptable ratio of a day's sync bytes to gzip'd JSON of the day.
const DAY_JSON_TARGET: f64 = 2.0;
/// A day's sync must cost less than the stock protocol (ratio below 1).
const DAY_STOCK_TARGET: f64 = 1.0;
/// HTTP round trips allowed for a day's sync.
const DAY_ROUND_TRIPS_TARGET: u32 = 1;
/// Visits, household edits and case transitions of the offline day on P2.
const DAY_VISITS: usize = 10;
const DAY_EDITS: usize = 5;
const DAY_TRANSITIONS: usize = 3;
/// Household edits made on P1 (synced before P2: the server's news for P2).
const SERVER_EDITS: usize = 2;
/// Safety cap of the stock-protocol simulation, per doc.
const MAX_STOCK_ROUNDS: usize = 64;

/// One household edit as the JSON baseline carries it: id + changed fields.
#[derive(Clone, Debug, Serialize)]
struct FieldEdit {
    household: HouseholdId,
    phone: String,
    representative: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    add_tags: Vec<String>,
}

impl FieldEdit {
    fn apply(&self, store: &Store) -> Res<()> {
        store.edit_household(
            self.household,
            HouseholdEdit {
                phone: Some(self.phone.clone()),
                representative: Some(self.representative.clone()),
                add_tags: self.add_tags.clone(),
                ..HouseholdEdit::default()
            },
        )?;
        Ok(())
    }
}

/// One case transition as the JSON baseline carries it.
#[derive(Serialize)]
struct CaseTransition {
    case: CaseId,
    transition: Transition,
}

/// The day's changes, both ways, as plain JSON: the baseline of the day.
#[derive(Serialize)]
struct DayJson<'a> {
    visits: &'a [Visit],
    household_edits: &'a [FieldEdit],
    #[serde(skip_serializing_if = "<[Case]>::is_empty")]
    opened_cases: &'a [Case],
    case_transitions: &'a [CaseTransition],
    server_edits: &'a [FieldEdit],
}

/// The server process's CPU time at one instant.
#[derive(Clone, Copy)]
pub(crate) struct CpuSample {
    /// utime + stime from `/proc/<pid>/stat`, clock ticks.
    ticks: Option<u64>,
    /// Sum of every thread's on-CPU time from `/proc/<pid>/task/*/schedstat`.
    sched_ns: Option<u64>,
}

/// CPU time a process spent between two samples.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct CpuSpent {
    /// From utime + stime (resolution: one clock tick, usually 10 ms).
    pub(crate) stat_ms: Option<f64>,
    /// From the threads' schedstat (nanosecond resolution; threads that
    /// exited in between are missed).
    pub(crate) sched_ms: Option<f64>,
}

impl CpuSample {
    pub(crate) fn take(pid: Option<u32>) -> CpuSample {
        CpuSample {
            ticks: pid.and_then(stat_ticks),
            sched_ns: pid.and_then(sched_ns),
        }
    }

    pub(crate) fn until(self, later: CpuSample) -> CpuSpent {
        // SAFETY: sysconf only reads a configuration value.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        CpuSpent {
            stat_ms: self
                .ticks
                .zip(later.ticks)
                .filter(|_| hz > 0.0)
                .map(|(a, b)| b.saturating_sub(a) as f64 * 1e3 / hz),
            sched_ms: self
                .sched_ns
                .zip(later.sched_ns)
                .map(|(a, b)| b.saturating_sub(a) as f64 / 1e6),
        }
    }
}

impl CpuSpent {
    fn show(&self) -> String {
        let stat = self.stat_ms.map(report::ms).unwrap_or_else(|| "n/a".into());
        match self.sched_ms {
            Some(s) => format!("{stat} (schedstat {})", report::ms(s)),
            None => stat,
        }
    }
}

/// utime + stime of a process, in clock ticks.
fn stat_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its ')'.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// On-CPU nanoseconds of every live thread of a process.
fn sched_ns(pid: u32) -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        let text = std::fs::read_to_string(path).ok()?;
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// `/proc/loadavg`'s first three fields.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

fn gzip_len(value: &impl Serialize) -> Res<(u64, u64)> {
    let json = serde_json::to_vec(value)?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&json)?;
    Ok((json.len() as u64, gz.finish()?.len() as u64))
}

fn deflate_len<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Res<u64> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    let mut any = false;
    for part in parts {
        encoder.write_all(part)?;
        any = true;
    }
    // No message at all is no body at all.
    Ok(if any {
        encoder.finish()?.len() as u64
    } else {
        0
    })
}

/// Each doc's heads (hex), by id.
fn heads_of(store: &Store) -> Res<BTreeMap<String, Vec<String>>> {
    Ok(store
        .doc_heads()?
        .into_iter()
        .map(|d| {
            let mut heads = d.heads;
            heads.sort();
            (d.id, heads)
        })
        .collect())
}

fn sync(store: &Store, server: &Server, token: &str) -> Res<SyncSummary> {
    Ok(store.sync(&server.url, token, &SyncOptions::default())?)
}

/// The production HTTP transport, keeping a copy of every body both ways
/// (what `Store::sync` does, plus the copies).
struct Recorder {
    inner: HttpTransport,
    bodies: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl Transport for Recorder {
    fn post(&self, url: &str, token: &str, body: Vec<u8>) -> gridwork_core::Result<Vec<u8>> {
        let reply = self.inner.post(url, token, body.clone())?;
        self.bodies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((body, reply.clone()));
        Ok(reply)
    }
}

/// Sync through the production transport and take apart what went over the
/// wire.
fn recorded_sync(store: &Store, server: &Server, token: &str) -> Res<(SyncSummary, Wire)> {
    let recorder = Recorder {
        inner: HttpTransport::new()?,
        bodies: Mutex::new(Vec::new()),
    };
    let summary = store.sync_with(&recorder, &server.url, token, &SyncOptions::default())?;
    let bodies = recorder
        .bodies
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    Ok((summary, Wire::of(&bodies)?))
}

/// Where the bytes of a sync's bodies go, before deflate (postcard).
#[derive(Debug, Default, Serialize)]
struct Wire {
    requests: usize,
    /// Decompressed request bodies.
    request_raw: u64,
    pushes: usize,
    push_ids: u64,
    push_heads: u64,
    push_changes: u64,
    /// Decompressed response bodies.
    response_raw: u64,
    pulls: usize,
    /// Pulls with no data (acknowledgements of pushes).
    bare_acks: usize,
    pull_ids: u64,
    pull_heads: u64,
    pull_data: u64,
}

fn inflated_len(body: &[u8]) -> Res<u64> {
    Ok(protocol::decompress_payload(body)?.len() as u64)
}

impl Wire {
    fn of(bodies: &[(Vec<u8>, Vec<u8>)]) -> Res<Wire> {
        let mut w = Wire::default();
        for (up, down) in bodies {
            let request: SyncRequest = protocol::decode(up)?;
            let response: SyncResponse = protocol::decode(down)?;
            w.requests += 1;
            w.request_raw += inflated_len(up)?;
            w.response_raw += inflated_len(down)?;
            for p in &request.pushes {
                w.pushes += 1;
                w.push_ids += p.id.len() as u64;
                w.push_heads += 32 * p.heads.len() as u64;
                w.push_changes += p.changes.len() as u64;
            }
            for d in &response.docs {
                w.pulls += 1;
                w.bare_acks += usize::from(d.data.is_empty());
                w.pull_ids += d.id.len() as u64;
                w.pull_heads += 32 * d.heads.len() as u64;
                w.pull_data += d.data.len() as u64;
            }
        }
        Ok(w)
    }

    fn up(&self) -> String {
        format!(
            "{} = {} + {} + {}",
            report::bytes(self.request_raw),
            report::bytes(self.push_ids),
            report::bytes(self.push_heads),
            report::bytes(self.push_changes)
        )
    }

    fn down(&self) -> String {
        format!(
            "{} = {} + {} + {}",
            report::bytes(self.response_raw),
            report::bytes(self.pull_ids),
            report::bytes(self.pull_heads),
            report::bytes(self.pull_data)
        )
    }

    fn up_label(&self) -> String {
        format!(
            "    request before deflate, {} pushes: ids + heads + changes",
            self.pushes
        )
    }

    fn down_label(&self) -> String {
        format!(
            "    {} before deflate, {} docs ({} bare acks): ids + heads + data",
            if self.requests == 1 {
                "response"
            } else {
                "responses"
            },
            self.pulls,
            self.bare_acks
        )
    }
}

/// What the whole docs of the first sync weigh, encoded three ways.
#[derive(Debug, Serialize)]
struct WholeDocs {
    /// Sum of `doc.save()` (columns deflated per doc when large).
    saved: u64,
    /// Every `doc.save()` through one deflate stream.
    saved_deflated: u64,
    /// Every `doc.save_nocompress()` through one deflate stream.
    nocompress_deflated: u64,
}

struct WholeDocsAcc {
    saved: u64,
    saved_stream: DeflateEncoder<Vec<u8>>,
    nocompress_stream: DeflateEncoder<Vec<u8>>,
}

impl WholeDocsAcc {
    fn new() -> WholeDocsAcc {
        WholeDocsAcc {
            saved: 0,
            saved_stream: DeflateEncoder::new(Vec::new(), Compression::default()),
            nocompress_stream: DeflateEncoder::new(Vec::new(), Compression::default()),
        }
    }

    fn add(&mut self, doc: &Automerge) -> Res<()> {
        let saved = doc.save();
        self.saved += saved.len() as u64;
        self.saved_stream.write_all(&saved)?;
        self.nocompress_stream.write_all(&doc.save_nocompress())?;
        Ok(())
    }

    fn finish(self) -> Res<WholeDocs> {
        Ok(WholeDocs {
            saved: self.saved,
            saved_deflated: self.saved_stream.finish()?.len() as u64,
            nocompress_deflated: self.nocompress_stream.finish()?.len() as u64,
        })
    }
}

pub(crate) fn issue_token(server: &Server, worker: &str) -> Res<String> {
    Ok(server.admin(&["token", "issue", worker])["token"]
        .as_str()
        .ok_or("admin token issue printed no token")?
        .to_string())
}

/// What the day on P2 did.
pub(crate) struct Day {
    visits: Vec<Visit>,
    edits: Vec<FieldEdit>,
    opened_cases: Vec<Case>,
    transitions: Vec<CaseTransition>,
}

const NAMES: [&str; 8] = [
    "陈建国",
    "李秀英",
    "王志强",
    "张桂兰",
    "刘振华",
    "杨淑珍",
    "赵国庆",
    "黄美玲",
];
const TAGS: [&str; 3] = ["low_income", "elderly_alone", "disabled"];

/// The offline day on P2.
pub(crate) fn offline_day(p2: &Store, households: &[HouseholdId]) -> Res<Day> {
    let n = households.len();
    let answers = answers();
    let mut visits = Vec::new();
    for i in 0..DAY_VISITS {
        visits.push(p2.record_visit(NewVisit {
            household: households[i % n],
            location: Some(Location {
                lat: 31.22,
                lon: 121.54,
                accuracy_m: Some(12.0),
            }),
            answers: answers.clone(),
            note: "例行走访".into(),
            ..NewVisit::default()
        })?);
    }
    let mut edits = Vec::new();
    for i in 0..DAY_EDITS {
        let edit = FieldEdit {
            household: households[(DAY_VISITS + i) % n],
            phone: format!("139{:08}", 10_000 + i),
            representative: NAMES[i % NAMES.len()].into(),
            add_tags: vec![TAGS[i % TAGS.len()].into()],
        };
        edit.apply(p2)?;
        edits.push(edit);
    }
    let mut opened_cases = Vec::new();
    let mut transitions = Vec::new();
    let mut cases: Vec<Case> = p2
        .list_cases(true)?
        .into_iter()
        .filter(|c| !c.status.next().is_empty())
        .take(DAY_TRANSITIONS)
        .collect();
    while cases.len() < DAY_TRANSITIONS {
        let case = p2.open_case(NewCase {
            category: "环境卫生".into(),
            description: "楼道堆放杂物，需清理".into(),
            household: Some(households[opened_cases.len() % n]),
            ..NewCase::default()
        })?;
        opened_cases.push(case.clone());
        cases.push(case);
    }
    for case in cases {
        let to = case.status.next()[0];
        let known: BTreeSet<_> = case.transitions.iter().map(|t| t.id).collect();
        let after = p2.transition_case(case.id, to.code(), "当日处理")?;
        let transition = after
            .transitions
            .into_iter()
            .find(|t| !known.contains(&t.id))
            .ok_or("transition_case recorded no transition")?;
        transitions.push(CaseTransition {
            case: case.id,
            transition,
        });
    }
    Ok(Day {
        visits,
        edits,
        opened_cases,
        transitions,
    })
}

/// Run the sync benchmark on a demo grid of `households` × `years`.
pub fn run(households: u32, years: u32, seed: u64) -> Res<()> {
    let dir = tempfile::Builder::new()
        .prefix("gridwork-sync-bench-")
        .tempdir()?;
    eprintln!("bench: working in {}", dir.path().display());
    let load_start = load_average();
    let mut server = Server::start(&dir.path().join("server"), &["--no-rate-limits"]);
    let result = run_with(dir.path(), &server, households, years, seed, &load_start);
    let exit = server.stop();
    dir.close()?;
    result?;
    if exit != Some(0) {
        eprintln!("bench: gridwork-server exited with {exit:?} on SIGTERM");
    }
    Ok(())
}

fn run_with(
    dir: &Path,
    server: &Server,
    households: u32,
    years: u32,
    seed: u64,
    load_start: &str,
) -> Res<()> {
    let pid = server.pid();
    // Setup: grid tree, two gridworkers of G1, their tokens.
    for args in [
        ["grid", "add", "T", "--name", "演示镇"].as_slice(),
        &["grid", "add", "C", "--name", "幸福社区", "--parent", "T"],
        &["grid", "add", "C-1", "--name", "片区一", "--parent", "C"],
        &["grid", "add", "G1", "--name", "第一网格", "--parent", "C-1"],
    ] {
        server.admin(args);
    }
    for (id, name) in [("gw-1", "网格员一"), ("gw-2", "网格员二")] {
        server.admin(&[
            "worker",
            "add",
            id,
            "--name",
            name,
            "--role",
            "gridworker",
            "--grid",
            "G1",
        ]);
    }
    let token1 = issue_token(server, "gw-1")?;
    let token2 = issue_token(server, "gw-2")?;

    // P1 generates the grid and uploads it.
    let p1 = Store::open(dir.join("p1.db"), None)?;
    p1.init("gw-1", "网格员一", "G1")?;
    let options = DemoOptions {
        households,
        years,
        seed,
    };
    let (counts, demo_ms) = timed(|| {
        Ok(demo::generate(&p1, options, |done, total| {
            if done % 10 == 0 || done == total {
                eprint!("\rbench: generating demo grid {done}/{total}");
            }
        })?)
    })?;
    eprintln!();
    let data = Export::collect(&p1)?;
    let (json_bytes, gz_bytes) = size::gzip_json(&data)?;
    eprintln!("bench: P1 uploads the grid");
    let (upload, upload_ms) = timed(|| sync(&p1, server, &token1))?;

    // First sync of the whole grid to the empty P2.
    let p2 = Store::open(dir.join("p2.db"), None)?;
    p2.init("gw-2", "网格员二", "G1")?;
    eprintln!("bench: first sync of the empty phone P2");
    let cpu_before = CpuSample::take(pid);
    let ((first, first_wire), first_ms) = timed(|| recorded_sync(&p2, server, &token2))?;
    let first_cpu = cpu_before.until(CpuSample::take(pid));
    let first_same_data =
        serde_json::to_value(Export::collect(&p2)?)? == serde_json::to_value(&data)?;
    // P1 catches up with anything P2 pushed, so P1 == server for G1.
    let p1_catch_up = sync(&p1, server, &token1)?;
    let pre_day = heads_of(&p2)?;
    let pre_day_converged = pre_day == heads_of(&p1)?;
    let docs_on_phone = pre_day.len();

    eprintln!("bench: stock protocol, pre-day sync states for {docs_on_phone} docs");
    let (states, whole_docs) = persisted_states(&p2, &p1)?;

    // The offline day on P2; meanwhile P1 edits 2 households and syncs first.
    eprintln!("bench: one offline day on P2, two edits on P1");
    let list: Vec<HouseholdId> = p2.list_households()?.iter().map(|h| h.id).collect();
    if list.is_empty() {
        return Err("P2 received no households".into());
    }
    let day = offline_day(&p2, &list)?;
    let mut server_edits = Vec::new();
    for i in 0..SERVER_EDITS {
        let edit = FieldEdit {
            household: list[(DAY_VISITS + DAY_EDITS + i) % list.len()],
            phone: format!("137{:08}", 20_000 + i),
            representative: NAMES[(i + 5) % NAMES.len()].into(),
            add_tags: Vec::new(),
        };
        edit.apply(&p1)?;
        server_edits.push(edit);
    }
    let p1_day = sync(&p1, server, &token1)?;
    let dirty_before = p2.dirty_docs()?.len();

    eprintln!("bench: stock protocol over every doc after the day");
    let stock = stock_day(&p2, &p1, &pre_day, &states)?;

    eprintln!("bench: P2 syncs the day");
    let cpu_before = CpuSample::take(pid);
    let ((day_sync, day_wire), day_ms) = timed(|| recorded_sync(&p2, server, &token2))?;
    let day_cpu = cpu_before.until(CpuSample::take(pid));
    let got_server_edits = server_edits.iter().all(|e| {
        p2.household(e.household)
            .is_ok_and(|h| h.phone == e.phone && h.representative == e.representative)
    });
    let p1_after = sync(&p1, server, &token1)?;
    let converged = heads_of(&p1)? == heads_of(&p2)?;

    let day_json = DayJson {
        visits: &day.visits,
        household_edits: &day.edits,
        opened_cases: &day.opened_cases,
        case_transitions: &day.transitions,
        server_edits: &server_edits,
    };
    let (day_json_bytes, day_gz_bytes) = gzip_len(&day_json)?;
    let load_end = load_average();

    // Report.
    let profile = if cfg!(debug_assertions) {
        "debug build: figures are NOT representative"
    } else {
        "release build"
    };
    println!();
    println!(
        "Gridwork sync bench — demo grid {households} households × {years} years (seed {seed}); \
         real gridwork-server on 127.0.0.1; {profile}"
    );
    println!(
        "load average (1/5/15 min): {load_start} at the start, {load_end} after the measurements; {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "demo generated on P1 in {:.1} s: {} households, {} residents, {} visits, {} hazards, {} cases, \
         {} form records; {docs_on_phone} docs on P2 after its first sync",
        demo_ms / 1e3,
        counts.households,
        counts.residents,
        counts.visits,
        counts.hazards,
        counts.cases,
        counts.forms,
    );
    println!(
        "day on P2: {} visits (12 answers each), {} household edits (phone, representative, tag), \
         {} case transitions{}; on P1: {} household edits (phone, representative), synced first",
        day.visits.len(),
        day.edits.len(),
        day.transitions.len(),
        if day.opened_cases.is_empty() {
            String::new()
        } else {
            format!(" (on {} cases opened for it)", day.opened_cases.len())
        },
        server_edits.len(),
    );
    println!();
    let first_ratio = first.bytes_down as f64 / gz_bytes as f64;
    let day_bytes = day_sync.bytes_up + day_sync.bytes_down;
    let day_json_ratio = day_bytes as f64 / day_gz_bytes as f64;
    let day_stock_ratio = day_bytes as f64 / stock.all.deflated() as f64;
    let rows = vec![
        Row::info(
            "setup: P1 uploads the grid (bytes up / down)",
            format!(
                "{} / {}",
                report::bytes(upload.bytes_up),
                report::bytes(upload.bytes_down)
            ),
        ),
        Row::info(
            "    round trips, docs up, wall time",
            format!(
                "{}, {}, {}",
                upload.round_trips,
                upload.docs_up,
                report::ms(upload_ms)
            ),
        ),
        Row::ratio(
            "(1) first sync to empty P2: bytes down vs JSON.gz",
            report::bytes(first.bytes_down),
            report::bytes(gz_bytes),
            first_ratio,
            Some(FIRST_SYNC_TARGET),
        ),
        Row::ratio(
            "    bytes down vs JSON uncompressed",
            report::bytes(first.bytes_down),
            report::bytes(json_bytes),
            first.bytes_down as f64 / json_bytes as f64,
            None,
        ),
        Row::info(&first_wire.down_label(), first_wire.down()),
        Row::ratio(
            "    whole docs: sum of doc.save() vs JSON.gz",
            report::bytes(whole_docs.saved),
            report::bytes(gz_bytes),
            whole_docs.saved as f64 / gz_bytes as f64,
            None,
        ),
        Row::ratio(
            "    whole docs: doc.save() in one deflate stream",
            report::bytes(whole_docs.saved_deflated),
            report::bytes(gz_bytes),
            whole_docs.saved_deflated as f64 / gz_bytes as f64,
            None,
        ),
        Row::ratio(
            "    whole docs: doc.save_nocompress() in one deflate stream",
            report::bytes(whole_docs.nocompress_deflated),
            report::bytes(gz_bytes),
            whole_docs.nocompress_deflated as f64 / gz_bytes as f64,
            None,
        ),
        Row::info("    bytes up", report::bytes(first.bytes_up)),
        Row::info(
            "    round trips, docs down",
            format!("{}, {}", first.round_trips, first.docs_down),
        ),
        Row::info("    wall time", report::ms(first_ms)),
        Row::info("    server CPU time", first_cpu.show()),
        Row::limit(
            "(2) day sync of P2: HTTP round trips vs stock, batched",
            day_sync.round_trips.to_string(),
            stock.all.round_trips.to_string(),
            day_sync.round_trips as f64 / stock.all.round_trips.max(1) as f64,
            day_sync.round_trips as f64,
            DAY_ROUND_TRIPS_TARGET as f64,
            &DAY_ROUND_TRIPS_TARGET.to_string(),
        ),
        Row::ratio(
            "    bytes up + down vs the day as JSON.gz",
            report::bytes(day_bytes),
            report::bytes(day_gz_bytes),
            day_json_ratio,
            Some(DAY_JSON_TARGET),
        ),
        Row::ratio(
            "    bytes up + down vs stock protocol, deflated",
            report::bytes(day_bytes),
            report::bytes(stock.all.deflated()),
            day_stock_ratio,
            Some(DAY_STOCK_TARGET),
        ),
        Row::ratio(
            "    bytes up + down vs stock protocol, raw",
            report::bytes(day_bytes),
            report::bytes(stock.all.raw()),
            day_bytes as f64 / stock.all.raw() as f64,
            None,
        ),
        Row::ratio(
            "    bytes up vs stock phone → server, deflated",
            report::bytes(day_sync.bytes_up),
            report::bytes(stock.all.deflated_up),
            day_sync.bytes_up as f64 / stock.all.deflated_up as f64,
            None,
        ),
        Row::ratio(
            "    bytes down vs stock server → phone, deflated",
            report::bytes(day_sync.bytes_down),
            report::bytes(stock.all.deflated_down),
            day_sync.bytes_down as f64 / stock.all.deflated_down as f64,
            None,
        ),
        Row::info(
            "    docs up / down",
            format!("{} / {}", day_sync.docs_up, day_sync.docs_down),
        ),
        Row::info(&day_wire.up_label(), day_wire.up()),
        Row::info(&day_wire.down_label(), day_wire.down()),
        Row::info("    wall time", report::ms(day_ms)),
        Row::info("    server CPU time (utime+stime)", day_cpu.show()),
        Row::info(
            "    stock: server-side Automerge work only, in-process",
            report::ms(stock.all.server_cpu_ms),
        ),
        Row::info(
            "stock protocol: docs, messages",
            format!("{}, {}", stock.all.docs, stock.all.messages),
        ),
        Row::info(
            "    deflated per batched HTTP body (up + down)",
            report::bytes(stock.all.deflated_bodies_up + stock.all.deflated_bodies_down),
        ),
        Row::info(
            &format!("    {} changed docs: raw / deflated", stock.changed.docs),
            format!(
                "{} / {}",
                report::bytes(stock.changed.raw()),
                report::bytes(stock.changed.deflated())
            ),
        ),
        Row::info(
            &format!(
                "    {} unchanged docs (no list of changed docs): raw / deflated",
                stock.unchanged.docs
            ),
            format!(
                "{} / {}",
                report::bytes(stock.unchanged.raw()),
                report::bytes(stock.unchanged.deflated())
            ),
        ),
        Row::info(
            "    raw bytes per unchanged doc",
            format!(
                "{:.0} B",
                stock.unchanged.raw() as f64 / stock.unchanged.docs.max(1) as f64
            ),
        ),
        Row::info("    messages per changed doc", stock.changed.per_doc()),
        Row::info("    messages per unchanged doc", stock.unchanged.per_doc()),
    ];
    report::print_table(&rows);
    println!();
    let checks = [
        (
            first_same_data,
            "P2's data after the first sync equals P1's",
        ),
        (
            pre_day_converged,
            "P1 and P2 have the same docs and heads before the day",
        ),
        (
            got_server_edits,
            "P2 received P1's two household edits in its day sync",
        ),
        (
            converged,
            "P1 and P2 converged after the day (same docs and heads)",
        ),
        (
            stock.all.unconverged == 0,
            "every doc converged under the stock protocol",
        ),
    ];
    for (ok, what) in checks {
        if !ok {
            println!("WARNING: not true: {what}");
        }
    }
    println!(
        "baselines: (1) serde_json of all households with residents, visits, hazards, cases and form \
         records (Store API on P1), gzip default level; (2) JSON of the day's 10 new Visit records, the \
         edited households' id + new field values, the case transitions (with any case opened for them) \
         and P1's 2 edits, gzip default level; stock protocol: automerge::sync per doc over every doc of \
         P2 and the server (P1 after its sync), states persisted (State::encode/decode) after a complete \
         pre-day exchange, phone speaking first; raw = sum of Message::encode lengths both ways; \
         deflated = each direction's messages concatenated and deflated (no doc ids or framing counted); \
         round trips = max over docs of ceil(messages / 2). Server CPU: /proc/<pid>/stat utime+stime \
         ({}-tick resolution) around the sync call; schedstat sums the server's threads.",
        // SAFETY: sysconf only reads a configuration value.
        unsafe { libc::sysconf(libc::_SC_CLK_TCK) }
    );
    let summary = serde_json::json!({
        "bench": "sync",
        "households": households,
        "years": years,
        "seed": seed,
        "release": !cfg!(debug_assertions),
        "load_average": { "start": load_start, "end": load_end },
        "demo": { "ms": demo_ms, "counts": counts, "docs_on_phone": docs_on_phone },
        "setup": { "upload": upload, "upload_ms": upload_ms, "p1_catch_up": p1_catch_up,
                   "p1_day": p1_day, "p1_after": p1_after },
        "first_sync": { "summary": first, "ms": first_ms, "server_cpu": first_cpu,
                        "wire": first_wire, "whole_docs": whole_docs,
                        "json_bytes": json_bytes, "gzip_json_bytes": gz_bytes, "ratio": first_ratio,
                        "target": FIRST_SYNC_TARGET, "pass": first_ratio <= FIRST_SYNC_TARGET },
        "day": {
            "summary": day_sync, "ms": day_ms, "server_cpu": day_cpu, "dirty_docs_before": dirty_before,
            "wire": day_wire,
            "visits": day.visits.len(), "household_edits": day.edits.len(),
            "case_transitions": day.transitions.len(), "cases_opened": day.opened_cases.len(),
            "server_edits": server_edits.len(),
            "bytes": day_bytes,
            "json_bytes": day_json_bytes, "gzip_json_bytes": day_gz_bytes,
            "json_ratio": day_json_ratio, "json_target": DAY_JSON_TARGET,
            "json_pass": day_json_ratio <= DAY_JSON_TARGET,
            "stock_ratio": day_stock_ratio, "stock_target": DAY_STOCK_TARGET,
            "stock_pass": day_stock_ratio <= DAY_STOCK_TARGET,
            "round_trips_target": DAY_ROUND_TRIPS_TARGET,
            "round_trips_pass": day_sync.round_trips <= DAY_ROUND_TRIPS_TARGET,
        },
        "stock": { "all": stock.all, "changed": stock.changed, "unchanged": stock.unchanged },
        "checks": {
            "first_sync_same_data": first_same_data,
            "pre_day_converged": pre_day_converged,
            "server_edits_received": got_server_edits,
            "converged_after_day": converged,
        },
    });
    println!();
    println!("{summary}");
    Ok(())
}

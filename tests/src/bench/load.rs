//! The server load generator (issue 13): `bench --server-load`.
//!
//! Builds a county's worth of phones with real phone stores, records each
//! phone's offline days without sending them, then replays the recorded
//! requests against freshly started copies of the same server, one copy per
//! level of concurrency, each request exactly once:
//!
//! 1. Set-up server: a grid tree with `grids` 4th-level grids (plus
//!    `extra_grids` that only add documents to the server), `phones`
//!    gridworkers per grid, each with a token.
//! 2. Per grid, the first phone generates the demo grid (`households` ×
//!    `years`) and uploads it; every other phone of the grid takes its first
//!    sync from the server.
//! 3. Day after day, every phone makes its day (10 visits, 5 household
//!    edits, 3 case transitions, see [`crate::sync_bench::offline_day`]); the
//!    request it would send is captured (that sync is cancelled, so nothing
//!    on the phone moves), then the phone syncs for real with a copy of the
//!    set-up server so that the next day's request follows from it.
//! 4. For each level (1, 8, 32, 64 in flight by default): copy the set-up
//!    server's data directory (as it was before the days), start
//!    `gridwork-server` on it pinned to CPU 0 (`taskset`), pin the load to
//!    CPU 1, send every recorded request once with that many in flight, a
//!    day's requests all answered before the next day's start, and read the
//!    server's CPU time (utime + stime) and peak RSS (`VmHWM`) from `/proc`.
//! 5. First sync: on another fresh copy, `first_syncs` new phones of grid 1
//!    take their first sync one after another; server CPU per first sync
//!    (schedstat), round trips and bytes down against the gzip'd JSON of the
//!    grid.
//!
//! Figures are printed next to the targets of issue 13, never asserted.

use crate::bench::report::{self, Row};
use crate::bench::{size, Export, Res, Stats};
use crate::load_targets::{copy_dir, Backend, Cluster, Running, SERVER_FLAGS};
use crate::sync_bench::{load_average, offline_day};
use gridwork_core::demo::{self, DemoOptions};
use gridwork_core::model::HouseholdId;
use gridwork_core::sync::{HttpTransport, SyncOptions, Transport};
use gridwork_core::Store;
use gridwork_tests::server::Server;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Targets of issue 13, SQLite.
const TARGET_SYNCS_PER_S: f64 = 400.0;
const TARGET_P99_MS: f64 = 500.0;
const TARGET_CPU_MS_PER_SYNC: f64 = 2.5;
const TARGET_RSS_MIB: f64 = 150.0;
const TARGET_FIRST_SYNC_CPU_MS: f64 = 50.0;
const TARGET_FIRST_SYNC_ROUND_TRIPS: f64 = 3.0;
const TARGET_FIRST_SYNC_RATIO: f64 = 1.3;
/// The level of concurrency the throughput targets are set at.
const TARGET_LEVEL: usize = 64;

/// Sizes of one load run.
#[derive(Clone, Debug, Serialize)]
pub struct LoadOptions {
    /// 4th-level grids with phones.
    pub grids: u32,
    /// Grids whose documents are on the server but whose phones do not sync
    /// in the measurement (to grow the server).
    pub extra_grids: u32,
    /// Phones (gridworkers) per grid with phones.
    pub phones: u32,
    /// Households per grid.
    pub households: u32,
    /// Years of history per grid.
    pub years: u32,
    /// Seed of the demo data.
    pub seed: u64,
    /// Requests in flight, one measurement each.
    pub levels: Vec<usize>,
    /// First syncs measured.
    pub first_syncs: u32,
    /// Days recorded per phone (replayed one day after another).
    pub days: u32,
    /// Keep (and reuse) the built workload in this directory.
    pub workload: Option<PathBuf>,
    /// Backends measured, in order (`--backends sqlite,pg1,pg2`).
    pub backends: Vec<Backend>,
}

impl LoadOptions {
    /// What a saved workload must have been built with to be reused.
    fn key(&self) -> String {
        format!(
            "protocol={} grids={} extra={} phones={} households={} years={} seed={} days={} first={}",
            gridwork_core::sync::protocol::PROTOCOL_VERSION,
            self.grids,
            self.extra_grids,
            self.phones,
            self.households,
            self.years,
            self.seed,
            self.days,
            self.first_syncs
        )
    }

    /// The county of issue 13: 16 grids × 150 households × 5 years.
    pub fn county() -> LoadOptions {
        LoadOptions {
            grids: 16,
            extra_grids: 0,
            phones: 4,
            households: 150,
            years: 5,
            seed: 42,
            levels: vec![1, 8, 32, 64],
            first_syncs: 3,
            days: 4,
            workload: None,
            backends: Backend::all(),
        }
    }

    /// A small preset that finishes in under a minute.
    pub fn small() -> LoadOptions {
        LoadOptions {
            grids: 2,
            extra_grids: 0,
            phones: 8,
            households: 30,
            years: 1,
            seed: 42,
            levels: vec![1, 8, 32, 64],
            first_syncs: 2,
            days: 2,
            workload: None,
            backends: Backend::all(),
        }
    }
}

/// A built workload, saved as `workload.json` beside the set-up server's
/// data directory (`seeded/`) so that `--workload DIR` runs reuse it.
#[derive(Serialize, serde::Deserialize)]
struct Workload {
    /// The options it was built with ([`LoadOptions::key`]).
    key: String,
    grid_json_gz: u64,
    docs: usize,
    phones: usize,
    /// Workers (and tokens) of grid 1 kept for the first-sync measurement.
    first_workers: Vec<(String, String)>,
    /// Seconds the build took.
    setup_s: f64,
    /// Per day, per phone: token and request body (hex).
    days: Vec<Vec<(String, String)>>,
}

/// One phone's recorded day: its token and the request body it would send.
struct Recorded {
    token: String,
    body: Vec<u8>,
}

/// A transport that keeps the request and refuses to send it: the phone's
/// sync stops before anything on the phone changes.
#[derive(Default)]
struct Capture {
    body: Mutex<Option<Vec<u8>>>,
}

impl Transport for Capture {
    fn post(&self, _url: &str, _token: &str, body: Vec<u8>) -> gridwork_core::Result<Vec<u8>> {
        *self.body.lock().unwrap_or_else(|e| e.into_inner()) = Some(body);
        Err(gridwork_core::Error::Cancelled)
    }
}

/// The figures of one level.
#[derive(Debug, Serialize)]
struct Level {
    in_flight: usize,
    requests: usize,
    failures: usize,
    rejected_docs: u64,
    syncs_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_ms_per_sync: Option<f64>,
    bytes_up_per_sync: u64,
    bytes_down_per_sync: u64,
    peak_rss_mib: Option<f64>,
}

/// The first-sync figures.
#[derive(Debug, Serialize)]
struct FirstSync {
    cpu_ms_median: Option<f64>,
    round_trips: u32,
    bytes_down: u64,
    grid_json_gz: u64,
    ratio: f64,
    docs: u32,
}

fn grid_code(g: u32) -> String {
    format!("G{:03}", g + 1)
}

fn worker_id(g: u32, p: u32) -> String {
    format!("gw-{:03}-{:02}", g + 1, p + 1)
}

/// Pin the calling thread (and the threads it starts later) to `cpu`.
fn pin_self(cpu: usize) -> bool {
    // SAFETY: the set is a plain bit mask on the stack, zeroed before use;
    // sched_setaffinity only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Let the calling thread run on every CPU again.
fn unpin_self() {
    // SAFETY: as in `pin_self`.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..cpus_online() {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// CPUs of the machine (not only those this thread may use).
fn cpus_online() -> usize {
    // SAFETY: sysconf only reads a configuration value.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Run `f` over `items` on up to `threads` threads; the first error wins.
fn parallel<T: Sync>(items: &[T], threads: usize, f: impl Fn(&T) -> Res<()> + Sync) -> Res<()> {
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                if let Err(e) = f(item) {
                    *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                    break;
                }
            });
        }
    });
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Build the workload in `wdir` (the set-up server's data directory as it
/// was before the days, and the recorded requests); phones live in `dir`.
fn build(dir: &Path, wdir: &Path, o: &LoadOptions) -> Res<Workload> {
    let seeded = wdir.join("seeded");
    if seeded.exists() {
        std::fs::remove_dir_all(&seeded)?;
    }
    let started = Instant::now();
    let all_grids = o.grids + o.extra_grids;

    // 1. The grid tree, the workers and their tokens.
    let mut setup = Server::start(&seeded, &SERVER_FLAGS);
    setup.admin(&["grid", "add", "T", "--name", "演示镇"]);
    setup.admin(&["grid", "add", "C", "--name", "幸福社区", "--parent", "T"]);
    setup.admin(&["grid", "add", "C-1", "--name", "片区一", "--parent", "C"]);
    for g in 0..all_grids {
        let code = grid_code(g);
        let name = format!("第{}网格", g + 1);
        setup.admin(&["grid", "add", &code, "--name", &name, "--parent", "C-1"]);
    }
    eprintln!(
        "load: adding workers ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    let mut phones: Vec<(u32, u32, String)> = Vec::new();
    for g in 0..all_grids {
        let count = if g < o.grids { o.phones.max(1) } else { 1 };
        for p in 0..count {
            let token = setup.add_gridworker(&worker_id(g, p), &grid_code(g));
            phones.push((g, p, token));
        }
    }
    let first_workers: Vec<(String, String)> = (0..o.first_syncs)
        .map(|k| {
            let worker = format!("gw-first-{:02}", k + 1);
            let token = setup.add_gridworker(&worker, &grid_code(0));
            (worker, token)
        })
        .collect();
    let phone_path = |g: u32, p: u32| dir.join(format!("phone-{}.db", worker_id(g, p)));

    // 2. The first phone of each grid generates it and uploads it.
    eprintln!(
        "load: generating and uploading {all_grids} grids ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    let docs_uploaded = AtomicUsize::new(0);
    let firsts: Vec<&(u32, u32, String)> = phones.iter().filter(|(_, p, _)| *p == 0).collect();
    let done = AtomicUsize::new(0);
    parallel(&firsts, cpus(), |(g, p, token)| {
        let store = Store::open(phone_path(*g, *p), None)?;
        store.init(&worker_id(*g, *p), "网格员", &grid_code(*g))?;
        let options = DemoOptions {
            households: o.households,
            years: o.years,
            seed: o.seed + u64::from(*g),
        };
        demo::generate(&store, options, |_, _| {})?;
        let summary = store.sync(&setup.url, token, &SyncOptions::default())?;
        docs_uploaded.fetch_add(summary.docs_up as usize, Ordering::Relaxed);
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        eprint!("\rload: {n}/{all_grids} grids uploaded");
        if *g >= o.grids {
            drop(store);
            std::fs::remove_file(phone_path(*g, *p))?;
        }
        Ok(())
    })?;
    eprintln!();
    let grid_json_gz = {
        let store = Store::open(phone_path(0, 0), None)?;
        size::gzip_json(&Export::collect(&store)?)?.1
    };

    // The other phones of each measured grid take their first sync.
    let others: Vec<&(u32, u32, String)> = phones
        .iter()
        .filter(|(g, p, _)| *p > 0 && *g < o.grids)
        .collect();
    eprintln!(
        "load: first sync of {} more phones ({:.0} s)",
        others.len(),
        started.elapsed().as_secs_f64()
    );
    let done = AtomicUsize::new(0);
    parallel(&others, cpus(), |(g, p, token)| {
        let store = Store::open(phone_path(*g, *p), None)?;
        store.init(&worker_id(*g, *p), "网格员", &grid_code(*g))?;
        store.sync(&setup.url, token, &SyncOptions::default())?;
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(8) || n == others.len() {
            eprint!("\rload: {n}/{} phones synced", others.len());
        }
        Ok(())
    })?;
    eprintln!();

    // The state every measurement starts from: the set-up server before
    // the days.
    if setup.stop() != Some(0) {
        eprintln!("load: the set-up server did not exit cleanly");
    }
    let recording = dir.join("recording");
    copy_dir(&seeded, &recording)?;
    let mut setup = Server::start(&recording, &SERVER_FLAGS);

    // 3. Every phone's days, each recorded (not sent), then synced for real
    // so that the next day's request follows from it.
    let measured: Vec<(usize, &(u32, u32, String))> = phones
        .iter()
        .filter(|(g, _, _)| *g < o.grids)
        .enumerate()
        .collect();
    let mut days: Vec<Vec<Recorded>> = Vec::new();
    for day in 0..o.days.max(1) {
        eprintln!(
            "load: recording day {} of {} phones ({:.0} s)",
            day + 1,
            measured.len(),
            started.elapsed().as_secs_f64()
        );
        let recorded: Mutex<Vec<(usize, Recorded)>> = Mutex::new(Vec::new());
        parallel(&measured, cpus(), |(i, (g, p, token))| {
            let store = Store::open(phone_path(*g, *p), None)?;
            let mut households: Vec<HouseholdId> =
                store.list_households()?.iter().map(|h| h.id).collect();
            if households.is_empty() {
                return Err(format!("phone {} has no households", worker_id(*g, *p)).into());
            }
            // Each phone of a grid visits and edits its own stretch of
            // households, a new one each day.
            let shift = ((*p + day * o.phones) as usize * 18) % households.len();
            households.rotate_left(shift);
            offline_day(&store, &households)?;
            let capture = Capture::default();
            let _cancelled = store.sync_with(&capture, &setup.url, token, &SyncOptions::default());
            let body = capture
                .body
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .ok_or("the phone sent no request")?;
            recorded.lock().unwrap_or_else(|e| e.into_inner()).push((
                *i,
                Recorded {
                    token: token.clone(),
                    body,
                },
            ));
            Ok(())
        })?;
        // The day is synced for real, phones of a grid one after another
        // (the next day's requests carry its rounds and cursors).
        parallel(&measured, cpus(), |(_, (g, p, token))| {
            let store = Store::open(phone_path(*g, *p), None)?;
            store.sync(&setup.url, token, &SyncOptions::default())?;
            Ok(())
        })?;
        let mut recorded = recorded.into_inner().unwrap_or_else(|e| e.into_inner());
        recorded.sort_by_key(|(i, _)| *i);
        // Interleave grids, as phones of a county sync: phone 1 of every
        // grid, then phone 2 of every grid, …
        let per_grid = o.phones.max(1) as usize;
        let mut by_slot: Vec<Vec<Recorded>> = (0..per_grid).map(|_| Vec::new()).collect();
        for (i, r) in recorded {
            by_slot[i % per_grid].push(r);
        }
        days.push(by_slot.into_iter().flatten().collect());
    }
    setup.stop();
    std::fs::remove_dir_all(&recording)?;
    Ok(Workload {
        key: o.key(),
        grid_json_gz,
        docs: docs_uploaded.into_inner(),
        phones: measured.len(),
        first_workers,
        setup_s: started.elapsed().as_secs_f64(),
        days: days
            .into_iter()
            .map(|day| {
                day.into_iter()
                    .map(|r| (r.token, hex::encode(r.body)))
                    .collect()
            })
            .collect(),
    })
}

/// Run the load generator.
pub fn run(o: &LoadOptions) -> Res<()> {
    let dir = tempfile::Builder::new()
        .prefix("gridwork-load-")
        .tempdir()?;
    eprintln!("load: working in {}", dir.path().display());
    let load_start = load_average();
    let wdir = o
        .workload
        .clone()
        .unwrap_or_else(|| dir.path().join("workload"));
    std::fs::create_dir_all(&wdir)?;
    let saved = wdir.join("workload.json");
    let cached: Option<Workload> = std::fs::read(&saved)
        .ok()
        .and_then(|b| serde_json::from_slice::<Workload>(&b).ok())
        .filter(|w| w.key == o.key() && wdir.join("seeded").exists());
    let workload = match cached {
        Some(w) => {
            eprintln!("load: reusing the workload in {}", wdir.display());
            w
        }
        None => {
            let w = build(dir.path(), &wdir, o)?;
            std::fs::write(&saved, serde_json::to_vec(&w)?)?;
            w
        }
    };
    let result = measure(dir.path(), &wdir.join("seeded"), o, &workload, &load_start);
    dir.close()?;
    result
}

/// Measure every level and the first sync on copies of `seeded`.
fn measure(dir: &Path, seeded: &Path, o: &LoadOptions, w: &Workload, load_start: &str) -> Res<()> {
    let days: Vec<Vec<Recorded>> = w
        .days
        .iter()
        .map(|day| {
            day.iter()
                .map(|(token, body)| {
                    Ok(Recorded {
                        token: token.clone(),
                        body: hex::decode(body)?,
                    })
                })
                .collect::<Res<_>>()
        })
        .collect::<Res<_>>()?;

    // 4. One fresh server (or set of instances) per backend and level.
    let pinned = cpus_online() >= 2;
    let wrapper: &[&str] = if pinned { &["taskset", "-c", "0"] } else { &[] };
    let cluster = if o.backends.iter().any(|b| matches!(b, Backend::Postgres(_))) {
        Some(Cluster::start(seeded, pinned)?)
    } else {
        None
    };
    let mut measured = Vec::new();
    for &backend in &o.backends {
        let mut levels = Vec::new();
        for &in_flight in &o.levels {
            let run_dir = dir.join(format!("run-{in_flight}"));
            let running = Running::start(backend, seeded, cluster.as_ref(), &run_dir, wrapper)?;
            let level = replay(&running, &days, in_flight, pinned)?;
            eprintln!(
                "load: {}: {in_flight:>3} in flight: {:.0} syncs/s, p99 {:.0} ms, {} failures",
                backend.label(),
                level.syncs_per_s,
                level.p99_ms,
                level.failures
            );
            levels.push(level);
            running.stop(cluster.as_ref())?;
        }
        // 5. First syncs on a fresh copy.
        let first = first_syncs(dir, seeded, backend, cluster.as_ref(), w, wrapper, pinned)?;
        measured.push(Measured {
            backend,
            levels,
            first_sync: first,
        });
    }
    let load_end = load_average();
    print_report(o, &measured, w, pinned, (load_start, &load_end));
    Ok(())
}

/// The figures of one backend.
#[derive(Debug, Serialize)]
struct Measured {
    backend: Backend,
    levels: Vec<Level>,
    first_sync: FirstSync,
}

/// Send every recorded request once, day after day (a day's requests all
/// answered before the next day's start), `in_flight` at a time; figures
/// of the run.
fn replay(srv: &Running, days: &[Vec<Recorded>], in_flight: usize, pinned: bool) -> Res<Level> {
    let total: usize = days.iter().map(Vec::len).sum();
    let in_flight = in_flight.max(1);
    // The load runs on CPU 1: this thread, the threads it starts and the
    // clients' own runtime threads.
    let main_pinned = pinned && pin_self(1);
    let transports: Vec<HttpTransport> = (0..in_flight)
        .map(|_| HttpTransport::new())
        .collect::<Result<_, _>>()?;
    let results: Mutex<Vec<Sent>> = Mutex::new(Vec::new());
    let cpu_before = srv.cpu();
    let started = Instant::now();
    for requests in days {
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for transport in &transports {
                let (next, results) = (&next, &results);
                s.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(r) = requests.get(i) else { break };
                        mine.push(send(transport, &srv.url(i), r));
                    }
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(mine);
                });
            }
        });
    }
    if main_pinned {
        unpin_self();
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu_ms = Running::cpu_ms(cpu_before, srv.cpu(), false);
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    let n = results.len().max(1);
    let latencies: Vec<f64> = results.iter().map(|r| r.0).collect();
    let stats = Stats::of(&latencies);
    Ok(Level {
        in_flight,
        requests: results.len(),
        failures: results.iter().filter(|r| !r.1).count() + (total - results.len()),
        rejected_docs: results.iter().map(|r| r.4).sum(),
        syncs_per_s: results.len() as f64 / wall,
        p50_ms: stats.median,
        p99_ms: percentile(&latencies, 0.99),
        cpu_ms_per_sync: cpu_ms.map(|ms| ms / n as f64),
        bytes_up_per_sync: results.iter().map(|r| r.2).sum::<u64>() / n as u64,
        bytes_down_per_sync: results.iter().map(|r| r.3).sum::<u64>() / n as u64,
        peak_rss_mib: srv.peak_rss_mib(),
    })
}

/// One request sent: (ms, answered and decoded, bytes up, bytes down, docs
/// rejected).
type Sent = (f64, bool, u64, u64, u64);

/// Send one recorded request.
fn send(transport: &HttpTransport, url: &str, r: &Recorded) -> Sent {
    use gridwork_core::sync::protocol::decode_response;
    let t = Instant::now();
    let reply = transport.post(url, &r.token, r.body.clone());
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let up = r.body.len() as u64;
    match reply {
        Ok(body) => match decode_response(&body) {
            Ok(response) => (
                ms,
                true,
                up,
                body.len() as u64,
                response.rejected.len() as u64,
            ),
            Err(_) => (ms, false, up, body.len() as u64, 0),
        },
        Err(e) => {
            eprintln!("load: request failed: {e}");
            (ms, false, up, 0, 0)
        }
    }
}

/// The `q` quantile (nearest rank).
fn percentile(samples: &[f64], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// First syncs of new phones of grid 1, one after another, on a fresh copy
/// of the set-up server on `backend` (the first instance).
fn first_syncs(
    dir: &Path,
    seeded: &Path,
    backend: Backend,
    cluster: Option<&Cluster>,
    w: &Workload,
    wrapper: &[&str],
    pinned: bool,
) -> Res<FirstSync> {
    let running = Running::start(backend, seeded, cluster, &dir.join("run-first"), wrapper)?;
    // The phone runs on CPU 1, away from the server's.
    let main_pinned = pinned && pin_self(1);
    let mut cpu = Vec::new();
    let mut last = None;
    for (worker, token) in &w.first_workers {
        let path: PathBuf = dir.join(format!("phone-{backend:?}-{worker}.db"));
        let store = Store::open(&path, None)?;
        store.init(worker, "网格员", &grid_code(0))?;
        let before = running.cpu();
        let summary = store.sync(running.base_url(), token, &SyncOptions::default())?;
        if let Some(ms) = Running::cpu_ms(before, running.cpu(), true) {
            cpu.push(ms);
        }
        last = Some(summary);
    }
    if main_pinned {
        unpin_self();
    }
    running.stop(cluster)?;
    let summary = last.ok_or("no first sync was measured (--first-syncs 0)")?;
    Ok(FirstSync {
        cpu_ms_median: Stats::of_some(&cpu).map(|s| s.median),
        round_trips: summary.round_trips,
        bytes_down: summary.bytes_down,
        grid_json_gz: w.grid_json_gz,
        ratio: summary.bytes_down as f64 / w.grid_json_gz.max(1) as f64,
        docs: summary.docs_down,
    })
}

#[allow(clippy::too_many_arguments)]
fn print_report(
    o: &LoadOptions,
    measured: &[Measured],
    w: &Workload,
    pinned: bool,
    (load_start, load_end): (&str, &str),
) {
    let profile = if cfg!(debug_assertions) {
        "debug build: figures are NOT representative"
    } else {
        "release build"
    };
    println!();
    println!(
        "Gridwork server load — {} grids × {} households × {} years (+{} grids without phones), \
         {} phones × {} days = {} recorded day syncs; ~{} docs on the server; {profile}",
        o.grids,
        o.households,
        o.years,
        o.extra_grids,
        w.phones,
        o.days,
        w.days.iter().map(Vec::len).sum::<usize>(),
        w.docs
    );
    println!(
        "server {}; load average {load_start} at the start, {load_end} at the end; set-up {:.0} s",
        if pinned {
            "pinned to CPU 0, load on CPU 1"
        } else {
            "NOT pinned (fewer than 2 CPUs)"
        },
        w.setup_s
    );
    println!();
    let mut rows = Vec::new();
    for m in measured {
        rows.push(Row::info(
            &format!("── {}", m.backend.label()),
            String::new(),
        ));
        level_rows(&mut rows, &m.levels);
        first_sync_rows(&mut rows, &m.first_sync);
    }
    report::print_table(&rows);
    #[derive(Serialize)]
    struct Summary<'a> {
        options: &'a LoadOptions,
        backends: &'a [Measured],
    }
    if let Ok(json) = serde_json::to_string(&Summary {
        options: o,
        backends: measured,
    }) {
        println!("{json}");
    }
}

/// Report rows of each level of one backend, next to the targets.
fn level_rows(rows: &mut Vec<Row>, levels: &[Level]) {
    for l in levels {
        let at_target = l.in_flight == TARGET_LEVEL;
        let mark = |ok: bool| if ok { "PASS" } else { "MISS" };
        rows.push(Row::info(
            &format!("{:>3} in flight: day syncs/s", l.in_flight),
            format!(
                "{:.0}{}",
                l.syncs_per_s,
                if at_target {
                    format!(
                        "  (target ≥ {TARGET_SYNCS_PER_S:.0}: {})",
                        mark(l.syncs_per_s >= TARGET_SYNCS_PER_S)
                    )
                } else {
                    String::new()
                }
            ),
        ));
        rows.push(Row::info(
            "    failures, rejected docs",
            format!("{} of {}, {}", l.failures, l.requests, l.rejected_docs),
        ));
        rows.push(Row::info(
            "    latency p50 / p99",
            format!(
                "{} / {}{}",
                report::ms(l.p50_ms),
                report::ms(l.p99_ms),
                if at_target {
                    format!(
                        "  (p99 target < {TARGET_P99_MS:.0} ms: {})",
                        mark(l.p99_ms < TARGET_P99_MS)
                    )
                } else {
                    String::new()
                }
            ),
        ));
        let cpu = l.cpu_ms_per_sync.unwrap_or(f64::NAN);
        rows.push(Row::info(
            "    server CPU per sync",
            format!(
                "{}  (target ≤ {TARGET_CPU_MS_PER_SYNC} ms: {})",
                report::ms(cpu),
                mark(cpu <= TARGET_CPU_MS_PER_SYNC)
            ),
        ));
        rows.push(Row::info(
            "    bytes up / down per sync",
            format!(
                "{} / {}",
                report::bytes(l.bytes_up_per_sync),
                report::bytes(l.bytes_down_per_sync)
            ),
        ));
        let rss = l.peak_rss_mib.unwrap_or(f64::NAN);
        rows.push(Row::info(
            "    server peak RSS",
            format!(
                "{rss:.0} MiB{}",
                if at_target {
                    format!(
                        "  (target ≤ {TARGET_RSS_MIB:.0} MiB: {})",
                        mark(rss <= TARGET_RSS_MIB)
                    )
                } else {
                    String::new()
                }
            ),
        ));
    }
}

/// Report rows of a backend's first sync, next to the targets.
fn first_sync_rows(rows: &mut Vec<Row>, first: &FirstSync) {
    let first_cpu = first.cpu_ms_median.unwrap_or(f64::NAN);
    rows.push(Row::limit(
        "first sync of a grid: server CPU (median)",
        report::ms(first_cpu),
        format!("{TARGET_FIRST_SYNC_CPU_MS} ms"),
        first_cpu / TARGET_FIRST_SYNC_CPU_MS,
        first_cpu,
        TARGET_FIRST_SYNC_CPU_MS,
        &format!("{TARGET_FIRST_SYNC_CPU_MS} ms"),
    ));
    rows.push(Row::limit(
        "    round trips",
        first.round_trips.to_string(),
        String::new(),
        f64::from(first.round_trips) / TARGET_FIRST_SYNC_ROUND_TRIPS,
        f64::from(first.round_trips),
        TARGET_FIRST_SYNC_ROUND_TRIPS,
        "3",
    ));
    rows.push(Row::ratio(
        &format!("    bytes down ({} docs) vs grid JSON.gz", first.docs),
        report::bytes(first.bytes_down),
        report::bytes(first.grid_json_gz),
        first.ratio,
        Some(TARGET_FIRST_SYNC_RATIO),
    ));
}

//! Benchmark harness: `cargo run --release -p gridwork-tests --bin bench`.
//!
//! Generates the demo grid (150 households, 5 years by default) in a temp
//! directory and prints each figure next to a baseline measured in the same
//! run, as a ratio against its target:
//!
//! * (a) open the store and list the grid with due status, vs. the same query
//!   on plain SQLite tables holding the same data;
//! * (b) record a visit with 12 checklist answers and a durable commit, vs. a
//!   plain SQLite transaction with the same pragmas (WAL, synchronous=FULL);
//! * (c) store size on disk (checkpointed), vs. gzip'd JSON of the same data;
//! * (d) peak RSS of a child process with the grid open, vs. the bare child.
//!
//! Timings are reported, never asserted. The last line is a JSON summary of
//! every figure. Options: `--households N --years Y --seed S --encrypted
//! --list-iters N --visit-iters N`.
//!
//! `--sync` runs the sync benchmark instead (see `src/bench/sync.rs`): the
//! real `gridwork-server`, a first sync of the whole grid to an empty phone
//! and one offline day, against gzip'd JSON and the stock Automerge sync
//! protocol; `--households`, `--years` and `--seed` apply.
//!
//! `--photo-link` uploads one photo (3 MB) over a simulated weak link
//! instead (see `src/bench/photo.rs`): 64 kbit/s, a drop every 20 s of link
//! time; bytes on the wire against the photo, and restarts from zero.
//! `--link-kbps --drop-every --photo-bytes --time-scale` override it.
//!
//! `--server-load` runs the server load generator instead (see
//! `src/bench/load.rs`): the county of issue 13 (16 grids × 150 households
//! × 5 years, 4 phones per grid, 4 days each), each phone's recorded days
//! replayed once against a fresh server pinned to one CPU at 1, 8, 32 and 64
//! requests in flight, plus the first sync of a grid. `--small` is a preset that
//! finishes in under a minute; `--grids N --extra-grids N --phones N
//! --levels 1,8,32,64 --first-syncs N --days N` and `--households/--years/--seed`
//! override it; `--workload DIR` keeps the built workload there and reuses it
//! on the next run with the same sizes.
//!
//! `--waiters N` holds N idle phones' waits for new work (`GET /v1/wait`)
//! instead (see `src/bench/waiters.rs`): the server's memory per waiting
//! phone and its CPU while they wait, against the same server idle without
//! them, and how fast a resident's request wakes its grid's phones (and
//! none of the others). `--wait-grids N` spreads them (default 100).

#[path = "../bench/mod.rs"]
mod bench;
#[path = "../bench/load.rs"]
mod load_bench;
#[path = "../bench/load_targets.rs"]
mod load_targets;
#[path = "../bench/photo.rs"]
mod photo_bench;
#[path = "../bench/sync.rs"]
mod sync_bench;
#[path = "../bench/waiters.rs"]
mod waiters_bench;

use bench::report::{self, Row};
use bench::{baseline, rss, size, store_key, timed, timing, Export, Res};
use gridwork_core::demo::{self, DemoOptions};
use gridwork_core::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// Largest acceptable ratio for (a), cold open + list.
const LIST_TARGET: f64 = 1.5;
/// Largest acceptable ratio for (b), durable visit.
const VISIT_TARGET: f64 = 10.0;
/// Largest acceptable ratio for (c), size on disk.
const SIZE_TARGET: f64 = 2.0;
/// Largest acceptable peak RSS for (d), MiB.
const RSS_TARGET_MIB: f64 = 40.0;

const USAGE: &str = "usage: bench [--households N] [--years Y] [--seed S] [--encrypted] \
[--list-iters N] [--visit-iters N] [--sync]
       bench --server-load [--small] [--grids N] [--extra-grids N] [--phones N] \
[--levels 1,8,32,64] [--first-syncs N] [--days N] [--workload DIR] [--backends sqlite,pg1,pg2] [--households N] [--years Y] [--seed S]
       bench --photo-link [--link-kbps 64] [--drop-every 20] [--photo-bytes 3000000] [--time-scale 100]
       bench --waiters 2000 [--wait-grids 100]";

/// What one benchmark run does.
struct Options {
    households: u32,
    years: u32,
    seed: u64,
    encrypted: bool,
    list_iters: usize,
    visit_iters: usize,
    sync: bool,
    /// `--server-load`, with the sizes given on the command line.
    load: Option<load_bench::LoadOptions>,
    /// `--photo-link`, with the link given on the command line.
    photo: Option<photo_bench::PhotoLinkOptions>,
    /// `--waiters N`.
    waiters: Option<waiters_bench::WaiterOptions>,
}

/// What this process was started for.
enum Mode {
    Bench(Options),
    Probe(PathBuf, bool),
    Idle,
    Help,
}

fn parse_args(args: &[String]) -> Res<Mode> {
    let mut o = Options {
        households: 150,
        years: 5,
        seed: 42,
        encrypted: false,
        list_iters: 30,
        visit_iters: 50,
        sync: false,
        load: None,
        photo: None,
        waiters: None,
    };
    let mut waiters = waiters_bench::WaiterOptions::default();
    let mut photo = photo_bench::PhotoLinkOptions::default();
    // Sizes of a load run: a preset, then the flags given (in any order).
    let load_requested = args.iter().any(|a| a == "--server-load");
    let mut load = if args.iter().any(|a| a == "--small") {
        load_bench::LoadOptions::small()
    } else {
        load_bench::LoadOptions::county()
    };
    let mut probe = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--households" => {
                o.households = value()?.parse()?;
                load.households = o.households;
            }
            "--years" => {
                o.years = value()?.parse()?;
                load.years = o.years;
            }
            "--seed" => {
                o.seed = value()?.parse()?;
                load.seed = o.seed;
            }
            "--server-load" | "--small" => {}
            "--grids" => load.grids = value()?.parse::<u32>()?.max(1),
            "--extra-grids" => load.extra_grids = value()?.parse()?,
            "--phones" => load.phones = value()?.parse::<u32>()?.max(1),
            "--first-syncs" => load.first_syncs = value()?.parse::<u32>()?.max(1),
            "--days" => load.days = value()?.parse::<u32>()?.max(1),
            "--workload" => load.workload = Some(PathBuf::from(value()?)),
            "--backends" => {
                load.backends = value()?
                    .split(',')
                    .map(load_targets::Backend::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--levels" => {
                load.levels = value()?
                    .split(',')
                    .map(|l| l.trim().parse::<usize>().map(|n| n.max(1)))
                    .collect::<Result<_, _>>()?;
            }
            "--list-iters" => o.list_iters = value()?.parse::<usize>()?.max(1),
            "--visit-iters" => o.visit_iters = value()?.parse::<usize>()?.max(1),
            "--encrypted" => o.encrypted = true,
            "--sync" => o.sync = true,
            "--photo-link" => o.photo = Some(photo.clone()),
            "--link-kbps" => photo.kbps = value()?.parse()?,
            "--drop-every" => photo.drop_every_s = value()?.parse()?,
            "--photo-bytes" => photo.photo_bytes = value()?.parse()?,
            "--time-scale" => photo.time_scale = value()?.parse::<f64>()?.max(1.0),
            "--waiters" => {
                waiters.waiters = value()?.parse::<usize>()?.max(1);
                o.waiters = Some(waiters.clone());
            }
            "--wait-grids" => waiters.grids = value()?.parse::<usize>()?.max(1),
            "--help" | "-h" => return Ok(Mode::Help),
            rss::IDLE_ARG => return Ok(Mode::Idle),
            rss::PROBE_ARG => probe = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    if load_requested {
        o.load = Some(load);
    }
    if o.photo.is_some() {
        o.photo = Some(photo);
    }
    if o.waiters.is_some() {
        o.waiters = Some(waiters);
    }
    Ok(match probe {
        Some(path) => Mode::Probe(path, o.encrypted),
        None => Mode::Bench(o),
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_args(&args).and_then(|mode| match mode {
        Mode::Bench(Options {
            load: Some(load), ..
        }) => load_bench::run(&load),
        Mode::Bench(Options {
            photo: Some(photo), ..
        }) => photo_bench::run(&photo),
        Mode::Bench(Options {
            waiters: Some(waiters),
            ..
        }) => waiters_bench::run(&waiters),
        Mode::Bench(o) if o.sync => sync_bench::run(o.households, o.years, o.seed),
        Mode::Bench(o) => run(&o),
        Mode::Probe(path, encrypted) => rss::probe(&path, encrypted),
        Mode::Idle => rss::idle(),
        Mode::Help => {
            println!("{USAGE}");
            Ok(())
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A median in ms, or "n/a" when the figure could not be taken.
fn opt_ms(stats: Option<bench::Stats>) -> String {
    stats
        .map(|s| report::ms(s.median))
        .unwrap_or_else(|| "n/a".into())
}

/// `/proc/loadavg`'s first three fields: other work on the machine skews
/// every timing, so the report says how busy it was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

fn run(o: &Options) -> Res<()> {
    let dir = tempfile::Builder::new()
        .prefix("gridwork-bench-")
        .tempdir()?;
    let store_path = dir.path().join("gridwork.db");
    let base_path = dir.path().join("baseline.db");
    eprintln!("bench: working in {}", dir.path().display());
    let load_start = load_average();

    // The demo grid, and everything in it read back through the API.
    let store = Store::open(&store_path, store_key(o.encrypted))?;
    store.init("W0001", "李网格", "310115-007-012-003")?;
    let options = DemoOptions {
        households: o.households,
        years: o.years,
        seed: o.seed,
    };
    let (demo, demo_ms) = timed(|| {
        Ok(demo::generate(&store, options, |done, total| {
            if done % 10 == 0 || done == total {
                eprint!("\rbench: generating demo grid {done}/{total}");
            }
        })?)
    })?;
    eprintln!();
    let (data, export_ms) = timed(|| Export::collect(&store))?;
    drop(store);

    eprintln!("bench: building baselines, measuring size");
    let (json_bytes, gz_bytes) = size::gzip_json(&data)?;
    baseline::create(&base_path, &data)?;
    let disk = size::measure_store(&store_path, o.encrypted)?;

    eprintln!("bench: (a) listing the grid");
    let list = timing::list(&store_path, &base_path, o.encrypted, o.list_iters)?;
    eprintln!("bench: (b) recording visits");
    let visit = timing::record_visit(&store_path, &base_path, o.encrypted, o.visit_iters)?;
    eprintln!("bench: (d) peak RSS probes");
    let rss_probe = rss::measure(Some(&store_path), o.encrypted)?;
    let rss_idle = rss::measure(None, false)?;
    let load_end = load_average();

    // Report.
    let profile = if cfg!(debug_assertions) {
        "debug build: figures are NOT representative"
    } else {
        "release build"
    };
    let store_kind = if o.encrypted {
        "SQLCipher, raw key"
    } else {
        "plain SQLite, no key"
    };
    println!();
    println!(
        "Gridwork bench — demo grid {} households × {} years (seed {}); store: {store_kind}; {profile}",
        o.households, o.years, o.seed
    );
    println!(
        "load average (1/5/15 min): {load_start} at the start, {load_end} after the measurements; \
         {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "demo generated in {:.1} s: {} households, {} residents, {} visits, {} hazards, {} cases, {} form records \
         (read back through the API in {})",
        demo_ms / 1e3,
        demo.households,
        demo.residents,
        demo.visits,
        demo.hazards,
        demo.cases,
        demo.forms,
        report::ms(export_ms)
    );
    println!();
    let size_ratio = disk.main_bytes as f64 / gz_bytes as f64;
    let probe_mib = rss_probe as f64 / 1024.0;
    let rows = vec![
        Row::ratio(
            &format!(
                "(a) open + list {} households, cold (median of {})",
                list.rows, list.cold.ours.n
            ),
            report::ms(list.cold.ours.median),
            report::ms(list.cold.base.median),
            list.cold.ratio(),
            Some(LIST_TARGET),
        ),
        Row::ratio(
            "    p90",
            report::ms(list.cold.ours.p90),
            report::ms(list.cold.base.p90),
            list.cold.ours.p90 / list.cold.base.p90,
            None,
        ),
        Row::info(
            "    of which Store::open (median)",
            report::ms(list.open_only.median),
        ),
        Row::info(
            "    on-CPU time of open + list (median)",
            opt_ms(list.cold_cpu),
        ),
        Row::ratio(
            "    list on an open connection (median)",
            report::ms(list.warm.ours.median),
            report::ms(list.warm.base.median),
            list.warm.ratio(),
            None,
        ),
        Row::ratio(
            &format!(
                "(b) record visit, 12 answers, durable (median of {})",
                visit.durable.ours.n
            ),
            report::ms(visit.durable.ours.median),
            report::ms(visit.durable.base.median),
            visit.durable.ratio(),
            Some(VISIT_TARGET),
        ),
        Row::ratio(
            "    p90",
            report::ms(visit.durable.ours.p90),
            report::ms(visit.durable.base.p90),
            visit.durable.ours.p90 / visit.durable.base.p90,
            None,
        ),
        Row::info(
            "    on-CPU time of record_visit (median)",
            opt_ms(visit.ours_cpu),
        ),
        Row::ratio(
            &format!(
                "    {} more visits to one household, its doc growing (median)",
                visit.same_household.n
            ),
            report::ms(visit.same_household.median),
            report::ms(visit.durable.base.median),
            visit.same_household.median / visit.durable.base.median,
            None,
        ),
        Row::info(
            "    overwrite 4 KiB + fsync, same dir (median)",
            report::ms(visit.fsync.median),
        ),
        Row::ratio(
            "(c) db file after wal_checkpoint(TRUNCATE) vs JSON.gz",
            report::bytes(disk.main_bytes),
            report::bytes(gz_bytes),
            size_ratio,
            Some(SIZE_TARGET),
        ),
        Row::info(
            "    -wal file after the checkpoint",
            report::bytes(disk.wal_bytes),
        ),
        Row::info(
            "    of which Automerge docs (docs, chunks, sync)",
            report::bytes(disk.doc_bytes),
        ),
        Row::info(
            "    of which read models and indexes",
            report::bytes(disk.read_model_bytes),
        ),
        Row::info("    of which free pages", report::bytes(disk.free_bytes)),
        match disk.vacuumed_bytes {
            Some(v) => Row::ratio(
                "    VACUUM INTO copy vs JSON.gz",
                report::bytes(v),
                report::bytes(gz_bytes),
                v as f64 / gz_bytes as f64,
                None,
            ),
            None => Row::info("    VACUUM INTO copy", "failed".into()),
        },
        Row::ratio(
            "    db file vs JSON uncompressed",
            report::bytes(disk.main_bytes),
            report::bytes(json_bytes),
            disk.main_bytes as f64 / json_bytes as f64,
            None,
        ),
        Row::limit(
            "(d) peak RSS, grid open (child VmHWM) vs bare child",
            report::kib_as_mib(rss_probe),
            report::kib_as_mib(rss_idle),
            rss_probe as f64 / rss_idle as f64,
            probe_mib,
            RSS_TARGET_MIB,
            &format!("{RSS_TARGET_MIB} MiB"),
        ),
        Row::info(
            "    added by the store (probe − bare)",
            report::kib_as_mib(rss_probe.saturating_sub(rss_idle)),
        ),
    ];
    report::print_table(&rows);
    println!();
    println!("largest tables (with their indexes): {}", {
        let top: Vec<String> = disk
            .tables
            .iter()
            .take(6)
            .map(|(t, b)| format!("{t} {}", report::bytes(*b)))
            .collect();
        top.join(", ")
    });
    if !list.same_result {
        println!(
            "WARNING: the baseline list differs from list_households(); (a) compares unlike work"
        );
    }
    println!(
        "baselines: (a) fresh rusqlite Connection on a plain file with the same households/tags/residents/visits, \
         same list query, due dates by gridwork_core::schedule; (b) one visit row + 12 answer rows in one \
         transaction, WAL + synchronous=FULL, same directory; (c) serde_json of all households with residents, \
         visits, hazards, cases and form records, gzip default level; (d) this binary re-executed doing nothing. \
         Each side ran {} unmeasured warm-up iterations; store and baseline iterations alternate.",
        timing::WARMUP
    );
    let summary = serde_json::json!({
        "households": o.households,
        "years": o.years,
        "seed": o.seed,
        "encrypted": o.encrypted,
        "release": !cfg!(debug_assertions),
        "load_average": { "start": load_start, "end": load_end },
        "demo": { "ms": demo_ms, "counts": demo, "export_ms": export_ms },
        "list": { "figures": list, "ratio": list.cold.ratio(), "target": LIST_TARGET,
                  "pass": list.cold.ratio() <= LIST_TARGET },
        "visit": { "figures": visit, "ratio": visit.durable.ratio(), "target": VISIT_TARGET,
                   "pass": visit.durable.ratio() <= VISIT_TARGET },
        "size": { "store": disk, "json_bytes": json_bytes, "gzip_json_bytes": gz_bytes, "ratio": size_ratio,
                  "target": SIZE_TARGET, "pass": size_ratio <= SIZE_TARGET },
        "rss": { "probe_kib": rss_probe, "idle_kib": rss_idle, "target_mib": RSS_TARGET_MIB,
                 "pass": probe_mib <= RSS_TARGET_MIB },
    });
    println!();
    println!("{summary}");
    dir.close()?;
    Ok(())
}

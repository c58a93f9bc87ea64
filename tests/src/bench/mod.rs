//! Building blocks of the benchmark harness (`src/bin/bench.rs`): timing
//! statistics, the exported demo data every baseline is built from, and the
//! submodules for the plain-SQLite baseline, store size, peak RSS and the
//! printed report.

pub mod baseline;
pub mod report;
pub mod rss;
pub mod size;
pub mod timing;

use gridwork_core::model::{Case, FormRecord, Hazard, Household, Visit};
use gridwork_core::{DbKey, Store};
use serde::Serialize;
use std::time::Instant;

/// Error type of the harness: anything goes, it is printed and the run stops.
pub type BenchError = Box<dyn std::error::Error>;

/// Result type of the harness.
pub type Res<T> = Result<T, BenchError>;

/// The fixed SQLCipher key used by `--encrypted` runs (raw key, no PBKDF2).
pub const BENCH_KEY: [u8; 32] = [0x5a; 32];

/// The store key for a run: a raw SQLCipher key when `encrypted`.
pub fn store_key(encrypted: bool) -> Option<DbKey> {
    encrypted.then_some(DbKey::Raw(BENCH_KEY))
}

/// Run `f` and return its result with the wall time it took, in milliseconds.
pub fn timed<T>(f: impl FnOnce() -> Res<T>) -> Res<(T, f64)> {
    let start = Instant::now();
    let out = f()?;
    Ok((out, start.elapsed().as_secs_f64() * 1e3))
}

/// On-CPU time of the calling thread so far, in nanoseconds
/// (`CLOCK_THREAD_CPUTIME_ID`); `None` if the clock is unavailable.
pub fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// Like [`timed`], plus the on-CPU time of the calling thread (ms), which
/// excludes time spent waiting, e.g. for `fsync`.
pub fn timed_cpu<T>(f: impl FnOnce() -> Res<T>) -> Res<(T, f64, Option<f64>)> {
    let cpu = thread_cpu_ns();
    let (out, ms) = timed(f)?;
    let cpu_ms = cpu
        .zip(thread_cpu_ns())
        .map(|(a, b)| b.saturating_sub(a) as f64 / 1e6);
    Ok((out, ms, cpu_ms))
}

/// Order statistics of a set of samples (milliseconds).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Stats {
    /// Number of samples.
    pub n: usize,
    /// Fastest sample.
    pub min: f64,
    /// Median sample.
    pub median: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// Slowest sample.
    pub max: f64,
}

impl Stats {
    /// Statistics of `samples`, `None` when there are none.
    pub fn of_some(samples: &[f64]) -> Option<Stats> {
        (!samples.is_empty()).then(|| Stats::of(samples))
    }

    /// Statistics of `samples` (must not be empty).
    pub fn of(samples: &[f64]) -> Stats {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        let p90 = s[((n * 9).div_ceil(10)).clamp(1, n) - 1];
        Stats {
            n,
            min: s[0],
            median,
            p90,
            max: s[n - 1],
        }
    }
}

/// Everything the demo grid holds, read back through the public API: the
/// source of the JSON baseline and of the plain-SQLite baseline tables.
#[derive(Serialize)]
pub struct Export {
    /// Households with their residents.
    pub households: Vec<Household>,
    /// Every visit with its checklist answers.
    pub visits: Vec<Visit>,
    /// Hazards with their transitions.
    pub hazards: Vec<Hazard>,
    /// Cases with their transitions.
    pub cases: Vec<Case>,
    /// Twelve-duties form records.
    pub form_records: Vec<FormRecord>,
}

impl Export {
    /// Read the whole grid out of `store`.
    pub fn collect(store: &Store) -> Res<Export> {
        let mut households = Vec::new();
        for summary in store.list_households()? {
            households.push(store.household(summary.id)?);
        }
        Ok(Export {
            households,
            visits: store.list_visits(None)?,
            hazards: store.list_hazards(false)?,
            cases: store.list_cases(false)?,
            form_records: store.list_form_records(None)?,
        })
    }
}

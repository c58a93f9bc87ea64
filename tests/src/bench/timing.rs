//! The timed comparisons: listing the grid (store vs. plain SQLite, cold and
//! warm) and recording a visit with a durable commit (store vs. a plain
//! SQLite transaction with the same pragmas). Store and baseline iterations
//! alternate so that drift (page cache, CPU frequency, disk) hits both alike.

use super::{baseline, store_key, timed, timed_cpu, Res, Stats};
use gridwork_core::forms::default_pack::visit_checklist;
use gridwork_core::model::{ChecklistAnswer, HouseholdId, Location, NewVisit, Outcome};
use gridwork_core::Store;
use serde::Serialize;
use std::path::Path;

/// Iterations of each side run before measuring, not counted.
pub const WARMUP: usize = 3;

/// One figure measured on the store and on its baseline (milliseconds).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Pair {
    /// Gridwork.
    pub ours: Stats,
    /// Baseline.
    pub base: Stats,
}

impl Pair {
    fn of(ours: &[f64], base: &[f64]) -> Pair {
        Pair {
            ours: Stats::of(ours),
            base: Stats::of(base),
        }
    }

    /// Ratio of the medians, gridwork / baseline.
    pub fn ratio(&self) -> f64 {
        self.ours.median / self.base.median
    }
}

/// Listing the grid, every way it is measured.
#[derive(Debug, Serialize)]
pub struct ListFigures {
    /// Fresh `Store::open` + `list_households()` vs. fresh `Connection::open` + list query.
    pub cold: Pair,
    /// `list_households()` on an open store vs. the list query on an open connection.
    pub warm: Pair,
    /// `Store::open` alone.
    pub open_only: Stats,
    /// On-CPU time of the cold store side, if the kernel reports it.
    pub cold_cpu: Option<Stats>,
    /// Whether both sides returned the same summaries.
    pub same_result: bool,
    /// Households listed.
    pub rows: usize,
}

/// Measure listing the grid, `iters` samples per figure.
pub fn list(
    store_path: &Path,
    base_path: &Path,
    encrypted: bool,
    iters: usize,
) -> Res<ListFigures> {
    let open = || Ok(Store::open(store_path, store_key(encrypted))?);
    let expected = open()?.list_households()?;
    let same_result = baseline::open_and_list(base_path)? == expected;
    let (mut ours, mut base, mut opens, mut cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..WARMUP + iters {
        let ((store, open_ms), ms, cpu_ms) = timed_cpu(|| {
            let opened = timed(open)?;
            opened.0.list_households()?;
            Ok(opened)
        })?;
        drop(store); // Closing is not timed (on either side).
        let (list, base_ms) = timed(|| baseline::open_and_list(base_path))?;
        drop(list);
        if i >= WARMUP {
            ours.push(ms);
            base.push(base_ms);
            opens.push(open_ms);
            cpu.extend(cpu_ms);
        }
    }
    let cold = Pair::of(&ours, &base);
    let store = open()?;
    let conn = rusqlite::Connection::open(base_path)?;
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    for i in 0..WARMUP + iters {
        let (_, ms) = timed(|| Ok(store.list_households()?))?;
        let (_, base_ms) = timed(|| baseline::list(&conn))?;
        if i >= WARMUP {
            ours.push(ms);
            base.push(base_ms);
        }
    }
    Ok(ListFigures {
        cold,
        warm: Pair::of(&ours, &base),
        open_only: Stats::of(&opens),
        cold_cpu: Stats::of_some(&cpu),
        same_result,
        rows: expected.len(),
    })
}

/// The twelve answers of every benchmarked visit: one problem with a note,
/// eleven plain "ok".
pub fn answers() -> Vec<ChecklistAnswer> {
    visit_checklist()
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| ChecklistAnswer {
            item: f.id.clone(),
            outcome: if i == 2 {
                Outcome::Problem
            } else {
                Outcome::Ok
            },
            note: if i == 2 {
                "楼道堆放杂物".into()
            } else {
                String::new()
            },
        })
        .collect()
}

/// Recording a visit, every way it is measured.
#[derive(Debug, Serialize)]
pub struct VisitFigures {
    /// `record_visit` vs. the plain insert, each against the next household.
    pub durable: Pair,
    /// On-CPU time of `record_visit` (the rest is waiting, mostly `fsync`).
    pub ours_cpu: Option<Stats>,
    /// `record_visit` again and again on one household (its doc cached).
    pub same_household: Stats,
    /// Overwriting 4 KiB and `fsync` on the same directory: the floor of any
    /// durable commit on this disk.
    pub fsync: Stats,
}

/// Measure recording one visit, `iters` samples, each against the next
/// household of the list (so the store meets a doc not yet in its cache, as
/// on a round of door-to-door visits); then `iters` visits to one household.
pub fn record_visit(
    store_path: &Path,
    base_path: &Path,
    encrypted: bool,
    iters: usize,
) -> Res<VisitFigures> {
    let store = Store::open(store_path, store_key(encrypted))?;
    let households: Vec<HouseholdId> = store.list_households()?.iter().map(|h| h.id).collect();
    let worker = store.device()?.worker_id.0;
    let mut conn = baseline::open_durable(base_path)?;
    let answers = answers();
    let input = |household| NewVisit {
        household,
        location: Some(Location {
            lat: 31.22,
            lon: 121.54,
            accuracy_m: Some(12.0),
        }),
        answers: answers.clone(),
        ..NewVisit::default()
    };
    let dir = store_path.parent().ok_or("store path has no directory")?;
    let mut probe = FsyncProbe::new(dir)?;
    let (mut ours, mut base, mut cpu, mut sync) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..WARMUP + iters {
        let household = households[i % households.len()];
        let visit = input(household);
        let (_, ms, cpu_ms) = timed_cpu(|| Ok(store.record_visit(visit)?))?;
        let (_, base_ms) =
            timed(|| baseline::record_visit(&mut conn, household, &worker, &answers))?;
        let (_, sync_ms) = timed(|| probe.sync())?;
        if i >= WARMUP {
            ours.push(ms);
            base.push(base_ms);
            cpu.extend(cpu_ms);
            sync.push(sync_ms);
        }
    }
    let mut same = Vec::new();
    for i in 0..WARMUP + iters {
        let visit = input(households[0]);
        let (_, ms) = timed(|| Ok(store.record_visit(visit)?))?;
        if i >= WARMUP {
            same.push(ms);
        }
    }
    Ok(VisitFigures {
        durable: Pair::of(&ours, &base),
        ours_cpu: Stats::of_some(&cpu),
        same_household: Stats::of(&same),
        fsync: Stats::of(&sync),
    })
}

/// A scratch file whose first 4 KiB are overwritten and `fsync`ed, as SQLite
/// does on a WAL commit once the WAL file has its size (SQLite calls `fsync`,
/// not `fdatasync`). Sampled between the visits, so that it sees the disk in
/// the same state as they do; the file is removed on drop.
struct FsyncProbe {
    path: std::path::PathBuf,
    file: std::fs::File,
}

impl FsyncProbe {
    fn new(dir: &Path) -> Res<FsyncProbe> {
        let path = dir.join("fsync-probe");
        let file = std::fs::File::create(&path)?;
        let mut probe = FsyncProbe { path, file };
        probe.sync()?;
        Ok(probe)
    }

    fn sync(&mut self) -> Res<()> {
        use std::io::{Seek, Write};
        self.file.rewind()?;
        self.file.write_all(&[0x5a; 4096])?;
        Ok(self.file.sync_all()?)
    }
}

impl Drop for FsyncProbe {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

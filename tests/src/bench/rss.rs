//! Peak resident memory with the grid open, measured in a child process so the
//! figure is not polluted by the demo generator: the bench binary re-executes
//! itself with [`PROBE_ARG`] (open the store, list households, show a few
//! households with their visits) or with [`IDLE_ARG`] (do nothing: the cost of
//! the process itself), and the child prints its `VmHWM` from
//! `/proc/self/status`.

use super::{store_key, Res};
use gridwork_core::Store;
use std::path::Path;
use std::process::Command;

/// Hidden argument: `--rss-probe PATH [--encrypted]` runs the store probe.
pub const PROBE_ARG: &str = "--rss-probe";

/// Hidden argument: `--rss-idle` reports the bare process.
pub const IDLE_ARG: &str = "--rss-idle";

/// Households whose details and visits the probe reads.
const PROBED_HOUSEHOLDS: usize = 5;

/// Prefix of the line a probe prints.
const OUTPUT_PREFIX: &str = "VmHWM_KB ";

/// This process's peak resident set (`VmHWM`), in KiB.
pub fn vm_hwm_kib() -> Res<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .ok_or("no VmHWM in /proc/self/status")?;
    let kib = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib)
}

/// Child side of [`PROBE_ARG`]: open the grid like the phone's first screen
/// does, open a few households, print the peak RSS.
pub fn probe(path: &Path, encrypted: bool) -> Res<()> {
    let store = Store::open(path, store_key(encrypted))?;
    let list = store.list_households()?;
    let mut visits = 0;
    for h in list.iter().take(PROBED_HOUSEHOLDS) {
        store.household(h.id)?;
        visits += store.list_visits(Some(h.id))?.len();
    }
    std::hint::black_box(visits);
    println!("{OUTPUT_PREFIX}{}", vm_hwm_kib()?);
    Ok(())
}

/// Child side of [`IDLE_ARG`]: print the peak RSS of the bare process.
pub fn idle() -> Res<()> {
    println!("{OUTPUT_PREFIX}{}", vm_hwm_kib()?);
    Ok(())
}

/// Parent side: run this binary as a probe of the store at `path` (or idle
/// when `None`) and return the child's peak RSS in KiB.
pub fn measure(path: Option<&Path>, encrypted: bool) -> Res<u64> {
    let mut cmd = Command::new(std::env::current_exe()?);
    match path {
        Some(p) => {
            cmd.arg(PROBE_ARG).arg(p);
            if encrypted {
                cmd.arg("--encrypted");
            }
        }
        None => {
            cmd.arg(IDLE_ARG);
        }
    }
    let out = cmd.output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "RSS probe failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(OUTPUT_PREFIX))
        .ok_or_else(|| format!("RSS probe printed no figure: {stdout}"))?;
    Ok(line.trim().parse()?)
}

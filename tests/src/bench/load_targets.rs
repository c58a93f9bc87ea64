//! What `bench --server-load` replays its recorded county against: the
//! embedded SQLite server (a copy of the set-up data directory), or one or
//! more `gridwork-server` instances on a PostgreSQL database copied from it
//! (`admin copy-to-postgres` into a template database once, then
//! `CREATE DATABASE … TEMPLATE` per measurement), in a throwaway cluster
//! ([`TestPostgres`]: fsync off, as the SQLite server's WAL does not sync
//! each commit either).
//!
//! Server CPU: for SQLite the server process's own time (`/proc/<pid>`);
//! for PostgreSQL the busy time of CPU 0 (`/proc/stat`), where the
//! instances and every PostgreSQL process are pinned, so the database's
//! work is counted with the instances'. Peak RSS: the instances' `VmHWM`,
//! summed (PostgreSQL's memory is its own configuration's).

use crate::bench::Res;
use crate::sync_bench::CpuSample;
use gridwork_tests::postgres::TestPostgres;
use gridwork_tests::server::{server_bin, Server};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A storage backend to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Backend {
    /// The embedded SQLite default.
    Sqlite,
    /// PostgreSQL with this many instances in front of it (requests go
    /// round-robin, as from a load balancer).
    Postgres(usize),
}

impl Backend {
    /// SQLite, PostgreSQL with one instance and with two.
    pub fn all() -> Vec<Backend> {
        vec![Backend::Sqlite, Backend::Postgres(1), Backend::Postgres(2)]
    }

    /// Parse `sqlite`, `pg1`, `pg2`, … (`--backends sqlite,pg1,pg2`).
    pub fn parse(text: &str) -> Res<Backend> {
        match text.trim() {
            "sqlite" => Ok(Backend::Sqlite),
            other => match other.strip_prefix("pg").map(str::parse::<usize>) {
                Some(Ok(n)) if n >= 1 => Ok(Backend::Postgres(n)),
                _ => Err(format!("unknown backend {other} (sqlite, pg1, pg2, …)").into()),
            },
        }
    }

    /// How the report names it.
    pub fn label(self) -> String {
        match self {
            Backend::Sqlite => "embedded SQLite".into(),
            Backend::Postgres(1) => "PostgreSQL, 1 instance".into(),
            Backend::Postgres(n) => format!("PostgreSQL, {n} instances"),
        }
    }
}

/// A throwaway PostgreSQL holding the set-up county as a template.
pub struct Cluster {
    pg: TestPostgres,
    count: std::cell::Cell<u32>,
}

/// The template database every measurement copies.
const TEMPLATE: &str = "county";

impl Cluster {
    /// Start a cluster with every process pinned to CPU 0 (when `pinned`),
    /// and copy the stopped set-up server in `seeded` into its template
    /// database.
    pub fn start(seeded: &Path, pinned: bool) -> Res<Cluster> {
        let pg = TestPostgres::start();
        if pinned {
            pin_cluster(&pg)?;
        }
        let url = pg.create_database(TEMPLATE);
        let started = std::time::Instant::now();
        let out = Command::new(server_bin())
            .args(["admin", "--data-dir"])
            .arg(seeded)
            .args(["copy-to-postgres", "--to", &url])
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "copy-to-postgres failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        eprintln!(
            "load: county copied to PostgreSQL in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        Ok(Cluster {
            pg,
            count: std::cell::Cell::new(0),
        })
    }

    /// A fresh database copied from the template; its name and URL.
    fn fresh(&self) -> Res<(String, String)> {
        let n = self.count.get();
        self.count.set(n + 1);
        let name = format!("run_{n}");
        self.admin_sql(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))?;
        Ok((name.clone(), self.pg.url_for(&name)))
    }

    /// Drop a database (after its instances stopped).
    fn drop_database(&self, name: &str) -> Res<()> {
        self.admin_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    }

    fn admin_sql(&self, sql: &str) -> Res<()> {
        let mut client = postgres::Client::connect(&self.pg.url(), postgres::NoTls)?;
        client.batch_execute(sql)?;
        Ok(())
    }
}

/// Pin the postmaster (and so every backend it forks later) and its
/// running processes to CPU 0.
fn pin_cluster(pg: &TestPostgres) -> Res<()> {
    let pid_file = std::fs::read_to_string(pg.data_dir().join("postmaster.pid"))?;
    let pid = pid_file
        .lines()
        .next()
        .ok_or("empty postmaster.pid")?
        .trim();
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", "0", pid])
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        return Err("taskset could not pin PostgreSQL to CPU 0".into());
    }
    for child in std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
    {
        let _ = Command::new("taskset")
            .args(["-a", "-p", "-c", "0", child])
            .stdout(std::process::Stdio::null())
            .status();
    }
    Ok(())
}

/// Servers started for one measurement.
pub struct Running {
    /// The instances (one for SQLite).
    pub servers: Vec<Server>,
    meter: Meter,
    /// SQLite: the copied data directory, removed at the end.
    run_dir: Option<PathBuf>,
    /// PostgreSQL: the copied database, dropped at the end.
    database: Option<String>,
}

/// Where server CPU time is read.
#[derive(Clone, Copy)]
enum Meter {
    /// One process.
    Process(u32),
    /// CPU 0's busy time.
    Cpu0,
}

/// Server CPU time at one instant.
#[derive(Clone, Copy)]
pub enum CpuMark {
    /// A process sample.
    Process(CpuSample),
    /// CPU 0's busy clock ticks.
    Cpu0(Option<u64>),
}

/// The server flags of a load run: no rate limits, no connection caps
/// below the load.
pub const SERVER_FLAGS: [&str; 3] = ["--no-rate-limits", "--max-connections-per-address", "4096"];

impl Running {
    /// Start `backend` on a copy of the set-up server (`seeded` for SQLite,
    /// the cluster's template for PostgreSQL); `run_dir` is scratch space.
    pub fn start(
        backend: Backend,
        seeded: &Path,
        cluster: Option<&Cluster>,
        run_dir: &Path,
        wrapper: &[&str],
    ) -> Res<Running> {
        match backend {
            Backend::Sqlite => {
                copy_dir(seeded, run_dir)?;
                let server = Server::start_wrapped(run_dir, &SERVER_FLAGS, wrapper);
                let pid = server.pid().ok_or("server has no pid")?;
                Ok(Running {
                    servers: vec![server],
                    meter: Meter::Process(pid),
                    run_dir: Some(run_dir.to_path_buf()),
                    database: None,
                })
            }
            Backend::Postgres(instances) => {
                let cluster = cluster.ok_or("no PostgreSQL cluster")?;
                let (name, url) = cluster.fresh()?;
                let mut flags: Vec<&str> = SERVER_FLAGS.to_vec();
                flags.extend(["--database", &url]);
                let servers = (0..instances)
                    .map(|i| {
                        Server::start_wrapped(
                            &run_dir.join(format!("instance-{i}")),
                            &flags,
                            wrapper,
                        )
                    })
                    .collect();
                Ok(Running {
                    servers,
                    meter: Meter::Cpu0,
                    run_dir: Some(run_dir.to_path_buf()),
                    database: Some(name),
                })
            }
        }
    }

    /// The sync URL of the instance that takes request `i`.
    pub fn url(&self, i: usize) -> String {
        format!("{}/v1/sync", self.servers[i % self.servers.len()].url)
    }

    /// Base URL of the first instance.
    pub fn base_url(&self) -> &str {
        &self.servers[0].url
    }

    /// The server CPU time now.
    pub fn cpu(&self) -> CpuMark {
        match self.meter {
            Meter::Process(pid) => CpuMark::Process(CpuSample::take(Some(pid))),
            Meter::Cpu0 => CpuMark::Cpu0(cpu0_busy_ticks()),
        }
    }

    /// Server CPU milliseconds between two marks (the process's schedstat
    /// when `fine` and available, else clock ticks).
    pub fn cpu_ms(before: CpuMark, after: CpuMark, fine: bool) -> Option<f64> {
        match (before, after) {
            (CpuMark::Process(a), CpuMark::Process(b)) => {
                let spent = a.until(b);
                if fine {
                    spent.sched_ms.or(spent.stat_ms)
                } else {
                    spent.stat_ms
                }
            }
            (CpuMark::Cpu0(Some(a)), CpuMark::Cpu0(Some(b))) => {
                // SAFETY: sysconf only reads a configuration value.
                let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
                (hz > 0.0).then(|| b.saturating_sub(a) as f64 * 1e3 / hz)
            }
            _ => None,
        }
    }

    /// The instances' peak RSS, summed, MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        self.servers
            .iter()
            .map(|s| s.pid().and_then(peak_rss_mib))
            .sum()
    }

    /// Stop the instances and remove what was copied.
    pub fn stop(mut self, cluster: Option<&Cluster>) -> Res<()> {
        for server in &mut self.servers {
            server.stop();
        }
        if let (Some(name), Some(cluster)) = (&self.database, cluster) {
            cluster.drop_database(name)?;
        }
        if let Some(dir) = &self.run_dir {
            if dir.exists() {
                std::fs::remove_dir_all(dir)?;
            }
        }
        Ok(())
    }
}

/// Busy clock ticks of CPU 0 (user, nice, system, irq, softirq, steal).
fn cpu0_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu0 "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    Some(
        [0, 1, 2, 5, 6, 7]
            .iter()
            .filter_map(|&i| fields.get(i))
            .sum(),
    )
}

/// Copy a stopped server's data directory.
pub fn copy_dir(from: &Path, to: &Path) -> Res<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Peak RSS of a process (`VmHWM`), MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

//! `bench --waiters N`: what thousands of idle phones waiting for work
//! (`GET /v1/wait`, issue 16 §2) cost the server, and how fast the right
//! ones wake.
//!
//! 1. A fresh server with `grids` 4th-level grids and one gridworker token
//!    per two waiters (a token may hold two waits), spread over the grids.
//! 2. The server idles 10 s with no waiter: its resident memory (`VmRSS`)
//!    and CPU time (utime + stime, `/proc/<pid>/stat`) are the baseline.
//! 3. `N` waits are opened from this process (tokio, one connection each,
//!    held up to 55 s) and the server idles 10 s again: memory and CPU with
//!    the waiters, and the memory per waiter against the baseline.
//! 4. A resident files a request through grid 1's invitation link (the H5
//!    form): every waiter of grid 1 must answer `changed: true`, none of the
//!    other grids; the time from the filing to the last of grid 1's
//!    answers.
//!
//! The server runs with `--no-rate-limits` and per-address connection caps
//! lifted (every waiter comes from 127.0.0.1). Figures are printed, never
//! asserted.

use crate::bench::report::{self, Row};
use crate::bench::Res;
use gridwork_tests::server::{server_bin, Server};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sizes of one run.
#[derive(Clone, Debug)]
pub struct WaiterOptions {
    /// Waits held at once.
    pub waiters: usize,
    /// 4th-level grids the waiters are spread over.
    pub grids: usize,
}

impl Default for WaiterOptions {
    fn default() -> Self {
        WaiterOptions {
            waiters: 2000,
            grids: 100,
        }
    }
}

/// How long each idle window lasts.
const IDLE: Duration = Duration::from_secs(10);

/// Targets: a waiter costs memory for its connection and nothing else.
const TARGET_KIB_PER_WAITER: f64 = 64.0;
const TARGET_IDLE_CPU_PERCENT: f64 = 1.0;
const TARGET_WAKE_MS: f64 = 5000.0;

fn admin(data: &Path, args: &[&str]) -> Res<serde_json::Value> {
    let out = Command::new(server_bin())
        .args(["admin", "--data-dir"])
        .arg(data)
        .args(args)
        .output()?;
    if !out.status.success() {
        return Err(format!("admin {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null))
}

/// `(VmRSS KiB, utime + stime clock ticks)` of process `pid`.
fn usage(pid: u32) -> Res<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or("no VmRSS")?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').ok_or("bad stat")? + 2..]
        .split_whitespace()
        .collect();
    let ticks = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok((rss, ticks))
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Memory and CPU share of the server over one idle window.
fn idle_window(pid: u32) -> Res<(u64, f64)> {
    let (_, before) = usage(pid)?;
    std::thread::sleep(IDLE);
    let (rss, after) = usage(pid)?;
    let cpu = (after - before) as f64 / ticks_per_second() / IDLE.as_secs_f64() * 100.0;
    Ok((rss, cpu))
}

/// One `GET` on a fresh connection; the status and body.
async fn get(addr: &str, path: &str, token: &str) -> Res<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    Ok((status, body))
}

fn seq_of(body: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["seq"].as_u64())
        .unwrap_or(0)
}

/// Run the benchmark.
pub fn run(o: &WaiterOptions) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("server");
    let started = Instant::now();
    admin(&data, &["grid", "add", "T", "--name", "镇"])?;
    admin(
        &data,
        &["grid", "add", "C", "--name", "社区", "--parent", "T"],
    )?;
    admin(
        &data,
        &["grid", "add", "C-1", "--name", "片区", "--parent", "C"],
    )?;
    let grids: Vec<String> = (1..=o.grids.max(1)).map(|g| format!("G{g}")).collect();
    for g in &grids {
        admin(&data, &["grid", "add", g, "--name", g, "--parent", "C-1"])?;
    }
    let tokens_needed = o.waiters.div_ceil(2).max(1);
    let mut tokens: Vec<(usize, String)> = Vec::with_capacity(tokens_needed);
    for i in 0..tokens_needed {
        let grid = i % grids.len();
        let worker = format!("w{i}");
        admin(
            &data,
            &[
                "worker",
                "add",
                &worker,
                "--name",
                &worker,
                "--role",
                "gridworker",
                "--grid",
                &grids[grid],
            ],
        )?;
        let issued = admin(&data, &["token", "issue", &worker])?;
        tokens.push((
            grid,
            issued["token"].as_str().ok_or("no token")?.to_string(),
        ));
    }
    let invite = admin(&data, &["invite", "add", "--grid", &grids[0]])?;
    let invite_path = invite["path"].as_str().ok_or("no invite")?.to_string();
    eprintln!(
        "waiters: {} grids, {} tokens set up in {:.0} s",
        grids.len(),
        tokens.len(),
        started.elapsed().as_secs_f64()
    );

    let mut server = Server::start(
        &data,
        &[
            "--no-rate-limits",
            "--max-connections",
            "16384",
            "--max-connections-per-address",
            "16384",
        ],
    );
    let pid = server.pid().ok_or("server has no pid")?;
    let addr = server.url.trim_start_matches("http://").to_string();
    std::thread::sleep(Duration::from_secs(2));
    let (rss_idle, cpu_idle) = idle_window(pid)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let addr = Arc::new(addr);
    // Each token's cursor: the newest feed number of its grid now.
    let cursors: Vec<u64> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for (_, token) in &tokens {
            let (addr, token) = (addr.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                get(&addr, "/v1/wait?cursor=0&timeout=1", &token)
                    .await
                    .map(|(_, body)| seq_of(&body))
                    .unwrap_or(0)
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap_or(0));
        }
        out
    });
    // The waits, two per token, each answer sent back with its grid.
    let (send, mut answers) = tokio::sync::mpsc::unbounded_channel::<(usize, bool, Instant)>();
    let opened = Instant::now();
    runtime.block_on(async {
        for i in 0..o.waiters {
            let (grid, token) = tokens[i / 2].clone();
            let cursor = cursors[i / 2];
            let (addr, send) = (addr.clone(), send.clone());
            tokio::spawn(async move {
                let path = format!("/v1/wait?cursor={cursor}&timeout=55");
                let changed = match get(&addr, &path, &token).await {
                    Ok((200, body)) => body.contains("\"changed\":true"),
                    _ => false,
                };
                let _ = send.send((grid, changed, Instant::now()));
            });
        }
    });
    std::thread::sleep(Duration::from_secs(3));
    let (rss_waiting, cpu_waiting) = idle_window(pid)?;
    let early = runtime.block_on(async {
        let mut early = 0;
        while answers.try_recv().is_ok() {
            early += 1;
        }
        early
    });

    // A resident files a request in grid 1.
    let filed = runtime.block_on(async {
        let (_, page) = get(&addr, &invite_path, "").await?;
        let key = r#"name="form" value=""#;
        let start = page.find(key).ok_or("no form token")? + key.len();
        let form = &page[start..start + page[start..].find('"').ok_or("bad form")?];
        let body = format!("form={form}&kind=request&category=repair&text=%E8%B7%AF%E7%81%AF");
        let mut stream = TcpStream::connect(addr.as_str()).await?;
        let request = format!(
            "POST {invite_path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let filed = Instant::now();
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        if !response.starts_with(b"HTTP/1.1 303") {
            return Err::<Instant, Box<dyn std::error::Error>>(
                format!("filing failed: {}", String::from_utf8_lossy(&response)).into(),
            );
        }
        Ok(filed)
    })?;
    let in_grid_1 = (0..o.waiters).filter(|i| tokens[i / 2].0 == 0).count();
    let (mut woken, mut wrong, mut last) = (0usize, 0usize, Duration::ZERO);
    runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while woken < in_grid_1 {
            match tokio::time::timeout_at(deadline, answers.recv()).await {
                Ok(Some((grid, changed, at))) => {
                    if grid == 0 && changed {
                        woken += 1;
                        last = last.max(at.saturating_duration_since(filed));
                    } else {
                        wrong += 1;
                    }
                }
                _ => break,
            }
        }
        // Anyone else answering within a second more is a wrong wake-up.
        let settle = tokio::time::Instant::now() + Duration::from_secs(1);
        while let Ok(Some(_)) = tokio::time::timeout_at(settle, answers.recv()).await {
            wrong += 1;
        }
    });
    let held = opened.elapsed();
    runtime.shutdown_timeout(Duration::from_secs(1));
    server.stop();

    let per_waiter = (rss_waiting.saturating_sub(rss_idle)) as f64 / o.waiters as f64;
    let rows = vec![
        Row::info(
            "waits held",
            format!("{} over {} grids", o.waiters, grids.len()),
        ),
        Row::info(
            "server RSS idle, no waiters (baseline)",
            format!("{:.1} MiB", rss_idle as f64 / 1024.0),
        ),
        Row::ratio(
            "server RSS with the waits held",
            format!("{:.1} MiB", rss_waiting as f64 / 1024.0),
            format!("{:.1} MiB", rss_idle as f64 / 1024.0),
            rss_waiting as f64 / rss_idle.max(1) as f64,
            None,
        ),
        Row::limit(
            "memory per waiting phone",
            format!("{per_waiter:.1} KiB"),
            String::new(),
            per_waiter / TARGET_KIB_PER_WAITER,
            per_waiter,
            TARGET_KIB_PER_WAITER,
            &format!("{TARGET_KIB_PER_WAITER} KiB"),
        ),
        Row::limit(
            "server CPU while they wait",
            format!("{cpu_waiting:.2} %"),
            format!("{cpu_idle:.2} % idle"),
            cpu_waiting / cpu_idle.max(0.01),
            cpu_waiting,
            TARGET_IDLE_CPU_PERCENT,
            &format!("{TARGET_IDLE_CPU_PERCENT} % of a CPU"),
        ),
        Row::info("answers before any change (should be 0)", early.to_string()),
        Row::limit(
            "grid 1's phones woken by a resident's request",
            format!(
                "{woken}/{in_grid_1} in {}",
                report::ms(last.as_secs_f64() * 1000.0)
            ),
            String::new(),
            last.as_secs_f64() * 1000.0 / TARGET_WAKE_MS,
            last.as_secs_f64() * 1000.0,
            TARGET_WAKE_MS,
            "5 s",
        ),
        Row::info(
            "phones of other grids woken (should be 0)",
            wrong.to_string(),
        ),
        Row::info("waits held for", format!("{:.0} s", held.as_secs_f64())),
    ];
    report::print_table(&rows);
    println!(
        "{}",
        serde_json::json!({
            "waiters": o.waiters,
            "grids": grids.len(),
            "rss_idle_kib": rss_idle,
            "rss_waiting_kib": rss_waiting,
            "kib_per_waiter": per_waiter,
            "cpu_idle_percent": cpu_idle,
            "cpu_waiting_percent": cpu_waiting,
            "woken": woken,
            "in_grid_1": in_grid_1,
            "wake_ms": last.as_secs_f64() * 1000.0,
            "wrong_wakeups": wrong,
            "early_answers": early,
        })
    );
    Ok(())
}

//! Durability under SIGKILL: the `gridwork` process is killed at random
//! instants in the middle of a `demo` and of `visit record`, repeatedly. The
//! store must always open, `check` must pass, and every write acknowledged
//! before a kill must be there.

use gridwork_tests::cli::Phone;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Small deterministic generator for kill delays (reproducible runs).
struct Delays(u64);

impl Delays {
    fn next_ms(&mut self, max: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % max
    }
}

fn assert_consistent(p: &Phone) {
    let out = p.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "check after a kill: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn killing_demo_midway_leaves_whole_households_and_a_consistent_store() {
    let dir = TempDir::new().unwrap();
    let p = Phone::new(dir.path().join("phone.db"));
    p.init("gw-001", "G-001");
    let mut delays = Delays(42);
    let mut acknowledged = 0u64;
    for round in 0..4 {
        let mut child = p
            .command(&[
                "demo",
                // The store is initialised but has never synced.
                "--force",
                "--households",
                "30",
                "--years",
                "2",
                "--seed",
                &round.to_string(),
                "--progress",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Let it commit a few households, then kill it at a random instant.
        let stderr = child.stderr.take().unwrap();
        let wanted = 1 + delays.next_ms(4);
        let reader = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    seen.push(v["households_committed"].as_u64().unwrap_or(0));
                }
            }
            seen
        });
        let start = Instant::now();
        let extra = Duration::from_millis(delays.next_ms(40));
        // Wait until `wanted` households were acknowledged (or the demo ended).
        loop {
            std::thread::sleep(Duration::from_millis(5));
            if child.try_wait().unwrap().is_some() || start.elapsed() > Duration::from_secs(60) {
                break;
            }
            let households = p.json(&["household", "list"]).as_array().unwrap().len() as u64;
            if households >= acknowledged + wanted {
                break;
            }
        }
        std::thread::sleep(extra);
        let _ = child.kill(); // SIGKILL on Unix.
        let _ = child.wait();
        let seen = reader.join().unwrap();
        acknowledged += seen.last().copied().unwrap_or(0);

        let list = p.json(&["household", "list"]);
        let households = list.as_array().unwrap();
        assert!(
            households.len() as u64 >= acknowledged,
            "round {round}: lost acknowledged households"
        );
        // Each household is whole: committed together with its residents and visits.
        for h in households {
            assert!(
                h["residents"].as_u64().unwrap() >= 1,
                "round {round}: household without residents"
            );
            assert!(
                !h["last_visit_at"].is_null(),
                "round {round}: household without visits"
            );
        }
        acknowledged = households.len() as u64;
        assert_consistent(&p);
    }
}

#[test]
fn killing_visit_record_never_loses_an_acknowledged_visit() {
    let dir = TempDir::new().unwrap();
    let p = Phone::new(dir.path().join("phone.db"));
    p.init("gw-001", "G-001");
    let household = p.add_household("幸福里1号楼101室", &["--tag", "低保"]);
    let answers = dir.path().join("answers.json");
    let all_ok: serde_json::Map<String, serde_json::Value> =
        gridwork_core::forms::default_pack::visit_checklist()
            .fields
            .iter()
            .map(|f| (f.id.clone(), serde_json::json!("ok")))
            .collect();
    std::fs::write(&answers, serde_json::Value::Object(all_ok).to_string()).unwrap();
    let mut delays = Delays(7);
    let mut acknowledged = BTreeSet::new();
    let mut killed = 0;
    for _ in 0..40 {
        let mut child = p
            .command(&[
                "visit",
                "record",
                &household,
                "--answers",
                answers.to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delays.next_ms(25)));
        if child.try_wait().unwrap().is_none() {
            let _ = child.kill();
            killed += 1;
        }
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            acknowledged.insert(v["id"].as_str().unwrap().to_string());
        }
    }
    let stored: BTreeSet<String> = p
        .json(&["visit", "list", "--household", &household])
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        acknowledged.is_subset(&stored),
        "acknowledged visits missing after kills"
    );
    assert!(
        killed > 0,
        "no process was killed mid-run; the test proved nothing"
    );
    assert!(!acknowledged.is_empty(), "no visit was ever acknowledged");
    assert_consistent(&p);
}

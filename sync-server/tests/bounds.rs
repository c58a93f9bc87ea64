//! Resource bounds of the sync endpoint and sign-in (issue 12 §1), against
//! the real binary: identifiers that cannot come from a phone are refused
//! before anything is written; twenty maximal bodies at once keep the
//! server's peak memory (VmHWM from /proc) within its 256 MB budget and it
//! keeps serving; rate limits answer 429 with `Retry-After`.

mod common;

use common::{exchange, post_sync, Reply};
use gridwork_core::sync::protocol::{self, DocPush, SyncRequest};
use std::path::Path;

/// The documented peak memory budget of the server.
const BUDGET_BYTES: u64 = 256 * 1024 * 1024;

fn plain_sync() -> Vec<u8> {
    protocol::encode(&SyncRequest {
        device: "0a1b2c3d4e5f".into(),
        worker: "gw-a".into(),
        grid: "G1".into(),
        ..SyncRequest::default()
    })
    .unwrap()
}

/// A `/proc/PID/status` figure in bytes (`VmHWM`: peak resident memory).
fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"));
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kb * 1024
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[test]
fn bad_identifiers_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::grid_tree(&data);
    let token = common::gridworker_token(&data, "gw-a");
    let server = common::start(&data, &[]);
    assert_eq!(post_sync(&server.addr, &token, &plain_sync()).status, 200);
    let before = dir_bytes(&data);
    let huge_device = "f".repeat(1 << 20);
    for device in ["", "a\u{0}b", "\u{1b}[2J", huge_device.as_str()] {
        let body = protocol::encode(&SyncRequest {
            device: device.into(),
            pushes: (0..400)
                .map(|i| DocPush {
                    id: format!("household/{i}"),
                    ..DocPush::default()
                })
                .collect(),
            ..SyncRequest::default()
        })
        .unwrap();
        let reply = post_sync(&server.addr, &token, &body);
        assert_eq!(reply.status, 400, "{}", reply.text());
        assert!(reply.text().contains("device"), "{}", reply.text());
        assert!(!reply.text().contains('\u{1b}'));
    }
    let grown = dir_bytes(&data).saturating_sub(before);
    assert!(
        grown < 256 * 1024,
        "the data directory grew by {grown} bytes"
    );
}

#[test]
fn twenty_maximal_bodies_at_once_stay_within_the_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::grid_tree(&data);
    let token = common::gridworker_token(&data, "gw-a");
    let server = common::start(&data, &[]);
    let pid = server.child.id();
    // Just under the inflated cap: pushes of zeros, each at the per-doc cap.
    let per_doc = protocol::MAX_PUSH_BYTES;
    let docs = (protocol::MAX_DECODED_REQUEST_BYTES as usize - 4096) / per_doc;
    let maximal = protocol::encode(&SyncRequest {
        device: "0a1b2c3d4e5f".into(),
        pushes: (0..docs)
            .map(|i| DocPush {
                id: format!("household/0191d9a2-0000-7000-8000-00000000000{i}"),
                heads: Vec::new(),
                changes: vec![0; per_doc],
            })
            .collect(),
        ..SyncRequest::default()
    })
    .unwrap();
    assert!(
        maximal.len() < 200 * 1024,
        "{} bytes compressed",
        maximal.len()
    );
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| s.spawn(|| post_sync(&server.addr, &token, &maximal)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let peak = proc_status_bytes(pid, "VmHWM:");
    let mut served = 0;
    for reply in &replies {
        match reply.status {
            200 => {
                served += 1;
                let answer: protocol::SyncResponse = protocol::decode(&reply.body).unwrap();
                assert_eq!(
                    answer.rejected.len(),
                    docs,
                    "every zero-filled doc is refused"
                );
            }
            503 => assert!(reply.header("retry-after").is_some()),
            other => panic!("unexpected {other}: {}", reply.text()),
        }
    }
    assert!(served >= 1, "at least one maximal body was served");
    assert!(
        peak <= BUDGET_BYTES,
        "peak RSS {} MiB over the {} MiB budget",
        peak >> 20,
        BUDGET_BYTES >> 20
    );
    eprintln!(
        "20 maximal bodies ({} KiB each, {} MiB inflated): {served} served, {} busy; peak RSS {} MiB",
        maximal.len() >> 10,
        protocol::MAX_DECODED_REQUEST_BYTES >> 20,
        replies.len() - served,
        peak >> 20
    );
    // Still serving, and a phone's sync goes through.
    assert_eq!(
        exchange(&server.addr, "GET", "/healthz", &[], b"").status,
        200
    );
    assert_eq!(post_sync(&server.addr, &token, &plain_sync()).status, 200);
}

#[test]
fn sync_and_sign_in_are_rate_limited_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::grid_tree(&data);
    let token = common::gridworker_token(&data, "gw-a");
    let other = common::gridworker_token(&data, "gw-b");
    let server = common::start(
        &data,
        &[
            "--sync-rate-per-token",
            "60",
            "--sign-in-rate-per-user",
            "10",
        ],
    );
    let statuses: Vec<Reply> = (0..20)
        .map(|_| post_sync(&server.addr, &token, &plain_sync()))
        .collect();
    let limited: Vec<&Reply> = statuses.iter().filter(|r| r.status == 429).collect();
    assert!(!limited.is_empty(), "20 syncs at once, 60 a minute allowed");
    assert!(
        statuses.iter().take(12).all(|r| r.status == 200),
        "the burst of 12 passes"
    );
    let wait: u64 = limited[0].header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    // Another token is not affected.
    let body = protocol::encode(&SyncRequest {
        device: "0a1b2c3d4e60".into(),
        worker: "gw-b".into(),
        grid: "G1".into(),
        ..SyncRequest::default()
    })
    .unwrap();
    assert_eq!(post_sync(&server.addr, &other, &body).status, 200);

    // Sign-in: 10 a minute per user name, a burst of 5.
    let codes: Vec<u16> = (0..8)
        .map(|_| common::http::try_login(&server.addr, "staff-x", "wrong password 123").status)
        .collect();
    assert_eq!(&codes[..5], &[401; 5], "{codes:?}");
    assert!(codes[5..].iter().all(|&c| c == 429), "{codes:?}");
    let page = common::http::try_login(&server.addr, "staff-x", "wrong password 123");
    assert!(page.body.contains("登录尝试过于频繁"), "{}", page.body);
    assert!(page.header("retry-after").is_some());
}

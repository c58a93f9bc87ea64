//! The 30-minute loop end to end (issue 16 §1–§2) with the real server and
//! phones of the core library:
//!
//! - `admin invite add|list|revoke` keeps a grid's invitation links;
//! - a resident files a request on `/r/{token}`; a phone of the grid that
//!   waits (`Store::wait_for_changes`, `GET /v1/wait`) wakes within 5 s,
//!   syncs, and holds a `collected` WeChat case opened by `resident` at the
//!   server's receipt; a phone of another grid does not wake;
//! - the gridworker responds on the phone and the resident's tracking page
//!   shows the first response; the page shows nothing else of the case;
//! - refusals: an unknown, revoked or tampered link, a stale form token, a
//!   filled honeypot (answered as accepted, nothing kept), bad fields (the
//!   form comes back with the values), a proposed contact change kept for
//!   the gridworker and never written to the register.

use gridwork_core::model::{CaseState, Channel};
use gridwork_core::sync::{SyncOptions, WaitOptions};
use gridwork_core::Store;
use std::time::{Duration, Instant};

mod common;

use common::admin_json;
use common::http::{get, hidden_field as hidden, post};

fn location(response: &common::http::Response) -> String {
    response.header("location").expect("Location").to_owned()
}

#[test]
fn a_residents_request_reaches_the_waiting_phone_and_the_response_reaches_the_resident() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    common::grid_tree(&data);
    admin_json(
        &data,
        &["grid", "add", "G2", "--name", "第二网格", "--parent", "C-1"],
        &[],
    );
    let token = common::gridworker_token(&data, "gw-a");
    admin_json(
        &data,
        &[
            "worker",
            "add",
            "gw-b",
            "--name",
            "乙",
            "--role",
            "gridworker",
            "--grid",
            "G2",
        ],
        &[],
    );
    let token_b = admin_json(&data, &["token", "issue", "gw-b"], &[])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Links: only 4th-level grids; a bad lifetime is refused.
    let refused = common::admin_with_env(&data, &["invite", "add", "--grid", "C"], &[]);
    assert!(!refused.status.success());
    let refused = common::admin_with_env(
        &data,
        &["invite", "add", "--grid", "G1", "--days", "0"],
        &[],
    );
    assert!(!refused.status.success());
    let made = admin_json(
        &data,
        &[
            "invite",
            "add",
            "--grid",
            "G1",
            "--base-url",
            "https://grid.example.cn/",
        ],
        &[],
    );
    let path = made["path"].as_str().unwrap().to_owned();
    assert_eq!(
        made["url"].as_str().unwrap(),
        format!("https://grid.example.cn{path}")
    );
    let listed = admin_json(&data, &["invite", "list"], &[]);
    assert_eq!(
        listed[0]["path"],
        path.as_str(),
        "the link can be shown again"
    );
    assert_eq!(listed[0]["usable"], true);

    let server = common::start(&data, &["--resident-requests-per-address-hour", "1000"]);
    let url = format!("http://{}", server.addr);
    let phone = Store::open(dir.path().join("a.db"), None).unwrap();
    phone.init("gw-a", "网格员", "G1").unwrap();
    phone.sync(&url, &token, &SyncOptions::default()).unwrap();
    let other = Store::open(dir.path().join("b.db"), None).unwrap();
    other.init("gw-b", "乙", "G2").unwrap();
    other.sync(&url, &token_b, &SyncOptions::default()).unwrap();

    // Nothing new: a short wait ends without a change.
    let quiet = phone
        .wait_for_changes(
            &url,
            &token,
            &WaitOptions {
                hold_secs: 1,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(!quiet);

    // Both phones wait; the resident files a request.
    let waiting = |store_path: std::path::PathBuf, token: String, url: String| {
        std::thread::spawn(move || {
            let store = Store::open(store_path, None).unwrap();
            let started = Instant::now();
            let changed = store
                .wait_for_changes(
                    &url,
                    &token,
                    &WaitOptions {
                        hold_secs: 8,
                        ..Default::default()
                    },
                )
                .unwrap();
            (changed, started.elapsed())
        })
    };
    drop(phone);
    drop(other);
    let wait_a = waiting(dir.path().join("a.db"), token.clone(), url.clone());
    let wait_b = waiting(dir.path().join("b.db"), token_b.clone(), url.clone());
    std::thread::sleep(Duration::from_millis(300));

    let page = get(&server.addr, &path, &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("向网格员反映问题"));
    assert!(!page.body.contains("<script"));
    assert!(page.body.len() < 20_000, "{} bytes", page.body.len());
    let form = hidden(&page.body, "form");
    let filed_at = Instant::now();
    let before = jiff::Timestamp::now().as_millisecond();
    let sent = post(
        &server.addr,
        &path,
        &[],
        &[
            ("form", &form),
            ("kind", "request"),
            ("category", "sanitation"),
            ("text", "3号楼楼道堆满杂物，堵住了消防通道"),
            ("place", "3号楼2单元"),
            ("phone", "13800001234"),
            ("website", ""),
        ],
    );
    assert_eq!(sent.status, 303, "{}", sent.body);
    let tracking = location(&sent);
    assert!(
        tracking.starts_with("/r/t/") && tracking.ends_with("?new=1"),
        "{tracking}"
    );

    let (changed, waited) = wait_a.join().unwrap();
    assert!(changed, "the grid's phone wakes");
    assert!(
        filed_at.elapsed() < Duration::from_secs(5),
        "the phone woke {:?} after filing",
        filed_at.elapsed()
    );
    assert!(waited < Duration::from_secs(8));
    let (other_changed, _) = wait_b.join().unwrap();
    assert!(!other_changed, "a phone of another grid does not wake");

    let phone = Store::open(dir.path().join("a.db"), None).unwrap();
    phone.sync(&url, &token, &SyncOptions::default()).unwrap();
    let cases = phone.list_cases(false).unwrap();
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!(case.status, CaseState::Collected);
    assert_eq!(case.channel, Channel::Wechat);
    assert_eq!(case.category, "环境卫生");
    assert_eq!(case.opened_by.0, "resident");
    assert!(case.description.contains("堵住了消防通道"));
    assert!(case.description.contains("回电：13800001234"));
    assert!(case.opened_at.0 >= before && case.opened_at.0 <= before + 5_000);
    assert!(
        case.timers.response_due_at.0 == case.opened_at.0 + 30 * 60_000,
        "the 30-minute clock runs"
    );

    let tracked = get(&server.addr, &tracking, &[]);
    assert_eq!(tracked.status, 200);
    assert!(tracked.body.contains("已收到您的诉求"));
    assert!(tracked.body.contains(r#"data-status="collected""#));
    assert!(tracked.body.contains("等待网格员回应"));
    assert!(
        !tracked.body.contains("消防通道") && !tracked.body.contains("13800001234"),
        "the tracking page shows no details"
    );

    phone
        .transition_case(case.id, "registered", "已联系物业，今天下午清理")
        .unwrap();
    phone.sync(&url, &token, &SyncOptions::default()).unwrap();
    let tracked = get(&server.addr, tracking.trim_end_matches("?new=1"), &[]);
    assert!(
        tracked.body.contains(r#"data-status="registered""#),
        "{}",
        tracked.body
    );
    assert!(!tracked.body.contains("等待网格员回应"));
    assert!(!tracked.body.contains("已联系物业"), "notes stay private");

    // Unknown tracking token, tampered and unknown links.
    assert_eq!(get(&server.addr, "/r/t/nothing", &[]).status, 404);
    let mut tampered = path.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(get(&server.addr, &tampered, &[]).status, 404);
    assert_eq!(get(&server.addr, "/r/000000000000.x", &[]).status, 404);

    // A stale or missing form token: refused, nothing filed.
    let stale = post(
        &server.addr,
        &path,
        &[],
        &[
            ("form", "1.AAAA"),
            ("kind", "request"),
            ("category", "noise"),
            ("text", "夜里很吵"),
        ],
    );
    assert_eq!(stale.status, 403);
    // Bad fields: the form comes back with what was typed.
    let page = get(&server.addr, &path, &[]);
    let form = hidden(&page.body, "form");
    let bad = post(
        &server.addr,
        &path,
        &[],
        &[
            ("form", &form),
            ("kind", "request"),
            ("category", "sanitation"),
            ("text", "楼下垃圾没人收"),
            ("phone", "call me"),
        ],
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("楼下垃圾没人收"));
    let unknown_category = post(
        &server.addr,
        &path,
        &[],
        &[
            ("form", &form),
            ("kind", "request"),
            ("category", "x"),
            ("text", "t"),
        ],
    );
    assert_eq!(unknown_category.status, 400);
    // The honeypot: answered as accepted, nothing kept.
    let bot = post(
        &server.addr,
        &path,
        &[],
        &[
            ("form", &form),
            ("kind", "request"),
            ("category", "other"),
            ("text", "buy now"),
            ("website", "http://spam.example"),
        ],
    );
    assert_eq!(bot.status, 200);
    // A contact change: kept for the gridworker, the register untouched.
    let proposal = post(
        &server.addr,
        &path,
        &[],
        &[
            ("form", &form),
            ("kind", "contact"),
            ("address", "幸福里3号楼201"),
            ("name", "李阿姨"),
            ("new_phone", "13900005678"),
        ],
    );
    assert_eq!(proposal.status, 200, "{}", proposal.body);
    phone.sync(&url, &token, &SyncOptions::default()).unwrap();
    assert_eq!(
        phone.list_cases(false).unwrap().len(),
        1,
        "only the real request"
    );
    assert!(phone.list_households().unwrap().is_empty());

    // Sent from another site (a page auto-posting its visitors' browsers):
    // refused before anything is counted or stored.
    for header in [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        let body = common::http::form_encode(&[
            ("form", &form),
            ("kind", "request"),
            ("category", "other"),
            ("text", "跨站提交"),
        ]);
        let reply = common::exchange(
            &server.addr,
            "POST",
            &path,
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                header,
            ],
            body.as_bytes(),
        );
        assert_eq!(reply.status, 403, "{header:?}");
    }
    phone.sync(&url, &token, &SyncOptions::default()).unwrap();
    assert_eq!(phone.list_cases(false).unwrap().len(), 1);

    // Revoked: the link says so (410) and files nothing.
    let id = made["invite"]["id"].as_str().unwrap();
    admin_json(&data, &["invite", "revoke", id], &[]);
    assert_eq!(get(&server.addr, &path, &[]).status, 410);
    let after = post(
        &server.addr,
        &path,
        &[],
        &[
            ("form", &form),
            ("kind", "request"),
            ("category", "other"),
            ("text", "t"),
        ],
    );
    assert_eq!(after.status, 410);
    let listed = admin_json(&data, &["invite", "list"], &[]);
    assert_eq!(listed[0]["usable"], false);
}

#[test]
fn the_wait_endpoint_needs_a_token_and_caps_waits_per_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    common::grid_tree(&data);
    let token = common::gridworker_token(&data, "gw-a");
    let server = common::start(&data, &[]);
    let reply = common::exchange(&server.addr, "GET", "/v1/wait?cursor=0&timeout=1", &[], b"");
    assert_eq!(reply.status, 401);
    let auth = format!("Bearer {token}");
    // A cursor of 0: the grid's config docs are news at once.
    let reply = common::exchange(
        &server.addr,
        "GET",
        "/v1/wait?cursor=0&timeout=1",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(reply.status, 200);
    let waited: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    let seq = waited["seq"].as_u64().unwrap();
    // A cursor past the whole feed (a server restored from an older
    // backup): sync now.
    let reply = common::exchange(
        &server.addr,
        "GET",
        "/v1/wait?cursor=999999&timeout=5",
        &[("Authorization", &auth)],
        b"",
    );
    let restored: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(restored["changed"], true);
    // Up to date: nothing new. Two waits of one token are held; a third
    // ends the oldest at once (a phone that cancelled and waits again is
    // never refused), and the cap holds: two answered late, one early.
    let path = format!("/v1/wait?cursor={seq}&timeout=4");
    let wait = |delay_ms: u64| {
        let (addr, auth, path) = (server.addr.clone(), auth.clone(), path.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(delay_ms));
            let started = Instant::now();
            let reply = common::exchange(&addr, "GET", &path, &[("Authorization", &auth)], b"");
            (reply.status, reply.text(), started.elapsed())
        })
    };
    let (first, second, third) = (wait(0), wait(300), wait(900));
    let (status, body, took) = first.join().unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("\"changed\":false"), "{body}");
    assert!(
        took < Duration::from_secs(2),
        "the oldest wait ended early: {took:?}"
    );
    for late in [second, third] {
        let (status, body, took) = late.join().unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("\"changed\":false"), "{body}");
        assert!(took >= Duration::from_secs(3), "held: {took:?}");
    }
}

#[test]
fn past_the_limit_the_form_comes_back_with_what_was_typed_and_typos_are_not_counted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    common::grid_tree(&data);
    let made = admin_json(&data, &["invite", "add", "--grid", "G1"], &[]);
    let path = made["path"].as_str().unwrap().to_owned();
    // Nine an hour from one address: three at once, then one every 6 minutes.
    let server = common::start(&data, &["--resident-requests-per-address-hour", "9"]);
    let page = get(&server.addr, &path, &[]);
    let form = hidden(&page.body, "form");
    let send = |text: &str, phone: &str| {
        post(
            &server.addr,
            &path,
            &[],
            &[
                ("form", &form),
                ("kind", "request"),
                ("category", "noise"),
                ("text", text),
                ("phone", phone),
            ],
        )
    };
    // Typos are sent back without counting.
    for _ in 0..5 {
        assert_eq!(send("楼上装修太吵", "not a phone").status, 400);
    }
    for i in 0..3 {
        assert_eq!(send(&format!("楼上装修太吵 {i}"), "").status, 303);
    }
    let refused = send("晚上十点后还在施工", "");
    assert_eq!(refused.status, 429);
    assert!(
        refused.body.contains("晚上十点后还在施工"),
        "what was typed stays"
    );
    assert!(refused.body.contains("分钟后再试"));
}

//! The 30-minute loop in a real browser (issue 16, "Done when"): headless
//! Chromium against the real `gridwork-server`, the gridworker's phone
//! driven through the `gridwork` CLI.
//!
//! Community staff make the grid's invitation link on `/invites` (desktop
//! window). A resident opens it in an emulated phone (390×844, WeChat's user
//! agent) and files a request; the gridworker's phone, running
//! `gridwork sync --watch`, receives it within 5 s as a `collected` WeChat
//! case with the 30-minute clock running from the server's receipt; the
//! gridworker responds (registers it with a note) and syncs; the resident's
//! tracking page shows the first response and the new status, never the
//! note.
//!
//! Screenshots go to `target/browser-screenshots/resident-*.png`. Without
//! chromedriver the test is skipped unless `GRIDWORK_BROWSER_TEST=required`.

use gridwork_tests::browser::{self, Browser};
use gridwork_tests::cli::Phone;
use gridwork_tests::server::Server;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const STAFF_PASSWORD: &str = "Xingfu-2026-社区";

/// `gridwork sync --watch` in the background; its summary lines arrive on
/// a channel. Killed when dropped.
struct Watcher {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Watcher {
    fn start(phone: &Phone, url: &str, token: &str) -> Watcher {
        let mut cmd = phone.command(&[
            "sync",
            "--server",
            url,
            "--token-env",
            "GRIDWORK_TOKEN",
            "--watch",
        ]);
        cmd.env("GRIDWORK_TOKEN", token)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start gridwork sync --watch");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("watch line is not JSON ({e}): {line}"));
                if send.send(value).is_err() {
                    return;
                }
            }
        });
        Watcher { child, lines }
    }

    /// The next summary line, waiting at most `patience`.
    fn next(&self, patience: Duration) -> Option<Value> {
        self.lines.recv_timeout(patience).ok()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_files_on_the_h5_page_and_sees_the_gridworkers_response() {
    let Some(driver) = browser::chromedriver("resident_browser") else {
        return;
    };
    gridwork_tests::cli::workspace_bins();
    let dir = TempDir::new().unwrap();
    let server = Server::start(&dir.path().join("server"), &[]);
    for (code, name, parent) in [
        ("T1", "演示镇", None),
        ("C1", "幸福社区", Some("T1")),
        ("C1-1", "幸福片区", Some("C1")),
        ("G1", "幸福第一网格", Some("C1-1")),
    ] {
        let mut args = vec!["grid", "add", code, "--name", name];
        if let Some(parent) = parent {
            args.extend(["--parent", parent]);
        }
        server.admin(&args);
    }
    let token = server.add_gridworker("gw-a", "G1");
    server.admin_env(
        &[
            "worker",
            "add",
            "staff-c1",
            "--name",
            "李社工",
            "--role",
            "community_staff",
            "--grid",
            "C1",
            "--password-env",
            "GW_STAFF_PASSWORD",
        ],
        &[("GW_STAFF_PASSWORD", STAFF_PASSWORD)],
    );
    let url = server.url.clone();
    let phone = Phone::new(dir.path().join("a.db"));
    phone.init("gw-a", "G1");

    // The gridworker's phone watches for new work.
    let watcher = Watcher::start(&phone, &url, &token);
    let first = watcher
        .next(Duration::from_secs(30))
        .expect("the first sync of sync --watch");
    assert!(first["synced_at"].is_string(), "{first}");

    // Staff make the grid's link on /invites.
    let staff = Browser::start(&driver, &url).await;
    staff.goto("/login").await;
    staff
        .find("form[action=\"/login\"] input[name=\"user\"]")
        .await
        .send_keys("staff-c1")
        .await
        .unwrap();
    staff
        .find("form[action=\"/login\"] input[name=\"password\"]")
        .await
        .send_keys(STAFF_PASSWORD)
        .await
        .unwrap();
    let submit = staff
        .find("form[action=\"/login\"] button[type=\"submit\"]")
        .await;
    staff.click_and_wait(&submit).await;
    staff.goto("/invites").await;
    assert_eq!(staff.status().await, 200);
    let create = staff
        .find("form[action=\"/invites\"] button[type=\"submit\"]")
        .await;
    staff.click_and_wait(&create).await;
    assert_eq!(staff.path().await, "/invites");
    let link = staff
        .find("tr[data-usable=\"true\"] a.invite-link")
        .await
        .attr("href")
        .await
        .unwrap()
        .expect("the link");
    assert!(link.starts_with(&url), "{link} is on {url}");
    assert!(
        staff.exists("tr[data-usable=\"true\"] td.qr svg").await,
        "a QR code"
    );
    staff.screenshot("resident-invites").await;
    let print = staff
        .find("tr[data-usable=\"true\"] a[href$=\"/print\"]")
        .await;
    staff.click_and_wait(&print).await;
    assert!(staff.exists("body.poster svg").await);
    staff.screenshot("resident-poster").await;
    staff.close().await;

    // A resident opens it in WeChat on a phone and files a request.
    let resident = Browser::start_mobile(&driver, &url).await;
    resident.goto(&link[url.len()..]).await;
    assert_eq!(resident.status().await, 200);
    let width = resident
        .script("return document.documentElement.clientWidth;")
        .await;
    assert_eq!(width.as_u64(), Some(u64::from(browser::PHONE_VIEWPORT.0)));
    let overflow = resident
        .script(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth;",
        )
        .await;
    assert_eq!(
        overflow,
        Value::Bool(false),
        "no sideways scrolling on a phone"
    );
    resident
        .script("document.querySelector('#category').value = 'sanitation'; return null;")
        .await;
    resident
        .find("#text")
        .await
        .send_keys("3号楼楼道堆满杂物，堵住了消防通道")
        .await
        .unwrap();
    resident
        .find("#place")
        .await
        .send_keys("3号楼2单元")
        .await
        .unwrap();
    resident
        .find("#phone")
        .await
        .send_keys("13800001234")
        .await
        .unwrap();
    // A photo from the phone's gallery: a 2000×1500 JPEG.
    let shot = dir.path().join("IMG_2041.jpg");
    image::RgbImage::from_fn(2000, 1500, |x, y| {
        image::Rgb([(x / 8) as u8, (y / 6) as u8, ((x ^ y) & 0xff) as u8])
    })
    .save_with_format(&shot, image::ImageFormat::Jpeg)
    .unwrap();
    resident
        .find("#photo")
        .await
        .send_keys(shot.to_str().unwrap())
        .await
        .unwrap();
    resident.screenshot("resident-form").await;
    let send = resident
        .find("form input[name=\"kind\"][value=\"request\"] ~ button[type=\"submit\"]")
        .await;
    let filed = Instant::now();
    resident.click_and_wait(&send).await;
    let tracking = resident.path().await;
    assert!(tracking.starts_with("/r/t/"), "after sending: {tracking}");
    assert_eq!(
        resident
            .find("#status")
            .await
            .attr("data-status")
            .await
            .unwrap()
            .as_deref(),
        Some("collected")
    );
    resident.screenshot("resident-tracking-received").await;

    // The watching phone gets it within 5 s.
    let mut received = None;
    while filed.elapsed() < Duration::from_secs(5) {
        match watcher.next(Duration::from_millis(200)) {
            Some(line) if line["docs_down"].as_u64().unwrap_or(0) > 0 => {
                received = Some(filed.elapsed());
                break;
            }
            _ => {}
        }
    }
    let received = received.expect("the watching phone received the request within 5 s");
    drop(watcher);
    let cases = phone.json(&["case", "list"]);
    let cases = cases.as_array().expect("case list");
    assert_eq!(cases.len(), 1, "{cases:?}");
    let case = &cases[0];
    assert_eq!(case["status"], "collected");
    assert_eq!(case["channel"], "wechat");
    assert_eq!(case["opened_by"], "resident");
    let opened = case["opened_at"].as_i64().unwrap();
    assert_eq!(
        case["timers"]["response_due_at"].as_i64(),
        Some(opened + 30 * 60_000),
        "the 30-minute clock runs from the server's receipt"
    );
    assert_eq!(case["timers"]["response_overdue"], false);
    // The resident's photo is the case's own; the phone fetches it.
    let photos = case["photos"].as_array().expect("case photos");
    assert_eq!(photos.len(), 1, "{case}");
    let photo_id = photos[0].as_str().unwrap();
    let fetched = dir.path().join("fetched.jpg");
    let mut show = phone.command(&[
        "photo",
        "show",
        photo_id,
        "--out",
        fetched.to_str().unwrap(),
        "--server",
        &url,
        "--token-env",
        "GRIDWORK_TOKEN",
    ]);
    show.env("GRIDWORK_TOKEN", &token);
    let out = show.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let picture = image::open(&fetched).unwrap();
    assert_eq!((picture.width(), picture.height()), (1600, 1200));

    // The gridworker responds and syncs; the tracking page shows it.
    let id = case["id"].as_str().unwrap();
    phone.json(&[
        "case",
        "transition",
        id,
        "--to",
        "registered",
        "--note",
        "已联系物业，今天下午清理",
    ]);
    phone.sync(&url, &token);
    resident.goto(&tracking).await;
    assert_eq!(
        resident
            .find("#status")
            .await
            .attr("data-status")
            .await
            .unwrap()
            .as_deref(),
        Some("registered")
    );
    let first_response = resident.text("#first-response").await;
    assert!(
        !first_response.contains("等待"),
        "the first response is shown: {first_response}"
    );
    let body = resident.body_text().await;
    assert!(!body.contains("已联系物业"), "the note stays private");
    assert!(
        !body.contains("消防通道"),
        "no details on the tracking page"
    );
    resident.screenshot("resident-tracking-answered").await;
    resident.close().await;
    println!(
        "resident_browser: the watching phone had the request {:.2}s after the resident sent it",
        received.as_secs_f64()
    );
}

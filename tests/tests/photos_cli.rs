//! Issue 14 §7: photos through the `gridwork` CLI against the real server:
//! `hazard report --photo` (repeatable), `hazard transition --photo`,
//! `visit record --photo`, `form fill` with a file in a photo field,
//! `photo add`, `photo show --out` (from the phone, and fetched from the
//! server on a second phone), `photo queue`, the upload queue in `sync`'s
//! summary, `sync --photos` with progress lines, and the storage budget.

use gridwork_tests::cli::{stderr_lines, Phone};
use gridwork_tests::server::Server;
use serde_json::Value;
use std::path::Path;
use tempfile::TempDir;

/// A PNG test photo, `w`×`h`.
fn write_photo(path: &Path, w: u32, h: u32, seed: u8) {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x as u8).wrapping_mul(seed), (y as u8) ^ seed, seed])
    })
    .save_with_format(path, image::ImageFormat::Png)
    .unwrap();
}

fn sync_args<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["sync", "--server", url, "--token-env", "GRIDWORK_TOKEN"];
    args.extend_from_slice(extra);
    args
}

fn sync(phone: &Phone, url: &str, token: &str, extra: &[&str]) -> (Value, Vec<String>) {
    let mut cmd = phone.command(&sync_args(url, extra));
    cmd.env("GRIDWORK_TOKEN", token);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "sync {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        stderr_lines(&out),
    )
}

#[test]
fn photos_from_the_cli_reach_the_server_and_a_second_phone() {
    let dir = TempDir::new().unwrap();
    let server = Server::start(&dir.path().join("server"), &[]);
    server.add_small_town();
    let token_a = server.add_gridworker("gw-a", "G1");
    let token_b = server.add_gridworker("gw-b", "G1");
    let a = Phone::new(dir.path().join("a.db"));
    a.init("gw-a", "G1");
    let before = dir.path().join("before.png");
    let detail = dir.path().join("detail.png");
    let after = dir.path().join("after.png");
    write_photo(&before, 2400, 1200, 3);
    write_photo(&detail, 300, 200, 5);
    write_photo(&after, 640, 480, 7);

    // A hazard with two "before" photos, then rectified with an "after" one.
    let hazard = a.json(&[
        "hazard",
        "report",
        "--category",
        "消防安全",
        "--description",
        "楼道堆物",
        "--photo",
        before.to_str().unwrap(),
        "--photo",
        detail.to_str().unwrap(),
    ]);
    let photos: Vec<String> = hazard["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    assert_eq!(photos.len(), 2);
    let id = hazard["id"].as_str().unwrap();
    a.json(&["hazard", "transition", id, "--to", "rectifying"]);
    let rectified = a.json(&[
        "hazard",
        "transition",
        id,
        "--to",
        "rectified",
        "--note",
        "已清理",
        "--photo",
        after.to_str().unwrap(),
    ]);
    let last = rectified["transitions"].as_array().unwrap().last().unwrap();
    assert_eq!(last["photos"].as_array().unwrap().len(), 1);

    // The photo as stored: a JPEG downscaled to 1600 px.
    let out = dir.path().join("out.jpg");
    let shown = a.json(&["photo", "show", &photos[0], "--out", out.to_str().unwrap()]);
    assert_eq!(shown["id"], photos[0].as_str());
    let stored = image::open(&out).unwrap();
    assert_eq!((stored.width(), stored.height()), (1600, 800));
    assert!(std::fs::read(&out)
        .unwrap()
        .starts_with(&[0xFF, 0xD8, 0xFF]));
    // A file named in a form's photo field is attached too; `photo add`
    // attaches without a record.
    let loose = dir.path().join("loose.png");
    write_photo(&loose, 320, 240, 9);
    let added = a.json(&["photo", "add", loose.to_str().unwrap()]);
    assert_eq!(added["state"], "pending");
    let queue = a.json(&["photo", "queue"]);
    assert_eq!(queue["pending"], 4, "{queue}");

    // A plain sync pushes the records and then uploads the photos the
    // records name (the loose one waits for a record).
    let url = server.url.as_str();
    let (summary, _) = sync(&a, url, &token_a, &[]);
    assert!(summary["docs_up"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["photos"]["uploaded"], 3, "{summary}");
    assert_eq!(summary["upload_queue"]["pending"], 1, "{summary}");
    // `sync --photos` alone: nothing new to upload, progress lines only when
    // a chunk goes.
    let (again, _) = sync(&a, url, &token_a, &["--photos"]);
    assert_eq!(again["photos"]["uploaded"], 0, "{again}");
    assert!(again.get("docs_up").is_none(), "{again}");

    // The budget drops uploaded originals down to their thumbnails; the
    // loose photo (never uploaded) is kept.
    let (trimmed, _) = sync(&a, url, &token_a, &["--photo-budget-mib", "0"]);
    assert_eq!(trimmed["photo_budget"]["dropped"], 3, "{trimmed}");
    let gone = a.run(&["photo", "show", &photos[0], "--out", out.to_str().unwrap()]);
    assert_eq!(gone.status.code(), Some(1));
    let thumb = dir.path().join("thumb.jpg");
    a.json(&[
        "photo",
        "show",
        &photos[0],
        "--thumbnail",
        "--out",
        thumb.to_str().unwrap(),
    ]);
    assert!(image::open(&thumb).unwrap().width() <= 320);

    // A second phone of the grid fetches it from the server.
    let b = Phone::new(dir.path().join("b.db"));
    b.init("gw-b", "G1");
    sync(&b, url, &token_b, &["--no-photos"]);
    let fetched = dir.path().join("fetched.jpg");
    let mut cmd = b.command(&[
        "photo",
        "show",
        &photos[0],
        "--out",
        fetched.to_str().unwrap(),
        "--server",
        url,
        "--token-env",
        "GRIDWORK_TOKEN",
    ]);
    cmd.env("GRIDWORK_TOKEN", &token_b);
    let run = cmd.output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let image = image::open(&fetched).unwrap();
    assert_eq!((image.width(), image.height()), (1600, 800));

    // A visit with a photo, and `sync --photos` printing progress.
    let household = a.add_household("幸福里1号", &[]);
    let visit = a.json(&[
        "visit",
        "record",
        &household,
        "--photo",
        before.to_str().unwrap(),
        "--photo",
        detail.to_str().unwrap(),
    ]);
    assert!(visit["id"].is_string());
    // Both photos are already on the server (the same bytes as the
    // hazard's): pushing the visit needs no upload at all.
    let (summary, _) = sync(&a, url, &token_a, &[]);
    assert_eq!(summary["upload_queue"]["pending"], 1, "{summary}");
    let fresh = dir.path().join("fresh.png");
    write_photo(&fresh, 1000, 700, 11);
    a.json(&[
        "visit",
        "record",
        &household,
        "--photo",
        fresh.to_str().unwrap(),
    ]);
    sync(&a, url, &token_a, &["--no-photos"]);
    let (up, progress) = sync(&a, url, &token_a, &["--photos"]);
    assert_eq!(up["photos"]["uploaded"], 1, "{up}");
    assert!(
        progress.iter().any(|l| l.contains("photo_progress")),
        "{progress:?}"
    );

    // A file that cannot be read: a clear error, nothing stored.
    let refused = a.run(&[
        "hazard",
        "report",
        "--category",
        "其他",
        "--description",
        "x",
        "--photo",
        dir.path().join("missing.jpg").to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let lines = stderr_lines(&refused);
    assert!(lines.iter().any(|l| l.contains("photo")), "{lines:?}");
}

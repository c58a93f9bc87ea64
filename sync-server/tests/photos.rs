//! Issue 14: photos from a phone to the dashboard.
//!
//! - A hazard reported offline with two photos reaches the dashboard with
//!   its photos after one sync and the upload loop, through a loopback
//!   proxy that cuts, truncates, drops, resets and replays requests at
//!   random; every chunk the server accepted carried new bytes (none was
//!   sent again after a lost answer), and the stored bytes are the phone's.
//! - A chunk damaged on the way is refused and nothing of it is kept; bytes
//!   that do not hash to the id are dropped.
//! - A blob is 404 to a device or staff member whose scope holds no record
//!   naming it, whether or not it exists.
//! - Issue 16: a resident's photo sent with a request on the H5 page
//!   becomes the case's own photo (downscaled and re-encoded by the
//!   server), which the grid's phones fetch and staff see; a file that is
//!   not a photo or is too large sends the form back with what was typed.

mod common;

use base64::Engine;
use common::http::{get, hidden_field, post_multipart, try_login};
use common::{admin_json, exchange, start};
use gridwork_core::model::{HazardState, NewHazard, Workflow};
use gridwork_core::sync::{HttpTransport, PhotoSyncOptions, SyncOptions};
use gridwork_core::Store;
use gridwork_tests::proxy::{Fault, Proxy};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;

const PASSWORD: &str = "photo-test-Pa55word";

/// T → C1 → C1-1 → G1 and C2 → C2-1 → G2; gridworkers gw1 (G1) and gw2
/// (G2) with tokens; staff of C1 and of C2 with passwords. Returns the
/// tokens of gw1 and gw2.
fn town(data: &Path) -> (String, String) {
    for (code, name, parent) in [
        ("T1", "演示镇", None),
        ("C1", "幸福社区", Some("T1")),
        ("C1-1", "一片区", Some("C1")),
        ("G1", "第一网格", Some("C1-1")),
        ("C2", "和平社区", Some("T1")),
        ("C2-1", "二片区", Some("C2")),
        ("G2", "第二网格", Some("C2-1")),
    ] {
        let mut args = vec!["grid", "add", code, "--name", name];
        if let Some(parent) = parent {
            args.extend(["--parent", parent]);
        }
        admin_json(data, &args, &[]);
    }
    let mut tokens = Vec::new();
    for (worker, grid) in [("gw1", "G1"), ("gw2", "G2")] {
        admin_json(
            data,
            &[
                "worker",
                "add",
                worker,
                "--name",
                "网格员",
                "--role",
                "gridworker",
                "--grid",
                grid,
            ],
            &[],
        );
        let token = admin_json(data, &["token", "issue", worker], &[])["token"]
            .as_str()
            .unwrap()
            .to_owned();
        tokens.push(token);
    }
    for (staff, grid) in [("staff-c1", "C1"), ("staff-c2", "C2")] {
        admin_json(
            data,
            &[
                "worker",
                "add",
                staff,
                "--name",
                "社区工作人员",
                "--role",
                "community_staff",
                "--grid",
                grid,
                "--password-env",
                "GW_TEST_PASSWORD",
            ],
            &[("GW_TEST_PASSWORD", PASSWORD)],
        );
    }
    (tokens.remove(0), tokens.remove(0))
}

/// A noisy test photo (noise keeps JPEG from compressing it to nothing),
/// `w`×`h`, PNG-encoded; the phone re-encodes it as JPEG.
fn photo(seed: u32, w: u32, h: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let image = image::RgbImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state & 0x3f) as u8;
        image::Rgb([
            (x * 255 / w) as u8 ^ noise,
            (y * 255 / h) as u8,
            noise.wrapping_mul(3),
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode the test photo");
    out.into_inner()
}

fn phone(dir: &Path, name: &str, worker: &str, grid: &str) -> Store {
    let store = Store::open(dir.join(name), None).unwrap();
    store.init(worker, "网格员", grid).unwrap();
    store
}

/// Sync until it succeeds (the proxy may fail any request).
fn sync_through(store: &Store, url: &str, token: &str) {
    let transport = HttpTransport::new().unwrap();
    for _ in 0..200 {
        if store
            .sync_with(&transport, url, token, &SyncOptions::default())
            .is_ok()
        {
            return;
        }
    }
    panic!("no sync got through in 200 tries");
}

/// Staff session cookies after signing in as `user`.
fn sign_in(addr: &str, user: &str) -> String {
    let reply = try_login(addr, user, PASSWORD);
    assert_eq!(reply.status, 303, "{}", reply.body);
    reply.cookie("gw_session").expect("session cookie")
}

fn blob_request(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> common::Reply {
    let auth = format!("Bearer {token}");
    let mut all = vec![("Authorization", auth.as_str())];
    all.extend_from_slice(headers);
    exchange(addr, method, path, &all, body)
}

fn digest_header(bytes: &[u8]) -> String {
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
    )
}

#[test]
fn a_hazard_with_two_photos_reaches_the_dashboard_through_a_cutting_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (token, other_token) = town(&data);
    let server = start(&data, &[]);
    let addr = server.addr.as_str();

    // Offline: two photos and a hazard naming them.
    let store = phone(dir.path(), "gw1.db", "gw1", "G1");
    let before = store
        .attach_photo(&photo(1, 2400, 1800), &Default::default())
        .unwrap();
    let detail = store
        .attach_photo(&photo(2, 1200, 1600), &Default::default())
        .unwrap();
    assert!(before.size > 200_000, "a photo of {} bytes", before.size);
    let hazard = store
        .report_hazard(NewHazard {
            category: "消防安全".into(),
            description: "楼道堆放杂物".into(),
            place: "3栋楼道".into(),
            photos: vec![before.id.clone(), detail.id.clone()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(hazard.photos, vec![before.id.clone(), detail.id.clone()]);
    assert_eq!(store.upload_queue().unwrap().pending, 2);

    // One sync and the upload loop, through a proxy failing a third of the
    // requests at random.
    let proxy = Proxy::start(&format!("http://{addr}"));
    proxy.random(14, 0.35);
    sync_through(&store, &proxy.url, &token);
    let options = PhotoSyncOptions {
        initial_chunk: 16 * 1024,
        min_chunk: 8 * 1024,
        max_chunk: 64 * 1024,
        retry_delay: Duration::from_millis(1),
        max_failures: 40,
        ..Default::default()
    };
    let transport = HttpTransport::new().unwrap();
    let mut rounds = 0;
    loop {
        let summary = store
            .upload_photos_with(&transport, &proxy.url, &token, &options)
            .unwrap();
        rounds += 1;
        if summary.pending == 0 {
            break;
        }
        assert!(rounds < 10, "photos still pending: {summary:?}");
    }
    let faults: usize = proxy
        .fault_counts()
        .iter()
        .filter(|(k, _)| **k != "pass")
        .map(|(_, n)| n)
        .sum();
    assert!(
        faults >= 20,
        "only {faults} faults: {:?}",
        proxy.fault_counts()
    );
    eprintln!("faults: {:?}", proxy.fault_counts());

    // Every byte reached the server once: the bodies of the chunks it
    // accepted (a replayed request's counted once), plus what arrived of
    // the chunks cut on the way (which it keeps), add up to the photos'
    // size exactly. Nothing it held was sent again after a lost answer.
    let log = proxy.exchanges();
    let puts = || log.iter().filter(|e| e.method == "PUT");
    let whole: usize = puts()
        .filter(|e| e.status == Some(200))
        .map(|e| e.request_body)
        .sum();
    let cut: usize = puts()
        .filter_map(|e| match e.fault {
            Fault::TruncateRequest(n) => Some(n.min(e.request_body.saturating_sub(1))),
            _ => None,
        })
        .sum();
    let accepted = whole + cut;
    let sent: usize = puts().map(|e| e.request_body).sum();
    eprintln!(
        "photos {} bytes; chunk bytes sent {sent}, accepted whole {whole}, kept of cut chunks {cut}",
        before.size + detail.size
    );
    assert_eq!(accepted as u64, before.size + detail.size);
    for a in [&before, &detail] {
        assert_eq!(
            store.attachment(&a.id).unwrap().unwrap().state,
            gridwork_core::api::UploadState::Uploaded
        );
    }

    // The dashboard: the hazard with both thumbnails, and the originals.
    let session = sign_in(addr, "staff-c1");
    let cookies = [("gw_session", session.as_str())];
    let page = get(addr, "/hazards", &cookies);
    assert_eq!(page.status, 200);
    for a in [&before, &detail] {
        assert!(
            page.body.contains(&format!("data-photo=\"{}\"", a.id)),
            "{}",
            page.body
        );
        let thumb = get(addr, &format!("/photos/{}/thumb", a.id), &cookies);
        assert_eq!(thumb.status, 200);
        assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
        assert_eq!(thumb.header("cache-control"), Some("private, no-cache"));
        assert!(thumb.bytes.starts_with(&[0xFF, 0xD8]));
        let decoded = image::load_from_memory(&thumb.bytes).unwrap();
        assert!(decoded.width().max(decoded.height()) <= 240);
        let original = get(addr, &format!("/photos/{}", a.id), &cookies);
        assert_eq!(original.status, 200);
        assert_eq!(
            original.bytes,
            store.attachment_bytes(&a.id).unwrap().unwrap()
        );
    }

    // After the rectification: "after" photos beside the "before" ones.
    let after = store
        .attach_photo(&photo(3, 800, 600), &Default::default())
        .unwrap();
    store
        .transition_hazard(hazard.id, HazardState::Rectifying.code(), "")
        .unwrap();
    store
        .transition_hazard_with_photos(
            hazard.id,
            HazardState::Rectified.code(),
            "已清理",
            std::slice::from_ref(&after.id),
        )
        .unwrap();
    let server_url = format!("http://{addr}");
    store
        .sync_with(&transport, &server_url, &token, &SyncOptions::default())
        .unwrap();
    let summary = store
        .upload_photos_with(&transport, &server_url, &token, &options)
        .unwrap();
    assert_eq!((summary.uploaded, summary.pending), (1, 0), "{summary:?}");
    let page = get(addr, "/hazards", &cookies);
    let row_start = page
        .body
        .find(&format!("data-hazard=\"{}\"", hazard.id))
        .unwrap();
    let row = &page.body[row_start..];
    let (before_at, after_at) = (
        row.find("data-photos=\"Before\"").unwrap(),
        row.find("data-photos=\"After\"").unwrap(),
    );
    assert!(before_at < after_at);
    assert!(row[after_at..].contains(&after.id));

    // Out of scope: another grid's gridworker, another community's staff.
    for path in [
        format!("/v1/blobs/{}/status", before.id),
        format!("/v1/blobs/{}", before.id),
    ] {
        let reply = blob_request(addr, "GET", &path, &other_token, &[], b"");
        assert_eq!(reply.status, 404, "{path}");
    }
    let other_staff = sign_in(addr, "staff-c2");
    let reply = get(
        addr,
        &format!("/photos/{}", before.id),
        &[("gw_session", other_staff.as_str())],
    );
    assert_eq!(reply.status, 404);
    // A blob nobody names is 404 too, and so is no token at all.
    let unknown = "0".repeat(64);
    let reply = blob_request(
        addr,
        "GET",
        &format!("/v1/blobs/{unknown}/status"),
        &token,
        &[],
        b"",
    );
    assert_eq!(reply.status, 404);
    let reply = exchange(addr, "GET", &format!("/v1/blobs/{}", before.id), &[], b"");
    assert_eq!(reply.status, 401);

    // A phone fetches another device's photo (ranged, resumable).
    let second = phone(dir.path(), "gw1-b.db", "gw1", "G1");
    second
        .sync_with(&transport, &server_url, &token, &SyncOptions::default())
        .unwrap();
    assert_eq!(second.attachment_bytes(&before.id).unwrap(), None);
    let fetched = second
        .fetch_photo_with(
            &transport,
            &server_url,
            &token,
            &before.id,
            &PhotoSyncOptions {
                max_chunk: 100_000,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        fetched,
        store.attachment_bytes(&before.id).unwrap().unwrap()
    );
    assert_eq!(second.attachment_bytes(&before.id).unwrap(), Some(fetched));
    drop(server);
}

#[test]
fn damaged_chunks_and_forged_bytes_are_refused_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (token, _) = town(&data);
    let server = start(&data, &[]);
    let addr = server.addr.as_str();
    let url = format!("http://{addr}");

    let store = phone(dir.path(), "gw1.db", "gw1", "G1");
    let shot = store
        .attach_photo(&photo(7, 900, 700), &Default::default())
        .unwrap();
    store
        .report_hazard(NewHazard {
            category: "燃气安全".into(),
            description: "软管老化".into(),
            photos: vec![shot.id.clone()],
            ..Default::default()
        })
        .unwrap();
    let transport = HttpTransport::new().unwrap();
    store
        .sync_with(&transport, &url, &token, &SyncOptions::default())
        .unwrap();
    let bytes = store.attachment_bytes(&shot.id).unwrap().unwrap();
    let total = bytes.len();
    let path = format!("/v1/blobs/{}", shot.id);
    let status = |expected: u64| {
        let reply = blob_request(addr, "GET", &format!("{path}/status"), &token, &[], b"");
        assert_eq!(reply.status, 200);
        let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(json["received"], expected, "{json}");
        json
    };
    status(0);

    // A chunk damaged on the way: its digest is of the bytes sent, not of
    // what arrived.
    let chunk = &bytes[..10_000];
    let mut damaged = chunk.to_vec();
    damaged[5_000] ^= 0x40;
    let range = format!("bytes 0-9999/{total}");
    let reply = blob_request(
        addr,
        "PUT",
        &path,
        &token,
        &[
            ("Content-Range", &range),
            ("Content-Digest", &digest_header(chunk)),
        ],
        &damaged,
    );
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("content-digest"), "{}", reply.text());
    status(0);
    // No digest at all is refused too.
    let reply = blob_request(
        addr,
        "PUT",
        &path,
        &token,
        &[("Content-Range", &range)],
        chunk,
    );
    assert_eq!(reply.status, 400);
    status(0);

    // The good chunk, then one past the gap (409), then the rest.
    let reply = blob_request(
        addr,
        "PUT",
        &path,
        &token,
        &[
            ("Content-Range", &range),
            ("Content-Digest", &digest_header(chunk)),
        ],
        chunk,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    status(10_000);
    let gap = &bytes[20_000..21_000];
    let reply = blob_request(
        addr,
        "PUT",
        &path,
        &token,
        &[
            ("Content-Range", &format!("bytes 20000-20999/{total}")),
            ("Content-Digest", &digest_header(gap)),
        ],
        gap,
    );
    assert_eq!(reply.status, 409);
    status(10_000);

    // Forged bytes of the right length: each chunk is intact, the whole is
    // not the photo; the server drops them at the end.
    let mut forged = bytes.clone();
    forged[total - 1] ^= 0xFF;
    let rest = &forged[10_000..];
    let reply = blob_request(
        addr,
        "PUT",
        &path,
        &token,
        &[
            (
                "Content-Range",
                &format!("bytes 10000-{}/{total}", total - 1),
            ),
            ("Content-Digest", &digest_header(rest)),
        ],
        rest,
    );
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("blob"), "{}", reply.text());
    status(0);
    let reply = blob_request(addr, "GET", &path, &token, &[], b"");
    assert_eq!(reply.status, 404);

    // The phone's own upload then succeeds, and a second upload of the same
    // photo costs one status request.
    let options = PhotoSyncOptions::default();
    let summary = store
        .upload_photos_with(&transport, &url, &token, &options)
        .unwrap();
    assert_eq!(summary.uploaded, 1, "{summary:?}");
    assert_eq!(summary.bytes_sent, total as u64);
    let json = status(total as u64);
    assert_eq!(json["complete"], true);
    let other = phone(dir.path(), "gw1-b.db", "gw1", "G1");
    other
        .sync_with(&transport, &url, &token, &SyncOptions::default())
        .unwrap();
    let copy = other
        .fetch_photo_with(&transport, &url, &token, &shot.id, &options)
        .unwrap();
    assert_eq!(copy, bytes);
    // Ranged reads.
    let reply = blob_request(
        addr,
        "GET",
        &path,
        &token,
        &[("Range", "bytes=100-199")],
        b"",
    );
    assert_eq!(reply.status, 206);
    assert_eq!(reply.body, &bytes[100..200]);
    assert_eq!(
        reply.header("content-range"),
        Some(format!("bytes 100-199/{total}").as_str())
    );
    // A reversed range is invalid, not unsatisfiable: the whole photo.
    let reply = blob_request(
        addr,
        "GET",
        &path,
        &token,
        &[("Range", "bytes=199-100")],
        b"",
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, bytes);
    // Revalidated each time, never re-sent: 304 for the ETag it has.
    assert_eq!(reply.header("cache-control"), Some("private, no-cache"));
    let etag = reply.header("etag").unwrap().to_owned();
    let reply = blob_request(addr, "GET", &path, &token, &[("If-None-Match", &etag)], b"");
    assert_eq!(reply.status, 304);
    assert!(reply.body.is_empty());
    drop(server);
}

#[test]
fn a_residents_photo_becomes_the_cases_own_for_the_phones_and_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let (token, token_other) = town(&data);
    let made = admin_json(&data, &["invite", "add", "--grid", "G1"], &[]);
    let path = made["path"].as_str().unwrap().to_owned();
    // Six an hour, two at once: the two requests filed below pass only if
    // none of the refused posts before them was counted.
    let server = start(&data, &["--resident-requests-per-address-hour", "6"]);
    let addr = server.addr.as_str();
    let url = format!("http://{addr}");

    let page = get(addr, &path, &[]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"enctype="multipart/form-data""#));
    assert!(page.body.contains(r#"type="file" name="photo""#));
    let form = hidden_field(&page.body, "form");
    let text = "楼道里有电动车在充电，插线板就放在地上";
    let fields = [
        ("form", form.as_str()),
        ("kind", "request"),
        ("lang", "zh"),
        ("category", "safety"),
        ("text", text),
        ("place", "5号楼1单元"),
        ("website", ""),
    ];

    // Not a photo, or too large: the form again, with the text, and no case.
    let not_a_photo = post_multipart(
        addr,
        &path,
        &fields,
        Some(("photo", "scan.jpg", b"%PDF-1.7 not a picture")),
    );
    assert_eq!(not_a_photo.status, 400, "{}", not_a_photo.body);
    assert!(not_a_photo.body.contains(text), "what was typed is kept");
    assert!(not_a_photo.body.contains("照片无法识别"));
    assert!(not_a_photo.body.contains("照片需重新选择"));
    let mut huge = vec![0u8; gridwork_server::web::resident::photo::MAX_PHOTO_BYTES + 1];
    huge[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
    let too_large = post_multipart(addr, &path, &fields, Some(("photo", "big.jpg", &huge)));
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    assert!(too_large.body.contains(text));
    assert!(too_large.body.contains("照片文件过大"));

    // A picture whose header claims more pixels than the server decodes
    // (11000×11000, 363 MB as RGB): refused from its header.
    let claimed = {
        fn crc32(bytes: &[u8]) -> u32 {
            let mut crc = !0u32;
            for &b in bytes {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        }
        let chunk = |png: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
            let mut body = kind.to_vec();
            body.extend_from_slice(data);
            png.extend_from_slice(&(data.len() as u32).to_be_bytes());
            png.extend_from_slice(&body);
            png.extend_from_slice(&crc32(&body).to_be_bytes());
        };
        let mut header = Vec::new();
        header.extend_from_slice(&11_000u32.to_be_bytes());
        header.extend_from_slice(&11_000u32.to_be_bytes());
        header.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut png, b"IHDR", &header);
        chunk(
            &mut png,
            b"IDAT",
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        );
        chunk(&mut png, b"IEND", &[]);
        png
    };
    let bomb = post_multipart(addr, &path, &fields, Some(("photo", "bomb.png", &claimed)));
    assert_eq!(bomb.status, 400, "{}", bomb.body);
    assert!(bomb.body.contains("照片尺寸过大"), "{}", bomb.body);
    // A text field far longer than any form's: not read on, nothing filed.
    let long = "长".repeat(3_000);
    let mut padded = fields.to_vec();
    padded.push(("note", long.as_str()));
    let refused = post_multipart(addr, &path, &padded, None);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("未能完整收到"));
    // The URL-encoded form keeps the dashboard's 16 KiB limit.
    let too_long = common::http::post(addr, &path, &[], &padded);
    assert_eq!(too_long.status, 400, "{}", too_long.body);

    // An empty file input files the request without a photo.
    let without = post_multipart(addr, &path, &fields, Some(("photo", "", b"")));
    assert_eq!(without.status, 303, "{}", without.body);
    // A 3000×2000 camera JPEG: stored as the phone would store it.
    let original = {
        let png = photo(16, 3000, 2000);
        let picture = image::load_from_memory(&png).unwrap();
        let mut jpeg = std::io::Cursor::new(Vec::new());
        picture
            .write_to(&mut jpeg, image::ImageFormat::Jpeg)
            .unwrap();
        jpeg.into_inner()
    };
    assert!(original.len() < gridwork_server::web::resident::photo::MAX_PHOTO_BYTES);
    let sent = post_multipart(
        addr,
        &path,
        &fields,
        Some(("photo", "IMG_0016.JPG", &original)),
    );
    assert_eq!(sent.status, 303, "{}", sent.body);

    let store = phone(dir.path(), "gw1.db", "gw1", "G1");
    store.sync(&url, &token, &SyncOptions::default()).unwrap();
    let cases = store.list_cases(false).unwrap();
    assert_eq!(cases.len(), 2, "the refused forms filed nothing");
    assert_eq!(cases.iter().filter(|c| c.photos.is_empty()).count(), 1);
    let case = cases.iter().find(|c| !c.photos.is_empty()).unwrap();
    assert_eq!(case.photos.len(), 1);
    assert_eq!(case.opened_by.0, "resident");
    let id = case.photos[0].clone();
    let transport = HttpTransport::new().unwrap();
    let fetched = store
        .fetch_photo_with(&transport, &url, &token, &id, &PhotoSyncOptions::default())
        .unwrap();
    assert_eq!(hex::encode(Sha256::digest(&fetched)), id);
    let picture =
        image::load_from_memory_with_format(&fetched, image::ImageFormat::Jpeg).expect("a JPEG");
    assert_eq!((picture.width(), picture.height()), (1600, 1067));
    assert!(fetched.len() < original.len());

    // A phone of another grid cannot fetch it.
    let other = phone(dir.path(), "gw2.db", "gw2", "G2");
    other
        .sync(&url, &token_other, &SyncOptions::default())
        .unwrap();
    let refused = other
        .fetch_photo_with(
            &transport,
            &url,
            &token_other,
            &id,
            &PhotoSyncOptions::default(),
        )
        .unwrap_err();
    assert!(
        matches!(refused, gridwork_core::Error::NotFound { .. }),
        "{refused:?}"
    );

    // The community's staff see it with the case; another community's do not.
    let session = sign_in(addr, "staff-c1");
    let cookies = [("gw_session", session.as_str())];
    let queue = get(addr, "/cases", &cookies);
    assert_eq!(queue.status, 200);
    assert!(
        queue.body.contains(&format!(r#"data-photo="{id}""#)),
        "{}",
        queue.body
    );
    let thumb = get(addr, &format!("/photos/{id}/thumb"), &cookies);
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
    let full = get(addr, &format!("/photos/{id}"), &cookies);
    assert_eq!(full.bytes, fetched);
    let outsider = sign_in(addr, "staff-c2");
    let refused = get(
        addr,
        &format!("/photos/{id}"),
        &[("gw_session", outsider.as_str())],
    );
    assert_eq!(refused.status, 404);
}

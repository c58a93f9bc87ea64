//! The authorization matrix (issue 12 §5): every HTTP route × every kind of
//! caller × in scope / out of scope, each cell with its expected status,
//! all asserted against the real binary over the demo town. The table is
//! printed (and `docs/authorization.md` holds the same table: the test
//! fails when they differ, so the document cannot drift).
//!
//! Callers: anonymous; a gridworker's device token (bearer) and a revoked
//! one; community staff of DEMO-C1 (in scope: the demo grids) and of
//! DEMO-C2 (out of scope); town staff of DEMO (in) and of another town T2
//! (out); an admin of DEMO; an expired staff session. Posts carry the
//! session's CSRF token; transitions ask for a state that does not exist,
//! so an allowed caller gets 400 (past every check of who may act) and
//! nothing changes, whatever order the cells run in.
//!
//! Admin powers (grids, workers, tokens, templates, policies) have no HTTP
//! route at all: they are `gridwork-server admin` on the data directory.
//! The route list below must equal the router's ([`ROUTES`] is checked
//! against requests to paths that are not routes: 404).

mod common;

use common::http::{request, Response};
use common::{admin_json, start, Server};
use std::collections::BTreeMap;
use std::path::Path;

const PASSWORD: &str = "matrix password 密码 7";

/// Every route the server has: method, path pattern.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("POST", "/v1/sync"),
    ("GET", "/"),
    ("GET", "/grids/{code}"),
    ("GET", "/households"),
    ("GET", "/households/{id}"),
    ("GET", "/hazards"),
    ("GET", "/cases"),
    ("POST", "/cases/{id}/transition"),
    ("POST", "/hazards/{id}/transition"),
    ("GET", "/map"),
    ("GET", "/visits"),
    ("GET", "/workers/{id}"),
    ("GET", "/evaluation"),
    ("GET", "/exports"),
    ("GET", "/exports/{file}"),
    // Before /logout, which ends the sessions.
    ("GET", "/v1/wait"),
    ("GET", "/invites"),
    ("POST", "/invites"),
    ("GET", "/invites/{id}/print"),
    ("POST", "/invites/{id}/revoke"),
    ("POST", "/proposals/{id}"),
    ("GET", "/assets/resident.css"),
    ("GET", "/r/{token}"),
    ("POST", "/r/{token}"),
    ("GET", "/r/t/{tracking}"),
    ("GET", "/photos/{id}"),
    ("GET", "/photos/{id}/thumb"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/assets/style.css"),
    ("GET", "/v1/blobs/{id}"),
    ("PUT", "/v1/blobs/{id}"),
    ("GET", "/v1/blobs/{id}/status"),
];

/// The callers (columns of the table).
const CALLERS: &[&str] = &[
    "anonymous",
    "gridworker",
    "revoked_token",
    "community_staff",
    "community_staff_other",
    "town_staff",
    "town_staff_other",
    "admin",
    "expired_session",
];

/// How a caller presents itself.
#[derive(Clone, Default)]
struct Credentials {
    bearer: Option<String>,
    session: Option<String>,
    csrf: Option<String>,
}

struct World {
    server: Server,
    callers: BTreeMap<&'static str, Credentials>,
    household: String,
    case: String,
    hazard: String,
    token: String,
    /// A photo of a hazard in DEMO-G01, uploaded by its gridworker.
    photo: String,
    /// DEMO-G01's invitation link (`id.mac`), and another one to revoke.
    invite: String,
    invite_to_revoke: String,
    /// A resident's request filed through it: its tracking token.
    tracking: String,
    /// A resident's proposed contact change in DEMO-G01.
    proposal: String,
}

fn add_staff(data: &Path, id: &str, role: &str, grid: &str) {
    admin_json(
        data,
        &[
            "worker",
            "add",
            id,
            "--name",
            "工作人员",
            "--role",
            role,
            "--grid",
            grid,
            "--password-env",
            "GW_PW",
        ],
        &[("GW_PW", PASSWORD)],
    );
}

fn sign_in(addr: &str, user: &str) -> Credentials {
    let ok = common::http::try_login(addr, user, PASSWORD);
    assert_eq!(ok.status, 303, "{user}: {}", ok.body);
    let session = ok.cookie("gw_session").unwrap();
    let page = common::http::get(addr, "/cases", &[("gw_session", &session)]);
    let csrf = common::http::csrf_field(&page.body);
    Credentials {
        session: Some(session),
        csrf: Some(csrf),
        ..Default::default()
    }
}

fn first(data: &Path, sql: &str) -> String {
    let conn = gridwork_server::db::connect(data).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn world() -> (tempfile::TempDir, World) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start(&data, &["--demo", "--demo-size", "small"]);
    let token = server
        .preamble
        .iter()
        .filter(|v| v["demo_token"]["worker"] == "gw-demo-1")
        .find_map(|v| v["demo_token"]["token"].as_str())
        .unwrap()
        .to_string();
    for (code, parent) in [("DEMO-C2", "DEMO"), ("T2", "")] {
        let mut args = vec!["grid", "add", code, "--name", "其他"];
        if !parent.is_empty() {
            args.extend(["--parent", parent]);
        }
        admin_json(&data, &args, &[]);
    }
    add_staff(&data, "staff-c1", "community_staff", "DEMO-C1");
    add_staff(&data, "staff-c2", "community_staff", "DEMO-C2");
    add_staff(&data, "town-1", "town_staff", "DEMO");
    add_staff(&data, "town-2", "town_staff", "T2");
    add_staff(&data, "admin-1", "admin", "DEMO");
    add_staff(&data, "staff-old", "community_staff", "DEMO-C1");
    admin_json(
        &data,
        &[
            "worker",
            "add",
            "gw-gone",
            "--name",
            "离职",
            "--role",
            "gridworker",
            "--grid",
            "DEMO-G01",
        ],
        &[],
    );
    let revoked = admin_json(&data, &["token", "issue", "gw-gone"], &[])["token"]
        .as_str()
        .unwrap()
        .to_string();
    admin_json(&data, &["token", "revoke", "gw-gone"], &[]);

    let addr = server.addr.clone();
    let mut callers = BTreeMap::new();
    callers.insert("anonymous", Credentials::default());
    callers.insert(
        "gridworker",
        Credentials {
            bearer: Some(token.clone()),
            ..Default::default()
        },
    );
    callers.insert(
        "revoked_token",
        Credentials {
            bearer: Some(revoked),
            ..Default::default()
        },
    );
    for (caller, user) in [
        ("community_staff", "staff-c1"),
        ("community_staff_other", "staff-c2"),
        ("town_staff", "town-1"),
        ("town_staff_other", "town-2"),
        ("admin", "admin-1"),
        ("expired_session", "staff-old"),
    ] {
        callers.insert(caller, sign_in(&addr, user));
    }
    // The last session expires (as if twelve hours had passed).
    let conn = gridwork_server::db::connect(&data).unwrap();
    conn.execute(
        "UPDATE staff_sessions SET expires_at = 1 WHERE worker_id = 'staff-old'",
        [],
    )
    .unwrap();
    drop(conn);
    let household = first(
        &data,
        "SELECT id FROM households WHERE grid = 'DEMO-G01' ORDER BY id LIMIT 1",
    );
    let case = first(
        &data,
        "SELECT id FROM cases WHERE grid = 'DEMO-G01' ORDER BY id LIMIT 1",
    );
    let hazard = first(
        &data,
        "SELECT id FROM hazards WHERE grid = 'DEMO-G01' ORDER BY id LIMIT 1",
    );
    let photo = upload_a_photo(&addr, &token, dir.path());
    let (invite, tracking, proposal) = resident_filings(&addr, &data);
    let to_revoke = admin_json(&data, &["invite", "add", "--grid", "DEMO-G01"], &[]);
    let invite_to_revoke = to_revoke["invite"]["id"].as_str().unwrap().to_string();
    (
        dir,
        World {
            server,
            callers,
            household,
            case,
            hazard,
            token,
            photo,
            invite,
            invite_to_revoke,
            tracking,
            proposal,
        },
    )
}

/// DEMO-G01's invitation link, a request filed through it (its tracking
/// token) and a proposed contact change (its id).
fn resident_filings(addr: &str, data: &Path) -> (String, String, String) {
    let made = admin_json(data, &["invite", "add", "--grid", "DEMO-G01"], &[]);
    let path = made["path"].as_str().unwrap().to_string();
    let form_token = |body: &str| {
        let key = r#"name="form" value=""#;
        let start = body.find(key).unwrap() + key.len();
        body[start..start + body[start..].find('"').unwrap()].to_string()
    };
    let page = common::http::get(addr, &path, &[]);
    let form = form_token(&page.body);
    let filed = common::http::post(
        addr,
        &path,
        &[],
        &[
            ("form", &form),
            ("kind", "request"),
            ("category", "repair"),
            ("text", "路灯不亮"),
        ],
    );
    assert_eq!(filed.status, 303, "{}", filed.body);
    let tracking = filed.header("location").unwrap();
    let tracking = tracking["/r/t/".len()..tracking.find('?').unwrap()].to_string();
    let proposed = common::http::post(
        addr,
        &path,
        &[],
        &[
            ("form", &form),
            ("kind", "contact"),
            ("address", "幸福里1号"),
            ("new_phone", "13800001111"),
        ],
    );
    assert_eq!(proposed.status, 200, "{}", proposed.body);
    let proposal = first(data, "SELECT id FROM household_proposals LIMIT 1");
    (path["/r/".len()..].to_string(), tracking, proposal)
}

/// DEMO-G01's gridworker reports a hazard with a photo from a phone and
/// uploads it; returns the photo's id.
fn upload_a_photo(addr: &str, token: &str, dir: &Path) -> String {
    let store = gridwork_core::Store::open(dir.join("phone.db"), None).unwrap();
    store.init("gw-demo-1", "网格员", "DEMO-G01").unwrap();
    let url = format!("http://{addr}");
    let transport = gridwork_core::sync::HttpTransport::new().unwrap();
    let options = gridwork_core::sync::SyncOptions::default();
    store.sync_with(&transport, &url, token, &options).unwrap();
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let photo = store
        .attach_photo(&png.into_inner(), &Default::default())
        .unwrap();
    store
        .report_hazard(gridwork_core::model::NewHazard {
            category: "消防安全".into(),
            description: "楼道堆物".into(),
            photos: vec![photo.id.clone()],
            ..Default::default()
        })
        .unwrap();
    store.sync_with(&transport, &url, token, &options).unwrap();
    let summary = store
        .upload_photos_with(&transport, &url, token, &Default::default())
        .unwrap();
    assert_eq!(summary.uploaded, 1, "{summary:?}");
    photo.id
}

/// One request of `caller` to the route `(method, pattern)`, with the
/// demo's DEMO-G01 records filling the pattern.
fn call(world: &World, caller: &str, method: &str, pattern: &str) -> Response {
    let who = &world.callers[caller];
    let path = pattern
        .replace("{code}", "DEMO-G01")
        .replace("{id}/transition", "X/transition")
        .replace("{id}", &world.household)
        .replace("{file}", "households.csv?grid=DEMO-G01");
    let path = match pattern {
        "/cases/{id}/transition" => format!("/cases/{}/transition", world.case),
        "/hazards/{id}/transition" => format!("/hazards/{}/transition", world.hazard),
        "/workers/{id}" => "/workers/gw-demo-1".to_owned(),
        "/invites/{id}/print" => {
            format!("/invites/{}/print", world.invite.split('.').next().unwrap())
        }
        "/invites/{id}/revoke" => format!("/invites/{}/revoke", world.invite_to_revoke),
        "/proposals/{id}" => format!("/proposals/{}", world.proposal),
        "/r/{token}" => format!("/r/{}", world.invite),
        "/r/t/{tracking}" => format!("/r/t/{}", world.tracking),
        p if p.starts_with("/photos/") || p.starts_with("/v1/blobs/") => {
            pattern.replace("{id}", &world.photo)
        }
        _ => path,
    };
    let mut cookies: Vec<(&str, &str)> = Vec::new();
    if let Some(session) = &who.session {
        cookies.push(("gw_session", session));
    }
    if pattern == "/v1/sync" || who.bearer.is_some() {
        // Device callers present their token; the sync body is a first
        // contact of DEMO-G01's gridworker.
        let body =
            gridwork_core::sync::protocol::encode(&gridwork_core::sync::protocol::SyncRequest {
                device: "0a1b2c3d4e5f".into(),
                worker: "gw-demo-1".into(),
                grid: "DEMO-G01".into(),
                ..Default::default()
            })
            .unwrap();
        let bearer = who.bearer.as_deref().map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(b) = &bearer {
            headers.push(("Authorization", b));
        }
        let cookie_line = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookies.is_empty() {
            headers.push(("Cookie", &cookie_line));
        }
        let body: &[u8] = if pattern == "/v1/sync" { &body } else { b"" };
        let reply = common::exchange(&world.server.addr, method, &path, &headers, body);
        return Response {
            status: reply.status,
            body: reply.text(),
            headers: reply.headers,
            bytes: reply.body,
        };
    }
    let csrf = who.csrf.clone().unwrap_or_default();
    let form: Option<Vec<(&str, &str)>> = match (method, pattern) {
        ("POST", "/login") => Some(vec![("user", "nobody"), ("password", "x"), ("csrf", "")]),
        // A link for DEMO-G01 with a lifetime out of range: 400 past every
        // check of who may act, nothing made.
        ("POST", "/invites") => Some(vec![("grid", "DEMO-G01"), ("days", "0"), ("csrf", &csrf)]),
        ("POST", _) => Some(vec![("to", "no_such_state"), ("note", ""), ("csrf", &csrf)]),
        _ => None,
    };
    request(&world.server.addr, method, &path, &cookies, form.as_deref())
}

/// A browser is sent to `/login` (or, signed in, from `/login` to `/`).
const A: u16 = 303;

/// The expected table: one status per caller, in [`CALLERS`]' order.
/// Out-of-scope callers (`*_other`) get 404 for records and grids outside
/// their subtree, and empty lists (200) elsewhere.
#[rustfmt::skip]
const EXPECTED: &[(&str, &str, [u16; 9])] = &[
    //                                     anon gw   rev  c1   c2   town t2   admin expired
    ("GET",  "/healthz",                  [200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET",  "/metrics",                  [200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("POST", "/v1/sync",                  [401, 200, 401, 401, 401, 401, 401, 401, 401]),
    ("GET",  "/",                         [A,   A,   A,   200, 200, 200, 200, 200, A]),
    ("GET",  "/grids/{code}",             [A,   A,   A,   200, 404, 200, 404, 200, A]),
    ("GET",  "/households",               [A,   A,   A,   200, 200, 200, 200, 200, A]),
    ("GET",  "/households/{id}",          [A,   A,   A,   200, 404, 200, 404, 200, A]),
    ("GET",  "/hazards",                  [A,   A,   A,   200, 200, 200, 200, 200, A]),
    ("GET",  "/cases",                    [A,   A,   A,   200, 200, 200, 200, 200, A]),
    ("POST", "/cases/{id}/transition",    [A,   A,   A,   400, 404, 400, 404, 400, A]),
    ("POST", "/hazards/{id}/transition",  [A,   A,   A,   400, 404, 400, 404, 400, A]),
    ("GET",  "/map",                      [A,   A,   A,   200, 200, 200, 200, 200, A]),
    ("GET",  "/visits",                   [A,   A,   A,   200, 200, 200, 200, 200, A]),
    ("GET",  "/workers/{id}",             [A,   A,   A,   200, 404, 200, 404, 200, A]),
    ("GET",  "/evaluation",               [A,   A,   A,   200, 200, 200, 200, 200, A]),
    ("GET",  "/exports",                  [A,   A,   A,   200, 200, 200, 200, 200, A]),
    ("GET",  "/exports/{file}",           [A,   A,   A,   200, 404, 200, 404, 200, A]),
    ("GET",  "/login",                    [200, 200, 200, A,   A,   A,   A,   A,   200]),
    ("POST", "/login",                    [403, 403, 403, 403, 403, 403, 403, 403, 403]),
    ("POST", "/logout",                   [A,   A,   A,   A,   A,   A,   A,   A,   A]),
    ("GET",  "/assets/style.css",         [200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET",  "/photos/{id}",              [A,   A,   A,   200, 404, 200, 404, 200, A]),
    ("GET",  "/photos/{id}/thumb",        [A,   A,   A,   200, 404, 200, 404, 200, A]),
    // Blob routes are for devices (a bearer token); a staff session is no
    // token. A chunk without Content-Range is 400, past the scope check.
    ("GET",  "/v1/blobs/{id}",            [401, 200, 401, 401, 401, 401, 401, 401, 401]),
    ("PUT",  "/v1/blobs/{id}",            [401, 400, 401, 401, 401, 401, 401, 401, 401]),
    ("GET",  "/v1/blobs/{id}/status",     [401, 200, 401, 401, 401, 401, 401, 401, 401]),
    // A phone's wait; with no cursor its grid's docs are news at once.
    ("GET",  "/v1/wait",                  [401, 200, 401, 401, 401, 401, 401, 401, 401]),
    // Residents' links: staff of the subtree make, print and revoke them
    // (revoking twice is no change) and decide on proposals (an unknown
    // decision is 400, past the scope check).
    ("GET",  "/invites",                  [A,   A,   A,   200, 200, 200, 200, 200, A]),
    ("POST", "/invites",                  [A,   A,   A,   400, 404, 400, 404, 400, A]),
    ("GET",  "/invites/{id}/print",       [A,   A,   A,   200, 404, 200, 404, 200, A]),
    ("POST", "/invites/{id}/revoke",      [A,   A,   A,   303, 404, 303, 404, 303, A]),
    ("POST", "/proposals/{id}",           [A,   A,   A,   400, 404, 400, 404, 400, A]),
    // The residents' pages need no account: the link is the credential; a
    // form without the page's signed form token is refused.
    ("GET",  "/assets/resident.css",      [200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET",  "/r/{token}",                [200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("POST", "/r/{token}",                [403, 403, 403, 403, 403, 403, 403, 403, 403]),
    ("GET",  "/r/t/{tracking}",           [200, 200, 200, 200, 200, 200, 200, 200, 200]),
];

fn expected() -> BTreeMap<(&'static str, &'static str), [u16; 9]> {
    EXPECTED
        .iter()
        .map(|(method, path, row)| ((*method, *path), *row))
        .collect()
}

fn render(table: &BTreeMap<(&str, &str), Vec<u16>>) -> String {
    let mut out = format!(
        "| route | {} |\n|---|{}\n",
        CALLERS.join(" | "),
        "---|".repeat(CALLERS.len())
    );
    for (method, path) in ROUTES {
        let row = &table[&(*method, *path)];
        let cells: Vec<String> = row.iter().map(u16::to_string).collect();
        out.push_str(&format!("| `{method} {path}` | {} |\n", cells.join(" | ")));
    }
    out
}

/// The routes the server's source declares: every `.route("PATH", …)` in
/// the files that build the router, with `get(`/`post(` read off the line.
fn declared_routes() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for file in [
        "src/serve.rs",
        "src/sync/mod.rs",
        "src/web/mod.rs",
        "src/blobs/mod.rs",
    ] {
        let source =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
        // Every `.route("…", …)` (also inside a merge, also over several
        // lines), up to its closing parenthesis.
        for (start, _) in source.match_indices(".route(") {
            let call = &source[start + ".route(".len()..];
            if !call.trim_start().starts_with('"') {
                continue;
            }
            let mut depth = 1;
            let end = call
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .expect("a closed .route(");
            let call = &call[..end];
            let path = call.split('"').nth(1).unwrap().to_string();
            for (marker, method) in [("get(", "GET"), ("post(", "POST"), ("put(", "PUT")] {
                if call.contains(marker) {
                    found.push((method.to_string(), path.clone()));
                }
            }
        }
    }
    found.sort();
    found
}

#[test]
fn the_table_covers_every_route_the_router_declares() {
    let mut listed: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    listed.sort();
    assert_eq!(declared_routes(), listed);
}

#[test]
fn every_route_for_every_caller_in_and_out_of_scope() {
    let (_dir, world) = world();
    let expected = expected();
    assert_eq!(expected.len(), ROUTES.len(), "one row per route");
    // No other path answers anything but 404 (the route list is complete).
    for path in [
        "/admin",
        "/grids",
        "/residents",
        "/v1/admin",
        "/api/workers",
        "/tokens",
    ] {
        let who = &world.callers["admin"];
        let status = request(
            &world.server.addr,
            "GET",
            path,
            &[("gw_session", who.session.as_deref().unwrap())],
            None,
        )
        .status;
        assert_eq!(status, 404, "{path}");
    }

    let mut actual: BTreeMap<(&str, &str), Vec<u16>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (method, pattern) in ROUTES {
        let want = expected
            .get(&(*method, *pattern))
            .unwrap_or_else(|| panic!("no expected row for {method} {pattern}"));
        let mut row = Vec::new();
        for (i, caller) in CALLERS.iter().enumerate() {
            let got = call(&world, caller, method, pattern).status;
            if got != want[i] {
                wrong.push(format!(
                    "{method} {pattern} as {caller}: {got}, expected {}",
                    want[i]
                ));
            }
            row.push(got);
        }
        actual.insert((method, pattern), row);
    }
    let table = render(&actual);
    println!("{table}");
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/authorization.md"
    ))
    .unwrap_or_default();
    assert!(
        doc.contains(&table),
        "docs/authorization.md does not hold the current table:\n{table}"
    );
    // The sync token still works after the whole table (nothing was revoked).
    assert_eq!(
        common::post_sync(&world.server.addr, &world.token, b"x").status,
        400
    );
}

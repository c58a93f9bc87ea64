//! End-to-end tests of the staff dashboard's sign-in on the real
//! `gridwork-server` binary over plain HTTP/1.1 on 127.0.0.1: the login
//! form and its CSRF cookie, wrong passwords, sessions, the subtree shown on
//! the dashboard, sign-out, the lockout, and the admin password commands.

use std::path::Path;
use std::process::Output;

mod common;

use common::http::{csrf_field, get, login_token, post, request, try_login, Response};
use common::{admin_json, admin_with_env, start};

/// The password of the community staff member in these tests.
const PASSWORD: &str = "幸福社区 2024 secret";
/// The generic refusal, in both languages.
const LOGIN_FAILED_ZH: &str = "用户名或密码错误，或账户已暂时锁定";
const LOGIN_FAILED_EN: &str = "wrong user or password, or the account is locked for a while";

/// Grids T1 → C1 → C1-1 → G1 and a sibling community T1 → C2 → C2-1 → G2;
/// community staff `staff-c1` (社区甲) at C1 with [`PASSWORD`].
fn town(data: &Path) {
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
    let added = admin_json(
        data,
        &[
            "worker",
            "add",
            "staff-c1",
            "--name",
            "社区甲",
            "--role",
            "community_staff",
            "--grid",
            "C1",
            "--password-env",
            "GW_TEST_PASSWORD",
        ],
        &[("GW_TEST_PASSWORD", PASSWORD)],
    );
    assert_eq!(added["id"], "staff-c1");
    assert_eq!(added["password_set"], true);
    let text = added.to_string();
    assert!(
        !text.contains(PASSWORD) && !text.contains("argon2"),
        "{text}"
    );
}

fn assert_refused(response: &Response) {
    assert_eq!(response.status, 401, "{}", response.body);
    assert!(response.body.contains(LOGIN_FAILED_ZH), "{}", response.body);
    assert!(response.body.contains(LOGIN_FAILED_EN), "{}", response.body);
    assert!(response.set_cookie("gw_session").is_none());
}

#[test]
fn staff_sign_in_dashboard_and_sign_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    town(&data);
    let server = start(&data, &[]);
    let addr = server.addr.as_str();

    // Not signed in: the dashboard sends us to the login page.
    let home = get(addr, "/", &[]);
    assert_eq!(home.status, 303);
    assert_eq!(home.header("location"), Some("/login"));

    // The login page: zh-CN, a CSRF cookie (HttpOnly, SameSite=Strict) and the same token in the form.
    let page = get(addr, "/login", &[]);
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
    assert!(page.body.contains("<html lang=\"zh-CN\">"));
    assert!(page.body.contains("工作人员登录"));
    assert!(page.body.contains(r#"href="/assets/style.css""#));
    assert!(!page.body.contains("<script"));
    let login_cookie = page.set_cookie("gw_login_csrf").unwrap();
    assert!(login_cookie.contains("HttpOnly"), "{login_cookie}");
    assert!(login_cookie.contains("SameSite=Strict"), "{login_cookie}");
    assert!(login_cookie.contains("Path=/"), "{login_cookie}");
    assert!(!login_cookie.contains("Secure"), "{login_cookie}");
    let token = page.cookie("gw_login_csrf").unwrap();
    assert_eq!(token.len(), 43);
    assert_eq!(csrf_field(&page.body), token);
    let css = get(addr, "/assets/style.css", &[]);
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    let english = get(addr, "/login?lang=en", &[]);
    assert!(english.body.contains("Staff sign-in"));
    assert!(english
        .set_cookie("gw_lang")
        .unwrap()
        .starts_with("gw_lang=en;"));

    // A wrong password and an unknown user: the same generic message, no session.
    let jar = [("gw_login_csrf", token.as_str())];
    let wrong = post(
        addr,
        "/login",
        &jar,
        &[
            ("user", "staff-c1"),
            ("password", "not the password"),
            ("csrf", &token),
        ],
    );
    assert_refused(&wrong);
    assert!(!wrong.body.contains("not the password"));
    // The form comes back with the same login token.
    assert_eq!(csrf_field(&wrong.body), token);
    let unknown = post(
        addr,
        "/login",
        &jar,
        &[("user", "nobody"), ("password", PASSWORD), ("csrf", &token)],
    );
    assert_refused(&unknown);

    // No CSRF field, no cookie, or a mismatch: 403, even with the right password.
    let refused = [
        post(
            addr,
            "/login",
            &jar,
            &[("user", "staff-c1"), ("password", PASSWORD)],
        ),
        post(
            addr,
            "/login",
            &[],
            &[
                ("user", "staff-c1"),
                ("password", PASSWORD),
                ("csrf", &token),
            ],
        ),
        post(
            addr,
            "/login",
            &[("gw_login_csrf", &login_token(addr))],
            &[
                ("user", "staff-c1"),
                ("password", PASSWORD),
                ("csrf", &token),
            ],
        ),
        request(addr, "POST", "/login", &jar, None),
    ];
    for response in &refused {
        assert_eq!(response.status, 403, "{}", response.body);
        assert!(response.body.contains("未做任何更改"), "{}", response.body);
        assert!(
            response.body.contains("nothing was changed"),
            "{}",
            response.body
        );
        assert!(response.set_cookie("gw_session").is_none());
    }

    // The right password: 303 to / with an HttpOnly, SameSite=Strict session cookie.
    let ok = post(
        addr,
        "/login",
        &jar,
        &[
            ("user", "staff-c1"),
            ("password", PASSWORD),
            ("csrf", &token),
        ],
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.header("location"), Some("/"));
    let session_cookie = ok.set_cookie("gw_session").unwrap();
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(
        session_cookie.contains("SameSite=Strict"),
        "{session_cookie}"
    );
    assert!(session_cookie.contains("Path=/"), "{session_cookie}");
    assert!(session_cookie.contains("Max-Age=43200"), "{session_cookie}");
    assert!(!session_cookie.contains("Secure"), "{session_cookie}");
    let session = ok.cookie("gw_session").unwrap();
    assert_eq!(session.len(), 43);
    let signed_in = [("gw_session", session.as_str())];

    // The overview: who is signed in and the grids of C1's subtree only.
    let home = get(addr, "/", &signed_in);
    assert_eq!(home.status, 200, "{}", home.body);
    assert_eq!(home.header("cache-control"), Some("no-store"));
    assert!(
        home.body.contains("已登录：社区甲（社区工作人员）"),
        "{}",
        home.body
    );
    assert!(
        home.body.contains(r#"<tr data-node="G1" data-grid="G1">"#),
        "{}",
        home.body
    );
    assert!(home.body.contains("第一网格"));
    assert!(!home.body.contains(r#"data-grid="G2""#));
    assert!(!home.body.contains("第二网格"));
    assert!(!home.body.contains("<script"));
    // Another community's grid is not found, as if it did not exist.
    assert_eq!(get(addr, "/grids/G2", &signed_in).status, 404);
    assert_eq!(get(addr, "/grids/G1", &signed_in).status, 200);
    let csrf = csrf_field(&home.body);
    assert_eq!(csrf.len(), 43);
    assert_ne!(csrf, session);

    // English on request, remembered by the gw_lang cookie.
    let english = get(addr, "/?lang=en", &signed_in);
    assert!(english
        .body
        .contains("Signed in as 社区甲 (community staff)"));
    assert!(english.set_cookie("gw_lang").is_some());
    let english = get(addr, "/", &[("gw_session", &session), ("gw_lang", "en")]);
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(english.body.contains("Sign out"));

    // Signed in, /login sends us home.
    let again = get(addr, "/login", &signed_in);
    assert_eq!(again.status, 303);
    assert_eq!(again.header("location"), Some("/"));

    // The session token is stored only as a hash.
    for file in ["gridwork.db", "gridwork.db-wal"] {
        if let Ok(bytes) = std::fs::read(data.join(file)) {
            assert!(
                !bytes.windows(43).any(|w| w == session.as_bytes()),
                "{file}"
            );
        }
    }

    // Sign-out without (or with a wrong) CSRF token: 403 and still signed in.
    for form in [vec![], vec![("csrf", token.as_str())]] {
        let out = post(addr, "/logout", &signed_in, &form);
        assert_eq!(out.status, 403, "{}", out.body);
        assert!(out.body.contains("表单已失效"));
        assert!(out.set_cookie("gw_session").is_none());
        assert_eq!(get(addr, "/", &signed_in).status, 200);
    }
    let out = request(addr, "POST", "/logout", &signed_in, None);
    assert_eq!(out.status, 403);
    assert_eq!(get(addr, "/", &signed_in).status, 200);

    // With it: the session ends and the cookie is cleared.
    let out = post(addr, "/logout", &signed_in, &[("csrf", &csrf)]);
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(out.header("location"), Some("/login"));
    let cleared = out.set_cookie("gw_session").unwrap();
    assert!(cleared.starts_with("gw_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let home = get(addr, "/", &signed_in);
    assert_eq!(home.status, 303);
    assert_eq!(home.header("location"), Some("/login"));
    // Sign-out without a session goes to the login page too.
    let out = post(addr, "/logout", &signed_in, &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert_eq!(out.header("location"), Some("/login"));
    // The sync API is unchanged beside the dashboard.
    assert_eq!(get(addr, "/healthz", &[]).status, 200);
}

#[test]
fn town_staff_see_every_community_and_grid() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    town(&data);
    admin_json(
        &data,
        &[
            "worker",
            "add",
            "staff-t1",
            "--name",
            "镇街乙",
            "--role",
            "town_staff",
            "--grid",
            "T1",
            "--password-env",
            "GW_TEST_PASSWORD",
        ],
        &[("GW_TEST_PASSWORD", PASSWORD)],
    );
    let server = start(&data, &[]);
    let addr = server.addr.as_str();
    let ok = try_login(addr, "staff-t1", PASSWORD);
    assert_eq!(ok.status, 303, "{}", ok.body);
    let session = ok.cookie("gw_session").unwrap();
    let home = get(addr, "/", &[("gw_session", &session)]);
    assert_eq!(home.status, 200);
    for marker in [
        r#"data-community="C1""#,
        r#"data-community="C2""#,
        r#"data-grid="G1""#,
        r#"data-grid="G2""#,
    ] {
        assert!(home.body.contains(marker), "{marker}");
    }
    assert_eq!(
        get(addr, "/grids/G2", &[("gw_session", &session)]).status,
        200
    );
}

#[test]
fn five_wrong_passwords_lock_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    town(&data);
    // The lockout alone, without the per-user rate limit (tests/bounds.rs).
    let server = start(&data, &["--sign-in-rate-per-user", "0"]);
    let addr = server.addr.as_str();

    // A success in between resets the count.
    for _ in 0..4 {
        assert_refused(&try_login(addr, "staff-c1", "wrong password!"));
    }
    assert_eq!(try_login(addr, "staff-c1", PASSWORD).status, 303);
    for _ in 0..5 {
        assert_refused(&try_login(addr, "staff-c1", "wrong password!"));
    }
    // Locked: even the right password gets the generic refusal.
    let locked = try_login(addr, "staff-c1", PASSWORD);
    assert_refused(&locked);
    // Exactly what a wrong password or an unknown user gets.
    let unknown = try_login(addr, "nobody", PASSWORD);
    assert_refused(&unknown);
    let strip = |body: &str| {
        body.replace(&csrf_field(body), "")
            .replace("staff-c1", "")
            .replace("nobody", "")
    };
    assert_eq!(strip(&locked.body), strip(&unknown.body));

    // An admin can set a new password, which lifts the lock.
    let out = admin_json(
        &data,
        &[
            "worker",
            "set-password",
            "staff-c1",
            "--password-env",
            "NEW_PW",
        ],
        &[("NEW_PW", "a brand new password")],
    );
    assert_eq!(
        out,
        serde_json::json!({ "worker": "staff-c1", "password_set": true })
    );
    assert_refused(&try_login(addr, "staff-c1", PASSWORD));
    assert_eq!(
        try_login(addr, "staff-c1", "a brand new password").status,
        303
    );
}

#[test]
fn secure_cookies_flag_marks_cookies_secure() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    town(&data);
    let server = start(&data, &["--secure-cookies"]);
    let page = get(&server.addr, "/login?lang=en", &[]);
    assert!(page
        .set_cookie("gw_login_csrf")
        .unwrap()
        .contains("; Secure"));
    assert!(page.set_cookie("gw_lang").unwrap().contains("; Secure"));
    let ok = try_login(&server.addr, "staff-c1", PASSWORD);
    assert_eq!(ok.status, 303);
    assert!(ok.set_cookie("gw_session").unwrap().contains("; Secure"));
}

#[test]
fn only_staff_get_passwords_and_only_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    town(&data);
    let one_line_error = |out: &Output, needle: &str| {
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
        assert!(out.stdout.is_empty());
        stderr.into_owned()
    };
    let pw = [("PW", "a good long password")];

    // A gridworker cannot get a password, neither when added nor later.
    let out = admin_with_env(
        &data,
        &[
            "worker",
            "add",
            "gw-1",
            "--name",
            "网格员甲",
            "--role",
            "gridworker",
            "--grid",
            "G1",
            "--password-env",
            "PW",
        ],
        &pw,
    );
    one_line_error(&out, "role");
    let workers = admin_json(&data, &["worker", "list"], &[]);
    assert_eq!(workers.as_array().unwrap().len(), 1, "nothing was added");
    admin_json(
        &data,
        &[
            "worker",
            "add",
            "gw-1",
            "--name",
            "网格员甲",
            "--role",
            "gridworker",
            "--grid",
            "G1",
        ],
        &[],
    );
    let out = admin_with_env(
        &data,
        &["worker", "set-password", "gw-1", "--password-env", "PW"],
        &pw,
    );
    one_line_error(&out, "role");

    // The variable must be set and non-empty; its name is in the error.
    let out = admin_with_env(
        &data,
        &[
            "worker",
            "set-password",
            "staff-c1",
            "--password-env",
            "GW_UNSET_VAR",
        ],
        &[],
    );
    one_line_error(&out, "GW_UNSET_VAR");
    let out = admin_with_env(
        &data,
        &["worker", "set-password", "staff-c1", "--password-env", "PW"],
        &[("PW", "")],
    );
    one_line_error(&out, "PW");

    // Weak passwords are refused by field name, never echoed.
    for weak in ["short", "zzzzzzzzzzzzzz"] {
        let out = admin_with_env(
            &data,
            &["worker", "set-password", "staff-c1", "--password-env", "PW"],
            &[("PW", weak)],
        );
        let stderr = one_line_error(&out, "password");
        assert!(!stderr.contains(weak), "{stderr}");
    }
    let out = admin_with_env(
        &data,
        &["worker", "set-password", "nobody", "--password-env", "PW"],
        &pw,
    );
    one_line_error(&out, "nobody");

    // Staff at any level and admins may have one; nothing secret is printed.
    let added = admin_json(
        &data,
        &[
            "worker",
            "add",
            "town-1",
            "--name",
            "镇街乙",
            "--role",
            "town_staff",
            "--grid",
            "T1",
            "--password-env",
            "PW",
        ],
        &pw,
    );
    assert_eq!(added["password_set"], true);
    assert!(!added.to_string().contains("a good long password"));
    let plain = admin_json(
        &data,
        &[
            "worker",
            "add",
            "admin-1",
            "--name",
            "管理员",
            "--role",
            "admin",
            "--grid",
            "T1",
        ],
        &[],
    );
    assert!(plain.get("password_set").is_none());
    admin_json(
        &data,
        &["worker", "set-password", "admin-1", "--password-env", "PW"],
        &pw,
    );
    let list = admin_json(&data, &["worker", "list"], &[]).to_string();
    assert!(!list.contains("argon2") && !list.contains("a good long password"));
    // Only the Argon2id hash is stored.
    let db = std::fs::read(data.join("gridwork.db")).unwrap();
    let needle = "a good long password".as_bytes();
    assert!(!db.windows(needle.len()).any(|w| w == needle));
}

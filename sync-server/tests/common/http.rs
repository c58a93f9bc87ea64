//! Plain HTTP/1.1 over a TCP stream for the dashboard tests: GET and
//! url-encoded POST with cookies, the response's cookies, and signing in
//! through the login form and its CSRF double-submit cookie.

/// One HTTP response.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy for binary bodies).
    pub body: String,
    /// The body as sent.
    pub bytes: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The whole `Set-Cookie` line for cookie `name`, if set.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .find(|v| v.starts_with(&format!("{name}=")))
    }

    /// The value given to cookie `name` by `Set-Cookie`, if set.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let line = self.set_cookie(name)?;
        let (pair, _) = line.split_once(';').unwrap_or((line, ""));
        Some(pair.split_once('=').unwrap().1.to_owned())
    }
}

pub fn form_encode(fields: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One HTTP/1.1 request with the given cookies and, for a POST, an
/// url-encoded form body (over [`super::exchange`]).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    cookies: &[(&str, &str)],
    form: Option<&[(&str, &str)]>,
) -> Response {
    let body = form.map(form_encode).unwrap_or_default();
    let cookie_line: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let cookie_line = cookie_line.join("; ");
    let mut headers = Vec::new();
    if form.is_some() {
        headers.push(("Content-Type", "application/x-www-form-urlencoded"));
    }
    if !cookies.is_empty() {
        headers.push(("Cookie", cookie_line.as_str()));
    }
    let reply = super::exchange(addr, method, path, &headers, body.as_bytes());
    Response {
        status: reply.status,
        body: reply.text(),
        headers: reply.headers,
        bytes: reply.body,
    }
}

pub fn get(addr: &str, path: &str, cookies: &[(&str, &str)]) -> Response {
    request(addr, "GET", path, cookies, None)
}

pub fn post(addr: &str, path: &str, cookies: &[(&str, &str)], form: &[(&str, &str)]) -> Response {
    request(addr, "POST", path, cookies, Some(form))
}

/// A `multipart/form-data` POST, as a browser sends a form with a file
/// input: the text `fields`, then `file` (field name, file name, bytes)
/// when given.
pub fn post_multipart(
    addr: &str,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &str, &[u8])>,
) -> Response {
    let boundary = "----gridworkTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((name, file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let reply = super::exchange(
        addr,
        "POST",
        path,
        &[("Content-Type", content_type.as_str())],
        &body,
    );
    Response {
        status: reply.status,
        body: reply.text(),
        headers: reply.headers,
        bytes: reply.body,
    }
}

/// The value of hidden field `name` in a page.
pub fn hidden_field(html: &str, name: &str) -> String {
    let key = format!(r#"name="{name}" value=""#);
    let start = html.find(&key).unwrap_or_else(|| panic!("no field {name}")) + key.len();
    let end = html[start..].find('"').unwrap();
    html[start..start + end].to_owned()
}

/// The value of the hidden `csrf` field in a page.
pub fn csrf_field(html: &str) -> String {
    let start = html.find(r#"name="csrf" value=""#).expect("csrf field") + 19;
    let end = html[start..].find('"').unwrap();
    html[start..start + end].to_owned()
}

/// GET /login: the login CSRF token (cookie and field agree).
pub fn login_token(addr: &str) -> String {
    let page = get(addr, "/login", &[]);
    assert_eq!(page.status, 200);
    let cookie = page.cookie("gw_login_csrf").expect("login CSRF cookie");
    assert_eq!(csrf_field(&page.body), cookie);
    cookie
}

/// POST /login with a fresh login CSRF token.
pub fn try_login(addr: &str, user: &str, password: &str) -> Response {
    let token = login_token(addr);
    post(
        addr,
        "/login",
        &[("gw_login_csrf", &token)],
        &[("user", user), ("password", password), ("csrf", &token)],
    )
}

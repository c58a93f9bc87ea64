//! Shared by the binary tests: start the real `gridwork-server serve` on
//! 127.0.0.1 (port 0) and read the address it announces; [`exchange`] one
//! raw HTTP/1.1 request with it (any headers, binary bodies).

#![allow(dead_code)]

pub mod http;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

/// The server binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_gridwork-server");

/// A running server, killed if the test fails before stopping it.
pub struct Server {
    pub child: Child,
    pub addr: String,
    /// JSON lines printed before `listening on`.
    pub preamble: Vec<Value>,
    /// Kept open so the server never writes into a closed pipe.
    pub stdout: BufReader<ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `gridwork-server admin --data-dir DATA_DIR ARGS…` with `env`
/// variables set (passwords are read only from the environment).
pub fn admin_with_env(
    data_dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    Command::new(BIN)
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// [`admin_with_env`], requiring success; its JSON (null when it prints none).
pub fn admin_json(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Value {
    let out = admin_with_env(data_dir, args, env);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The grid tree T → C → C-1 → G1 (`admin grid add`); returns G1's JSON.
pub fn grid_tree(data: &Path) -> Value {
    admin_json(data, &["grid", "add", "T", "--name", "演示镇"], &[]);
    admin_json(
        data,
        &["grid", "add", "C", "--name", "幸福社区", "--parent", "T"],
        &[],
    );
    admin_json(
        data,
        &["grid", "add", "C-1", "--name", "一片区", "--parent", "C"],
        &[],
    );
    admin_json(
        data,
        &["grid", "add", "G1", "--name", "第一网格", "--parent", "C-1"],
        &[],
    )
}

/// Add gridworker `worker` on G1 (see [`grid_tree`]) and issue a device
/// token; returns the token.
pub fn gridworker_token(data: &Path, worker: &str) -> String {
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
            "G1",
        ],
        &[],
    );
    admin_json(data, &["token", "issue", worker], &[])["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Start `serve` on `data_dir` with `extra` arguments; see [`start_with_env`].
pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
    start_with_env(data_dir, extra, &[])
}

/// Start `serve` on `data_dir` with `extra` arguments and `env` variables
/// set, and wait for its `listening on` line.
pub fn start_with_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start gridwork-server");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut server = Server {
        child,
        addr: String::new(),
        preamble: Vec::new(),
        stdout,
    };
    loop {
        let mut line = String::new();
        let n = server.stdout.read_line(&mut line).unwrap();
        assert!(n > 0, "server exited before announcing its port");
        let line = line.trim_end();
        if let Some(url) = line.strip_prefix("listening on http://") {
            server.addr = url.to_owned();
            return server;
        }
        let value = serde_json::from_str(line).expect("JSON line before `listening on`");
        server.preamble.push(value);
    }
}

/// One HTTP/1.1 response, read whole.
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body as sent.
    pub body: Vec<u8>,
}

impl Reply {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy for binary bodies).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value a `Set-Cookie` header gives cookie `name`, if any.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| v.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.split(';').next().unwrap_or_default().to_owned())
    }
}

/// One HTTP/1.1 request with any `headers` and a (binary) `body`, on a
/// fresh connection; the whole response.
pub fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8(raw[..split].to_vec()).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// `POST /v1/sync` with the bearer `token` and a sync `body`.
pub fn post_sync(addr: &str, token: &str, body: &[u8]) -> Reply {
    let bearer = format!("Bearer {token}");
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", gridwork_core::sync::protocol::CONTENT_TYPE),
    ];
    exchange(addr, "POST", "/v1/sync", &headers, body)
}

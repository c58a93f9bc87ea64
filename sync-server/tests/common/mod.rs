//! Shared by the binary tests: start the real `gridwork-server serve` on
//! 127.0.0.1 (port 0) and read the address it announces.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

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

pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("RUST_LOG", "warn")
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

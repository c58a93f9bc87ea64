//! Running the real `gridwork-server` from tests: build it once, start it on
//! a random 127.0.0.1 port with its own data directory, run admin commands,
//! stop it with SIGTERM.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Path of the `gridwork-server` binary of this build profile (built once,
/// with the rest of the workspace's binaries: [`crate::cli::workspace_bins`]).
pub fn server_bin() -> PathBuf {
    crate::cli::workspace_bins().join(format!("gridwork-server{}", std::env::consts::EXE_SUFFIX))
}

/// A running server.
pub struct Server {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Lines it printed before `listening on` (demo tokens).
    pub preamble: Vec<Value>,
    child: Option<Child>,
}

impl Server {
    /// Start `gridwork-server serve` on a random port over `data_dir`.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        Server::start_wrapped(data_dir, extra, &[])
    }

    /// Like [`Server::start`], run through `wrapper` (e.g. `taskset -c 0`
    /// to pin the server to one CPU); an empty wrapper runs it directly.
    pub fn start_wrapped(data_dir: &Path, extra: &[&str], wrapper: &[&str]) -> Server {
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(server_bin());
                c
            }
            None => Command::new(server_bin()),
        };
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start gridwork-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut preamble = Vec::new();
        let url = loop {
            let mut line = String::new();
            let n = reader.read_line(&mut line).expect("read server stdout");
            assert!(n > 0, "gridwork-server exited before listening");
            if let Some(addr) = line.trim().strip_prefix("listening on ") {
                break addr.to_string();
            }
            if let Ok(v) = serde_json::from_str::<Value>(line.trim()) {
                preamble.push(v);
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        Server {
            url,
            data_dir: data_dir.to_path_buf(),
            preamble,
            child: Some(child),
        }
    }

    /// Run `gridwork-server admin --data-dir DIR args…` and parse its JSON.
    pub fn admin(&self, args: &[&str]) -> Value {
        admin(&self.data_dir, args)
    }

    /// The grid tree of the sync scenarios: T1 → C1 → C1-1 → G1, G2.
    pub fn add_small_town(&self) {
        self.admin(&["grid", "add", "T1", "--name", "演示镇"]);
        self.admin(&["grid", "add", "C1", "--name", "幸福社区", "--parent", "T1"]);
        self.admin(&["grid", "add", "C1-1", "--name", "片区一", "--parent", "C1"]);
        for (code, name) in [("G1", "第一网格"), ("G2", "第二网格")] {
            self.admin(&["grid", "add", code, "--name", name, "--parent", "C1-1"]);
        }
    }

    /// Add gridworker `id` (named 网格员) on `grid` and issue a device token;
    /// returns the token.
    pub fn add_gridworker(&self, id: &str, grid: &str) -> String {
        self.admin(&[
            "worker",
            "add",
            id,
            "--name",
            "网格员",
            "--role",
            "gridworker",
            "--grid",
            grid,
        ]);
        self.admin(&["token", "issue", id])["token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    /// Like [`Server::admin`], with extra environment variables (for
    /// `--password-env VAR`: passwords never go on the command line).
    pub fn admin_env(&self, args: &[&str], env: &[(&str, &str)]) -> Value {
        let out = Command::new(server_bin())
            .arg("admin")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .envs(env.iter().copied())
            .output()
            .expect("run gridwork-server admin");
        assert!(
            out.status.success(),
            "admin {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// Stop with SIGTERM and wait; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        for _ in 0..200 {
            if let Some(status) = child.try_wait().expect("wait") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = child.kill();
        child.wait().ok().and_then(|s| s.code())
    }

    /// A phone (the CLI) over the server's own database file, keyed with
    /// the server's key file (`DATA_DIR/server.key`, created on first
    /// start): for comparing the server's docs with the phones'.
    pub fn store(&self) -> crate::cli::Phone {
        let mut phone = crate::cli::Phone::new(self.data_dir.join("gridwork.db"));
        let hex = std::fs::read_to_string(self.data_dir.join("server.key")).expect("server.key");
        phone.key = Some(("GRIDWORK_SERVER_KEY".into(), format!("x'{}'", hex.trim())));
        phone
    }

    /// The server process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `gridwork-server admin --data-dir DIR args…`, requiring success.
pub fn admin(data_dir: &Path, args: &[&str]) -> Value {
    let out = admin_output(data_dir, args);
    assert!(
        out.status.success(),
        "admin {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// Run `gridwork-server admin --data-dir DATA_DIR ARGS…` and capture it
/// (for commands expected to fail).
pub fn admin_output(data_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(server_bin())
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("run gridwork-server admin")
}

/// `gridwork-server admin --database URL args…` (PostgreSQL), requiring
/// success; its JSON.
pub fn admin_database(url: &str, args: &[&str]) -> Value {
    let out = Command::new(server_bin())
        .args(["admin", "--database", url])
        .args(args)
        .output()
        .expect("run gridwork-server admin");
    assert!(
        out.status.success(),
        "admin {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

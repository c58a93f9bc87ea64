//! Driving the real `gridwork` binary from tests: locate (or build) it, run
//! commands against one store, parse the JSON it prints.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Path of the `gridwork` binary of this build profile. The first call in a
/// test process runs `cargo build -p gridwork-cli` for the same profile (a
/// no-op when it is up to date), so a test never drives a stale binary.
pub fn gridwork_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("current exe");
        // target/<profile>/deps/<test> → target/<profile>/gridwork
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("profile dir")
            .to_path_buf();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.args(["build", "--quiet", "-p", "gridwork-cli"]);
        if release {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("run cargo build");
        assert!(status.success(), "building gridwork failed");
        profile_dir.join(format!("gridwork{}", std::env::consts::EXE_SUFFIX))
    })
    .clone()
}

/// One store driven through the CLI.
#[derive(Clone, Debug)]
pub struct Phone {
    /// The store file.
    pub store: PathBuf,
    /// `(variable, key)` when the store is encrypted.
    pub key: Option<(String, String)>,
    /// Value for the hidden `--now` flag.
    pub now: Option<String>,
}

impl Phone {
    /// A phone whose store lives at `store` (not yet initialised).
    pub fn new(store: impl Into<PathBuf>) -> Phone {
        Phone {
            store: store.into(),
            key: None,
            now: None,
        }
    }

    /// The command for `args`, with `--store`, `--key-env` and `--now` set.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(gridwork_bin());
        cmd.arg("--store").arg(&self.store);
        if let Some((var, key)) = &self.key {
            cmd.arg("--key-env").arg(var).env(var, key);
        }
        if let Some(now) = &self.now {
            cmd.arg("--now").arg(now);
        }
        cmd.args(args).stdin(Stdio::null());
        cmd
    }

    /// Run and capture.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run gridwork")
    }

    /// Run, require exit 0, parse stdout as JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "gridwork {args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("gridwork {args:?}: stdout is not JSON: {e}"))
    }

    /// `init` with a worker and grid.
    pub fn init(&self, worker: &str, grid: &str) -> Value {
        self.json(&[
            "init",
            "--worker-id",
            worker,
            "--worker-name",
            "测试网格员",
            "--grid",
            grid,
        ])
    }

    /// `household add --address …`, returning the new id.
    pub fn add_household(&self, address: &str, extra: &[&str]) -> String {
        let mut args = vec!["household", "add", "--address", address];
        args.extend_from_slice(extra);
        self.json(&args)["id"].as_str().expect("id").to_string()
    }
}

/// stderr as lines.
pub fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

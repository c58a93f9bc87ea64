//! Driving the real `gridwork` binary from tests: locate (or build) it, run
//! commands against one store, parse the JSON it prints.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Path of the `gridwork` binary of this build profile. The first call in a
/// test process builds the workspace's binaries (see [`workspace_bins`]), so
/// a test never drives a stale binary.
pub fn gridwork_bin() -> PathBuf {
    workspace_bins().join(format!("gridwork{}", std::env::consts::EXE_SUFFIX))
}

/// The directory holding the workspace's binaries of this build profile
/// (`target/<profile>`), after running `cargo build --workspace --bin
/// gridwork --bin gridwork-server` for that profile once per test process
/// (a no-op when they are up to date, so a test never drives a stale one).
///
/// `--workspace` resolves features exactly as `cargo build --workspace
/// --all-targets` and `cargo test --workspace` do, so under `.ci/run` this
/// reuses the binaries the build step made (0 crates compiled, 0.3 s).
/// Building one package (`-p gridwork-cli`) unifies features differently
/// (tokio, hyper-util, serde_json, clap, …), so it compiled a second copy of
/// the core and of each binary inside the test run, and left that copy at
/// `target/<profile>/gridwork`.
pub fn workspace_bins() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("current exe");
        // Test binaries live in target/<profile>/deps, binaries (the bench)
        // in target/<profile>.
        let mut profile_dir = exe.parent().expect("profile dir").to_path_buf();
        if profile_dir.file_name().is_some_and(|n| n == "deps") {
            profile_dir.pop();
        }
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.args([
            "build",
            "--quiet",
            "--workspace",
            "--bin",
            "gridwork",
            "--bin",
            "gridwork-server",
        ]);
        if release {
            cargo.arg("--release");
        }
        // `cargo test` sets CARGO_PKG_*, CARGO_MANIFEST_DIR, … for the test
        // process; ring's build script reruns when they change, so passing
        // them on made this build and the outer one invalidate each other
        // (ring, rustls, reqwest and the core recompiled on every run).
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            let set_by_cargo_for_the_crate = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
            ]
            .iter()
            .any(|prefix| name.starts_with(prefix));
            if set_by_cargo_for_the_crate {
                cargo.env_remove(&name);
            }
        }
        let status = cargo.status().expect("run cargo build");
        assert!(status.success(), "building the workspace's binaries failed");
        profile_dir
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

    /// `sync --server URL` with `token` passed through `GRIDWORK_TOKEN`
    /// (`--token-env`); panics with the CLI's stderr if it fails. The JSON
    /// summary.
    pub fn sync(&self, url: &str, token: &str) -> Value {
        let mut cmd = self.command(&["sync", "--server", url, "--token-env", "GRIDWORK_TOKEN"]);
        cmd.env("GRIDWORK_TOKEN", token);
        let out = cmd.output().expect("run gridwork sync");
        assert!(
            out.status.success(),
            "sync failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("sync prints JSON")
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

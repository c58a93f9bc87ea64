//! A throwaway PostgreSQL server for tests (issue 13): [`TestPostgres::start`]
//! runs `initdb` in a fresh directory under the workspace's target directory
//! (`$CARGO_TARGET_DIR`, else `<workspace>/target`; subdirectory
//! `pg/<pid>-<counter>`), starts it with `pg_ctl` on a free 127.0.0.1 port,
//! and stops it and removes the directory when dropped. Nothing is kept
//! outside the clone and nothing listens beyond loopback.
//!
//! The binaries (`initdb`, `pg_ctl`, `postgres`) are taken from the `PATH`,
//! else from the newest `/usr/lib/postgresql/<version>/bin` (where Debian's
//! `postgresql` package puts them without linking them onto the `PATH`).
//!
//! `initdb` refuses to run as root. When this process is root, the server
//! runs as the `postgres` user if there is one, else as `nobody`: the
//! directory is handed to that user and every directory above it must be
//! traversable by it; when the target directory is not (a clone under
//! `/root`, mode 0700), the clusters go under the system's temporary
//! directory instead (`gridwork-test-pg/`, removed on drop like the others).
//! Otherwise the server runs as the current user.
//!
//! The cluster trusts every local connection (no password), uses UTF-8 and
//! the C locale (bytewise text order, as SQLite's), and runs with
//! `fsync = off`: it is for tests only. A test process killed before its
//! drops ran leaves a server and a directory behind; the next
//! [`TestPostgres::start`] of any test process stops those servers and
//! removes their directories once their process is gone.

use std::ffi::{CStr, CString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;

/// The cluster's superuser, whatever the OS user running it.
pub const SUPERUSER: &str = "postgres";

/// A running throwaway PostgreSQL server; stopped (`pg_ctl stop -m
/// immediate`) and its directory removed on drop.
pub struct TestPostgres {
    /// `<target>/pg/<pid>-<counter>`, removed on drop.
    dir: PathBuf,
    /// The cluster: `dir/data`.
    data: PathBuf,
    /// Directory holding `initdb` and `pg_ctl`.
    bin: PathBuf,
    /// The OS user the server runs as (`None`: this process's user).
    run_as: Option<OsUser>,
    /// The TCP port on 127.0.0.1 (0 until started).
    port: u16,
    /// True once `pg_ctl start` succeeded: drop must stop it.
    started: bool,
}

/// An OS user to run the server as when this process is root.
#[derive(Clone, Debug)]
struct OsUser {
    name: String,
    uid: u32,
    gid: u32,
}

impl TestPostgres {
    /// Create, start and return a fresh cluster. Panics with the server's
    /// log (or the failing command's output) when it cannot be started.
    pub fn start() -> TestPostgres {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        static SWEEP: Once = Once::new();
        let bin = bin_dir();
        let run_as = run_as();
        let root = pg_root(run_as.as_ref());
        std::fs::create_dir_all(&root).expect("create the clusters' directory");
        if run_as.is_some() {
            set_mode(&root, 0o755);
        }
        SWEEP.call_once(|| sweep_stale(&root, &bin, run_as.as_ref()));
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = root.join(format!("{}-{n}", std::process::id()));
        // A directory left by an earlier process with the same pid.
        stop_and_remove(&dir, &bin, run_as.as_ref());
        std::fs::create_dir(&dir).expect("create the cluster directory");
        set_mode(&dir, 0o700);
        let mut pg = TestPostgres {
            data: dir.join("data"),
            dir,
            bin,
            run_as,
            port: 0,
            started: false,
        };
        if let Some(user) = &pg.run_as {
            std::os::unix::fs::chown(&pg.dir, Some(user.uid), Some(user.gid))
                .expect("hand the cluster directory to the server's user");
        }
        pg.initdb();
        pg.configure();
        pg.start_server();
        pg
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`: the superuser on the
    /// default database.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// The URL of database `name` on this server, as the superuser.
    pub fn url_for(&self, name: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{name}", self.port)
    }

    /// The TCP port the server listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Create database `name` (ASCII letters, digits and `_`, not starting
    /// with a digit) and return its URL ([`TestPostgres::url_for`]).
    pub fn create_database(&self, name: &str) -> String {
        assert!(
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "database name {name:?}: use ASCII letters, digits and _"
        );
        let mut client = postgres::Client::connect(&self.url(), postgres::NoTls)
            .expect("connect to the test PostgreSQL");
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("CREATE DATABASE");
        self.url_for(name)
    }

    /// Start a hot standby of this server: a streaming replica of a copy
    /// of its data directory (only `pg_ctl` and `postgres` are needed: the
    /// server is stopped cleanly, its directory copied, and it is started
    /// again, perhaps on another port). initdb's default `pg_hba.conf`
    /// trusts replication from 127.0.0.1. The standby runs read-only on its
    /// own free port and is stopped and removed on drop like any cluster.
    /// Call it before connecting to this server (the restart ends every
    /// session).
    pub fn start_standby(&mut self) -> TestPostgres {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = self
            .dir
            .with_file_name(format!("{}-standby-{n}", std::process::id()));
        stop_and_remove(&dir, &self.bin, self.run_as.as_ref());
        std::fs::create_dir(&dir).expect("create the standby directory");
        set_mode(&dir, 0o700);
        let owner = self.run_as.as_ref().map(|u| (u.uid, u.gid));
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .expect("hand the standby directory to the server's user");
        }
        let mut standby = TestPostgres {
            data: dir.join("data"),
            dir,
            bin: self.bin.clone(),
            run_as: self.run_as.clone(),
            port: 0,
            started: false,
        };
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"]);
        let out = run(&mut stop);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.started = false;
        copy_tree(&self.data, &standby.data, owner);
        self.start_server();
        std::fs::write(standby.data.join("standby.signal"), "").expect("standby.signal");
        standby.configure();
        let conf = format!(
            "primary_conninfo = 'host=127.0.0.1 port={} user={SUPERUSER}'\nhot_standby = on\n",
            self.port
        );
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(standby.data.join("postgresql.conf"))
            .expect("open the standby's postgresql.conf");
        file.write_all(conf.as_bytes())
            .expect("write the standby's postgresql.conf");
        standby.start_server();
        standby
    }

    /// `initdb`: trust authentication, UTF-8, C locale, superuser
    /// [`SUPERUSER`], no fsync of the new files (`-N`).
    fn initdb(&self) {
        let mut command = self.command("initdb");
        command
            .arg("-D")
            .arg(&self.data)
            .args(["--auth=trust", "--encoding=UTF8", "--locale=C", "-N"])
            .arg(format!("--username={SUPERUSER}"));
        let out = run(&mut command);
        assert!(
            out.status.success(),
            "initdb failed{}: {}{}",
            self.run_as
                .as_ref()
                .map(|u| format!(" (run as {})", u.name))
                .unwrap_or_default(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Append the test settings to `postgresql.conf`: loopback only, the
    /// Unix socket inside the data directory (none when that path would be
    /// too long for a socket), durability off, small shared buffers.
    fn configure(&self) {
        let data = self
            .data
            .to_str()
            .expect("the target directory is not UTF-8");
        // sun_path holds 108 bytes: DIR + "/.s.PGSQL.65535" + NUL.
        let sockets = if data.len() + 16 <= 108 { data } else { "" };
        let conf = format!(
            "\n# TestPostgres (gridwork-tests)\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             shared_buffers = 32MB\n",
            sockets.replace('\'', "''")
        );
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data.join("postgresql.conf"))
            .expect("open postgresql.conf");
        file.write_all(conf.as_bytes())
            .expect("write postgresql.conf");
    }

    /// `pg_ctl start -w` on a free port; another port is tried when the one
    /// picked was taken in the meantime.
    fn start_server(&mut self) {
        let log = self.dir.join("postgres.log");
        for attempt in 1..=5 {
            self.port = free_port();
            let mut command = self.command("pg_ctl");
            command
                .arg("-D")
                .arg(&self.data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "120", "-o"])
                .arg(format!("-p {}", self.port))
                .arg("start");
            let out = run(&mut command);
            if out.status.success() {
                self.started = true;
                return;
            }
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let port_taken = text.contains("could not bind") || text.contains("already in use");
            if !(port_taken && attempt < 5) {
                panic!(
                    "pg_ctl start failed: {}{}\n--- postgres.log ---\n{text}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }

    /// `bin/program`, run as the server's user, in the cluster directory,
    /// with the C locale and without PG* variables from the environment.
    fn command(&self, program: &str) -> Command {
        command(&self.bin, program, &self.dir, self.run_as.as_ref())
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if self.started {
            let mut command = self.command("pg_ctl");
            command
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"]);
            let out = run(&mut command);
            if !out.status.success() {
                eprintln!(
                    "TestPostgres: pg_ctl stop failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("TestPostgres: remove {}: {e}", self.dir.display());
        }
    }
}

/// `<target>/pg`: `$CARGO_TARGET_DIR` (relative to the workspace when
/// relative) or `<workspace>/target`.
fn pg_root(run_as: Option<&OsUser>) -> PathBuf {
    let in_target = target_pg_root();
    match run_as {
        // The server's user cannot reach the target directory (a clone
        // under /root, mode 0700): the system's temporary directory instead,
        // still removed on drop.
        Some(user) if !traversable(&in_target, user) => {
            let tmp = std::env::temp_dir().join("gridwork-test-pg");
            eprintln!(
                "TestPostgres: {} cannot enter {}; clusters go under {}",
                user.name,
                in_target.display(),
                tmp.display()
            );
            tmp
        }
        _ => in_target,
    }
}

/// `<target>/pg`.
fn target_pg_root() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace directory")
        .to_path_buf();
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace.join(dir),
        _ => workspace.join("target"),
    };
    target.join("pg")
}

/// The directory holding `initdb` and `pg_ctl`: the first on the `PATH`
/// that has both, else the newest `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> PathBuf {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|d| has_both(d)) {
            return dir;
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL's initdb and pg_ctl were found neither on the PATH nor in \
             /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)"
        ),
    }
}

/// The user to run the server as: `None` unless this process is root, then
/// `postgres` if it exists, else `nobody`.
fn run_as() -> Option<OsUser> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let user = ["postgres", "nobody"]
        .into_iter()
        .find_map(lookup_user)
        .expect("running as root, and there is neither a postgres nor a nobody user to run PostgreSQL as (initdb refuses root)");
    Some(user)
}

/// `getpwnam_r(name)`.
fn lookup_user(name: &str) -> Option<OsUser> {
    let c_name = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value to be overwritten.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the duration of the call; buf's
    // length is passed with it.
    let rc = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points into buf, NUL-terminated.
    let found = unsafe { CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned();
    Some(OsUser {
        name: found,
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

/// Panic naming the first directory from `/` down to `dir` that `user`
/// cannot traverse (no execute bit for it by owner, group or others).
/// True when `user` can enter `dir` (or the nearest existing directory
/// above it) and every directory above it.
fn traversable(dir: &Path, user: &OsUser) -> bool {
    use std::os::unix::fs::MetadataExt;
    let existing = dir
        .ancestors()
        .find(|d| d.exists())
        .unwrap_or(Path::new("/"));
    let Ok(dir) = existing.canonicalize() else {
        return false;
    };
    dir.ancestors().all(|ancestor| {
        std::fs::metadata(ancestor).is_ok_and(|meta| {
            let mode = meta.mode();
            mode & 0o001 != 0
                || (meta.uid() == user.uid && mode & 0o100 != 0)
                || (meta.gid() == user.gid && mode & 0o010 != 0)
        })
    })
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .expect("set directory permissions");
}

/// A free TCP port on 127.0.0.1 (free when this returns).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

fn command(bin: &Path, program: &str, cwd: &Path, run_as: Option<&OsUser>) -> Command {
    let mut command = Command::new(bin.join(program));
    command
        .current_dir(cwd)
        .env("LC_ALL", "C")
        .stdin(Stdio::null());
    for var in [
        "PGDATA",
        "PGPORT",
        "PGHOST",
        "PGUSER",
        "PGDATABASE",
        "PGOPTIONS",
    ] {
        command.env_remove(var);
    }
    if let Some(user) = run_as {
        use std::os::unix::process::CommandExt;
        // std drops the supplementary groups too when root sets a uid.
        command.uid(user.uid).gid(user.gid);
        command.env("HOME", cwd).env("USER", &user.name);
    }
    command
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("run {:?}: {e}", command.get_program()))
}

/// Stop the server of the cluster in `dir` if one runs, then remove `dir`.
fn stop_and_remove(dir: &Path, bin: &Path, run_as: Option<&OsUser>) {
    if !dir.exists() {
        return;
    }
    let data = dir.join("data");
    if data.join("postmaster.pid").exists() {
        let _ = run(command(bin, "pg_ctl", dir, run_as)
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"]));
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Stop and remove the clusters under `root` whose test process is gone.
fn sweep_stale(root: &Path, bin: &Path, run_as: Option<&OsUser>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if pid == std::process::id() as libc::pid_t {
            continue;
        }
        if !process_alive(pid) {
            stop_and_remove(&entry.path(), bin, run_as);
        }
    }
}

/// True while process `pid` runs: a zombie (killed, not yet reaped by its
/// parent, which can take a while when that is the init of a container)
/// counts as gone.
fn process_alive(pid: libc::pid_t) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S …": the state follows the last ')'.
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        // No /proc: ask the kernel whether the pid exists.
        // SAFETY: signal 0 only checks that the process exists.
        Err(_) => {
            let found = unsafe { libc::kill(pid, 0) } == 0;
            found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
        }
    }
}

/// Copy directory `from` to `to` (created) with its files' modes, handed
/// to `owner` (uid, gid) when given.
fn copy_tree(from: &Path, to: &Path, owner: Option<(u32, u32)>) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    let mode = std::fs::metadata(from).expect("stat").permissions().mode();
    set_mode(to, mode & 0o7777);
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(to, Some(uid), Some(gid)).expect("chown");
    }
    for entry in std::fs::read_dir(from).expect("read the data directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target, owner);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&target, Some(uid), Some(gid)).expect("chown");
            }
        }
    }
}

//! Connection handling under abuse (issue 12 §2), against the real binary on
//! loopback: idle sockets, slowloris headers and a lowered open-file limit
//! must not stop the server from answering `/healthz` and a phone's sync,
//! and the server itself closes the idle and slow sockets.
//!
//! The abusive clients connect from other loopback addresses (127.0.0.2,
//! 127.0.0.3, …) so that the per-address cap applies to them and not to the
//! well-behaved client on 127.0.0.1. Every test is bounded in sockets (a
//! few hundred) and time (seconds).

mod common;

use gridwork_core::sync::SyncOptions;
use gridwork_core::Store;
use socket2::{Domain, Socket, Type};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Start `serve` with its open-file limit lowered to `nofile` and `extra`
/// arguments; returns the server (killed on drop) and its address.
fn start_limited(data: &Path, nofile: u64, extra: &[&str]) -> common::Server {
    let mut command = Command::new(common::BIN);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: nofile,
                rlim_max: nofile,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("start gridwork-server");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "server exited");
        if let Some(addr) = line.trim().strip_prefix("listening on http://") {
            break addr.to_string();
        }
    };
    common::Server {
        child,
        addr,
        preamble: Vec::new(),
        stdout,
    }
}

/// A TCP connection to `server` from the loopback address `source`.
fn connect_from(source: [u8; 4], server: &SocketAddr) -> std::io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((source, 0)).into())?;
    socket.connect_timeout(&(*server).into(), Duration::from_secs(2))?;
    Ok(socket.into())
}

/// Whether the server has closed `stream` (EOF or reset), waiting up to
/// `within`.
fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // e.g. a 408 answer before the close
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// `GET /healthz` from 127.0.0.1 on a fresh connection: the status, and how
/// long it took.
fn healthz(addr: &str) -> (u16, Duration) {
    let started = Instant::now();
    let reply = common::exchange(addr, "GET", "/healthz", &[], b"");
    (reply.status, started.elapsed())
}

/// A phone of gw-a in G1 that syncs one new household.
fn phone_syncs(dir: &Path, addr: &str, token: &str) {
    let store = Store::open(dir.join("phone.db"), None).unwrap();
    store.init("gw-a", "网格员", "G1").unwrap();
    store
        .add_household(gridwork_core::model::NewHousehold {
            address: "幸福里1号".into(),
            ..Default::default()
        })
        .unwrap();
    let summary = store
        .sync(&format!("http://{addr}"), token, &SyncOptions::default())
        .expect("the phone syncs while the server is under attack");
    assert!(summary.docs_up >= 1, "{summary:?}");
}

#[test]
fn idle_and_slow_sockets_under_a_low_file_limit_do_not_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::grid_tree(&data);
    let token = common::gridworker_token(&data, "gw-a");
    // 256 descriptors: the connection cap becomes 192, 48 per address.
    let server = start_limited(&data, 256, &["--header-timeout-secs", "2"]);
    let addr: SocketAddr = server.addr.parse().unwrap();

    // 300 idle connections from three addresses: more than the process
    // has descriptors for.
    let mut idle = Vec::new();
    for source in [[127, 0, 0, 2], [127, 0, 0, 3], [127, 0, 0, 4]] {
        for _ in 0..100 {
            idle.push(connect_from(source, &addr).expect("the kernel accepts the connection"));
        }
    }
    // 20 slowloris clients: a header line trickled byte by byte.
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| connect_from([127, 0, 0, 5], &addr).unwrap())
        .collect();
    for stream in &mut slow {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
            .unwrap();
    }
    let trickle_until = Instant::now() + Duration::from_secs(4);

    // The well-behaved client is served at once, and so is a phone.
    let (status, took) = healthz(&server.addr);
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(2), "healthz took {took:?}");
    phone_syncs(dir.path(), &server.addr, &token);

    // The slow ones keep trickling; the server still closes them.
    while Instant::now() < trickle_until {
        for stream in &mut slow {
            let _ = stream.write_all(b"a");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let slow_closed = slow
        .iter_mut()
        .map(|s| closed_by_server(s, Duration::from_secs(3)))
        .filter(|closed| *closed)
        .count();
    assert_eq!(slow_closed, slow.len(), "slowloris sockets left open");
    let idle_closed = idle
        .iter_mut()
        .map(|s| closed_by_server(s, Duration::from_secs(3)))
        .filter(|closed| *closed)
        .count();
    assert_eq!(idle_closed, idle.len(), "idle sockets left open");

    // And it still serves.
    assert_eq!(healthz(&server.addr).0, 200);
}

#[test]
fn at_the_connection_cap_new_clients_wait_and_keep_alive_idlers_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::grid_tree(&data);
    let server = common::start(
        &data,
        &[
            "--header-timeout-secs",
            "2",
            "--max-connections",
            "40",
            "--max-connections-per-address",
            "30",
        ],
    );
    let addr: SocketAddr = server.addr.parse().unwrap();
    // A keep-alive client that made one request, then idles.
    let mut keep_alive = TcpStream::connect(addr).unwrap();
    keep_alive
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .unwrap();
    let mut first = [0u8; 12];
    keep_alive.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    // Fill the remaining slots from two other addresses (the per-address
    // cap holds the first at 30).
    let mut idle = Vec::new();
    for source in [[127, 0, 0, 2], [127, 0, 0, 3]] {
        for _ in 0..30 {
            idle.push(connect_from(source, &addr).unwrap());
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    // All slots are taken: the next client waits until the header timeout
    // frees some, then is served.
    let (status, took) = healthz(&server.addr);
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(6), "healthz took {took:?}");
    assert!(closed_by_server(&mut keep_alive, Duration::from_secs(4)));
}

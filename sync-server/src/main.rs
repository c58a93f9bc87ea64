//! `gridwork-server`: the Gridwork sync server and its admin commands.
//!
//! `serve` runs the HTTP service; `admin` manages grids, workers and tokens
//! and prints JSON on stdout. Exit codes: 0 success, 1 a runtime or user
//! error (one line on stderr), 2 a usage error (clap) or an unsupported
//! `--database`. Logs (tracing, `RUST_LOG`) go to stderr.

use clap::{Parser, Subcommand};
use gridwork_server::admin::AdminArgs;
use gridwork_server::serve::ServeArgs;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Gridwork 同步服务器 / Gridwork sync server
#[derive(Debug, Parser)]
#[command(name = "gridwork-server", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 启动服务 / run the HTTP server
    Serve(ServeArgs),
    /// 管理网格、工作人员与令牌 / manage grids, workers and tokens
    Admin(AdminArgs),
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Print one error line on stderr and exit 1.
fn fail(error: &gridwork_server::Error) -> ExitCode {
    eprintln!("error: {}", error.to_string().replace('\n', " "));
    ExitCode::from(1)
}

/// Request bodies and their decoded copies are tens of MiB, held for one
/// request on one of many blocking threads. glibc raises its mmap threshold
/// after the first such buffer is freed, so later ones come from per-thread
/// arenas that keep the memory after it is freed: the process grew past its
/// memory budget (`sync::budget`) although the live bytes stayed within it.
/// A fixed threshold of 1 MiB keeps every large buffer mmapped, so freeing
/// it gives it back and RSS follows the budget.
fn return_large_buffers_at_once() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called once at
    // start, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    return_large_buffers_at_once();
    // Everything the server creates (database, WAL, key file, backups) is
    // private to its user.
    gridwork_server::keys::restrict_umask();
    match cli.command {
        Command::Serve(args) => {
            if let Err(message) = gridwork_server::serve::check_database(args.database.as_deref()) {
                eprintln!("error: {message}");
                return ExitCode::from(2);
            }
            // Automerge logs every malformed chunk a client sends at ERROR:
            // the sync engine reports those as rejections itself.
            init_tracing("info,automerge=off");
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return fail(&e.into()),
            };
            match runtime.block_on(gridwork_server::serve::run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Command::Admin(args) => {
            init_tracing("warn");
            match gridwork_server::admin::run(&args) {
                Ok(value) => {
                    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                    // A closed pipe (`| head`) is not an error worth a panic.
                    let _ = writeln!(std::io::stdout(), "{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
    }
}

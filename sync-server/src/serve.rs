//! `gridwork-server serve`: open (or create) the data directory's database,
//! optionally seed the demo town, then serve HTTP until SIGTERM or Ctrl-C:
//! the sync API and the staff dashboard's pages ([`crate::web`]; with
//! `--secure-cookies` its cookies are marked `Secure`, for HTTPS).
//!
//! Routes besides the sync API and the dashboard: `GET /healthz` and
//! `GET /metrics` ([`crate::metrics`]; open like `/healthz` unless
//! `--metrics-token-env VAR` names a scrape token).
//!
//! Stdout carries only machine-readable lines: on the first start with
//! `--demo`, one `{"demo_token": …}` JSON line per demo worker, then one
//! `{"demo_password": …}` line per demo staff account (their dashboard
//! sign-in, [`crate::demo::DemoPassword`]), then exactly one
//! `listening on http://ADDR` line once the port is bound (tests parse it;
//! `--listen 127.0.0.1:0` picks a free port). Logs, and the human hint
//! about the demo sign-in (without the passwords), go to stderr.

use crate::error::Error;
use crate::state::AppState;
use axum::routing::get;
use axum::{Json, Router};
use clap::Args;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Printed (exit 2) for any other `--database` value.
pub const DATABASE_UNSUPPORTED: &str =
    "不支持的数据库地址 / unsupported --database URL; omit it to use the embedded SQLite data directory (--data-dir)";

/// The default `--data-dir`.
pub const DEFAULT_DATA_DIR: &str = "gridwork-data";

/// Arguments of `serve`.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// 监听地址 / address to listen on (port 0 = any free port)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// 数据目录 / data directory holding gridwork.db
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// 外部数据库地址（PostgreSQL，可供多个实例共用）/ a PostgreSQL database URL
    /// (postgres://user@host:port/database) to serve from instead of the data directory;
    /// several instances may share it
    #[arg(long)]
    pub database: Option<String>,
    /// 每个实例最多打开的 PostgreSQL 连接数 / PostgreSQL connections this instance opens at
    /// most (requests beyond wait for one)
    #[arg(long, value_name = "N", default_value_t = POSTGRES_CONNECTIONS)]
    pub database_connections: usize,
    /// 只读副本地址（与 --database 同用）：工作台的页面与导出从副本读取 / a read replica (hot
    /// standby) of --database for the dashboard's pages and exports (may lag it); sync,
    /// sign-in and every write stay on --database
    #[arg(long, value_name = "URL", requires = "database")]
    pub read_database: Option<String>,
    /// 照片与附件目录（默认为数据目录下的 blobs；多个实例共用数据库时指向同一共享目录）/
    /// where photo and attachment bytes are kept (default: blobs/ in the data directory;
    /// instances sharing a PostgreSQL database must share this directory too)
    #[arg(long, value_name = "DIR")]
    pub blob_dir: Option<PathBuf>,
    /// 首次启动时生成演示数据 / seed a demo town on a data directory without grids
    #[arg(long)]
    pub demo: bool,
    /// 演示镇规模：town（3 个社区、14 个网格、约 1800 户，默认）或 small（2 个网格，供测试）/
    /// the demo town's size: town (3 communities, 14 grids, ~1,800 households; the default) or
    /// small (2 grids, for tests)
    #[arg(long, value_enum, default_value_t = crate::demo::DemoSize::Town)]
    pub demo_size: crate::demo::DemoSize,
    /// 工作台 Cookie 加 Secure 标记（经 HTTPS 访问时使用）/ mark the dashboard's cookies
    /// `Secure` (use when browsers reach the server over HTTPS, e.g. behind a TLS proxy)
    #[arg(long, default_value_t = false)]
    pub secure_cookies: bool,
    /// 对外访问地址，用于居民邀请链接与二维码（如 https://grid.example.cn）/ the server's public base
    /// URL, for residents' invitation links and QR codes (default: the address the dashboard
    /// was reached at)
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// 受信任的反向代理地址（可重复）：其 X-Forwarded-For 中的客户端地址用于按地址限流 / a reverse
    /// proxy (repeatable) whose X-Forwarded-For names the client, for the per-address rate limits
    #[arg(long = "trusted-proxy", value_name = "IP")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The database key (`--key-env VAR` / `--key-file PATH`).
    #[command(flatten)]
    pub key: crate::keys::KeyArgs,
    /// TLS 证书链（PEM）/ serve HTTPS with this PEM certificate chain (with --tls-key)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS 私钥（PEM）/ the PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// 同时打开的连接上限（默认按文件描述符上限）/ open connections at once (default: from the
    /// open-file limit, at most 4096)
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// 单个地址的连接上限（默认总上限的四分之一）/ open connections from one address (default: a
    /// quarter of --max-connections)
    #[arg(long, value_name = "N")]
    pub max_connections_per_address: Option<usize>,
    /// Rate limits of sync and sign-in.
    #[command(flatten)]
    pub rate: crate::limits::RateArgs,
    /// 发送请求头的时限（秒；也是空闲连接的时限）/ seconds a client has to send a request's
    /// headers, also between keep-alive requests (idle connections close after it)
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// 单个请求（含请求体）的时限（秒）/ seconds for one request, its body and its answer
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub request_timeout_secs: u64,
    /// 从该环境变量读取 /metrics 访问令牌（设置后需 Bearer 令牌）/ require this bearer token,
    /// read from the environment variable VAR, for GET /metrics
    #[arg(long, value_name = "VAR")]
    pub metrics_token_env: Option<String>,
}

/// Check `--database`: `Ok` when absent or a PostgreSQL URL, else the
/// message to print before exiting 2.
pub fn check_database(url: Option<&str>) -> Result<(), &'static str> {
    match url {
        None => Ok(()),
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => Ok(()),
        Some(_) => Err(DATABASE_UNSUPPORTED),
    }
}

/// PostgreSQL connections one instance opens at most (requests beyond
/// wait for one).
pub const POSTGRES_CONNECTIONS: usize = 8;

/// The HTTP routes over `state` with the dashboard's default options
/// (cookies without `Secure`); see [`router_with`].
pub fn router(state: AppState) -> Router {
    router_with(state, crate::web::WebConfig::default())
}

/// The HTTP routes over `state`: `GET /healthz`, `GET /metrics`, the sync
/// routes, the staff dashboard ([`crate::web`]: `/`, `/login`, `/logout`,
/// `/assets/…`), and a JSON 404 for anything else.
pub fn router_with(state: AppState, web: crate::web::WebConfig) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::metrics::scrape))
        .merge(crate::sync::routes(&state))
        .merge(crate::blobs::routes())
        .merge(crate::web::routes(web))
        .fallback(not_found)
        .with_state(state)
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn not_found() -> Error {
    Error::not_found("route", "")
}

/// Prepare the data directory (blocking): demo seeding when asked, then the
/// serving database with every doc on the feed. Returns the state and what
/// the demo seeding printed once (empty when nothing was seeded).
fn prepare(
    args: &ServeArgs,
) -> Result<
    (
        AppState,
        crate::demo::DemoSeeded,
        Option<crate::backup::DataDirLock>,
    ),
    Error,
> {
    let scrape_token = args
        .metrics_token_env
        .as_deref()
        .map(crate::metrics::token_from_env)
        .transpose()?;
    if let Some(url) = &args.database {
        return prepare_postgres(args, url, scrape_token);
    }
    crate::keys::secure_data_dir(&args.data_dir)?;
    let lock = crate::backup::DataDirLock::acquire(&args.data_dir)?;
    let key = crate::keys::resolve(
        &args.data_dir,
        &args.key,
        &crate::db::db_path(&args.data_dir),
    )?;
    announce_key(&key);
    let mut seeded = crate::demo::DemoSeeded::default();
    if args.demo {
        match crate::demo::seed(&args.data_dir, &key.key, args.demo_size)? {
            Some(fresh) => {
                for (grid, summary) in &fresh.data {
                    tracing::info!(grid = %grid, households = summary.households, visits = summary.visits, "demo grid seeded");
                }
                seeded = fresh;
            }
            None => tracing::info!("data directory already has grids; demo not seeded"),
        }
    }
    let db = crate::db::open_keyed(&args.data_dir, &key.key)?;
    let added = crate::feed::backfill(&db)?;
    if added > 0 {
        tracing::info!(added, "docs added to the feed");
    }
    let mut state = AppState::new(db, args.data_dir.clone());
    set_blob_dir(&mut state, args);
    state.limits = std::sync::Arc::new(crate::limits::RateLimits::new(&args.rate));
    if let Some(token) = scrape_token {
        state.metrics = std::sync::Arc::new(crate::metrics::Metrics::new(Some(&token)));
    }
    Ok((state, seeded, Some(lock)))
}

/// `--blob-dir`, when given, in place of `data_dir/blobs`.
fn set_blob_dir(state: &mut AppState, args: &ServeArgs) {
    if let Some(dir) = &args.blob_dir {
        state.blobs = std::sync::Arc::new(crate::blobs::FileBlobStore::new(dir.clone()));
    }
}

/// [`prepare`] on PostgreSQL: connect, migrate, serve. No data directory
/// is locked (instances share the database); encryption at rest is the
/// database's (its disk or tablespace), not a key of ours.
fn prepare_postgres(
    args: &ServeArgs,
    url: &str,
    scrape_token: Option<String>,
) -> Result<
    (
        AppState,
        crate::demo::DemoSeeded,
        Option<crate::backup::DataDirLock>,
    ),
    Error,
> {
    let mut pg = crate::pg::store::PgStore::open(url, args.database_connections)?;
    if let Some(replica) = &args.read_database {
        check_database(Some(replica))
            .map_err(|message| Error::invalid("read-database", message))?;
        pg = pg.with_reports(crate::pg::store::PgStore::open_replica(
            replica,
            args.database_connections,
        )?);
        tracing::info!("dashboard reads from a read replica");
    }
    let seeded = if args.demo {
        seed_postgres_demo(&pg, args.demo_size)?
    } else {
        crate::demo::DemoSeeded::default()
    };
    tracing::info!("serving from PostgreSQL");
    let backend = crate::backend::Backend::Postgres(std::sync::Arc::new(pg));
    let mut state = AppState::with_backend(backend, args.data_dir.clone());
    set_blob_dir(&mut state, args);
    state.limits = std::sync::Arc::new(crate::limits::RateLimits::new(&args.rate));
    if let Some(token) = scrape_token {
        state.metrics = std::sync::Arc::new(crate::metrics::Metrics::new(Some(&token)));
    }
    Ok((state, seeded, None))
}

/// `--demo` on PostgreSQL: when the database has no grids yet, the demo
/// town is seeded into a scratch SQLite directory (the same code as on a
/// data directory) and copied in ([`crate::pg::copy`]); the scratch copy is
/// removed. Empty when the database already has grids.
fn seed_postgres_demo(
    pg: &crate::pg::store::PgStore,
    size: crate::demo::DemoSize,
) -> Result<crate::demo::DemoSeeded, Error> {
    use gridwork_core::store::sql::SqlConn;
    let has_grids = pg.transaction(|tx| Ok(tx.exists("SELECT 1 FROM grids", &[])?))?;
    if has_grids {
        tracing::info!("database already has grids; demo not seeded");
        return Ok(crate::demo::DemoSeeded::default());
    }
    let scratch = tempfile::Builder::new()
        .prefix("gridwork-demo-")
        .tempdir()?;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|_| {
        Error::Internal("系统随机数不可用 / the OS random number generator failed".into())
    })?;
    let key = gridwork_core::store::DbKey::Raw(raw);
    let seeded = crate::demo::seed(scratch.path(), &key, size)?.unwrap_or_default();
    let db = crate::db::open_keyed(scratch.path(), &key)?;
    // The seeded docs get their feed rows, as at every SQLite start.
    crate::feed::backfill(&db)?;
    let copied = crate::pg::copy::copy_to_postgres(&db, pg)?;
    tracing::info!(docs = copied.docs, "demo town seeded into PostgreSQL");
    Ok(seeded)
}

/// Say on stderr where the database key came from (never the key): a key
/// file created now must be kept, or the data directory cannot be read.
fn announce_key(key: &crate::keys::ServerKey) {
    use crate::keys::KeyOrigin;
    match &key.origin {
        KeyOrigin::Created(path) => eprintln!(
            "已生成数据库密钥文件 {p}：请妥善保管（丢失则无法读取数据）/ created the database key file {p}: keep it safe (without it the data cannot be read)",
            p = path.display()
        ),
        KeyOrigin::File(path) => tracing::info!(file = %path.display(), "database key from file"),
        KeyOrigin::Env(var) => tracing::info!(var = %var, "database key from the environment"),
    }
}

/// The human hint about the demo's dashboard sign-in, for stderr: where to
/// sign in, with which users, and how to reset a password. Never contains a
/// password (those are only on stdout, once) nor the database URL (it may
/// hold one): on PostgreSQL the reset names `--database URL`.
pub fn demo_sign_in_hint(
    seeded: &crate::demo::DemoSeeded,
    url: &str,
    data_dir: &Path,
    on_postgres: bool,
) -> String {
    let users: Vec<&str> = seeded.passwords.iter().map(|p| p.worker.as_str()).collect();
    let first = users.first().copied().unwrap_or("staff-demo");
    let dir = if on_postgres {
        " --database URL".to_owned()
    } else if data_dir == Path::new(DEFAULT_DATA_DIR) {
        String::new()
    } else {
        format!(" --data-dir {}", data_dir.display())
    };
    let reset =
        format!("gridwork-server admin worker set-password {first} --password-env VAR{dir}");
    format!(
        "演示工作台 {url}/ 登录用户 {zh}，密码见上方 demo_password 行（仅显示这一次）；重置密码：{reset}\n\
         demo dashboard {url}/ users {en}, passwords in the demo_password lines above (shown only now); \
         to reset one: {reset}",
        zh = users.join("、"),
        en = users.join(", "),
    )
}

/// Run the server until SIGTERM or Ctrl-C; in-flight requests finish first.
pub async fn run(args: ServeArgs) -> Result<(), Error> {
    let prepared = args.clone();
    // The lock is held until the server stops: one server per data directory.
    let (state, seeded, _lock) = tokio::task::spawn_blocking(move || prepare(&prepared)).await??;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::listener::tls_acceptor(cert, key)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = args
        .public_url
        .as_deref()
        .map(crate::web::check_public_url)
        .transpose()?;
    let limits = connection_limits(&args);
    // Waiting phones may hold half the connections, no more.
    state
        .wait_slots
        .set_capacity((limits.max_connections / 2).max(1));
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let local = listener.local_addr()?;
    // Handlers are installed before we announce the port, so a signal sent
    // right after the announcement already shuts down gracefully.
    let signal = shutdown_signal()?;
    let feed_watch = state.feed_watch.clone();
    let shutdown = async move {
        signal.await;
        // Waits end at once instead of holding the graceful shutdown.
        feed_watch.close();
    };
    {
        let mut out = std::io::stdout().lock();
        for token in &seeded.tokens {
            writeln!(out, "{}", json!({ "demo_token": token }))?;
        }
        for password in &seeded.passwords {
            writeln!(out, "{}", json!({ "demo_password": password }))?;
        }
        if !seeded.passwords.is_empty() {
            let hint = demo_sign_in_hint(
                &seeded,
                &format!("{scheme}://{local}"),
                &args.data_dir,
                args.database.is_some(),
            );
            eprintln!("{hint}");
        }
        writeln!(out, "listening on {scheme}://{local}")?;
        out.flush()?;
    }
    tracing::info!(addr = %local, max_connections = limits.max_connections, "serving");
    let web = crate::web::WebConfig {
        // Cookies over HTTPS are always marked Secure.
        secure_cookies: args.secure_cookies || tls.is_some(),
        // Set once for the life of the process.
        public_url: public_url.map(|u| &*Box::leak(u.into_boxed_str())),
    };
    crate::limits::RateLimits::spawn_janitor(state.limits.clone());
    let app = router_with(state, web).layer(tower_http::timeout::TimeoutLayer::with_status_code(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    crate::listener::serve(listener, app, limits, tls, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

/// The connection bounds of `args` over the defaults
/// ([`crate::listener::ConnectionLimits::from_environment`]).
fn connection_limits(args: &ServeArgs) -> crate::listener::ConnectionLimits {
    let mut limits = crate::listener::ConnectionLimits::from_environment();
    if let Some(max) = args.max_connections {
        limits.max_connections = max.max(1);
        limits.max_per_address = (limits.max_connections / 4).max(1);
    }
    if let Some(max) = args.max_connections_per_address {
        limits.max_per_address = max.max(1);
    }
    limits.header_timeout = std::time::Duration::from_secs(args.header_timeout_secs.max(1));
    limits.request_timeout = std::time::Duration::from_secs(args.request_timeout_secs.max(1));
    limits.trusted_proxies = std::sync::Arc::new(args.trusted_proxies.clone());
    limits
}

/// A future that completes on SIGTERM or SIGINT (Ctrl-C). The handlers are
/// registered when this is called, not when it is first polled.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Error> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("interrupt: shutting down"),
        }
    })
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Error> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("interrupt: shutting down");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(check_database(None), Ok(()));
        assert_eq!(check_database(Some("postgres://x")), Ok(()));
        assert_eq!(check_database(Some("postgresql://u@h/db")), Ok(()));
        assert_eq!(check_database(Some("mysql://x")), Err(DATABASE_UNSUPPORTED));
    }

    #[test]
    fn demo_hint_says_where_and_how_to_reset_but_not_the_password() {
        let password = |worker: &str| crate::demo::DemoPassword {
            worker: worker.into(),
            role: "community_staff".into(),
            grid: "DEMO-C1".into(),
            password: "abcd-efgh-jkmn-pqrs".into(),
        };
        let seeded = crate::demo::DemoSeeded {
            passwords: vec![password("staff-demo"), password("town-demo")],
            ..Default::default()
        };
        let url = "http://127.0.0.1:8080";
        let hint = demo_sign_in_hint(&seeded, url, Path::new(DEFAULT_DATA_DIR), false);
        let lines: Vec<&str> = hint.lines().collect();
        assert_eq!(lines.len(), 2, "{hint}");
        assert!(lines[0]
            .starts_with("演示工作台 http://127.0.0.1:8080/ 登录用户 staff-demo、town-demo"));
        assert!(lines[1]
            .starts_with("demo dashboard http://127.0.0.1:8080/ users staff-demo, town-demo"));
        let reset = "gridwork-server admin worker set-password staff-demo --password-env VAR";
        assert!(lines.iter().all(|l| l.ends_with(reset)), "{hint}");
        assert!(!hint.contains("abcd-efgh"));
        let elsewhere = demo_sign_in_hint(&seeded, url, Path::new("/srv/gw"), false);
        assert!(elsewhere.ends_with(&format!("{reset} --data-dir /srv/gw")));
        let shared = demo_sign_in_hint(&seeded, url, Path::new("/srv/gw"), true);
        assert!(
            shared.ends_with(&format!("{reset} --database URL")),
            "{shared}"
        );
    }
}

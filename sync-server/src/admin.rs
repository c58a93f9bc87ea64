//! `gridwork-server admin [--data-dir DIR] COMMAND`: manage the grid tree,
//! workers, their device tokens and the staff's dashboard passwords in the
//! server's database, and publish form templates and grid policies
//! ([`crate::publish`]). Each command prints one JSON value on stdout; the
//! caller maps errors to exit codes.
//!
//! Passwords are only ever read from the environment variable named by
//! `--password-env` (never from the command line, where `ps` and shell
//! history would see them) and are never printed, nor are their hashes.

use crate::accounts::{self, boundaries, handlers};
use crate::backend::Backend;
use crate::error::Error;
use crate::publish;
use clap::{Args, Subcommand, ValueEnum};
use gridwork_core::model::Role;
use gridwork_core::schedule::PolicyOverride;
use gridwork_core::store::persist::DocEditor;
use gridwork_core::store::Db;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// 数据目录 / data directory holding gridwork.db
    #[arg(long, default_value = "gridwork-data", global = true)]
    pub data_dir: PathBuf,
    /// 外部数据库地址（PostgreSQL）/ the PostgreSQL database to manage instead of the data
    /// directory (postgres://user@host:port/database)
    #[arg(long, global = true)]
    pub database: Option<String>,
    /// The database key (`--key-env VAR` / `--key-file PATH`).
    #[command(flatten)]
    pub key: crate::keys::KeyArgs,
    /// The admin command.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// What to manage.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// 网格 / grid nodes
    #[command(subcommand)]
    Grid(GridCommand),
    /// 工作人员 / workers
    #[command(subcommand)]
    Worker(WorkerCommand),
    /// 设备令牌 / device tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// 表单模板 / form templates
    #[command(subcommand)]
    Template(TemplateCommand),
    /// 走访与办件时限策略 / visit and case policy of a grid
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// 派遣名录（承办人、承办部门）/ the directory of people and departments cases are dispatched to
    #[command(subcommand)]
    Handler(HandlerCommand),
    /// 居民诉求邀请链接 / residents' invitation links of a grid
    #[command(subcommand)]
    Invite(InviteCommand),
    /// 在线备份（加密、一致）/ take an online, encrypted, consistent backup
    Backup {
        /// 备份文件 / the backup file to write
        #[arg(long)]
        to: PathBuf,
        /// 覆盖已有文件 / overwrite an existing file
        #[arg(long)]
        force: bool,
    },
    /// 把数据目录整体复制到空的 PostgreSQL 数据库（需先停止服务）/ copy the data directory's
    /// database into an empty PostgreSQL database (stop the server first), to serve from it
    /// with `serve --database`
    CopyToPostgres {
        /// PostgreSQL 数据库地址 / the target database (postgres://user@host:port/database)
        #[arg(long)]
        to: String,
    },
    /// 从备份恢复（需先停止服务）/ restore a backup (stop the server first)
    Restore {
        /// 备份文件 / the backup file
        #[arg(long)]
        from: PathBuf,
        /// 替换已有数据库（原库保留在旁）/ replace an existing database (the old one is kept beside)
        #[arg(long)]
        force: bool,
    },
}

/// `admin template …`
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// 发布模板新版本（JSON 或 XLSForm .xlsx）/ publish a template version (JSON or XLSForm .xlsx)
    Publish {
        /// 模板文件 / template file
        file: PathBuf,
        /// 发布到的网格（其下全部网格可见；默认顶级网格）/ grid whose subtree receives it (default: the top-level grid)
        #[arg(long)]
        grid: Option<String>,
        /// 跳过 XLSForm 中不支持的行（会列出）/ skip unsupported XLSForm rows (they are listed)
        #[arg(long)]
        allow_unsupported: bool,
        /// 发布人 / who publishes (recorded in the doc)
        #[arg(long, default_value = "admin")]
        by: String,
    },
    /// 列出已发布的模板版本 / list published template versions
    List,
}

/// `admin policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// 设置网格策略（JSON，只写要改的键）/ set a grid's policy keys (JSON with only the keys to change)
    Set {
        /// 网格编码 / grid code
        #[arg(long)]
        grid: String,
        /// 策略文件 / policy JSON file
        file: PathBuf,
        /// 替换该网格原有设置而不是合并 / replace the grid's settings instead of merging
        #[arg(long)]
        replace: bool,
        /// 设置人 / who sets it (recorded in the doc)
        #[arg(long, default_value = "admin")]
        by: String,
    },
    /// 查看网格策略 / show a grid's own settings and effective policy
    Show {
        /// 网格编码 / grid code
        #[arg(long)]
        grid: String,
    },
}

/// `admin handler …`
#[derive(Debug, Subcommand)]
pub enum HandlerCommand {
    /// 新增承办人或承办部门 / add a person or department cases can be dispatched to
    Add {
        /// 编号 / id
        id: String,
        /// 名称 / display name
        #[arg(long)]
        name: String,
        /// person（个人）或 department（部门）/ person or department
        #[arg(long, default_value = "person")]
        kind: String,
        /// 所在网格节点（服务其下所有网格；镇街节点即上报镇街）/ the grid node whose subtree
        /// they serve (a town node: escalation to the town)
        #[arg(long)]
        grid: String,
        /// 工作电话 / work phone
        #[arg(long, default_value = "")]
        phone: String,
    },
    /// 列出名录 / list the directory
    List,
    /// 移出名录（保留已派遣事项上的名字）/ remove from the directory (past dispatches keep the name)
    Remove {
        /// 编号 / id
        id: String,
    },
}

/// `admin invite …`
#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// 生成网格的居民诉求链接 / make a grid's invitation link for residents' requests
    Add {
        /// 四级网格编码 / the 4th-level grid
        #[arg(long)]
        grid: String,
        /// 有效天数 / days the link works
        #[arg(long, default_value_t = crate::intake::invites::DEFAULT_DAYS)]
        days: u32,
        /// 服务器对外地址，用于打印完整链接 / the server's public base URL, to print the whole link
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// 操作人 / who makes it
        #[arg(long, default_value = "admin")]
        by: String,
    },
    /// 列出链接 / list the links
    List,
    /// 停用链接 / revoke a link
    Revoke {
        /// 链接编号 / the link's id
        id: String,
    },
}

/// `admin grid …`
#[derive(Debug, Subcommand)]
pub enum GridCommand {
    /// 新增网格 / add a grid node (no parent = a town, level 1)
    Add {
        /// 网格编码 / grid code
        code: String,
        /// 名称 / display name
        #[arg(long)]
        name: String,
        /// 上级网格编码 / parent grid code
        #[arg(long)]
        parent: Option<String>,
    },
    /// 列出网格 / list grid nodes
    List,
    /// 导入网格边界（GeoJSON，用于工作台地图）/ import a grid's boundary (GeoJSON) for the
    /// dashboard's map
    Boundary {
        /// 网格编码 / grid code
        code: String,
        /// GeoJSON 文件（Polygon、MultiPolygon、Feature 或 FeatureCollection）/ the GeoJSON file
        #[arg(long)]
        geojson: PathBuf,
    },
}

/// `admin worker …`
#[derive(Debug, Subcommand)]
pub enum WorkerCommand {
    /// 新增工作人员 / add a worker
    Add {
        /// 工作人员编号 / worker id
        id: String,
        /// 姓名 / display name
        #[arg(long)]
        name: String,
        /// 角色 / role
        #[arg(long, value_enum)]
        role: RoleArg,
        /// 所属网格编码 / grid code
        #[arg(long)]
        grid: String,
        /// 从该环境变量读取工作台登录密码（仅限工作人员和管理员）/ read a dashboard password
        /// from this environment variable (staff and admins only)
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
    },
    /// 设置或重置工作台登录密码（并解除锁定、退出其全部会话）/ set or reset a staff member's
    /// dashboard password (also lifts a lock and ends their sessions)
    SetPassword {
        /// 工作人员编号 / worker id
        id: String,
        /// 从该环境变量读取新密码 / read the new password from this environment variable
        #[arg(long, value_name = "VAR")]
        password_env: String,
    },
    /// 列出工作人员 / list workers
    List,
}

/// The password in the environment variable `var`: unset, empty or not
/// UTF-8 is a user error naming the variable (never a value).
pub fn password_from_env(var: &str) -> Result<String, Error> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ => Err(Error::invalid(
            "password-env",
            format!(
                "环境变量 {var} 未设置或为空 / the environment variable {var} is not set or is empty"
            ),
        )),
    }
}

/// `admin token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// 签发令牌（仅显示一次）/ issue a token (shown once)
    Issue {
        /// 工作人员编号 / worker id
        worker: String,
    },
    /// 吊销该工作人员的全部令牌 / revoke all of a worker's tokens
    Revoke {
        /// 工作人员编号 / worker id
        worker: String,
    },
}

/// A role on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum RoleArg {
    /// 网格员
    Gridworker,
    /// 社区工作人员
    CommunityStaff,
    /// 镇街工作人员
    TownStaff,
    /// 管理员
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Gridworker => Role::Gridworker,
            RoleArg::CommunityStaff => Role::CommunityStaff,
            RoleArg::TownStaff => Role::TownStaff,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// Open the database in `args.data_dir` (creating it if needed) and run the
/// command; returns the JSON to print.
pub fn run(args: &AdminArgs) -> Result<Value, Error> {
    if let Some(url) = &args.database {
        crate::serve::check_database(Some(url))
            .map_err(|message| Error::invalid("database", message))?;
        let pg = Arc::new(crate::pg::store::PgStore::open(url, 1)?);
        return run_on_postgres(&pg, &args.command);
    }
    crate::keys::secure_data_dir(&args.data_dir)?;
    let database = crate::db::db_path(&args.data_dir);
    match &args.command {
        AdminCommand::Backup { to, force } => {
            let key = crate::keys::resolve(&args.data_dir, &args.key, &database)?;
            return crate::backup::backup(&args.data_dir, &key.key, to, *force);
        }
        AdminCommand::Restore { from, force } => {
            let key = crate::keys::resolve(&args.data_dir, &args.key, &database)?;
            return crate::backup::restore(&args.data_dir, &key.key, from, *force);
        }
        AdminCommand::CopyToPostgres { to } => {
            crate::serve::check_database(Some(to))
                .map_err(|message| Error::invalid("to", message))?;
            if !database.exists() {
                return Err(Error::not_found("database", "gridwork.db"));
            }
            let _lock = crate::backup::DataDirLock::acquire(&args.data_dir)?;
            let (db, _) = crate::db::open_with(&args.data_dir, &args.key)?;
            // Every doc on the feed first, as `serve` makes sure at each start.
            crate::feed::backfill(&db)?;
            let pg = crate::pg::store::PgStore::open(to, 1)?;
            let summary = crate::pg::copy::copy_to_postgres(&db, &pg)?;
            tracing::info!(
                tables = summary.tables,
                rows = summary.rows,
                "copied to PostgreSQL"
            );
            return Ok(json!(summary));
        }
        _ => {}
    }
    let (db, _) = crate::db::open_with(&args.data_dir, &args.key)?;
    run_on(&Arc::new(db), &args.command)
}

/// The admin commands that are the same on either backend (portable SQL
/// through [`Backend`]): listing grids, workers, templates and policies,
/// adding workers with their passwords, tokens (any other command is an
/// internal error: the callers route only these here).
fn run_portable(backend: &Backend, command: &AdminCommand) -> Result<Value, Error> {
    Ok(match command {
        AdminCommand::Grid(GridCommand::List) => {
            json!(backend.read(|conn| accounts::list_grids_in(conn))?)
        }
        AdminCommand::Worker(WorkerCommand::Add {
            id,
            name,
            role,
            grid,
            password_env,
        }) => {
            let password = password_env.as_deref().map(password_from_env).transpose()?;
            let worker = accounts::add_worker_with_password(
                backend,
                id,
                name,
                (*role).into(),
                grid,
                password.as_deref(),
            )?;
            let mut value = json!(worker);
            if password.is_some() {
                value["password_set"] = json!(true);
            }
            value
        }
        AdminCommand::Worker(WorkerCommand::SetPassword { id, password_env }) => {
            let password = password_from_env(password_env)?;
            accounts::set_password(backend, id, &password)?;
            json!({ "worker": id.trim(), "password_set": true })
        }
        AdminCommand::Worker(WorkerCommand::List) => {
            json!(backend.read(|conn| accounts::list_workers_in(conn))?)
        }
        AdminCommand::Token(TokenCommand::Issue { worker }) => {
            let issued = backend.transaction(|conn| accounts::issue_token_in(conn, worker))?;
            tracing::info!("token issued");
            json!(issued)
        }
        AdminCommand::Token(TokenCommand::Revoke { worker }) => {
            let revoked = backend.transaction(|conn| accounts::revoke_tokens_in(conn, worker))?;
            tracing::info!(count = revoked, "tokens revoked");
            json!({ "worker": worker.trim(), "revoked": revoked })
        }
        AdminCommand::Template(TemplateCommand::List) => {
            json!(backend.read(|conn| publish::list_templates_in(conn))?)
        }
        AdminCommand::Policy(PolicyCommand::Show { grid }) => {
            json!(backend.read(|conn| publish::show_policy_in(conn, grid))?)
        }
        AdminCommand::Handler(HandlerCommand::Add {
            id,
            name,
            kind,
            grid,
            phone,
        }) => json!(backend
            .transaction(|conn| handlers::add_handler_in(conn, id, name, kind, grid, phone))?),
        AdminCommand::Grid(GridCommand::Boundary { code, geojson }) => {
            let text = std::fs::read_to_string(geojson)?;
            let (rings, points) =
                backend.transaction(|conn| boundaries::set_boundary_in(conn, code, &text))?;
            json!({ "grid": code.trim(), "rings": rings, "points": points })
        }
        AdminCommand::Handler(HandlerCommand::List) => {
            json!(backend.read(|conn| handlers::list_handlers_in(conn))?)
        }
        AdminCommand::Handler(HandlerCommand::Remove { id }) => {
            json!(backend.transaction(|conn| handlers::remove_handler_in(conn, id))?)
        }
        AdminCommand::Invite(command) => invite(backend, command)?,
        _ => return Err(Error::Internal("not a portable admin command".into())),
    })
}

/// Run one admin command on an open database.
pub fn run_on(db: &Arc<Db>, command: &AdminCommand) -> Result<Value, Error> {
    let value = match command {
        AdminCommand::Grid(GridCommand::List)
        | AdminCommand::Worker(_)
        | AdminCommand::Token(_)
        | AdminCommand::Template(TemplateCommand::List)
        | AdminCommand::Policy(PolicyCommand::Show { .. })
        | AdminCommand::Handler(_)
        | AdminCommand::Invite(_)
        | AdminCommand::Grid(GridCommand::Boundary { .. }) => {
            return run_portable(&Backend::Sqlite(db.clone()), command)
        }
        AdminCommand::Grid(GridCommand::Add { code, name, parent }) => {
            json!(accounts::add_grid(db, code, name, parent.as_deref())?)
        }
        AdminCommand::Template(TemplateCommand::Publish {
            file,
            grid,
            allow_unsupported,
            by,
        }) => {
            let (template, skipped) = publish::read_template_file(file, *allow_unsupported)?;
            json!(publish::publish_template(
                db,
                &template,
                skipped,
                grid.as_deref(),
                by
            )?)
        }
        AdminCommand::Policy(PolicyCommand::Set {
            grid,
            file,
            replace,
            by,
        }) => {
            let change = PolicyOverride::from_json(&std::fs::read_to_string(file)?)?;
            json!(publish::set_policy(db, grid, &change, *replace, by)?)
        }
        AdminCommand::Backup { .. }
        | AdminCommand::Restore { .. }
        | AdminCommand::CopyToPostgres { .. } => return Err(Error::invalid(
            "command",
            "备份、恢复与复制作用于数据目录 / backup, restore and copy work on the data directory (admin::run)",
        )),
    };
    Ok(value)
}

/// Run one admin command on a PostgreSQL database: the grid tree, workers
/// with their dashboard passwords and device tokens, templates and
/// policies. Backup and restore there are PostgreSQL's own (`pg_dump`).
pub fn run_on_postgres(
    pg: &Arc<crate::pg::store::PgStore>,
    command: &AdminCommand,
) -> Result<Value, Error> {
    let value = match command {
        AdminCommand::Grid(GridCommand::List)
        | AdminCommand::Worker(_)
        | AdminCommand::Token(_)
        | AdminCommand::Template(TemplateCommand::List)
        | AdminCommand::Policy(PolicyCommand::Show { .. })
        | AdminCommand::Handler(_)
        | AdminCommand::Invite(_)
        | AdminCommand::Grid(GridCommand::Boundary { .. }) => {
            return run_portable(&Backend::Postgres(pg.clone()), command)
        }
        AdminCommand::Grid(GridCommand::Add { code, name, parent }) => {
            let node = pg.edit(|tx| {
                let node = accounts::add_grid_in(DocEditor::sql(tx), code, name, parent.as_deref())?;
                // A new grid follows the policy its ancestors set, from its first sync.
                publish::refresh_policies_in(tx, &node.code, "admin")?;
                Ok(node)
            })?;
            tracing::info!(level = node.level, "grid added");
            json!(node)
        }
        AdminCommand::Template(TemplateCommand::Publish {
            file,
            grid,
            allow_unsupported,
            by,
        }) => {
            let (template, skipped) = publish::read_template_file(file, *allow_unsupported)?;
            json!(pg.edit(|tx| publish::publish_template_with(
                tx,
                &template,
                skipped.clone(),
                grid.as_deref(),
                by
            ))?)
        }
        AdminCommand::Policy(PolicyCommand::Set {
            grid,
            file,
            replace,
            by,
        }) => {
            let change = PolicyOverride::from_json(&std::fs::read_to_string(file)?)?;
            json!(pg.edit(|tx| publish::set_policy_with(tx, grid, &change, *replace, by))?)
        }
        AdminCommand::CopyToPostgres { .. } => {
            return Err(Error::invalid(
                "database",
                "copy-to-postgres 从 --data-dir 复制，不与 --database 同用 / copy-to-postgres copies from --data-dir; do not give --database",
            ))
        }
        AdminCommand::Backup { .. } | AdminCommand::Restore { .. } => {
            return Err(Error::NotOnPostgres {
                feature: "备份与恢复（请用 pg_dump）/ backup and restore (use pg_dump)",
            })
        }
    };
    Ok(value)
}

/// `admin invite …` on either backend.
fn invite(backend: &Backend, command: &InviteCommand) -> Result<Value, Error> {
    use crate::intake::invites;
    let now = crate::db::now_ms();
    Ok(match command {
        InviteCommand::Add {
            grid,
            days,
            base_url,
            by,
        } => {
            let grid = gridwork_core::model::GridCode(grid.trim().to_string());
            let (invite, token) = backend
                .transaction(|conn| invites::create_in(conn, &grid, by.trim(), *days, now))?;
            let path = format!("/r/{token}");
            let url = base_url
                .as_deref()
                .map(|base| format!("{}{path}", base.trim().trim_end_matches('/')));
            json!({ "invite": invite, "path": path, "url": url })
        }
        InviteCommand::List => {
            let list = backend.read(|conn| {
                invites::list_all_in(conn)?
                    .into_iter()
                    .map(|invite| {
                        let path = format!("/r/{}", invites::token_of(conn, &invite)?);
                        Ok(json!({
                            "invite": invite,
                            "usable": invite.usable_at(now),
                            "path": path,
                        }))
                    })
                    .collect::<Result<Vec<_>, Error>>()
            })?;
            json!(list)
        }
        InviteCommand::Revoke { id } => {
            let found = backend.transaction(|conn| invites::revoke_in(conn, id.trim(), now))?;
            if !found {
                return Err(Error::not_found("invite", id.trim()));
            }
            json!({ "id": id.trim(), "revoked": true })
        }
    })
}

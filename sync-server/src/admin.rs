//! `gridwork-server admin [--data-dir DIR] COMMAND`: manage the grid tree,
//! workers and device tokens in the server's database. Each command prints
//! one JSON value on stdout; the caller maps errors to exit codes.

use crate::accounts;
use crate::error::Error;
use clap::{Args, Subcommand, ValueEnum};
use gridwork_core::model::Role;
use gridwork_core::store::Db;
use serde_json::{json, Value};
use std::path::PathBuf;

/// Arguments of `admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// 数据目录 / data directory holding gridwork.db
    #[arg(long, default_value = "gridwork-data", global = true)]
    pub data_dir: PathBuf,
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
    },
    /// 列出工作人员 / list workers
    List,
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
    let db = crate::db::open(&args.data_dir)?;
    run_on(&db, &args.command)
}

/// Run one admin command on an open database.
pub fn run_on(db: &Db, command: &AdminCommand) -> Result<Value, Error> {
    let value = match command {
        AdminCommand::Grid(GridCommand::Add { code, name, parent }) => {
            json!(accounts::add_grid(db, code, name, parent.as_deref())?)
        }
        AdminCommand::Grid(GridCommand::List) => json!(accounts::list_grids(db)?),
        AdminCommand::Worker(WorkerCommand::Add {
            id,
            name,
            role,
            grid,
        }) => json!(accounts::add_worker(db, id, name, (*role).into(), grid)?),
        AdminCommand::Worker(WorkerCommand::List) => json!(accounts::list_workers(db)?),
        AdminCommand::Token(TokenCommand::Issue { worker }) => {
            json!(accounts::issue_token(db, worker)?)
        }
        AdminCommand::Token(TokenCommand::Revoke { worker }) => {
            let revoked = accounts::revoke_tokens(db, worker)?;
            json!({ "worker": worker.trim(), "revoked": revoked })
        }
    };
    Ok(value)
}

//! `serve --demo`: on a data directory with no grids yet, seed a demo town —
//! grid tree, workers, one device token each — and demo grid data
//! (households, visits, hazards, cases, forms) written by the core's demo
//! generator through the normal write paths. Every seeded doc then gets a
//! feed entry ([`crate::feed::backfill`], run by `serve` at every start).
//!
//! Order: accounts first (one transaction, so a restart never seeds twice),
//! then the data through a core `Store` opened on the same file and dropped
//! before the serving `Db` is opened.

use crate::accounts::{add_grid_in, add_worker_in, issue_token_in};
use crate::db;
use crate::error::Error;
use gridwork_core::demo::{DemoOptions, DemoSummary};
use gridwork_core::model::{GridCode, Role, WorkerId};
use gridwork_core::Store;
use serde::Serialize;
use std::path::Path;

/// The demo grid tree: (code, name, parent).
pub const DEMO_GRIDS: &[(&str, &str, Option<&str>)] = &[
    ("DEMO", "演示镇", None),
    ("DEMO-C1", "幸福社区", Some("DEMO")),
    ("DEMO-C1-1", "幸福社区第一片区", Some("DEMO-C1")),
    ("DEMO-G01", "第一网格", Some("DEMO-C1-1")),
    ("DEMO-G02", "第二网格", Some("DEMO-C1-1")),
];

/// The demo workers: (id, name, role, grid). Two gridworkers share DEMO-G01.
pub const DEMO_WORKERS: &[(&str, &str, Role, &str)] = &[
    ("gw-demo-1", "演示网格员一", Role::Gridworker, "DEMO-G01"),
    ("gw-demo-2", "演示网格员二", Role::Gridworker, "DEMO-G01"),
    ("gw-demo-3", "演示网格员三", Role::Gridworker, "DEMO-G02"),
    (
        "staff-demo",
        "演示社区工作人员",
        Role::CommunityStaff,
        "DEMO-C1",
    ),
];

/// The demo grid data: (grid, author, households, years, seed).
const DEMO_DATA: &[(&str, &str, u32, u32, u64)] = &[
    ("DEMO-G01", "gw-demo-1", 40, 2, 1),
    ("DEMO-G02", "gw-demo-3", 20, 1, 2),
];

/// The store's own device row on the server: the core takes the Automerge
/// actor of the changes it writes from it. Its grid is the demo town; the
/// docs go into each grid given to `generate_for`, authored by that grid's
/// gridworker.
const DEVICE: (&str, &str, &str) = ("server", "服务器", "DEMO");

/// A demo worker's token, printed once at start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DemoToken {
    /// The worker id.
    pub worker: String,
    /// The worker's grid.
    pub grid: String,
    /// The token (shown only now).
    pub token: String,
}

/// What [`seed`] did.
#[derive(Clone, Debug, Default)]
pub struct DemoSeeded {
    /// One token per demo worker.
    pub tokens: Vec<DemoToken>,
    /// Generated data per grid.
    pub data: Vec<(GridCode, DemoSummary)>,
}

/// Seed the demo town into the database in `data_dir` if it has no grids
/// yet; `None` if it already had some (nothing is changed then). Opens and
/// closes its own connections: call it before opening the serving `Db`.
pub fn seed(data_dir: &Path) -> Result<Option<DemoSeeded>, Error> {
    let Some(tokens) = seed_accounts(data_dir)? else {
        return Ok(None);
    };
    let data = seed_data(&db::db_path(data_dir))?;
    Ok(Some(DemoSeeded { tokens, data }))
}

/// The grid tree, workers and tokens, in one transaction, if there are no
/// grids yet.
fn seed_accounts(data_dir: &Path) -> Result<Option<Vec<DemoToken>>, Error> {
    let db = db::open(data_dir)?;
    db::write(&db, |tx| {
        let conn = tx.conn();
        let grids: i64 = conn.query_row("SELECT count(*) FROM grids", [], |r| r.get(0))?;
        if grids > 0 {
            return Ok(None);
        }
        for (code, name, parent) in DEMO_GRIDS {
            add_grid_in(conn, code, name, *parent)?;
        }
        let mut tokens = Vec::new();
        for (id, name, role, grid) in DEMO_WORKERS {
            add_worker_in(conn, id, name, *role, grid)?;
            let issued = issue_token_in(conn, id)?;
            tokens.push(DemoToken {
                worker: (*id).into(),
                grid: (*grid).into(),
                token: issued.token,
            });
        }
        Ok(Some(tokens))
    })
}

/// Generate the demo grid data through a core `Store` on the same file.
fn seed_data(path: &Path) -> Result<Vec<(GridCode, DemoSummary)>, Error> {
    let store = Store::open(path, None)?;
    if store.device().is_err() {
        store.init(DEVICE.0, DEVICE.1, DEVICE.2)?;
    }
    let mut out = Vec::new();
    for &(grid, worker, households, years, seed) in DEMO_DATA {
        let grid = GridCode(grid.into());
        let worker = WorkerId(worker.into());
        let options = DemoOptions {
            households,
            years,
            seed,
        };
        tracing::info!(grid = %grid, households, years, "seeding demo grid data");
        let summary = generate_grid(&store, &grid, &worker, options)?;
        out.push((grid, summary));
    }
    Ok(out)
}

/// Generate one grid's demo data, written into `grid` with `worker` as author.
fn generate_grid(
    store: &Store,
    grid: &GridCode,
    worker: &WorkerId,
    options: DemoOptions,
) -> Result<DemoSummary, Error> {
    let progress = |done: u32, total: u32| {
        if done.is_multiple_of(10) || done == total {
            tracing::info!(done, total, "demo households");
        }
    };
    Ok(gridwork_core::demo::generate_for(
        store, grid, worker, options, progress,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_tree_is_valid_and_seeded_once() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = seed_accounts(dir.path()).unwrap().unwrap();
        assert_eq!(tokens.len(), DEMO_WORKERS.len());
        assert!(seed_accounts(dir.path()).unwrap().is_none());
        let db = db::open(dir.path()).unwrap();
        let grids = crate::accounts::list_grids(&db).unwrap();
        let levels: Vec<(&str, u8)> = grids.iter().map(|g| (g.code.as_str(), g.level)).collect();
        assert_eq!(
            levels,
            [
                ("DEMO", 1),
                ("DEMO-C1", 2),
                ("DEMO-C1-1", 3),
                ("DEMO-G01", 4),
                ("DEMO-G02", 4)
            ]
        );
        for t in &tokens {
            let account = crate::accounts::authenticate(&db, &t.token).unwrap();
            assert_eq!(account.worker_id.as_str(), t.worker);
            assert_eq!(account.grid.as_str(), t.grid);
        }
        let staff = tokens.iter().find(|t| t.worker == "staff-demo").unwrap();
        let scope = crate::accounts::authenticate(&db, &staff.token)
            .unwrap()
            .scope;
        assert_eq!(scope.len(), 4);
    }
}

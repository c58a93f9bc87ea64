//! `serve --demo`: on a data directory with no grids yet, seed a demo town —
//! grid tree, workers, one device token each, a random dashboard password
//! for each staff account ([`DemoPassword`], stored only as its Argon2 hash
//! through [`crate::accounts::passwords`]) — and demo grid data
//! (households, visits, hazards, cases, forms) written by the core's demo
//! generator through the normal write paths. Every seeded doc then gets a
//! feed entry ([`crate::feed::backfill`], run by `serve` at every start).
//!
//! Tokens and passwords exist in clear only in what [`seed`] returns, which
//! `serve` prints once; a restart prints nothing and a forgotten password is
//! reset with `admin worker set-password`.
//!
//! Order: accounts first (one transaction, so a restart never seeds twice),
//! then the data through a core `Store` opened on the same file and dropped
//! before the serving `Db` is opened.

use crate::accounts::passwords::{
    check_password, hash_password, role_may_have_password, set_password_hash_in,
};
use crate::accounts::{add_grid_in, add_worker_in, issue_token_in};
use crate::db;
use crate::error::Error;
use gridwork_core::demo::{DemoOptions, DemoSummary};
use gridwork_core::model::{GridCode, Role, WorkerId};
use gridwork_core::store::DbKey;
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

/// The demo workers: (id, name, role, grid). Two gridworkers share DEMO-G01;
/// the staff (community and town) also get a dashboard password.
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
    ("town-demo", "演示镇街工作人员", Role::TownStaff, "DEMO"),
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

/// A demo staff member's dashboard sign-in, printed once at start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DemoPassword {
    /// The worker id (the sign-in user name).
    pub worker: String,
    /// The worker's role code (`community_staff`, `town_staff`).
    pub role: String,
    /// The worker's grid.
    pub grid: String,
    /// The password (shown only now; only its hash is stored).
    pub password: String,
}

/// Characters of a demo password: lowercase letters and digits without the
/// look-alikes 0/o, 1/l/i.
const PASSWORD_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// A demo password is this many groups of [`PASSWORD_GROUP`] characters,
/// joined by `-` (16 random characters, about 79 bits).
const PASSWORD_GROUPS: usize = 4;
/// Characters per group of a demo password.
const PASSWORD_GROUP: usize = 4;

/// A random, readable password such as `k7qm-3xtp-9wfa-h2rc`, from the OS
/// random number generator (unbiased: bytes past the last whole multiple
/// of the alphabet size are drawn again).
pub fn random_password() -> Result<String, Error> {
    let n = PASSWORD_ALPHABET.len();
    let limit = 256 - 256 % n;
    let mut chars = Vec::with_capacity(PASSWORD_GROUPS * PASSWORD_GROUP);
    while chars.len() < PASSWORD_GROUPS * PASSWORD_GROUP {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| {
            Error::Internal("系统随机数不可用 / the OS random number generator failed".into())
        })?;
        chars.extend(
            bytes
                .iter()
                .filter(|&&b| usize::from(b) < limit)
                .map(|&b| char::from(PASSWORD_ALPHABET[usize::from(b) % n])),
        );
    }
    chars.truncate(PASSWORD_GROUPS * PASSWORD_GROUP);
    let groups: Vec<String> = chars
        .chunks(PASSWORD_GROUP)
        .map(|g| g.iter().collect())
        .collect();
    Ok(groups.join("-"))
}

/// What [`seed`] did.
#[derive(Clone, Debug, Default)]
pub struct DemoSeeded {
    /// One token per demo worker.
    pub tokens: Vec<DemoToken>,
    /// One dashboard sign-in per demo staff account.
    pub passwords: Vec<DemoPassword>,
    /// Generated data per grid.
    pub data: Vec<(GridCode, DemoSummary)>,
}

/// Seed the demo town into the database in `data_dir` if it has no grids
/// yet; `None` if it already had some (nothing is changed then). Opens and
/// closes its own connections: call it before opening the serving `Db`.
pub fn seed(data_dir: &Path, key: &DbKey) -> Result<Option<DemoSeeded>, Error> {
    let Some(mut seeded) = seed_accounts(data_dir, key)? else {
        return Ok(None);
    };
    seeded.data = seed_data(data_dir, key)?;
    Ok(Some(seeded))
}

/// The grid tree, workers, tokens and staff passwords, in one transaction,
/// if there are no grids yet (the returned `data` is still empty).
fn seed_accounts(data_dir: &Path, key: &DbKey) -> Result<Option<DemoSeeded>, Error> {
    let db = db::open_keyed(data_dir, key)?;
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
        let mut passwords = Vec::new();
        for (id, name, role, grid) in DEMO_WORKERS {
            add_worker_in(conn, id, name, *role, grid)?;
            let issued = issue_token_in(conn, id)?;
            tokens.push(DemoToken {
                worker: (*id).into(),
                grid: (*grid).into(),
                token: issued.token,
            });
            if role_may_have_password(*role) {
                // The path of `admin worker add --password-env`: the rules,
                // an Argon2id hash, the credential row.
                let password = random_password()?;
                check_password(&password)?;
                set_password_hash_in(conn, id, &hash_password(&password)?)?;
                passwords.push(DemoPassword {
                    worker: (*id).into(),
                    role: role.code().into(),
                    grid: (*grid).into(),
                    password,
                });
            }
        }
        Ok(Some(DemoSeeded {
            tokens,
            passwords,
            data: Vec::new(),
        }))
    })
}

/// Generate the demo grid data through a core `Store` on the same file.
fn seed_data(data_dir: &Path, key: &DbKey) -> Result<Vec<(GridCode, DemoSummary)>, Error> {
    let store = Store::open(db::db_path(data_dir), Some(key.clone()))?;
    if store.device().is_err() {
        store.init(DEVICE.0, DEVICE.1, DEVICE.2)?;
    }
    // The demo data is written under this store's actor: bind it to no
    // worker, so that no device can push changes under it (ADR 14).
    let actor =
        hex::decode(store.device()?.actor).map_err(|_| Error::Internal("demo actor".into()))?;
    let db = db::open_keyed(data_dir, key)?;
    db::write(&db, |tx| {
        tx.conn().execute(
            "INSERT OR IGNORE INTO actors (actor, worker_id, device, bound_at) VALUES (?1, '', 'server', ?2)",
            rusqlite::params![actor, db::now_ms()],
        )?;
        Ok(())
    })?;
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
        let key = crate::keys::resolve(dir.path(), &Default::default(), &db::db_path(dir.path()))
            .unwrap()
            .key;
        let DemoSeeded {
            tokens, passwords, ..
        } = seed_accounts(dir.path(), &key).unwrap().unwrap();
        assert_eq!(tokens.len(), DEMO_WORKERS.len());
        assert!(seed_accounts(dir.path(), &key).unwrap().is_none());
        let db = std::sync::Arc::new(db::open(dir.path()).unwrap());
        let backend = crate::backend::Backend::Sqlite(db.clone());
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

        // Each staff account signs in with its printed password; the
        // gridworkers have none.
        let users: Vec<(&str, &str, &str)> = passwords
            .iter()
            .map(|p| (p.worker.as_str(), p.role.as_str(), p.grid.as_str()))
            .collect();
        assert_eq!(
            users,
            [
                ("staff-demo", "community_staff", "DEMO-C1"),
                ("town-demo", "town_staff", "DEMO")
            ]
        );
        let now = crate::db::now_ms();
        for p in &passwords {
            let account = crate::accounts::password_login_at(&backend, &p.worker, &p.password, now)
                .unwrap()
                .unwrap();
            assert_eq!(account.worker_id.as_str(), p.worker);
        }
        assert_ne!(passwords[0].password, passwords[1].password);
        let town =
            crate::accounts::password_login_at(&backend, "town-demo", &passwords[1].password, now)
                .unwrap()
                .unwrap();
        assert_eq!(town.scope.len(), 5);
        assert_eq!(
            crate::accounts::password_login_at(&backend, "gw-demo-1", &passwords[0].password, now)
                .unwrap(),
            Err(crate::accounts::LoginRefused::NoPassword)
        );
    }

    #[test]
    fn random_passwords_are_readable_and_pass_the_rules() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let password = random_password().unwrap();
            assert_eq!(password.len(), 19, "{password}");
            let groups: Vec<&str> = password.split('-').collect();
            assert_eq!(groups.len(), 4);
            assert!(groups
                .iter()
                .all(|g| g.len() == 4 && g.bytes().all(|b| PASSWORD_ALPHABET.contains(&b))));
            check_password(&password).unwrap();
            seen.insert(password);
        }
        assert_eq!(seen.len(), 50);
    }
}

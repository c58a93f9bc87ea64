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

/// How big a town `serve --demo` builds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoSize {
    /// A town at real scale: 3 communities, 7 片区, 14 grids of 100–150
    /// households with a year of weekly work up to today, one or two
    /// gridworkers per grid, staff per community and for the town.
    #[default]
    Town,
    /// One community, one 片区, two small grids (60 households): for tests.
    Small,
}

/// A demo town: its grid tree, workers, generated grid data and the
/// directory of handlers cases are dispatched to.
#[derive(Clone, Debug)]
pub struct DemoTown {
    /// (code, name, parent).
    pub grids: Vec<(String, String, Option<String>)>,
    /// (id, name, role, grid); staff also get a dashboard password.
    pub workers: Vec<(String, String, Role, String)>,
    /// (grid, author, households, years, seed).
    pub data: Vec<(String, String, u32, u32, u64)>,
    /// (id, name, kind, grid) of `admin handler add`.
    pub handlers: Vec<(String, String, String, String)>,
}

/// Names of the town's gridworkers and staff (plausible, not real people).
const PEOPLE: &[&str] = &[
    "陈晓东",
    "林秀英",
    "黄建华",
    "郑丽娟",
    "吴志强",
    "刘海燕",
    "张春梅",
    "王德明",
    "李雪芳",
    "杨国平",
    "何丽萍",
    "许文杰",
    "罗美玲",
    "郭小燕",
    "周建平",
    "谢淑芬",
    "蔡志勇",
    "魏丽华",
    "朱晓梅",
    "叶明辉",
    "方建国",
    "江玉兰",
    "苏海峰",
    "游丽君",
    "卓文斌",
    "詹秀琴",
];

impl DemoTown {
    /// The town of `size`.
    pub fn of(size: DemoSize) -> DemoTown {
        let s = |t: &str| t.to_owned();
        match size {
            DemoSize::Small => DemoTown {
                grids: vec![
                    (s("DEMO"), s("演示镇"), None),
                    (s("DEMO-C1"), s("幸福社区"), Some(s("DEMO"))),
                    (s("DEMO-C1-1"), s("幸福社区第一片区"), Some(s("DEMO-C1"))),
                    (s("DEMO-G01"), s("第一网格"), Some(s("DEMO-C1-1"))),
                    (s("DEMO-G02"), s("第二网格"), Some(s("DEMO-C1-1"))),
                ],
                workers: vec![
                    (
                        s("gw-demo-1"),
                        s("演示网格员一"),
                        Role::Gridworker,
                        s("DEMO-G01"),
                    ),
                    (
                        s("gw-demo-2"),
                        s("演示网格员二"),
                        Role::Gridworker,
                        s("DEMO-G01"),
                    ),
                    (
                        s("gw-demo-3"),
                        s("演示网格员三"),
                        Role::Gridworker,
                        s("DEMO-G02"),
                    ),
                    (
                        s("staff-demo"),
                        s("演示社区工作人员"),
                        Role::CommunityStaff,
                        s("DEMO-C1"),
                    ),
                    (
                        s("town-demo"),
                        s("演示镇街工作人员"),
                        Role::TownStaff,
                        s("DEMO"),
                    ),
                ],
                data: vec![
                    (s("DEMO-G01"), s("gw-demo-1"), 40, 2, 1),
                    (s("DEMO-G02"), s("gw-demo-3"), 20, 1, 2),
                ],
                handlers: vec![
                    (
                        s("demo-wuye"),
                        s("幸福物业服务中心"),
                        s("department"),
                        s("DEMO-C1"),
                    ),
                    (s("demo-cgzd"), s("镇城管中队"), s("department"), s("DEMO")),
                ],
            },
            DemoSize::Town => Self::town(),
        }
    }

    /// 3 communities with 2, 3 and 2 片区 of two grids each.
    fn town() -> DemoTown {
        let communities = [("幸福社区", 2), ("和平社区", 3), ("阳光社区", 2)];
        let mut town = DemoTown {
            grids: vec![("DEMO".into(), "演示镇".into(), None)],
            workers: Vec::new(),
            data: Vec::new(),
            handlers: vec![
                (
                    "demo-cgzd".into(),
                    "镇城管中队".into(),
                    "department".into(),
                    "DEMO".into(),
                ),
                (
                    "demo-zzb".into(),
                    "镇综治中心".into(),
                    "department".into(),
                    "DEMO".into(),
                ),
                (
                    "demo-ajb".into(),
                    "镇安监站".into(),
                    "department".into(),
                    "DEMO".into(),
                ),
            ],
        };
        let mut people = PEOPLE.iter();
        let mut person = || (*people.next().unwrap_or(&"演示人员")).to_owned();
        let mut grid_no = 0u32;
        let mut worker_no = 0u32;
        for (c, (community, areas)) in communities.iter().enumerate() {
            let c_code = format!("DEMO-C{}", c + 1);
            town.grids
                .push((c_code.clone(), (*community).into(), Some("DEMO".into())));
            let staff = if c == 0 {
                "staff-demo".to_owned()
            } else {
                format!("staff-demo-{}", c + 1)
            };
            town.workers
                .push((staff, person(), Role::CommunityStaff, c_code.clone()));
            town.handlers.push((
                format!("demo-wuye-{}", c + 1),
                format!("{}物业服务中心", community.trim_end_matches("社区")),
                "department".into(),
                c_code.clone(),
            ));
            town.handlers.push((
                format!("demo-sg-{}", c + 1),
                person(),
                "person".into(),
                c_code.clone(),
            ));
            for a in 0..*areas {
                let a_code = format!("{c_code}-{}", a + 1);
                let area_name = ["第一片区", "第二片区", "第三片区"][a];
                town.grids.push((
                    a_code.clone(),
                    format!("{community}{area_name}"),
                    Some(c_code.clone()),
                ));
                for _ in 0..2 {
                    grid_no += 1;
                    let g_code = format!("DEMO-G{grid_no:02}");
                    town.grids.push((
                        g_code.clone(),
                        format!("{community}第{grid_no}网格"),
                        Some(a_code.clone()),
                    ));
                    // One gridworker per grid; two in every fourth (and in
                    // G01, as in the small town).
                    let pair = grid_no % 4 == 1;
                    let mut author = String::new();
                    for k in 0..(1 + u32::from(pair)) {
                        worker_no += 1;
                        let id = format!("gw-demo-{worker_no}");
                        if k == 0 {
                            author = id.clone();
                        }
                        town.workers
                            .push((id, person(), Role::Gridworker, g_code.clone()));
                    }
                    let households = 100 + (grid_no * 37) % 51;
                    town.data
                        .push((g_code, author, households, 1, u64::from(grid_no)));
                }
            }
        }
        town.workers
            .push(("town-demo".into(), person(), Role::TownStaff, "DEMO".into()));
        town
    }
}

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
pub fn seed(data_dir: &Path, key: &DbKey, size: DemoSize) -> Result<Option<DemoSeeded>, Error> {
    let town = DemoTown::of(size);
    let Some(mut seeded) = seed_accounts(data_dir, key, &town)? else {
        return Ok(None);
    };
    seeded.data = seed_data(data_dir, key, &town)?;
    Ok(Some(seeded))
}

/// The grid tree, workers, tokens and staff passwords, in one transaction,
/// if there are no grids yet (the returned `data` is still empty).
fn seed_accounts(
    data_dir: &Path,
    key: &DbKey,
    town: &DemoTown,
) -> Result<Option<DemoSeeded>, Error> {
    let db = db::open_keyed(data_dir, key)?;
    db::write(&db, |tx| {
        let conn = tx.conn();
        let grids: i64 = conn.query_row("SELECT count(*) FROM grids", [], |r| r.get(0))?;
        if grids > 0 {
            return Ok(None);
        }
        for (code, name, parent) in &town.grids {
            add_grid_in(conn, code, name, parent.as_deref())?;
        }
        for (id, name, kind, grid) in &town.handlers {
            crate::accounts::handlers::add_handler_in(conn, id, name, kind, grid, "")?;
        }
        let mut tokens = Vec::new();
        let mut passwords = Vec::new();
        for (id, name, role, grid) in &town.workers {
            add_worker_in(conn, id, name, *role, grid)?;
            let issued = issue_token_in(conn, id)?;
            tokens.push(DemoToken {
                worker: id.clone(),
                grid: grid.clone(),
                token: issued.token,
            });
            if role_may_have_password(*role) {
                // The path of `admin worker add --password-env`: the rules,
                // an Argon2id hash, the credential row.
                let password = random_password()?;
                check_password(&password)?;
                set_password_hash_in(conn, id, &hash_password(&password)?)?;
                passwords.push(DemoPassword {
                    worker: id.clone(),
                    role: role.code().into(),
                    grid: grid.clone(),
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
fn seed_data(
    data_dir: &Path,
    key: &DbKey,
    town: &DemoTown,
) -> Result<Vec<(GridCode, DemoSummary)>, Error> {
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
    for (grid, worker, households, years, seed) in &town.data {
        let (households, years, seed) = (*households, *years, *seed);
        let grid = GridCode(grid.clone());
        let worker = WorkerId(worker.clone());
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
        } = seed_accounts(dir.path(), &key, &DemoTown::of(DemoSize::Small))
            .unwrap()
            .unwrap();
        assert_eq!(tokens.len(), 5);
        assert!(
            seed_accounts(dir.path(), &key, &DemoTown::of(DemoSize::Town))
                .unwrap()
                .is_none()
        );
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
    fn the_demo_town_has_the_shape_of_a_real_one() {
        let town = DemoTown::of(DemoSize::Town);
        let level = |code: &str| -> usize {
            let mut depth = 1;
            let mut current = code.to_owned();
            while let Some((_, _, Some(parent))) = town.grids.iter().find(|g| g.0 == current) {
                depth += 1;
                current = parent.clone();
            }
            depth
        };
        let count = |l: usize| town.grids.iter().filter(|g| level(&g.0) == l).count();
        assert_eq!((count(1), count(2), count(3), count(4)), (1, 3, 7, 14));
        for (code, _, _) in town.grids.iter().filter(|g| level(&g.0) == 3) {
            let grids = town
                .grids
                .iter()
                .filter(|g| g.2.as_deref() == Some(code))
                .count();
            assert!((1..=4).contains(&grids));
        }
        for (grid, _, households, years, _) in &town.data {
            assert!((100..=150).contains(households), "{grid}: {households}");
            assert_eq!(*years, 1);
            let workers = town
                .workers
                .iter()
                .filter(|w| &w.3 == grid && w.2 == Role::Gridworker)
                .count();
            assert!((1..=2).contains(&workers), "{grid}: {workers} gridworkers");
        }
        assert_eq!(town.data.len(), 14);
        let staff: Vec<&str> = town
            .workers
            .iter()
            .filter(|w| w.2 != Role::Gridworker)
            .map(|w| w.3.as_str())
            .collect();
        assert_eq!(staff, ["DEMO-C1", "DEMO-C2", "DEMO-C3", "DEMO"]);
        // The small town keeps the ids other tests and the README use.
        let small = DemoTown::of(DemoSize::Small);
        for id in [
            "gw-demo-1",
            "gw-demo-2",
            "gw-demo-3",
            "staff-demo",
            "town-demo",
        ] {
            assert!(small.workers.iter().any(|w| w.0 == id));
            assert!(town.workers.iter().any(|w| w.0 == id));
        }
        // Names, not placeholders, in the town; every name distinct.
        let names: std::collections::BTreeSet<&str> =
            town.workers.iter().map(|w| w.1.as_str()).collect();
        assert_eq!(names.len(), town.workers.len());
        assert!(!names.iter().any(|n| n.contains("演示")));
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

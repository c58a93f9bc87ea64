//! Staff passwords for the web dashboard: Argon2id hashes (PHC strings with
//! a random salt, table `staff_credentials`), the password rules, and the
//! password check behind `POST /login` with its lockout (5 consecutive
//! failures lock the account for 15 minutes).
//!
//! Only community staff, town staff and admins may have a password;
//! gridworkers sign in on their phones with device tokens ([`super::tokens`]).
//! Passwords and hashes never reach the log, errors or admin output; errors
//! name the field `password`, never its value.

use super::{account_of, check_code, find_worker, Account};
use crate::backend::Backend;
use crate::db;
use crate::error::Error;
use crate::sync::storage::cells;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use gridwork_core::model::Role;
use gridwork_core::store::sql::SqlConn;

/// Fewest characters in a password.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Most characters in a password.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Consecutive failed logins that lock an account.
pub const MAX_FAILED_ATTEMPTS: u32 = 5;
/// How long a locked account stays locked (15 minutes), in milliseconds.
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;

/// An Argon2id hash (default parameters) of a password nobody knows,
/// verified instead of a real hash when the user is unknown or has no
/// password, so that such logins take as long as a wrong password.
/// A unit test checks that its parameters are still the defaults.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$rBdNduv5HHmj3vbCMKhmKA$xl6dhQhAAc8nXbjtLpCCTRJmoc3ZNYCahL3K4lY6mKg";

/// True if `role` may have a dashboard password.
pub fn role_may_have_password(role: Role) -> bool {
    matches!(role, Role::CommunityStaff | Role::TownStaff | Role::Admin)
}

fn role_error() -> Error {
    Error::invalid(
        "role",
        "网格员使用设备令牌登录，不能设置密码；只有社区、镇街工作人员和管理员可以设置 / gridworkers sign in with device tokens and cannot have a password; only community staff, town staff and admins can",
    )
}

/// Check the password rules: 10–256 characters, not all the same
/// character. The error names the field `password` and never the value.
pub fn check_password(password: &str) -> Result<(), Error> {
    let count = password.chars().count();
    if count < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(
            "password",
            "密码至少需要 10 个字符 / the password must have at least 10 characters",
        ));
    }
    if count > MAX_PASSWORD_CHARS {
        return Err(Error::invalid(
            "password",
            "密码最多 256 个字符 / the password must have at most 256 characters",
        ));
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err(Error::invalid(
            "password",
            "密码不能全部是同一个字符 / the password must not be one character repeated",
        ));
    }
    Ok(())
}

/// Hash `password` with Argon2id (default parameters) and a fresh random
/// salt from the OS; returns the PHC string (`$argon2id$v=19$…`). Does not
/// apply [`check_password`].
pub fn hash_password(password: &str) -> Result<String, Error> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|_| Error::Internal("密码哈希失败 / password hashing failed".into()))
}

/// True if `password` matches the PHC string `hash`. A malformed hash is a
/// mismatch (and logged, without the hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordVerifier::<str>::verify_password(&Argon2::default(), password.as_bytes(), hash) {
        Ok(()) => true,
        Err(argon2::password_hash::Error::PasswordInvalid) => false,
        Err(_) => {
            tracing::error!("stored password hash cannot be parsed");
            false
        }
    }
}

/// Store `hash` (a PHC string from [`hash_password`]) as `worker`'s
/// password inside an open transaction: replaces any earlier password,
/// clears the failed-login counter and lock, and signs the worker out of
/// every dashboard session. The worker must exist and be staff.
pub fn set_password_hash_in<C: SqlConn + ?Sized>(
    conn: &C,
    worker: &str,
    hash: &str,
) -> Result<(), Error> {
    let worker = check_code("worker", worker)?;
    let found = find_worker(conn, &worker)?.ok_or_else(|| Error::not_found("worker", &worker))?;
    if !role_may_have_password(found.role) {
        return Err(role_error());
    }
    conn.exec(
        "INSERT INTO staff_credentials (worker_id, password_hash, failed_attempts, locked_until, updated_at)
         VALUES (?1, ?2, 0, NULL, ?3)
         ON CONFLICT (worker_id) DO UPDATE SET
             password_hash = excluded.password_hash,
             failed_attempts = 0,
             locked_until = NULL,
             updated_at = excluded.updated_at",
        &[worker.as_str().into(), hash.into(), db::now_ms().into()],
    )?;
    conn.exec(
        "DELETE FROM staff_sessions WHERE worker_id = ?1",
        &[worker.as_str().into()],
    )?;
    Ok(())
}

/// Set (or replace) the dashboard password of an existing staff member.
/// Errors: the password rules ([`check_password`], field `password`), an
/// unknown worker (not found), a gridworker (field `role`). Their other
/// dashboard sessions end; a lock is lifted.
pub fn set_password(backend: &Backend, worker: &str, password: &str) -> Result<(), Error> {
    check_password(password)?;
    // Cheap checks first, so a gridworker is refused without hashing.
    backend.read(|conn| {
        let worker = check_code("worker", worker)?;
        let found =
            find_worker(conn, &worker)?.ok_or_else(|| Error::not_found("worker", &worker))?;
        if role_may_have_password(found.role) {
            Ok(())
        } else {
            Err(role_error())
        }
    })?;
    let hash = hash_password(password)?;
    backend.transaction(|conn| set_password_hash_in(conn, worker, &hash))?;
    tracing::info!("staff password set");
    Ok(())
}

/// Add a worker and, when `password` is given, their dashboard password,
/// in one transaction (nothing is stored if either fails). A password for a
/// gridworker is refused (field `role`) before anything is written.
pub fn add_worker_with_password(
    backend: &Backend,
    id: &str,
    name: &str,
    role: Role,
    grid: &str,
    password: Option<&str>,
) -> Result<gridwork_core::model::Worker, Error> {
    let Some(password) = password else {
        let worker =
            backend.transaction(|conn| super::add_worker_in(conn, id, name, role, grid))?;
        tracing::info!(role = role.code(), "worker added");
        return Ok(worker);
    };
    if !role_may_have_password(role) {
        return Err(role_error());
    }
    check_password(password)?;
    let hash = hash_password(password)?;
    let worker = backend.transaction(|conn| {
        let worker = super::add_worker_in(conn, id, name, role, grid)?;
        set_password_hash_in(conn, &worker.id.0, &hash)?;
        Ok(worker)
    })?;
    tracing::info!(role = role.code(), "worker added with a password");
    Ok(worker)
}

/// The failed-login state of one credential.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lockout {
    /// Consecutive failures since the last success or lock.
    pub failed_attempts: u32,
    /// Locked until this instant (ms since the epoch), if ever locked.
    pub locked_until: Option<i64>,
}

impl Lockout {
    /// True while the lock holds at `now`.
    pub fn is_locked(&self, now: i64) -> bool {
        matches!(self.locked_until, Some(until) if until > now)
    }

    /// The state after a failed login at `now`: a failure while locked
    /// changes nothing; the [`MAX_FAILED_ATTEMPTS`]th consecutive one locks
    /// the account for [`LOCKOUT_MS`] and restarts the count.
    pub fn after_failure(self, now: i64) -> Lockout {
        if self.is_locked(now) {
            return self;
        }
        let failed = self.failed_attempts.saturating_add(1);
        if failed >= MAX_FAILED_ATTEMPTS {
            Lockout {
                failed_attempts: 0,
                locked_until: Some(now + LOCKOUT_MS),
            }
        } else {
            Lockout {
                failed_attempts: failed,
                locked_until: None,
            }
        }
    }
}

/// Why a login was refused. The web page shows one generic message for all
/// of them; this is for logs and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginRefused {
    /// No worker with that id (or a malformed id).
    UnknownUser,
    /// The worker exists but has no password (a gridworker, or never set),
    /// or their grid is gone.
    NoPassword,
    /// The account is locked; the password was not looked at.
    Locked,
    /// Wrong password (counted towards the lock).
    WrongPassword,
}

fn load_lockout<C: SqlConn + ?Sized>(
    conn: &C,
    worker: &str,
) -> Result<Option<(String, Lockout)>, Error> {
    let Some(row) = conn.row(
        "SELECT password_hash, failed_attempts, locked_until FROM staff_credentials WHERE worker_id = ?1",
        &[worker.into()],
    )?
    else {
        return Ok(None);
    };
    let [hash, failed_attempts, locked_until] = cells(row)?;
    Ok(Some((
        hash.text()?,
        Lockout {
            failed_attempts: failed_attempts.count()?,
            locked_until: locked_until.opt_int()?,
        },
    )))
}

fn store_lockout<C: SqlConn + ?Sized>(conn: &C, worker: &str, state: Lockout) -> Result<(), Error> {
    conn.exec(
        "UPDATE staff_credentials SET failed_attempts = ?2, locked_until = ?3 WHERE worker_id = ?1",
        &[
            worker.into(),
            state.failed_attempts.into(),
            state.locked_until.into(),
        ],
    )?;
    Ok(())
}

/// Check a dashboard login at `now` (ms since the epoch; injectable for
/// tests). Every refusal costs one Argon2 verification — against a dummy
/// hash when the user is unknown or has no password, against the real one
/// when the account is locked — so timing does not tell them apart.
/// A wrong password counts towards the lock; a success clears the count.
/// Blocking (Argon2 and the database): call it from `spawn_blocking`.
pub fn password_login_at(
    backend: &Backend,
    user: &str,
    password: &str,
    now: i64,
) -> Result<Result<Account, LoginRefused>, Error> {
    let Ok(user) = check_code("user", user) else {
        verify_password(password, DUMMY_HASH);
        return Ok(Err(LoginRefused::UnknownUser));
    };
    let found = backend.read(|conn| {
        let Some(account) = account_of(conn, &user)? else {
            return Ok(None);
        };
        Ok(Some((account, load_lockout(conn, &user)?)))
    })?;
    let (account, hash, lockout) = match found {
        None => {
            verify_password(password, DUMMY_HASH);
            return Ok(Err(LoginRefused::UnknownUser));
        }
        Some((account, Some((hash, lockout))))
            if role_may_have_password(account.role) && !account.scope.is_empty() =>
        {
            (account, hash, lockout)
        }
        Some(_) => {
            verify_password(password, DUMMY_HASH);
            return Ok(Err(LoginRefused::NoPassword));
        }
    };
    let matches = verify_password(password, &hash);
    backend.transaction(|conn| {
        // Re-read inside the transaction: concurrent failures all count.
        let Some((_, current)) = load_lockout(conn, &user)? else {
            return Ok(Err(LoginRefused::NoPassword));
        };
        if current.is_locked(now) || lockout.is_locked(now) {
            return Ok(Err(LoginRefused::Locked));
        }
        if matches {
            store_lockout(conn, &user, Lockout::default())?;
            Ok(Ok(account.clone()))
        } else {
            store_lockout(conn, &user, current.after_failure(now))?;
            Ok(Err(LoginRefused::WrongPassword))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::phc::PasswordHash;
    use argon2::Params;

    const GOOD: &str = "correct horse 42";

    fn fresh() -> (
        tempfile::TempDir,
        std::sync::Arc<gridwork_core::store::Db>,
        Backend,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(dir.path()).unwrap();
        crate::accounts::add_grid(&db, "T", "演示镇", None).unwrap();
        crate::accounts::add_grid(&db, "C", "幸福社区", Some("T")).unwrap();
        crate::accounts::add_grid(&db, "C-1", "一片区", Some("C")).unwrap();
        crate::accounts::add_grid(&db, "G1", "第一网格", Some("C-1")).unwrap();
        let db = std::sync::Arc::new(db);
        (dir, db.clone(), Backend::Sqlite(db))
    }

    #[test]
    fn hash_and_verify() {
        let hash = hash_password(GOOD).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!hash.contains(GOOD));
        assert!(verify_password(GOOD, &hash));
        assert!(!verify_password("correct horse 43", &hash));
        assert!(!verify_password(GOOD, "not a phc string"));
        // A fresh salt every time.
        assert_ne!(hash, hash_password(GOOD).unwrap());
    }

    #[test]
    fn dummy_hash_costs_as_much_as_a_real_one() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let real = hash_password(GOOD).unwrap();
        let real = PasswordHash::new(&real).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        let defaults = Params::default();
        assert_eq!(
            dummy.params.get_decimal("m"),
            Some(defaults.m_cost()),
            "update DUMMY_HASH when the Argon2 defaults change"
        );
        assert!(!verify_password(GOOD, DUMMY_HASH));
    }

    #[test]
    fn password_rules_name_the_field_not_the_value() {
        for bad in [
            "",
            "short1234",
            "aaaaaaaaaaaa",
            "的的的的的的的的的的的",
            &"x1".repeat(200),
        ] {
            let err = check_password(bad).unwrap_err();
            assert!(
                matches!(&err, Error::Invalid { field, .. } if field == "password"),
                "{err}"
            );
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad));
            }
        }
        check_password("abcdefghij").unwrap();
        check_password("网格员的十个字符密码").unwrap();
    }

    #[test]
    fn only_staff_may_have_a_password() {
        let (_dir, db, backend) = fresh();
        let err =
            add_worker_with_password(&backend, "gw", "网格员", Role::Gridworker, "G1", Some(GOOD))
                .unwrap_err();
        assert!(matches!(&err, Error::Invalid { field, .. } if field == "role"));
        assert!(crate::accounts::list_workers(&db).unwrap().is_empty());
        crate::accounts::add_worker(&db, "gw", "网格员", Role::Gridworker, "G1").unwrap();
        let err = set_password(&backend, "gw", GOOD).unwrap_err();
        assert!(matches!(&err, Error::Invalid { field, .. } if field == "role"));
        let err = set_password(&backend, "nobody", GOOD).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }));
        // A weak password stores nothing, not even the worker.
        let err = add_worker_with_password(
            &backend,
            "s",
            "社区",
            Role::CommunityStaff,
            "C",
            Some("weak"),
        )
        .unwrap_err();
        assert!(matches!(&err, Error::Invalid { field, .. } if field == "password"));
        assert_eq!(crate::accounts::list_workers(&db).unwrap().len(), 1);
        add_worker_with_password(&backend, "s", "社区", Role::CommunityStaff, "C", Some(GOOD))
            .unwrap();
        let stored: String = crate::db::read(&db, |c| {
            Ok(c.query_row(
                "SELECT password_hash FROM staff_credentials WHERE worker_id = 's'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
        assert!(verify_password(GOOD, &stored));
    }

    #[test]
    fn lockout_counts_consecutive_failures() {
        let now = 1_000_000;
        let mut state = Lockout::default();
        for n in 1..MAX_FAILED_ATTEMPTS {
            state = state.after_failure(now);
            assert_eq!(state.failed_attempts, n);
            assert!(!state.is_locked(now));
        }
        state = state.after_failure(now);
        assert!(state.is_locked(now));
        assert!(state.is_locked(now + LOCKOUT_MS - 1));
        assert!(!state.is_locked(now + LOCKOUT_MS));
        // Failures while locked neither extend nor count.
        assert_eq!(state.after_failure(now + 1), state);
        // After the lock, five more failures are needed.
        let later = now + LOCKOUT_MS;
        let again = state.after_failure(later);
        assert_eq!(again.failed_attempts, 1);
        assert!(!again.is_locked(later));
    }

    #[test]
    fn login_locks_after_five_failures_and_unlocks_after_fifteen_minutes() {
        let (_dir, _db, backend) = fresh();
        add_worker_with_password(&backend, "s", "社区", Role::CommunityStaff, "C", Some(GOOD))
            .unwrap();
        let t0 = 1_700_000_000_000;
        let ok = password_login_at(&backend, "s", GOOD, t0).unwrap().unwrap();
        assert_eq!(ok.worker_id.0, "s");
        assert_eq!(ok.scope.len(), 3);
        // Four failures, then a success resets the count.
        for _ in 0..4 {
            let r = password_login_at(&backend, "s", "wrong password", t0).unwrap();
            assert_eq!(r, Err(LoginRefused::WrongPassword));
        }
        password_login_at(&backend, "s", GOOD, t0).unwrap().unwrap();
        for _ in 0..4 {
            password_login_at(&backend, "s", "wrong password", t0)
                .unwrap()
                .unwrap_err();
        }
        password_login_at(&backend, "s", GOOD, t0).unwrap().unwrap();
        // Five in a row lock it, even for the right password.
        for _ in 0..5 {
            password_login_at(&backend, "s", "wrong password", t0)
                .unwrap()
                .unwrap_err();
        }
        let r = password_login_at(&backend, "s", GOOD, t0 + 1).unwrap();
        assert_eq!(r, Err(LoginRefused::Locked));
        let r = password_login_at(&backend, "s", GOOD, t0 + LOCKOUT_MS - 1).unwrap();
        assert_eq!(r, Err(LoginRefused::Locked));
        password_login_at(&backend, "s", GOOD, t0 + LOCKOUT_MS)
            .unwrap()
            .unwrap();
        // Setting the password again lifts a lock.
        for _ in 0..5 {
            password_login_at(&backend, "s", "wrong password", t0 + LOCKOUT_MS)
                .unwrap()
                .unwrap_err();
        }
        set_password(&backend, "s", "another good one").unwrap();
        password_login_at(&backend, "s", "another good one", t0 + LOCKOUT_MS)
            .unwrap()
            .unwrap();
    }

    #[test]
    fn unknown_users_and_gridworkers_are_refused() {
        let (_dir, db, backend) = fresh();
        crate::accounts::add_worker(&db, "gw", "网格员", Role::Gridworker, "G1").unwrap();
        crate::accounts::add_worker(&db, "s", "社区", Role::CommunityStaff, "C").unwrap();
        let now = 1_700_000_000_000;
        assert_eq!(
            password_login_at(&backend, "nobody", GOOD, now).unwrap(),
            Err(LoginRefused::UnknownUser)
        );
        assert_eq!(
            password_login_at(&backend, "bad id with spaces", GOOD, now).unwrap(),
            Err(LoginRefused::UnknownUser)
        );
        assert_eq!(
            password_login_at(&backend, "gw", GOOD, now).unwrap(),
            Err(LoginRefused::NoPassword)
        );
        assert_eq!(
            password_login_at(&backend, "s", GOOD, now).unwrap(),
            Err(LoginRefused::NoPassword)
        );
    }
}

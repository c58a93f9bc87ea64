//! The access log of residents' personal data (`sql/006_access_log.sql`):
//! every view of a household's detail page and every export holding
//! personal data is recorded — who, when, which household (or which export
//! over which grids) — in the same request that shows or sends the data.
//! The household page shows the household's recent entries, so staff see
//! that access is watched. Ids only: the log itself holds no personal data.

use crate::backend::Backend;
use crate::error::Error;
use crate::sync::storage::cells;
use serde::Serialize;

/// One access.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessEntry {
    /// When (ms since the epoch).
    pub at: i64,
    /// Who (worker id).
    pub worker_id: String,
    /// `household`, `export:<kind>` or `search:<kind>`.
    pub action: String,
    /// The household id, or empty for an export.
    pub household_id: String,
    /// The grids an export covered, comma-separated.
    pub scope: String,
}

/// Record that `worker` viewed `household`'s personal data at `at`.
pub fn record_household_view(
    backend: &Backend,
    worker: &str,
    household: &str,
    at: i64,
) -> Result<(), Error> {
    insert(backend, worker, "household", household, "", at)
}

/// Record that `worker` exported `kind` over `grids` at `at`.
pub fn record_export(
    backend: &Backend,
    worker: &str,
    kind: &str,
    grids: &[String],
    at: i64,
) -> Result<(), Error> {
    record_over(backend, worker, &format!("export:{kind}"), grids, at)
}

/// Record that `worker` searched `kind` (e.g. `households`) by personal
/// data over `grids` at `at` (what was searched for is not kept).
pub fn record_search(
    backend: &Backend,
    worker: &str,
    kind: &str,
    grids: &[String],
    at: i64,
) -> Result<(), Error> {
    record_over(backend, worker, &format!("search:{kind}"), grids, at)
}

/// An access over several grids (no one household).
fn record_over(
    backend: &Backend,
    worker: &str,
    action: &str,
    grids: &[String],
    at: i64,
) -> Result<(), Error> {
    insert(backend, worker, action, "", &grids.join(","), at)
}

fn insert(
    backend: &Backend,
    worker: &str,
    action: &str,
    household: &str,
    scope: &str,
    at: i64,
) -> Result<(), Error> {
    backend.transaction(|conn| {
        conn.exec(
            "INSERT INTO access_log (at, worker_id, action, household_id, scope)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &[
                at.into(),
                worker.into(),
                action.into(),
                household.into(),
                scope.into(),
            ],
        )?;
        Ok(())
    })
}

/// The newest `limit` accesses to `household`, newest first.
pub fn for_household(
    backend: &Backend,
    household: &str,
    limit: u32,
) -> Result<Vec<AccessEntry>, Error> {
    backend.read(|conn| {
        conn.rows(
            "SELECT at, worker_id, action, household_id, scope FROM access_log
             WHERE household_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
            &[household.into(), limit.into()],
        )?
        .into_iter()
        .map(|row| {
            let [at, worker_id, action, household_id, scope] = cells(row)?;
            Ok(AccessEntry {
                at: at.int()?,
                worker_id: worker_id.text()?,
                action: action.text()?,
                household_id: household_id.text()?,
                scope: scope.text()?,
            })
        })
        .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_logged_and_listed_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(dir.path()).unwrap();
        let backend = Backend::Sqlite(std::sync::Arc::new(db));
        record_household_view(&backend, "staff-1", "h1", 1_000).unwrap();
        record_household_view(&backend, "staff-2", "h1", 2_000).unwrap();
        record_household_view(&backend, "staff-1", "h2", 3_000).unwrap();
        record_export(
            &backend,
            "staff-1",
            "households",
            &["G1".into(), "G2".into()],
            4_000,
        )
        .unwrap();
        let log = for_household(&backend, "h1", 10).unwrap();
        assert_eq!(
            log.iter()
                .map(|e| (e.at, e.worker_id.as_str()))
                .collect::<Vec<_>>(),
            vec![(2_000, "staff-2"), (1_000, "staff-1")]
        );
        assert_eq!(for_household(&backend, "h1", 1).unwrap().len(), 1);
        let exports = backend
            .read(|c| {
                Ok(c.value(
                    "SELECT count(*) FROM access_log WHERE action = 'export:households' AND scope = 'G1,G2'",
                    &[],
                )?)
            })
            .unwrap()
            .unwrap()
            .int()
            .unwrap();
        assert_eq!(exports, 1);
    }
}

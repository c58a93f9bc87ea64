//! The public API: one [`Store`] object per phone database. Synchronous,
//! `&self` everywhere, safe to share between threads (`Send + Sync`): writes
//! serialise on the writer connection, reads use the reader connection.
//!
//! Every method that changes data validates its input first, then makes one
//! Automerge change and refreshes the read models in one SQLite transaction;
//! on any error nothing is stored.

pub mod attachments;
mod config;
mod households;
mod incidents;
mod maintenance;
mod queries;
mod reader;
pub mod reads;
mod records;
mod reminders;
mod reports;
mod visits;

#[cfg(test)]
mod attachments_tests;
#[cfg(test)]
mod compat_tests;
#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod input_tests;
#[cfg(test)]
mod reinit_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod visit_scope_tests;

pub use attachments::{Attachment, TrimReport, UploadQueue, UploadState};
pub(crate) use config::resolve_template;
pub use config::{publish_template_in, server_meta, set_policy_in, TemplateInfo};
pub use households::{add_household_in, add_resident_in};
pub use incidents::{append_transition_in, open_case_in, report_hazard_in, Step};
pub use incidents::{transition_case_in, transition_hazard_in};
pub use incidents::{CaseEdit, HazardEdit};
pub use maintenance::{CheckReport, DocHeads, QuarantinedDoc};
pub use queries::{DueEntry, HouseholdQuery, HouseholdSummary};
pub use reader::Reader;
pub use records::fill_form_in;
pub use reminders::{Reminder, ReminderKind, MAX_WITHIN_MINUTES};
pub use reports::Figures;

use crate::clock::{Clock, SystemClock};
use crate::model::{GridCode, Timestamp, WorkerId};
use crate::store::{CommitMeta, Db, DbKey};
use crate::{Error, Result};
use automerge::ActorId;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

/// The phone's owner, as set by [`Store::init`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Worker id.
    pub worker_id: WorkerId,
    /// Worker name.
    pub worker_name: String,
    /// The worker's 4th-level grid.
    pub grid: GridCode,
    /// This device's Automerge actor id (hex).
    pub actor: String,
}

/// Options for [`Store::open_with`].
#[derive(Clone)]
pub struct StoreOptions {
    /// Database key; `None` = plain SQLite.
    pub key: Option<DbKey>,
    /// Clock; `None` = system clock.
    pub clock: Option<Arc<dyn Clock>>,
    /// IANA time zone for local days and months.
    pub timezone: String,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            key: None,
            clock: None,
            timezone: "Asia/Shanghai".into(),
        }
    }
}

/// A gridworker's offline store.
pub struct Store {
    /// The database; shared with the server's own code when attached.
    pub(crate) db: Arc<Db>,
    /// Source of "now".
    pub(crate) clock: Arc<dyn Clock>,
    /// Time zone of local days, weeks and months.
    pub(crate) tz: jiff::tz::TimeZone,
    /// The phone's owner; `None` before `init` and on an attached store.
    pub(crate) device: RwLock<Option<Device>>,
    /// Milliseconds to add to a wall clock to get the server's time, learnt
    /// at the last sync ([`NO_OFFSET`] until then).
    pub(crate) clock_offset: AtomicI64,
}

/// [`Store::clock_offset`] before the first sync.
pub(crate) const NO_OFFSET: i64 = i64::MIN;

impl Store {
    /// Open (or create) the store at `path`. `key` encrypts it with SQLCipher.
    pub fn open(path: impl AsRef<Path>, key: Option<DbKey>) -> Result<Store> {
        Store::open_with(
            path,
            StoreOptions {
                key,
                ..StoreOptions::default()
            },
        )
    }

    /// Open with explicit options.
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        // Refuse a bad time zone before a database file is created.
        time_zone(&options.timezone)?;
        let db = Db::open(path.as_ref(), options.key.as_ref())?;
        let store = Store::attach(Arc::new(db), options.clock, &options.timezone)?;
        let (device, offset) = store
            .db
            .read(|conn| Ok((load_device(conn)?, load_offset(conn)?)))?;
        *store.device.write().unwrap_or_else(|e| e.into_inner()) = device;
        store.clock_offset.store(offset, Ordering::Relaxed);
        Ok(store)
    }

    /// A view over an already open database (the sync server's): no device
    /// row is read or needed, so the phone's write methods fail with
    /// [`Error::NotInitialized`]; writes through it go through the `*_in`
    /// functions with the caller's commit metadata. Reads (lists, the
    /// [`dashboard`](crate::dashboard) figures) work as on a phone, over
    /// every grid in the database. `clock` `None` = the system clock;
    /// `timezone` is an IANA name for local days, weeks and months.
    pub fn attach(db: Arc<Db>, clock: Option<Arc<dyn Clock>>, timezone: &str) -> Result<Store> {
        Ok(Store {
            db,
            clock: clock.unwrap_or_else(|| Arc::new(SystemClock)),
            tz: time_zone(timezone)?,
            device: RwLock::new(None),
            clock_offset: AtomicI64::new(NO_OFFSET),
        })
    }

    /// Set the phone's owner and grid. Allowed once per store: a second call
    /// fails with [`Error::AlreadyInitialized`] (see [`Store::reinit`]).
    pub fn init(&self, worker_id: &str, worker_name: &str, grid: &str) -> Result<Device> {
        let owner = Owner::new(worker_id, worker_name, grid)?;
        let now = self.now();
        self.db.write(|tx| {
            if tx
                .conn()
                .query_row("SELECT count(*) FROM device", [], |r| r.get::<_, i64>(0))?
                > 0
            {
                return Err(Error::AlreadyInitialized);
            }
            owner.insert(tx.conn(), now)
        })?;
        let device = self.db.read(load_device)?.ok_or(Error::NotInitialized)?;
        *self.device.write().unwrap_or_else(|e| e.into_inner()) = Some(device.clone());
        tracing::info!("store initialised");
        Ok(device)
    }

    /// Start the store over for a new owner and grid (`gridwork init
    /// --force`): for a worker who initialised the phone with the wrong grid
    /// or worker, or a phone handed to someone else.
    ///
    /// Allowed only when nothing would be lost: no document has local
    /// changes the server has not acknowledged (`sync_docs.dirty`) and no
    /// attachment waits for upload. Otherwise it fails with
    /// [`Error::UnsyncedChanges`] and changes nothing — sync first.
    ///
    /// On a clean store it removes, in one write transaction, every
    /// document with its chunks, sync state and quarantine entry, every
    /// read-model row, every attachment, the sync state in `sync_meta` (feed
    /// cursor, server id, clock offset, …; only the schema's own bookkeeping,
    /// [`KEPT_SYNC_META`], stays) and the device row, then sets the new owner
    /// with a new random Automerge actor, exactly as [`Store::init`] does.
    /// A store that was never initialised is simply initialised.
    ///
    /// A worker who initialised with the wrong grid or worker and recorded
    /// work before the first sync cannot sync (the server refuses the
    /// account) and so cannot use this: see
    /// [`Store::reinit_discarding_unsynced`].
    pub fn reinit(&self, worker_id: &str, worker_name: &str, grid: &str) -> Result<Device> {
        self.reinit_with(worker_id, worker_name, grid, false)
    }

    /// [`Store::reinit`] even though changes are not yet synced (`gridwork
    /// init --force --discard-unsynced`): the deliberate way out for a phone
    /// whose sync is refused because it was initialised for the wrong grid
    /// or worker, and which holds work recorded before the first sync. That
    /// work is removed with everything else and cannot be recovered from
    /// this store; the household register can be saved first with
    /// [`Store::export`] (`export households`) and read back after with
    /// [`Store::import_register`] (`import register`), which files it under
    /// the new grid. Input is validated first; the wipe is the same single
    /// transaction as [`Store::reinit`].
    pub fn reinit_discarding_unsynced(
        &self,
        worker_id: &str,
        worker_name: &str,
        grid: &str,
    ) -> Result<Device> {
        self.reinit_with(worker_id, worker_name, grid, true)
    }

    /// [`Store::reinit`] and [`Store::reinit_discarding_unsynced`].
    fn reinit_with(
        &self,
        worker_id: &str,
        worker_name: &str,
        grid: &str,
        discard_unsynced: bool,
    ) -> Result<Device> {
        let owner = Owner::new(worker_id, worker_name, grid)?;
        let now = self.now();
        let (docs, discarded) = self.db.write(|tx| {
            let conn = tx.conn();
            let count = unsynced_count(conn)?;
            if count > 0 && !discard_unsynced {
                return Err(Error::UnsyncedChanges { count });
            }
            let docs = wipe(conn)?;
            owner.insert(conn, now)?;
            Ok((docs, count))
        })?;
        let device = self.db.read(load_device)?.ok_or(Error::NotInitialized)?;
        *self.device.write().unwrap_or_else(|e| e.into_inner()) = Some(device.clone());
        // The offset learnt from the old server went with `sync_meta`.
        self.clock_offset.store(NO_OFFSET, Ordering::Relaxed);
        if discarded > 0 {
            tracing::warn!(
                docs,
                discarded,
                "store re-initialised, unsynced changes discarded"
            );
        } else {
            tracing::info!(docs, "store re-initialised");
        }
        Ok(device)
    }

    /// The phone's owner.
    pub fn device(&self) -> Result<Device> {
        self.device
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(Error::NotInitialized)
    }

    /// Now, per the store's clock: a wall clock is corrected by the offset to
    /// the server's clock learnt at the last sync, so records made offline on
    /// a phone whose clock is wrong carry the right time once it has synced.
    pub fn now(&self) -> Timestamp {
        let raw = self.clock.now();
        match self.clock_offset.load(Ordering::Relaxed) {
            offset if offset != NO_OFFSET && self.clock.is_wall_clock() => {
                Timestamp(raw.0.saturating_add(offset))
            }
            _ => raw,
        }
    }

    /// The offset (ms) this store adds to its wall clock, once learnt from a
    /// sync; `None` before the first sync.
    pub fn clock_offset(&self) -> Option<i64> {
        Some(self.clock_offset.load(Ordering::Relaxed)).filter(|o| *o != NO_OFFSET)
    }

    /// The store's time zone.
    pub fn timezone(&self) -> &jiff::tz::TimeZone {
        &self.tz
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// Commit metadata for a change made now by this device's worker.
    fn meta(&self) -> Result<(Device, CommitMeta)> {
        self.meta_at(self.now())
    }

    /// Commit metadata for a change stamped `at` (demo data, imports).
    pub(crate) fn meta_at(&self, at: Timestamp) -> Result<(Device, CommitMeta)> {
        let device = self.device()?;
        let actor = ActorId::from(hex::decode(&device.actor).map_err(|_| Error::NotInitialized)?);
        let meta = CommitMeta {
            actor,
            worker: device.worker_id.clone(),
            at,
        };
        Ok((device, meta))
    }
}

/// A validated owner for [`Store::init`] / [`Store::reinit`], with a fresh
/// random Automerge actor for this device.
struct Owner {
    worker_id: String,
    worker_name: String,
    grid: String,
    actor: ActorId,
}

impl Owner {
    fn new(worker_id: &str, worker_name: &str, grid: &str) -> Result<Owner> {
        Ok(Owner {
            worker_id: crate::model::text::WORKER_ID.check(worker_id)?,
            worker_name: crate::model::text::WORKER_NAME.check(worker_name)?,
            grid: crate::model::text::GRID.check(grid)?,
            actor: ActorId::random(),
        })
    }

    /// Write the device row (the table must be empty).
    fn insert(&self, conn: &rusqlite::Connection, now: Timestamp) -> Result<()> {
        conn.execute(
            "INSERT INTO device (singleton, worker_id, worker_name, grid, actor, created_at) VALUES (1, ?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![self.worker_id, self.worker_name, self.grid, self.actor.to_bytes(), now.0],
        )?;
        Ok(())
    }
}

/// `sync_meta` keys that describe the database itself rather than its sync
/// state or its owner, and so survive [`Store::reinit`].
pub const KEPT_SYNC_META: &[&str] = &["materializer_revision"];

/// Local work the server does not have yet: dirty docs plus attachments
/// waiting for upload.
fn unsynced_count(conn: &rusqlite::Connection) -> Result<u64> {
    let count: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM sync_docs WHERE dirty = 1)
              + (SELECT count(*) FROM attachments WHERE upload_state = 'pending')",
        [],
        |r| r.get(0),
    )?;
    Ok(count.max(0) as u64)
}

/// Empty the store for [`Store::reinit`]: the read models (whatever
/// [`read_models::all_tables`](crate::store::read_models::all_tables) lists),
/// then the docs with everything hanging off them, attachments, sync state
/// and the device row. Returns how many docs were removed.
fn wipe(conn: &rusqlite::Connection) -> Result<u64> {
    for table in crate::store::read_models::all_tables() {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    // Children of `docs` first (they also cascade), then the docs.
    for table in ["quarantine", "time_checks", "doc_chunks", "sync_docs"] {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let docs = conn.execute("DELETE FROM docs", [])? as u64;
    conn.execute("DELETE FROM attachments", [])?;
    let kept = KEPT_SYNC_META
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute(
        &format!("DELETE FROM sync_meta WHERE key NOT IN ({kept})"),
        [],
    )?;
    conn.execute("DELETE FROM device", [])?;
    Ok(docs)
}

/// The IANA time zone `name`, or a validation error on `timezone`.
fn time_zone(name: &str) -> Result<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name)
        .map_err(|_| Error::invalid("timezone", "未知时区 / unknown time zone"))
}

/// The clock offset saved by the last sync (`sync_meta.clock_offset`).
fn load_offset(conn: &rusqlite::Connection) -> Result<i64> {
    Ok(conn
        .query_row(
            "SELECT value FROM sync_meta WHERE key = 'clock_offset'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(NO_OFFSET))
}

fn load_device(conn: &rusqlite::Connection) -> Result<Option<Device>> {
    Ok(conn
        .query_row(
            "SELECT worker_id, worker_name, grid, actor FROM device WHERE singleton = 1",
            [],
            |r| {
                Ok(Device {
                    worker_id: WorkerId(r.get(0)?),
                    worker_name: r.get(1)?,
                    grid: GridCode(r.get(2)?),
                    actor: hex::encode(r.get::<_, Vec<u8>>(3)?),
                })
            },
        )
        .optional()?)
}

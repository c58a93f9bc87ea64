//! [`GridworkStore`]: one phone database. Every method is a blocking call
//! into the core (one SQLite transaction per write): call them from a
//! background thread or dispatcher (`Dispatchers.IO`, a Swift `Task`), never
//! the UI thread. The object is thread-safe; share one per database.

use crate::error::{ApiError, ApiResult};
use crate::types::{FormRecordInfo, VisitWithCase};
use gridwork_core::api::{CaseEdit, HazardEdit, Reminder, TemplateInfo};
use gridwork_core::model::*;
use gridwork_core::{
    CheckReport, Conflict, DbKey, Device, DueEntry, Figures, HouseholdQuery, HouseholdSummary,
    QuarantinedDoc, Store, StoreOptions,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How the database is encrypted (SQLCipher).
#[derive(Clone, Debug, uniffi::Enum)]
pub enum StoreKey {
    /// 32 random bytes, e.g. generated and kept by Android Keystore or the
    /// iOS Keychain. Opens fast (no key derivation). Recommended.
    Raw {
        /// Exactly 32 bytes.
        bytes: Vec<u8>,
    },
    /// A passphrase; SQLCipher derives the key (PBKDF2, slow by design).
    Passphrase {
        /// The passphrase.
        passphrase: String,
    },
}

/// Options for opening a store.
#[derive(Clone, Debug, uniffi::Record)]
pub struct OpenOptions {
    /// Encryption key; `None` = a plain (unencrypted) database, for tests only.
    pub key: Option<StoreKey>,
    /// IANA time zone for local days and months (default `Asia/Shanghai`).
    pub timezone: Option<String>,
}

/// A gridworker's offline store: households, visits, hazards, cases, forms,
/// and the sync with the office's server.
#[derive(uniffi::Object)]
pub struct GridworkStore {
    pub(crate) inner: Arc<Store>,
}

fn key_of(key: StoreKey) -> ApiResult<DbKey> {
    match key {
        StoreKey::Raw { bytes } => {
            let raw: [u8; 32] = bytes.try_into().map_err(|_| ApiError::Validation {
                field: "key".into(),
                reason: "密钥须为 32 字节 / a raw key must be 32 bytes".into(),
            })?;
            Ok(DbKey::Raw(raw))
        }
        StoreKey::Passphrase { passphrase } => Ok(DbKey::Passphrase(passphrase)),
    }
}

fn answers_of(json: &str) -> ApiResult<BTreeMap<String, serde_json::Value>> {
    serde_json::from_str(json).map_err(|_| ApiError::Validation {
        field: "answers".into(),
        reason: "答案须为 JSON 对象 / answers must be a JSON object".into(),
    })
}

#[uniffi::export]
impl GridworkStore {
    /// Open (or create) the store at `path`.
    #[uniffi::constructor]
    pub fn open(path: String, options: OpenOptions) -> ApiResult<Arc<GridworkStore>> {
        let defaults = StoreOptions::default();
        let store = Store::open_with(
            path,
            StoreOptions {
                key: options.key.map(key_of).transpose()?,
                timezone: options.timezone.unwrap_or(defaults.timezone),
                clock: None,
            },
        )?;
        Ok(Arc::new(GridworkStore {
            inner: Arc::new(store),
        }))
    }

    /// Set the phone's owner and grid; allowed once per store (`Conflict`
    /// afterwards: to change them, see `reinit`).
    pub fn init(&self, worker_id: String, worker_name: String, grid: String) -> ApiResult<Device> {
        Ok(self.inner.init(&worker_id, &worker_name, &grid)?)
    }

    /// Start the store over for another owner and grid: for a phone
    /// initialised with the wrong grid or worker (its sync fails with
    /// `WrongAccount`), or handed to someone else. Allowed only when nothing
    /// would be lost: while any change is not yet synced it fails with
    /// `Conflict` and changes nothing (sync first). Otherwise it removes
    /// every record, attachment and sync state of this store in one
    /// transaction and sets the new owner with a new device actor, as `init`
    /// does; the records of the new grid arrive with the next sync.
    pub fn reinit(
        &self,
        worker_id: String,
        worker_name: String,
        grid: String,
    ) -> ApiResult<Device> {
        Ok(self.inner.reinit(&worker_id, &worker_name, &grid)?)
    }

    /// `reinit` even though changes are not yet synced: the deliberate way
    /// out for a phone whose sync is refused (`WrongAccount`) and that holds
    /// work recorded before its first sync. That work is **removed** and
    /// cannot be recovered from this store; ask the user to confirm first.
    pub fn reinit_discarding_unsynced(
        &self,
        worker_id: String,
        worker_name: String,
        grid: String,
    ) -> ApiResult<Device> {
        Ok(self
            .inner
            .reinit_discarding_unsynced(&worker_id, &worker_name, &grid)?)
    }

    /// The phone's owner.
    pub fn device(&self) -> ApiResult<Device> {
        Ok(self.inner.device()?)
    }

    /// Register a household.
    pub fn add_household(&self, input: NewHousehold) -> ApiResult<Household> {
        Ok(self.inner.add_household(input)?)
    }

    /// Change a household's fields and tags.
    pub fn edit_household(&self, id: HouseholdId, edit: HouseholdEdit) -> ApiResult<Household> {
        Ok(self.inner.edit_household(id, edit)?)
    }

    /// One household with its residents.
    pub fn household(&self, id: HouseholdId) -> ApiResult<Household> {
        Ok(self.inner.household(id)?)
    }

    /// Every household with its next due visit.
    pub fn list_households(&self) -> ApiResult<Vec<HouseholdSummary>> {
        Ok(self.inner.list_households()?)
    }

    /// Households whose address, representative or a resident's name
    /// contains `text`, and/or that have `tag` (code or Chinese label).
    pub fn search_households(
        &self,
        text: String,
        tag: Option<String>,
    ) -> ApiResult<Vec<HouseholdSummary>> {
        Ok(self
            .inner
            .search_households(&HouseholdQuery { text, tag })?)
    }

    /// Add a resident to a household.
    pub fn add_resident(&self, household: HouseholdId, input: NewResident) -> ApiResult<Resident> {
        Ok(self.inner.add_resident(household, input)?)
    }

    /// Households due or overdue a visit, most urgent first (overdue special
    /// groups first).
    pub fn due_visits(&self) -> ApiResult<Vec<DueEntry>> {
        Ok(self.inner.due_visits()?)
    }

    /// What runs out within `within_minutes` (at most a week), and
    /// everything overdue, soonest first: households due today, cases
    /// whose first-response or handling clock runs out, hazards whose
    /// rectification deadline comes. Schedule local notifications from it
    /// after each sync.
    pub fn reminders(&self, within_minutes: u32) -> ApiResult<Vec<Reminder>> {
        Ok(self.inner.reminders(within_minutes)?)
    }

    /// Record a door-to-door visit.
    pub fn record_visit(&self, input: NewVisit) -> ApiResult<Visit> {
        Ok(self.inner.record_visit(input)?)
    }

    /// Record a visit and open a case for what it found, in one write: the
    /// case is about the visited household (channel `visit` unless given)
    /// and becomes the visit's follow-up case.
    pub fn record_visit_with_case(
        &self,
        visit: NewVisit,
        case: NewCase,
    ) -> ApiResult<VisitWithCase> {
        let (visit, case) = self.inner.record_visit_with_case(visit, case)?;
        Ok(VisitWithCase { visit, case })
    }

    /// Open a case for what an earlier visit found, linked to it.
    pub fn open_case_for_visit(&self, visit: VisitId, case: NewCase) -> ApiResult<Case> {
        Ok(self.inner.open_case_for_visit(visit, case)?)
    }

    /// Make an existing case a follow-up case of `visit` (again: no
    /// change); the case must be about the visited household or none.
    pub fn link_case_to_visit(&self, case: CaseId, visit: VisitId) -> ApiResult<Visit> {
        Ok(self.inner.link_case_to_visit(case, visit)?)
    }

    /// Visits of one household (or all when `None`), newest first.
    pub fn list_visits(&self, household: Option<HouseholdId>) -> ApiResult<Vec<Visit>> {
        Ok(self.inner.list_visits(household)?)
    }

    /// Report a safety hazard.
    pub fn report_hazard(&self, input: NewHazard) -> ApiResult<Hazard> {
        Ok(self.inner.report_hazard(input)?)
    }

    /// Change a hazard's description, severity, place or deadline.
    pub fn edit_hazard(&self, id: HazardId, edit: HazardEdit) -> ApiResult<Hazard> {
        Ok(self.inner.edit_hazard(id, edit)?)
    }

    /// Move a hazard to `to` (`rectifying`, `rectified`, `closed`).
    pub fn transition_hazard(&self, id: HazardId, to: String, note: String) -> ApiResult<Hazard> {
        Ok(self.inner.transition_hazard(id, &to, &note)?)
    }

    /// One hazard with its transitions.
    pub fn hazard(&self, id: HazardId) -> ApiResult<Hazard> {
        Ok(self.inner.hazard(id)?)
    }

    /// Hazards, newest first; `open_only` hides closed ones.
    pub fn list_hazards(&self, open_only: bool) -> ApiResult<Vec<Hazard>> {
        Ok(self.inner.list_hazards(open_only)?)
    }

    /// Take a resident's request or an event; the response clock starts.
    pub fn open_case(&self, input: NewCase) -> ApiResult<Case> {
        Ok(self.inner.open_case(input)?)
    }

    /// Change a case's description, category or urgency.
    pub fn edit_case(&self, id: CaseId, edit: CaseEdit) -> ApiResult<Case> {
        Ok(self.inner.edit_case(id, edit)?)
    }

    /// Move a case to `to` (`registered`, `escalated`, `dispatched`, …).
    pub fn transition_case(&self, id: CaseId, to: String, note: String) -> ApiResult<Case> {
        Ok(self.inner.transition_case(id, &to, &note)?)
    }

    /// One case with its timers.
    pub fn case(&self, id: CaseId) -> ApiResult<Case> {
        Ok(self.inner.case(id)?)
    }

    /// Cases, newest first; `open_only` hides closed ones.
    pub fn list_cases(&self, open_only: bool) -> ApiResult<Vec<Case>> {
        Ok(self.inner.list_cases(open_only)?)
    }

    /// Open cases past a deadline, unanswered first.
    pub fn overdue_cases(&self) -> ApiResult<Vec<Case>> {
        Ok(self.inner.overdue_cases()?)
    }

    /// Template versions on this device (built-in and published).
    pub fn templates(&self) -> ApiResult<Vec<TemplateInfo>> {
        Ok(self.inner.templates()?)
    }

    /// A template as JSON (the format of `docs/forms.md`), at `version` or
    /// the newest.
    pub fn template_json(&self, id: String, version: Option<u32>) -> ApiResult<String> {
        let template = self.inner.template(&id, version)?;
        Ok(serde_json::to_string(&template).unwrap_or_default())
    }

    /// Fill a form with the newest version of `template_id`; `answers_json`
    /// is a JSON object from field id to answer. A household id or a free
    /// subject is required.
    pub fn fill_form(
        &self,
        template_id: String,
        household: Option<HouseholdId>,
        subject: String,
        answers_json: String,
    ) -> ApiResult<FormRecordInfo> {
        let answers = answers_of(&answers_json)?;
        Ok(self
            .inner
            .fill_form(&template_id, household, &subject, answers)?
            .into())
    }

    /// Filled records (of one template, or all), newest first.
    pub fn list_form_records(&self, template_id: Option<String>) -> ApiResult<Vec<FormRecordInfo>> {
        Ok(self
            .inner
            .list_form_records(template_id.as_deref())?
            .into_iter()
            .map(FormRecordInfo::from)
            .collect())
    }

    /// Fields edited concurrently on several devices.
    pub fn conflicts(&self) -> ApiResult<Vec<Conflict>> {
        Ok(self.inner.conflicts()?)
    }

    /// Resolve a conflict by choosing one value (an ordinary edit).
    pub fn resolve_conflict(
        &self,
        household: HouseholdId,
        resident: Option<ResidentId>,
        field: String,
        value: String,
    ) -> ApiResult<Household> {
        Ok(self
            .inner
            .resolve_conflict(household, resident, &field, &value)?)
    }

    /// Resolve a conflict on a hazard's or case's field (`record` is
    /// `hazard` or `case`) by choosing one of its values (an ordinary edit).
    pub fn resolve_record_conflict(
        &self,
        record: String,
        record_id: String,
        field: String,
        value: String,
    ) -> ApiResult<()> {
        Ok(self
            .inner
            .resolve_record_conflict(&record, &record_id, &field, &value)?)
    }

    /// The gridworker's own figures as of now.
    pub fn report(&self) -> ApiResult<Figures> {
        Ok(self.inner.report()?)
    }

    /// Verify the read models against the documents (nothing changes).
    pub fn check(&self) -> ApiResult<CheckReport> {
        Ok(self.inner.check()?)
    }

    /// Records kept and synced but not shown, with why: of a kind a newer
    /// app version made, or content this version cannot read. They stay
    /// stored and are forwarded by every sync; updating the app shows them.
    pub fn quarantined_docs(&self) -> ApiResult<Vec<QuarantinedDoc>> {
        Ok(self.inner.quarantined_docs()?)
    }

    /// Ids of records written in a newer format by a newer app version:
    /// shown and synced, but every edit fails with `ReadOnly` until the app
    /// is updated.
    pub fn read_only_docs(&self) -> ApiResult<Vec<String>> {
        Ok(self.inner.read_only_docs()?)
    }

    /// Milliseconds this store adds to the phone's clock, learnt from the
    /// server at the last sync so that records made offline on a phone with
    /// a wrong clock carry the right time; `None` before the first sync (and
    /// after `reinit`).
    pub fn clock_offset(&self) -> Option<i64> {
        self.inner.clock_offset()
    }
}

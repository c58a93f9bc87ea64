//! The core's records and enums as UniFFI sees them.
//!
//! Each `#[uniffi::remote(…)]` item re-declares a `gridwork-core` type field
//! for field, so the generated Kotlin/Swift/Python types *are* the core's
//! types with no conversion code (a field that drifts from the core fails to
//! compile here). Ids cross the FFI as strings and timestamps as
//! milliseconds since the Unix epoch (UTC).

use gridwork_core::api::{CaseEdit, HazardEdit, Reminder, ReminderKind, TemplateInfo};
use gridwork_core::docs::{Conflict, ConflictValue};
use gridwork_core::forms::TemplateCategory;
use gridwork_core::model::*;
use gridwork_core::schedule::{CaseTimers, DueStatus, VisitInterval};
use gridwork_core::sync::protocol::{RejectReason, Rejection};
use gridwork_core::sync::SyncSummary;
use gridwork_core::{CheckReport, Device, DueEntry, Figures, HouseholdSummary, QuarantinedDoc};

macro_rules! uuid_ids {
    ($($name:ident),*) => {$(
        uniffi::custom_type!($name, String, {
            remote,
            try_lift: |text| Ok(text.parse::<$name>()?),
            lower: |id| id.to_string(),
        });
    )*};
}

uuid_ids!(
    HouseholdId,
    ResidentId,
    VisitId,
    HazardId,
    CaseId,
    FormRecordId,
    TransitionId
);

uniffi::custom_type!(WorkerId, String, {
    remote,
    try_lift: |text| Ok(WorkerId(text)),
    lower: |id| id.0,
});

uniffi::custom_type!(GridCode, String, {
    remote,
    try_lift: |text| Ok(GridCode(text)),
    lower: |code| code.0,
});

uniffi::custom_type!(Timestamp, i64, {
    remote,
    try_lift: |millis| Ok(Timestamp(millis)),
    lower: |at| at.0,
});

/// A special group a household or resident belongs to (重点人群).
#[uniffi::remote(Enum)]
pub enum SpecialGroup {
    /// 独居/空巢老人
    ElderlyAlone,
    /// 高龄失能老人
    ElderlyDisabled,
    /// 残疾人
    Disabled,
    /// 低保对象
    LowIncome,
    /// 困境儿童
    ChildInDistress,
    /// 重病慢性病患者
    SeriousIllness,
    /// 流动人口
    Floating,
    /// 困难退役军人
    VeteranHardship,
    /// 社区矫正/刑满释放人员
    CommunityCorrection,
    /// 严重精神障碍患者
    MentalDisorder,
}

/// Risk grade of a household (red / yellow / blue).
#[uniffi::remote(Enum)]
pub enum RiskLevel {
    /// Not graded.
    None,
    /// 蓝
    Blue,
    /// 黄
    Yellow,
    /// 红
    Red,
}

/// Whether a household still lives here.
#[uniffi::remote(Enum)]
pub enum HouseholdStatus {
    /// 在住
    Active,
    /// 已迁出
    MovedOut,
}

/// A resident's gender.
#[uniffi::remote(Enum)]
pub enum Gender {
    /// Not recorded.
    Unknown,
    /// 男
    Male,
    /// 女
    Female,
}

/// How often a household must be visited.
#[uniffi::remote(Enum)]
pub enum VisitInterval {
    /// Every week.
    Weekly,
    /// Every calendar month.
    Monthly,
    /// Every three calendar months.
    Quarterly,
}

/// Where a household stands against its visit schedule.
#[uniffi::remote(Enum)]
pub enum DueStatus {
    /// Past the due date.
    Overdue,
    /// Due today or within the next few days.
    Due,
    /// Not yet due.
    NotDue,
}

/// The outcome of one checklist item.
#[uniffi::remote(Enum)]
pub enum Outcome {
    /// 正常
    Ok,
    /// 有问题
    Problem,
    /// 不适用
    NotApplicable,
}

/// Hazard severity.
#[uniffi::remote(Enum)]
pub enum Severity {
    /// 一般
    Low,
    /// 较大
    Medium,
    /// 重大
    High,
}

/// A hazard's status (reported → rectifying → rectified → closed).
#[uniffi::remote(Enum)]
pub enum HazardState {
    /// 已上报
    Reported,
    /// 整改中
    Rectifying,
    /// 已整改
    Rectified,
    /// 已销号
    Closed,
}

/// How a case came in.
#[uniffi::remote(Enum)]
pub enum Channel {
    /// During a visit.
    Visit,
    /// By phone.
    Phone,
    /// By WeChat.
    Wechat,
    /// At the office.
    WalkIn,
}

/// Case urgency.
#[uniffi::remote(Enum)]
pub enum Urgency {
    /// 一般
    Normal,
    /// 紧急
    Urgent,
}

/// A case's status (CJJ/T 106 plus escalation to the community).
#[uniffi::remote(Enum)]
pub enum CaseState {
    /// 已采集: taken, not yet answered.
    Collected,
    /// 已受理: the first response.
    Registered,
    /// 已上报社区.
    Escalated,
    /// 已派遣.
    Dispatched,
    /// 处置中.
    Handling,
    /// 已反馈.
    Feedback,
    /// 已核查.
    Verified,
    /// 已结案.
    Closed,
}

/// What a template is used for.
#[uniffi::remote(Enum)]
pub enum TemplateCategory {
    /// The door-to-door visit checklist.
    VisitChecklist,
    /// One of the twelve duties.
    Duty,
    /// Hazard inspection.
    Hazard,
}

/// Why the server refused a document.
#[uniffi::remote(Enum)]
pub enum RejectReason {
    /// Outside the worker's grid.
    OutOfScope,
    /// Read-only for this worker (templates, policies).
    ReadOnly,
    /// Not a Gridwork document.
    Malformed,
    /// The content names a household, grid or worker outside the worker's
    /// scope or inconsistent with the document's id.
    Inconsistent,
    /// Changes made by another worker's or another device's actor.
    ForeignActor,
    /// Over a size limit (bytes, changes or heads of one document).
    TooLarge,
    /// A reason this version of the app does not know (a newer server).
    Unknown,
}

/// The phone's owner.
#[uniffi::remote(Record)]
pub struct Device {
    /// Worker id.
    pub worker_id: WorkerId,
    /// Worker name.
    pub worker_name: String,
    /// The worker's 4th-level grid.
    pub grid: GridCode,
    /// This device's Automerge actor (hex).
    pub actor: String,
}

/// A resident.
#[uniffi::remote(Record)]
pub struct Resident {
    /// Id.
    pub id: ResidentId,
    /// Name.
    pub name: String,
    /// Gender.
    pub gender: Gender,
    /// Birth date `YYYY-MM-DD` (may be empty).
    pub birth_date: String,
    /// ID number (GB 11643; may be empty).
    pub id_number: String,
    /// Phone.
    pub phone: String,
    /// Relation to the representative.
    pub relation: String,
    /// Special groups.
    pub tags: Vec<SpecialGroup>,
    /// Moved out.
    pub moved_out: bool,
    /// Registered at.
    pub created_at: Timestamp,
}

/// A household with its residents.
#[uniffi::remote(Record)]
pub struct Household {
    /// Id.
    pub id: HouseholdId,
    /// Grid.
    pub grid: GridCode,
    /// Community / compound.
    pub community: String,
    /// Building.
    pub building: String,
    /// Unit.
    pub unit: String,
    /// Room.
    pub room: String,
    /// Full address.
    pub address: String,
    /// Representative.
    pub representative: String,
    /// Phone.
    pub phone: String,
    /// Household-level special groups.
    pub tags: Vec<SpecialGroup>,
    /// Risk grade.
    pub risk: RiskLevel,
    /// Active / moved out.
    pub status: HouseholdStatus,
    /// Note.
    pub note: String,
    /// Registered at.
    pub created_at: Timestamp,
    /// Residents.
    pub residents: Vec<Resident>,
}

/// Input for a new household; empty strings mean "not given". Tags and risk
/// take codes (`elderly_alone`, `red`) or Chinese labels.
#[uniffi::remote(Record)]
pub struct NewHousehold {
    /// Community.
    pub community: String,
    /// Building.
    pub building: String,
    /// Unit.
    pub unit: String,
    /// Room.
    pub room: String,
    /// Address (required).
    pub address: String,
    /// Representative.
    pub representative: String,
    /// Phone (validated).
    pub phone: String,
    /// Special groups.
    pub tags: Vec<String>,
    /// Risk grade code.
    pub risk: String,
    /// Note.
    pub note: String,
}

/// Changes to a household: `None` leaves a field as it is.
#[uniffi::remote(Record)]
pub struct HouseholdEdit {
    /// Community.
    pub community: Option<String>,
    /// Building.
    pub building: Option<String>,
    /// Unit.
    pub unit: Option<String>,
    /// Room.
    pub room: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Representative.
    pub representative: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// Risk grade code.
    pub risk: Option<String>,
    /// `active` / `moved_out`.
    pub status: Option<String>,
    /// Note.
    pub note: Option<String>,
}

/// Input for a new resident.
#[uniffi::remote(Record)]
pub struct NewResident {
    /// Name (required).
    pub name: String,
    /// `male` / `female` / empty.
    pub gender: String,
    /// `YYYY-MM-DD` or empty.
    pub birth_date: String,
    /// GB 11643 ID number or empty (check digit and birth date verified).
    pub id_number: String,
    /// Phone or empty.
    pub phone: String,
    /// Relation to the representative.
    pub relation: String,
    /// Special groups.
    pub tags: Vec<String>,
}

/// One line of the household list.
#[uniffi::remote(Record)]
pub struct HouseholdSummary {
    /// Id.
    pub id: HouseholdId,
    /// Address.
    pub address: String,
    /// Representative.
    pub representative: String,
    /// Household-level tags.
    pub tags: Vec<SpecialGroup>,
    /// Household tags plus those of residents still living there.
    pub all_tags: Vec<SpecialGroup>,
    /// Risk grade.
    pub risk: RiskLevel,
    /// Active / moved out.
    pub status: HouseholdStatus,
    /// Residents still living there.
    pub residents: u32,
    /// Last visit.
    pub last_visit_at: Option<Timestamp>,
    /// Visit interval under the grid's policy.
    pub visit_interval: VisitInterval,
    /// Next due visit, local date `YYYY-MM-DD`.
    pub next_visit_due: String,
    /// Where it stands today.
    pub due_status: DueStatus,
}

/// A household due or overdue a visit.
#[uniffi::remote(Record)]
pub struct DueEntry {
    /// The household.
    pub household: HouseholdSummary,
    /// Days past the due date (0 if not overdue).
    pub days_overdue: i64,
}

/// What a reminder is about.
#[uniffi::remote(Enum)]
pub enum ReminderKind {
    /// A household due (or overdue) a visit; `due_at` is the start of its
    /// due date (local time).
    VisitDue,
    /// A case still waiting for its first response; `due_at` is when the
    /// 30-minute target runs out.
    CaseResponse,
    /// An open case whose handling deadline comes.
    CaseHandling,
    /// An open hazard whose rectification deadline comes.
    HazardDeadline,
}

/// One reminder for a local notification: schedule it at `due_at` (at once
/// when `overdue`).
#[uniffi::remote(Record)]
pub struct Reminder {
    /// What it is about.
    pub kind: ReminderKind,
    /// The record's id (household, case or hazard).
    pub id: String,
    /// What to show: the household's address, or the case's or hazard's
    /// category.
    pub title: String,
    /// When it runs out.
    pub due_at: Timestamp,
    /// True when `due_at` has passed.
    pub overdue: bool,
}

/// A position (WGS-84).
#[uniffi::remote(Record)]
pub struct Location {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Accuracy in metres.
    pub accuracy_m: Option<f64>,
}

/// A template id and version.
#[uniffi::remote(Record)]
pub struct TemplateRef {
    /// Template id.
    pub id: String,
    /// Version.
    pub version: u32,
}

/// The answer to one checklist item.
#[uniffi::remote(Record)]
pub struct ChecklistAnswer {
    /// Item id (e.g. `sanitation`).
    pub item: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Note (what was found).
    pub note: String,
}

/// A door-to-door visit.
#[uniffi::remote(Record)]
pub struct Visit {
    /// Id.
    pub id: VisitId,
    /// Household.
    pub household: HouseholdId,
    /// Worker.
    pub worker: WorkerId,
    /// Start.
    pub started_at: Timestamp,
    /// End.
    pub ended_at: Timestamp,
    /// Where.
    pub location: Option<Location>,
    /// Checklist template version used.
    pub checklist: TemplateRef,
    /// Answers in checklist order.
    pub answers: Vec<ChecklistAnswer>,
    /// Note.
    pub note: String,
    /// Follow-up cases.
    pub follow_up_cases: Vec<CaseId>,
    /// Photos (blob ids from `attach_photo`).
    pub photos: Vec<String>,
}

/// Input for recording a visit.
#[uniffi::remote(Record)]
pub struct NewVisit {
    /// The household visited.
    pub household: HouseholdId,
    /// Start (default: now).
    pub started_at: Option<Timestamp>,
    /// End (default: now).
    pub ended_at: Option<Timestamp>,
    /// Where.
    pub location: Option<Location>,
    /// Answers; unknown or repeated items are rejected.
    pub answers: Vec<ChecklistAnswer>,
    /// Note.
    pub note: String,
    /// Follow-up cases.
    pub follow_up_cases: Vec<CaseId>,
    /// Photos (blob ids from `attach_photo`).
    pub photos: Vec<String>,
}

/// One status change of a hazard or case.
#[uniffi::remote(Record)]
pub struct Transition {
    /// Id.
    pub id: TransitionId,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub by: WorkerId,
    /// Status before.
    pub from: String,
    /// Status after.
    pub to: String,
    /// Note.
    pub note: String,
    /// Photos of this step (blob ids): a rectification's "after".
    pub photos: Vec<String>,
    /// Who the record was handed to by this step (a dispatch names a
    /// person or department of the server's directory); empty otherwise.
    pub assignee: String,
}

/// A safety hazard.
#[uniffi::remote(Record)]
pub struct Hazard {
    /// Id.
    pub id: HazardId,
    /// Grid.
    pub grid: GridCode,
    /// Category.
    pub category: String,
    /// Severity.
    pub severity: Severity,
    /// Where.
    pub location: Option<Location>,
    /// Place description.
    pub place: String,
    /// Description.
    pub description: String,
    /// Related household.
    pub household: Option<HouseholdId>,
    /// Rectification deadline.
    pub deadline: Option<Timestamp>,
    /// Photo hashes (SHA-256 hex).
    pub photos: Vec<String>,
    /// Reporter.
    pub reported_by: WorkerId,
    /// Reported at.
    pub reported_at: Timestamp,
    /// Status.
    pub status: HazardState,
    /// Transitions.
    pub transitions: Vec<Transition>,
}

/// Input for reporting a hazard.
#[uniffi::remote(Record)]
pub struct NewHazard {
    /// Category (required).
    pub category: String,
    /// `low` / `medium` / `high`.
    pub severity: String,
    /// Where.
    pub location: Option<Location>,
    /// Place description.
    pub place: String,
    /// Description (required).
    pub description: String,
    /// Related household.
    pub household: Option<HouseholdId>,
    /// Rectification deadline.
    pub deadline: Option<Timestamp>,
    /// Photo hashes.
    pub photos: Vec<String>,
}

/// Changes to a hazard: `None` leaves a field as it is.
#[uniffi::remote(Record)]
pub struct HazardEdit {
    /// Description (not empty).
    pub description: Option<String>,
    /// `low` / `medium` / `high`.
    pub severity: Option<String>,
    /// Rectification deadline.
    pub deadline: Option<Timestamp>,
    /// Place description.
    pub place: Option<String>,
}

/// A case's deadlines as of the read.
#[uniffi::remote(Record)]
pub struct CaseTimers {
    /// When the first response is due.
    pub response_due_at: Timestamp,
    /// Unanswered and past due.
    pub response_overdue: bool,
    /// Answered after the target.
    pub responded_late: bool,
    /// When the handler's feedback is due.
    pub handling_due_at: Timestamp,
    /// Not handled and past due.
    pub handling_overdue: bool,
}

/// A resident's request or an event.
#[uniffi::remote(Record)]
pub struct Case {
    /// Id.
    pub id: CaseId,
    /// Grid.
    pub grid: GridCode,
    /// Channel.
    pub channel: Channel,
    /// Category.
    pub category: String,
    /// Description.
    pub description: String,
    /// Urgency.
    pub urgency: Urgency,
    /// Related household.
    pub household: Option<HouseholdId>,
    /// Related resident.
    pub resident: Option<ResidentId>,
    /// Who took it.
    pub opened_by: WorkerId,
    /// When it was taken (the response clock starts here).
    pub opened_at: Timestamp,
    /// Status.
    pub status: CaseState,
    /// First response.
    pub first_response_at: Option<Timestamp>,
    /// Escalated to the community at some point.
    pub escalated: bool,
    /// Transitions.
    pub transitions: Vec<Transition>,
    /// Photos of the request itself (blob ids; e.g. the one a resident
    /// sent through the H5 page). Read one with `photoBytes`, or fetch it
    /// from the server with `fetchPhoto` when it is not on the phone.
    pub photos: Vec<String>,
    /// Deadlines as of now.
    pub timers: CaseTimers,
}

/// Input for opening a case.
#[uniffi::remote(Record)]
pub struct NewCase {
    /// `visit` / `phone` / `wechat` / `walk_in` (default visit).
    pub channel: String,
    /// Category (required).
    pub category: String,
    /// Description (required).
    pub description: String,
    /// `normal` / `urgent`.
    pub urgency: String,
    /// Related household.
    pub household: Option<HouseholdId>,
    /// Related resident (needs `household`).
    pub resident: Option<ResidentId>,
    /// When it was taken (default now).
    pub opened_at: Option<Timestamp>,
    /// Photos of the request (ids from `attachPhoto`; default none).
    #[uniffi(default)]
    pub photos: Vec<String>,
}

/// Changes to a case: `None` leaves a field as it is.
#[uniffi::remote(Record)]
pub struct CaseEdit {
    /// Description (not empty).
    pub description: Option<String>,
    /// Category (not empty).
    pub category: Option<String>,
    /// `normal` / `urgent`.
    pub urgency: Option<String>,
}

/// One concurrent value of a conflicting field.
#[uniffi::remote(Record)]
pub struct ConflictValue {
    /// The value as text.
    pub value: String,
    /// Who wrote it.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// A field edited concurrently on several devices, or a hazard's or case's
/// workflow conflict (field `workflow`: transitions that did not apply).
#[uniffi::remote(Record)]
pub struct Conflict {
    /// The household the record belongs to (none for a hazard or case
    /// without one).
    pub household: Option<HouseholdId>,
    /// Resident, when the field is a resident's.
    pub resident: Option<ResidentId>,
    /// Field name, or `workflow`.
    pub field: String,
    /// The competing values (for `workflow`: each `from→to` that did not apply).
    pub values: Vec<ConflictValue>,
    /// `household`, `resident`, `hazard` or `case`.
    pub record: String,
    /// The record's id.
    pub record_id: String,
}

/// One template version available on the device.
#[uniffi::remote(Record)]
pub struct TemplateInfo {
    /// Id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// Category.
    pub category: TemplateCategory,
    /// zh-CN title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// `builtin` or `published`.
    pub source: String,
    /// Grid it was published to.
    pub grid: String,
    /// The version offered for new records.
    pub newest: bool,
}

/// The gridworker's own figures.
#[uniffi::remote(Record)]
pub struct Figures {
    /// Month `YYYY-MM`.
    pub month: String,
    /// Active households.
    pub households_total: u32,
    /// Visited this month.
    pub households_visited_this_month: u32,
    /// Visits this month.
    pub visits_this_month: u32,
    /// Households in a special group.
    pub special_group_households: u32,
    /// Of those, due soon.
    pub special_groups_due: u32,
    /// Of those, overdue.
    pub special_groups_overdue: u32,
    /// Open hazards.
    pub open_hazards: u32,
    /// Open hazards past their deadline.
    pub hazards_past_deadline: u32,
    /// Open cases.
    pub open_cases: u32,
    /// First-response target (minutes).
    pub response_target_minutes: i64,
    /// Unanswered past the target.
    pub cases_awaiting_response_overdue: u32,
    /// Answered late.
    pub cases_responded_late: u32,
    /// Past the target either way.
    pub cases_past_response_target: u32,
    /// Not handled in time.
    pub cases_past_handling_deadline: u32,
}

/// Result of a consistency check.
#[uniffi::remote(Record)]
pub struct CheckReport {
    /// Documents checked.
    pub documents: u64,
    /// Read-model rows compared.
    pub rows: u64,
    /// Differences found.
    pub differences: Vec<String>,
    /// True when none.
    pub ok: bool,
}

/// A document the server refused.
#[uniffi::remote(Record)]
pub struct Rejection {
    /// Document id.
    pub id: String,
    /// Why.
    pub reason: RejectReason,
}

/// What one sync did.
#[uniffi::remote(Record)]
pub struct SyncSummary {
    /// Docs pushed.
    pub docs_up: u32,
    /// Docs received.
    pub docs_down: u32,
    /// Bytes sent.
    pub bytes_up: u64,
    /// Bytes received.
    pub bytes_down: u64,
    /// HTTP round trips.
    pub round_trips: u32,
    /// Conflicts that appeared.
    pub new_conflicts: u32,
    /// Docs the server refused.
    pub rejected: Vec<Rejection>,
    /// Docs reconciled through the slow path.
    pub slow_path_docs: u32,
    /// Docs kept but not shown (a kind of a newer version, content this
    /// version cannot read), with why; they stay stored and synced.
    pub quarantined: Vec<QuarantinedDoc>,
    /// Docs of a newer format: shown read-only, not editable until the app
    /// is updated.
    pub read_only: Vec<String>,
}

/// A document kept and synced but not shown.
#[uniffi::remote(Record)]
pub struct QuarantinedDoc {
    /// Document id.
    pub id: String,
    /// Kind code (`unknown` for a kind of a newer version).
    pub kind: String,
    /// Grid it is filed under.
    pub scope: String,
    /// Why it could not be read.
    pub reason: String,
}

/// A filled form record. `answers_json` is a JSON object from field id to
/// answer (the shapes of `docs/forms.md`).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct FormRecordInfo {
    /// Id.
    pub id: FormRecordId,
    /// Template id and version it was filled with.
    pub template: TemplateRef,
    /// Household.
    pub household: Option<HouseholdId>,
    /// Free subject.
    pub subject: String,
    /// Answers as a JSON object.
    pub answers_json: String,
    /// Who filled it.
    pub worker: WorkerId,
    /// When.
    pub filled_at: Timestamp,
}

impl From<FormRecord> for FormRecordInfo {
    fn from(r: FormRecord) -> Self {
        FormRecordInfo {
            id: r.id,
            template: r.template,
            household: r.household,
            subject: r.subject,
            answers_json: serde_json::to_string(&r.answers).unwrap_or_default(),
            worker: r.worker,
            filled_at: r.filled_at,
        }
    }
}

/// A visit recorded together with the case it opened
/// ([`crate::store::GridworkStore::record_visit_with_case`]).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct VisitWithCase {
    /// The visit; its `follow_up_cases` holds the case.
    pub visit: Visit,
    /// The case, about the visited household.
    pub case: Case,
}

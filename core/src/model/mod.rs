//! Domain types: the records a gridworker keeps, the inputs that create or
//! edit them, and the field validators. Pure data — no storage, no documents.

pub mod attachment;
pub mod form;
pub mod grid;
pub mod household;
pub mod ids;
pub mod incident;
pub mod text;
pub mod validate;
pub mod visit;
pub mod workflow;

pub use form::{FormRecord, WorkLogDay};
pub use grid::{GridNode, Role, Worker};
pub use household::{
    Gender, Household, HouseholdEdit, HouseholdStatus, NewHousehold, NewResident, Resident,
    ResidentEdit, RiskLevel, SpecialGroup,
};
pub use ids::{
    CaseId, FormRecordId, GridCode, HazardId, HouseholdId, ResidentId, Timestamp, TransitionId,
    VisitId, WorkerId,
};
pub use incident::{duty_of_case_category, DUTY_CASE_CATEGORIES};
pub use incident::{Case, Channel, Hazard, NewCase, NewHazard, Severity, Urgency};
pub use visit::{ChecklistAnswer, Location, NewVisit, Outcome, TemplateRef, Visit};
pub use workflow::{CaseState, HazardState, Replay, Transition, Workflow};

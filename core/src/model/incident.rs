//! Hazards (安全隐患) and cases (居民诉求/事件): the two kinds of records that
//! move through a workflow of [`Transition`]s.

use super::ids::{CaseId, GridCode, HazardId, HouseholdId, ResidentId, Timestamp, WorkerId};
use super::visit::Location;
use super::workflow::{CaseState, HazardState, Transition};
use serde::{Deserialize, Serialize};

/// Severity of a hazard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 一般隐患.
    Low,
    /// 较大隐患.
    Medium,
    /// 重大隐患.
    High,
}

impl Severity {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// zh-CN label (what [`Severity::parse`] also reads).
    pub fn label_zh(self) -> &'static str {
        match self {
            Severity::Low => "一般",
            Severity::Medium => "较大",
            Severity::High => "重大",
        }
    }
    /// Parse a code (or 一般/较大/重大).
    pub fn parse(text: &str) -> crate::Result<Severity> {
        match text.trim() {
            "low" | "一般" => Ok(Severity::Low),
            "medium" | "较大" => Ok(Severity::Medium),
            "high" | "重大" => Ok(Severity::High),
            _ => Err(crate::Error::invalid(
                "severity",
                "严重程度应为 low/medium/high / severity must be low, medium or high",
            )),
        }
    }
}

/// A reported safety hazard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hazard {
    /// Id.
    pub id: HazardId,
    /// Grid it was found in.
    pub grid: GridCode,
    /// Category (消防, 燃气, 用电, 建筑, 交通, 防汛, 卫生, 其他 ...).
    pub category: String,
    /// Severity.
    pub severity: Severity,
    /// Where, if known.
    pub location: Option<Location>,
    /// Free description of the place (e.g. "3栋楼道").
    pub place: String,
    /// What is wrong.
    pub description: String,
    /// Related household, if any.
    pub household: Option<HouseholdId>,
    /// Rectification deadline.
    pub deadline: Option<Timestamp>,
    /// Photo blob hashes (sha-256 hex).
    pub photos: Vec<String>,
    /// Who reported it.
    pub reported_by: WorkerId,
    /// When.
    pub reported_at: Timestamp,
    /// Status derived from `transitions`.
    pub status: HazardState,
    /// Every transition, in canonical order.
    pub transitions: Vec<Transition>,
}

/// Input for reporting a hazard.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewHazard {
    /// Category (required).
    pub category: String,
    /// Severity code.
    pub severity: String,
    /// Location.
    pub location: Option<Location>,
    /// Place description.
    pub place: String,
    /// Description (required).
    pub description: String,
    /// Related household.
    pub household: Option<HouseholdId>,
    /// Deadline.
    pub deadline: Option<Timestamp>,
    /// Photo hashes.
    pub photos: Vec<String>,
}

/// Case categories that are themselves one of the twelve duties: handling
/// such a case is the duty's record, so it counts in the evaluation's forms
/// share without a separate form. (category, duty template id).
pub const DUTY_CASE_CATEGORIES: &[(&str, &str)] = &[
    ("帮办代办", "duty-proxy-services"),
    ("代办服务", "duty-proxy-services"),
    ("邻里纠纷", "duty-dispute-mediation"),
    ("矛盾纠纷", "duty-dispute-mediation"),
    ("矛盾调解", "duty-dispute-mediation"),
    ("矛盾纠纷调解", "duty-dispute-mediation"),
    ("养老服务", "duty-special-group-care"),
    ("特殊群体关爱", "duty-special-group-care"),
];

/// The duty template a case of `category` stands for, if it is a duty.
pub fn duty_of_case_category(category: &str) -> Option<&'static str> {
    let category = category.trim();
    DUTY_CASE_CATEGORIES
        .iter()
        .find(|(c, _)| *c == category)
        .map(|(_, duty)| *duty)
}

/// How a case reached the gridworker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// 走访发现.
    Visit,
    /// 电话.
    Phone,
    /// 微信群.
    Wechat,
    /// 来访.
    WalkIn,
}

impl Channel {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Channel::Visit => "visit",
            Channel::Phone => "phone",
            Channel::Wechat => "wechat",
            Channel::WalkIn => "walk_in",
        }
    }

    /// zh-CN label (what [`Channel::parse`] also reads).
    pub fn label_zh(self) -> &'static str {
        match self {
            Channel::Visit => "走访",
            Channel::Phone => "电话",
            Channel::Wechat => "微信群",
            Channel::WalkIn => "来访",
        }
    }
    /// Parse a code (or 走访/电话/微信群/来访).
    pub fn parse(text: &str) -> crate::Result<Channel> {
        match text.trim() {
            "visit" | "走访" => Ok(Channel::Visit),
            "phone" | "电话" => Ok(Channel::Phone),
            "wechat" | "微信" | "微信群" => Ok(Channel::Wechat),
            "walk_in" | "来访" => Ok(Channel::WalkIn),
            _ => Err(crate::Error::invalid("channel", "渠道应为 visit/phone/wechat/walk_in / channel must be visit, phone, wechat or walk_in")),
        }
    }
}

/// How urgent a case is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// 一般.
    Normal,
    /// 紧急.
    Urgent,
}

impl Urgency {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::Urgent => "urgent",
        }
    }

    /// zh-CN label (what [`Urgency::parse`] also reads).
    pub fn label_zh(self) -> &'static str {
        match self {
            Urgency::Normal => "一般",
            Urgency::Urgent => "紧急",
        }
    }
    /// Parse a code (or 一般/紧急).
    pub fn parse(text: &str) -> crate::Result<Urgency> {
        match text.trim() {
            "normal" | "" | "一般" => Ok(Urgency::Normal),
            "urgent" | "紧急" => Ok(Urgency::Urgent),
            _ => Err(crate::Error::invalid(
                "urgency",
                "紧急程度应为 normal/urgent / urgency must be normal or urgent",
            )),
        }
    }
}

/// A resident's request or an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Id.
    pub id: CaseId,
    /// Grid.
    pub grid: GridCode,
    /// How it came in.
    pub channel: Channel,
    /// Category (e.g. 环境卫生, 邻里纠纷, 帮办代办).
    pub category: String,
    /// What was asked or happened.
    pub description: String,
    /// Urgency.
    pub urgency: Urgency,
    /// Related household.
    pub household: Option<HouseholdId>,
    /// Related resident.
    pub resident: Option<ResidentId>,
    /// Who took it.
    pub opened_by: WorkerId,
    /// When it was taken (the 30-minute clock starts here).
    pub opened_at: Timestamp,
    /// Status derived from `transitions`.
    pub status: CaseState,
    /// When the first response (first transition) was made.
    pub first_response_at: Option<Timestamp>,
    /// True once any transition escalated it to the community.
    pub escalated: bool,
    /// Every transition, in canonical order.
    pub transitions: Vec<Transition>,
    /// Photos of the request itself (blob ids), e.g. the one a resident
    /// sent with it; a step's photos are on its transition. Empty for
    /// cases written before cases had photos.
    #[serde(default)]
    pub photos: Vec<String>,
    /// Deadlines under the grid's policy as of the read (not stored in the
    /// doc; default when materialised).
    #[serde(default)]
    pub timers: crate::schedule::CaseTimers,
}

/// Input for opening a case.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewCase {
    /// Channel code.
    pub channel: String,
    /// Category (required).
    pub category: String,
    /// Description (required).
    pub description: String,
    /// Urgency code.
    pub urgency: String,
    /// Related household.
    pub household: Option<HouseholdId>,
    /// Related resident (requires `household`).
    pub resident: Option<ResidentId>,
    /// When it was taken (defaults to now).
    pub opened_at: Option<Timestamp>,
    /// Photos of the request (blob ids of photos attached on this phone;
    /// at most [`super::attachment::MAX_PHOTOS`]).
    #[serde(default)]
    pub photos: Vec<String>,
}

//! Workflows of hazards and cases. Status is never stored as a bare field: it
//! is derived from an append-only list of [`Transition`]s, so concurrent
//! transitions made offline on different devices are all kept and the list is
//! the audit trail.
//!
//! Derivation rule: transitions are replayed in (`at`, `id`) order from the
//! initial state. A transition applies when its `from` is the state reached
//! so far and the workflow allows the move; otherwise it is a *workflow
//! conflict* — typically a phone that was offline moved the record from a
//! state it no longer has (closing a case the community had sent back) or
//! two devices moved it concurrently. A conflicting transition is kept (the
//! list is the audit trail) and does not move the state: what the others did
//! stands. It is listed as an open conflict until a later transition
//! applies — someone who saw the current state moved the record on.
//! A transition to a state this build does not know (a newer app's) is kept
//! and skipped, not a conflict. A new transition is validated against the
//! status derived at the moment it is made.

use super::ids::{Timestamp, TransitionId, WorkerId};
use serde::{Deserialize, Serialize};

/// One recorded step of a workflow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// Id (orders equal timestamps deterministically).
    pub id: TransitionId,
    /// When.
    pub at: Timestamp,
    /// Who made it.
    pub by: WorkerId,
    /// State before, as the author saw it.
    pub from: String,
    /// State after.
    pub to: String,
    /// Free note (e.g. what was done, why it was escalated).
    pub note: String,
    /// Photos taken with this step (blob ids): a rectification's "after"
    /// photos, a case's handling. Empty for most steps.
    #[serde(default)]
    pub photos: Vec<String>,
    /// Who the record was handed to by this step (a dispatch: an id of the
    /// server's directory of handlers, a person or a department); empty
    /// for most steps.
    #[serde(default)]
    pub assignee: String,
}

/// Sort transitions into their canonical order.
pub fn sort_transitions(transitions: &mut [Transition]) {
    transitions.sort_by_key(|t| (t.at, t.id));
}

/// What replaying a record's transitions gives ([`Workflow::replay_all`]).
#[derive(Debug)]
pub struct Replay<'a, S> {
    /// The state reached.
    pub state: S,
    /// Every transition that did not apply, in replay order.
    pub skipped: Vec<&'a Transition>,
    /// Those after the last transition that applied: the open workflow
    /// conflict.
    pub open: Vec<&'a Transition>,
}

/// A workflow: a set of states and the moves allowed between them.
pub trait Workflow: Copy + Sized + 'static {
    /// The state a new record starts in.
    const INITIAL: Self;
    /// Every state.
    const ALL: &'static [Self];
    /// Stable code.
    fn code(self) -> &'static str;
    /// zh-CN label.
    fn label_zh(self) -> &'static str;
    /// States reachable in one step.
    fn next(self) -> &'static [Self];
    /// True when the record needs no more work.
    fn is_terminal(self) -> bool;

    /// Parse a code or zh label.
    fn parse(text: &str) -> crate::Result<Self> {
        let t = text.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|s| s.code() == t || s.label_zh() == t)
            .ok_or_else(|| crate::Error::invalid("to", "未知状态 / unknown state"))
    }

    /// Status derived from transitions (sorted or not), by the replay rule
    /// of this module.
    fn derive(transitions: &[Transition]) -> Self {
        Self::replay(transitions).0
    }

    /// Replay `transitions` (sorted or not) in (`at`, `id`) order: the state
    /// reached and the open workflow conflicts — the transitions that did
    /// not apply after the last one that did — in replay order.
    fn replay(transitions: &[Transition]) -> (Self, Vec<&Transition>) {
        let r = Self::replay_all(transitions);
        (r.state, r.open)
    }

    /// The whole replay: also every transition that did not apply (for the
    /// history shown to people).
    fn replay_all(transitions: &[Transition]) -> Replay<'_, Self> {
        let mut ordered: Vec<&Transition> = transitions.iter().collect();
        ordered.sort_by_key(|t| (t.at, t.id));
        let mut replay = Replay {
            state: Self::INITIAL,
            skipped: Vec::new(),
            open: Vec::new(),
        };
        for t in ordered {
            let Some(to) = Self::ALL.iter().copied().find(|s| s.code() == t.to) else {
                continue; // A state of a newer app: kept, not understood here.
            };
            if t.from == replay.state.code() && replay.state.check_move(to).is_ok() {
                replay.state = to;
                replay.open.clear();
            } else {
                replay.skipped.push(t);
                replay.open.push(t);
            }
        }
        replay
    }

    /// The state whose author may not make the move to `self` (separation
    /// of duties: whoever reported the handling back may not verify it);
    /// `None` for most states.
    fn separated_from(self) -> Option<Self> {
        None
    }

    /// Check that `self → to` is allowed.
    fn check_move(self, to: Self) -> crate::Result<()> {
        if self.next().iter().any(|s| s.code() == to.code()) {
            Ok(())
        } else {
            Err(crate::Error::TransitionNotAllowed {
                from: self.code().to_string(),
                to: to.code().to_string(),
            })
        }
    }
}

/// Hazard rectification workflow: 上报 → 整改中 → 已整改 → 已销号.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HazardState {
    /// 已上报: reported, waiting for rectification.
    Reported,
    /// 整改中: rectification under way.
    Rectifying,
    /// 已整改: rectified, waiting for verification.
    Rectified,
    /// 已销号: verified and closed, or dismissed.
    Closed,
}

impl Workflow for HazardState {
    const INITIAL: Self = HazardState::Reported;
    const ALL: &'static [Self] = &[
        HazardState::Reported,
        HazardState::Rectifying,
        HazardState::Rectified,
        HazardState::Closed,
    ];
    fn code(self) -> &'static str {
        match self {
            HazardState::Reported => "reported",
            HazardState::Rectifying => "rectifying",
            HazardState::Rectified => "rectified",
            HazardState::Closed => "closed",
        }
    }
    fn label_zh(self) -> &'static str {
        match self {
            HazardState::Reported => "已上报",
            HazardState::Rectifying => "整改中",
            HazardState::Rectified => "已整改",
            HazardState::Closed => "已销号",
        }
    }
    fn next(self) -> &'static [Self] {
        match self {
            // A report may be dismissed (closed) after checking.
            HazardState::Reported => &[HazardState::Rectifying, HazardState::Closed],
            HazardState::Rectifying => &[HazardState::Rectified],
            // Verification either closes it or sends it back.
            HazardState::Rectified => &[HazardState::Closed, HazardState::Rectifying],
            HazardState::Closed => &[],
        }
    }
    fn is_terminal(self) -> bool {
        self == HazardState::Closed
    }
}

/// Case workflow after CJJ/T 106: 采集 → 立案 → 派遣 → 处置 → 反馈 → 核查 → 结案,
/// with escalation to the community (上报社区) from the early stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// 已采集: taken from the resident, not yet answered.
    Collected,
    /// 已立案 / 已受理: accepted — the first response.
    Registered,
    /// 已上报社区: escalated to the community for dispatch.
    Escalated,
    /// 已派遣: dispatched to a handler.
    Dispatched,
    /// 处置中: being handled.
    Handling,
    /// 已反馈: the handler reported back.
    Feedback,
    /// 已核查: the result was verified.
    Verified,
    /// 已结案.
    Closed,
}

impl Workflow for CaseState {
    const INITIAL: Self = CaseState::Collected;
    const ALL: &'static [Self] = &[
        CaseState::Collected,
        CaseState::Registered,
        CaseState::Escalated,
        CaseState::Dispatched,
        CaseState::Handling,
        CaseState::Feedback,
        CaseState::Verified,
        CaseState::Closed,
    ];
    fn code(self) -> &'static str {
        match self {
            CaseState::Collected => "collected",
            CaseState::Registered => "registered",
            CaseState::Escalated => "escalated",
            CaseState::Dispatched => "dispatched",
            CaseState::Handling => "handling",
            CaseState::Feedback => "feedback",
            CaseState::Verified => "verified",
            CaseState::Closed => "closed",
        }
    }
    fn label_zh(self) -> &'static str {
        match self {
            CaseState::Collected => "已采集",
            CaseState::Registered => "已立案",
            CaseState::Escalated => "已上报社区",
            CaseState::Dispatched => "已派遣",
            CaseState::Handling => "处置中",
            CaseState::Feedback => "已反馈",
            CaseState::Verified => "已核查",
            CaseState::Closed => "已结案",
        }
    }
    fn next(self) -> &'static [Self] {
        use CaseState::*;
        match self {
            Collected => &[Registered, Escalated],
            // A gridworker may handle a simple request directly (即接即办).
            Registered => &[Dispatched, Handling, Escalated],
            Escalated => &[Dispatched],
            Dispatched => &[Handling],
            Handling => &[Feedback, Escalated],
            // Verification may send the case back for more handling.
            Feedback => &[Verified, Handling],
            Verified => &[Closed],
            Closed => &[],
        }
    }
    fn separated_from(self) -> Option<Self> {
        match self {
            CaseState::Verified => Some(CaseState::Feedback),
            _ => None,
        }
    }
    fn is_terminal(self) -> bool {
        self == CaseState::Closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(at: i64, from: &str, to: &str) -> Transition {
        Transition {
            id: TransitionId::new(),
            at: Timestamp(at),
            by: WorkerId::from("w"),
            from: from.into(),
            to: to.into(),
            note: String::new(),
            photos: Vec::new(),
            assignee: String::new(),
        }
    }

    #[test]
    fn status_is_the_replay_of_the_transitions() {
        assert_eq!(CaseState::derive(&[]), CaseState::Collected);
        let list = vec![
            t(30, "registered", "dispatched"),
            t(10, "collected", "registered"),
        ];
        assert_eq!(CaseState::derive(&list), CaseState::Dispatched);
        assert!(CaseState::replay(&list).1.is_empty());
    }

    #[test]
    fn a_transition_from_a_state_the_record_no_longer_has_is_a_conflict() {
        // The community sends the case back for more handling; a phone that
        // was offline, and still saw it verified, closes it later.
        let list = vec![
            t(10, "collected", "registered"),
            t(20, "registered", "handling"),
            t(30, "handling", "feedback"),
            t(40, "feedback", "handling"),
            t(50, "feedback", "verified"),
            t(60, "verified", "closed"),
        ];
        let (state, conflicts) = CaseState::replay(&list);
        assert_eq!(state, CaseState::Handling, "the send-back stands");
        let moves: Vec<(&str, &str)> = conflicts
            .iter()
            .map(|t| (t.from.as_str(), t.to.as_str()))
            .collect();
        assert_eq!(moves, [("feedback", "verified"), ("verified", "closed")]);
        // Two devices moving it concurrently: the first by time applies.
        let both = vec![
            t(10, "collected", "registered"),
            t(11, "collected", "escalated"),
        ];
        let (state, conflicts) = CaseState::replay(&both);
        assert_eq!(state, CaseState::Registered);
        assert_eq!(conflicts.len(), 1);
        // Someone who saw the current state moves it on: no longer open.
        let mut moved_on = both.clone();
        moved_on.push(t(12, "registered", "dispatched"));
        let (state, conflicts) = CaseState::replay(&moved_on);
        assert_eq!(state, CaseState::Dispatched);
        assert!(conflicts.is_empty());
        // A move the workflow does not allow never applies; a state of a
        // newer app is skipped without being a conflict.
        let odd = vec![t(10, "collected", "closed"), t(20, "collected", "paused")];
        let (state, conflicts) = CaseState::replay(&odd);
        assert_eq!(state, CaseState::Collected);
        assert_eq!(conflicts.len(), 1);
    }

    #[test]
    fn moves_are_checked() {
        assert!(CaseState::Collected
            .check_move(CaseState::Registered)
            .is_ok());
        let err = CaseState::Collected
            .check_move(CaseState::Closed)
            .unwrap_err();
        assert!(matches!(err, crate::Error::TransitionNotAllowed { .. }));
        assert!(HazardState::Rectified
            .check_move(HazardState::Rectifying)
            .is_ok());
        assert!(HazardState::Closed
            .check_move(HazardState::Reported)
            .is_err());
        assert_eq!(CaseState::parse("已结案").unwrap(), CaseState::Closed);
    }
}

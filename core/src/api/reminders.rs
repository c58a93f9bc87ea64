//! Reminders for the apps' local notifications (issue 16 §3): what runs out
//! soon on this phone — households due a visit today (or overdue), cases
//! whose first-response or handling clock runs out within N minutes (or
//! already has), hazards whose rectification deadline falls within N
//! minutes (or has passed) — each with its due time, soonest first. The app
//! schedules one notification per reminder at `due_at` (or at once when
//! `overdue`) and asks again after each sync.
//!
//! Computed from the read models and the grid's policy with the same
//! timers the case and household screens show, so a reminder never
//! disagrees with the record it points at.

use super::Store;
use crate::model::{CaseState, HazardState, Timestamp};
use crate::schedule::DueStatus;
use crate::Result;
use serde::{Deserialize, Serialize};

/// What a reminder is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// A household due (or overdue) a visit; `due_at` is the start of its
    /// due date (local time).
    VisitDue,
    /// A case still waiting for its first response; `due_at` is when the
    /// 30-minute target runs out.
    CaseResponse,
    /// An open case whose handling deadline (the category's, under the
    /// grid's policy) comes; `due_at` is that deadline.
    CaseHandling,
    /// An open hazard whose rectification deadline comes.
    HazardDeadline,
}

/// One reminder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// What it is about.
    pub kind: ReminderKind,
    /// The record's id (household, case or hazard).
    pub id: String,
    /// What to show: the household's address, or the case's or hazard's
    /// category.
    pub title: String,
    /// When it runs out (ms since the epoch).
    pub due_at: Timestamp,
    /// True when `due_at` has passed.
    pub overdue: bool,
}

/// Longest look-ahead of [`Store::reminders`]: a week, in minutes.
pub const MAX_WITHIN_MINUTES: u32 = 7 * 24 * 60;

impl Store {
    /// Reminders due within `within_minutes` from now (at most a week),
    /// and everything already overdue, soonest first.
    pub fn reminders(&self, within_minutes: u32) -> Result<Vec<Reminder>> {
        let now = self.now();
        let horizon = Timestamp(now.0 + i64::from(within_minutes.min(MAX_WITHIN_MINUTES)) * 60_000);
        let today = self.today();
        let mut out = Vec::new();
        for h in self.list_households()? {
            if h.due_status == DueStatus::NotDue {
                continue;
            }
            let Ok(date) = h.next_visit_due.parse::<jiff::civil::Date>() else {
                continue;
            };
            if date > today {
                continue;
            }
            let start = Timestamp(crate::schedule::midnight(date, &self.tz));
            out.push(Reminder {
                kind: ReminderKind::VisitDue,
                id: h.id.to_string(),
                title: h.address,
                due_at: start,
                overdue: date < today,
            });
        }
        for case in self.list_cases(true)? {
            if case.status == CaseState::Closed {
                continue;
            }
            let timers = &case.timers;
            if case.first_response_at.is_none() && timers.response_due_at <= horizon {
                out.push(Reminder {
                    kind: ReminderKind::CaseResponse,
                    id: case.id.to_string(),
                    title: case.category.clone(),
                    due_at: timers.response_due_at,
                    overdue: timers.response_due_at <= now,
                });
            }
            // Handled (feedback given or verified): nothing left to do in time.
            let handled = matches!(case.status, CaseState::Feedback | CaseState::Verified);
            if !handled && timers.handling_due_at <= horizon {
                out.push(Reminder {
                    kind: ReminderKind::CaseHandling,
                    id: case.id.to_string(),
                    title: case.category.clone(),
                    due_at: timers.handling_due_at,
                    overdue: timers.handling_due_at <= now,
                });
            }
        }
        for hazard in self.list_hazards(true)? {
            if matches!(hazard.status, HazardState::Rectified | HazardState::Closed) {
                continue;
            }
            if let Some(deadline) = hazard.deadline.filter(|d| *d <= horizon) {
                out.push(Reminder {
                    kind: ReminderKind::HazardDeadline,
                    id: hazard.id.to_string(),
                    title: hazard.category.clone(),
                    due_at: deadline,
                    overdue: deadline <= now,
                });
            }
        }
        out.sort_by(|a, b| (a.due_at, a.kind, &a.id).cmp(&(b.due_at, b.kind, &b.id)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::tests::{at, household, phone, T0};
    use crate::model::{NewCase, NewHazard, NewVisit};
    use tempfile::TempDir;

    fn kinds(store: &Store, within: u32) -> Vec<(ReminderKind, String, bool)> {
        store
            .reminders(within)
            .unwrap()
            .into_iter()
            .map(|r| (r.kind, r.id, r.overdue))
            .collect()
    }

    #[test]
    fn reminders_follow_the_clocks_soonest_first() {
        let dir = TempDir::new().unwrap();
        let (store, clock) = phone(&dir, "a.db", "gw-1");
        // A new household is due today; a visited one is not.
        let due = household(&store, "1号楼101室", &[]);
        let visited = household(&store, "1号楼102室", &["elderly_alone"]);
        store
            .record_visit(NewVisit {
                household: visited.id,
                ..Default::default()
            })
            .unwrap();
        let case = store
            .open_case(NewCase {
                category: "环境卫生".into(),
                description: "楼道堆物".into(),
                ..Default::default()
            })
            .unwrap();
        let hazard = store
            .report_hazard(NewHazard {
                category: "消防".into(),
                severity: "medium".into(),
                description: "电动车楼道充电".into(),
                deadline: Some(at("2026-03-10T06:00:00Z")),
                ..Default::default()
            })
            .unwrap();
        let (h, c, z) = (
            due.id.to_string(),
            case.id.to_string(),
            hazard.id.to_string(),
        );
        let visit_due = store.reminders(0).unwrap();
        assert_eq!(visit_due.len(), 1, "{visit_due:?}");
        assert_eq!(visit_due[0].kind, ReminderKind::VisitDue);
        assert_eq!(visit_due[0].title, "1号楼101室");
        // Due today, from local midnight (16:00 UTC the day before).
        assert_eq!(visit_due[0].due_at, at("2026-03-09T16:00:00Z"));
        // Within 30 minutes: the case's first response (due T0 + 30 min).
        let soon = store.reminders(30).unwrap();
        assert_eq!(soon[1].kind, ReminderKind::CaseResponse);
        assert_eq!(soon[1].due_at, Timestamp(at(T0).0 + 30 * 60_000));
        assert!(!soon[1].overdue);
        // Within 5 hours: the hazard's deadline as well (4 hours away).
        assert_eq!(
            kinds(&store, 300),
            vec![
                (ReminderKind::VisitDue, h.clone(), false),
                (ReminderKind::CaseResponse, c.clone(), false),
                (ReminderKind::HazardDeadline, z.clone(), false),
            ]
        );
        // 45 minutes later, unanswered: overdue, shown with no look-ahead.
        clock.advance_minutes(45);
        assert_eq!(
            kinds(&store, 0),
            vec![
                (ReminderKind::VisitDue, h.clone(), false),
                (ReminderKind::CaseResponse, c.clone(), true),
            ]
        );
        // Answered: the response reminder goes; the handling deadline (the
        // default policy's, days away) shows within a week.
        store.transition_case(case.id, "registered", "").unwrap();
        assert!(!kinds(&store, 60).iter().any(|k| k.1 == c));
        assert!(kinds(&store, MAX_WITHIN_MINUTES).contains(&(
            ReminderKind::CaseHandling,
            c.clone(),
            false
        )));
        // Past the hazard's deadline: overdue until rectified.
        clock.advance_minutes(5 * 60);
        assert!(kinds(&store, 0).contains(&(ReminderKind::HazardDeadline, z.clone(), true)));
        store
            .transition_hazard(hazard.id, "rectifying", "")
            .unwrap();
        store.transition_hazard(hazard.id, "rectified", "").unwrap();
        assert!(!kinds(&store, 0).iter().any(|k| k.1 == z));
        // Visited: no longer due.
        store
            .record_visit(NewVisit {
                household: due.id,
                ..Default::default()
            })
            .unwrap();
        assert!(!kinds(&store, 0).iter().any(|k| k.1 == h));
    }
}

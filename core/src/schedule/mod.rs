//! Schedules: when each household is next due a visit and the timers on
//! cases (first response, handling deadline), both under the grid's
//! [`policy::Policy`].
//!
//! Days and months are counted in the store's time zone (Asia/Shanghai by
//! default, `StoreOptions::timezone`): a visit at 23:30 UTC on the 31st is a
//! visit on the 1st locally.

pub mod policy;
pub mod timers;

pub use policy::{Policy, PolicyOverride};
pub use timers::CaseTimers;

use crate::model::{SpecialGroup, Timestamp};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// Default first-response target for cases, in minutes.
pub const FIRST_RESPONSE_TARGET_MINUTES: i64 = policy::DEFAULT_FIRST_RESPONSE_MINUTES;

/// Default days before the due date from which a visit counts as "due soon".
pub const DUE_SOON_DAYS: i64 = policy::DEFAULT_DUE_SOON_DAYS;

/// How often a household must be visited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitInterval {
    /// Every week.
    Weekly,
    /// Every calendar month.
    Monthly,
    /// Every three calendar months.
    Quarterly,
}

impl VisitInterval {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            VisitInterval::Weekly => "weekly",
            VisitInterval::Monthly => "monthly",
            VisitInterval::Quarterly => "quarterly",
        }
    }

    /// The date one interval after `from`.
    pub fn after(self, from: Date) -> Date {
        let span = match self {
            VisitInterval::Weekly => jiff::Span::new().weeks(1),
            VisitInterval::Monthly => jiff::Span::new().months(1),
            VisitInterval::Quarterly => jiff::Span::new().months(3),
        };
        from.checked_add(span).unwrap_or(from)
    }
}

/// The interval under the default policy (see [`Policy::interval_for`]).
pub fn interval_for(tags: &[SpecialGroup]) -> VisitInterval {
    Policy::default().interval_for(tags)
}

/// Where a household stands against its schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueStatus {
    /// Past the due date.
    Overdue,
    /// Due today or within [`DUE_SOON_DAYS`].
    Due,
    /// Not yet due.
    NotDue,
}

/// The instant (UTC ms) a local date begins in `tz`.
pub fn midnight(date: Date, tz: &TimeZone) -> i64 {
    date.to_zoned_datetime(tz.clone())
        .map_or(0, |z| z.timestamp().as_millisecond())
}

/// The local calendar month that contains `date`: its first day and the
/// instants (UTC ms) it begins and ends (exclusive), in `tz`.
pub fn month_of(date: Date, tz: &TimeZone) -> (Date, i64, i64) {
    let first = date.first_of_month();
    let next = first.saturating_add(jiff::Span::new().months(1));
    (first, midnight(first, tz), midnight(next, tz))
}

/// `YYYY-MM` of a date.
pub fn month_code(date: Date) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

/// The local date of an instant.
pub fn local_date(at: Timestamp, tz: &TimeZone) -> Date {
    at.to_jiff().to_zoned_datetime(tz.clone()).date()
}

/// Next due date under the default policy (see [`next_due_with`]).
pub fn next_due(
    last_visit: Option<Timestamp>,
    created_at: Timestamp,
    tags: &[SpecialGroup],
    tz: &TimeZone,
) -> Date {
    next_due_with(&Policy::default(), last_visit, created_at, tags, tz)
}

/// Next due date: one interval after the last visit, or the registration day
/// when never visited.
pub fn next_due_with(
    policy: &Policy,
    last_visit: Option<Timestamp>,
    created_at: Timestamp,
    tags: &[SpecialGroup],
    tz: &TimeZone,
) -> Date {
    match last_visit {
        Some(at) => policy.interval_for(tags).after(local_date(at, tz)),
        None => local_date(created_at, tz),
    }
}

/// Status of a due date as of `today`, with the default due-soon window.
pub fn due_status(due: Date, today: Date) -> DueStatus {
    due_status_within(due, today, DUE_SOON_DAYS)
}

/// Status of a due date as of `today`: overdue when past, due when within
/// `soon_days` days.
pub fn due_status_within(due: Date, today: Date, soon_days: i64) -> DueStatus {
    if due < today {
        DueStatus::Overdue
    } else if today
        .checked_add(jiff::Span::new().days(soon_days))
        .is_ok_and(|soon| due <= soon)
    {
        DueStatus::Due
    } else {
        DueStatus::NotDue
    }
}

/// Days a due date is past `today` (0 when not overdue).
pub fn days_overdue(due: Date, today: Date) -> i64 {
    if due >= today {
        return 0;
    }
    due.until(today)
        .map(|s| i64::from(s.get_days()))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn policy_picks_the_most_frequent_interval() {
        assert_eq!(interval_for(&[]), VisitInterval::Quarterly);
        assert_eq!(
            interval_for(&[SpecialGroup::LowIncome]),
            VisitInterval::Monthly
        );
        assert_eq!(
            interval_for(&[SpecialGroup::LowIncome, SpecialGroup::ElderlyAlone]),
            VisitInterval::Weekly
        );
    }

    #[test]
    fn due_dates_use_the_local_calendar() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        // 2026-01-31T17:00Z is 2026-02-01 01:00 in Shanghai.
        let at = Timestamp::from_jiff("2026-01-31T17:00:00Z".parse().unwrap());
        assert_eq!(local_date(at, &tz), date(2026, 2, 1));
        assert_eq!(next_due(Some(at), at, &[], &tz), date(2026, 5, 1));
        assert_eq!(
            next_due(Some(at), at, &[SpecialGroup::Disabled], &tz),
            date(2026, 3, 1)
        );
        assert_eq!(next_due(None, at, &[], &tz), date(2026, 2, 1));
    }

    #[test]
    fn statuses() {
        let today = date(2026, 3, 10);
        assert_eq!(due_status(date(2026, 3, 9), today), DueStatus::Overdue);
        assert_eq!(due_status(date(2026, 3, 10), today), DueStatus::Due);
        assert_eq!(due_status(date(2026, 3, 13), today), DueStatus::Due);
        assert_eq!(due_status(date(2026, 3, 14), today), DueStatus::NotDue);
        assert_eq!(days_overdue(date(2026, 3, 1), today), 9);
    }
}

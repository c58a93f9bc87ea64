//! The per-grid schedule policy: how often each special group is visited,
//! the first-response target for cases and the handling deadline per case
//! category.
//!
//! Staff set a sparse [`PolicyOverride`] on any grid node on the server; the
//! server folds the overrides from the town down to each grid
//! ([`Policy::with`]) and publishes the *effective* [`Policy`] of every grid
//! as a read-only `policy/<grid>` doc, so a phone needs only its own grid's
//! doc and no knowledge of the grid tree. Without one, [`Policy::default`]
//! applies.

use super::VisitInterval;
use crate::model::SpecialGroup;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Default first-response target for cases, in minutes.
pub const DEFAULT_FIRST_RESPONSE_MINUTES: i64 = 30;
/// Default handling deadline for a case category with no rule, in hours.
pub const DEFAULT_HANDLING_HOURS: i64 = 72;
/// Default days before the due date from which a visit counts as "due soon".
pub const DEFAULT_DUE_SOON_DAYS: i64 = 3;

/// The effective schedule rules of one grid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Visit interval per special group. A household follows the most
    /// frequent interval among its own and its current residents' groups.
    pub visit_intervals: BTreeMap<SpecialGroup, VisitInterval>,
    /// Interval for a special group missing from `visit_intervals`.
    pub special_group_interval: VisitInterval,
    /// Interval for households with no special group.
    pub default_interval: VisitInterval,
    /// Minutes from taking a case to the first response.
    pub first_response_minutes: i64,
    /// Hours from taking a case to the handler's feedback, per category.
    pub handling_hours: BTreeMap<String, i64>,
    /// Hours for a category missing from `handling_hours`.
    pub default_handling_hours: i64,
    /// Days before a due date from which a visit counts as due.
    pub due_soon_days: i64,
}

impl Policy {
    /// Read the effective policy published in a synced `policy/<grid>` doc.
    /// Forward-compatible: keys, special groups and intervals this build does
    /// not know (a newer server's) are skipped, and a setting missing or
    /// unreadable takes its default, so an older phone keeps scheduling with
    /// everything it understands.
    pub fn from_synced_json(text: &str) -> Result<Policy> {
        use serde_json::Value;
        let value: Value = serde_json::from_str(text)
            .map_err(|e| crate::json::json_error("policy", "策略", "policy", &e))?;
        let Some(obj) = value.as_object() else {
            return Err(Error::invalid(
                "policy",
                "策略 JSON 应为对象 / policy JSON must be an object",
            ));
        };
        fn get<T: serde::de::DeserializeOwned>(
            obj: &serde_json::Map<String, Value>,
            key: &str,
        ) -> Option<T> {
            obj.get(key)
                .and_then(|v| serde_json::from_value(v.clone()).ok())
        }
        fn map<K, V>(obj: &serde_json::Map<String, Value>, key: &str) -> Option<BTreeMap<K, V>>
        where
            K: serde::de::DeserializeOwned + Ord,
            V: serde::de::DeserializeOwned,
        {
            let entries = obj.get(key)?.as_object()?;
            Some(
                entries
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((
                            serde_json::from_value(Value::String(k.clone())).ok()?,
                            serde_json::from_value(v.clone()).ok()?,
                        ))
                    })
                    .collect(),
            )
        }
        let d = Policy::default();
        Ok(Policy {
            visit_intervals: map(obj, "visit_intervals").unwrap_or(d.visit_intervals),
            special_group_interval: get(obj, "special_group_interval")
                .unwrap_or(d.special_group_interval),
            default_interval: get(obj, "default_interval").unwrap_or(d.default_interval),
            first_response_minutes: get(obj, "first_response_minutes")
                .unwrap_or(d.first_response_minutes),
            handling_hours: map(obj, "handling_hours").unwrap_or(d.handling_hours),
            default_handling_hours: get(obj, "default_handling_hours")
                .unwrap_or(d.default_handling_hours),
            due_soon_days: get(obj, "due_soon_days").unwrap_or(d.due_soon_days),
        })
    }
}

impl Default for Policy {
    /// 独居/空巢老人 weekly; 残疾人, 低保, 重病 monthly (and every other special
    /// group monthly); households with no special group quarterly. First
    /// response within 30 minutes; handling within 72 hours.
    fn default() -> Self {
        use SpecialGroup::*;
        use VisitInterval::*;
        Policy {
            visit_intervals: [
                (ElderlyAlone, Weekly),
                (Disabled, Monthly),
                (LowIncome, Monthly),
                (SeriousIllness, Monthly),
            ]
            .into_iter()
            .collect(),
            special_group_interval: Monthly,
            default_interval: Quarterly,
            first_response_minutes: DEFAULT_FIRST_RESPONSE_MINUTES,
            handling_hours: BTreeMap::new(),
            default_handling_hours: DEFAULT_HANDLING_HOURS,
            due_soon_days: DEFAULT_DUE_SOON_DAYS,
        }
    }
}

/// Changes a grid node makes to the policy it inherits; absent keys inherit.
/// Map entries are merged key by key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyOverride {
    /// Per special group.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub visit_intervals: BTreeMap<SpecialGroup, VisitInterval>,
    /// See [`Policy::special_group_interval`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_group_interval: Option<VisitInterval>,
    /// See [`Policy::default_interval`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_interval: Option<VisitInterval>,
    /// See [`Policy::first_response_minutes`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_minutes: Option<i64>,
    /// Per case category.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub handling_hours: BTreeMap<String, i64>,
    /// See [`Policy::default_handling_hours`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_handling_hours: Option<i64>,
    /// See [`Policy::due_soon_days`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_soon_days: Option<i64>,
}

impl PolicyOverride {
    /// Parse from JSON text strictly (unknown keys are errors: staff input)
    /// and check the values.
    pub fn from_json(text: &str) -> Result<PolicyOverride> {
        let value: PolicyOverride = crate::json::parse_strict(text, "policy", "策略", "policy")?;
        value.check()?;
        Ok(value)
    }

    /// Every number in range: response 1 min–7 days, handling 1 h–365 days,
    /// due-soon 0–31 days; categories non-empty.
    pub fn check(&self) -> Result<()> {
        let range = |value: Option<i64>, field: &str, min: i64, max: i64| {
            if value.is_some_and(|v| v < min || v > max) {
                Err(Error::invalid(
                    format!("policy.{field}"),
                    format!("应在 {min} 到 {max} 之间 / must be between {min} and {max}"),
                ))
            } else {
                Ok(())
            }
        };
        range(
            self.first_response_minutes,
            "first_response_minutes",
            1,
            7 * 24 * 60,
        )?;
        range(
            self.default_handling_hours,
            "default_handling_hours",
            1,
            365 * 24,
        )?;
        range(self.due_soon_days, "due_soon_days", 0, 31)?;
        for (category, hours) in &self.handling_hours {
            if category.trim().is_empty() {
                return Err(Error::invalid(
                    "policy.handling_hours",
                    "类别不能为空 / a category must not be empty",
                ));
            }
            range(Some(*hours), "handling_hours", 1, 365 * 24)?;
        }
        Ok(())
    }
}

impl PolicyOverride {
    /// This override with `change` applied on top (maps merged key by key):
    /// what a grid node's settings become after staff change some keys.
    pub fn merged(mut self, change: &PolicyOverride) -> PolicyOverride {
        self.visit_intervals.extend(change.visit_intervals.clone());
        self.handling_hours.extend(change.handling_hours.clone());
        self.special_group_interval = change
            .special_group_interval
            .or(self.special_group_interval);
        self.default_interval = change.default_interval.or(self.default_interval);
        self.first_response_minutes = change
            .first_response_minutes
            .or(self.first_response_minutes);
        self.default_handling_hours = change
            .default_handling_hours
            .or(self.default_handling_hours);
        self.due_soon_days = change.due_soon_days.or(self.due_soon_days);
        self
    }
}

impl Policy {
    /// This policy with `change` applied on top.
    pub fn with(mut self, change: &PolicyOverride) -> Policy {
        self.visit_intervals.extend(change.visit_intervals.clone());
        self.handling_hours.extend(
            change
                .handling_hours
                .iter()
                .map(|(k, v)| (k.trim().to_string(), *v)),
        );
        if let Some(v) = change.special_group_interval {
            self.special_group_interval = v;
        }
        if let Some(v) = change.default_interval {
            self.default_interval = v;
        }
        if let Some(v) = change.first_response_minutes {
            self.first_response_minutes = v;
        }
        if let Some(v) = change.default_handling_hours {
            self.default_handling_hours = v;
        }
        if let Some(v) = change.due_soon_days {
            self.due_soon_days = v;
        }
        self
    }

    /// The interval for a household whose groups (own and residents') are
    /// `tags`: the most frequent that applies.
    pub fn interval_for(&self, tags: &[SpecialGroup]) -> VisitInterval {
        tags.iter()
            .map(|t| {
                self.visit_intervals
                    .get(t)
                    .copied()
                    .unwrap_or(self.special_group_interval)
            })
            .min()
            .unwrap_or(self.default_interval)
    }

    /// Handling deadline in hours for a case category.
    pub fn handling_hours_for(&self, category: &str) -> i64 {
        self.handling_hours
            .get(category.trim())
            .copied()
            .unwrap_or(self.default_handling_hours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_issue() {
        let p = Policy::default();
        use SpecialGroup::*;
        assert_eq!(p.interval_for(&[]), VisitInterval::Quarterly);
        assert_eq!(p.interval_for(&[ElderlyAlone]), VisitInterval::Weekly);
        for g in [Disabled, LowIncome, SeriousIllness, Floating] {
            assert_eq!(p.interval_for(&[g]), VisitInterval::Monthly, "{g:?}");
        }
        assert_eq!(
            p.interval_for(&[LowIncome, ElderlyAlone]),
            VisitInterval::Weekly
        );
        assert_eq!(p.first_response_minutes, 30);
        assert_eq!(p.handling_hours_for("环境卫生"), 72);
    }

    #[test]
    fn overrides_fold_top_down() {
        let town = PolicyOverride::from_json(
            r#"{"first_response_minutes": 20, "handling_hours": {"环境卫生": 24},
                "visit_intervals": {"floating": "quarterly"}}"#,
        )
        .unwrap();
        let grid = PolicyOverride::from_json(
            r#"{"visit_intervals": {"low_income": "weekly"}, "handling_hours": {"邻里纠纷": 48},
                "default_interval": "monthly"}"#,
        )
        .unwrap();
        let p = Policy::default().with(&town).with(&grid);
        assert_eq!(p.first_response_minutes, 20);
        assert_eq!(p.handling_hours_for("环境卫生"), 24);
        assert_eq!(p.handling_hours_for(" 邻里纠纷 "), 48);
        assert_eq!(p.handling_hours_for("其他"), 72);
        assert_eq!(
            p.interval_for(&[SpecialGroup::LowIncome]),
            VisitInterval::Weekly
        );
        assert_eq!(
            p.interval_for(&[SpecialGroup::Floating]),
            VisitInterval::Quarterly
        );
        assert_eq!(p.interval_for(&[]), VisitInterval::Monthly);
        // The JSON of an effective policy round-trips.
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Policy>(&text).unwrap(), p);
    }

    #[test]
    fn bad_overrides_are_typed_errors() {
        for (text, field) in [
            (
                r#"{"first_response_minutes": 0}"#,
                "policy.first_response_minutes",
            ),
            (r#"{"handling_hours": {"": 3}}"#, "policy.handling_hours"),
            (r#"{"due_soon_days": 90}"#, "policy.due_soon_days"),
            (r#"{"visit_intervals": {"nobody": "weekly"}}"#, "policy"),
            (r#"{"visit_interval": {}}"#, "policy"),
            (r#"{"due_soon_days": 3, "reminder": true}"#, "policy"),
        ] {
            match PolicyOverride::from_json(text) {
                Err(Error::Validation { field: f, .. }) => assert_eq!(f, field, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}

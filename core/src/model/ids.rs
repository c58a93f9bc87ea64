//! Identifier and time newtypes shared by every record kind.
//!
//! Record ids are UUIDv7 (time-ordered, generated offline on any device without
//! coordination). Worker ids and grid codes are assigned by the office and are
//! plain strings. Times are UTC milliseconds since the Unix epoch.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// The id's canonical hyphenated text form.
            pub fn as_string(&self) -> String {
                self.0.hyphenated().to_string()
            }
            /// Parse an id, reporting `field` on failure.
            pub fn parse_field(text: &str, field: &str) -> crate::Result<Self> {
                Uuid::parse_str(text.trim()).map(Self).map_err(|_| {
                    crate::Error::invalid(field, concat!("不是有效的编号 / not a valid ", $kind, " id"))
                })
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                Self::parse_field(s, "id")
            }
        }
    };
}

uuid_id!(
    /// Identifies a household (户).
    HouseholdId, "household"
);
uuid_id!(
    /// Identifies a resident (居民) within a household.
    ResidentId, "resident"
);
uuid_id!(
    /// Identifies one door-to-door visit (走访).
    VisitId, "visit"
);
uuid_id!(
    /// Identifies a hazard report (隐患).
    HazardId, "hazard"
);
uuid_id!(
    /// Identifies a case: a resident request or an event (诉求/事件).
    CaseId, "case"
);
uuid_id!(
    /// Identifies a filled twelve-duties form record (十二个管一管).
    FormRecordId, "form record"
);
uuid_id!(
    /// Identifies one transition of a hazard or case.
    TransitionId, "transition"
);

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }
    };
}

string_id!(
    /// A worker's id as assigned by the office (e.g. `gw-0001`).
    WorkerId
);
string_id!(
    /// A grid node's code (e.g. `310115-003-012`), unique within a town.
    GridCode
);

/// A UTC instant in milliseconds since the Unix epoch.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }
    /// This instant plus `minutes`.
    pub fn plus_minutes(self, minutes: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(minutes.saturating_mul(60_000)))
    }
    /// The instant as a `jiff` timestamp (for calendar arithmetic).
    pub fn to_jiff(self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
    /// From a `jiff` timestamp.
    pub fn from_jiff(t: jiff::Timestamp) -> Timestamp {
        Timestamp(t.as_millisecond())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_jiff().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_round_trip_and_reject_garbage() {
        let id = HouseholdId::new();
        assert_eq!(id.as_string().parse::<HouseholdId>().unwrap(), id);
        let err = HouseholdId::parse_field("nope", "household").unwrap_err();
        assert!(matches!(err, crate::Error::Validation { ref field, .. } if field == "household"));
    }

    #[test]
    fn ids_are_time_ordered() {
        let a = CaseId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = CaseId::new();
        assert!(a < b);
    }
}

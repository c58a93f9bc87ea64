//! One spreadsheet cell, with its type: text, numbers, booleans, and dates
//! and times as ISO text (never as Excel serial numbers).

use calamine::{DataRef, ExcelDateTime};

/// A cell's value. Text is trimmed.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// No value (also a cell holding only spaces).
    Empty,
    /// Text.
    Text(String),
    /// A whole number stored as such.
    Int(i64),
    /// A number.
    Float(f64),
    /// TRUE / FALSE.
    Bool(bool),
    /// A date-formatted cell without a time of day: `YYYY-MM-DD`.
    Date(String),
    /// A time-formatted cell without a date: `HH:MM`, or `HH:MM:SS` when
    /// the seconds are not zero.
    Time(String),
    /// A date with a time of day: `YYYY-MM-DD HH:MM[:SS]`.
    DateTime(String),
    /// A duration (`[h]:mm` formats, ISO 8601 durations), as text: `HH:MM[:SS]`
    /// (hours may exceed 24) or the ISO text.
    Duration(String),
    /// An error value (`#N/A`, `#DIV/0!`, …).
    Error,
}

impl Cell {
    /// The cell as text; `None` for an error value. Whole numbers have no
    /// decimal point; dates and times are ISO text.
    pub fn text(&self) -> Option<String> {
        Some(match self {
            Cell::Empty => String::new(),
            Cell::Text(s)
            | Cell::Date(s)
            | Cell::Time(s)
            | Cell::DateTime(s)
            | Cell::Duration(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Cell::Float(f) => f.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Error => return None,
        })
    }

    /// True for date, time, date-time and duration cells.
    pub fn is_temporal(&self) -> bool {
        matches!(
            self,
            Cell::Date(_) | Cell::Time(_) | Cell::DateTime(_) | Cell::Duration(_)
        )
    }

    /// True for [`Cell::Empty`].
    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// Convert a calamine cell. `shared` strings are copied.
    pub(crate) fn from_calamine(data: DataRef<'_>) -> Cell {
        let text = |s: &str| {
            let s = s.trim();
            if s.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(s.to_string())
            }
        };
        match data {
            DataRef::Empty => Cell::Empty,
            DataRef::String(s) => text(&s),
            DataRef::SharedString(s) => text(s),
            DataRef::Int(i) => Cell::Int(i),
            DataRef::Float(f) => Cell::Float(f),
            DataRef::Bool(b) => Cell::Bool(b),
            DataRef::DateTime(d) => serial(d),
            DataRef::DateTimeIso(s) => iso(s.trim()),
            DataRef::DurationIso(s) => Cell::Duration(s.trim().to_string()),
            DataRef::Error(_) => Cell::Error,
        }
    }
}

/// `HH:MM`, or `HH:MM:SS` when `s` is not zero.
fn hm(h: u64, m: u64, s: u64) -> String {
    if s == 0 {
        format!("{h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// An Excel serial date/time: a value below 1 is a time of day, a whole
/// value a date, anything else a date with a time.
fn serial(d: ExcelDateTime) -> Cell {
    let value = d.as_f64();
    if !value.is_finite() || value < 0.0 {
        return Cell::Float(value);
    }
    // Seconds of the day, rounded (0.333… is 08:00, not 07:59:59.999).
    let day_secs = ((value.fract() * 86_400.0).round() as u64).min(86_399);
    let (h, m, s) = (day_secs / 3600, day_secs / 60 % 60, day_secs % 60);
    if d.is_duration() {
        let total = (value * 86_400.0).round() as u64;
        return Cell::Duration(hm(total / 3600, total / 60 % 60, total % 60));
    }
    if value < 1.0 {
        return Cell::Time(hm(h, m, s));
    }
    let (year, month, day, ..) = d.to_ymd_hms_milli();
    let date = format!("{year:04}-{month:02}-{day:02}");
    if day_secs == 0 {
        Cell::Date(date)
    } else {
        Cell::DateTime(format!("{date} {}", hm(h, m, s)))
    }
}

/// An ISO 8601 date, time or date-time cell (`t="d"` cells, ODS).
fn iso(text: &str) -> Cell {
    let time = |t: &str| {
        let t = t.trim_end_matches('Z');
        let t = t.split('.').next().unwrap_or(t);
        t.strip_suffix(":00").unwrap_or(t).to_string()
    };
    match text.split_once('T') {
        Some((date, t)) if time(t) == "00:00" => Cell::Date(date.to_string()),
        Some((date, t)) => Cell::DateTime(format!("{date} {}", time(t))),
        None if text.contains(':') => Cell::Time(time(text)),
        None if text.is_empty() => Cell::Empty,
        None => Cell::Date(text.to_string()),
    }
}

//! Field validators for Chinese identity numbers, phone numbers, dates and
//! coordinates. Each returns a typed [`crate::Error::Validation`] naming the
//! field and never echoing the (personal) value.

use crate::{Error, Result};

/// Weights of the GB 11643-1999 check digit, one per leading digit.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check characters indexed by the weighted sum modulo 11.
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Validate an 18-character resident identity number (公民身份号码): 17 digits,
/// a check character per GB 11643, and an embedded birth date that exists.
/// Returns the normalised number (upper-case `X`).
pub fn id_number(raw: &str, field: &str) -> Result<String> {
    let value = raw.trim().to_ascii_uppercase();
    let bytes = value.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return Err(Error::invalid(
            field,
            "身份证号应为18位 / ID number must have 18 characters",
        ));
    }
    let sum: u32 = bytes[..17]
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    if bytes[17] != ID_CHECK[(sum % 11) as usize] {
        return Err(Error::invalid(
            field,
            "身份证号校验位错误 / ID number check digit is wrong",
        ));
    }
    if birth_date_of_id(&value).is_none() {
        return Err(Error::invalid(
            field,
            "身份证号中的出生日期无效 / ID number has an invalid birth date",
        ));
    }
    Ok(value)
}

/// The birth date embedded in a (validated) identity number, as `YYYY-MM-DD`.
pub fn birth_date_of_id(id: &str) -> Option<String> {
    let digits = id.get(6..14)?;
    let text = format!("{}-{}-{}", &digits[0..4], &digits[4..6], &digits[6..8]);
    jiff::civil::Date::strptime("%Y-%m-%d", &text).ok()?;
    Some(text)
}

/// Validate a mainland phone number: a mobile number (11 digits starting 1[3-9])
/// or a landline with area code (`0xx-xxxxxxxx`). An optional `+86`/`86`
/// prefix and spaces are accepted. Returns the normalised number.
pub fn phone(raw: &str, field: &str) -> Result<String> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let rest = compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("0086"))
        .unwrap_or(&compact);
    let rest = if rest.len() == 13 && rest.starts_with("86") {
        &rest[2..]
    } else {
        rest
    };
    let is_mobile = rest.len() == 11
        && rest.starts_with('1')
        && matches!(rest.as_bytes()[1], b'3'..=b'9')
        && rest.bytes().all(|b| b.is_ascii_digit());
    let is_landline = {
        let (area, number) = match rest.split_once('-') {
            Some((a, n)) => (a, n),
            None => (
                rest.get(..rest.len().saturating_sub(8)).unwrap_or(""),
                rest.get(rest.len().saturating_sub(8)..).unwrap_or(""),
            ),
        };
        area.starts_with('0')
            && (3..=4).contains(&area.len())
            && (7..=8).contains(&number.len())
            && area
                .bytes()
                .chain(number.bytes())
                .all(|b| b.is_ascii_digit())
    };
    if is_mobile || is_landline {
        Ok(rest.to_string())
    } else {
        Err(Error::invalid(
            field,
            "电话号码格式不正确 / malformed phone number",
        ))
    }
}

/// Earliest calendar date accepted anywhere (and earliest birth date).
pub const EARLIEST_DATE: jiff::civil::Date = jiff::civil::date(1900, 1, 1);
/// Latest calendar date accepted anywhere.
pub const LATEST_DATE: jiff::civil::Date = jiff::civil::date(2100, 12, 31);

/// Parse a calendar date `YYYY-MM-DD`.
fn parse_date(raw: &str, field: &str) -> Result<jiff::civil::Date> {
    jiff::civil::Date::strptime("%Y-%m-%d", raw.trim())
        .map_err(|_| Error::invalid(field, "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD"))
}

/// Validate a calendar date `YYYY-MM-DD` between `earliest` and `latest`
/// (inclusive).
pub fn date_between(
    raw: &str,
    field: &str,
    earliest: jiff::civil::Date,
    latest: jiff::civil::Date,
) -> Result<String> {
    let date = parse_date(raw, field)?;
    if date < earliest || date > latest {
        return Err(Error::invalid(
            field,
            format!(
                "日期应在 {earliest} 至 {latest} 之间 / date must be from {earliest} to {latest}"
            ),
        ));
    }
    Ok(date.to_string())
}

/// Validate a calendar date `YYYY-MM-DD` from 1900-01-01 to 2100-12-31.
pub fn date(raw: &str, field: &str) -> Result<String> {
    date_between(raw, field, EARLIEST_DATE, LATEST_DATE)
}

/// Validate a birth date `YYYY-MM-DD`: from 1900-01-01 to `today` (the
/// store's local date).
pub fn birth_date(raw: &str, field: &str, today: jiff::civil::Date) -> Result<String> {
    let date = parse_date(raw, field)?;
    if date > today {
        return Err(Error::invalid(
            field,
            "出生日期不能晚于今天 / birth date must not be in the future",
        ));
    }
    if date < EARLIEST_DATE {
        return Err(Error::invalid(
            field,
            "出生日期不能早于 1900-01-01 / birth date must not be before 1900-01-01",
        ));
    }
    Ok(date.to_string())
}

/// Validate a month `YYYY-MM` (month 01–12, year 1900–2100).
pub fn month(raw: &str, field: &str) -> Result<String> {
    let text = raw.trim();
    let bad = || {
        Error::invalid(
            field,
            "月份格式应为 YYYY-MM（月为 01–12） / month must be YYYY-MM with a month from 01 to 12",
        )
    };
    let (year, month) = text.split_once('-').ok_or_else(bad)?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(year, 4) || !digits(month, 2) {
        return Err(bad());
    }
    let (y, m): (i16, i8) = (
        year.parse().map_err(|_| bad())?,
        month.parse().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) || !(EARLIEST_DATE.year()..=LATEST_DATE.year()).contains(&y) {
        return Err(bad());
    }
    Ok(text.to_string())
}

/// Validate an instant given by the caller (a visit's start, a case's
/// opening, a hazard's deadline): from 2000-01-01 (UTC) to `latest`.
pub fn instant(
    at: crate::model::Timestamp,
    field: &str,
    latest: crate::model::Timestamp,
) -> Result<()> {
    /// 2000-01-01T00:00:00Z in milliseconds.
    const EARLIEST_MS: i64 = 946_684_800_000;
    if at.0 < EARLIEST_MS || at > latest {
        return Err(Error::invalid(
            field,
            "时间超出合理范围 / time is out of the sensible range",
        ));
    }
    Ok(())
}

/// Validate a WGS-84 latitude/longitude pair and a non-negative accuracy (m).
pub fn location(lat: f64, lon: f64, accuracy_m: Option<f64>) -> Result<()> {
    if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
        return Err(Error::invalid(
            "lat",
            "纬度超出范围 / latitude out of range",
        ));
    }
    if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
        return Err(Error::invalid(
            "lon",
            "经度超出范围 / longitude out of range",
        ));
    }
    if let Some(a) = accuracy_m {
        if !(a.is_finite() && a >= 0.0) {
            return Err(Error::invalid(
                "accuracy",
                "精度必须为非负数 / accuracy must be non-negative",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_number_check_digit() {
        // Example from GB 11643 commentary: 11010519491231002X.
        assert_eq!(
            id_number("11010519491231002x", "id").unwrap(),
            "11010519491231002X"
        );
        assert!(id_number("110105194912310021", "id").is_err());
        assert!(id_number("1101051949123100", "id").is_err());
        // Valid check digit but impossible date (Feb 30).
        let err = id_number("110105194902300027", "id_number");
        assert!(err.is_err());
        assert_eq!(
            birth_date_of_id("11010519491231002X").as_deref(),
            Some("1949-12-31")
        );
    }

    #[test]
    fn phones() {
        assert_eq!(phone("138 0013 8000", "p").unwrap(), "13800138000");
        assert_eq!(phone("+8613800138000", "p").unwrap(), "13800138000");
        assert_eq!(phone("021-62345678", "p").unwrap(), "021-62345678");
        assert!(phone("12800138000", "p").is_err());
        assert!(phone("1380013800", "p").is_err());
        assert!(phone("hello", "p").is_err());
        let err = phone("999", "phone").unwrap_err().to_string();
        assert!(err.starts_with("phone:") && !err.contains("999"));
    }

    #[test]
    fn dates_and_locations() {
        assert_eq!(date("2024-02-29", "d").unwrap(), "2024-02-29");
        assert_eq!(date(" 2024-02-29 ", "d").unwrap(), "2024-02-29");
        assert!(date("2023-02-29", "d").is_err());
        assert!(date("0000-01-01", "d").is_err());
        assert!(date("1899-12-31", "d").is_err());
        assert!(date("2101-01-01", "d").is_err());
        assert!(location(31.2, 121.5, Some(8.0)).is_ok());
        assert!(location(91.0, 0.0, None).is_err());
        assert!(location(0.0, 0.0, Some(-1.0)).is_err());
    }

    #[test]
    fn birth_dates_months_and_instants() {
        let today = jiff::civil::date(2026, 12, 4);
        assert_eq!(birth_date("1949-12-31", "b", today).unwrap(), "1949-12-31");
        assert_eq!(birth_date("2026-12-04", "b", today).unwrap(), "2026-12-04");
        for bad in ["2099-01-01", "2026-12-05", "0000-01-01", "1899-12-31", "x"] {
            let err = birth_date(bad, "birth_date", today)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("birth_date: ") && !err.contains(bad),
                "{err}"
            );
        }
        assert_eq!(month("2026-12", "month").unwrap(), "2026-12");
        assert_eq!(month("2026-01", "month").unwrap(), "2026-01");
        for bad in [
            "2026-13", "2026-00", "2026-1", "26-01", "2026", "2026-1a", "0000-01", "",
        ] {
            let err = month(bad, "month").unwrap_err().to_string();
            assert!(err.starts_with("month: "), "{bad}: {err}");
        }
        let now = crate::model::Timestamp(1_796_000_000_000);
        assert!(instant(now, "t", now).is_ok());
        assert!(instant(crate::model::Timestamp(now.0 + 1), "t", now).is_err());
        assert!(instant(crate::model::Timestamp(0), "t", now).is_err());
    }
}

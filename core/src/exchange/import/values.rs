//! One data row's cells as values: the row itself, the collected row
//! errors, the household and resident values a row or group sets, and the
//! cell parsers and ID-number checks that produce them.

use super::super::REGISTER_COLUMNS;
use super::columns::col;
use super::RowError;
use crate::model::*;
use crate::{Error, Result};
use std::collections::BTreeMap;

/// One data row with its register values: `None` where the column is absent.
pub(super) struct Row {
    pub(super) number: u32,
    pub(super) values: [Option<String>; col::COUNT],
}

impl Row {
    pub(super) fn get(&self, c: usize) -> Option<&str> {
        self.values[c].as_deref()
    }
    pub(super) fn text(&self, c: usize) -> &str {
        self.get(c).unwrap_or("")
    }
    pub(super) fn has_resident(&self) -> bool {
        (col::RESIDENT_ID..=col::MOVED_OUT).any(|c| !self.text(c).is_empty())
    }
}

/// Collects row errors; converts validator errors into them.
#[derive(Default)]
pub(super) struct Errors(pub(super) Vec<RowError>);

impl Errors {
    pub(super) fn push(&mut self, row: u32, c: usize, message: impl Into<String>) {
        self.0.push(RowError {
            row,
            column: REGISTER_COLUMNS[c].key.to_string(),
            message: message.into(),
        });
    }

    /// The value, or `None` after recording a validation error against
    /// column `c`. Other errors (storage) are returned.
    pub(super) fn check<T>(&mut self, row: u32, c: usize, result: Result<T>) -> Result<Option<T>> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(Error::Validation { message, .. }) => {
                self.push(row, c, message);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// Household values of a group: `None` = column absent (left as it is).
#[derive(Default)]
pub(super) struct HouseholdValues {
    pub(super) text: BTreeMap<usize, String>,
    pub(super) tags: Option<Vec<SpecialGroup>>,
    pub(super) risk: Option<RiskLevel>,
    pub(super) status: Option<HouseholdStatus>,
}

/// Resident values of a row, final (inferred from the ID number where blank).
#[derive(Default)]
pub(super) struct ResidentValues {
    pub(super) name: Option<String>,
    pub(super) gender: Option<Gender>,
    pub(super) birth_date: Option<String>,
    pub(super) id_number: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) relation: Option<String>,
    pub(super) tags: Option<Vec<SpecialGroup>>,
    pub(super) moved_out: Option<bool>,
}

/// Split a tag cell (`;`, `,`, `、`, `|` and full-width forms) and parse it.
pub(super) fn parse_tag_cell(text: &str) -> Result<Vec<SpecialGroup>> {
    let tags: Vec<String> = text
        .split([';', '；', ',', '，', '、', '|'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    crate::model::household::parse_tags(&tags)
}

pub(super) fn parse_status(text: &str) -> Result<HouseholdStatus> {
    match text.trim() {
        "" | "在册" | "正常" => Ok(HouseholdStatus::Active),
        "已迁出" | "迁出" => Ok(HouseholdStatus::MovedOut),
        other => HouseholdStatus::parse(&other.to_ascii_lowercase()),
    }
}

pub(super) fn parse_bool(text: &str, field: &str) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "n" | "0" | "否" => Ok(false),
        "true" | "yes" | "y" | "1" | "是" | "已迁出" => Ok(true),
        _ => Err(Error::invalid(
            field,
            "应为 true/false（是/否） / must be true or false",
        )),
    }
}

pub(super) fn optional_phone(raw: &str, field: &str) -> Result<String> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        validate::phone(raw, field)
    }
}

/// An ID number, whose birth date must not be after `today`.
pub(super) fn optional_id_number(raw: &str, today: jiff::civil::Date) -> Result<String> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        let id = validate::id_number(raw, "id_number")?;
        let born = validate::birth_date_of_id(&id).unwrap_or_default();
        validate::birth_date(&born, "id_number", today)?;
        Ok(id)
    }
}

/// A birth date from 1900-01-01 to `today`, or empty.
pub(super) fn optional_birth_date(raw: &str, today: jiff::civil::Date) -> Result<String> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        validate::birth_date(raw, "birth_date", today)
    }
}

/// The text rule of a free-text household column (community, building,
/// unit, room, representative).
pub(super) fn household_rule(c: usize) -> text::TextRule {
    match c {
        col::COMMUNITY => text::COMMUNITY,
        col::BUILDING => text::BUILDING,
        col::UNIT => text::UNIT,
        col::ROOM => text::ROOM,
        col::ADDRESS => text::ADDRESS,
        _ => text::REPRESENTATIVE,
    }
}

/// Gender encoded in a valid ID number (17th digit odd for men).
pub(super) fn gender_of_id(id_number: &str) -> Gender {
    match id_number.as_bytes().get(16) {
        Some(d) if (d - b'0') % 2 == 1 => Gender::Male,
        Some(_) => Gender::Female,
        None => Gender::Unknown,
    }
}

/// The checks `add_resident` makes: birth date and gender must match the ID number.
pub(super) fn check_against_id(
    errors: &mut Errors,
    row: u32,
    id_number: &str,
    birth_date: &str,
    gender: Gender,
) {
    if id_number.is_empty() {
        return;
    }
    if !birth_date.is_empty()
        && validate::birth_date_of_id(id_number).as_deref() != Some(birth_date)
    {
        errors.push(
            row,
            col::BIRTH_DATE,
            "出生日期与身份证号不一致 / birth date does not match the ID number",
        );
    }
    if gender != Gender::Unknown && gender != gender_of_id(id_number) {
        errors.push(
            row,
            col::GENDER,
            "性别与身份证号不一致 / gender does not match the ID number",
        );
    }
}

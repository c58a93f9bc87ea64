//! The validation pass: rows grouped into households, every cell checked,
//! and each household and resident matched against the store (read inside
//! the import's write transaction) — the rules of the [module header](super).

use super::super::REGISTER_COLUMNS;
use super::columns::{col, HOUSEHOLD_COLUMNS};
use super::values::*;
use super::RowError;
use crate::docs::household::HouseholdDoc;
use crate::docs::DocId;
use crate::model::text;
use crate::model::*;
use crate::store::WriteTx;
use crate::{Error, Result};
use rusqlite::OptionalExtension;
use std::collections::{HashMap, HashSet};

/// The stored record a planned one is, or a new one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Target<T> {
    Existing(T),
    New,
}

pub(super) struct ResidentPlan {
    pub(super) row: u32,
    pub(super) target: Target<ResidentId>,
    /// The file's resident_id when the store does not know it.
    pub(super) unknown_id: Option<ResidentId>,
    pub(super) values: ResidentValues,
}

pub(super) struct HouseholdPlan {
    pub(super) row: u32,
    pub(super) target: Target<HouseholdId>,
    /// The file's household_id when the store does not know it.
    pub(super) unknown_id: Option<HouseholdId>,
    pub(super) values: HouseholdValues,
    pub(super) residents: Vec<ResidentPlan>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum GroupKey {
    Id(HouseholdId),
    Address(String),
}

/// The validation pass: every row checked, households and residents matched
/// against the store (read inside the import's write transaction).
pub(super) struct Planner<'t, 'a> {
    pub(super) tx: &'t mut WriteTx<'a>,
    pub(super) errors: Errors,
    /// Stored residents already taken by a row.
    pub(super) claimed_residents: HashSet<ResidentId>,
    /// Every valid resident_id of the file: such residents are never
    /// matched by ID number or name to another row.
    pub(super) file_resident_ids: HashSet<ResidentId>,
    /// resident_ids of the file seen so far.
    pub(super) seen_resident_ids: HashSet<ResidentId>,
    /// The ID number of each valid resident row, its row, and whether the
    /// import would give it to a resident (new, or changed).
    pub(super) id_numbers: Vec<(String, u32, bool)>,
    /// The store's local date: the latest birth date.
    pub(super) today: jiff::civil::Date,
}

impl Planner<'_, '_> {
    pub(super) fn plan(&mut self, rows: &[Row]) -> Result<Vec<HouseholdPlan>> {
        // Group rows into households, in order of first appearance.
        let mut groups: Vec<(GroupKey, Vec<usize>)> = Vec::new();
        let mut index: HashMap<GroupKey, usize> = HashMap::new();
        // The household of the row above: `Some(None)` when that row's
        // household_id was invalid (its continuation rows are skipped).
        let mut previous: Option<Option<usize>> = None;
        for (i, row) in rows.iter().enumerate() {
            let id_text = row.text(col::HOUSEHOLD_ID);
            let address = row.text(col::ADDRESS);
            let key = if !id_text.is_empty() {
                let parsed = HouseholdId::parse_field(id_text, "household_id");
                match self.errors.check(row.number, col::HOUSEHOLD_ID, parsed)? {
                    Some(id) => GroupKey::Id(id),
                    None => {
                        previous = Some(None);
                        continue;
                    }
                }
            } else if !address.is_empty() {
                GroupKey::Address(address.to_string())
            } else {
                match previous {
                    Some(Some(g)) => groups[g].1.push(i),
                    Some(None) => {}
                    None => {
                        self.errors
                            .push(row.number, col::ADDRESS, "不能为空 / must not be empty")
                    }
                }
                continue;
            };
            let g = *index.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(i);
            previous = Some(Some(g));
        }
        // Which household each group is: known household_ids and addresses
        // first, then unknown household_ids, which are matched by address
        // unless a household_id of the file names that household.
        let mut resolved: Vec<Option<(Target<HouseholdId>, Option<HouseholdId>)>> =
            vec![None; groups.len()];
        let mut named: HashSet<HouseholdId> = HashSet::new();
        let mut unknown = Vec::new();
        for (g, (key, members)) in groups.iter().enumerate() {
            let first = rows[members[0]].number;
            match key {
                GroupKey::Id(id) if self.tx.doc_exists(&DocId::household(*id))? => {
                    named.insert(*id);
                    resolved[g] = Some((Target::Existing(*id), None));
                }
                GroupKey::Id(_) => unknown.push(g),
                GroupKey::Address(address) => match self.households_at(address)?.as_slice() {
                    [] => resolved[g] = Some((Target::New, None)),
                    [one] => resolved[g] = Some((Target::Existing(*one), None)),
                    _ => self.errors.push(
                        first,
                        col::HOUSEHOLD_ID,
                        "有多户使用此地址，请填写户编号 / several households have this address: fill in household_id",
                    ),
                },
            }
        }
        for g in unknown {
            let GroupKey::Id(file_id) = groups[g].0 else {
                continue;
            };
            let address = groups[g]
                .1
                .iter()
                .map(|&i| rows[i].text(col::ADDRESS))
                .find(|a| !a.is_empty());
            let found = match address {
                Some(address) => self.households_at(address)?,
                None => Vec::new(),
            };
            let target = match found.as_slice() {
                [one] if named.insert(*one) => Target::Existing(*one),
                _ => Target::New,
            };
            resolved[g] = Some((target, Some(file_id)));
        }
        // Groups that are the same stored household become one (e.g. a row
        // added below an exported family with only the address filled in).
        let mut merged: Vec<(Target<HouseholdId>, Option<HouseholdId>, Vec<usize>)> = Vec::new();
        let mut by_household: HashMap<HouseholdId, usize> = HashMap::new();
        for ((_, members), resolution) in groups.into_iter().zip(resolved) {
            let Some((target, unknown_id)) = resolution else {
                continue;
            };
            if let Target::Existing(id) = target {
                if let Some(&m) = by_household.get(&id) {
                    let (_, known, rows) = &mut merged[m];
                    rows.extend(members);
                    rows.sort_unstable();
                    *known = known.or(unknown_id);
                    continue;
                }
                by_household.insert(id, merged.len());
            }
            merged.push((target, unknown_id, members));
        }
        let mut plans = Vec::with_capacity(merged.len());
        for (target, unknown_id, members) in merged {
            let members: Vec<&Row> = members.iter().map(|&i| &rows[i]).collect();
            plans.push(self.plan_household(target, unknown_id, &members)?);
        }
        self.check_duplicate_id_numbers();
        Ok(plans)
    }

    /// The stored households with exactly this address.
    fn households_at(&mut self, address: &str) -> Result<Vec<HouseholdId>> {
        let mut stmt = self
            .tx
            .conn()
            .prepare_cached("SELECT id FROM households WHERE address = ?1 ORDER BY id")?;
        let ids = stmt
            .query_map([address], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        ids.iter().map(|id| id.parse()).collect()
    }

    /// An ID number the import would give to a resident must not appear on
    /// another row of the file. Duplicates already stored are left alone, so
    /// re-importing an export never fails on them.
    fn check_duplicate_id_numbers(&mut self) {
        let mut rows: HashMap<&str, Vec<u32>> = HashMap::new();
        for (id, row, _) in &self.id_numbers {
            rows.entry(id.as_str()).or_default().push(*row);
        }
        for (id, row, introduced) in &self.id_numbers {
            let others = &rows[id.as_str()];
            if let Some(other) = others.iter().find(|r| **r != *row).filter(|_| *introduced) {
                self.errors.0.push(RowError {
                    row: *row,
                    column: REGISTER_COLUMNS[col::ID_NUMBER].key.to_string(),
                    message: format!(
                        "身份证号与第 {other} 行重复 / the ID number repeats row {other}"
                    ),
                });
            }
        }
    }

    /// Validate the rows of one household and match its residents.
    fn plan_household(
        &mut self,
        target: Target<HouseholdId>,
        unknown_id: Option<HouseholdId>,
        rows: &[&Row],
    ) -> Result<HouseholdPlan> {
        let existing = match target {
            Target::Existing(id) => Some(load_household(self.tx, id)?),
            Target::New => None,
        };
        let values = self.household_values(rows, existing.is_none())?;
        let mut residents = Vec::new();
        for row in rows.iter().filter(|r| r.has_resident()) {
            if let Some(plan) = self.plan_resident(row, existing.as_ref())? {
                residents.push(plan);
            }
        }
        Ok(HouseholdPlan {
            row: rows[0].number,
            target,
            unknown_id,
            values,
            residents,
        })
    }

    /// The household columns of a group: the first non-blank value of each,
    /// validated; a different non-blank value in a later row is an error.
    fn household_values(&mut self, rows: &[&Row], new: bool) -> Result<HouseholdValues> {
        let mut values = HouseholdValues::default();
        for c in HOUSEHOLD_COLUMNS {
            if rows[0].get(c).is_none() {
                if c == col::ADDRESS && new {
                    self.errors
                        .push(rows[0].number, c, "不能为空 / must not be empty");
                }
                continue;
            }
            let mut chosen: Option<(&str, u32)> = None;
            for row in rows {
                let text = row.text(c);
                match chosen {
                    _ if text.is_empty() => {}
                    None => chosen = Some((text, row.number)),
                    Some((first, n)) if first != text => self.errors.push(
                        row.number,
                        c,
                        format!(
                            "与本户第 {n} 行不一致 / differs from row {n} of the same household"
                        ),
                    ),
                    Some(_) => {}
                }
            }
            let (text, row) = chosen.unwrap_or(("", rows[0].number));
            match c {
                col::ADDRESS => {
                    if let Some(v) = self.errors.check(row, c, text::ADDRESS.check(text))? {
                        values.text.insert(c, v);
                    }
                }
                col::PHONE => {
                    if let Some(v) = self.errors.check(row, c, optional_phone(text, "phone"))? {
                        values.text.insert(c, v);
                    }
                }
                col::TAGS => values.tags = self.errors.check(row, c, parse_tag_cell(text))?,
                col::RISK => {
                    values.risk =
                        self.errors
                            .check(row, c, RiskLevel::parse(&text.to_ascii_lowercase()))?
                }
                col::STATUS => values.status = self.errors.check(row, c, parse_status(text))?,
                _ => {
                    if let Some(v) = self.errors.check(row, c, household_rule(c).check(text))? {
                        values.text.insert(c, v);
                    }
                }
            }
        }
        Ok(values)
    }

    /// Match a resident row to a resident of the household (or a new one)
    /// and validate its values.
    fn plan_resident(
        &mut self,
        row: &Row,
        household: Option<&HouseholdDoc>,
    ) -> Result<Option<ResidentPlan>> {
        let n = row.number;
        let errors_before = self.errors.0.len();
        // Values, field by field.
        let name = match row.get(col::NAME) {
            Some(t) => self
                .errors
                .check(n, col::NAME, text::RESIDENT_NAME.check(t))?,
            None => None,
        };
        let id_number = match row.get(col::ID_NUMBER) {
            Some(t) => self
                .errors
                .check(n, col::ID_NUMBER, optional_id_number(t, self.today))?,
            None => None,
        };
        let birth_date = match row.get(col::BIRTH_DATE) {
            Some(t) => self
                .errors
                .check(n, col::BIRTH_DATE, optional_birth_date(t, self.today))?,
            None => None,
        };
        let gender = match row.get(col::GENDER) {
            Some(t) => self
                .errors
                .check(n, col::GENDER, Gender::parse(&t.to_ascii_lowercase()))?,
            None => None,
        };
        let phone = match row.get(col::RESIDENT_PHONE) {
            Some(t) => {
                self.errors
                    .check(n, col::RESIDENT_PHONE, optional_phone(t, "resident_phone"))?
            }
            None => None,
        };
        let tags = match row.get(col::RESIDENT_TAGS) {
            Some(t) => self
                .errors
                .check(n, col::RESIDENT_TAGS, parse_tag_cell(t))?,
            None => None,
        };
        let moved_out = match row.get(col::MOVED_OUT) {
            Some(t) => self
                .errors
                .check(n, col::MOVED_OUT, parse_bool(t, "moved_out"))?,
            None => None,
        };
        let relation = match row.get(col::RELATION) {
            Some(t) => self
                .errors
                .check(n, col::RELATION, text::RELATION.check(t))?,
            None => None,
        };
        let file_id = match row.get(col::RESIDENT_ID).filter(|t| !t.is_empty()) {
            Some(t) => {
                let parsed = ResidentId::parse_field(t, "resident_id");
                match self.errors.check(n, col::RESIDENT_ID, parsed)? {
                    Some(id) => Some(id),
                    None => return Ok(None),
                }
            }
            None => None,
        };
        let invalid = self.errors.0.len() > errors_before;
        // Which resident: its resident_id if the household has it, else the
        // household's resident with the same ID number, else the same name.
        let stored = household.map(|h| &h.residents);
        if let Some(id) = file_id {
            if !self.seen_resident_ids.insert(id) {
                self.errors.push(
                    n,
                    col::RESIDENT_ID,
                    "同一居民在文件中出现两次 / the resident appears twice in the file",
                );
                return Ok(None);
            }
        }
        let known = file_id.filter(|id| stored.is_some_and(|s| s.contains_key(&id.to_string())));
        if let (Some(id), None) = (file_id, known) {
            let elsewhere: Option<String> = self
                .tx
                .conn()
                .query_row(
                    "SELECT household_id FROM residents WHERE id = ?1",
                    [id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            if elsewhere.is_some() {
                self.errors.push(
                    n,
                    col::RESIDENT_ID,
                    "该居民属于另一户 / the resident belongs to another household",
                );
                return Ok(None);
            }
        }
        let target = match known {
            Some(id) => Target::Existing(id),
            None => {
                let taken = |id: &ResidentId| {
                    self.claimed_residents.contains(id) || self.file_resident_ids.contains(id)
                };
                let candidates = || {
                    stored.into_iter().flatten().filter_map(|(id, r)| {
                        id.parse::<ResidentId>()
                            .ok()
                            .filter(|id| !taken(id))
                            .map(|id| (id, r))
                    })
                };
                let found = match id_number.as_deref().filter(|x| !x.is_empty()) {
                    Some(x) => candidates().find(|(_, r)| r.id_number == x),
                    None => name
                        .as_deref()
                        .and_then(|x| candidates().find(|(_, r)| r.name == x)),
                };
                found.map_or(Target::New, |(id, _)| Target::Existing(id))
            }
        };
        if let Target::Existing(id) = target {
            self.claimed_residents.insert(id);
        }
        let unknown_id = file_id.filter(|_| known.is_none());
        let mut values = ResidentValues {
            name,
            gender,
            birth_date,
            id_number,
            phone,
            relation,
            tags,
            moved_out,
        };
        if invalid {
            return Ok(None);
        }
        // A blank birth date or gender is taken from the ID number.
        let previous = match target {
            Target::Existing(id) => stored.and_then(|s| s.get(&id.to_string())),
            Target::New => None,
        };
        let id_final = values
            .id_number
            .clone()
            .or_else(|| previous.map(|p| p.id_number.clone()))
            .unwrap_or_default();
        if !id_final.is_empty() {
            if values.birth_date.as_deref() == Some("") {
                values.birth_date = validate::birth_date_of_id(&id_final);
            }
            if values.gender == Some(Gender::Unknown) {
                values.gender = Some(gender_of_id(&id_final));
            }
        }
        match previous {
            None => {
                if values.name.is_none() {
                    self.errors
                        .push(n, col::NAME, "不能为空 / must not be empty");
                }
                let birth = values.birth_date.clone().unwrap_or_default();
                let gender = values.gender.unwrap_or_default();
                check_against_id(&mut self.errors, n, &id_final, &birth, gender);
            }
            Some(p) => {
                let birth = values
                    .birth_date
                    .clone()
                    .unwrap_or_else(|| p.birth_date.clone());
                let gender = values
                    .gender
                    .unwrap_or_else(|| Gender::parse(&p.gender).unwrap_or_default());
                let changed =
                    id_final != p.id_number || birth != p.birth_date || gender.code() != p.gender;
                if changed {
                    check_against_id(&mut self.errors, n, &id_final, &birth, gender);
                }
            }
        }
        if !id_final.is_empty() {
            let introduced = previous.is_none_or(|p| p.id_number != id_final);
            self.id_numbers.push((id_final.clone(), n, introduced));
        }
        if target == Target::New {
            // Fill what a new resident needs from the values found.
            values
                .birth_date
                .get_or_insert_with(|| validate::birth_date_of_id(&id_final).unwrap_or_default());
            if values.gender.is_none() && !id_final.is_empty() {
                values.gender = Some(gender_of_id(&id_final));
            }
        }
        Ok(Some(ResidentPlan {
            row: n,
            target,
            unknown_id,
            values,
        }))
    }
}

/// The stored household document.
pub(super) fn load_household(tx: &mut WriteTx<'_>, id: HouseholdId) -> Result<HouseholdDoc> {
    tx.with_doc(&DocId::household(id), |am| Ok(autosurgeon::hydrate(am)?))?
        .ok_or_else(|| Error::not_found("household", id))
}

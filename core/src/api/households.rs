//! Households and residents: register, edit, show; conflicts on their fields.

use super::Store;
use crate::docs::household::{tag_set, HouseholdDoc, ResidentDoc};
use crate::docs::{DocId, DocKind};
use crate::model::household::parse_tags;
use crate::model::text::{self, check_edit};
use crate::model::*;
use crate::store::{CommitMeta, WriteTx};
use crate::{Conflict, Error, Result};
use automerge::ROOT;

/// Validate an optional phone: empty stays empty.
fn optional_phone(raw: &str, field: &str) -> Result<String> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        validate::phone(raw, field)
    }
}

fn apply_tag_edits(
    set: &mut std::collections::BTreeMap<String, bool>,
    add: &[String],
    remove: &[String],
) -> Result<()> {
    for t in parse_tags(add)? {
        set.insert(t.code().to_string(), true);
    }
    for t in parse_tags(remove)? {
        set.remove(t.code());
    }
    Ok(())
}

/// Validate a new resident into its document form; `today` is the store's
/// local date (the latest birth date).
fn resident_doc(
    input: &NewResident,
    at: Timestamp,
    today: jiff::civil::Date,
) -> Result<ResidentDoc> {
    let name = text::RESIDENT_NAME.check(&input.name)?;
    let id_number = if input.id_number.trim().is_empty() {
        String::new()
    } else {
        validate::id_number(&input.id_number, "id_number")?
    };
    let mut birth_date = if input.birth_date.trim().is_empty() {
        String::new()
    } else {
        validate::birth_date(&input.birth_date, "birth_date", today)?
    };
    let mut gender = Gender::parse(&input.gender)?;
    if !id_number.is_empty() {
        let from_id = validate::birth_date_of_id(&id_number).unwrap_or_default();
        if birth_date.is_empty() {
            birth_date = validate::birth_date(&from_id, "id_number", today)?;
        } else if birth_date != from_id {
            return Err(Error::invalid(
                "birth_date",
                "出生日期与身份证号不一致 / birth date does not match the ID number",
            ));
        }
        // The 17th digit is odd for men, even for women.
        let from_id_gender = if (id_number.as_bytes()[16] - b'0') % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        };
        if gender == Gender::Unknown {
            gender = from_id_gender;
        } else if gender != from_id_gender {
            return Err(Error::invalid(
                "gender",
                "性别与身份证号不一致 / gender does not match the ID number",
            ));
        }
    }
    Ok(ResidentDoc {
        name,
        gender: gender.code().into(),
        birth_date,
        id_number,
        phone: optional_phone(&input.phone, "phone")?,
        relation: text::RELATION.check(&input.relation)?,
        tags: tag_set(&parse_tags(&input.tags)?),
        moved_out: false,
        created_at: at.0,
    })
}

impl Store {
    /// Register a household in this phone's grid.
    pub fn add_household(&self, input: NewHousehold) -> Result<Household> {
        let (device, meta) = self.meta()?;
        let id = HouseholdId::new();
        self.db
            .write(|tx| add_household_in(tx, id, &input, &device.grid, &meta))?;
        self.household(id)
    }
}

/// Register a household inside a write transaction.
pub fn add_household_in(
    tx: &mut WriteTx<'_>,
    id: HouseholdId,
    input: &NewHousehold,
    grid: &GridCode,
    meta: &CommitMeta,
) -> Result<()> {
    let doc = HouseholdDoc {
        kind: DocKind::Household.code().into(),
        id: id.to_string(),
        grid: grid.0.clone(),
        community: text::COMMUNITY.check(&input.community)?,
        building: text::BUILDING.check(&input.building)?,
        unit: text::UNIT.check(&input.unit)?,
        room: text::ROOM.check(&input.room)?,
        address: text::ADDRESS.check(&input.address)?,
        representative: text::REPRESENTATIVE.check(&input.representative)?,
        phone: optional_phone(&input.phone, "phone")?,
        tags: tag_set(&parse_tags(&input.tags)?),
        risk: RiskLevel::parse(&input.risk)?.code().into(),
        status: HouseholdStatus::Active.code().into(),
        note: text::HOUSEHOLD_NOTE.check(&input.note)?,
        created_at: meta.at.0,
        residents: Default::default(),
    };
    tx.edit_doc(
        &DocId::household(id),
        DocKind::Household,
        grid,
        meta,
        |am| {
            autosurgeon::reconcile(am, &doc)?;
            Ok(())
        },
    )
}

impl Store {
    /// Edit household fields; `None` fields stay as they are.
    pub fn edit_household(&self, id: HouseholdId, edit: HouseholdEdit) -> Result<Household> {
        let community = check_edit(text::COMMUNITY, edit.community.as_deref())?;
        let building = check_edit(text::BUILDING, edit.building.as_deref())?;
        let unit = check_edit(text::UNIT, edit.unit.as_deref())?;
        let room = check_edit(text::ROOM, edit.room.as_deref())?;
        let address = check_edit(text::ADDRESS, edit.address.as_deref())?;
        let representative = check_edit(text::REPRESENTATIVE, edit.representative.as_deref())?;
        let note = check_edit(text::HOUSEHOLD_NOTE, edit.note.as_deref())?;
        let phone = edit
            .phone
            .as_deref()
            .map(|p| optional_phone(p, "phone"))
            .transpose()?;
        let risk = edit.risk.as_deref().map(RiskLevel::parse).transpose()?;
        let status = edit
            .status
            .as_deref()
            .map(HouseholdStatus::parse)
            .transpose()?;
        parse_tags(&edit.add_tags)?;
        parse_tags(&edit.remove_tags)?;
        self.edit_household_doc(id, |doc| {
            let set = |slot: &mut String, value: Option<String>| {
                if let Some(v) = value {
                    *slot = v;
                }
            };
            set(&mut doc.community, community);
            set(&mut doc.building, building);
            set(&mut doc.unit, unit);
            set(&mut doc.room, room);
            set(&mut doc.address, address);
            set(&mut doc.representative, representative);
            set(&mut doc.phone, phone);
            set(&mut doc.note, note);
            if let Some(r) = risk {
                doc.risk = r.code().into();
            }
            if let Some(s) = status {
                doc.status = s.code().into();
            }
            apply_tag_edits(&mut doc.tags, &edit.add_tags, &edit.remove_tags)
        })?;
        self.household(id)
    }

    /// Add a resident to a household.
    pub fn add_resident(&self, household: HouseholdId, input: NewResident) -> Result<Resident> {
        let (device, meta) = self.meta()?;
        let id = ResidentId::new();
        let today = crate::schedule::local_date(meta.at, &self.tz);
        self.db
            .write(|tx| add_resident_in(tx, household, id, &input, &device.grid, &meta, today))?;
        self.household(household)?
            .residents
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::not_found("resident", id))
    }

    /// Edit a resident.
    pub fn edit_resident(
        &self,
        household: HouseholdId,
        resident: ResidentId,
        edit: ResidentEdit,
    ) -> Result<Household> {
        let name = check_edit(text::RESIDENT_NAME, edit.name.as_deref())?;
        let relation = check_edit(text::RELATION, edit.relation.as_deref())?;
        let gender = edit.gender.as_deref().map(Gender::parse).transpose()?;
        let today = crate::schedule::local_date(self.now(), &self.tz);
        let birth = edit
            .birth_date
            .as_deref()
            .map(|d| validate::birth_date(d, "birth_date", today))
            .transpose()?;
        let id_number = edit
            .id_number
            .as_deref()
            .map(|x| {
                if x.trim().is_empty() {
                    Ok::<_, Error>(String::new())
                } else {
                    let id = validate::id_number(x, "id_number")?;
                    let born = validate::birth_date_of_id(&id).unwrap_or_default();
                    validate::birth_date(&born, "id_number", today)?;
                    Ok(id)
                }
            })
            .transpose()?;
        let phone = edit
            .phone
            .as_deref()
            .map(|p| optional_phone(p, "phone"))
            .transpose()?;
        parse_tags(&edit.add_tags)?;
        parse_tags(&edit.remove_tags)?;
        self.edit_household_doc(household, |doc| {
            let r = doc
                .residents
                .get_mut(&resident.to_string())
                .ok_or_else(|| Error::not_found("resident", resident))?;
            if let Some(v) = &name {
                r.name = v.clone();
            }
            if let Some(v) = gender {
                r.gender = v.code().into();
            }
            if let Some(v) = &birth {
                r.birth_date = v.clone();
            }
            if let Some(v) = &id_number {
                r.id_number = v.clone();
            }
            if let Some(v) = &phone {
                r.phone = v.clone();
            }
            if let Some(v) = relation {
                r.relation = v;
            }
            if let Some(v) = edit.moved_out {
                r.moved_out = v;
            }
            apply_tag_edits(&mut r.tags, &edit.add_tags, &edit.remove_tags)
        })?;
        self.household(household)
    }

    /// Hydrate the household doc, let `f` change it, reconcile the difference.
    fn edit_household_doc(
        &self,
        id: HouseholdId,
        f: impl FnOnce(&mut HouseholdDoc) -> Result<()>,
    ) -> Result<()> {
        let (device, meta) = self.meta()?;
        self.db
            .write(|tx| edit_household_doc_in(tx, id, &device.grid, &meta, f))
    }

    /// Fields of households, residents, hazards and cases that have several
    /// concurrent values, and the workflow conflicts of hazards and cases.
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        self.db.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT record, record_id, field, household_id, candidates FROM conflicts
                 ORDER BY household_id, record, record_id, field",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            rows.map(|row| {
                let (record, record_id, field, household, candidates) = row?;
                Ok(Conflict {
                    household: if household.is_empty() {
                        None
                    } else {
                        Some(household.parse()?)
                    },
                    resident: if record == "resident" {
                        Some(record_id.parse()?)
                    } else {
                        None
                    },
                    field,
                    values: serde_json::from_str(&candidates).unwrap_or_default(),
                    record,
                    record_id,
                })
            })
            .collect()
        })
    }

    /// Resolve a conflict of a household's or resident's field by choosing
    /// one of its values: an ordinary edit that overwrites every concurrent
    /// value of the field.
    pub fn resolve_conflict(
        &self,
        household: HouseholdId,
        resident: Option<ResidentId>,
        field: &str,
        chosen: &str,
    ) -> Result<Household> {
        let (record, record_id) = match resident {
            Some(r) => ("resident", r.to_string()),
            None => ("household", household.to_string()),
        };
        self.chosen_value(record, &record_id, field, chosen)?;
        let (device, meta) = self.meta()?;
        let doc_id = DocId::household(household);
        let field = field.to_string();
        let chosen = chosen.to_string();
        self.db.write(|tx| {
            tx.edit_doc(&doc_id, DocKind::Household, &device.grid, &meta, |am| {
                use automerge::transaction::Transactable;
                use automerge::ReadDoc;
                let obj = match resident {
                    None => ROOT,
                    Some(r) => {
                        let residents = match am.get(ROOT, "residents")? {
                            Some((_, obj)) => obj,
                            None => return Err(Error::not_found("resident", r)),
                        };
                        match am.get(&residents, r.to_string())? {
                            Some((_, obj)) => obj,
                            None => return Err(Error::not_found("resident", r)),
                        }
                    }
                };
                if field == "moved_out" {
                    am.put(&obj, field.as_str(), chosen == "true")?;
                } else {
                    am.put(&obj, field.as_str(), chosen.as_str())?;
                }
                Ok(())
            })
        })?;
        self.household(household)
    }

    /// Check that `record`'s `field` is in conflict and `chosen` is one of
    /// its values.
    pub(crate) fn chosen_value(
        &self,
        record: &str,
        record_id: &str,
        field: &str,
        chosen: &str,
    ) -> Result<()> {
        let conflict = self
            .conflicts()?
            .into_iter()
            .find(|c| c.record == record && c.record_id == record_id && c.field == field)
            .ok_or_else(|| Error::not_found("conflict", format!("{record}/{record_id}/{field}")))?;
        if field == crate::docs::conflicts::WORKFLOW {
            return Err(Error::invalid(
                "field",
                "流程冲突请通过新的状态流转解决 / a workflow conflict is resolved by a new transition",
            ));
        }
        if !conflict.values.iter().any(|v| v.value == chosen) {
            return Err(Error::invalid(
                "value",
                "不是冲突中的任一值 / not one of the conflicting values",
            ));
        }
        Ok(())
    }
}

/// The grid a new record (hazard, case, form record) is filed under: its
/// household's grid when it names one (which must exist here), else
/// `default` (the phone's grid). A community staff member's record about a
/// household thus lands in that household's grid, where the server's
/// content check expects it.
pub(crate) fn record_grid(
    tx: &WriteTx<'_>,
    household: Option<HouseholdId>,
    default: &GridCode,
) -> Result<GridCode> {
    match household {
        None => Ok(default.clone()),
        Some(h) => tx
            .doc_scope(&DocId::household(h))?
            .ok_or_else(|| Error::not_found("household", h)),
    }
}

/// Add a resident inside a write transaction; `today` is the local date
/// (the latest birth date).
pub fn add_resident_in(
    tx: &mut WriteTx<'_>,
    household: HouseholdId,
    id: ResidentId,
    input: &NewResident,
    grid: &GridCode,
    meta: &CommitMeta,
    today: jiff::civil::Date,
) -> Result<()> {
    let resident = resident_doc(input, meta.at, today)?;
    edit_household_doc_in(tx, household, grid, meta, |doc| {
        doc.residents.insert(id.to_string(), resident);
        Ok(())
    })
}

/// Hydrate a household doc, let `f` change it, reconcile the difference.
fn edit_household_doc_in(
    tx: &mut WriteTx<'_>,
    id: HouseholdId,
    grid: &GridCode,
    meta: &CommitMeta,
    f: impl FnOnce(&mut HouseholdDoc) -> Result<()>,
) -> Result<()> {
    let doc_id = DocId::household(id);
    if !tx.doc_exists(&doc_id)? {
        return Err(Error::not_found("household", id));
    }
    tx.edit_doc(&doc_id, DocKind::Household, grid, meta, |am| {
        let mut doc: HouseholdDoc = autosurgeon::hydrate(am)?;
        f(&mut doc)?;
        autosurgeon::reconcile(am, &doc)?;
        Ok(())
    })
}

//! The household profile document: household fields, special-group tags and
//! the residents, keyed by resident id. Edits hydrate the struct, change it and
//! reconcile it back; autosurgeon writes only the fields that changed, so an
//! edit costs a handful of Automerge ops.

use super::conflicts::{self, Conflict};
use super::parse_uuid;
use crate::model::*;
use automerge::{ObjType, ReadDoc, ROOT};
use autosurgeon::{Hydrate, HydrateError, Reconcile};
use std::collections::BTreeMap;

/// Household fields on which concurrent edits are surfaced as conflicts.
pub const HOUSEHOLD_CONFLICT_FIELDS: &[&str] = &[
    "community",
    "building",
    "unit",
    "room",
    "address",
    "representative",
    "phone",
    "risk",
    "status",
    "note",
];

/// Resident fields on which concurrent edits are surfaced as conflicts.
pub const RESIDENT_CONFLICT_FIELDS: &[&str] = &[
    "name",
    "gender",
    "birth_date",
    "id_number",
    "phone",
    "relation",
    "moved_out",
];

/// Root of a household profile document.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Default)]
pub struct HouseholdDoc {
    /// Always `household`.
    pub kind: String,
    /// Household id.
    pub id: String,
    /// Grid code.
    pub grid: String,
    /// 社区.
    pub community: String,
    /// 楼栋.
    pub building: String,
    /// 单元.
    pub unit: String,
    /// 房号.
    pub room: String,
    /// Address.
    pub address: String,
    /// Representative.
    pub representative: String,
    /// Phone.
    pub phone: String,
    /// Tag set: tag code → true (a map, so concurrent adds of different tags merge).
    pub tags: BTreeMap<String, bool>,
    /// Risk code.
    pub risk: String,
    /// Status code.
    pub status: String,
    /// Note.
    pub note: String,
    /// Registration time (ms).
    pub created_at: i64,
    /// Residents by id.
    pub residents: BTreeMap<String, ResidentDoc>,
}

/// A resident inside a household document.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Default)]
pub struct ResidentDoc {
    /// Name.
    pub name: String,
    /// Gender code.
    pub gender: String,
    /// Birth date.
    pub birth_date: String,
    /// ID number.
    pub id_number: String,
    /// Phone.
    pub phone: String,
    /// Relation.
    pub relation: String,
    /// Tag set.
    pub tags: BTreeMap<String, bool>,
    /// Moved out.
    pub moved_out: bool,
    /// Registration time (ms).
    pub created_at: i64,
}

/// Tag list → doc tag set.
pub fn tag_set(tags: &[SpecialGroup]) -> BTreeMap<String, bool> {
    tags.iter().map(|t| (t.code().to_string(), true)).collect()
}

fn tag_list(set: &BTreeMap<String, bool>) -> Vec<SpecialGroup> {
    let mut out: Vec<SpecialGroup> = set
        .iter()
        .filter(|(_, on)| **on)
        .filter_map(|(code, _)| SpecialGroup::parse(code).ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

impl HouseholdDoc {
    /// Convert to the domain type.
    pub fn to_model(&self) -> Result<Household, HydrateError> {
        let mut residents = self
            .residents
            .iter()
            .map(|(id, r)| {
                Ok(Resident {
                    id: parse_uuid(id, "resident id")?,
                    name: r.name.clone(),
                    gender: Gender::parse(&r.gender).unwrap_or_default(),
                    birth_date: r.birth_date.clone(),
                    id_number: r.id_number.clone(),
                    phone: r.phone.clone(),
                    relation: r.relation.clone(),
                    tags: tag_list(&r.tags),
                    moved_out: r.moved_out,
                    created_at: Timestamp(r.created_at),
                })
            })
            .collect::<Result<Vec<_>, HydrateError>>()?;
        residents.sort_by_key(|r| (r.created_at, r.id));
        Ok(Household {
            id: parse_uuid(&self.id, "household id")?,
            grid: GridCode(self.grid.clone()),
            community: self.community.clone(),
            building: self.building.clone(),
            unit: self.unit.clone(),
            room: self.room.clone(),
            address: self.address.clone(),
            representative: self.representative.clone(),
            phone: self.phone.clone(),
            tags: tag_list(&self.tags),
            risk: RiskLevel::parse(&self.risk).unwrap_or_default(),
            status: HouseholdStatus::parse(&self.status).unwrap_or_default(),
            note: self.note.clone(),
            created_at: Timestamp(self.created_at),
            residents,
        })
    }
}

/// Materialise a household doc: the household with residents, and the
/// conflicts on its fields and its residents' fields.
pub fn materialize(doc: &automerge::Automerge) -> Result<(Household, Vec<Conflict>), HydrateError> {
    let root: HouseholdDoc = autosurgeon::hydrate(doc)?;
    let household = root.to_model()?;
    let mut found = Vec::new();
    for (field, values) in conflicts::field_conflicts(doc, &ROOT, HOUSEHOLD_CONFLICT_FIELDS) {
        found.push(Conflict {
            household: Some(household.id),
            resident: None,
            field,
            values,
            record: "household".into(),
            record_id: household.id.to_string(),
        });
    }
    if let Ok(Some((automerge::Value::Object(ObjType::Map), residents))) =
        doc.get(ROOT, "residents")
    {
        for resident in &household.residents {
            let Ok(Some((automerge::Value::Object(ObjType::Map), obj))) =
                doc.get(&residents, resident.id.to_string())
            else {
                continue;
            };
            for (field, values) in conflicts::field_conflicts(doc, &obj, RESIDENT_CONFLICT_FIELDS) {
                found.push(Conflict {
                    household: Some(household.id),
                    resident: Some(resident.id),
                    field,
                    values,
                    record: "resident".into(),
                    record_id: resident.id.to_string(),
                });
            }
        }
    }
    Ok((household, found))
}

//! Writing a valid plan: one household at a time inside the import's
//! transaction, new records through the API's own write path, existing ones
//! as one change only when a value differs.

use super::columns::col;
use super::plan::{load_household, HouseholdPlan, Target};
use super::values::{HouseholdValues, ResidentValues};
use super::{ImportReport, Renumbered};
use crate::api::{add_household_in, add_resident_in};
use crate::docs::household::{tag_set, HouseholdDoc, ResidentDoc};
use crate::docs::{DocId, DocKind};
use crate::model::*;
use crate::store::{CommitMeta, WriteTx};
use crate::{Error, Result};
use std::collections::BTreeMap;

fn set_text(slot: &mut String, value: Option<&String>) {
    if let Some(v) = value {
        if *slot != *v {
            *slot = v.clone();
        }
    }
}

/// Replace a doc tag set by `tags` unless it already holds exactly them.
fn set_tags(slot: &mut BTreeMap<String, bool>, tags: Option<&Vec<SpecialGroup>>) {
    if let Some(tags) = tags {
        let want = tag_set(tags);
        let have: BTreeMap<String, bool> = slot
            .iter()
            .filter(|(_, on)| **on)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if have != want {
            *slot = want;
        }
    }
}

fn apply_household(doc: &mut HouseholdDoc, v: &HouseholdValues) {
    set_text(&mut doc.community, v.text.get(&col::COMMUNITY));
    set_text(&mut doc.building, v.text.get(&col::BUILDING));
    set_text(&mut doc.unit, v.text.get(&col::UNIT));
    set_text(&mut doc.room, v.text.get(&col::ROOM));
    set_text(&mut doc.address, v.text.get(&col::ADDRESS));
    set_text(&mut doc.representative, v.text.get(&col::REPRESENTATIVE));
    set_text(&mut doc.phone, v.text.get(&col::PHONE));
    set_tags(&mut doc.tags, v.tags.as_ref());
    if let Some(r) = v.risk {
        set_text(&mut doc.risk, Some(&r.code().to_string()));
    }
    if let Some(s) = v.status {
        set_text(&mut doc.status, Some(&s.code().to_string()));
    }
}

fn apply_resident(doc: &mut ResidentDoc, v: &ResidentValues) {
    set_text(&mut doc.name, v.name.as_ref());
    if let Some(g) = v.gender {
        set_text(&mut doc.gender, Some(&g.code().to_string()));
    }
    set_text(&mut doc.birth_date, v.birth_date.as_ref());
    set_text(&mut doc.id_number, v.id_number.as_ref());
    set_text(&mut doc.phone, v.phone.as_ref());
    set_text(&mut doc.relation, v.relation.as_ref());
    set_tags(&mut doc.tags, v.tags.as_ref());
    if let Some(m) = v.moved_out {
        doc.moved_out = m;
    }
}

/// Every value of a plan applied to a household doc (`ids`: the stored id
/// of each planned resident, in order).
fn apply_plan(doc: &mut HouseholdDoc, plan: &HouseholdPlan, ids: &[ResidentId]) -> Result<()> {
    apply_household(doc, &plan.values);
    for (resident, id) in plan.residents.iter().zip(ids) {
        let r = doc
            .residents
            .get_mut(&id.to_string())
            .ok_or_else(|| Error::not_found("resident", id))?;
        apply_resident(r, &resident.values);
    }
    Ok(())
}

fn codes(tags: &Option<Vec<SpecialGroup>>) -> Vec<String> {
    tags.iter()
        .flatten()
        .map(|t| t.code().to_string())
        .collect()
}

/// Write one planned household inside the import's transaction.
pub(super) fn apply(
    tx: &mut WriteTx<'_>,
    plan: &HouseholdPlan,
    grid: &GridCode,
    meta: &CommitMeta,
    report: &mut ImportReport,
    today: jiff::civil::Date,
) -> Result<()> {
    let v = &plan.values;
    let text = |c: usize| v.text.get(&c).cloned().unwrap_or_default();
    let (id, created) = match plan.target {
        Target::Existing(id) => (id, false),
        Target::New => {
            let id = HouseholdId::new();
            let input = NewHousehold {
                community: text(col::COMMUNITY),
                building: text(col::BUILDING),
                unit: text(col::UNIT),
                room: text(col::ROOM),
                address: text(col::ADDRESS),
                representative: text(col::REPRESENTATIVE),
                phone: text(col::PHONE),
                tags: codes(&v.tags),
                risk: v.risk.unwrap_or_default().code().into(),
                note: String::new(),
            };
            add_household_in(tx, id, &input, grid, meta)?;
            report.households_created += 1;
            (id, true)
        }
    };
    if let Some(file_id) = plan.unknown_id {
        report.renumbered.push(Renumbered {
            row: plan.row,
            kind: "household".into(),
            file_id: file_id.to_string(),
            id: id.to_string(),
        });
    }
    let mut ids = Vec::with_capacity(plan.residents.len());
    let mut added = false;
    for r in &plan.residents {
        let rid = match r.target {
            Target::Existing(rid) => rid,
            Target::New => {
                let rid = ResidentId::new();
                let rv = &r.values;
                let input = NewResident {
                    name: rv.name.clone().unwrap_or_default(),
                    gender: rv.gender.unwrap_or_default().code().into(),
                    birth_date: rv.birth_date.clone().unwrap_or_default(),
                    id_number: rv.id_number.clone().unwrap_or_default(),
                    phone: rv.phone.clone().unwrap_or_default(),
                    relation: rv.relation.clone().unwrap_or_default(),
                    tags: codes(&rv.tags),
                };
                add_resident_in(tx, id, rid, &input, grid, meta, today)?;
                report.residents_created += 1;
                added = true;
                rid
            }
        };
        if let Some(file_id) = r.unknown_id {
            report.renumbered.push(Renumbered {
                row: r.row,
                kind: "resident".into(),
                file_id: file_id.to_string(),
                id: rid.to_string(),
            });
        }
        ids.push(rid);
    }
    // Everything the create paths do not set (status, moved out) and every
    // edit of an existing household: one change, only if anything differs.
    let before = load_household(tx, id)?;
    let mut after = before.clone();
    apply_plan(&mut after, plan, &ids)?;
    if after != before {
        tx.edit_doc(
            &DocId::household(id),
            DocKind::Household,
            grid,
            meta,
            |am| {
                let mut doc: HouseholdDoc = autosurgeon::hydrate(am)?;
                apply_plan(&mut doc, plan, &ids)?;
                autosurgeon::reconcile(am, &doc)?;
                Ok(())
            },
        )?;
    }
    if !created {
        for (r, rid) in plan.residents.iter().zip(&ids) {
            if let Target::Existing(_) = r.target {
                let key = rid.to_string();
                if before.residents.get(&key) != after.residents.get(&key) {
                    report.residents_updated += 1;
                }
            }
        }
        if after != before || added {
            report.households_updated += 1;
        } else {
            report.unchanged += 1;
        }
    }
    Ok(())
}

//! The demo grid: a deterministic, realistic 4th-level grid — households with
//! Chinese names and addresses, special groups, years of monthly visits,
//! hazards, cases and twelve-duties forms — written through the same code
//! paths as real edits (one Automerge change per action, read models refreshed
//! in the same transaction). Content and ids depend only on the seed and the
//! store's clock; each household is committed in one transaction, so a demo
//! killed midway leaves whole households only.

mod names;

use crate::api::Store;
use crate::docs::DocId;
use crate::model::*;
use crate::store::CommitMeta;
use crate::Result;
use names::*;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What to generate.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct DemoOptions {
    /// Households in the grid.
    pub households: u32,
    /// Years of history before now.
    pub years: u32,
    /// Seed of the generator.
    pub seed: u64,
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoSummary {
    /// Households.
    pub households: u32,
    /// Residents.
    pub residents: u32,
    /// Visits.
    pub visits: u32,
    /// Hazards.
    pub hazards: u32,
    /// Cases.
    pub cases: u32,
    /// Twelve-duties form records.
    pub forms: u32,
}

const DAY_MS: i64 = 86_400_000;

struct Gen {
    rng: ChaCha8Rng,
}

impl Gen {
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.rng.random_range(0..list.len())]
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }
    fn uuid(&mut self, at: Timestamp) -> uuid::Uuid {
        let mut bytes = [0u8; 10];
        self.rng.fill_bytes(&mut bytes);
        uuid::Builder::from_unix_timestamp_millis(at.0.max(0) as u64, &bytes).into_uuid()
    }
    fn name(&mut self) -> String {
        format!("{}{}", self.pick(SURNAMES), self.pick(GIVEN))
    }
    fn phone(&mut self) -> String {
        let second = self.rng.random_range(3..=9);
        format!("1{second}{:09}", self.rng.random_range(0..1_000_000_000u64))
    }
    /// A valid GB 11643 identity number for a birth date and gender,
    /// registered in `region`.
    fn id_number(&mut self, region: &str, birth: jiff::civil::Date, male: bool) -> String {
        let seq = self.rng.random_range(0..50u32) * 2 + u32::from(male) + 100;
        let body = format!(
            "{region}{:04}{:02}{:02}{seq:03}",
            birth.year(),
            birth.month(),
            birth.day()
        );
        const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body
            .bytes()
            .zip(W)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        let check = b"10X98765432"[(sum % 11) as usize] as char;
        format!("{body}{check}")
    }
}

/// The demo gridworker a fresh store is initialised with: worker id, name,
/// grid.
pub const DEMO_WORKER: (&str, &str, &str) = ("gw-demo", "演示网格员", "DEMO-G01");

/// Make `store` ready for [`generate`] (`gridwork demo`): fabricated
/// records must never reach a real grid through a sync. A fresh store (not
/// initialised) is initialised with [`DEMO_WORKER`]. An initialised store is
/// refused unless `force`, and refused even then once it has synced (it has
/// a server's sync state or a document the server acknowledged). Nothing is
/// changed when refused.
pub fn prepare_store(store: &Store, force: bool) -> Result<()> {
    match store.device() {
        Err(crate::Error::NotInitialized) => {
            let (worker, name, grid) = DEMO_WORKER;
            store.init(worker, name, grid)?;
            return Ok(());
        }
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    if !force {
        return Err(crate::Error::invalid(
            "store",
            "演示数据只写入新的存储：此存储已初始化，演示户会被当作真实记录同步；确需写入从未同步过的存储请加 --force / demo data goes only into a fresh store: this store is initialised and the fabricated households would sync as real records; add --force for a store that has never synced",
        ));
    }
    let kept = crate::api::KEPT_SYNC_META
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let synced: i64 = store.db.read(|conn| {
        Ok(conn.query_row(
            &format!(
                "SELECT (SELECT count(*) FROM sync_meta WHERE key NOT IN ({kept}))
                      + (SELECT count(*) FROM sync_docs WHERE dirty = 0)"
            ),
            [],
            |r| r.get(0),
        )?)
    })?;
    if synced > 0 {
        return Err(crate::Error::invalid(
            "store",
            "此存储已与服务器同步过，演示数据会被同步出去，即使加 --force 也不写入 / this store has synced with a server: demo data would be synced out, so it is refused even with --force",
        ));
    }
    Ok(())
}

/// Fill the store with a demo grid in the phone's own grid, authored by the
/// phone's worker (see [`prepare_store`] for the stores it may fill). `progress` is called after each household is committed
/// with (households done, total).
pub fn generate(
    store: &Store,
    options: DemoOptions,
    progress: impl FnMut(u32, u32),
) -> Result<DemoSummary> {
    let device = store.device()?;
    generate_for(store, &device.grid, &device.worker_id, options, progress)
}

/// Fill the store with a demo grid for `grid`, authored by `worker` (the sync
/// server seeds several grids into one database this way).
pub fn generate_for(
    store: &Store,
    grid: &GridCode,
    worker: &WorkerId,
    options: DemoOptions,
    mut progress: impl FnMut(u32, u32),
) -> Result<DemoSummary> {
    if options.households == 0 || options.households > 2000 {
        return Err(crate::Error::invalid(
            "households",
            "户数应在 1–2000 之间 / households must be 1–2000",
        ));
    }
    if options.years > 20 {
        return Err(crate::Error::invalid(
            "years",
            "年数应在 0–20 之间 / years must be 0–20",
        ));
    }
    let now = store.now();
    let today = crate::schedule::local_date(now, &store.tz);
    let start = Timestamp(now.0 - i64::from(options.years) * 365 * DAY_MS - 7 * DAY_MS);
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(options.seed),
    };
    let mut summary = DemoSummary::default();
    let meta_at = |at: Timestamp| -> Result<CommitMeta> {
        let mut meta = store.meta_at(at)?.1;
        meta.worker = worker.clone();
        Ok(meta)
    };
    let communities = [g.pick(COMMUNITIES), g.pick(COMMUNITIES)];
    // The grid's block of the town, from its code: grids lie side by side.
    let block = {
        let h = grid
            .as_str()
            .bytes()
            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        (
            CENTRE.0 + f64::from(h % 5) * 0.004 - 0.008,
            CENTRE.1 + f64::from((h / 5) % 5) * 0.005 - 0.010,
        )
    };
    for index in 0..options.households {
        store.db.write(|tx| {
            let created = Timestamp(start.0 + g.rng.random_range(0..DAY_MS));
            let household = HouseholdId(g.uuid(created));
            let community = communities[(index as usize * 2) / options.households as usize];
            let building = 1 + index / 12;
            let unit = 1 + (index / 4) % 3;
            let room = 100 * (1 + (index % 4) + (index / 36) % 6) + 1 + index % 2;
            let elderly_alone = g.chance(0.10);
            let mut tags: Vec<String> = Vec::new();
            for (p, tag) in [
                (0.06, "low_income"),
                (0.08, "floating"),
                (0.02, "veteran_hardship"),
            ] {
                if g.chance(p) {
                    tags.push(tag.into());
                }
            }
            let representative = g.name();
            let floating = tags.iter().any(|t| t == "floating");
            let region = if floating {
                g.pick(ORIGIN_REGIONS)
            } else {
                g.pick(LOCAL_REGIONS)
            };
            // Where the household lives: its building in the grid's block.
            let home = (
                block.0
                    + f64::from(building % 4) * 0.0007
                    + g.rng.random_range(0..40) as f64 / 200_000.0,
                block.1
                    + f64::from(building / 4) * 0.0009
                    + g.rng.random_range(0..40) as f64 / 200_000.0,
            );
            let input = NewHousehold {
                community: community.into(),
                building: building.to_string(),
                unit: unit.to_string(),
                room: room.to_string(),
                address: format!("{community}{building}号楼{unit}单元{room}室"),
                representative: representative.clone(),
                phone: g.phone(),
                tags,
                risk: if g.chance(0.05) {
                    "red"
                } else if g.chance(0.1) {
                    "yellow"
                } else {
                    "none"
                }
                .into(),
                note: String::new(),
            };
            crate::api::add_household_in(tx, household, &input, grid, &meta_at(created)?)?;
            summary.households += 1;
            // Residents: the representative first, then family.
            let members = if elderly_alone {
                1
            } else {
                g.rng.random_range(1..=4)
            };
            let head_age: i32 = if elderly_alone {
                g.rng.random_range(70..92)
            } else {
                g.rng.random_range(28..80)
            };
            let mut spouse_taken = false;
            let mut tagged_resident = false;
            for m in 0..members {
                let (age, relation) = if m == 0 {
                    (head_age, "户主")
                } else {
                    family_member(&mut g, head_age, &mut spouse_taken)
                };
                let birth = jiff::civil::date(
                    (today.year() as i32 - age) as i16,
                    g.rng.random_range(1..=12),
                    g.rng.random_range(1..=28),
                )
                .min(today);
                let male = g.chance(0.5);
                let mut rtags: Vec<String> = Vec::new();
                if elderly_alone {
                    rtags.push("elderly_alone".into());
                }
                // Illness and disability grow with age; 困境儿童 are children.
                let (disabled, ill) = if age >= 60 {
                    (0.06, 0.08)
                } else {
                    (0.02, 0.02)
                };
                for (p, tag) in [
                    (disabled, "disabled"),
                    (ill, "serious_illness"),
                    (if age < 16 { 0.04 } else { 0.0 }, "child_in_distress"),
                ] {
                    if p > 0.0 && g.chance(p) {
                        rtags.push(tag.into());
                    }
                }
                tagged_resident |= !rtags.is_empty();
                let resident = NewResident {
                    name: if m == 0 {
                        representative.clone()
                    } else {
                        g.name()
                    },
                    gender: if male { "male" } else { "female" }.into(),
                    birth_date: String::new(),
                    id_number: g.id_number(region, birth, male),
                    phone: if g.chance(0.6) {
                        g.phone()
                    } else {
                        String::new()
                    },
                    relation: relation.into(),
                    tags: rtags,
                };
                let rid = ResidentId(g.uuid(created));
                crate::api::add_resident_in(
                    tx,
                    household,
                    rid,
                    &resident,
                    grid,
                    &meta_at(created)?,
                    today,
                )?;
                summary.residents += 1;
            }
            // Visits every month up to today, special groups every two
            // weeks; about one household in six has not been seen for the
            // last month or two (so the due list is not empty).
            let special = tagged_resident || !input.tags.is_empty();
            let lapse = if g.chance(0.16) {
                g.rng.random_range(1..=2)
            } else {
                0
            };
            let period = if special { 14 } else { 30 };
            let rounds = i64::from(options.years) * 365 / period;
            for round in lapse * 30 / period..rounds {
                let at = Timestamp(
                    now.0
                        - round * period * DAY_MS
                        - g.rng.random_range(0..period) * DAY_MS
                        - g.rng.random_range(0..9) * 3_600_000,
                );
                if at >= now || at < created {
                    continue;
                }
                let answers = crate::forms::default_pack::visit_checklist()
                    .fields
                    .iter()
                    .map(|f| {
                        let problem = g.chance(0.04);
                        ChecklistAnswer {
                            item: f.id.clone(),
                            outcome: if problem {
                                Outcome::Problem
                            } else if g.chance(0.1) {
                                Outcome::NotApplicable
                            } else {
                                Outcome::Ok
                            },
                            note: if problem {
                                "需跟进".into()
                            } else {
                                String::new()
                            },
                        }
                    })
                    .collect();
                let visit = NewVisit {
                    household,
                    started_at: Some(at),
                    ended_at: Some(at.plus_minutes(g.rng.random_range(8..30))),
                    location: Some(Location {
                        lat: home.0 + g.rng.random_range(-20..20) as f64 / 200_000.0,
                        lon: home.1 + g.rng.random_range(-20..20) as f64 / 200_000.0,
                        accuracy_m: Some(g.rng.random_range(5..40) as f64),
                    }),
                    answers,
                    note: if g.chance(0.1) {
                        "家中一切正常".into()
                    } else {
                        String::new()
                    },
                    follow_up_cases: vec![],
                    photos: vec![],
                };
                let id = VisitId(g.uuid(at));
                store.record_visit_in(tx, id, &visit, &meta_at(at)?)?;
                summary.visits += 1;
            }
            summary.hazards += demo_hazards(
                &meta_at,
                tx,
                &mut g,
                (household, home),
                start,
                now,
                options.years,
                grid,
            )?;
            summary.cases += demo_cases(
                &meta_at,
                tx,
                &mut g,
                household,
                start,
                now,
                options.years,
                grid,
            )?;
            Ok(())
        })?;
        progress(index + 1, options.households);
    }
    summary.forms = demo_forms(store, &meta_at, &mut g, start, now, options.years, grid)?;
    Ok(summary)
}

/// A family member of a head of household aged `head_age`: an age and a
/// relation that fit it (a spouse of about the same age, at most one;
/// children 22–38 years younger; parents 22–32 years older; grandchildren
/// 45–60 years younger).
fn family_member(g: &mut Gen, head_age: i32, spouse_taken: &mut bool) -> (i32, &'static str) {
    let mut options: Vec<(i32, &'static str)> = Vec::new();
    if !*spouse_taken && head_age >= 22 {
        options.push(((head_age + g.rng.random_range(-5..=5)).max(20), "配偶"));
    }
    if head_age >= 24 {
        options.push(((head_age - g.rng.random_range(22..=38)).max(0), "子女"));
    }
    if head_age <= 62 {
        options.push((head_age + g.rng.random_range(22..=32), "父母"));
    }
    if head_age >= 47 {
        options.push(((head_age - g.rng.random_range(45..=60)).max(0), "孙子女"));
    }
    if options.is_empty() {
        options.push((head_age + g.rng.random_range(-8..=8), "兄弟姐妹"));
    }
    let chosen = options[g.rng.random_range(0..options.len())];
    if chosen.1 == "配偶" {
        *spouse_taken = true;
    }
    chosen
}

fn random_time(g: &mut Gen, start: Timestamp, now: Timestamp) -> Timestamp {
    let span = (now.0 - start.0).max(DAY_MS);
    Timestamp(start.0 + g.rng.random_range(0..span))
}

#[allow(clippy::too_many_arguments)]
fn demo_hazards(
    meta_at: &dyn Fn(Timestamp) -> Result<CommitMeta>,
    tx: &mut crate::store::WriteTx<'_>,
    g: &mut Gen,
    (household, home): (HouseholdId, (f64, f64)),
    start: Timestamp,
    now: Timestamp,
    years: u32,
    grid: &GridCode,
) -> Result<u32> {
    let mut count = 0;
    for _ in 0..years {
        if !g.chance(0.67) {
            continue;
        }
        let at = random_time(g, start, now);
        let (category, description) = HAZARDS[g.rng.random_range(0..HAZARDS.len())];
        let id = HazardId(g.uuid(at));
        let input = NewHazard {
            category: category.into(),
            severity: if g.chance(0.1) {
                "high"
            } else if g.chance(0.3) {
                "medium"
            } else {
                "low"
            }
            .into(),
            location: Some(Location {
                lat: home.0,
                lon: home.1,
                accuracy_m: Some(g.rng.random_range(5..30) as f64),
            }),
            place: "楼道".into(),
            description: description.into(),
            household: Some(household),
            deadline: Some(Timestamp(at.0 + 14 * DAY_MS)),
            photos: vec![],
        };
        crate::api::report_hazard_in(tx, id, &input, grid, &meta_at(at)?)?;
        // Older hazards are rectified and closed; recent ones are still open.
        let age_days = (now.0 - at.0) / DAY_MS;
        let steps: &[HazardState] = if age_days > 30 {
            &[
                HazardState::Rectifying,
                HazardState::Rectified,
                HazardState::Closed,
            ]
        } else if age_days > 7 {
            &[HazardState::Rectifying]
        } else {
            &[]
        };
        let mut t = at;
        for step in steps {
            t = Timestamp(t.0 + g.rng.random_range(1..5) * DAY_MS);
            if t >= now {
                break;
            }
            crate::api::append_transition_in(
                tx,
                TransitionId(g.uuid(t)),
                &DocId::hazard(id),
                crate::docs::DocKind::Hazard,
                "hazard",
                crate::api::Step::to(*step, ""),
                &meta_at(t)?,
            )?;
        }
        count += 1;
    }
    Ok(count)
}

#[allow(clippy::too_many_arguments)]
fn demo_cases(
    meta_at: &dyn Fn(Timestamp) -> Result<CommitMeta>,
    tx: &mut crate::store::WriteTx<'_>,
    g: &mut Gen,
    household: HouseholdId,
    start: Timestamp,
    now: Timestamp,
    years: u32,
    grid: &GridCode,
) -> Result<u32> {
    use CaseState::*;
    let mut count = 0;
    let n = (years as f64 * 2.7 + g.rng.random_range(0.0..1.0)) as u32;
    for _ in 0..n {
        let at = random_time(g, start, now);
        let category = g.rng.random_range(0..CASE_CATEGORIES.len());
        let id = CaseId(g.uuid(at));
        let input = NewCase {
            channel: ["visit", "phone", "wechat", "walk_in"][g.rng.random_range(0..4)].into(),
            category: CASE_CATEGORIES[category].into(),
            description: CASE_DESCRIPTIONS[category].into(),
            urgency: if g.chance(0.1) { "urgent" } else { "normal" }.into(),
            household: Some(household),
            resident: None,
            opened_at: Some(at),
            photos: vec![],
        };
        crate::api::open_case_in(tx, id, &input, grid, &meta_at(at)?)?;
        let path: &[CaseState] = if g.chance(0.15) {
            &[
                Registered, Escalated, Dispatched, Handling, Feedback, Verified, Closed,
            ]
        } else {
            &[Registered, Handling, Feedback, Verified, Closed]
        };
        // First response: usually within 30 minutes, sometimes late.
        let mut t = Timestamp(
            at.0 + if g.chance(0.85) {
                g.rng.random_range(2..30)
            } else {
                g.rng.random_range(31..240)
            } * 60_000,
        );
        for step in path {
            if t >= now {
                break;
            }
            crate::api::append_transition_in(
                tx,
                TransitionId(g.uuid(t)),
                &DocId::case(id),
                crate::docs::DocKind::Case,
                "case",
                crate::api::Step::to(*step, ""),
                &meta_at(t)?,
            )?;
            t = Timestamp(t.0 + g.rng.random_range(1..48) * 3_600_000);
        }
        count += 1;
    }
    Ok(count)
}

fn demo_forms(
    store: &Store,
    meta_at: &dyn Fn(Timestamp) -> Result<CommitMeta>,
    g: &mut Gen,
    start: Timestamp,
    now: Timestamp,
    years: u32,
    grid: &GridCode,
) -> Result<u32> {
    let duties = crate::forms::duties::twelve_duties_v2();
    let mut count = 0;
    for month in 0..i64::from(years) * 12 {
        store.db.write(|tx| {
            for duty in &duties {
                if !g.chance(0.25) {
                    continue;
                }
                let at =
                    Timestamp(now.0 - month * 30 * DAY_MS - g.rng.random_range(0..30) * DAY_MS);
                if at >= now || at < start {
                    continue;
                }
                let date = crate::schedule::local_date(at, store.timezone()).to_string();
                // The duty's own fields, as filled where nothing needed
                // following up, with the place of the work.
                let mut answers =
                    crate::forms::duties::example_answers(&duty.id, &date).unwrap_or_default();
                if answers.contains_key("place") {
                    answers.insert("place".to_string(), serde_json::json!(g.pick(COMMUNITIES)));
                }
                let id = FormRecordId(g.uuid(at));
                crate::api::fill_form_in(
                    tx,
                    id,
                    &duty.id,
                    None,
                    "网格巡查",
                    answers,
                    (grid, &date),
                    &meta_at(at)?,
                )?;
                count += 1;
            }
            Ok(())
        })?;
    }
    Ok(count)
}

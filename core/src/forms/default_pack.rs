//! The default template pack shipped in the core: the visit checklist, the
//! twelve duties (十二个管一管) and the hazard inspection form, zh-CN and English.
//! Staff may publish their own versions later; records keep the version used.

use super::template::{Choice, Field, FieldType, Section, Template, TemplateCategory};

fn section(id: &str, zh: &str, en: &str) -> Section {
    Section {
        id: id.into(),
        title_zh: zh.into(),
        title_en: en.into(),
    }
}

/// Id of the built-in visit checklist.
pub const VISIT_CHECKLIST_ID: &str = "visit-checklist";
/// Id of the built-in hazard inspection form.
pub const HAZARD_INSPECTION_ID: &str = "hazard-inspection";

pub(super) fn field(
    id: &str,
    section: &str,
    zh: &str,
    en: &str,
    t: FieldType,
    required: bool,
) -> Field {
    Field {
        id: id.into(),
        section: section.into(),
        label_zh: zh.into(),
        label_en: en.into(),
        field_type: t,
        required,
        choices: vec![],
        relevant: None,
        constraint: None,
        constraint_message: None,
    }
}

pub(super) fn choices(list: &[(&str, &str, &str)]) -> Vec<Choice> {
    list.iter()
        .map(|(v, zh, en)| Choice {
            value: (*v).into(),
            label_zh: (*zh).into(),
            label_en: (*en).into(),
        })
        .collect()
}

/// The door-to-door checklist: four items each of must look, must visit, must clear.
pub fn visit_checklist() -> Template {
    use FieldType::ChecklistItem as C;
    let items = [
        ("public_areas", "must_look", "公共区域", "Public areas"),
        ("sanitation", "must_look", "环境卫生", "Sanitation"),
        ("safety_hazards", "must_look", "安全隐患", "Safety hazards"),
        ("fire_passages", "must_look", "消防通道", "Fire passages"),
        (
            "elderly_alone",
            "must_visit",
            "独居空巢老人",
            "Elderly living alone",
        ),
        (
            "disabled_ill",
            "must_visit",
            "残疾及重病人员",
            "Disabled and seriously ill",
        ),
        (
            "floating_population",
            "must_visit",
            "流动人口",
            "Floating population",
        ),
        (
            "other_special_groups",
            "must_visit",
            "其他特殊群体",
            "Other special groups",
        ),
        (
            "household_members",
            "must_clear",
            "家庭成员变动",
            "Household members",
        ),
        (
            "service_needs",
            "must_clear",
            "帮办代办需求",
            "Services to handle on their behalf",
        ),
        ("livelihood", "must_clear", "民生诉求", "Livelihood matters"),
        ("disputes", "must_clear", "矛盾纠纷", "Disputes"),
    ];
    Template {
        id: VISIT_CHECKLIST_ID.into(),
        version: 1,
        title_zh: "入户走访清单（必看·必访·必清）".into(),
        title_en: "Door-to-door visit checklist (must look, visit, clear)".into(),
        category: TemplateCategory::VisitChecklist,
        sections: vec![
            section("must_look", "必看", "Must look"),
            section("must_visit", "必访", "Must visit"),
            section("must_clear", "必清", "Must clear"),
        ],
        fields: items
            .iter()
            .map(|(id, s, zh, en)| field(id, s, zh, en, C, false))
            .collect(),
    }
}

/// The twelve duties, version 1: each the same small generic form (what
/// was checked, whether a problem was found, what was done). Superseded by
/// version 2 ([`super::duties`]); kept for the records filled with it.
pub fn twelve_duties() -> Vec<Template> {
    let duties = [
        ("duty-party-building", "党建引领", "Party building"),
        ("duty-security-patrol", "治安巡逻", "Public security patrol"),
        (
            "duty-epidemic-prevention",
            "疫情防控",
            "Epidemic prevention",
        ),
        ("duty-safety-hazards", "安全隐患", "Safety hazards"),
        ("duty-sanitation", "环境卫生", "Sanitation"),
        (
            "duty-illegal-construction",
            "两违整治",
            "Illegal construction",
        ),
        ("duty-river-care", "河道管护", "River care"),
        ("duty-dispute-mediation", "矛盾调解", "Dispute mediation"),
        (
            "duty-special-group-care",
            "特殊群体关爱",
            "Special-group care",
        ),
        (
            "duty-floating-population",
            "流动人口管理",
            "Floating population",
        ),
        ("duty-proxy-services", "帮办代办", "Proxy services"),
        ("duty-policy-publicity", "政策宣传", "Policy publicity"),
    ];
    duties
        .iter()
        .map(|(id, zh, en)| Template {
            id: (*id).into(),
            version: 1,
            title_zh: format!("管一管：{zh}"),
            title_en: format!("Duty: {en}"),
            category: TemplateCategory::Duty,
            sections: vec![],
            fields: vec![
                field(
                    "checked_at",
                    "",
                    "检查日期",
                    "Date checked",
                    FieldType::Date,
                    true,
                ),
                field("place", "", "地点", "Place", FieldType::Text, true),
                field(
                    "problem_found",
                    "",
                    "是否发现问题",
                    "Problem found",
                    FieldType::YesNo,
                    true,
                ),
                field(
                    "people_reached",
                    "",
                    "涉及人数",
                    "People reached",
                    FieldType::Integer,
                    false,
                ),
                Field {
                    choices: choices(&[
                        ("solved", "当场解决", "Solved on the spot"),
                        ("reported", "已上报", "Reported"),
                        ("follow_up", "需跟进", "Needs follow-up"),
                    ]),
                    ..field(
                        "handling",
                        "",
                        "处理方式",
                        "Handling",
                        FieldType::SelectOne,
                        false,
                    )
                },
                field("details", "", "情况说明", "Details", FieldType::Text, false),
            ],
        })
        .collect()
}

/// The hazard inspection form.
pub fn hazard_inspection() -> Template {
    Template {
        id: HAZARD_INSPECTION_ID.into(),
        version: 1,
        title_zh: "安全隐患排查".into(),
        title_en: "Hazard inspection".into(),
        category: TemplateCategory::Hazard,
        sections: vec![],
        fields: vec![
            Field {
                choices: choices(&[
                    ("fire", "消防", "Fire"),
                    ("gas", "燃气", "Gas"),
                    ("electrical", "用电", "Electrical"),
                    ("structure", "房屋结构", "Building structure"),
                    ("traffic", "道路交通", "Road traffic"),
                    ("flood", "防汛防台", "Flood"),
                    ("other", "其他", "Other"),
                ]),
                ..field(
                    "category",
                    "",
                    "隐患类别",
                    "Category",
                    FieldType::SelectOne,
                    true,
                )
            },
            field("place", "", "地点", "Place", FieldType::Text, true),
            field(
                "hazard_found",
                "",
                "是否存在隐患",
                "Hazard found",
                FieldType::YesNo,
                true,
            ),
            field(
                "deadline",
                "",
                "整改期限",
                "Rectification deadline",
                FieldType::Date,
                false,
            ),
            field("details", "", "情况说明", "Details", FieldType::Text, false),
        ],
    }
}

/// Every template of the default pack: the visit checklist, the hazard
/// inspection, and both versions of the twelve duties (version 1 stays so
/// that records filled with it still read and edit; new records use the
/// newest version, [`super::duties::twelve_duties_v2`]).
pub fn all() -> Vec<Template> {
    let mut out = vec![visit_checklist(), hazard_inspection()];
    out.extend(twelve_duties());
    out.extend(super::duties::twelve_duties_v2());
    out
}

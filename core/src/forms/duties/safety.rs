//! Duty forms of public order and safety (version 2): security patrol,
//! epidemic prevention and public health, safety hazards, illegal
//! construction. Sources: `docs/forms.md`.

use super::*;
use crate::forms::template::{FieldType, Template};

/// 治安巡逻: a patrol, its findings and how they were handled (after the
/// public-security, school-surroundings and road-and-line protection
/// modules of GB/T 31000-2015).
pub(super) fn security_patrol() -> Template {
    duty(
        "duty-security-patrol",
        "治安巡逻",
        "Public security patrol",
        vec![
            checked_at("巡逻日期", "Patrol date"),
            one_of(
                "patrol_type",
                "巡逻类型",
                "Kind of patrol",
                &[
                    ("routine", "日常巡逻", "Routine patrol"),
                    ("night", "夜间巡逻", "Night patrol"),
                    (
                        "key_period",
                        "重点时段或节假日巡逻",
                        "Key period or holiday patrol",
                    ),
                    ("school_area", "校园周边巡逻", "Around a school"),
                    (
                        "road_line",
                        "护路护线巡逻",
                        "Railway, road and power-line protection",
                    ),
                    (
                        "key_area",
                        "重点地区排查整治",
                        "Key-area check and clean-up",
                    ),
                ],
            ),
            plain(
                "start_time",
                "开始时间",
                "Start time",
                FieldType::Time,
                false,
            ),
            plain("end_time", "结束时间", "End time", FieldType::Time, false),
            plain(
                "place",
                "巡逻区域或路线",
                "Area or route",
                FieldType::Text,
                true,
            ),
            count("patrollers", "巡逻人数", "People on patrol", true, 1, 200),
            findings(
                "findings",
                "发现情况",
                "Findings",
                &[
                    ("none", "未发现问题", "Nothing found"),
                    (
                        "suspicious",
                        "可疑人员或车辆",
                        "Suspicious person or vehicle",
                    ),
                    (
                        "prevention_gap",
                        "监控、照明、门禁等损坏缺失",
                        "Broken or missing cameras, lighting or door access",
                    ),
                    (
                        "gathering",
                        "聚集滋事苗头",
                        "Signs of trouble in a gathering",
                    ),
                    (
                        "vice_drugs",
                        "涉黄赌毒线索",
                        "Leads on prostitution, gambling or drugs",
                    ),
                    (
                        "fraud",
                        "电信网络诈骗线索",
                        "Leads on telecom or online fraud",
                    ),
                    ("school_issue", "校园周边问题", "Problem around a school"),
                    (
                        "line_damage",
                        "铁路、电力、通信线路设施受损或受危害",
                        "Railway, power or telecom line damaged or endangered",
                    ),
                    ("traffic", "道路交通安全隐患", "Road-traffic hazard"),
                    ("other", "其他", "Other"),
                ],
            ),
            when(
                &something_found("findings"),
                one_of(
                    "handling",
                    "处置方式",
                    "Handling",
                    &[
                        ("on_spot", "当场劝阻处置", "Dealt with on the spot"),
                        ("police", "报告公安机关", "Reported to the police"),
                        ("reported", "上报事件", "Reported as a case"),
                        ("hazard", "上报安全隐患", "Reported as a hazard"),
                    ],
                ),
            ),
            when(
                "${handling} = 'reported' or ${handling} = 'hazard'",
                plain(
                    "case_ref",
                    "事件或隐患编号（系统填写）",
                    "Case or hazard no. (filled by the app)",
                    FieldType::Text,
                    false,
                ),
            ),
            details(),
        ],
    )
}

/// 疫情防控与公共卫生: a public-health round — unusual clusters of illness,
/// pest breeding, hygiene — recorded as counts, never as anyone's health
/// (after the residents' and villagers' committees' role in the Law on the
/// Prevention and Control of Infectious Diseases and the Regulations on
/// Public Health Emergencies).
pub(super) fn epidemic_prevention() -> Template {
    duty(
        "duty-epidemic-prevention",
        "疫情防控与公共卫生",
        "Epidemic prevention and public health",
        vec![
            checked_at("巡查日期", "Date checked"),
            some_of(
                "focus",
                "巡查内容",
                "What was checked",
                &[
                    (
                        "abnormal_health",
                        "聚集性发热、腹泻等异常健康事件",
                        "Clusters of fever, diarrhoea or other illness",
                    ),
                    (
                        "vector_breeding",
                        "积水与蚊蝇鼠蟑孳生",
                        "Standing water, mosquito, fly, rat or cockroach breeding",
                    ),
                    ("public_hygiene", "公共场所卫生", "Hygiene of public places"),
                    (
                        "food_water",
                        "饮用水与食品安全",
                        "Drinking water and food safety",
                    ),
                    (
                        "vaccination",
                        "疫苗接种与健康宣传",
                        "Vaccination and health information",
                    ),
                    (
                        "vulnerable",
                        "老年人、慢病患者等重点人群健康关注",
                        "Health of the elderly, the chronically ill and others at risk",
                    ),
                ],
            ),
            plain(
                "abnormal_found",
                "是否发现异常",
                "Anything unusual found",
                FieldType::YesNo,
                true,
            ),
            when(
                "${abnormal_found}",
                count(
                    "people_affected",
                    "涉及人数",
                    "People affected",
                    false,
                    0,
                    10000,
                ),
            ),
            when(
                "${abnormal_found}",
                one_of(
                    "reported_to",
                    "报告对象",
                    "Reported to",
                    &[
                        (
                            "health_centre",
                            "社区卫生服务中心或乡镇卫生院",
                            "Community health centre or township hospital",
                        ),
                        ("cdc", "疾病预防控制机构", "Centre for disease control"),
                        ("street_office", "乡镇（街道）", "Township or street office"),
                        (
                            "not_needed",
                            "已当场处理，无需报告",
                            "Handled on the spot, no report needed",
                        ),
                    ],
                ),
            ),
            select(
                "measures",
                "采取措施",
                "Measures taken",
                FieldType::SelectMultiple,
                false,
                &[
                    ("clear_water", "清除积水", "Cleared standing water"),
                    ("pest_control", "病媒生物消杀", "Pest control"),
                    ("cleaning", "环境清洁消毒", "Cleaning and disinfection"),
                    ("education", "健康宣教", "Health education"),
                    ("advise_doctor", "劝导就医", "Advised seeing a doctor"),
                ],
            ),
            count(
                "households_reached",
                "走访或宣传户数",
                "Households reached",
                false,
                0,
                5000,
            ),
            details(),
        ],
    )
}

/// What a safety (chiefly fire-safety) check looks at, after the daily
/// fire-patrol items of the Ministry of Public Security's Order No. 61 and
/// Article 28 of the Fire Protection Law; the hazards found are a subset.
const SAFETY_ITEMS: Choices<'static> = &[
    ("exits", "疏散通道、安全出口", "Escape routes and exits"),
    (
        "equipment",
        "灭火器、消火栓等消防设施器材",
        "Extinguishers, hydrants and other fire equipment",
    ),
    (
        "electrical",
        "用火用电、电气线路",
        "Use of fire and electricity, wiring",
    ),
    ("ebike", "电动自行车停放充电", "E-bike parking and charging"),
    ("gas", "燃气使用", "Gas use"),
    (
        "living_in",
        "生产经营储存场所违规住人",
        "People living in work or storage space",
    ),
    ("flammables", "易燃易爆物品", "Flammable or explosive goods"),
    ("fire_lane", "消防车通道", "Fire-engine access"),
];

/// 安全隐患: a safety check of a place, the items checked, the hazards
/// found among them and what was done (after Order No. 61's patrol items,
/// the Fire Protection Law and GA 703-2007 for mixed-use premises).
pub(super) fn safety_hazards() -> Template {
    duty(
        "duty-safety-hazards",
        "安全隐患",
        "Safety hazards",
        vec![
            checked_at("检查日期", "Date checked"),
            one_of(
                "place_type",
                "场所类型",
                "Kind of place",
                &[
                    ("residential", "住宅楼道及公共部位", "Residential stairwells and common areas"),
                    ("rental", "出租房屋", "Rented housing"),
                    ("small_venue", "九小场所", "Small business premises (the \"nine small places\")"),
                    ("mixed_use", "三合一场所", "Premises combining living with work or storage"),
                    ("enterprise", "生产经营单位", "Workshop or business"),
                    ("public", "公共场所", "Public place"),
                    ("other", "其他", "Other"),
                ],
            ),
            plain("place", "场所名称或地址", "Name or address", FieldType::Text, true),
            some_of("items", "检查项目", "Items checked", SAFETY_ITEMS),
            plain("hazard_found", "是否发现隐患", "Hazard found", FieldType::YesNo, true),
            constrained(
                &format!("count-selected(.) >= 1 and {}", subset_of("items", SAFETY_ITEMS)),
                "请至少选择一项，且只能选已检查的项目 / choose at least one, among the items checked",
                when(
                    "${hazard_found}",
                    select(
                        "problems",
                        "隐患所在项目",
                        "Items with a hazard",
                        FieldType::SelectMultiple,
                        true,
                        SAFETY_ITEMS,
                    ),
                ),
            ),
            when(
                "${hazard_found}",
                one_of(
                    "handling",
                    "处理方式",
                    "Handling",
                    &[
                        ("fixed_on_spot", "当场整改", "Fixed on the spot"),
                        ("deadline", "告知限期整改", "Owner told to fix it by a deadline"),
                        ("reported", "上报隐患", "Reported as a hazard"),
                    ],
                ),
            ),
            when(
                "${handling} = 'deadline'",
                date_after_check("deadline", "整改期限", "Deadline", true),
            ),
            when("${handling} = 'reported'", hazard_ref()),
            details(),
        ],
    )
}

/// 两违整治: an illegal construction or illegal land use found or followed
/// up (after the Urban and Rural Planning Law, Articles 64–66, and the Land
/// Administration Law, Articles 77–78).
pub(super) fn illegal_construction() -> Template {
    duty(
        "duty-illegal-construction",
        "两违整治",
        "Illegal construction",
        vec![
            checked_at("巡查日期", "Date checked"),
            plain("place", "位置", "Location", FieldType::Text, true),
            one_of(
                "kind",
                "违法类型",
                "Kind of violation",
                &[
                    (
                        "construction",
                        "违法建设（未取得或违反规划许可）",
                        "Illegal construction (no planning permit, or against it)",
                    ),
                    (
                        "land_use",
                        "违法用地（未经批准占用土地）",
                        "Illegal land use (land taken without approval)",
                    ),
                    ("both", "违法建设且违法用地", "Both"),
                ],
            ),
            one_of(
                "building_form",
                "建设形式",
                "Form of the building",
                &[
                    (
                        "new_building",
                        "新建建筑物、构筑物",
                        "New building or structure",
                    ),
                    ("extension", "加层、扩建", "Extra storey or extension"),
                    (
                        "add_on",
                        "屋顶、阳台、外墙搭建",
                        "Rooftop, balcony or outside-wall add-on",
                    ),
                    ("shed", "搭建棚房、围墙", "Shed or wall"),
                    (
                        "temporary_overdue",
                        "临时建筑逾期未拆",
                        "Temporary building past its approved term",
                    ),
                    ("other", "其他", "Other"),
                ],
            ),
            when(
                "${kind} = 'land_use' or ${kind} = 'both'",
                one_of(
                    "land_type",
                    "占用土地类型",
                    "Land taken",
                    &[
                        (
                            "cropland",
                            "耕地（含永久基本农田）",
                            "Cropland (including permanent basic farmland)",
                        ),
                        (
                            "homestead",
                            "宅基地或集体建设用地",
                            "Homestead or collective construction land",
                        ),
                        ("state_land", "国有土地", "State-owned land"),
                        (
                            "other",
                            "河道、林地等其他土地",
                            "River land, forest or other land",
                        ),
                    ],
                ),
            ),
            one_of(
                "stage",
                "建设状态",
                "Stage",
                &[
                    ("ongoing", "在建", "Under construction"),
                    ("completed", "已建成", "Completed"),
                    ("removed", "已拆除或已复耕", "Removed, or the land restored"),
                ],
            ),
            constrained(
                ". > 0 and . <= 100000",
                "面积应大于 0 且不超过 100000 平方米 / area must be over 0 and at most 100000 m²",
                plain(
                    "area_m2",
                    "面积（平方米）",
                    "Area (m²)",
                    FieldType::Decimal,
                    false,
                ),
            ),
            one_of(
                "handling",
                "处置情况",
                "Handling",
                &[
                    ("stopped", "劝阻停工", "Work stopped after advice"),
                    (
                        "reported",
                        "上报执法或自然资源部门",
                        "Reported to law enforcement or the natural-resources office",
                    ),
                    (
                        "following",
                        "已上报，跟踪中",
                        "Already reported, following up",
                    ),
                    ("done", "已整改到位", "Rectified"),
                ],
            ),
            when(
                "${handling} = 'reported' or ${handling} = 'following'",
                case_ref(),
            ),
            details(),
        ],
    )
}

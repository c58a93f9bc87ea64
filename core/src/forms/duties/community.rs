//! Duty forms of the grid's common life (version 2): Party building,
//! sanitation, river care, policy publicity. Sources: `docs/forms.md`.

use super::*;
use crate::forms::template::{FieldType, Template};

/// 党建引领: a grid Party activity and the residents' requests it gathered
/// (after the Party branch work regulations' forms of activity and the
/// grid Party group practice).
pub(super) fn party_building() -> Template {
    duty(
        "duty-party-building",
        "党建引领",
        "Party building",
        vec![
            checked_at("活动日期", "Date of the activity"),
            one_of(
                "activity_type",
                "活动类型",
                "Kind of activity",
                &[
                    (
                        "party_group_meeting",
                        "网格党小组会议或学习",
                        "Grid Party group meeting or study",
                    ),
                    ("theme_day", "主题党日", "Party members' theme day"),
                    (
                        "household_contact",
                        "党员联户走访",
                        "Party members' household visits",
                    ),
                    (
                        "member_report",
                        "在职党员到社区报到服务",
                        "Service by in-post Party members registered with the community",
                    ),
                    ("volunteer", "党员志愿服务", "Party member volunteering"),
                    (
                        "consultation",
                        "居民议事协商",
                        "Residents' consultation meeting",
                    ),
                    ("other", "其他", "Other"),
                ],
            ),
            plain("topic", "活动主题", "Topic", FieldType::Text, true),
            count(
                "members",
                "参加党员人数",
                "Party members taking part",
                true,
                1,
                500,
            ),
            count(
                "residents",
                "服务或参与群众人数",
                "Residents served or taking part",
                false,
                0,
                5000,
            ),
            count(
                "issues_collected",
                "收集群众诉求数",
                "Residents' requests collected",
                false,
                0,
                500,
            ),
            constrained(
                ". >= 0 and . <= ${issues_collected}",
                "不能多于收集的诉求数 / cannot exceed the requests collected",
                when(
                    "${issues_collected} > 0",
                    plain(
                        "issues_solved",
                        "已解决诉求数",
                        "Requests resolved",
                        FieldType::Integer,
                        false,
                    ),
                ),
            ),
            plain("photo", "活动照片", "Photo", FieldType::Photo, false),
            details(),
        ],
    )
}

/// 环境卫生: a sanitation round of a place, the problems seen and what was
/// done (after the city-appearance event classes of the digital city
/// management standards and the Regulations on City Appearance and
/// Environmental Sanitation).
pub(super) fn sanitation() -> Template {
    let problems = "problems";
    duty(
        "duty-sanitation",
        "环境卫生",
        "Sanitation",
        vec![
            checked_at("巡查日期", "Date checked"),
            plain("place", "地点", "Place", FieldType::Text, true),
            one_of(
                "area_type",
                "区域类型",
                "Kind of area",
                &[
                    ("street", "街巷道路", "Street or lane"),
                    (
                        "residential",
                        "小区楼道与院落",
                        "Housing estate, stairwells and yards",
                    ),
                    (
                        "collection_point",
                        "垃圾收集点或中转站",
                        "Waste collection point or transfer station",
                    ),
                    ("market", "农贸市场周边", "Around a farmers' market"),
                    ("green", "公共绿地", "Public green space"),
                    ("village", "村庄公共区域", "Village public space"),
                    ("waterside", "水边岸坡", "Waterside"),
                ],
            ),
            findings(
                problems,
                "发现问题",
                "Problems found",
                &[
                    ("none", "整洁，未发现问题", "Clean, nothing found"),
                    ("exposed_waste", "暴露垃圾", "Exposed rubbish"),
                    (
                        "construction_waste",
                        "积存渣土、建筑垃圾",
                        "Piled earth or construction waste",
                    ),
                    ("dirty_road", "道路不洁", "Dirty road surface"),
                    ("bins", "垃圾桶满溢或破损", "Overflowing or broken bins"),
                    (
                        "sorting",
                        "垃圾分类投放不规范",
                        "Rubbish not sorted properly",
                    ),
                    ("piled_goods", "乱堆物料", "Goods piled in a public space"),
                    ("ads", "乱贴乱画小广告", "Illegal small ads or graffiti"),
                    ("street_trade", "占道经营", "Trading on the street"),
                    ("sewage", "污水外溢", "Sewage overflow"),
                    ("burning", "露天焚烧", "Open burning"),
                    ("toilet", "公厕不洁", "Dirty public toilet"),
                ],
            ),
            when(
                &something_found(problems),
                one_of(
                    "handling",
                    "处理方式",
                    "Handling",
                    &[
                        (
                            "cleaned",
                            "当场清理或劝导",
                            "Cleaned up or advised on the spot",
                        ),
                        (
                            "notified",
                            "通知保洁或物业处理",
                            "Told the cleaners or the property manager",
                        ),
                        ("reported", "上报事件", "Reported as a case"),
                    ],
                ),
            ),
            when("${handling} = 'reported'", case_ref()),
            when(
                &something_found(problems),
                plain("photo", "现场照片", "Photo", FieldType::Photo, false),
            ),
            details(),
        ],
    )
}

/// 河道管护: a river patrol of one section, after the river-chief patrol
/// items and the "four disorders" (乱占、乱采、乱堆、乱建) of the Ministry of
/// Water Resources' clean-up campaign.
pub(super) fn river_care() -> Template {
    let problems = "problems";
    duty(
        "duty-river-care",
        "河道管护",
        "River care",
        vec![
            checked_at("巡河日期", "Patrol date"),
            plain(
                "place",
                "河湖名称及河段",
                "River or lake, and section",
                FieldType::Text,
                true,
            ),
            findings(
                problems,
                "发现问题",
                "Problems found",
                &[
                    ("none", "未发现问题", "Nothing found"),
                    ("floating", "水面漂浮物、垃圾", "Floating rubbish"),
                    (
                        "water_abnormal",
                        "水体颜色、气味异常",
                        "Water of unusual colour or smell",
                    ),
                    (
                        "outfall",
                        "排污口异常或新增排污口",
                        "Unusual discharge or a new outfall",
                    ),
                    (
                        "dumping",
                        "乱堆：倾倒垃圾、渣土、固体废物",
                        "Dumping of rubbish, spoil or solid waste",
                    ),
                    (
                        "building",
                        "乱建：涉河违法建筑物、构筑物",
                        "Illegal building or structure in the river area",
                    ),
                    (
                        "occupation",
                        "乱占：侵占水域、滩地或围垦",
                        "Encroachment on water or shoals, or enclosure",
                    ),
                    (
                        "sand_mining",
                        "乱采：非法采砂、取土",
                        "Illegal sand mining or earth taking",
                    ),
                    ("bank_damage", "堤岸、护栏损坏", "Damaged bank or railing"),
                    (
                        "sign_damage",
                        "河长公示牌缺失或破损",
                        "Missing or damaged river-chief sign",
                    ),
                    (
                        "drowning_risk",
                        "防溺水警示缺失",
                        "Missing drowning warnings",
                    ),
                ],
            ),
            when(
                &something_found(problems),
                one_of(
                    "handling",
                    "处理方式",
                    "Handling",
                    &[
                        (
                            "stopped",
                            "当场制止或清理",
                            "Stopped or cleaned up on the spot",
                        ),
                        (
                            "reported",
                            "上报河长办或有关部门",
                            "Reported to the river-chief office or a department",
                        ),
                        (
                            "following",
                            "已上报问题跟踪",
                            "Following up a problem already reported",
                        ),
                    ],
                ),
            ),
            when("${handling} = 'reported'", case_ref()),
            when(
                &something_found(problems),
                plain(
                    "location",
                    "问题位置",
                    "Position of the problem",
                    FieldType::Location,
                    false,
                ),
            ),
            when(
                &something_found(problems),
                plain("photo", "现场照片", "Photo", FieldType::Photo, false),
            ),
            select(
                "earlier_problems",
                "以往问题整改情况",
                "Problems found earlier",
                FieldType::SelectOne,
                false,
                &[
                    ("none_pending", "无遗留问题", "None pending"),
                    ("fixed", "已整改到位", "Fixed"),
                    ("not_fixed", "未整改到位", "Not fixed yet"),
                ],
            ),
            details(),
        ],
    )
}

/// 政策宣传: one publicity activity, its topics, its means and whom it
/// reached (after the publicity duties in the grid regulations of Zhejiang
/// cities and the Anti-Telecom and Online Fraud Law; the means are common
/// practice).
pub(super) fn policy_publicity() -> Template {
    duty(
        "duty-policy-publicity",
        "政策宣传",
        "Policy publicity",
        vec![
            checked_at("宣传日期", "Date"),
            some_of(
                "topics",
                "宣传主题",
                "Topics",
                &[
                    ("law", "法律法规（普法）", "Laws (legal education)"),
                    (
                        "benefits",
                        "社保医保与惠民政策",
                        "Social insurance and benefits",
                    ),
                    (
                        "anti_fraud",
                        "防范电信网络诈骗",
                        "Telecom and online fraud prevention",
                    ),
                    (
                        "fire_disaster",
                        "消防安全与防灾减灾",
                        "Fire safety and disaster prevention",
                    ),
                    ("drowning", "防溺水", "Drowning prevention"),
                    ("health", "卫生健康", "Health"),
                    ("waste_sorting", "垃圾分类", "Waste sorting"),
                    ("drugs", "禁毒", "Drug prevention"),
                    ("safe_community", "平安建设", "Safe community"),
                    ("other", "其他", "Other"),
                ],
            ),
            some_of(
                "methods",
                "宣传方式",
                "Means",
                &[
                    ("door_to_door", "入户宣传", "Door to door"),
                    ("leaflets", "发放资料", "Leaflets"),
                    ("meeting", "集中宣讲", "Talk or meeting"),
                    ("online", "微信群等线上宣传", "WeChat group or online"),
                    ("posters", "张贴海报、横幅", "Posters or banners"),
                    ("broadcast", "广播", "Loudspeaker broadcast"),
                ],
            ),
            count(
                "households_reached",
                "覆盖户数",
                "Households reached",
                false,
                0,
                5000,
            ),
            count(
                "people_reached",
                "覆盖人数",
                "People reached",
                false,
                0,
                20000,
            ),
            when(
                "selected(${methods}, 'leaflets')",
                count(
                    "leaflets",
                    "发放资料份数",
                    "Leaflets handed out",
                    false,
                    0,
                    20000,
                ),
            ),
            plain(
                "questions",
                "群众咨询或反映的问题",
                "Questions or requests raised",
                FieldType::Text,
                false,
            ),
            plain("photo", "活动照片", "Photo", FieldType::Photo, false),
            details(),
        ],
    )
}

//! Duty forms about people (version 2): dispute mediation, special-group
//! care, the floating population, proxy services. Sources: `docs/forms.md`.

use super::*;
use crate::forms::template::{FieldType, Template};

/// 矛盾调解: one dispute mediated, after the People's Mediation Law
/// (Articles 17, 26–29, 31, 33), the Ministry of Justice's mediation forms
/// (受理登记表, 协议书, 口头协议登记表, 回访记录) and the dispute items of
/// GB/T 31000-2015.
pub(super) fn dispute_mediation() -> Template {
    duty(
        "duty-dispute-mediation",
        "矛盾调解",
        "Dispute mediation",
        vec![
            checked_at("调解日期", "Date of mediation"),
            one_of(
                "dispute_type",
                "纠纷类型",
                "Kind of dispute",
                &[
                    ("marriage_family", "婚姻家庭纠纷", "Marriage and family"),
                    ("neighbour", "邻里纠纷", "Neighbours"),
                    (
                        "housing_homestead",
                        "房屋宅基地纠纷",
                        "Housing or homestead",
                    ),
                    ("land_forest", "山林土地纠纷", "Land or forest"),
                    ("contract_debt", "合同、债务纠纷", "Contract or debt"),
                    ("labour", "劳动争议、欠薪纠纷", "Labour or unpaid wages"),
                    ("damages", "损害赔偿纠纷", "Compensation for damage"),
                    ("property_management", "物业纠纷", "Property management"),
                    ("traffic", "交通事故纠纷", "Traffic accident"),
                    ("medical", "医疗纠纷", "Medical"),
                    (
                        "demolition",
                        "征地拆迁纠纷",
                        "Land acquisition or demolition",
                    ),
                    ("environment", "环境污染纠纷", "Pollution"),
                    ("other", "其他纠纷", "Other"),
                ],
            ),
            plain("parties", "当事人", "Parties", FieldType::Text, true),
            count(
                "people_involved",
                "涉及人数",
                "People involved",
                true,
                1,
                10000,
            ),
            one_of(
                "result",
                "调解结果",
                "Outcome",
                &[
                    ("agreed", "调解成功，达成协议", "Agreement reached"),
                    ("ongoing", "调解中", "Mediation continues"),
                    (
                        "failed",
                        "调解不成，已告知其他解决途径",
                        "No agreement; told of arbitration, administrative or court routes",
                    ),
                    (
                        "referred",
                        "移交有关部门或上级调解组织",
                        "Handed to a department or a higher mediation body",
                    ),
                ],
            ),
            when(
                "${result} = 'agreed'",
                one_of(
                    "agreement_form",
                    "协议形式",
                    "Form of agreement",
                    &[
                        ("written", "书面调解协议书", "Written mediation agreement"),
                        ("oral", "口头协议（已记录）", "Oral agreement (recorded)"),
                    ],
                ),
            ),
            when(
                "${result} = 'agreed'",
                plain(
                    "agreement_terms",
                    "协议内容及履行方式、期限",
                    "Terms, and how and by when they are carried out",
                    FieldType::Text,
                    true,
                ),
            ),
            when(
                "${result} = 'agreed'",
                date_after_check("follow_up_date", "回访日期", "Follow-up visit date", false),
            ),
            case_ref(),
            details(),
        ],
    )
}

/// 特殊群体关爱: a visit to a person of a special group, the difficulties
/// found, the services given and the next visit (after the Ministry of
/// Civil Affairs and nine other departments' 2022 guideline on visiting
/// elderly people in special difficulty, and the State Council's opinions
/// on left-behind children, children in difficulty and the two disability
/// allowances).
pub(super) fn special_group_care() -> Template {
    duty(
        "duty-special-group-care",
        "特殊群体关爱",
        "Special-group care",
        vec![
            checked_at("探访日期", "Date of the visit"),
            some_of(
                "groups",
                "对象类别",
                "Group",
                &[
                    ("elderly_alone", "独居老人", "Elderly living alone"),
                    ("empty_nest", "空巢老人", "Empty-nest elderly"),
                    ("left_behind_elderly", "留守老人", "Left-behind elderly"),
                    (
                        "disabled_elderly",
                        "失能、失智老人",
                        "Elderly unable to look after themselves",
                    ),
                    (
                        "severe_disability",
                        "重度残疾人",
                        "Severely disabled person",
                    ),
                    (
                        "bereaved_family",
                        "计划生育特殊家庭",
                        "Family that lost its only child",
                    ),
                    (
                        "assistance",
                        "低保、特困人员",
                        "Minimum-allowance or extreme-poverty support recipient",
                    ),
                    ("left_behind_child", "留守儿童", "Left-behind child"),
                    ("child_in_difficulty", "困境儿童", "Child in difficulty"),
                    ("other", "其他", "Other"),
                ],
            ),
            one_of(
                "visit_method",
                "探访方式",
                "How",
                &[
                    ("home", "上门入户", "Home visit"),
                    ("phone_video", "电话或视频", "Phone or video call"),
                    (
                        "with_helper",
                        "与志愿者、结对人一同探访",
                        "With a volunteer or paired helper",
                    ),
                ],
            ),
            plain(
                "risk_found",
                "是否发现困难或风险",
                "Difficulty or risk found",
                FieldType::YesNo,
                true,
            ),
            when(
                "${risk_found}",
                some_of(
                    "risks",
                    "困难或风险",
                    "Difficulties or risks",
                    &[
                        (
                            "health",
                            "身体状况变化或就医需求",
                            "Change in health, or needs a doctor",
                        ),
                        (
                            "home_safety",
                            "居家安全隐患（用火用电用气、防跌倒）",
                            "Home safety (fire, power, gas, falls)",
                        ),
                        (
                            "daily_living",
                            "生活困难（饮食、卫生、经济）",
                            "Daily-living difficulty (food, hygiene, money)",
                        ),
                        (
                            "no_carer",
                            "无人照料或赡养人未尽义务",
                            "No carer, or family not providing care",
                        ),
                        ("emotional", "孤独或情绪问题", "Loneliness or low mood"),
                        (
                            "benefits",
                            "应享未享政策待遇",
                            "Entitled benefits not received",
                        ),
                    ],
                ),
            ),
            select(
                "services",
                "提供的服务",
                "Services given",
                FieldType::SelectMultiple,
                false,
                &[
                    ("policy", "政策宣传讲解", "Explained policies"),
                    ("referral", "需求转介", "Referred a need"),
                    ("daily_help", "生活帮扶", "Help with daily life"),
                    ("proxy", "帮办代办", "Handled a matter for them"),
                    (
                        "family_contact",
                        "联系赡养人或家属",
                        "Contacted family or carers",
                    ),
                    ("companionship", "精神慰藉", "Companionship"),
                    (
                        "emergency",
                        "紧急救援或送医",
                        "Emergency help or taken to hospital",
                    ),
                ],
            ),
            when(
                "selected(${services}, 'referral')",
                one_of(
                    "referred_to",
                    "转介去向",
                    "Referred to",
                    &[
                        ("civil_affairs", "民政部门", "Civil-affairs office"),
                        (
                            "health",
                            "家庭医生或卫生服务机构",
                            "Family doctor or health service",
                        ),
                        (
                            "disabled_federation",
                            "残疾人联合会",
                            "Disabled persons' federation",
                        ),
                        ("elderly_service", "养老服务机构", "Elderly-care service"),
                        (
                            "committee",
                            "村（居）民委员会",
                            "Village or residents' committee",
                        ),
                        ("other", "其他", "Other"),
                    ],
                ),
            ),
            date_after_check("next_visit", "下次探访日期", "Next visit", false),
            details(),
        ],
    )
}

/// 流动人口管理: a floating-population registration, check or departure,
/// as counts (after the floating-population items of GB/T 31000-2015 —
/// reason for coming, kind of residence, permit — and the Residence Permit
/// Regulations, Articles 2 and 8–9). No identity numbers are asked.
pub(super) fn floating_population() -> Template {
    let staying = "${action} != 'departure'";
    duty(
        "duty-floating-population",
        "流动人口管理",
        "Floating population",
        vec![
            checked_at("登记日期", "Date"),
            one_of(
                "action",
                "登记事项",
                "What was done",
                &[
                    ("arrival", "新来登记", "New arrival registered"),
                    ("check", "核查更新", "Checked and updated"),
                    ("departure", "搬离注销", "Moved away"),
                ],
            ),
            count("persons", "人数", "Number of people", true, 1, 200),
            when(
                staying,
                one_of(
                    "inflow_reason",
                    "来此事由",
                    "Reason for coming",
                    &[
                        ("work", "务工", "Work"),
                        ("business", "经商", "Business"),
                        ("study", "就学", "Study"),
                        ("family", "投靠亲友、随迁", "Joining family"),
                        (
                            "medical",
                            "就医或照料病人",
                            "Medical care or looking after a patient",
                        ),
                        ("other", "其他", "Other"),
                    ],
                ),
            ),
            when(
                staying,
                one_of(
                    "residence_type",
                    "居住处所",
                    "Where they live",
                    &[
                        ("rented", "租住房屋", "Rented housing"),
                        ("dormitory", "单位内部宿舍", "Employer's dormitory"),
                        ("work_site", "工地现场", "Building site"),
                        ("school", "学校宿舍", "School dormitory"),
                        ("with_relatives", "借住亲友家", "With relatives or friends"),
                        ("own_home", "自购房屋", "Own home"),
                        ("other", "其他", "Other"),
                    ],
                ),
            ),
            when(
                "${residence_type} = 'rented'",
                plain(
                    "rental_registered",
                    "房屋租赁已登记备案",
                    "Tenancy registered",
                    FieldType::YesNo,
                    true,
                ),
            ),
            when(
                staying,
                plain(
                    "residence_registered",
                    "已办理居住登记",
                    "Residence registration done",
                    FieldType::YesNo,
                    true,
                ),
            ),
            when(
                staying,
                one_of(
                    "permit_status",
                    "居住证情况",
                    "Residence permit",
                    &[
                        ("holding", "已持有居住证", "Holds a residence permit"),
                        ("renewal_due", "需签注或换领", "Endorsement or renewal due"),
                        (
                            "eligible",
                            "符合条件未申领，已告知",
                            "Eligible but not applied; told how",
                        ),
                        ("applying", "正在申领", "Applying"),
                        ("not_eligible", "暂不符合申领条件", "Not yet eligible"),
                    ],
                ),
            ),
            details(),
        ],
    )
}

/// 帮办代办: one matter helped with or handled on a resident's behalf, from
/// acceptance to completion (after the help-and-proxy service standards
/// DB14/T 2233—2020 and DB3205/T 1077—2023: acceptance slip, completion or
/// termination slip).
pub(super) fn proxy_services() -> Template {
    duty(
        "duty-proxy-services",
        "帮办代办",
        "Proxy services",
        vec![
            checked_at("受理日期", "Date accepted"),
            one_of(
                "matter_category",
                "事项类别",
                "Kind of matter",
                &[
                    (
                        "social_insurance",
                        "社保医保",
                        "Social and medical insurance",
                    ),
                    (
                        "assistance",
                        "社会救助与补贴",
                        "Social assistance and allowances",
                    ),
                    (
                        "household_id",
                        "户籍与身份证件",
                        "Household registration and ID",
                    ),
                    ("certificate", "证明开具", "Certificates"),
                    ("employment", "就业创业", "Jobs and self-employment"),
                    ("housing", "住房", "Housing"),
                    (
                        "medical",
                        "就医与医保报销",
                        "Medical care and reimbursement",
                    ),
                    ("business", "个体工商户与企业事项", "Small-business matters"),
                    ("other", "其他", "Other"),
                ],
            ),
            plain("matter", "事项名称", "Matter", FieldType::Text, true),
            one_of(
                "service_mode",
                "服务方式",
                "Mode",
                &[
                    (
                        "help",
                        "帮办：咨询、协助准备材料、陪同办理",
                        "Help: advice, paperwork, going along",
                    ),
                    (
                        "proxy",
                        "代办：受委托代为办理",
                        "Proxy: handled on their behalf",
                    ),
                    ("at_home", "上门办理", "Handled at their home"),
                ],
            ),
            select(
                "applicant_group",
                "服务对象",
                "Person served",
                FieldType::SelectOne,
                false,
                &[
                    ("elderly", "老年人", "Elderly person"),
                    ("disabled", "残疾人", "Disabled person"),
                    ("hardship", "困难群众", "Person in hardship"),
                    ("resident", "其他居民", "Other resident"),
                    ("business", "企业或个体工商户", "Business"),
                ],
            ),
            plain(
                "department",
                "承办部门或窗口",
                "Department or counter",
                FieldType::Text,
                false,
            ),
            one_of(
                "status",
                "办理状态",
                "Status",
                &[
                    ("accepted", "已受理，办理中", "Accepted, in progress"),
                    ("completed", "已办结", "Completed"),
                    (
                        "terminated",
                        "终止办理",
                        "Stopped (not eligible, papers missing, withdrawn)",
                    ),
                ],
            ),
            when(
                "${status} = 'completed'",
                date_from_check("completed_at", "办结日期", "Date completed", true),
            ),
            when(
                "${status} = 'completed' or ${status} = 'terminated'",
                plain("result", "办理结果", "Result", FieldType::Text, true),
            ),
            details(),
        ],
    )
}

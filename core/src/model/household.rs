//! Households (户), their residents (居民) and the special-group tags that
//! drive visit schedules.

use super::ids::{GridCode, HouseholdId, ResidentId, Timestamp};
use serde::{Deserialize, Serialize};

/// A special group a household or resident belongs to (重点人群). The code is
/// stable on the wire; labels are for display.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialGroup {
    /// 独居/空巢老人
    ElderlyAlone,
    /// 高龄失能老人
    ElderlyDisabled,
    /// 残疾人
    Disabled,
    /// 低保对象
    LowIncome,
    /// 困境儿童
    ChildInDistress,
    /// 重病慢性病患者
    SeriousIllness,
    /// 流动人口
    Floating,
    /// 困难退役军人
    VeteranHardship,
    /// 社区矫正/刑满释放人员
    CommunityCorrection,
    /// 严重精神障碍患者
    MentalDisorder,
}

impl SpecialGroup {
    /// Every group, in display order.
    pub const ALL: [SpecialGroup; 10] = [
        SpecialGroup::ElderlyAlone,
        SpecialGroup::ElderlyDisabled,
        SpecialGroup::Disabled,
        SpecialGroup::LowIncome,
        SpecialGroup::ChildInDistress,
        SpecialGroup::SeriousIllness,
        SpecialGroup::Floating,
        SpecialGroup::VeteranHardship,
        SpecialGroup::CommunityCorrection,
        SpecialGroup::MentalDisorder,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            SpecialGroup::ElderlyAlone => "elderly_alone",
            SpecialGroup::ElderlyDisabled => "elderly_disabled",
            SpecialGroup::Disabled => "disabled",
            SpecialGroup::LowIncome => "low_income",
            SpecialGroup::ChildInDistress => "child_in_distress",
            SpecialGroup::SeriousIllness => "serious_illness",
            SpecialGroup::Floating => "floating",
            SpecialGroup::VeteranHardship => "veteran_hardship",
            SpecialGroup::CommunityCorrection => "community_correction",
            SpecialGroup::MentalDisorder => "mental_disorder",
        }
    }

    /// zh-CN label.
    pub fn label_zh(self) -> &'static str {
        match self {
            SpecialGroup::ElderlyAlone => "独居/空巢老人",
            SpecialGroup::ElderlyDisabled => "高龄失能老人",
            SpecialGroup::Disabled => "残疾人",
            SpecialGroup::LowIncome => "低保对象",
            SpecialGroup::ChildInDistress => "困境儿童",
            SpecialGroup::SeriousIllness => "重病慢性病患者",
            SpecialGroup::Floating => "流动人口",
            SpecialGroup::VeteranHardship => "困难退役军人",
            SpecialGroup::CommunityCorrection => "社区矫正/刑满释放人员",
            SpecialGroup::MentalDisorder => "严重精神障碍患者",
        }
    }

    /// Parse a code, a zh-CN label or a common short form (独居老人, 低保, 残疾, ...).
    pub fn parse(text: &str) -> crate::Result<SpecialGroup> {
        let t = text.trim();
        let alias = match t {
            "独居老人" | "空巢老人" | "独居" | "空巢" => {
                Some(SpecialGroup::ElderlyAlone)
            }
            "失能老人" | "高龄老人" => Some(SpecialGroup::ElderlyDisabled),
            "残疾" => Some(SpecialGroup::Disabled),
            "低保" | "低保户" => Some(SpecialGroup::LowIncome),
            "重病" | "慢性病" => Some(SpecialGroup::SeriousIllness),
            "退役军人" => Some(SpecialGroup::VeteranHardship),
            "社区矫正" | "刑满释放" => Some(SpecialGroup::CommunityCorrection),
            "精神障碍" => Some(SpecialGroup::MentalDisorder),
            _ => None,
        };
        alias
            .or_else(|| {
                SpecialGroup::ALL
                    .into_iter()
                    .find(|g| g.code() == t || g.label_zh() == t)
            })
            .ok_or_else(|| {
                crate::Error::invalid("tag", "未知的重点人群标签 / unknown special-group tag")
            })
    }
}

/// Risk grading of a household (红/黄/蓝).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Not graded.
    #[default]
    None,
    /// 蓝: low attention.
    Blue,
    /// 黄: medium attention.
    Yellow,
    /// 红: high attention.
    Red,
}

impl RiskLevel {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            RiskLevel::None => "none",
            RiskLevel::Blue => "blue",
            RiskLevel::Yellow => "yellow",
            RiskLevel::Red => "red",
        }
    }
    /// Parse a code (or 红/黄/蓝).
    pub fn parse(text: &str) -> crate::Result<RiskLevel> {
        match text.trim() {
            "none" | "" | "无" => Ok(RiskLevel::None),
            "blue" | "蓝" => Ok(RiskLevel::Blue),
            "yellow" | "黄" => Ok(RiskLevel::Yellow),
            "red" | "红" => Ok(RiskLevel::Red),
            _ => Err(crate::Error::invalid(
                "risk",
                "风险等级应为 red/yellow/blue/none / risk must be red, yellow, blue or none",
            )),
        }
    }
}

/// Whether the household still lives in the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdStatus {
    /// 在册.
    #[default]
    Active,
    /// 已迁出.
    MovedOut,
}

impl HouseholdStatus {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            HouseholdStatus::Active => "active",
            HouseholdStatus::MovedOut => "moved_out",
        }
    }
    /// Parse a code.
    pub fn parse(text: &str) -> crate::Result<HouseholdStatus> {
        match text.trim() {
            "active" => Ok(HouseholdStatus::Active),
            "moved_out" => Ok(HouseholdStatus::MovedOut),
            _ => Err(crate::Error::invalid(
                "status",
                "状态应为 active/moved_out / status must be active or moved_out",
            )),
        }
    }
}

/// A resident's gender as registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// Not recorded.
    #[default]
    Unknown,
    /// 男
    Male,
    /// 女
    Female,
}

impl Gender {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Unknown => "unknown",
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
    /// Parse a code (or 男/女).
    pub fn parse(text: &str) -> crate::Result<Gender> {
        match text.trim() {
            "unknown" | "" => Ok(Gender::Unknown),
            "male" | "m" | "男" => Ok(Gender::Male),
            "female" | "f" | "女" => Ok(Gender::Female),
            _ => Err(crate::Error::invalid(
                "gender",
                "性别应为 male/female / gender must be male or female",
            )),
        }
    }
}

/// A household as shown on the phone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Household {
    /// Id.
    pub id: HouseholdId,
    /// The 4th-level grid it belongs to.
    pub grid: GridCode,
    /// 社区 / 小区.
    pub community: String,
    /// 楼栋.
    pub building: String,
    /// 单元.
    pub unit: String,
    /// 房号.
    pub room: String,
    /// Full address text (never empty).
    pub address: String,
    /// 户主/联系人.
    pub representative: String,
    /// Contact phone.
    pub phone: String,
    /// Household-level special-group tags, sorted.
    pub tags: Vec<SpecialGroup>,
    /// Risk grading.
    pub risk: RiskLevel,
    /// Active or moved out.
    pub status: HouseholdStatus,
    /// Free note.
    pub note: String,
    /// When the household was registered.
    pub created_at: Timestamp,
    /// Residents, in registration order.
    pub residents: Vec<Resident>,
}

/// A resident of a household.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resident {
    /// Id.
    pub id: ResidentId,
    /// Name.
    pub name: String,
    /// Gender.
    pub gender: Gender,
    /// Birth date `YYYY-MM-DD`, empty if unknown.
    pub birth_date: String,
    /// GB 11643 identity number, empty if not collected.
    pub id_number: String,
    /// Phone, empty if none.
    pub phone: String,
    /// Relation to the representative (户主, 配偶, 子女, ...).
    pub relation: String,
    /// Special-group tags, sorted.
    pub tags: Vec<SpecialGroup>,
    /// True once the resident has moved out.
    pub moved_out: bool,
    /// When the resident was registered.
    pub created_at: Timestamp,
}

/// Input for a new household. Optional fields may be left empty.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewHousehold {
    /// 社区 / 小区.
    pub community: String,
    /// 楼栋.
    pub building: String,
    /// 单元.
    pub unit: String,
    /// 房号.
    pub room: String,
    /// Full address (required).
    pub address: String,
    /// 户主/联系人.
    pub representative: String,
    /// Contact phone (validated when not empty).
    pub phone: String,
    /// Tags as codes or zh labels (validated).
    pub tags: Vec<String>,
    /// Risk code (empty = none).
    pub risk: String,
    /// Free note.
    pub note: String,
}

/// A partial edit of a household: `None` leaves a field unchanged.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HouseholdEdit {
    /// New community.
    pub community: Option<String>,
    /// New building.
    pub building: Option<String>,
    /// New unit.
    pub unit: Option<String>,
    /// New room.
    pub room: Option<String>,
    /// New address (must not be empty).
    pub address: Option<String>,
    /// New representative.
    pub representative: Option<String>,
    /// New phone (empty clears it).
    pub phone: Option<String>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// New risk level code.
    pub risk: Option<String>,
    /// New status code.
    pub status: Option<String>,
    /// New note.
    pub note: Option<String>,
}

/// Input for a new resident.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewResident {
    /// Name (required).
    pub name: String,
    /// Gender code (empty = unknown; inferred from the ID number when given).
    pub gender: String,
    /// Birth date `YYYY-MM-DD` (inferred from the ID number when empty).
    pub birth_date: String,
    /// Identity number (validated when not empty).
    pub id_number: String,
    /// Phone (validated when not empty).
    pub phone: String,
    /// Relation to the representative.
    pub relation: String,
    /// Tags.
    pub tags: Vec<String>,
}

/// A partial edit of a resident.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ResidentEdit {
    /// New name.
    pub name: Option<String>,
    /// New gender code.
    pub gender: Option<String>,
    /// New birth date.
    pub birth_date: Option<String>,
    /// New identity number.
    pub id_number: Option<String>,
    /// New phone.
    pub phone: Option<String>,
    /// New relation.
    pub relation: Option<String>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// Mark moved out (true) or back (false).
    pub moved_out: Option<bool>,
}

/// Parse and de-duplicate a list of tags.
pub fn parse_tags(tags: &[String]) -> crate::Result<Vec<SpecialGroup>> {
    let mut out = tags
        .iter()
        .map(|t| SpecialGroup::parse(t))
        .collect::<crate::Result<Vec<_>>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_codes_labels_and_aliases() {
        assert_eq!(
            SpecialGroup::parse("low_income").unwrap(),
            SpecialGroup::LowIncome
        );
        assert_eq!(
            SpecialGroup::parse("低保").unwrap(),
            SpecialGroup::LowIncome
        );
        assert_eq!(
            SpecialGroup::parse("独居/空巢老人").unwrap(),
            SpecialGroup::ElderlyAlone
        );
        for g in SpecialGroup::ALL {
            assert_eq!(SpecialGroup::parse(g.code()).unwrap(), g);
            assert_eq!(SpecialGroup::parse(g.label_zh()).unwrap(), g);
        }
        assert!(SpecialGroup::parse("vip").is_err());
        let tags = parse_tags(&["低保".into(), "low_income".into(), "disabled".into()]).unwrap();
        assert_eq!(tags, vec![SpecialGroup::Disabled, SpecialGroup::LowIncome]);
    }
}

//! Display names for the codes the dashboard shows — case and hazard
//! states, severities, the case queue's stages and the actions that move a
//! case — in zh-CN and English. Codes stay the stable values in markup
//! (`data-status`, `data-action`); labels are for people.

use super::html::Lang;
use gridwork_core::model::{
    CaseState, HazardState, HouseholdStatus, RiskLevel, Severity, Workflow,
};

/// A case state's label.
pub fn case_state(lang: Lang, state: CaseState) -> &'static str {
    match lang {
        Lang::Zh => state.label_zh(),
        Lang::En => match state {
            CaseState::Collected => "collected",
            CaseState::Registered => "registered",
            CaseState::Escalated => "escalated",
            CaseState::Dispatched => "dispatched",
            CaseState::Handling => "being handled",
            CaseState::Feedback => "feedback given",
            CaseState::Verified => "verified",
            CaseState::Closed => "closed",
        },
    }
}

/// The button that moves a case from `from` to `to`.
pub fn case_action(lang: Lang, from: CaseState, to: CaseState) -> &'static str {
    match to {
        CaseState::Collected => lang.pick("重新采集", "Recollect"),
        CaseState::Registered => lang.pick("受理立案", "Register"),
        CaseState::Escalated => lang.pick("上报社区", "Escalate"),
        CaseState::Dispatched => lang.pick("派遣", "Dispatch"),
        CaseState::Handling if from == CaseState::Feedback => lang.pick("退回重办", "Send back"),
        CaseState::Handling => lang.pick("开始处置", "Start handling"),
        CaseState::Feedback => lang.pick("反馈结果", "Record feedback"),
        CaseState::Verified => lang.pick("核查通过", "Verify"),
        CaseState::Closed => lang.pick("结案", "Close"),
    }
}

/// The queue's stages, in order: each groups the states waiting for the
/// same kind of work.
pub const STAGES: &[(&str, &[CaseState])] = &[
    ("register", &[CaseState::Collected]),
    ("dispatch", &[CaseState::Registered, CaseState::Escalated]),
    ("handle", &[CaseState::Dispatched, CaseState::Handling]),
    ("verify", &[CaseState::Feedback]),
    ("close", &[CaseState::Verified]),
    ("closed", &[CaseState::Closed]),
];

/// A stage's heading.
pub fn stage(lang: Lang, code: &str) -> &'static str {
    match code {
        "register" => lang.pick("待受理立案", "To register"),
        "dispatch" => lang.pick("待派遣", "To dispatch"),
        "handle" => lang.pick("处置中", "Being handled"),
        "verify" => lang.pick("待核查", "To verify"),
        "close" => lang.pick("待结案", "To close"),
        _ => lang.pick("已结案", "Closed"),
    }
}

/// A hazard state's label.
pub fn hazard_state(lang: Lang, state: HazardState) -> &'static str {
    match lang {
        Lang::Zh => state.label_zh(),
        Lang::En => match state {
            HazardState::Reported => "reported",
            HazardState::Rectifying => "being rectified",
            HazardState::Rectified => "rectified",
            HazardState::Closed => "closed",
        },
    }
}

/// The button that moves a hazard from `from` to `to`.
pub fn hazard_action(lang: Lang, from: HazardState, to: HazardState) -> &'static str {
    match to {
        HazardState::Reported => lang.pick("重新上报", "Report again"),
        HazardState::Rectifying if from == HazardState::Rectified => {
            lang.pick("退回整改", "Send back")
        }
        HazardState::Rectifying => lang.pick("要求整改", "Order rectification"),
        HazardState::Rectified => lang.pick("登记已整改", "Mark rectified"),
        HazardState::Closed => lang.pick("验收销号", "Verify and close"),
    }
}

/// A household's risk level (the register's colour grading).
pub fn risk(lang: Lang, risk: RiskLevel) -> &'static str {
    match risk {
        RiskLevel::None => lang.pick("无", "none"),
        RiskLevel::Blue => lang.pick("蓝色（关注）", "blue (watch)"),
        RiskLevel::Yellow => lang.pick("黄色（重点）", "yellow (priority)"),
        RiskLevel::Red => lang.pick("红色（高风险）", "red (high risk)"),
    }
}

/// A household's status.
pub fn household_status(lang: Lang, status: HouseholdStatus) -> &'static str {
    match status {
        HouseholdStatus::Active => lang.pick("在住", "living here"),
        HouseholdStatus::MovedOut => lang.pick("已迁出", "moved out"),
    }
}

/// A severity's label (by code, as the read models store it).
pub fn severity(lang: Lang, code: &str) -> &'static str {
    match Severity::parse(code) {
        Ok(Severity::Low) => lang.pick("一般", "low"),
        Ok(Severity::Medium) => lang.pick("较大", "medium"),
        Ok(Severity::High) => lang.pick("重大", "high"),
        Err(_) => lang.pick("未知", "unknown"),
    }
}

/// A visit checklist item's label (the built-in checklist's, in the
/// page's language), or its code for an item of another checklist.
pub fn checklist_item(lang: Lang, item: &str) -> String {
    static ITEMS: std::sync::OnceLock<Vec<(String, String, String)>> = std::sync::OnceLock::new();
    let items = ITEMS.get_or_init(|| {
        gridwork_core::forms::default_pack::visit_checklist()
            .fields
            .into_iter()
            .map(|f| (f.id, f.label_zh, f.label_en))
            .collect()
    });
    items.iter().find(|(id, _, _)| id == item).map_or_else(
        || item.to_owned(),
        |(_, zh, en)| match lang {
            Lang::Zh => zh.clone(),
            Lang::En => en.clone(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_is_in_one_stage() {
        for state in CaseState::ALL {
            let n = STAGES.iter().filter(|(_, s)| s.contains(state)).count();
            assert_eq!(n, 1, "{state:?}");
        }
    }

    #[test]
    fn labels() {
        assert_eq!(case_state(Lang::Zh, CaseState::Dispatched), "已派遣");
        assert_eq!(
            case_action(Lang::En, CaseState::Feedback, CaseState::Handling),
            "Send back"
        );
        assert_eq!(severity(Lang::Zh, "high"), "重大");
    }
}

//! The four-level grid (town → 2nd → 3rd → 4th level) and the workers on it.

use super::ids::{GridCode, WorkerId};
use serde::{Deserialize, Serialize};

/// One node of the grid tree. Level 1 is the town, level 4 a gridworker's grid
/// of 100–150 households.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridNode {
    /// Unique code of the node.
    pub code: GridCode,
    /// 1 (town) to 4 (a gridworker's grid).
    pub level: u8,
    /// Display name, e.g. "幸福社区第三网格".
    pub name: String,
    /// Parent node; `None` only for the town.
    pub parent: Option<GridCode>,
}

/// What a worker may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 网格员: keeps one 4th-level grid.
    Gridworker,
    /// 社区工作人员: sees a community's subtree, dispatches and verifies cases.
    CommunityStaff,
    /// 镇街工作人员: sees the whole town.
    TownStaff,
    /// 管理员.
    Admin,
}

impl Role {
    /// Stable code used in storage and on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Role::Gridworker => "gridworker",
            Role::CommunityStaff => "community_staff",
            Role::TownStaff => "town_staff",
            Role::Admin => "admin",
        }
    }

    /// Parse a role code.
    pub fn parse(code: &str) -> crate::Result<Role> {
        match code {
            "gridworker" => Ok(Role::Gridworker),
            "community_staff" => Ok(Role::CommunityStaff),
            "town_staff" => Ok(Role::TownStaff),
            "admin" => Ok(Role::Admin),
            _ => Err(crate::Error::invalid("role", "未知角色 / unknown role")),
        }
    }
}

/// A person who works on the grid; on a phone, the phone's owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worker {
    /// Office-assigned id.
    pub id: WorkerId,
    /// Display name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The grid node they belong to.
    pub grid: GridCode,
}

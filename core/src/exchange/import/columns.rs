//! Header matching: which file column holds which register column
//! ([`REGISTER_COLUMNS`]), by key, zh header or alias, in any order.

use super::super::REGISTER_COLUMNS;
use crate::{Error, Result};

/// Indices into [`REGISTER_COLUMNS`].
pub(in crate::exchange) mod col {
    pub const HOUSEHOLD_ID: usize = 0;
    pub const COMMUNITY: usize = 1;
    pub const BUILDING: usize = 2;
    pub const UNIT: usize = 3;
    pub const ROOM: usize = 4;
    pub const ADDRESS: usize = 5;
    pub const REPRESENTATIVE: usize = 6;
    pub const PHONE: usize = 7;
    pub const TAGS: usize = 8;
    pub const RISK: usize = 9;
    pub const STATUS: usize = 10;
    pub const RESIDENT_ID: usize = 11;
    pub const NAME: usize = 12;
    pub const GENDER: usize = 13;
    pub const BIRTH_DATE: usize = 14;
    pub const ID_NUMBER: usize = 15;
    pub const RESIDENT_PHONE: usize = 16;
    pub const RELATION: usize = 17;
    pub const RESIDENT_TAGS: usize = 18;
    pub const MOVED_OUT: usize = 19;
    /// Number of columns.
    pub const COUNT: usize = 20;
}

/// Further header names accepted per column (besides its key and zh header).
const ALIASES: [&[&str]; col::COUNT] = [
    &["户id", "household"],
    &["小区"],
    &["楼号", "楼"],
    &[],
    &["门牌号", "室"],
    &["住址", "家庭住址"],
    &["户主", "联系人"],
    &["联系电话", "户电话"],
    &["户重点人群"],
    &["风险等级"],
    &["户状态"],
    &["居民id"],
    &["居民姓名"],
    &[],
    &["出生年月日", "birth"],
    &["身份证号码", "公民身份号码", "身份证"],
    &["手机", "手机号", "居民手机"],
    &["与户主关系"],
    &["重点人群"],
    &["是否迁出"],
];

/// The household columns (grouped per household).
pub(super) const HOUSEHOLD_COLUMNS: [usize; 10] = [
    col::COMMUNITY,
    col::BUILDING,
    col::UNIT,
    col::ROOM,
    col::ADDRESS,
    col::REPRESENTATIVE,
    col::PHONE,
    col::TAGS,
    col::RISK,
    col::STATUS,
];

/// Lowercase, without spaces, `_` and `-`.
fn normalize_header(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The register column a header cell names: the whole cell, else its parts
/// around `/` (the English part first).
fn column_of(header: &str) -> Option<usize> {
    let mut candidates = vec![normalize_header(header)];
    let parts: Vec<&str> = header.split(['/', '／']).collect();
    if parts.len() > 1 {
        candidates.extend(parts.iter().rev().map(|p| normalize_header(p)));
    }
    candidates
        .into_iter()
        .filter(|c| !c.is_empty())
        .find_map(|c| {
            REGISTER_COLUMNS.iter().enumerate().find_map(|(i, column)| {
                let mut names = [column.key, column.zh]
                    .into_iter()
                    .chain(ALIASES[i].iter().copied());
                names.any(|n| normalize_header(n) == c).then_some(i)
            })
        })
}

/// True for a header of one of the register export's label columns: its
/// key (the English part of `中文 / key`, or the whole cell) names one.
fn is_label_column(header: &str) -> bool {
    let key = header.rsplit('/').next().unwrap_or(header);
    let key = normalize_header(key);
    crate::exchange::REGISTER_LABEL_COLUMNS
        .iter()
        .any(|c| normalize_header(c.key) == key)
}

/// Map header cells to register columns: for each column, the index of the
/// file column holding it; plus the ignored header cells.
pub(in crate::exchange) fn match_columns(
    headers: &[String],
) -> Result<([Option<usize>; col::COUNT], Vec<String>)> {
    let mut found = [None; col::COUNT];
    let mut ignored = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        let header = header.trim();
        if header.is_empty() {
            continue;
        }
        if is_label_column(header) {
            // The export's label columns: known, and not read.
            continue;
        }
        match column_of(header) {
            Some(c) if found[c].is_some() => {
                let column = &REGISTER_COLUMNS[c];
                return Err(Error::invalid(
                    "register",
                    format!(
                        "“{}”列出现两次 / column {} appears twice",
                        column.zh, column.key
                    ),
                ));
            }
            Some(c) => found[c] = Some(i),
            None => ignored.push(header.to_string()),
        }
    }
    if found[col::ADDRESS].is_none() && found[col::HOUSEHOLD_ID].is_none() {
        return Err(Error::invalid(
            "register",
            "缺少“地址”或“户编号”列 / the file has neither an address nor a household_id column",
        ));
    }
    Ok((found, ignored))
}

//! The filters, search and pages of the record lists (`/cases`, `/hazards`):
//! a node of the subtree, a category, a state, only overdue ones, words of
//! the description, closed ones too (`all=1`), [`RECORDS_PER_PAGE`] to a
//! page — all in the URL ([`ListQuery::url`]), so a view can be shared and
//! an action on a row comes back to the same view (`back`).

use super::View;
use crate::error::Error;
use crate::web::page::PageCtx;
use gridwork_core::model::GridCode;
use maud::{html, Markup};
use serde::Deserialize;

/// Records per page of a list.
pub const RECORDS_PER_PAGE: usize = 100;
/// Longest search text, characters.
const MAX_QUERY_CHARS: usize = 40;

/// The query of a record list.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// `1` to list closed records too.
    pub all: Option<String>,
    /// A node of the subtree; the whole subtree when empty.
    pub grid: String,
    /// A category as reported.
    pub category: String,
    /// A state code.
    pub status: String,
    /// `1` for overdue ones only.
    pub overdue: Option<String>,
    /// Words of the description (or place).
    pub q: String,
    /// 1-based page.
    pub page: Option<usize>,
}

impl ListQuery {
    /// True for `?all=1`, or when the state asked for is a closed one
    /// (`closed_state`), which only the whole list holds.
    pub fn wants_all_with(&self, closed_state: &str) -> bool {
        self.wants_all() || self.status.trim() == closed_state
    }

    /// True for `?all=1`.
    pub fn wants_all(&self) -> bool {
        self.all.as_deref() == Some("1")
    }

    /// 400 unless the `status` filter is empty or one of `states`.
    pub fn check_status(&self, states: &[&str]) -> Result<(), Error> {
        let status = self.status.trim();
        if status.is_empty() || states.contains(&status) {
            Ok(())
        } else {
            Err(Error::invalid("status", "未知状态 / unknown state"))
        }
    }

    /// True for `?overdue=1`.
    pub fn overdue_only(&self) -> bool {
        self.overdue.as_deref() == Some("1")
    }

    /// The 4th-level grids the list covers (404 for a node outside the
    /// subtree), and a checked search text.
    pub fn grids(&self, view: &View) -> Result<Vec<GridCode>, Error> {
        if self.q.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::invalid(
                "q",
                format!("搜索内容最多 {MAX_QUERY_CHARS} 字 / at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        view.scope.grids_of(&self.grid)
    }

    /// True when `texts` (a description, a place) hold the search words.
    pub fn matches_text(&self, texts: &[&str]) -> bool {
        let q = self.q.trim();
        q.is_empty() || texts.iter().any(|t| t.contains(q))
    }

    /// True when the category and state filters let `(category, status)` through.
    pub fn matches(&self, category: &str, status: &str) -> bool {
        (self.category.trim().is_empty() || self.category.trim() == category)
            && (self.status.trim().is_empty() || self.status.trim() == status)
    }

    /// The list at `base` with these filters, on page `page`.
    pub fn url(&self, base: &str, page: usize) -> String {
        let page = page.to_string();
        let pairs: Vec<(&str, &str)> = [
            ("all", if self.wants_all() { "1" } else { "" }),
            ("grid", self.grid.trim()),
            ("category", self.category.trim()),
            ("status", self.status.trim()),
            ("overdue", if self.overdue_only() { "1" } else { "" }),
            ("q", self.q.trim()),
            ("page", if page == "1" { "" } else { page.as_str() }),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        match serde_urlencoded::to_string(&pairs) {
            Ok(encoded) if !encoded.is_empty() => format!("{base}?{encoded}"),
            _ => base.to_owned(),
        }
    }

    /// The current page (1-based, within `total` records).
    pub fn current_page(&self, total: usize) -> usize {
        self.page
            .unwrap_or(1)
            .clamp(1, total.div_ceil(RECORDS_PER_PAGE).max(1))
    }

    /// The filter form of the list at `base`: `categories` seen in the
    /// subtree, `states` as (code, label).
    pub fn form(
        &self,
        view: &View,
        base: &str,
        categories: &[String],
        states: &[(&'static str, &'static str)],
    ) -> Markup {
        let ctx: &PageCtx = &view.ctx;
        html! {
            form.filters method="get" action=(base) {
                (area_select(view, &self.grid))
                label { (ctx.t("类别", "Category")) " "
                    select name="category" {
                        option value="" { (ctx.t("全部", "all")) }
                        @for c in categories {
                            option value=(c) selected[self.category.trim() == c] { (c) }
                        }
                    }
                }
                label { (ctx.t("状态", "Status")) " "
                    select name="status" {
                        option value="" { (ctx.t("全部", "all")) }
                        @for (code, label) in states {
                            option value=(code) selected[self.status.trim() == *code] { (label) }
                        }
                    }
                }
                label { input type="checkbox" name="overdue" value="1" checked[self.overdue_only()]; " " (ctx.t("只看超期", "overdue only")) }
                label { input type="checkbox" name="all" value="1" checked[self.wants_all()]; " " (ctx.t("含已办结", "closed too")) }
                label { (ctx.t("搜索", "Search")) " "
                    input type="search" name="q" value=(self.q) maxlength=(MAX_QUERY_CHARS) placeholder=(ctx.t("描述中的文字", "words of the description"));
                }
                button type="submit" { (ctx.t("筛选", "Filter")) }
                a href=(base) { (ctx.t("清除", "Clear")) }
            }
        }
    }

    /// Links to the previous and next pages of `total` records.
    pub fn pager(&self, ctx: &PageCtx, base: &str, total: usize) -> Markup {
        let pages = total.div_ceil(RECORDS_PER_PAGE).max(1);
        pager(ctx, self.current_page(total), pages, |page| {
            self.url(base, page)
        })
    }
}

/// The `grid` select of a filter form: every node of the subtree,
/// `selected` chosen.
pub fn area_select(view: &View, selected: &str) -> Markup {
    let ctx = &view.ctx;
    html! {
        label { (ctx.t("范围", "Area")) " "
            select name="grid" {
                option value="" { (ctx.t("全部", "all")) }
                @for n in &view.scope.nodes {
                    option value=(n.code.0) selected[selected.trim() == n.code.0] { (n.name) }
                }
            }
        }
    }
}

/// Links to the previous and next of `pages` pages, `url` giving a
/// page's address (nothing when there is one page).
pub fn pager(ctx: &PageCtx, current: usize, pages: usize, url: impl Fn(usize) -> String) -> Markup {
    html! {
        @if pages > 1 {
            nav.pages aria-label=(ctx.t("分页", "Pages")) {
                (ctx.t("第 ", "page ")) (current) " / " (pages) (ctx.t(" 页", "")) " "
                @if current > 1 { a rel="prev" href=(url(current - 1)) { "‹ " (ctx.t("上一页", "previous")) } " " }
                @if current < pages { a rel="next" href=(url(current + 1)) { (ctx.t("下一页", "next")) " ›" } }
            }
        }
    }
}

/// `back` as a place to return to after an action on a list at `base`: a
/// path of that list with its query, nothing else (no other site, no other
/// page); `base` itself otherwise.
pub fn safe_back(back: &str, base: &str) -> String {
    let ok = (back == base || back.starts_with(&format!("{base}?")))
        && !back.contains("//")
        && !back.contains('\\')
        && !back.chars().any(|c| c.is_control() || c == '#');
    if ok {
        back.to_owned()
    } else {
        base.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_filters_and_back_stays_on_the_list() {
        let q = ListQuery {
            all: Some("1".into()),
            grid: "C1".into(),
            q: "楼道 杂物".into(),
            page: Some(3),
            ..Default::default()
        };
        let url = q.url("/cases", 2);
        assert!(url.starts_with("/cases?all=1&grid=C1&q="), "{url}");
        assert!(url.ends_with("&page=2"));
        let back: ListQuery = serde_urlencoded::from_str(url.split_once('?').unwrap().1).unwrap();
        assert_eq!((back.q.as_str(), back.page), ("楼道 杂物", Some(2)));
        assert_eq!(safe_back(&url, "/cases"), url);
        for bad in [
            "//evil.example/cases",
            "/cases//x",
            "https://evil.example",
            "/hazards",
            "/casesx",
            "/cases?x#y",
        ] {
            assert_eq!(safe_back(bad, "/cases"), "/cases", "{bad}");
        }
    }
}

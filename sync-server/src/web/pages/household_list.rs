//! `GET /households?q=…&grid=…&tag=…&due=…&page=N`: find a household in
//! the staff member's subtree — by the last digits of a phone or identity
//! number (the household's or any resident's), by a name or an address —
//! narrowed to a node of the subtree, a special group or the visit
//! schedule, [`PAGE_SIZE`] to a page. Every filter is in the URL, so a view
//! can be shared. Results show no personal data beyond the representative's
//! name (the household page masks the rest); a search by personal data or a
//! list of a special group is written to the access log (without what was
//! searched for).

use super::filters::{area_select, pager};
use super::{Outcome, PageRequest, View};
use crate::access_log;
use crate::db::now_ms;
use crate::error::Error;
use crate::web::html::Lang;
use crate::web::page::{frame, local_time, PageCtx};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use gridwork_core::api::reads::{in_list, json_list};
use gridwork_core::api::HouseholdSummary;
use gridwork_core::model::{GridCode, SpecialGroup};
use gridwork_core::schedule::DueStatus;
use gridwork_core::store::sql::SqlValue;
use maud::html;
use serde::Deserialize;

/// Households shown per page.
pub const PAGE_SIZE: usize = 50;
/// Fewest characters of a number search (the last digits of a phone or
/// identity number).
pub const MIN_NUMBER_DIGITS: usize = 3;
/// Longest search text, characters.
const MAX_QUERY_CHARS: usize = 40;

/// The query of `GET /households`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HouseholdQuery {
    /// Last digits of a phone or identity number, or part of a name or an
    /// address.
    pub q: String,
    /// A node of the subtree (any level); the whole subtree when empty.
    pub grid: String,
    /// A special-group code.
    pub tag: String,
    /// `overdue`, `due` or empty.
    pub due: String,
    /// 1-based page.
    pub page: Option<usize>,
}

/// How a search text is matched.
#[derive(Debug, PartialEq, Eq)]
enum Search {
    /// No text.
    None,
    /// Trailing digits (an `X` allowed last, as identity numbers end).
    Number(String),
    /// Part of a name or an address.
    Text(String),
}

impl Search {
    fn parse(q: &str) -> Result<Search, Error> {
        let q = q.trim();
        if q.is_empty() {
            return Ok(Search::None);
        }
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::invalid(
                "q",
                format!("搜索内容最多 {MAX_QUERY_CHARS} 字 / at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let upper = q.to_uppercase();
        let body = upper.strip_suffix('X').unwrap_or(&upper);
        if !body.is_empty() && body.chars().all(|c| c.is_ascii_digit()) {
            if upper.len() < MIN_NUMBER_DIGITS {
                return Err(Error::invalid(
                    "q",
                    format!("号码请至少输入后 {MIN_NUMBER_DIGITS} 位 / give at least the last {MIN_NUMBER_DIGITS} digits"),
                ));
            }
            return Ok(Search::Number(upper));
        }
        Ok(Search::Text(q.to_owned()))
    }
}

/// `text` for a `LIKE … ESCAPE '\'` pattern: its own `%`, `_` and `\`
/// match themselves.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `GET /households`.
pub async fn list(Query(query): Query<HouseholdQuery>, request: PageRequest) -> Response {
    request
        .respond(move |view| {
            let search = Search::parse(&query.q)?;
            let grids = view.scope.grids_of(&query.grid)?;
            let tag = match query.tag.trim() {
                "" => None,
                code => Some(
                    SpecialGroup::ALL
                        .into_iter()
                        .find(|t| t.code() == code)
                        .ok_or_else(|| Error::invalid("tag", "未知的特殊群体 / unknown special group"))?,
                ),
            };
            let due = match query.due.trim() {
                "" => None,
                "overdue" => Some(DueStatus::Overdue),
                "due" => Some(DueStatus::Due),
                _ => return Err(Error::invalid("due", "应为 overdue 或 due / must be overdue or due")),
            };
            let found = find(view, &grids, &search, tag)?;
            let found: Vec<(GridCode, HouseholdSummary)> = found
                .into_iter()
                .filter(|(_, h)| due.is_none_or(|d| h.due_status == d))
                .collect();
            // A search by personal data, or a list of a special group
            // (health, income, record): written to the access log.
            if search != Search::None || tag.is_some() {
                access_log::record_search(
                    &view.state.backend,
                    &view.ctx.account.worker_id.0,
                    "households",
                    &grids.iter().map(|g| g.0.clone()).collect::<Vec<_>>(),
                    now_ms(),
                )?;
                tracing::info!(worker = %view.ctx.account.worker_id.0, results = found.len(), "households searched");
            }
            Ok(Outcome::Page(StatusCode::OK, page(view, &query, &found)))
        })
        .await
}

/// The households of `grids` matching `search` and `tag`, in register
/// order, with their grids.
fn find(
    view: &View,
    grids: &[GridCode],
    search: &Search,
    tag: Option<SpecialGroup>,
) -> Result<Vec<(GridCode, HouseholdSummary)>, Error> {
    let scope = json_list(grids);
    view.read(|r| {
        let mut filter = format!("WHERE h.grid {}", in_list(r.conn.dialect(), 1));
        let mut args: Vec<SqlValue<'_>> = vec![scope.as_str().into()];
        let pattern;
        match search {
            Search::None => {}
            Search::Number(digits) => {
                pattern = format!("%{}", like_escaped(digits));
                filter.push_str(
                    " AND (h.phone LIKE ?2 ESCAPE '\\' OR EXISTS (SELECT 1 FROM residents r
                        WHERE r.household_id = h.id
                          AND (r.phone LIKE ?2 ESCAPE '\\' OR upper(r.id_number) LIKE ?2 ESCAPE '\\')))",
                );
                args.push(pattern.as_str().into());
            }
            Search::Text(text) => {
                pattern = format!("%{}%", like_escaped(text));
                filter.push_str(
                    " AND (h.address LIKE ?2 ESCAPE '\\' OR h.representative LIKE ?2 ESCAPE '\\'
                        OR EXISTS (SELECT 1 FROM residents r WHERE r.household_id = h.id AND r.name LIKE ?2 ESCAPE '\\'))",
                );
                args.push(pattern.as_str().into());
            }
        }
        Ok(r
            .summaries(&filter, &args)?
            .into_iter()
            .filter(|(_, h)| tag.is_none_or(|t| h.all_tags.contains(&t)))
            .collect())
    })
}

/// The URL of this list with `query`'s filters and page `page`.
fn url(query: &HouseholdQuery, page: usize) -> String {
    let page = page.to_string();
    let pairs: Vec<(&str, &str)> = [
        ("q", query.q.trim()),
        ("grid", query.grid.trim()),
        ("tag", query.tag.trim()),
        ("due", query.due.trim()),
        ("page", if page == "1" { "" } else { page.as_str() }),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    match serde_urlencoded::to_string(&pairs) {
        Ok(encoded) if !encoded.is_empty() => format!("/households?{encoded}"),
        _ => "/households".to_owned(),
    }
}

fn due_label(lang: Lang, status: DueStatus) -> &'static str {
    match status {
        DueStatus::Overdue => lang.pick("已逾期", "overdue"),
        DueStatus::Due => lang.pick("即将到期", "due soon"),
        DueStatus::NotDue => lang.pick("未到期", "not due"),
    }
}

fn page(view: &View, query: &HouseholdQuery, found: &[(GridCode, HouseholdSummary)]) -> String {
    let ctx: &PageCtx = &view.ctx;
    let pages = found.len().div_ceil(PAGE_SIZE).max(1);
    let current = query.page.unwrap_or(1).clamp(1, pages);
    let shown = found.iter().skip((current - 1) * PAGE_SIZE).take(PAGE_SIZE);
    let body = html! {
        form.filters method="get" action="/households" {
            label { (ctx.t("搜索", "Search")) " "
                input type="search" name="q" value=(query.q) maxlength=(MAX_QUERY_CHARS)
                    placeholder=(ctx.t("电话或证件号后几位、姓名、地址", "last digits of a phone or ID, a name, an address"));
            }
            (area_select(view, &query.grid))
            label { (ctx.t("特殊群体", "Special group")) " "
                select name="tag" {
                    option value="" { (ctx.t("全部", "all")) }
                    @for t in SpecialGroup::ALL {
                        option value=(t.code()) selected[query.tag.trim() == t.code()] { (ctx.t(t.label_zh(), t.code())) }
                    }
                }
            }
            label { (ctx.t("走访", "Visits")) " "
                select name="due" {
                    option value="" { (ctx.t("全部", "all")) }
                    option value="overdue" selected[query.due.trim() == "overdue"] { (ctx.t("已逾期", "overdue")) }
                    option value="due" selected[query.due.trim() == "due"] { (ctx.t("即将到期", "due soon")) }
                }
            }
            button type="submit" { (ctx.t("查找", "Find")) }
            a href="/households" { (ctx.t("清除", "Clear")) }
        }
        p.hint {
            span data-figure="found" { (found.len()) } (ctx.t(" 户", " households"))
            @if pages > 1 { " · " (ctx.t("第 ", "page ")) (current) " / " (pages) (ctx.t(" 页", "")) }
            " · " (ctx.t("按电话或证件号查找会记入访问日志。", "Searches by phone or ID number are recorded in the access log."))
        }
        table #households .data {
            thead { tr {
                th { (ctx.t("地址", "Address")) }
                th { (ctx.t("户代表", "Representative")) }
                th { (ctx.t("网格", "Grid")) }
                th { (ctx.t("特殊群体", "Special groups")) }
                th.num { (ctx.t("在住人数", "Residents")) }
                th { (ctx.t("上次走访", "Last visit")) }
                th { (ctx.t("走访", "Visits")) }
            } }
            tbody {
                @for (grid, h) in shown {
                    tr data-household=(h.id) class=[(h.due_status == DueStatus::Overdue).then_some("overdue")] {
                        td { a href={ "/households/" (h.id) } { (h.address) } }
                        td { (h.representative) }
                        td { (view.scope.name_of(grid)) }
                        td { @for tag in &h.all_tags { span.tag { (ctx.t(tag.label_zh(), tag.code())) } " " } }
                        td.num { (h.residents) }
                        td { (h.last_visit_at.map(local_time).unwrap_or_else(|| "—".into())) }
                        td { (due_label(ctx.lang, h.due_status)) }
                    }
                }
            }
        }
        (pager(ctx, current, pages, |page| url(query, page)))
    };
    frame(ctx, ctx.t("住户查找", "Households"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_a_number_when_it_is_trailing_digits() {
        assert_eq!(Search::parse(" ").unwrap(), Search::None);
        assert_eq!(
            Search::parse("5678").unwrap(),
            Search::Number("5678".into())
        );
        assert_eq!(
            Search::parse("002x").unwrap(),
            Search::Number("002X".into())
        );
        assert_eq!(Search::parse("张").unwrap(), Search::Text("张".into()));
        assert_eq!(
            Search::parse("幸福里3").unwrap(),
            Search::Text("幸福里3".into())
        );
        assert!(Search::parse("12").is_err());
        assert!(Search::parse(&"字".repeat(41)).is_err());
        assert_eq!(like_escaped("50%_a\\"), "50\\%\\_a\\\\");
    }
}

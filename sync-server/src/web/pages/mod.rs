//! The dashboard's pages after sign-in. Each handler checks the session
//! (the [`StaffSession`] extractor sends strangers to `/login`), picks the
//! language, then does its work in one blocking task over a [`View`]: the
//! server's storage read through the core's [`Reader`] (on SQLite or
//! PostgreSQL) plus the staff member's [`Scope`]. Everything a page reads is filtered to that scope; a record
//! outside it answers 404, as if it did not exist.
//!
//! - [`overview`]: `GET /` and `GET /grids/{code}`;
//! - [`household_list`]: `GET /households` (search, filters, pages);
//! - [`households`]: `GET /households/{id}` (masked, access-logged);
//! - [`cases`]: `GET /cases`; [`hazards`]: `GET /hazards`;
//! - [`transitions`]: `POST /cases/{id}/transition`, `POST /hazards/{id}/transition`;
//! - [`map`]: `GET /map` (visits, hazards, cases by GPS, as SVG);
//! - [`workers`]: `GET /visits` (filters, pages) and `GET /workers/{id}`;
//! - [`evaluation`]: `GET /evaluation`;
//! - [`exports`]: `GET /exports`, `GET /exports/{file}`.

pub mod cases;
pub mod evaluation;
pub mod exports;
pub mod filters;
pub mod hazards;
pub mod household_list;
pub mod households;
pub mod invites;
pub mod map;
pub mod overview;
pub mod photos;
pub mod transitions;
pub mod workers;

use super::page::{error_page, PageCtx, TIMEZONE};
use super::{add_cookie, choose_lang, html_response, StaffSession, WebConfig};
use crate::accounts;
use crate::error::Error;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use gridwork_core::api::Reader;
use gridwork_core::model::{GridCode, GridNode, Timestamp};
use gridwork_core::store::sql::SqlConn;

/// The grids a staff member may see: their node and everything below it.
pub struct Scope {
    /// Every node of the subtree, by level then code.
    pub nodes: Vec<GridNode>,
}

impl Scope {
    /// The 4th-level grids (where households live), in order.
    pub fn grids(&self) -> Vec<GridCode> {
        self.nodes
            .iter()
            .filter(|n| n.level == 4)
            .map(|n| n.code.clone())
            .collect()
    }

    /// Every code of the subtree.
    pub fn codes(&self) -> Vec<GridCode> {
        self.nodes.iter().map(|n| n.code.clone()).collect()
    }

    /// True if `grid` is in the subtree.
    pub fn covers(&self, grid: &GridCode) -> bool {
        self.nodes.iter().any(|n| &n.code == grid)
    }

    /// True if `grid` lies below `ancestor` in the subtree.
    pub fn is_below(&self, grid: &GridCode, ancestor: &GridCode) -> bool {
        let mut current = grid;
        while let Some(parent) = self
            .nodes
            .iter()
            .find(|n| &n.code == current)
            .and_then(|n| n.parent.as_ref())
        {
            if parent == ancestor {
                return true;
            }
            current = parent;
        }
        false
    }

    /// The node `code`, if it is in the subtree.
    pub fn node(&self, code: &GridCode) -> Option<&GridNode> {
        self.nodes.iter().find(|n| &n.code == code)
    }

    /// The top nodes of the subtree: those whose parent is outside it
    /// (normally one: the staff member's own node).
    pub fn roots(&self) -> Vec<&GridNode> {
        self.nodes
            .iter()
            .filter(|n| n.parent.as_ref().is_none_or(|p| !self.covers(p)))
            .collect()
    }

    /// The nodes directly below `code`, in order.
    pub fn children(&self, code: &GridCode) -> Vec<&GridNode> {
        self.nodes
            .iter()
            .filter(|n| n.parent.as_ref() == Some(code))
            .collect()
    }

    /// The 4th-level grids at or below `code`, in order.
    pub fn grids_under(&self, code: &GridCode) -> Vec<GridCode> {
        self.nodes
            .iter()
            .filter(|n| n.level == 4 && (&n.code == code || self.is_below(&n.code, code)))
            .map(|n| n.code.clone())
            .collect()
    }

    /// The 4th-level grids a list's `grid` parameter selects: the whole
    /// subtree when empty, else those at or below that node (404 for a node
    /// outside the subtree, as if it did not exist).
    pub fn grids_of(&self, param: &str) -> Result<Vec<GridCode>, Error> {
        match param.trim() {
            "" => Ok(self.grids()),
            code => {
                let code = GridCode(code.to_owned());
                if !self.covers(&code) {
                    return Err(Error::not_found("grid", code.0));
                }
                Ok(self.grids_under(&code))
            }
        }
    }

    /// The nodes from the top of the subtree down to `code` (inclusive):
    /// a page's breadcrumbs.
    pub fn path_to(&self, code: &GridCode) -> Vec<&GridNode> {
        let mut path = Vec::new();
        let mut current = self.node(code);
        while let Some(node) = current {
            path.push(node);
            current = node.parent.as_ref().and_then(|p| self.node(p));
        }
        path.reverse();
        path
    }

    /// A grid's display name (its code if unknown).
    pub fn name_of(&self, grid: &GridCode) -> String {
        self.nodes
            .iter()
            .find(|n| &n.code == grid)
            .map_or_else(|| grid.0.clone(), |n| n.name.clone())
    }
}

/// What a page's blocking work gets: the request's context, the staff
/// member's scope and the server's state, whose storage pages read through
/// [`View::read`] (SQLite or PostgreSQL alike).
pub struct View {
    /// Language, who, CSRF token, path.
    pub ctx: PageCtx,
    /// The staff member's subtree.
    pub scope: Scope,
    /// The server's state (storage, and server tables such as the access log).
    pub state: AppState,
}

impl View {
    /// Open a view for `ctx` (blocking).
    fn open(state: AppState, ctx: PageCtx) -> Result<View, Error> {
        let mut nodes = state.backend.read(|conn| accounts::list_grids_in(conn))?;
        nodes.retain(|g| ctx.account.covers(&g.code));
        Ok(View {
            ctx,
            scope: Scope { nodes },
            state,
        })
    }

    /// Run `f` with a core [`Reader`] over one snapshot of the server's
    /// storage for a page or an export (on PostgreSQL the read replica, if
    /// any: [`crate::backend::Backend::read_reports`]), dates judged in
    /// [`TIMEZONE`] as of now.
    pub fn read<R>(
        &self,
        f: impl for<'c> FnMut(&Reader<'c, dyn SqlConn + 'c>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        self.read_from(Source::Reports, f)
    }

    /// [`View::read`] on the database itself, never a replica: for the
    /// checks before a write.
    pub fn read_latest<R>(
        &self,
        f: impl for<'c> FnMut(&Reader<'c, dyn SqlConn + 'c>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        self.read_from(Source::Latest, f)
    }

    fn read_from<R>(
        &self,
        source: Source,
        mut f: impl for<'c> FnMut(&Reader<'c, dyn SqlConn + 'c>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let tz = jiff::tz::TimeZone::get(TIMEZONE).unwrap_or(jiff::tz::TimeZone::UTC);
        let now = Timestamp(crate::db::now_ms());
        let mut with_reader = |conn: &dyn SqlConn| f(&Reader::new(conn, &tz, now));
        match source {
            Source::Reports => self.state.backend.read_reports(&mut with_reader),
            Source::Latest => self.state.backend.read(&mut with_reader),
        }
    }
}

/// Display names of workers and staff by id, for every place a page shows
/// a person ([`View::names`]).
pub struct Names {
    names: std::collections::HashMap<String, String>,
    /// Workers whose page the viewer may open.
    linked: std::collections::HashSet<String>,
}

impl Names {
    /// `id`'s name, if known.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.names.get(id).map(String::as_str)
    }

    /// `id`'s name, or the id itself when unknown (a removed account, the
    /// server's own changes): a person is shown by name wherever one is
    /// known, with the id kept as the element's `title`, linking to their
    /// page when they work in the viewer's subtree.
    pub fn person(&self, id: &str) -> maud::Markup {
        let name = self.names.get(id).map_or(id, String::as_str);
        maud::html! {
            @if self.linked.contains(id) {
                a.person href={ "/workers/" (id) } title=(id) data-person=(id) { (name) }
            } @else {
                span.person title=(id) data-person=(id) { (name) }
            }
        }
    }
}

impl View {
    /// The names of every account and handler (two small queries).
    pub fn names(&self) -> Result<Names, Error> {
        let workers = self
            .state
            .backend
            .read(|conn| accounts::list_workers_in(conn))?;
        let handlers = self
            .state
            .backend
            .read(|conn| accounts::handlers::list_handlers_in(conn))?;
        let mut names: std::collections::HashMap<String, String> =
            handlers.into_iter().map(|h| (h.id, h.name)).collect();
        let linked = workers
            .iter()
            .filter(|w| self.scope.covers(&w.grid))
            .map(|w| w.id.0.clone())
            .collect();
        // Requests residents filed through an invitation link.
        names.insert(
            crate::intake::requests::RESIDENT_ACTOR.to_string(),
            "居民（邀请链接）/ resident (invitation link)".to_string(),
        );
        // A worker's name wins over a handler's of the same id.
        names.extend(workers.into_iter().map(|w| (w.id.0, w.name)));
        Ok(Names { names, linked })
    }
}

/// Where a page reads: the replica if any, or the database itself.
#[derive(Clone, Copy)]
enum Source {
    Reports,
    Latest,
}

/// What a page's work produces.
pub enum Outcome {
    /// An HTML page with this status.
    Page(StatusCode, String),
    /// A redirect (303) to this path.
    SeeOther(String),
    /// Any other response (downloads).
    Raw(Response),
}

/// A signed-in page request, extracted once for every page handler: the
/// server's state, the page's context (language, who, CSRF token, path) and
/// the `gw_lang` cookie to set. Strangers are sent to `/login` (by the
/// [`StaffSession`] extractor inside).
pub struct PageRequest {
    /// The server's state.
    pub state: AppState,
    /// Language, who, CSRF token, path.
    pub ctx: PageCtx,
    /// The `gw_lang` cookie to set, if the language was chosen by this request.
    pub lang_cookie: Option<HeaderValue>,
}

impl FromRequestParts<AppState> for PageRequest {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let staff = StaffSession::from_request_parts(parts, state).await?;
        let config = parts
            .extensions
            .get::<WebConfig>()
            .copied()
            .unwrap_or_default();
        let (ctx, lang_cookie) = context(&staff, config, &parts.uri, &parts.headers);
        Ok(PageRequest {
            state: state.clone(),
            ctx,
            lang_cookie,
        })
    }
}

impl PageRequest {
    /// Run `work` over a [`View`] (see [`respond`]).
    pub async fn respond(
        self,
        work: impl FnOnce(&View) -> Result<Outcome, Error> + Send + 'static,
    ) -> Response {
        respond(self.state, self.ctx, self.lang_cookie, work).await
    }
}

/// A staff form that carries the session's CSRF token in its `csrf` field.
pub trait StaffForm {
    /// The submitted token.
    fn csrf(&self) -> &str;
}

impl PageRequest {
    /// The submitted form of a staff POST if it decoded and its CSRF token
    /// is the session's; else the 403 page to answer with (nothing done),
    /// logged with the staff member's id and `action`.
    #[allow(clippy::result_large_err)]
    pub fn checked_form<T: StaffForm>(
        &self,
        form: Result<axum::Form<T>, axum::extract::rejection::FormRejection>,
        action: &str,
    ) -> Result<T, Response> {
        match form {
            Ok(axum::Form(form)) if crate::web::csrf::tokens_match(&self.ctx.csrf, form.csrf()) => {
                Ok(form)
            }
            _ => {
                tracing::warn!(worker = %self.ctx.account.worker_id.0, action, "staff action refused: missing or mismatched CSRF token");
                Err(crate::web::csrf_refused(self.ctx.lang))
            }
        }
    }
}

/// The request context of a page at `path`, and the `gw_lang` cookie to
/// set if the language was chosen by this request.
pub fn context(
    staff: &StaffSession,
    config: WebConfig,
    uri: &Uri,
    headers: &HeaderMap,
) -> (PageCtx, Option<HeaderValue>) {
    let (lang, cookie) = choose_lang(uri, headers, config);
    let ctx = PageCtx {
        lang,
        account: staff.account.clone(),
        csrf: staff.csrf.clone(),
        path: uri.path().to_owned(),
    };
    (ctx, cookie)
}

/// Run `work` over a [`View`] in a blocking task and turn its outcome (or
/// its error, as an HTML error page) into the response.
pub async fn respond(
    state: AppState,
    ctx: PageCtx,
    lang_cookie: Option<HeaderValue>,
    work: impl FnOnce(&View) -> Result<Outcome, Error> + Send + 'static,
) -> Response {
    let outcome = tokio::task::spawn_blocking(move || {
        let view = match View::open(state, ctx) {
            Ok(view) => view,
            Err(e) => return Err(e),
        };
        match work(&view) {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                let (status, body) = error_page(&view.ctx, &e);
                Ok(Outcome::Page(status, body))
            }
        }
    })
    .await
    .map_err(Error::from)
    .and_then(|r| r);
    let mut response = match outcome {
        Ok(Outcome::Page(status, body)) => html_response(status, body),
        Ok(Outcome::SeeOther(to)) => super::see_other(&to),
        Ok(Outcome::Raw(response)) => response,
        Err(e) => axum::response::IntoResponse::into_response(e),
    };
    if let Some(cookie) = lang_cookie {
        add_cookie(&mut response, cookie);
    }
    response
}

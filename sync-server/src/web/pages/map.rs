//! `GET /map?grid=CODE&days=N`: the visits of the last `N` days (default
//! 30), the open hazards and the open cases of a node of the staff member's
//! subtree (the whole subtree by default) on an SVG map drawn by the
//! server — no tiles, no scripts, nothing from outside the intranet — with
//! the grid boundaries imported as GeoJSON. Hazards and cases link to their
//! rows; counts of what is drawn and of what has no position are figures
//! (`data-figure`), so people and tests read the same numbers.

use super::{Outcome, PageRequest, View};
use crate::dashboard::map::{boundaries, map_points, Boundary, MapPoint, MapPoints};
use crate::web::page::{frame, local_time, PageCtx};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use gridwork_core::model::{GridCode, Timestamp};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;
use std::fmt::Write;

/// Width of the drawing, SVG units.
const WIDTH: f64 = 900.0;
/// Most days of visits shown.
const MAX_DAYS: u32 = 366;

/// The query of `GET /map`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MapQuery {
    /// A node of the subtree; the whole subtree when empty.
    pub grid: String,
    /// Days of visits (default 30).
    pub days: Option<u32>,
}

/// `GET /map`.
pub async fn map(Query(query): Query<MapQuery>, request: PageRequest) -> Response {
    request
        .respond(move |view| {
            let grids = view.scope.grids_of(&query.grid)?;
            let nodes: Vec<GridCode> = match query.grid.trim() {
                "" => view.scope.codes(),
                code => {
                    let code = GridCode(code.to_owned());
                    view.scope
                        .nodes
                        .iter()
                        .filter(|n| n.code == code || view.scope.is_below(&n.code, &code))
                        .map(|n| n.code.clone())
                        .collect()
                }
            };
            let name = view
                .scope
                .node(&GridCode(query.grid.trim().to_owned()))
                .map(|n| n.name.clone());
            let days = query.days.unwrap_or(30).clamp(1, MAX_DAYS);
            let now = crate::db::now_ms();
            let since = now - i64::from(days) * 86_400_000;
            let (points, shapes) = view.read(|r| {
                Ok((
                    map_points(r.conn, &grids, since, now)?,
                    // Every node's boundary under the one shown (a
                    // community's and its 片区' too, not only the grids').
                    boundaries(r.conn, &nodes)?,
                ))
            })?;
            Ok(Outcome::Page(
                StatusCode::OK,
                page(view, &query, days, name.as_deref(), &points, &shapes),
            ))
        })
        .await
}

/// Projects WGS-84 positions onto the drawing: equirectangular around the
/// middle latitude (right for the few kilometres of a town), north up.
struct Projection {
    min_lon: f64,
    max_lat: f64,
    scale_x: f64,
    scale_y: f64,
    height: f64,
}

impl Projection {
    /// A projection showing every `[lon, lat]` of `positions` with a margin.
    fn fitting(positions: &[[f64; 2]]) -> Option<Projection> {
        let first = positions.first()?;
        let (mut min_lon, mut max_lon, mut min_lat, mut max_lat) =
            (first[0], first[0], first[1], first[1]);
        for [lon, lat] in positions {
            min_lon = min_lon.min(*lon);
            max_lon = max_lon.max(*lon);
            min_lat = min_lat.min(*lat);
            max_lat = max_lat.max(*lat);
        }
        // At least ~100 m across, centred on the points, with a margin of
        // 6% each side.
        let span_lon = (max_lon - min_lon).max(0.001) * 1.12;
        let span_lat = (max_lat - min_lat).max(0.001) * 1.12;
        let min_lon = (min_lon + max_lon) / 2.0 - span_lon / 2.0;
        let max_lat = (min_lat + max_lat) / 2.0 + span_lat / 2.0;
        let shrink = (max_lat - span_lat / 2.0).to_radians().cos().max(0.1);
        // SVG units per degree of latitude; a degree of longitude is
        // `shrink` of that. Fit the width, keep the height in bounds.
        let fit_width = WIDTH / (span_lon * shrink);
        let height = (span_lat * fit_width).clamp(240.0, 900.0);
        let scale = fit_width.min(height / span_lat);
        let (scale_x, scale_y) = (scale * shrink, scale);
        Some(Projection {
            min_lon,
            max_lat,
            scale_x,
            scale_y,
            height,
        })
    }

    fn xy(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            (lon - self.min_lon) * self.scale_x,
            (self.max_lat - lat) * self.scale_y,
        )
    }
}

/// The SVG of the points and boundaries (empty when nothing is located).
fn drawing(view: &View, points: &[MapPoint], shapes: &[Boundary]) -> Option<Markup> {
    let mut positions: Vec<[f64; 2]> = points.iter().map(|p| [p.lon, p.lat]).collect();
    for (_, rings) in shapes {
        for ring in rings {
            positions.extend(ring.iter().copied());
        }
    }
    let p = Projection::fitting(&positions)?;
    let ctx = &view.ctx;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="map" role="img" viewBox="0 0 {WIDTH:.0} {:.0}" width="100%"><title>{}</title>"#,
        p.height,
        ctx.t("走访、隐患与事项分布", "Visits, hazards and cases")
    );
    for (grid, rings) in shapes {
        for ring in rings {
            let coords: Vec<String> = ring
                .iter()
                .map(|[lon, lat]| {
                    let (x, y) = p.xy(*lon, *lat);
                    format!("{x:.1},{y:.1}")
                })
                .collect();
            let _ = write!(
                svg,
                r#"<polygon class="boundary" data-boundary="{}" points="{}"><title>{}</title></polygon>"#,
                escape(&grid.0),
                coords.join(" "),
                escape(&view.scope.name_of(grid))
            );
        }
    }
    // Visits under the records that need action.
    for kind in ["visit", "case", "hazard"] {
        for point in points.iter().filter(|pt| pt.kind == kind) {
            let (x, y) = p.xy(point.lon, point.lat);
            let grid = escape(&view.scope.name_of(&point.grid));
            match kind {
                "visit" => {
                    let when = point
                        .label
                        .parse::<i64>()
                        .map(|at| local_time(Timestamp(at)))
                        .unwrap_or_default();
                    let _ = write!(
                        svg,
                        r#"<circle class="pt-visit" data-point="visit" cx="{x:.1}" cy="{y:.1}" r="3"><title>{} {when} · {grid}</title></circle>"#,
                        ctx.t("走访", "visit")
                    );
                }
                "case" => {
                    let _ = write!(
                        svg,
                        r##"<a href="/cases#case-{id}"><rect class="pt-case" data-point="case" data-id="{id}" x="{:.1}" y="{:.1}" width="9" height="9"><title>{} {} · {grid}</title></rect></a>"##,
                        x - 4.5,
                        y - 4.5,
                        ctx.t("事项", "case"),
                        escape(&point.label),
                        id = escape(&point.id),
                    );
                }
                _ => {
                    let class = if point.overdue {
                        "pt-hazard overdue"
                    } else {
                        "pt-hazard"
                    };
                    let _ = write!(
                        svg,
                        r##"<a href="/hazards#hazard-{id}"><path class="{class}" data-point="hazard" data-id="{id}" d="M{:.1},{:.1} l6,10 h-12 z"><title>{} {}{} · {grid}</title></path></a>"##,
                        x,
                        y - 6.0,
                        ctx.t("隐患", "hazard"),
                        escape(&point.label),
                        if point.overdue {
                            ctx.t("（超期）", " (overdue)")
                        } else {
                            ""
                        },
                        id = escape(&point.id),
                    );
                }
            }
        }
    }
    svg.push_str("</svg>");
    Some(html! { (PreEscaped(svg)) })
}

/// `text` escaped for SVG text and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(
    view: &View,
    query: &MapQuery,
    days: u32,
    name: Option<&str>,
    m: &MapPoints,
    shapes: &[Boundary],
) -> String {
    let ctx: &PageCtx = &view.ctx;
    let count = |kind: &str| m.points.iter().filter(|p| p.kind == kind).count();
    let body = html! {
        form.filters method="get" action="/map" {
            (super::filters::area_select(view, &query.grid))
            label { (ctx.t("走访天数", "Days of visits")) " "
                input type="number" name="days" min="1" max=(MAX_DAYS) value=(days);
            }
            button type="submit" { (ctx.t("查看", "Show")) }
        }
        p.hint #map-counts {
            (ctx.t("近 ", "Visits in the last ")) (days) (ctx.t(" 天走访 ", " days: "))
            span data-figure="map_visits" { (count("visit")) }
            (ctx.t(" 次；未销号隐患 ", "; open hazards: ")) span data-figure="map_hazards" { (count("hazard")) }
            (ctx.t(" 处；未结事项 ", "; open cases: ")) span data-figure="map_cases" { (count("case")) }
            (ctx.t(" 件。无位置：走访 ", ". Without a position: visits "))
            span data-figure="map_visits_unlocated" { (m.visits_unlocated) }
            (ctx.t("，隐患 ", ", hazards ")) span data-figure="map_hazards_unlocated" { (m.hazards_unlocated) }
            (ctx.t("，事项 ", ", cases ")) span data-figure="map_cases_unlocated" { (m.cases_unlocated) }
            (ctx.t("（事项按所属住户最近一次有定位的走访位置显示）。", " (a case is shown where its household was last visited with a position)."))
        }
        @match drawing(view, &m.points, shapes) {
            Some(svg) => {
                (svg)
                ul.legend {
                    li { span.key.visit {} (ctx.t("走访", "visit")) }
                    li { span.key.hazard {} (ctx.t("未销号隐患（深色为超期）", "open hazard (dark: overdue)")) }
                    li { span.key.case {} (ctx.t("未结事项", "open case")) }
                    li { span.key.boundary {} (ctx.t("网格边界", "grid boundary")) }
                }
            }
            None => p.hint { (ctx.t("没有带位置的记录。", "Nothing with a position yet.")) }
        }
    };
    let title = match name {
        Some(name) => format!("{name} · {}", ctx.t("地图", "Map")),
        None => ctx.t("地图", "Map").to_owned(),
    };
    frame(ctx, &title, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projection_keeps_north_up_and_every_point_inside() {
        let points = [[119.30, 26.05], [119.32, 26.07], [119.31, 26.06]];
        let p = Projection::fitting(&points).unwrap();
        for [lon, lat] in points {
            let (x, y) = p.xy(lon, lat);
            assert!(
                (0.0..=WIDTH).contains(&x) && (0.0..=p.height).contains(&y),
                "{x} {y}"
            );
        }
        let (_, north) = p.xy(119.31, 26.07);
        let (_, south) = p.xy(119.31, 26.05);
        assert!(north < south, "north is up");
        let (west, _) = p.xy(119.30, 26.06);
        let (east, _) = p.xy(119.32, 26.06);
        assert!(west < east);
        assert!(Projection::fitting(&[]).is_none());
        // One point alone is drawn in the middle of a small area.
        let one = Projection::fitting(&[[119.3, 26.0]]).unwrap();
        let (x, y) = one.xy(119.3, 26.0);
        assert!(x > 0.0 && y > 0.0);
    }
}

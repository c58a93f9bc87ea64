//! What the dashboard's map shows ([`map_points`]): the visits of the last
//! days, the open hazards and the open cases of a set of grids, each where
//! the phone recorded it — a visit and a hazard carry their own GPS
//! position; a case is placed at its household's most recent located visit
//! (cases carry no position of their own). Records without a position are
//! counted, not drawn. Grid boundaries come from [`boundaries`] (GeoJSON
//! imported with `admin grid boundary`).

use gridwork_core::api::reads::{in_list, json_list};
use gridwork_core::model::GridCode;
use gridwork_core::store::sql::{columns, SqlCell, SqlConn};
use gridwork_core::Result;
use serde::Serialize;

/// One located record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MapPoint {
    /// `visit`, `hazard` or `case`.
    pub kind: &'static str,
    /// The record's id.
    pub id: String,
    /// Latitude, WGS-84 degrees.
    pub lat: f64,
    /// Longitude, WGS-84 degrees.
    pub lon: f64,
    /// Its grid.
    pub grid: GridCode,
    /// What to say of it: a hazard's or case's category, a visit's time.
    pub label: String,
    /// A hazard past its deadline, a case past a clock (judged by the
    /// caller for cases: false here).
    pub overdue: bool,
}

/// The map's records over `grids`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MapPoints {
    /// Located records.
    pub points: Vec<MapPoint>,
    /// Visits since the cut-off without a position.
    pub visits_unlocated: u32,
    /// Open hazards without a position.
    pub hazards_unlocated: u32,
    /// Open cases whose household has no located visit.
    pub cases_unlocated: u32,
}

/// The visits since `since` (ms), the open hazards and open cases of
/// `grids`, at `now` (for hazard deadlines).
pub fn map_points<C: SqlConn + ?Sized>(
    conn: &C,
    grids: &[GridCode],
    since: i64,
    now: i64,
) -> Result<MapPoints> {
    let scope = json_list(grids);
    let in_scope = in_list(conn.dialect(), 1);
    let mut out = MapPoints::default();
    let located = |lat: &SqlCell, lon: &SqlCell| -> Result<Option<(f64, f64)>> {
        match (lat.opt_real()?, lon.opt_real()?) {
            (Some(lat), Some(lon)) if lat.is_finite() && lon.is_finite() => Ok(Some((lat, lon))),
            _ => Ok(None),
        }
    };
    for row in conn.rows(
        &format!(
            "SELECT v.id, v.lat, v.lon, h.grid, v.started_at FROM visits v
             JOIN households h ON h.id = v.household_id
             WHERE h.grid {in_scope} AND v.started_at >= ?2 ORDER BY v.started_at, v.id"
        ),
        &[scope.as_str().into(), since.into()],
    )? {
        let [id, lat, lon, grid, at] = columns(row)?;
        match located(&lat, &lon)? {
            Some((lat, lon)) => out.points.push(MapPoint {
                kind: "visit",
                id: id.text()?,
                lat,
                lon,
                grid: GridCode(grid.text()?),
                label: at.int()?.to_string(),
                overdue: false,
            }),
            None => out.visits_unlocated += 1,
        }
    }
    for row in conn.rows(
        &format!(
            "SELECT id, lat, lon, grid, category, deadline FROM hazards
             WHERE grid {in_scope} AND status != 'closed' ORDER BY reported_at, id"
        ),
        &[scope.as_str().into()],
    )? {
        let [id, lat, lon, grid, category, deadline] = columns(row)?;
        match located(&lat, &lon)? {
            Some((lat, lon)) => out.points.push(MapPoint {
                kind: "hazard",
                id: id.text()?,
                lat,
                lon,
                grid: GridCode(grid.text()?),
                label: category.text()?,
                overdue: deadline.opt_int()?.is_some_and(|d| d < now),
            }),
            None => out.hazards_unlocated += 1,
        }
    }
    let newest_located = |column: &str| {
        format!(
            "(SELECT v.{column} FROM visits v WHERE v.household_id = c.household_id
                AND v.lat IS NOT NULL AND v.lon IS NOT NULL
              ORDER BY v.started_at DESC, v.id DESC LIMIT 1)"
        )
    };
    for row in conn.rows(
        &format!(
            "SELECT c.id, {lat}, {lon}, c.grid, c.category FROM cases c
             WHERE c.grid {in_scope} AND c.status != 'closed' ORDER BY c.opened_at, c.id",
            lat = newest_located("lat"),
            lon = newest_located("lon"),
        ),
        &[scope.as_str().into()],
    )? {
        let [id, lat, lon, grid, category] = columns(row)?;
        match located(&lat, &lon)? {
            Some((lat, lon)) => out.points.push(MapPoint {
                kind: "case",
                id: id.text()?,
                lat,
                lon,
                grid: GridCode(grid.text()?),
                label: category.text()?,
                overdue: false,
            }),
            None => out.cases_unlocated += 1,
        }
    }
    Ok(out)
}

/// A grid's boundary: its rings of `[lon, lat]` pairs (GeoJSON order).
pub type Boundary = (GridCode, Vec<Vec<[f64; 2]>>);

/// The boundaries of `grids` that have one.
pub fn boundaries<C: SqlConn + ?Sized>(conn: &C, grids: &[GridCode]) -> Result<Vec<Boundary>> {
    let scope = json_list(grids);
    let mut out = Vec::new();
    for row in conn.rows(
        &format!(
            "SELECT grid, rings FROM grid_boundaries WHERE grid {} ORDER BY grid",
            in_list(conn.dialect(), 1)
        ),
        &[scope.as_str().into()],
    )? {
        let [grid, rings] = columns(row)?;
        let rings: Vec<Vec<[f64; 2]>> = serde_json::from_str(&rings.text()?).unwrap_or_default();
        out.push((GridCode(grid.text()?), rings));
    }
    Ok(out)
}

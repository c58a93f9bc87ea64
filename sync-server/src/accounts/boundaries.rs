//! Grid boundaries for the dashboard's map (`admin grid boundary CODE
//! --geojson FILE`): a GeoJSON Polygon or MultiPolygon — bare, as a
//! Feature, or the first feature of a FeatureCollection — kept as its rings
//! of `[lon, lat]` pairs in `grid_boundaries` (`sql/008_handlers.sql`).
//! Coordinates are checked (WGS-84 ranges, finite), and a boundary is
//! limited in size so a page stays small.

use super::{check_code, grid_level};
use crate::error::Error;
use gridwork_core::store::sql::SqlConn;
use serde_json::Value;

/// Most points one boundary may hold.
pub const MAX_BOUNDARY_POINTS: usize = 20_000;

/// The rings of a GeoJSON Polygon or MultiPolygon (bare, a Feature, or the
/// first Feature of a FeatureCollection), outer and inner alike.
pub fn rings_of_geojson(text: &str) -> Result<Vec<Vec<[f64; 2]>>, Error> {
    let bad = |why: &str| Error::invalid("geojson", why.to_owned());
    let value: Value =
        serde_json::from_str(text).map_err(|_| bad("不是有效的 GeoJSON / not valid GeoJSON"))?;
    let geometry = match value.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => value
            .get("features")
            .and_then(Value::as_array)
            .and_then(|f| f.first())
            .and_then(|f| f.get("geometry"))
            .ok_or_else(|| bad("要素集合为空 / the FeatureCollection has no feature"))?,
        Some("Feature") => value
            .get("geometry")
            .ok_or_else(|| bad("要素没有几何 / the Feature has no geometry"))?,
        _ => &value,
    };
    let coordinates = geometry.get("coordinates");
    let polygons: Vec<&Value> = match (geometry.get("type").and_then(Value::as_str), coordinates) {
        (Some("Polygon"), Some(c)) => vec![c],
        (Some("MultiPolygon"), Some(Value::Array(list))) => list.iter().collect(),
        _ => {
            return Err(bad(
                "应为 Polygon 或 MultiPolygon / must be a Polygon or MultiPolygon",
            ))
        }
    };
    let mut rings = Vec::new();
    let mut points = 0;
    for polygon in polygons {
        for ring in polygon
            .as_array()
            .ok_or_else(|| bad("多边形格式错误 / malformed polygon"))?
        {
            let mut out = Vec::new();
            for point in ring
                .as_array()
                .ok_or_else(|| bad("环格式错误 / malformed ring"))?
            {
                let pair = point.as_array().filter(|p| p.len() >= 2);
                let (lon, lat) = match pair.map(|p| (p[0].as_f64(), p[1].as_f64())) {
                    Some((Some(lon), Some(lat))) => (lon, lat),
                    _ => return Err(bad("坐标应为 [经度, 纬度] / a position must be [lon, lat]")),
                };
                if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                    return Err(bad("坐标超出范围 / a position is out of range"));
                }
                out.push([lon, lat]);
            }
            if out.len() < 3 {
                return Err(bad("环至少需要 3 个点 / a ring needs at least 3 positions"));
            }
            points += out.len();
            if points > MAX_BOUNDARY_POINTS {
                return Err(bad("边界点数过多 / the boundary has too many positions"));
            }
            rings.push(out);
        }
    }
    if rings.is_empty() {
        return Err(bad("没有边界 / no boundary"));
    }
    Ok(rings)
}

/// Keep `geojson` as grid `code`'s boundary (replacing any); returns how
/// many rings and points were kept.
pub fn set_boundary_in<C: SqlConn + ?Sized>(
    conn: &C,
    code: &str,
    geojson: &str,
) -> Result<(usize, usize), Error> {
    let code = check_code("code", code)?;
    if grid_level(conn, &code)?.is_none() {
        return Err(Error::not_found("grid", code));
    }
    let rings = rings_of_geojson(geojson)?;
    let text = serde_json::to_string(&rings).map_err(|e| Error::Internal(e.to_string()))?;
    conn.exec(
        "DELETE FROM grid_boundaries WHERE grid = ?1",
        &[code.as_str().into()],
    )?;
    conn.exec(
        "INSERT INTO grid_boundaries (grid, rings) VALUES (?1, ?2)",
        &[code.as_str().into(), text.as_str().into()],
    )?;
    let points = rings.iter().map(Vec::len).sum();
    tracing::info!(grid = %code, rings = rings.len(), points, "grid boundary set");
    Ok((rings.len(), points))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygons_features_and_collections_give_their_rings() {
        let square = r#"{"type":"Polygon","coordinates":[[[119.3,26.0],[119.31,26.0],[119.31,26.01],[119.3,26.0]]]}"#;
        assert_eq!(rings_of_geojson(square).unwrap().len(), 1);
        let feature = format!(r#"{{"type":"Feature","properties":{{}},"geometry":{square}}}"#);
        assert_eq!(rings_of_geojson(&feature).unwrap()[0][1], [119.31, 26.0]);
        let collection = format!(r#"{{"type":"FeatureCollection","features":[{feature}]}}"#);
        assert_eq!(rings_of_geojson(&collection).unwrap().len(), 1);
        let multi = r#"{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,2]]]]}"#;
        assert_eq!(rings_of_geojson(multi).unwrap().len(), 2);
    }

    #[test]
    fn bad_geojson_is_refused_with_a_reason() {
        for bad in [
            "not json",
            r#"{"type":"Point","coordinates":[119.3,26.0]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0]]]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[200,1],[0,0]]]}"#,
            r#"{"type":"Polygon","coordinates":[[["a",0],[1,0],[1,1],[0,0]]]}"#,
            r#"{"type":"FeatureCollection","features":[]}"#,
        ] {
            assert!(
                matches!(rings_of_geojson(bad), Err(Error::Invalid { ref field, .. }) if field == "geojson"),
                "{bad}"
            );
        }
    }
}

//! The only EXIF a stored photo may carry: its GPS position, read from the
//! camera's EXIF and written back as a minimal block (latitude and
//! longitude with their references) when the form asks for location.

use crate::{Error, Result};
use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use std::io::Cursor;

/// Degrees from a degrees/minutes/seconds rational triple.
fn degrees(value: &Value) -> Option<f64> {
    let Value::Rational(parts) = value else {
        return None;
    };
    let part = |i: usize| {
        parts
            .get(i)
            .filter(|r| r.denom != 0)
            .map_or(0.0, |r| f64::from(r.num) / f64::from(r.denom))
    };
    (!parts.is_empty()).then(|| part(0) + part(1) / 60.0 + part(2) / 3600.0)
}

fn reference(value: &Value) -> Option<u8> {
    match value {
        Value::Ascii(parts) => parts.first()?.first().copied(),
        _ => None,
    }
}

fn location_of(exif: &exif::Exif) -> Option<(f64, f64)> {
    let get = |tag| exif.get_field(tag, In::PRIMARY).map(|f| &f.value);
    let mut lat = degrees(get(Tag::GPSLatitude)?)?;
    let mut lon = degrees(get(Tag::GPSLongitude)?)?;
    if get(Tag::GPSLatitudeRef).and_then(reference) == Some(b'S') {
        lat = -lat;
    }
    if get(Tag::GPSLongitudeRef).and_then(reference) == Some(b'W') {
        lon = -lon;
    }
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

/// The GPS position in raw EXIF (TIFF) bytes, if any.
pub(super) fn location_of_tiff(tiff: &[u8]) -> Option<(f64, f64)> {
    let exif = exif::Reader::new().read_raw(tiff.to_vec()).ok()?;
    location_of(&exif)
}

/// The EXIF GPS position of a JPEG (or other container), if it has one.
pub fn read_location(bytes: &[u8]) -> Option<(f64, f64)> {
    let exif = exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok()?;
    location_of(&exif)
}

/// Degrees as EXIF's degrees, minutes, seconds (1/1000 s).
fn dms(value: f64) -> Vec<Rational> {
    let value = value.abs();
    let whole = value.floor();
    let minutes = ((value - whole) * 60.0).floor();
    let seconds = ((value - whole) * 60.0 - minutes) * 60.0;
    vec![
        Rational::from((whole as u32, 1)),
        Rational::from((minutes as u32, 1)),
        Rational::from(((seconds * 1000.0).round() as u32, 1000)),
    ]
}

/// TIFF bytes holding only the GPS position (for the JPEG's APP1), plus
/// `extra` fields (tests build camera EXIF with it).
pub(super) fn gps_with(lat: f64, lon: f64, extra: &[Field]) -> Result<Vec<u8>> {
    let field = |tag, value| Field {
        tag,
        ifd_num: In::PRIMARY,
        value,
    };
    let fields = [
        field(
            Tag::GPSLatitudeRef,
            Value::Ascii(vec![if lat < 0.0 {
                b"S".to_vec()
            } else {
                b"N".to_vec()
            }]),
        ),
        field(Tag::GPSLatitude, Value::Rational(dms(lat))),
        field(
            Tag::GPSLongitudeRef,
            Value::Ascii(vec![if lon < 0.0 {
                b"W".to_vec()
            } else {
                b"E".to_vec()
            }]),
        ),
        field(Tag::GPSLongitude, Value::Rational(dms(lon))),
    ];
    let mut writer = Writer::new();
    for f in fields.iter().chain(extra) {
        writer.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).map_err(|_| {
        Error::invalid(
            "photo",
            "照片位置无法写入 / the photo's location could not be written",
        )
    })?;
    Ok(out.into_inner())
}

/// TIFF bytes holding only the GPS position.
pub(super) fn gps_only(lat: f64, lon: f64) -> Result<Vec<u8>> {
    gps_with(lat, lon, &[])
}

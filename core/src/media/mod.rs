//! What the phone does to a photo before it is stored, and the thumbnails
//! the phone and the dashboard show.
//!
//! [`prepare_photo`] decodes a camera or gallery image (JPEG, PNG or WebP,
//! recognised from its bytes), turns it upright by its EXIF orientation,
//! downscales it to a configurable long edge and re-encodes it as JPEG
//! without metadata: a photo of a resident's home keeps no camera serial,
//! time or place unless the form asks for the location, in which case only
//! the GPS position is written back (see [`read_location`]).
//! `Store::attach_photo` stores what it returns; the server calls
//! [`thumbnail`] for the dashboard.
//!
//! Decoding is bounded ([`image::Limits`]): a small file that claims a huge
//! picture is refused with a typed error before anything large is
//! allocated.

mod exif;
#[cfg(test)]
mod tests;

use crate::{Error, Result};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{
    DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits, Rgb, RgbImage,
};
use std::io::Cursor;

pub use exif::read_location;

/// Long edge of the thumbnail kept on the phone, pixels.
pub const THUMBNAIL_EDGE: u32 = 320;
/// Widest or tallest picture decoded, pixels.
pub const MAX_DIMENSION: u32 = 12_000;
/// Most memory the decoder may allocate by default, bytes
/// ([`PhotoOptions::max_decode_bytes`]).
pub const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;
/// Widest or tallest picture [`thumbnail`] decodes, pixels: photos taken
/// through [`prepare_photo`] are at most a few thousand pixels, and a
/// thumbnail is made from bytes someone else uploaded (the server's
/// dashboard, a phone's download), so a small, crafted file must not make
/// it decode a huge picture.
pub const MAX_THUMBNAIL_SOURCE: u32 = 6_000;
/// Most memory the decoder may allocate for a [`thumbnail`], bytes.
const MAX_THUMBNAIL_ALLOC: u64 = 128 * 1024 * 1024;

/// Options of [`prepare_photo`].
#[derive(Clone, Debug, PartialEq)]
pub struct PhotoOptions {
    /// Longest edge in pixels after downscaling (default 1600); never
    /// upscaled.
    pub max_long_edge: u32,
    /// JPEG quality 1–100 (default 80).
    pub jpeg_quality: u8,
    /// Largest input accepted, bytes (default 20 MiB); larger input is
    /// refused before decoding.
    pub max_input_bytes: usize,
    /// Keep the photo's EXIF GPS position (only when the form asks for
    /// location); every other EXIF field, and GPS otherwise, is dropped.
    pub keep_location: bool,
    /// Most memory the decoded picture may take, bytes (default
    /// [`MAX_DECODE_ALLOC`]); a larger picture is refused from its header
    /// ([`Error::TooLarge`]). The server, which decodes photos strangers
    /// send, sets it lower.
    pub max_decode_bytes: u64,
}

impl Default for PhotoOptions {
    fn default() -> Self {
        PhotoOptions {
            max_long_edge: 1600,
            jpeg_quality: 80,
            max_input_bytes: 20 * 1024 * 1024,
            keep_location: false,
            max_decode_bytes: MAX_DECODE_ALLOC,
        }
    }
}

/// A photo ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedPhoto {
    /// The JPEG bytes to store and upload.
    pub bytes: Vec<u8>,
    /// Always `image/jpeg`.
    pub mime: &'static str,
    /// Width after downscaling.
    pub width: u32,
    /// Height after downscaling.
    pub height: u32,
    /// A small JPEG (long edge [`THUMBNAIL_EDGE`], quality 70), kept on the
    /// phone when the original is dropped to save space.
    pub thumbnail: Vec<u8>,
    /// The EXIF GPS position (latitude, longitude in decimal degrees, as the
    /// camera wrote it) when `keep_location` and the input had one.
    pub location: Option<(f64, f64)>,
}

/// True if the bytes look like an image this module decodes (JPEG, PNG or
/// WebP magic bytes).
pub fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        || bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || (bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP")
}

fn unreadable() -> Error {
    Error::invalid(
        "photo",
        "照片无法识别（支持 JPEG、PNG、WebP）/ the photo could not be read (JPEG, PNG or WebP)",
    )
}

fn too_big_picture() -> Error {
    Error::TooLarge {
        field: "photo".into(),
        limit: u64::from(MAX_DIMENSION),
        message: format!(
            "照片尺寸过大（每边最多 {MAX_DIMENSION} 像素）/ the picture is too large (at most {MAX_DIMENSION} pixels a side)"
        ),
    }
}

/// A decoder of `bytes` (JPEG, PNG or WebP) whose picture is within
/// `max_dimension` pixels a side and `max_alloc` bytes, judged from the
/// header alone: nothing is decoded yet.
fn decoder_within(
    bytes: &[u8],
    max_dimension: u32,
    max_alloc: u64,
) -> Result<impl ImageDecoder + '_> {
    if !is_image(bytes) {
        return Err(unreadable());
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| unreadable())?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)
    ) {
        return Err(unreadable());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(max_dimension);
    limits.max_image_height = Some(max_dimension);
    limits.max_alloc = Some(max_alloc);
    reader.limits(limits.clone());
    // The decoder checks the dimensions against the limits as it is made,
    // from the header alone.
    let decoder = reader.into_decoder().map_err(map_image_error)?;
    // `into_decoder` + `from_decoder` do not count the output buffer
    // against `max_alloc` (`ImageReader::decode` would): count it here.
    limits
        .reserve(decoder.total_bytes())
        .map_err(map_image_error)?;
    Ok(decoder)
}

/// Check from its header alone that `bytes` is a picture
/// [`prepare_photo`] takes under `options` (type, input size, dimensions,
/// decoded size), without decoding it: the same errors, at a fraction of
/// the cost (a damaged picture body is found only by decoding).
pub fn probe_photo(bytes: &[u8], options: &PhotoOptions) -> Result<()> {
    check_input_size(bytes, options)?;
    decoder_within(bytes, MAX_DIMENSION, options.max_decode_bytes).map(|_| ())
}

fn check_input_size(bytes: &[u8], options: &PhotoOptions) -> Result<()> {
    if bytes.len() > options.max_input_bytes {
        return Err(Error::TooLarge {
            field: "photo".into(),
            limit: options.max_input_bytes as u64,
            message: "照片文件过大，请重新拍摄或选择较小的照片 / the photo file is too large: take or choose a smaller one".into(),
        });
    }
    Ok(())
}

/// Decode `bytes` within `max_dimension` pixels a side and `max_alloc`
/// bytes, scaled down to `edge` ([`fit`]) and then turned upright (so no
/// full-size copy is made to rotate it); with its EXIF (TIFF bytes) when
/// `want_exif`.
fn decode_within(
    bytes: &[u8],
    want_exif: bool,
    max_dimension: u32,
    max_alloc: u64,
    (edge, filter): (u32, FilterType),
) -> Result<(DynamicImage, Option<Vec<u8>>)> {
    let mut decoder = decoder_within(bytes, max_dimension, max_alloc)?;
    let exif = if want_exif {
        decoder.exif_metadata().ok().flatten()
    } else {
        None
    };
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    // The long edge is the same either way round.
    let mut image = fit(image, edge, filter);
    image.apply_orientation(orientation);
    Ok((image, exif))
}

fn map_image_error(e: image::ImageError) -> Error {
    match e {
        image::ImageError::Limits(_) => too_big_picture(),
        _ => unreadable(),
    }
}

/// The picture as 8-bit RGB; transparent parts (PNG, WebP) on white, as a
/// viewer shows them, rather than on black.
fn to_rgb(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over_white = |c: u8| {
            let (c, a) = (u32::from(c), u32::from(a));
            ((c * a + 255 * (255 - a) + 127) / 255) as u8
        };
        Rgb([over_white(r), over_white(g), over_white(b)])
    })
}

/// Encode `image` as a baseline JPEG, with `exif` (TIFF bytes, written as
/// an APP1 `Exif` segment) when given.
fn encode_jpeg(image: &DynamicImage, quality: u8, exif: Option<Vec<u8>>) -> Result<Vec<u8>> {
    let rgb = to_rgb(image);
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100));
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif).map_err(|_| not_encoded())?;
    }
    encoder
        .write_image(
            rgb.as_raw(),
            rgb.width(),
            rgb.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|_| not_encoded())?;
    Ok(out)
}

fn not_encoded() -> Error {
    Error::invalid(
        "photo",
        "照片无法转换为 JPEG / the photo could not be encoded as JPEG",
    )
}

/// `image` scaled down so its long edge is at most `edge` (never up); the
/// aspect ratio is kept. A picture over twice `edge` is first shrunk to
/// about twice `edge` by averaging (`thumbnail`, which needs no full-size
/// intermediate), then resampled with `filter`.
fn fit(image: DynamicImage, edge: u32, filter: FilterType) -> DynamicImage {
    let long = image.width().max(image.height());
    if long <= edge {
        return image;
    }
    let image = if long > edge.saturating_mul(2) {
        let double = edge.saturating_mul(2);
        let smaller = image.thumbnail(double, double);
        // The full-size picture goes before the resampling allocates.
        drop(image);
        smaller
    } else {
        image
    };
    image.resize(edge, edge, filter)
}

/// The small JPEG of an upright picture: long edge at most `edge`,
/// quality 70, no metadata.
fn small_jpeg(image: &DynamicImage, edge: u32) -> Result<Vec<u8>> {
    let edge = edge.max(1);
    if image.width().max(image.height()) <= edge {
        encode_jpeg(image, 70, None)
    } else {
        encode_jpeg(&image.resize(edge, edge, FilterType::Triangle), 70, None)
    }
}

/// Decode `bytes` (JPEG, PNG or WebP, recognised from the bytes, never
/// from a name), turn the picture upright by its EXIF orientation,
/// downscale it to `options.max_long_edge` (CatmullRom; never up) and
/// re-encode it as a baseline JPEG with no metadata, except, with
/// `keep_location`, a minimal EXIF block holding only the GPS latitude and
/// longitude (references and rationals) that [`read_location`] and other
/// readers find.
///
/// Errors: [`Error::TooLarge`] for input over `options.max_input_bytes`
/// (refused before decoding) or a picture over [`MAX_DIMENSION`] pixels
/// wide or tall or too big to decode in memory (refused from its header);
/// [`Error::Validation`] for anything that is not a readable JPEG, PNG or
/// WebP.
pub fn prepare_photo(bytes: &[u8], options: &PhotoOptions) -> Result<PreparedPhoto> {
    check_input_size(bytes, options)?;
    let (image, exif) = decode_within(
        bytes,
        options.keep_location,
        MAX_DIMENSION,
        options.max_decode_bytes,
        (options.max_long_edge.max(1), FilterType::CatmullRom),
    )?;
    let location = exif.as_deref().and_then(exif::location_of_tiff);
    let gps = location
        .map(|(lat, lon)| exif::gps_only(lat, lon))
        .transpose()?;
    let bytes = encode_jpeg(&image, options.jpeg_quality, gps)?;
    let thumbnail = small_jpeg(&image, THUMBNAIL_EDGE)?;
    Ok(PreparedPhoto {
        bytes,
        mime: "image/jpeg",
        width: image.width(),
        height: image.height(),
        thumbnail,
        location,
    })
}

/// A JPEG thumbnail (long edge `edge`, never upscaled; quality 70, no
/// metadata, upright) of any supported image: the dashboard's, and the
/// phone's for a downloaded photo. Errors as [`prepare_photo`]'s, without
/// the input size limit (the server bounds upload sizes itself).
pub fn thumbnail(bytes: &[u8], edge: u32) -> Result<Vec<u8>> {
    let (image, _) = decode_within(
        bytes,
        false,
        MAX_THUMBNAIL_SOURCE,
        MAX_THUMBNAIL_ALLOC,
        (edge.max(1), FilterType::Triangle),
    )?;
    small_jpeg(&image, edge)
}

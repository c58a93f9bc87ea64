use super::*;
use ::exif::{Field, In, Tag, Value};

/// A `w`×`h` gradient as an image.
fn picture(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    }))
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    picture(w, h).write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A camera-like JPEG: GPS, orientation, make and time in its EXIF.
fn camera_jpeg(w: u32, h: u32, orientation: u16) -> Vec<u8> {
    let field = |tag, value| Field {
        tag,
        ifd_num: In::PRIMARY,
        value,
    };
    let extra = [
        field(Tag::Orientation, Value::Short(vec![orientation])),
        field(Tag::Make, Value::Ascii(vec![b"Camera Maker".to_vec()])),
        field(Tag::Model, Value::Ascii(vec![b"Serial 12345".to_vec()])),
        field(
            Tag::DateTime,
            Value::Ascii(vec![b"2026:12:01 10:00:00".to_vec()]),
        ),
    ];
    let tiff = exif::gps_with(31.230_416, -121.473_701, &extra).unwrap();
    encode_jpeg(&picture(w, h), 90, Some(tiff)).unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn large_photos_are_downscaled_and_small_ones_kept_as_they_are() {
    let photo = prepare_photo(&png(4000, 3000), &PhotoOptions::default()).unwrap();
    assert_eq!((photo.width, photo.height), (1600, 1200));
    assert_eq!(photo.mime, "image/jpeg");
    let decoded = image::load_from_memory(&photo.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (1600, 1200));
    let thumb = image::load_from_memory(&photo.thumbnail).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 240));

    let small = prepare_photo(&png(300, 200), &PhotoOptions::default()).unwrap();
    assert_eq!((small.width, small.height), (300, 200));
    let options = PhotoOptions {
        max_long_edge: 100,
        ..Default::default()
    };
    let tiny = prepare_photo(&png(300, 200), &options).unwrap();
    assert_eq!((tiny.width, tiny.height), (100, 67));
}

#[test]
fn orientation_is_applied_and_metadata_dropped_unless_location_is_asked() {
    let jpeg = camera_jpeg(400, 300, 6);
    assert!(contains(&jpeg, b"Camera Maker"));
    assert!(read_location(&jpeg).is_some());

    let plain = prepare_photo(&jpeg, &PhotoOptions::default()).unwrap();
    // Orientation 6: rotated a quarter turn, so width and height swap.
    assert_eq!((plain.width, plain.height), (300, 400));
    assert_eq!(plain.location, None);
    assert_eq!(read_location(&plain.bytes), None);
    assert!(!contains(&plain.bytes, b"Exif"));
    assert!(!contains(&plain.bytes, b"Camera Maker"));

    let options = PhotoOptions {
        keep_location: true,
        ..Default::default()
    };
    let located = prepare_photo(&jpeg, &options).unwrap();
    let (lat, lon) = located.location.unwrap();
    assert!((lat - 31.230_416).abs() < 1e-5, "{lat}");
    assert!((lon + 121.473_701).abs() < 1e-5, "{lon}");
    let (lat, lon) = read_location(&located.bytes).unwrap();
    assert!((lat - 31.230_416).abs() < 1e-5 && (lon + 121.473_701).abs() < 1e-5);
    for other in [&b"Camera Maker"[..], b"Serial 12345", b"2026:12:01"] {
        assert!(!contains(&located.bytes, other));
    }
    // The EXIF written holds the GPS position and nothing else (no
    // orientation: the pixels are upright already).
    let written = ::exif::Reader::new()
        .read_from_container(&mut Cursor::new(&located.bytes))
        .unwrap();
    for field in written.fields() {
        assert!(
            matches!(
                field.tag,
                Tag::GPSLatitudeRef
                    | Tag::GPSLatitude
                    | Tag::GPSLongitudeRef
                    | Tag::GPSLongitude
                    | Tag::GPSInfoIFDPointer
            ),
            "{}",
            field.tag
        );
    }
    // Upright once: a reader that applies EXIF orientation sees no turn.
    let decoded = image::load_from_memory(&located.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (300, 400));

    // A large one is scaled down (averaged first) before it is turned:
    // the same upright size.
    let large = prepare_photo(&camera_jpeg(4000, 1000, 6), &PhotoOptions::default()).unwrap();
    assert_eq!((large.width, large.height), (400, 1600));
}

#[test]
fn bad_input_is_a_typed_error() {
    let options = PhotoOptions {
        max_input_bytes: 1000,
        ..Default::default()
    };
    assert!(matches!(
        prepare_photo(&png(400, 400), &options),
        Err(Error::TooLarge { .. })
    ));
    for garbage in [
        &b"not a photo at all"[..],
        b"\xFF\xD8\xFF\xE0 truncated",
        b"",
    ] {
        assert!(matches!(
            prepare_photo(garbage, &PhotoOptions::default()),
            Err(Error::Validation { .. })
        ));
    }
    assert!(!is_image(b"GIF89a"));
    assert!(is_image(&png(2, 2)));
    assert!(is_image(&camera_jpeg(8, 8, 1)));
}

/// A PNG chunk: length, type, data, CRC-32 of type and data.
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in kind.iter().chain(data) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&(!crc).to_be_bytes());
    out
}

#[test]
fn a_tiny_file_claiming_a_huge_picture_is_refused_without_decoding_it() {
    // A PNG claiming 100000×100000 RGB pixels, with a few bytes of data.
    let mut ihdr = 100_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
    bomb.extend(png_chunk(b"IHDR", &ihdr));
    bomb.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    bomb.extend(png_chunk(b"IEND", &[]));
    assert!(is_image(&bomb));
    let refused = prepare_photo(&bomb, &PhotoOptions::default());
    assert!(
        matches!(refused, Err(Error::TooLarge { .. })),
        "{refused:?}"
    );
    assert!(matches!(thumbnail(&bomb, 240), Err(Error::TooLarge { .. })));
    // The header alone tells: probe_photo decodes nothing.
    assert!(matches!(
        probe_photo(&bomb, &PhotoOptions::default()),
        Err(Error::TooLarge { .. })
    ));
    assert!(probe_photo(&png(400, 300), &PhotoOptions::default()).is_ok());
    assert!(matches!(
        probe_photo(b"not a picture", &PhotoOptions::default()),
        Err(Error::Validation { .. })
    ));
    let small_budget = PhotoOptions {
        max_decode_bytes: 400 * 300 * 3 - 1,
        ..Default::default()
    };
    assert!(matches!(
        probe_photo(&png(400, 300), &small_budget),
        Err(Error::TooLarge { .. })
    ));

    // A JPEG whose frame header is patched to claim 60000×60000.
    let mut jpeg = encode_jpeg(&picture(16, 16), 80, None).unwrap();
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    let refused = prepare_photo(&jpeg, &PhotoOptions::default());
    assert!(
        matches!(refused, Err(Error::TooLarge { .. })),
        "{refused:?}"
    );

    // Within the side limit but over the memory limit: 12000×12000 RGBA
    // (576 MB) is refused from its header too.
    let mut ihdr = 12_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&12_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut wide = b"\x89PNG\r\n\x1a\n".to_vec();
    wide.extend(png_chunk(b"IHDR", &ihdr));
    wide.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    wide.extend(png_chunk(b"IEND", &[]));
    let refused = prepare_photo(&wide, &PhotoOptions::default());
    assert!(
        matches!(refused, Err(Error::TooLarge { .. })),
        "{refused:?}"
    );

    // A thumbnail is made from someone else's bytes: stricter still. An
    // 11000×11000 grey PNG (121 MB decoded, a few hundred bytes here)
    // passes the photo path's header checks but not the thumbnail's.
    let mut ihdr = 11_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&11_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut grey = b"\x89PNG\r\n\x1a\n".to_vec();
    grey.extend(png_chunk(b"IHDR", &ihdr));
    grey.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    grey.extend(png_chunk(b"IEND", &[]));
    const { assert!(11_000 > MAX_THUMBNAIL_SOURCE && 11_000 <= MAX_DIMENSION) };
    let refused = thumbnail(&grey, 240);
    assert!(
        matches!(refused, Err(Error::TooLarge { .. })),
        "{refused:?}"
    );
}

#[test]
fn webp_and_transparent_png_are_read() {
    let mut webp = Cursor::new(Vec::new());
    picture(640, 480)
        .write_to(&mut webp, ImageFormat::WebP)
        .unwrap();
    let webp = webp.into_inner();
    assert!(is_image(&webp));
    let options = PhotoOptions {
        max_long_edge: 320,
        ..Default::default()
    };
    let photo = prepare_photo(&webp, &options).unwrap();
    assert_eq!((photo.width, photo.height), (320, 240));
    assert!(photo.bytes.starts_with(&[0xFF, 0xD8, 0xFF]));

    // Fully transparent pixels come out white, not black.
    let clear = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
        64,
        64,
        image::Rgba([0, 0, 0, 0]),
    ));
    let mut png = Cursor::new(Vec::new());
    clear.write_to(&mut png, ImageFormat::Png).unwrap();
    let photo = prepare_photo(&png.into_inner(), &PhotoOptions::default()).unwrap();
    let decoded = image::load_from_memory(&photo.bytes).unwrap().to_rgb8();
    assert!(decoded.pixels().all(|p| p.0.iter().all(|&c| c > 245)));
}

#[test]
fn thumbnails_respect_their_edge() {
    let thumb = thumbnail(&png(1000, 500), 240).unwrap();
    let decoded = image::load_from_memory(&thumb).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (240, 120));
    let small = thumbnail(&png(100, 50), 240).unwrap();
    let decoded = image::load_from_memory(&small).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (100, 50));
}

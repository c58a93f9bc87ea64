//! Photos and other attachments as records see them: a blob id (the SHA-256
//! of the bytes, 64 lowercase hex digits). The bytes live outside the
//! documents — in the phone's encrypted store and the server's blob store —
//! and travel by their own upload step; a document only names the id.

/// Most photos one hazard, visit, transition or form field may name.
pub const MAX_PHOTOS: usize = 9;

/// True if `text` is a blob id: 64 lowercase hex digits.
pub fn is_blob_id(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The blob ids a form answer names: a photo field's id, or each id of a
/// list of them. Any other answer names none.
pub fn photo_ids(answer: &serde_json::Value) -> Vec<String> {
    match answer {
        serde_json::Value::String(s) if is_blob_id(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().filter(|s| is_blob_id(s)).map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Check a list of photo ids given as input: each must be a blob id (upper
/// case is folded), at most [`MAX_PHOTOS`], no repeats. Returns them in
/// canonical form; the error names `field`.
pub fn check_photo_ids(ids: &[String], field: &str) -> crate::Result<Vec<String>> {
    if ids.len() > MAX_PHOTOS {
        return Err(crate::Error::invalid(
            field,
            "照片最多 9 张 / at most 9 photos",
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        let id = id.trim().to_ascii_lowercase();
        if !is_blob_id(&id) {
            return Err(crate::Error::invalid(
                field,
                "照片应为 sha-256 十六进制摘要 / photo must be a sha-256 hex digest",
            ));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_are_64_lowercase_hex_digits() {
        let id = "a".repeat(64);
        assert!(is_blob_id(&id));
        assert!(!is_blob_id(&"A".repeat(64)));
        assert!(!is_blob_id(&"a".repeat(63)));
        assert!(!is_blob_id(&"g".repeat(64)));
        assert_eq!(photo_ids(&serde_json::json!(id)), vec![id.clone()]);
        assert_eq!(
            photo_ids(&serde_json::json!([id, "x", 3])),
            vec![id.clone()]
        );
        assert!(photo_ids(&serde_json::json!("hello")).is_empty());
        assert_eq!(
            check_photo_ids(&[id.to_uppercase(), id.clone()], "photos").unwrap(),
            vec![id.clone()]
        );
        assert!(check_photo_ids(&["x".into()], "photos").is_err());
        assert!(check_photo_ids(&vec![id; 10], "photos").is_err());
    }
}

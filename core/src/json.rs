//! Shared handling of JSON input that the core parses from text: the form
//! templates ([`crate::forms::Template::from_json`]) and the schedule policy
//! overrides ([`crate::schedule::PolicyOverride::from_json`]) report a
//! serde error the same way, through [`json_error`].

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;

/// Parse staff-written JSON (`what` in zh-CN / English) strictly: a serde
/// error, or any key the type does not know (a typo, a key of a newer
/// version), is a validation error on `field` naming the key's path. Synced
/// documents are parsed with plain serde instead, which ignores unknown keys.
pub(crate) fn parse_strict<T: DeserializeOwned>(
    text: &str,
    field: &str,
    zh: &str,
    en: &str,
) -> Result<T> {
    let mut unknown = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value: T =
        serde_ignored::deserialize(&mut deserializer, |path| unknown.push(path.to_string()))
            .map_err(|e| json_error(field, zh, en, &e))?;
    deserializer
        .end()
        .map_err(|e| json_error(field, zh, en, &e))?;
    if let Some(path) = unknown.first() {
        return Err(Error::invalid(
            field,
            format!("{zh} JSON 含未知的键 / {en} JSON has an unknown key: {path}"),
        ));
    }
    Ok(value)
}

/// A validation error on `field` for JSON that did not parse as `zh` /
/// `en` (the kind of input, in zh-CN and English): where it failed and
/// serde's reason, which names the missing or unknown key or the expected
/// type. The input itself is never quoted (templates and policies carry no
/// personal data, but the rule is the same everywhere).
pub(crate) fn json_error(field: &str, zh: &str, en: &str, e: &serde_json::Error) -> Error {
    let message = e.to_string();
    let reason = message.split(" at line").next().unwrap_or_default();
    Error::invalid(
        field,
        format!(
            "{zh} JSON 无效 / invalid {en} JSON at line {} column {}: {reason}",
            e.line(),
            e.column(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Shape {
        #[allow(dead_code)]
        inner: Inner,
    }
    #[derive(serde::Deserialize, Debug)]
    struct Inner {
        #[allow(dead_code)]
        a: u32,
    }

    #[test]
    fn strict_parsing_names_unknown_keys_and_plain_serde_ignores_them() {
        let text = r#"{"inner": {"a": 1, "b": 2}}"#;
        let err = parse_strict::<Shape>(text, "policy", "策略", "policy").unwrap_err();
        assert_eq!(
            err.to_string(),
            "policy: 策略 JSON 含未知的键 / policy JSON has an unknown key: inner.b"
        );
        assert!(serde_json::from_str::<Shape>(text).is_ok());
        assert!(parse_strict::<Shape>(r#"{"inner": {"a": 1}}"#, "p", "策略", "policy").is_ok());
        assert!(parse_strict::<Shape>(r#"{"inner": {"a": 1}} x"#, "p", "策略", "policy").is_err());
    }

    #[test]
    fn names_the_field_and_the_position() {
        let e = serde_json::from_str::<serde_json::Value>("{\n  \"a\": }").unwrap_err();
        let err = json_error("policy", "策略", "policy", &e);
        assert_eq!(
            err.to_string(),
            "policy: 策略 JSON 无效 / invalid policy JSON at line 2 column 8: expected value"
        );
    }
}

//! Shared handling of JSON input that the core parses from text: the form
//! templates ([`crate::forms::Template::from_json`]) and the schedule policy
//! overrides ([`crate::schedule::PolicyOverride::from_json`]) report a
//! serde error the same way, through [`json_error`].

use crate::error::Error;

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

//! CSRF protection of the dashboard's forms. Every POST form carries a
//! hidden `csrf` field: after sign-in it must equal the session's token
//! (stored with the session), on the login form it must equal the
//! `gw_login_csrf` cookie set by `GET /login` (double submit). Tokens are
//! 32 random bytes as unpadded base64url and are compared in constant time.

use crate::error::Error;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

/// Random bytes in a session, CSRF or login-CSRF token.
pub const TOKEN_BYTES: usize = 32;
/// Length of a token's text (unpadded base64url of 32 bytes).
pub const TOKEN_CHARS: usize = 43;

/// 32 random bytes from the OS.
pub fn random_bytes() -> Result<[u8; TOKEN_BYTES], Error> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|_| {
        Error::Internal("系统随机数不可用 / the OS random number generator failed".into())
    })?;
    Ok(bytes)
}

/// A fresh random token as text (43 base64url characters).
pub fn random_token() -> Result<String, Error> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes()?))
}

/// True if `token` looks like one of our tokens (43 base64url characters).
pub fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// True if the submitted token equals the expected one. Constant time in
/// the contents (lengths are public: every token has 43 characters); an
/// empty or malformed expected token never matches.
pub fn tokens_match(expected: &str, submitted: &str) -> bool {
    well_formed(expected) && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_well_formed_and_distinct() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert!(well_formed(&a) && well_formed(&b));
        assert_ne!(a, b);
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}!", &a[..42])));
    }

    #[test]
    fn compare() {
        let t = random_token().unwrap();
        assert!(tokens_match(&t, &t.clone()));
        assert!(!tokens_match(&t, ""));
        assert!(!tokens_match(&t, &t[..42]));
        assert!(!tokens_match(&t, &format!("{t}x")));
        let mut other = t.clone().into_bytes();
        other[20] = if other[20] == b'A' { b'B' } else { b'A' };
        assert!(!tokens_match(&t, std::str::from_utf8(&other).unwrap()));
        // Nothing matches a missing expectation, not even nothing.
        assert!(!tokens_match("", ""));
        assert!(!tokens_match("abc", "abc"));
    }
}

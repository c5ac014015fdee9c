//! Flagr's validation primitives for keys and tag values (`flagr-spec.md` §1.3).
//!
//! Messages match Flagr's wording, because clients and people already know them.

/// Flagr's key pattern, quoted in error messages exactly as Flagr prints it.
pub const KEY_PATTERN: &str = r"^[\w\d-/\.\:]+$";
const TAG_PATTERN: &str = r"^[ \w\d-/\.\:]+$";
/// Longest key or tag value Flagr accepts.
pub const MAX_KEY_LENGTH: usize = 63;
/// The characters of a generated key: no `0`, no `l`, so keys read unambiguously.
pub const RANDOM_KEY_ALPHABET: &[u8] = b"123456789abcdefghijkmnopqrstuvwxyz";
/// A generated key is `k` followed by this many characters of [`RANDOM_KEY_ALPHABET`].
pub const RANDOM_KEY_SUFFIX_LENGTH: usize = 16;

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | ':')
}

fn check(value: &str, allow_space: bool, pattern: &str) -> Result<(), String> {
    let well_formed = !value.is_empty() && value.chars().all(|c| is_key_char(c) || (allow_space && c == ' '));
    if !well_formed {
        return Err(format!("key:{value} should have the format {pattern}"));
    }
    if value.len() > MAX_KEY_LENGTH {
        return Err(format!("key:{value} cannot be longer than {MAX_KEY_LENGTH}"));
    }
    Ok(())
}

/// Checks a flag key, variant key or entity type.
pub fn check_key(key: &str) -> Result<(), String> {
    check(key, false, KEY_PATTERN)
}

/// Checks a tag value: a key that may also contain spaces.
pub fn check_tag_value(value: &str) -> Result<(), String> {
    check(value, true, TAG_PATTERN)
}

/// Whether `key` could have come from the random key generator.
pub fn is_random_key(key: &str) -> bool {
    key.len() == 1 + RANDOM_KEY_SUFFIX_LENGTH
        && key.starts_with('k')
        && key[1..].bytes().all(|b| RANDOM_KEY_ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_flagr_pattern() {
        for good in ["a", "A_b-c/d.e:f", "123", &"x".repeat(63)] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        assert_eq!(
            check_key("has space").unwrap_err(),
            r"key:has space should have the format ^[\w\d-/\.\:]+$"
        );
        assert!(check_key("").is_err());
        assert!(check_key("é").is_err());
        assert_eq!(
            check_key(&"x".repeat(64)).unwrap_err(),
            format!("key:{} cannot be longer than 63", "x".repeat(64))
        );
    }

    #[test]
    fn tags_also_allow_spaces() {
        assert!(check_tag_value("team a").is_ok());
        assert!(check_tag_value("team#a").is_err());
        assert!(check_tag_value(&"t".repeat(64)).is_err());
    }

    #[test]
    fn random_keys_are_recognised() {
        assert!(is_random_key("kabcdefghijk12345"));
        assert!(!is_random_key("kabcdefghijk1234l"));
        assert!(!is_random_key("abc"));
    }
}

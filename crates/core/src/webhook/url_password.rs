//! A password in a webhook URL (`https://user:pass@host/…`) is a secret like the signing
//! secret: the API and the change log show the URL with the password masked
//! (`https://user:***@host/…`), the store keeps the password apart from the URL, and only a
//! delivery uses the URL as written.
//!
//! The password is found in the URL as written (the URL is kept as written, see
//! `config::check_url`): the userinfo is what comes before the last `@` of the authority, and
//! the authority ends at the first `/`, `?`, `#` or `\`, as the WHATWG parser reads an
//! `http`/`https` URL.

use std::borrow::Cow;
use std::ops::Range;

use crate::secret::Secret;

/// What the password is replaced with wherever the URL is shown.
pub const MASK: &str = "***";

/// Where the password is in `url`, if it has a non-empty one.
fn password_span(url: &str) -> Option<Range<usize>> {
    let authority_start = url.find("://")? + 3;
    let rest = &url[authority_start..];
    let authority = &rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let start = authority_start + userinfo.find(':')? + 1;
    let end = authority_start + userinfo.len();
    (start < end).then_some(start..end)
}

/// Whether the password of `url` can be found where [`masked`] looks for it: false for the
/// rare spellings the parser also accepts with a password (`http:user:pass@host`).
pub fn locatable(url: &str) -> bool {
    password_span(url).is_some()
}

/// `url` with its password, if any, replaced by [`MASK`].
pub fn masked(url: &str) -> Cow<'_, str> {
    match password_span(url) {
        Some(span) => Cow::Owned(format!("{}{MASK}{}", &url[..span.start], &url[span.end..])),
        None => Cow::Borrowed(url),
    }
}

/// `url` masked, and its password: the two halves the store keeps apart.
pub fn split(url: &str) -> (String, Option<Secret>) {
    match password_span(url) {
        Some(span) => (masked(url).into_owned(), Some(Secret::new(&url[span]))),
        None => (url.to_owned(), None),
    }
}

/// The URL [`split`] took apart, whole again: the mask in `masked_url` replaced by `password`.
pub fn join(masked_url: &str, password: &Secret) -> String {
    match password_span(masked_url) {
        Some(span) => format!(
            "{}{}{}",
            &masked_url[..span.start],
            password.expose(),
            &masked_url[span.end..]
        ),
        None => masked_url.to_owned(),
    }
}

/// Whether `new`, as sent back by a client that read the webhook, is `current` with its
/// password masked: the URL is then unchanged and keeps its password.
pub fn is_masked_copy(new: &str, current: &str) -> bool {
    password_span(new).is_some_and(|span| &new[span] == MASK) && masked(current) == new
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_masked_where_the_parser_finds_it() {
        for (url, shown) in [
            ("https://user:pass@hooks.example/x", "https://user:***@hooks.example/x"),
            ("https://:pass@hooks.example", "https://:***@hooks.example"),
            ("HTTP://u:p@h.example:8080?q=a@b", "HTTP://u:***@h.example:8080?q=a@b"),
            ("https://u:p@ss@h.example/", "https://u:***@h.example/"),
            ("https://u:p:q@h.example/a@b", "https://u:***@h.example/a@b"),
            ("https://u:p@h.example\\x@y", "https://u:***@h.example\\x@y"),
            ("https://user@h.example/", "https://user@h.example/"),
            ("https://user:@h.example/", "https://user:@h.example/"),
            ("https://h.example/a:b@c", "https://h.example/a:b@c"),
            ("https://h.example#u:p@x", "https://h.example#u:p@x"),
        ] {
            assert_eq!(masked(url), shown, "{url}");
            let (stored, password) = split(url);
            assert_eq!(stored, shown);
            let whole = password.map_or(stored.clone(), |password| join(&stored, &password));
            assert_eq!(whole, url);
        }
    }

    #[test]
    fn the_masked_url_sent_back_keeps_the_password() {
        let current = "https://user:pass@h.example/x";
        assert!(is_masked_copy("https://user:***@h.example/x", current));
        assert!(!is_masked_copy("https://user:***@other.example/x", current));
        assert!(!is_masked_copy("https://user:new@h.example/x", current));
        assert!(!is_masked_copy("https://h.example/x", "https://h.example/x"));
    }
}

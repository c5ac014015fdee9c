//! Property references: `{name}`, nested paths `{a.b}`, `{a[0]}`, `{a[-1]}` into the entity
//! context, `@`-prefixed keys, and the library's composed form `{a}{b}` naming the flat key
//! `a.b`.
//!
//! A name is made of words (identifiers or digit runs) joined by `-`, as the library's
//! tokenizer allows. Everything is split once here, so resolving a path only walks JSON.
//!
//! Must not touch: operators and value typing (that is [`super::expr`]).

use std::fmt;

use serde_json::{Map, Value};

use super::MatchError;
use super::gofmt::write_quoted;

/// A parsed property reference.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Path {
    /// The reference as written (whitespace around it dropped), for messages.
    text: Box<str>,
    root: Box<str>,
    steps: Box<[Step]>,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(Box<str>),
    /// From the end when negative.
    Index(i64),
}

impl Path {
    /// The reference from the text inside each pair of braces; `None` when it is not one.
    pub(super) fn from_groups(groups: &[&str]) -> Option<Path> {
        let groups: Vec<&str> = groups
            .iter()
            .map(|group| group.trim_matches([' ', '\t', '\n', '\r']))
            .collect();
        match groups.as_slice() {
            [single] => parse_nested(single),
            composed => {
                // `{a}{b}` is one flat key; nesting is only ever written inside one brace pair.
                let flat = composed.iter().enumerate().all(|(i, group)| {
                    let name = if i == 0 {
                        group.strip_prefix('@').unwrap_or(group)
                    } else {
                        group
                    };
                    name_end(name) == Some(name.len())
                });
                flat.then(|| {
                    let key = composed.join(".");
                    Path {
                        text: key.clone().into(),
                        root: key.into(),
                        steps: Box::new([]),
                    }
                })
            }
        }
    }

    /// The value the path names in the context; missing keys, nulls on the way and bad indexes
    /// are errors, as in the library.
    pub(super) fn resolve<'c>(&self, context: &'c Map<String, Value>) -> Result<&'c Value, MatchError> {
        let mut current = context.get(&*self.root).ok_or(MatchError::Missing)?;
        for step in &self.steps {
            current = match (step, current) {
                (Step::Key(key), Value::Object(map)) => map.get(&**key).ok_or(MatchError::Missing)?,
                (Step::Index(index), Value::Array(items)) => {
                    let position = if *index < 0 {
                        i64::try_from(items.len()).unwrap_or(i64::MAX) + index
                    } else {
                        *index
                    };
                    usize::try_from(position)
                        .ok()
                        .and_then(|position| items.get(position))
                        .ok_or(MatchError::IndexOutOfBounds)?
                }
                (_, Value::Null) => return Err(MatchError::Null),
                _ => return Err(MatchError::NotTraversable),
            };
        }
        Ok(current)
    }
}

/// `@`? name, then any number of `.name` and `[index]` steps.
fn parse_nested(text: &str) -> Option<Path> {
    let unprefixed = text.strip_prefix('@').unwrap_or(text);
    let root_end = text.len() - unprefixed.len() + name_end(unprefixed)?;
    let mut rest = &text[root_end..];
    let mut steps = vec![];
    while !rest.is_empty() {
        if let Some(after_dot) = rest.strip_prefix('.') {
            let end = name_end(after_dot)?;
            steps.push(Step::Key(after_dot[..end].into()));
            rest = &after_dot[end..];
        } else {
            let inside = rest.strip_prefix('[')?;
            let close = inside.find(']')?;
            let digits = inside[..close].strip_prefix('-').unwrap_or(&inside[..close]);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            steps.push(Step::Index(inside[..close].parse().ok()?));
            rest = &inside[close + 1..];
        }
    }
    Some(Path {
        text: text.into(),
        root: text[..root_end].into(),
        steps: steps.into(),
    })
}

/// Where the name at the start of `text` ends: words joined by single dashes, a word being an
/// identifier or a run of digits. `None` when `text` does not start with a word.
fn name_end(text: &str) -> Option<usize> {
    let mut end = word_end(text)?;
    while let Some(after_dash) = text[end..].strip_prefix('-') {
        end += 1 + word_end(after_dash)?;
    }
    Some(end)
}

fn word_end(text: &str) -> Option<usize> {
    let first = text.chars().next()?;
    let end = if first.is_ascii_digit() {
        text.find(|c: char| !c.is_ascii_digit())
    } else if first == '_' || first.is_alphabetic() {
        text.find(|c: char| c != '_' && !c.is_alphanumeric())
    } else {
        return None;
    };
    Some(end.unwrap_or(text.len()))
}

/// The library's `QuoteIdent`: bare when only letters, `_` and `.`, else a quoted string.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bare = !self.text.is_empty()
            && self
                .text
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '.');
        if bare {
            f.write_str(&self.text)
        } else {
            write_quoted(f, &self.text)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn path(text: &str) -> Option<Path> {
        Path::from_groups(&[text])
    }

    fn resolve(text: &str, context: Value) -> Result<Value, MatchError> {
        let Value::Object(context) = context else {
            panic!("context must be an object")
        };
        path(text).unwrap().resolve(&context).cloned()
    }

    #[test]
    fn accepts_flagr_property_names() {
        for ok in [
            "state",
            "user_id",
            "var5-type-2",
            "@ts_hour",
            "a.b",
            "a[0]",
            "a[-1]",
            "a.b[0].c",
            " a ",
            "123",
            "ñame",
            "a.1",
        ] {
            assert!(path(ok).is_some(), "{ok}");
        }
        for bad in [
            "", "a b", "a-", "-a", "a--b", "a.", "a[", "a[x]", "a[]", "1a", "a+b", "@", "\"a\"", "a]",
        ] {
            assert!(path(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn composed_groups_name_a_flat_key() {
        let composed = Path::from_groups(&["@foo", "a"]).unwrap();
        let Value::Object(context) = json!({"@foo.a": 1, "@foo": {"a": 2}}) else {
            unreachable!()
        };
        assert_eq!(composed.resolve(&context), Ok(&json!(1)));
        assert!(Path::from_groups(&["a.b", "c"]).is_none());
    }

    #[test]
    fn resolves_nested_values() {
        let context = json!({"user": {"tags": ["x", "y"], "name": null}, "flat.key": 1});
        assert_eq!(resolve("user.tags[0]", context.clone()), Ok(json!("x")));
        assert_eq!(resolve("user.tags[-1]", context.clone()), Ok(json!("y")));
        assert_eq!(
            resolve("user.tags[2]", context.clone()),
            Err(MatchError::IndexOutOfBounds)
        );
        assert_eq!(
            resolve("user.tags[-3]", context.clone()),
            Err(MatchError::IndexOutOfBounds)
        );
        assert_eq!(resolve("user.age", context.clone()), Err(MatchError::Missing));
        assert_eq!(resolve("user.name.x", context.clone()), Err(MatchError::Null));
        assert_eq!(resolve("user.tags.x", context.clone()), Err(MatchError::NotTraversable));
        // A dotted reference is a path, never a flat key.
        assert_eq!(resolve("flat.key", context), Err(MatchError::Missing));
    }

    #[test]
    fn displays_like_quote_ident() {
        assert_eq!(path("user.name").unwrap().to_string(), "user.name");
        assert_eq!(path("@ts").unwrap().to_string(), "\"@ts\"");
        assert_eq!(path("a[0]").unwrap().to_string(), "\"a[0]\"");
    }
}

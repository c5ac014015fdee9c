//! Go's regular expressions on the regex crate.
//!
//! Flagr compiles patterns with Go's `regexp.Compile` (RE2 syntax with Perl extensions). The
//! regex crate is close but not equal: its `\d`, `\w`, `\s` and `\b` are Unicode-aware where
//! Go's are ASCII, it has syntax Go lacks (class set operations, `\<`, `x` mode, long `\u`
//! escapes) and it rejects some Go spellings (`\Q...\E`, octal escapes, a `{` that is not a
//! repetition, the empty flag group `(?)`). So a pattern is translated, piece by piece, into
//! an equivalent pattern for the regex crate, rejecting what Go rejects; structural errors
//! (unbalanced parentheses, a repetition with nothing to repeat) are left to the regex crate,
//! which rejects the same ones.
//!
//! Must not touch: when a regex is compiled or applied (that is [`super::expr`]).

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

/// Compiled regexes by Go pattern, so that compiling many constraints with one cache (every
/// evaluation snapshot, one after another) compiles each distinct pattern once and every
/// constraint using a pattern shares one regex — and so one set of matching caches: a regex's
/// lazy DFA cache can grow large, and one per flag would multiply memory by the flag count.
/// Entries are never evicted; patterns are few next to the flags that use them.
#[derive(Debug, Default, Clone)]
pub struct RegexCache {
    compiled: HashMap<String, Result<Arc<Regex>, String>>,
}

impl RegexCache {
    pub(super) fn compile(&mut self, pattern: &str) -> Result<Arc<Regex>, String> {
        if let Some(compiled) = self.compiled.get(pattern) {
            return compiled.clone();
        }
        let compiled = compile(pattern).map(Arc::new);
        self.compiled.insert(pattern.to_owned(), compiled.clone());
        compiled
    }
}

/// Compiles a Go pattern; the error is a human-readable reason.
pub(super) fn compile(pattern: &str) -> Result<Regex, String> {
    let translated = Translator::new(pattern).run()?;
    Regex::new(&translated).map_err(|error| reason(&error))
}

/// The regex crate's one-line reason (`unclosed group`) without its picture of the translated
/// pattern, which is not what the user wrote.
fn reason(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map_or_else(|| text.clone(), str::to_owned)
}

/// Go's largest repetition count.
const MAX_REPEAT: u32 = 1000;

/// The POSIX classes Go knows inside brackets, without the `[:` `:]` and optional `^`.
const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "word",
    "xdigit",
];

struct Translator<'p> {
    rest: &'p str,
    out: String,
    /// Go rejects a repetition applied directly to another one (`a**`, `a{2}*`).
    after_repeat: bool,
}

impl<'p> Translator<'p> {
    fn new(pattern: &'p str) -> Self {
        Translator {
            rest: pattern,
            out: String::with_capacity(pattern.len() + 8),
            after_repeat: false,
        }
    }

    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.rest = &self.rest[c.len_utf8()..];
        Some(c)
    }

    fn eat(&mut self, prefix: &str) -> bool {
        match self.rest.strip_prefix(prefix) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn run(mut self) -> Result<String, String> {
        while let Some(c) = self.next() {
            let mut repeat = false;
            match c {
                '\\' => self.escape()?,
                '[' => self.class()?,
                '(' => self.group()?,
                '{' => repeat = self.counted_repeat()?,
                '*' | '+' | '?' => {
                    self.repeat_operator(&c.to_string())?;
                    repeat = true;
                }
                '.' | '^' | '$' | '|' | ')' => self.out.push(c),
                literal => push_literal(&mut self.out, literal),
            }
            self.after_repeat = repeat;
        }
        Ok(self.out)
    }

    fn repeat_operator(&mut self, operator: &str) -> Result<(), String> {
        if self.after_repeat {
            return Err(format!("invalid nested repetition operator: {operator}"));
        }
        self.out.push_str(operator);
        if self.eat("?") {
            self.out.push('?');
        }
        Ok(())
    }

    /// `{n}`, `{n,}` or `{n,m}` with Go's limits; any other `{` is a literal brace in Go.
    fn counted_repeat(&mut self) -> Result<bool, String> {
        let Some((min, max, rest)) = parse_repeat(self.rest) else {
            push_literal(&mut self.out, '{');
            return Ok(false);
        };
        let text = &self.rest[..self.rest.len() - rest.len()];
        let valid = min.is_some_and(|min| {
            min <= MAX_REPEAT
                && match max {
                    Bound::Unbounded => true,
                    Bound::At(max) => max <= MAX_REPEAT && min <= max,
                    Bound::TooLarge => false,
                }
        });
        if !valid {
            return Err(format!("invalid repeat count: {{{text}"));
        }
        let operator = format!("{{{text}");
        self.rest = rest;
        self.repeat_operator(&operator)?;
        Ok(true)
    }

    fn escape(&mut self) -> Result<(), String> {
        let Some(c) = self.next() else {
            return Err("trailing backslash at end of expression".to_owned());
        };
        match c {
            'A' => self.out.push_str(r"\A"),
            'z' => self.out.push_str(r"\z"),
            // Go's word boundary is ASCII-only.
            'b' => self.out.push_str(r"(?-u:\b)"),
            'B' => self.out.push_str(r"(?-u:\B)"),
            'Q' => {
                let (literal, rest) = self.rest.split_once(r"\E").unwrap_or((self.rest, ""));
                for c in literal.chars() {
                    push_literal(&mut self.out, c);
                }
                self.rest = rest;
            }
            'p' | 'P' => {
                let class = self.unicode_class(c == 'P')?;
                self.out.push_str(&class);
            }
            _ => {
                if let Some(class) = perl_class(c) {
                    self.out.push('[');
                    self.out.push_str(class);
                    self.out.push(']');
                } else {
                    let literal = self.escaped_char(c)?;
                    push_code_point(&mut self.out, literal);
                }
            }
        }
        Ok(())
    }

    /// Go's `parseEscape` for a backslash followed by `c`: the code point it stands for, which
    /// Go allows to be a surrogate.
    fn escaped_char(&mut self, c: char) -> Result<u32, String> {
        let invalid = |text: &str| format!("invalid escape sequence: \\{text}");
        match c {
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(u32::from(c)),
            '0'..='7' => {
                // A lone non-zero digit would be a backreference, which RE2 does not have.
                if c != '0' && !self.peek().is_some_and(|d| ('0'..='7').contains(&d)) {
                    return Err(invalid(&c.to_string()));
                }
                let mut value = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(digit) => {
                            value = value * 8 + digit;
                            self.next();
                        }
                        None => break,
                    }
                }
                Ok(value)
            }
            'x' => self.hex_escape().ok_or_else(|| invalid("x")),
            'a' => Ok(0x07),
            'f' => Ok(0x0c),
            'n' => Ok(0x0a),
            'r' => Ok(0x0d),
            't' => Ok(0x09),
            'v' => Ok(0x0b),
            other => Err(invalid(&other.to_string())),
        }
    }

    /// `\xHH` or `\x{H...}`, after the `x`.
    fn hex_escape(&mut self) -> Option<u32> {
        if self.eat("{") {
            let close = self.rest.find('}')?;
            let digits = &self.rest[..close];
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            let value = u32::from_str_radix(digits, 16)
                .ok()
                .filter(|&value| value <= MAX_CODE_POINT)?;
            self.rest = &self.rest[close + 1..];
            return Some(value);
        }
        let high = self.next()?.to_digit(16)?;
        let low = self.next()?.to_digit(16)?;
        Some(high * 16 + low)
    }

    /// `\pN`, `\p{Name}`, `\p{^Name}` and the `\P` forms, after the `p`/`P`. Names are left to
    /// the regex crate, whose tables are as recent as Go's.
    fn unicode_class(&mut self, mut negated: bool) -> Result<String, String> {
        let name = if self.eat("{") {
            let close = self
                .rest
                .find('}')
                .ok_or_else(|| "invalid character class range: missing }".to_owned())?;
            let name = &self.rest[..close];
            self.rest = &self.rest[close + 1..];
            name
        } else {
            let start = self.rest;
            let c = self
                .next()
                .ok_or_else(|| "invalid character class range: \\p".to_owned())?;
            &start[..c.len_utf8()]
        };
        let name = match name.strip_prefix('^') {
            Some(name) => {
                negated = !negated;
                name
            }
            None => name,
        };
        if name.is_empty() {
            return Err("invalid character class range: empty name".to_owned());
        }
        Ok(format!(r"\{}{{{name}}}", if negated { 'P' } else { 'p' }))
    }

    /// `(`, `(?:`, flag groups `(?i)`/`(?i-s:` with Go's flags, and named groups.
    fn group(&mut self) -> Result<(), String> {
        if !self.eat("?") {
            self.out.push('(');
            return Ok(());
        }
        if self.eat("P<") || self.eat("<") {
            let close = self.rest.find('>').ok_or_else(|| "invalid named capture".to_owned())?;
            let name = &self.rest[..close];
            if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
                return Err(format!("invalid named capture: {name}"));
            }
            self.out.push_str("(?P<");
            self.out.push_str(name);
            self.out.push('>');
            self.rest = &self.rest[close + 1..];
            return Ok(());
        }
        // Go allows repeated flags (`(?ii)`, `(?i-i)`), the regex crate does not: keep each
        // flag once, a cleared flag winning as it does in Go.
        let mut set = String::new();
        let mut clear = String::new();
        let mut negated = false;
        loop {
            match self.next() {
                Some(flag @ ('i' | 'm' | 's' | 'U')) => {
                    let side = if negated { &mut clear } else { &mut set };
                    if !side.contains(flag) {
                        side.push(flag);
                    }
                }
                Some('-') if !negated => negated = true,
                Some(end @ (':' | ')')) if !negated || !clear.is_empty() => {
                    set.retain(|flag| !clear.contains(flag));
                    // Go takes `(?)` as an empty flag change; the regex crate has no spelling
                    // for it, and it changes nothing.
                    if set.is_empty() && clear.is_empty() && end == ')' {
                        return Ok(());
                    }
                    self.out.push_str("(?");
                    self.out.push_str(&set);
                    if !clear.is_empty() {
                        self.out.push('-');
                        self.out.push_str(&clear);
                    }
                    self.out.push(end);
                    return Ok(());
                }
                _ => return Err("invalid or unsupported Perl syntax".to_owned()),
            }
        }
    }

    /// A bracketed class, re-emitted with every literal as a hex escape so the regex crate's
    /// nested classes and set operators (`[`, `&&`, `--`, `~~`) cannot change its meaning.
    fn class(&mut self) -> Result<(), String> {
        self.out.push('[');
        if self.eat("^") {
            self.out.push('^');
        }
        let mut first = true;
        loop {
            match self.peek() {
                None => return Err("missing closing ]".to_owned()),
                Some(']') if !first => {
                    self.next();
                    self.out.push(']');
                    return Ok(());
                }
                _ => {}
            }
            first = false;
            if let Some(posix) = self.posix_class()? {
                self.out.push_str(&posix);
            } else if self.eat(r"\p") {
                let class = self.unicode_class(false)?;
                self.out.push_str(&class);
            } else if self.eat(r"\P") {
                let class = self.unicode_class(true)?;
                self.out.push_str(&class);
            } else if let Some(class) = self
                .rest
                .strip_prefix('\\')
                .and_then(|r| r.chars().next().and_then(perl_class))
            {
                self.rest = &self.rest[2..];
                // Inside brackets a class joins the union as a nested class.
                self.out.push('[');
                self.out.push_str(class);
                self.out.push(']');
            } else {
                let low = self.class_char()?;
                let mut high = low;
                let mut after_dash = self.rest.chars();
                if after_dash.next() == Some('-') && after_dash.next().is_some_and(|c| c != ']') {
                    self.next();
                    high = self.class_char()?;
                    if high < low {
                        return Err(format!("invalid character class range: {low:X}-{high:X}"));
                    }
                }
                push_class_range(&mut self.out, low, high);
            }
        }
    }

    /// `[:name:]` or `[:^name:]` at the cursor; `None` when there is no `:]` to close it, in
    /// which case Go reads the `[` as a literal.
    fn posix_class(&mut self) -> Result<Option<String>, String> {
        let Some(inside) = self.rest.strip_prefix("[:") else {
            return Ok(None);
        };
        let Some(close) = inside.find(":]") else {
            return Ok(None);
        };
        let name = &inside[..close];
        if !POSIX_CLASSES.contains(&name.strip_prefix('^').unwrap_or(name)) {
            return Err(format!("invalid character class range: [:{name}:]"));
        }
        self.rest = &inside[close + 2..];
        Ok(Some(format!("[:{name}:]")))
    }

    fn class_char(&mut self) -> Result<u32, String> {
        match self.next() {
            None => Err("missing closing ]".to_owned()),
            Some('\\') => match self.next() {
                None => Err("trailing backslash at end of expression".to_owned()),
                Some(c) => self.escaped_char(c),
            },
            Some(c) => Ok(u32::from(c)),
        }
    }
}

/// Go's Perl classes, which are ASCII-only, as class contents.
fn perl_class(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "0-9",
        'D' => "^0-9",
        's' => r"\t\n\x0C\r ",
        'S' => r"^\t\n\x0C\r ",
        'w' => "0-9A-Za-z_",
        'W' => "^0-9A-Za-z_",
        _ => return None,
    })
}

/// How a counted repetition ends.
enum Bound {
    /// `{n,}`.
    Unbounded,
    At(u32),
    /// A maximum too large to count, which Go reports as an invalid count.
    TooLarge,
}

/// Go's `parseRepeat`, after the `{`: the minimum (`None` when too large to count), the bound
/// and the rest after `}`; `None` when this is not a repetition at all.
fn parse_repeat(text: &str) -> Option<(Option<u32>, Bound, &str)> {
    let (min, rest) = parse_count(text)?;
    let (max, rest) = match rest.strip_prefix(',') {
        None => (min.map_or(Bound::TooLarge, Bound::At), rest),
        Some(rest) if rest.starts_with('}') => (Bound::Unbounded, rest),
        Some(rest) => {
            let (max, rest) = parse_count(rest)?;
            (max.map_or(Bound::TooLarge, Bound::At), rest)
        }
    };
    let rest = rest.strip_prefix('}')?;
    Some((min, max, rest))
}

/// Go's `parseInt`: decimal digits without a leading zero; a value of 10^8 or more counts as
/// too large (`Some(None)`).
fn parse_count(text: &str) -> Option<(Option<u32>, &str)> {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let digits = &text[..end];
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    let value = digits.parse::<u32>().ok().filter(|&n| n < 100_000_000);
    Some((value, &text[end..]))
}

/// A class that matches nothing, which is what a surrogate code point is to Go on valid text.
const NOTHING: &str = r"[^\x{0}-\x{10FFFF}]";

/// Unicode's largest code point, Go's limit for `\x{...}`.
const MAX_CODE_POINT: u32 = 0x10_FFFF;

/// A code point outside brackets; surrogates (which Go allows in escapes) never match.
fn push_code_point(out: &mut String, code_point: u32) {
    match char::from_u32(code_point) {
        Some(c) => push_literal(out, c),
        None => out.push_str(NOTHING),
    }
}

/// A range inside brackets as hex escapes, leaving out the surrogates the regex crate cannot
/// name; a range of surrogates only becomes an empty nested class.
fn push_class_range(out: &mut String, low: u32, high: u32) {
    let parts = [(low, high.min(0xD7FF)), (low.max(0xE000), high)];
    let mut any = false;
    for (from, to) in parts.into_iter().filter(|(from, to)| from <= to) {
        out.push_str(&format!(r"\x{{{from:X}}}-\x{{{to:X}}}"));
        any = true;
    }
    if !any {
        out.push_str(NOTHING);
    }
}

/// A literal character outside brackets, escaped when the regex crate would read it as syntax.
fn push_literal(out: &mut String, c: char) {
    if "\\.+*?()|[]{}^$#&-~".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        compile(pattern).unwrap().is_match(text)
    }

    #[test]
    fn perl_classes_are_ascii_like_go() {
        assert!(matches(r"^\d+$", "123"));
        assert!(!matches(r"^\d$", "٣"));
        assert!(!matches(r"^\w$", "é"));
        assert!(matches(r"^[\w]$", "_"));
        assert!(matches(r"^[^\d]$", "٣"));
        assert!(!matches(r"\bé", "é"));
        assert!(matches(r"^\s$", "\u{c}"));
        assert!(!matches(r"^\s$", "\u{b}"));
    }

    #[test]
    fn accepts_go_only_spellings() {
        assert!(matches(r"^\Qa.b\E$", "a.b"));
        assert!(!matches(r"^\Qa.b\E$", "axb"));
        assert!(matches(r"^\101$", "A"));
        assert!(matches(r"^a{$", "a{"));
        assert!(matches(r"^a{,2}$", "a{,2}"));
        assert!(matches(r"^(?)a$", "a"));
        assert!(matches(r"^[[]$", "["));
        assert!(matches(r"^[a&&b]$", "&"));
        assert!(matches(r"^[a-]$", "-"));
        assert!(matches(r"^[]a]$", "]"));
        assert!(matches(r"^\p{^Greek}$", "a"));
        assert!(matches(r"^(?<x>a)$", "a"));
        assert!(matches(r"^\<$", "<"));
        assert!(!matches(r"\x{D800}", "\u{FFFD}"));
        assert!(matches(r"^[\x{D7FF}-\x{E000}]+$", "\u{D7FF}\u{E000}"));
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in [
            r"\1",
            r"\8",
            r"\C",
            r"\e",
            r"\u0041",
            r"\x{110000}",
            r"a**",
            r"a{2}*",
            r"a{1001}",
            r"a{2,1}",
            r"(?x)a",
            r"(?-)a",
            r"(?i-)a",
            r"[\b]",
            r"[z-a]",
            r"[[:foo:]]",
            "(",
            "a\\",
            "[a",
            r"(?P<a.b>x)",
        ] {
            assert!(compile(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_read_as_one_line() {
        assert_eq!(compile("(").unwrap_err(), "unclosed group");
    }

    #[test]
    fn seeds_compile() {
        assert!(matches(r".+@company\.com", "jo@company.com"));
        assert!(matches(r"^\+1[0-9]{10}$", "+14155550123"));
        assert!(matches("^/admin", "/admin/users"));
        assert!(matches(r"\d", "a1"), "unanchored");
    }
}

//! The tokenizer under Flagr's constraint parser: Go's `text/scanner` as the conditions library
//! configures it (identifiers, numbers and double-quoted strings recognised; spaces, tabs and
//! line breaks skipped; every other character a token of its own).
//!
//! Token boundaries decide what Flagr accepts — a regex literal or an array is the concatenation
//! of the tokens up to its closing delimiter, so whitespace between tokens vanishes while
//! whitespace inside a string token stays — hence this mirrors Go's rules exactly, including
//! its forgiving error handling: a bad escape or an unterminated string is still a token.
//!
//! Must not touch: the grammar (that is [`super::parser`]), evaluation.

/// What kind of token the scanner produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Eof,
    Ident,
    Int,
    Float,
    /// A double-quoted string, possibly unterminated; its text keeps the quotes and escapes.
    String,
    /// Any other single character.
    Char(char),
}

/// One token: its kind and its exact source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token<'s> {
    pub(super) kind: Kind,
    pub(super) text: &'s str,
    /// Byte offset of the token in the source, so callers can take raw slices between tokens.
    pub(super) start: usize,
}

impl Token<'_> {
    pub(super) fn is_char(&self, c: char) -> bool {
        self.kind == Kind::Char(c)
    }
}

/// Go's `text/scanner` over one source string.
pub(super) struct Scanner<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Scanner<'s> {
    pub(super) fn new(src: &'s str) -> Self {
        Scanner { src, pos: 0 }
    }

    pub(super) fn source(&self) -> &'s str {
        self.src
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.src[self.pos..].chars().nth(1)
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    fn bump_while(&mut self, mut accept: impl FnMut(char) -> bool) {
        while self.peek().is_some_and(&mut accept) {
            self.bump();
        }
    }

    /// The next token; at the end of the source, `Eof` forever.
    pub(super) fn next_token(&mut self) -> Token<'s> {
        // Go's default whitespace set: no other Unicode spaces.
        self.bump_while(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        let start = self.pos;
        let kind = match self.peek() {
            None => Kind::Eof,
            Some(c) if c == '_' || c.is_alphabetic() => {
                self.bump_while(|c| c == '_' || c.is_alphanumeric());
                Kind::Ident
            }
            Some(c) if c.is_ascii_digit() => self.number(false),
            Some('.') if self.peek_second().is_some_and(|c| c.is_ascii_digit()) => {
                self.bump();
                self.number(true)
            }
            Some('"') => {
                self.string();
                Kind::String
            }
            Some(c) => {
                self.bump();
                Kind::Char(c)
            }
        };
        Token {
            kind,
            text: &self.src[start..self.pos],
            start,
        }
    }

    /// Go's number syntax, only as far as it decides where the token ends: base prefixes,
    /// `_` separators, a fraction and an exponent. Whether the text is a valid number is
    /// decided later, by `strconv.ParseFloat`'s rules.
    fn number(&mut self, mut seen_dot: bool) -> Kind {
        let mut kind = Kind::Int;
        let mut hex = false;
        if !seen_dot {
            if self.peek() == Some('0') {
                self.bump();
                match self.peek().map(|c| c.to_ascii_lowercase()) {
                    Some('x') => {
                        self.bump();
                        hex = true;
                    }
                    Some('o' | 'b') => self.bump(),
                    _ => {}
                }
            }
            self.digits(hex);
            if self.peek() == Some('.') {
                self.bump();
                seen_dot = true;
            }
        }
        if seen_dot {
            kind = Kind::Float;
            self.digits(hex);
        }
        if matches!(self.peek(), Some('e' | 'E' | 'p' | 'P')) {
            self.bump();
            kind = Kind::Float;
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            self.digits(false);
        }
        kind
    }

    fn digits(&mut self, hex: bool) {
        self.bump_while(|c| c == '_' || c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()));
    }

    /// A double-quoted string. It ends at the closing quote, or — unterminated — at a line
    /// break (which Go includes in the token) or at the end of the source. A backslash skips a
    /// following quote or backslash; what else it escapes never ends a string, so it needs no
    /// further interpretation here.
    fn string(&mut self) {
        self.bump();
        loop {
            match self.peek() {
                None => return,
                Some('"' | '\n') => {
                    self.bump();
                    return;
                }
                Some('\\') => {
                    self.bump();
                    if matches!(self.peek(), Some('"' | '\\')) {
                        self.bump();
                    }
                }
                Some(_) => self.bump(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Vec<(Kind, &str)> {
        let mut scanner = Scanner::new(src);
        let mut out = vec![];
        loop {
            let token = scanner.next_token();
            out.push((token.kind, token.text));
            if token.kind == Kind::Eof {
                return out;
            }
        }
    }

    // Expected token streams were produced by Go 1.19's text/scanner with the same mode.
    #[test]
    fn matches_go_token_boundaries() {
        use Kind::*;
        assert_eq!(
            tokens(r#"({a} == "CA")"#),
            vec![
                (Char('('), "("),
                (Char('{'), "{"),
                (Ident, "a"),
                (Char('}'), "}"),
                (Char('='), "="),
                (Char('='), "="),
                (String, "\"CA\""),
                (Char(')'), ")"),
                (Eof, ""),
            ]
        );
        assert_eq!(
            tokens("1e5 0x1F 1_000 .5 1. 08 0b12 1e 0x1p-2 1.5e+3x"),
            vec![
                (Float, "1e5"),
                (Int, "0x1F"),
                (Int, "1_000"),
                (Float, ".5"),
                (Float, "1."),
                (Int, "08"),
                (Int, "0b12"),
                (Float, "1e"),
                (Float, "0x1p-2"),
                (Float, "1.5e+3"),
                (Ident, "x"),
                (Eof, ""),
            ]
        );
        assert_eq!(
            tokens("\"abc\ndef\" x"),
            vec![(String, "\"abc\n"), (Ident, "def"), (String, "\" x"), (Eof, "")]
        );
        assert_eq!(
            tokens(r#""a\"b" "\d" "unterminated"#),
            vec![
                (String, r#""a\"b""#),
                (String, r#""\d""#),
                (String, "\"unterminated"),
                (Eof, "")
            ]
        );
        assert_eq!(
            tokens("é ñame a-b @x"),
            vec![
                (Ident, "é"),
                (Ident, "ñame"),
                (Ident, "a"),
                (Char('-'), "-"),
                (Ident, "b"),
                (Char('@'), "@"),
                (Ident, "x"),
                (Eof, "")
            ]
        );
    }
}

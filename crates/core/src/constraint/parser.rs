//! The grammar of the zhouzhuojie/conditions library (v0.2.6), which Flagr feeds with
//! `({property} op value)`: operands, operators, parentheses, and its particular way of building
//! the tree.
//!
//! Flagr accepts whatever this parser accepts, and the parser has quirks that decide it: it
//! stops at the first token that is not an operator instead of requiring the end of input, its
//! one-token push-back buffer holds the last *raw* token (so after a multi-token operand it
//! replays that operand's last token), and it regroups `a op1 b op2 c` by looking one level
//! deep. Each quirk is reproduced, because a write Flagr accepts must be accepted here and
//! evaluate the same way.
//!
//! Must not touch: evaluation (the tree built here is compiled by [`super::expr`]).

use serde_json::Value;

use super::ConstraintError;
use super::number::parse_go_float;
use super::path::Path;
use super::scanner::{Kind, Scanner, Token};

/// Most raw tokens an array literal may span before the library gives up looking for `]`.
const MAX_ARRAY_TOKENS: usize = 65_536;

/// The binary operators, grouped by how they evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// Short-circuits: the right side is not evaluated when the left decides.
    And,
    Or,
    /// `=~` or, negated, `!~`.
    Regex {
        negated: bool,
    },
    /// Evaluates both sides, then compares.
    Compare(Compare),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compare {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Xor,
    Nand,
    In,
    NotIn,
    Contains,
    NotContains,
}

impl Op {
    /// Binding strength; the parser regroups when the left operator binds no tighter.
    fn precedence(self) -> u8 {
        match self {
            Op::Or | Op::Compare(Compare::Xor) => 1,
            Op::And | Op::Compare(Compare::Nand) => 2,
            _ => 3,
        }
    }

    /// The operator as the library prints it.
    pub(super) fn symbol(self) -> &'static str {
        match self {
            Op::And => "AND",
            Op::Or => "OR",
            Op::Regex { negated: false } => "=~",
            Op::Regex { negated: true } => "!~",
            Op::Compare(compare) => match compare {
                Compare::Eq => "==",
                Compare::Neq => "!=",
                Compare::Lt => "<",
                Compare::Lte => "<=",
                Compare::Gt => ">",
                Compare::Gte => ">=",
                Compare::Xor => "XOR",
                Compare::Nand => "NAND",
                Compare::In => "IN",
                Compare::NotIn => "NOT IN",
                Compare::Contains => "CONTAINS",
                Compare::NotContains => "NOT CONTAINS",
            },
        }
    }
}

/// The parsed expression, before compilation.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ast {
    Paren(Box<Ast>),
    Binary {
        op: Op,
        lhs: Box<Ast>,
        rhs: Box<Ast>,
    },
    Var(Path),
    /// The text between the quotes (or slashes), escapes kept verbatim as the library does.
    Str(String),
    Num(f64),
    Bool(bool),
    Strs(Vec<String>),
    Nums(Vec<f64>),
}

/// The library's token after its mapping of raw tokens.
#[derive(Debug, Clone, PartialEq)]
enum Mapped {
    /// Not a token the grammar knows; the text is what was seen.
    Illegal(String),
    /// A regex literal, array or property reference that runs to the end of the text.
    Unterminated(&'static str),
    /// A `{...}` whose inside is not a property path.
    BadProperty(String),
    Eof,
    LParen,
    RParen,
    Var(Path),
    Number(String),
    /// A string or regex literal, delimiters included.
    Str(String),
    Array(String),
    True,
    False,
    Op(Op),
}

/// Parses one expression the way `conditions.NewParser(...).Parse()` does.
pub(super) fn parse(src: &str) -> Result<Ast, ConstraintError> {
    let mut parser = Parser {
        scanner: Scanner::new(src),
        last: None,
        replay: false,
    };
    parser.expr()
}

struct Parser<'s> {
    scanner: Scanner<'s>,
    /// The last raw token read, which [`Parser::unscan`] makes the next one again.
    last: Option<Token<'s>>,
    replay: bool,
}

impl<'s> Parser<'s> {
    fn scan(&mut self) -> Token<'s> {
        match self.last {
            Some(token) if self.replay => {
                self.replay = false;
                token
            }
            _ => {
                let token = self.scanner.next_token();
                self.last = Some(token);
                token
            }
        }
    }

    fn unscan(&mut self) {
        self.replay = true;
    }

    fn expr(&mut self) -> Result<Ast, ConstraintError> {
        let mut expr = self.unary()?;
        loop {
            let op = match self.scan_mapped() {
                Mapped::Illegal(text) => return Err(unexpected(&text)),
                Mapped::BadProperty(text) => return Err(ConstraintError::InvalidProperty(text)),
                Mapped::Unterminated(what) => return Err(ConstraintError::Unterminated(what)),
                Mapped::Op(op) => op,
                _ => {
                    // Not an operator: the expression ends here, whatever follows.
                    self.unscan();
                    return Ok(expr);
                }
            };
            let rhs = self.unary()?;
            expr = match expr {
                // One level of regrouping only, exactly as the library does it.
                Ast::Binary {
                    op: left_op,
                    lhs,
                    rhs: middle,
                } if left_op.precedence() <= op.precedence() => Ast::Binary {
                    op: left_op,
                    lhs,
                    rhs: Box::new(Ast::Binary {
                        op,
                        lhs: middle,
                        rhs: Box::new(rhs),
                    }),
                },
                lhs => Ast::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
            };
        }
    }

    fn unary(&mut self) -> Result<Ast, ConstraintError> {
        match self.scan_mapped() {
            Mapped::LParen => {
                let inner = self.expr()?;
                if self.scan_mapped() != Mapped::RParen {
                    return Err(ConstraintError::MissingParen);
                }
                Ok(Ast::Paren(Box::new(inner)))
            }
            Mapped::Var(path) => Ok(Ast::Var(path)),
            Mapped::Str(text) => string_literal(&text),
            Mapped::Number(text) => parse_go_float(&text)
                .map(Ast::Num)
                .ok_or(ConstraintError::InvalidNumber(text)),
            Mapped::True => Ok(Ast::Bool(true)),
            Mapped::False => Ok(Ast::Bool(false)),
            Mapped::Array(text) => array_literal(&text),
            Mapped::BadProperty(text) => Err(ConstraintError::InvalidProperty(text)),
            Mapped::Illegal(text) if is_word(&text) => Err(ConstraintError::UnquotedString(text)),
            Mapped::Illegal(text) => Err(unexpected(&text)),
            Mapped::Unterminated(what) => Err(ConstraintError::Unterminated(what)),
            Mapped::Eof => Err(ConstraintError::Unexpected("end of value".to_owned())),
            Mapped::RParen => Err(unexpected(")")),
            Mapped::Op(op) => Err(unexpected(op.symbol())),
        }
    }

    /// The library's `scanWithMapping`: one grammar token from one or more raw tokens.
    fn scan_mapped(&mut self) -> Mapped {
        let token = self.scan();
        match token.kind {
            Kind::Eof => Mapped::Eof,
            Kind::Int | Kind::Float => Mapped::Number(token.text.to_owned()),
            Kind::String => Mapped::Str(token.text.to_owned()),
            Kind::Ident => self.keyword(token.text),
            Kind::Char(c) => self.punctuation(c),
        }
    }

    fn keyword(&mut self, word: &str) -> Mapped {
        match word.to_uppercase().as_str() {
            "AND" => Mapped::Op(Op::And),
            "OR" => Mapped::Op(Op::Or),
            "XOR" => Mapped::Op(Op::Compare(Compare::Xor)),
            "NAND" => Mapped::Op(Op::Compare(Compare::Nand)),
            "IN" => Mapped::Op(Op::Compare(Compare::In)),
            "CONTAINS" => Mapped::Op(Op::Compare(Compare::Contains)),
            "TRUE" => Mapped::True,
            "FALSE" => Mapped::False,
            "NOT" => match self.scan().text.to_uppercase().as_str() {
                "IN" => Mapped::Op(Op::Compare(Compare::NotIn)),
                "CONTAINS" => Mapped::Op(Op::Compare(Compare::NotContains)),
                _ => {
                    self.unscan();
                    Mapped::Illegal(word.to_owned())
                }
            },
            _ => Mapped::Illegal(word.to_owned()),
        }
    }

    fn punctuation(&mut self, c: char) -> Mapped {
        match c {
            '(' => Mapped::LParen,
            ')' => Mapped::RParen,
            '-' => {
                let next = self.scan();
                match next.kind {
                    Kind::Int | Kind::Float => Mapped::Number(format!("-{}", next.text)),
                    _ => Mapped::Illegal(format!("-{}", next.text)),
                }
            }
            '!' => match self.scan().kind {
                Kind::Char('=') => Mapped::Op(Op::Compare(Compare::Neq)),
                Kind::Char('~') => Mapped::Op(Op::Regex { negated: true }),
                _ => Mapped::Illegal("!".to_owned()),
            },
            '=' => match self.scan().kind {
                Kind::Char('=') => Mapped::Op(Op::Compare(Compare::Eq)),
                Kind::Char('~') => Mapped::Op(Op::Regex { negated: false }),
                _ => Mapped::Illegal("=".to_owned()),
            },
            '>' => self.maybe_equals(Compare::Gt, Compare::Gte),
            '<' => self.maybe_equals(Compare::Lt, Compare::Lte),
            '/' => self.regex_literal(),
            '[' => self.array(),
            '{' => self.property(),
            other => Mapped::Illegal(other.to_string()),
        }
    }

    fn maybe_equals(&mut self, alone: Compare, with_equals: Compare) -> Mapped {
        if self.scan().is_char('=') {
            Mapped::Op(Op::Compare(with_equals))
        } else {
            self.unscan();
            Mapped::Op(Op::Compare(alone))
        }
    }

    /// `/.../`: the raw tokens up to the next `/` token, concatenated (so whitespace between
    /// tokens disappears and a `/` inside a string token does not end the literal).
    fn regex_literal(&mut self) -> Mapped {
        let mut text = String::from("/");
        loop {
            let token = self.scan();
            match token.kind {
                Kind::Eof => return Mapped::Unterminated("regular expression"),
                _ => text.push_str(token.text),
            }
            if token.is_char('/') {
                return Mapped::Str(text);
            }
        }
    }

    /// `[...]`: the raw tokens up to `]`, concatenated, later read as a JSON array.
    fn array(&mut self) -> Mapped {
        let mut text = String::new();
        for _ in 0..MAX_ARRAY_TOKENS {
            let token = self.scan();
            match token.kind {
                Kind::Eof => return Mapped::Unterminated("array"),
                Kind::Char(']') => return Mapped::Array(text),
                _ => text.push_str(token.text),
            }
        }
        Mapped::Unterminated("array (no `]` within 65536 tokens)")
    }

    /// `{path}`, or the library's composed form `{a}{b}` naming the flat key `a.b`. Like the
    /// library, it reads one raw token past the closing brace to look for another `{`.
    fn property(&mut self) -> Mapped {
        let mut groups = vec![];
        loop {
            let open_end = self.last.map_or(0, |token| token.start + token.text.len());
            let close = loop {
                let token = self.scan();
                match token.kind {
                    Kind::Eof => return Mapped::Unterminated("property reference"),
                    Kind::Char('}') => break token,
                    _ => {}
                }
            };
            groups.push(&self.scanner.source()[open_end..close.start]);
            if !self.scan().is_char('{') {
                self.unscan();
                break;
            }
        }
        match Path::from_groups(&groups) {
            Some(path) => Mapped::Var(path),
            None => Mapped::BadProperty(groups.join("}{")),
        }
    }
}

/// A string token (quotes kept) or regex literal (slashes kept) as the library reads it: the
/// text between the delimiters, escapes not interpreted.
fn string_literal(text: &str) -> Result<Ast, ConstraintError> {
    match text.as_bytes() {
        // An unterminated string may end inside a multi-byte character; the library slices
        // bytes, so do the same without panicking. The parse fails later anyway in that case.
        [_, inner @ .., _] => Ok(Ast::Str(String::from_utf8_lossy(inner).into_owned())),
        _ => Err(ConstraintError::InvalidString(text.to_owned())),
    }
}

/// `[` + the concatenated tokens + `]`, decoded as JSON: non-empty, all strings or all numbers.
fn array_literal(text: &str) -> Result<Ast, ConstraintError> {
    let invalid = |reason: String| ConstraintError::InvalidArray {
        text: format!("[{text}]"),
        reason,
    };
    let items: Vec<Value> = serde_json::from_str(&format!("[{text}]")).map_err(|error| invalid(error.to_string()))?;
    match items.first() {
        None => Err(invalid("the array is empty".to_owned())),
        Some(Value::String(_)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                _ => Err(invalid("the items are not all strings".to_owned())),
            })
            .collect::<Result<_, _>>()
            .map(Ast::Strs),
        Some(Value::Number(_)) => items
            .iter()
            .map(|item| {
                item.as_f64()
                    .ok_or_else(|| invalid("the items are not all numbers".to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Ast::Nums),
        Some(_) => Err(invalid("items must be strings or numbers".to_owned())),
    }
}

fn unexpected(text: &str) -> ConstraintError {
    ConstraintError::Unexpected(format!("`{text}`"))
}

/// Whether an unexpected token was a bare word, which almost always means a forgotten quote.
fn is_word(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c == '_' || c.is_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str) -> Box<Ast> {
        Box::new(Ast::Var(Path::from_groups(&[name]).unwrap()))
    }

    #[test]
    fn parses_flagr_constraint_shape() {
        assert_eq!(
            parse(r#"({state} == "CA")"#).unwrap(),
            Ast::Paren(Box::new(Ast::Binary {
                op: Op::Compare(Compare::Eq),
                lhs: var("state"),
                rhs: Box::new(Ast::Str("CA".into())),
            }))
        );
    }

    #[test]
    fn regroups_one_level_like_the_library() {
        // a AND b AND c groups to the right; a == 1 AND b == 2 keeps the comparisons whole.
        let tree = parse("{a} == 1 AND {b} == 2").unwrap();
        assert_eq!(
            tree,
            Ast::Binary {
                op: Op::And,
                lhs: Box::new(Ast::Binary {
                    op: Op::Compare(Compare::Eq),
                    lhs: var("a"),
                    rhs: Box::new(Ast::Num(1.0)),
                }),
                rhs: Box::new(Ast::Binary {
                    op: Op::Compare(Compare::Eq),
                    lhs: var("b"),
                    rhs: Box::new(Ast::Num(2.0)),
                }),
            }
        );
    }

    #[test]
    fn stops_at_the_first_non_operator() {
        // Trailing operands are ignored, and the buffer replays the token after `{b}`.
        assert!(parse(r#"({a} == "x") "ignored""#).is_ok());
        assert!(parse(r#"({a} == 1 {b})"#).is_ok());
        assert_eq!(
            parse(r#"({a} == "x" garbage)"#),
            Err(ConstraintError::Unexpected("`garbage`".into()))
        );
    }

    #[test]
    fn reports_unterminated_literals() {
        assert_eq!(
            parse("({a} =~ /abc)"),
            Err(ConstraintError::Unterminated("regular expression"))
        );
        assert_eq!(parse("({a} IN [1, 2)"), Err(ConstraintError::Unterminated("array")));
        assert_eq!(
            parse("({a == 1)"),
            Err(ConstraintError::Unterminated("property reference"))
        );
        assert_eq!(parse("({a} == )"), Err(ConstraintError::Unexpected("`)`".into())));
    }

    #[test]
    fn regex_literal_drops_whitespace_between_tokens() {
        assert_eq!(parse(r#"/a b" c "d/"#).unwrap(), Ast::Str(r#"ab" c "d"#.into()));
    }

    #[test]
    fn arrays_are_json_of_one_type() {
        assert_eq!(parse(r#"["a", "b"]"#).unwrap(), Ast::Strs(vec!["a".into(), "b".into()]));
        assert_eq!(parse("[1, -2.5]").unwrap(), Ast::Nums(vec![1.0, -2.5]));
        // Tokens are concatenated without separators, so `[1 2]` is `[12]`.
        assert_eq!(parse("[1 2]").unwrap(), Ast::Nums(vec![12.0]));
        for bad in ["[]", "[true]", r#"[1, "a"]"#, "['a']", "[a]", "[1", "[[1]]"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}

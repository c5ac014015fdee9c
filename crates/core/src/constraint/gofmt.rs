//! Go's text renderings that Flagr's debug messages are made of: quoted strings as the
//! conditions library prints them, floats as `%v` prints them, and JSON values as `%+v`
//! prints the decoded `map[string]interface{}`.
//!
//! Only messages use these; nothing here decides a match.
//!
//! Must not touch: parsing or evaluation.

use std::fmt::{self, Write};

use serde_json::{Map, Value};

/// The conditions library's `Quote`: double quotes, with line breaks, backslashes and quotes
/// escaped.
pub(crate) fn write_quoted(f: &mut impl Write, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        match c {
            '\n' => f.write_str("\\n")?,
            '\\' => f.write_str("\\\\")?,
            '"' => f.write_str("\\\"")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// A float as Go's `%v` prints it: the shortest digits that round-trip, in exponent form
/// (`1e+06`) when the decimal exponent is below -4 or at least 6.
pub(crate) fn write_float(f: &mut impl Write, value: f64) -> fmt::Result {
    // Rust's `{:e}` gives the same shortest digits, as `d.ddde±x`.
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(unsigned) => ("-", unsigned),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|&c| c != '.').collect();
    f.write_str(sign)?;
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        f.write_str(first)?;
        if !rest.is_empty() {
            write!(f, ".{rest}")?;
        }
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return write!(f, "e{exponent_sign}{:02}", exponent.unsigned_abs());
    }
    if exponent < 0 {
        let zeros = "0".repeat(exponent.unsigned_abs() as usize - 1);
        return write!(f, "0.{zeros}{digits}");
    }
    let integer_digits = exponent as usize + 1;
    if digits.len() <= integer_digits {
        write!(f, "{digits}{}", "0".repeat(integer_digits - digits.len()))
    } else {
        let (integer, fraction) = digits.split_at(integer_digits);
        write!(f, "{integer}.{fraction}")
    }
}

/// A decoded JSON value as Go's `%+v` prints it: `[1 2]`, `<nil>`, strings unquoted, objects
/// as [`GoMap`].
pub(crate) struct GoValue<'v>(pub(crate) &'v Value);

impl fmt::Display for GoValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Null => f.write_str("<nil>"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write_float(f, n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => f.write_str(s),
            Value::Array(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(' ')?;
                    }
                    write!(f, "{}", GoValue(item))?;
                }
                f.write_char(']')
            }
            Value::Object(map) => write!(f, "{}", GoMap(map)),
        }
    }
}

/// A decoded JSON object as Go's `%+v` prints a `map[string]interface{}`.
pub(crate) struct GoMap<'m>(pub(crate) &'m Map<String, Value>);

impl fmt::Display for GoMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("map[")?;
        // Go sorts map keys when printing; sort in case the map keeps insertion order.
        let mut entries: Vec<_> = self.0.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        for (i, (key, value)) in entries.into_iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            write!(f, "{key}:{}", GoValue(value))?;
        }
        f.write_char(']')
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn float(value: f64) -> String {
        let mut out = String::new();
        write_float(&mut out, value).unwrap();
        out
    }

    // Expected renderings were printed by Go 1.19's fmt.
    #[test]
    fn floats_print_like_go_v() {
        for (value, expected) in [
            (1e6, "1e+06"),
            (123_456_789.0, "1.23456789e+08"),
            (1e20, "1e+20"),
            (1e21, "1e+21"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (100_000.0, "100000"),
            (1_234_567.0, "1.234567e+06"),
            (18.0, "18"),
            (1.5, "1.5"),
            (0.0, "0"),
            (3.0e-5, "3e-05"),
            (12_345_678.9, "1.23456789e+07"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(float(value), expected, "{value}");
        }
    }

    #[test]
    fn maps_print_like_go_plus_v() {
        let value = json!({"b": 1.0, "a": "x", "c": ["p", 2.0], "d": {"z": null, "y": true}});
        assert_eq!(
            GoValue(&value).to_string(),
            "map[a:x b:1 c:[p 2] d:map[y:true z:<nil>]]"
        );
    }
}

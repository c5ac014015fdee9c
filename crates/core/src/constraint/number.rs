//! Numbers as the constraint language sees them: literals read with Go's `strconv.ParseFloat`
//! rules, and equality with the library's epsilon.
//!
//! Must not touch: tokenizing (the scanner decides where a number ends; this decides whether
//! it is one).

/// The library's default tolerance for number equality.
const EPSILON: f64 = 1e-6;

/// Go's `math.SmallestNonzeroFloat32`, which the library uses to scale the tolerance near zero.
const SMALLEST_NONZERO_F32: f64 = 1.401_298_464_324_817e-45;

/// Number equality as the conditions library defines it: exact, or within an absolute 1e-6
/// *and* a relative 1e-6; against zero only a vanishingly small difference counts.
pub(super) fn float_equal(a: f64, b: f64) -> bool {
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    if diff > EPSILON {
        return false;
    }
    if a == 0.0 || b == 0.0 {
        return diff < EPSILON * SMALLEST_NONZERO_F32;
    }
    diff / a.abs().max(b.abs()) < EPSILON
}

/// Go's `strconv.ParseFloat(text, 64)`: decimal or hexadecimal (`0x1p-2`) syntax, `_` only
/// between digits, the whole text consumed, and overflow an error. `None` when Go fails.
pub(super) fn parse_go_float(text: &str) -> Option<f64> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if text.contains('_') && !underscores_ok(unsigned) {
        return None;
    }
    let magnitude = match unsigned.strip_prefix("0x").or_else(|| unsigned.strip_prefix("0X")) {
        Some(hex) => parse_hex(hex)?,
        None => parse_decimal(unsigned)?,
    };
    // Go reports overflow as an error; underflow to zero is fine.
    if magnitude.is_infinite() {
        return None;
    }
    Some(if negative { -magnitude } else { magnitude })
}

/// Go's `underscoreOK`: an underscore must sit between digits, or between a base prefix and a
/// digit.
fn underscores_ok(unsigned: &str) -> bool {
    let bytes = unsigned.as_bytes();
    let (hex, digits_from) = match bytes {
        [b'0', p, ..] if matches!(p.to_ascii_lowercase(), b'b' | b'o' | b'x') => (p.eq_ignore_ascii_case(&b'x'), 2),
        _ => (false, 0),
    };
    #[derive(PartialEq)]
    enum Saw {
        Start,
        Digit,
        Underscore,
        Other,
    }
    let mut saw = if digits_from == 2 { Saw::Digit } else { Saw::Start };
    for &b in &bytes[digits_from..] {
        saw = if b.is_ascii_digit() || (hex && b.is_ascii_hexdigit()) {
            Saw::Digit
        } else if b == b'_' {
            if saw != Saw::Digit {
                return false;
            }
            Saw::Underscore
        } else if saw == Saw::Underscore {
            return false;
        } else {
            Saw::Other
        };
    }
    saw != Saw::Underscore
}

/// Splits `mantissa[e|p]exponent` after checking Go's shape: mantissa digits with at most one
/// dot and at least one digit; an exponent that starts with a digit after its optional sign.
/// Underscores were validated already and are dropped.
fn split(text: &str, is_digit: fn(u8) -> bool, exponent_marker: u8, exponent_required: bool) -> Option<(String, i64)> {
    let bytes = text.as_bytes();
    let marker = bytes.iter().position(|b| b.to_ascii_lowercase() == exponent_marker);
    let (mantissa, exponent) = match marker {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None if exponent_required => return None,
        None => (text, None),
    };
    let digits: String = mantissa.chars().filter(|&c| c != '_').collect();
    let well_formed = digits.bytes().filter(|&b| b == b'.').count() <= 1
        && digits.bytes().any(is_digit)
        && digits.bytes().all(|b| b == b'.' || is_digit(b));
    if !well_formed {
        return None;
    }
    let exponent = match exponent {
        None => 0,
        Some(exponent) => {
            let unsigned = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            let well_formed = unsigned.as_bytes().first().is_some_and(u8::is_ascii_digit)
                && unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'_');
            if !well_formed {
                return None;
            }
            // Like Go, stop counting at a size that over- or underflows anyway.
            let magnitude = unsigned
                .bytes()
                .filter(u8::is_ascii_digit)
                .fold(0_i64, |acc, b| (acc * 10 + i64::from(b - b'0')).min(100_000));
            if exponent.starts_with('-') {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    Some((digits, exponent))
}

fn parse_decimal(text: &str) -> Option<f64> {
    let (digits, exponent) = split(text, |b| b.is_ascii_digit(), b'e', false)?;
    // Rust's parser is correctly rounded like Go's and accepts the same shapes once the
    // underscores are gone.
    format!("{digits}e{exponent}").parse().ok()
}

fn parse_hex(text: &str) -> Option<f64> {
    let (digits, exponent) = split(text, |b| b.is_ascii_hexdigit(), b'p', true)?;
    let mut mantissa: u64 = 0;
    let mut binary_exponent = exponent;
    let mut after_dot = false;
    for b in digits.bytes() {
        if b == b'.' {
            after_dot = true;
            continue;
        }
        let value = u64::from(char::from(b).to_digit(16)?);
        if mantissa >> 60 == 0 {
            mantissa = mantissa * 16 + value;
            if after_dot {
                binary_exponent -= 4;
            }
        } else if !after_dot {
            // Beyond 64 bits only the magnitude matters at f64 precision.
            binary_exponent += 4;
        }
    }
    let scale = i32::try_from(binary_exponent.clamp(-2_000, 2_000)).ok()?;
    Some(mantissa as f64 * 2_f64.powi(scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values come from Go 1.19's strconv.ParseFloat.
    #[test]
    fn parses_like_go() {
        let cases: &[(&str, Option<f64>)] = &[
            ("1e5", Some(1e5)),
            ("0x1F", None),
            ("1_000", Some(1000.0)),
            (".5", Some(0.5)),
            ("1.", Some(1.0)),
            ("08", Some(8.0)),
            ("0b12", None),
            ("0o7", None),
            ("1e", None),
            ("0x1p-2", Some(0.25)),
            ("1.5e+3", Some(1500.0)),
            ("-1_0", Some(-10.0)),
            ("1__0", None),
            ("1_", None),
            ("0x_1p0", Some(1.0)),
            ("017", Some(17.0)),
            ("1e400", None),
            ("-1e400", None),
            ("1e-400", Some(0.0)),
            ("0x1.8p1", Some(3.0)),
            ("0X1P1", Some(2.0)),
            ("1.5_0", Some(1.5)),
            ("0_1", Some(1.0)),
            ("0x", None),
            ("1e+", None),
            ("9007199254740993", Some(9_007_199_254_740_992.0)),
            ("-18", Some(-18.0)),
        ];
        for &(text, expected) in cases {
            assert_eq!(parse_go_float(text), expected, "{text}");
        }
    }

    #[test]
    fn equality_uses_absolute_and_relative_epsilon() {
        assert!(float_equal(0.01, 0.01));
        assert!(float_equal(0.01, 0.010_000_01));
        assert!(float_equal(1e6, 1e6 + 1e-7));
        assert!(!float_equal(1e10, 1e10 + 1.0));
        assert!(!float_equal(0.01, 0.010_000_1));
        assert!(!float_equal(0.0, 0.000_000_1));
        assert!(!float_equal(0.0, 1e-19));
        assert!(float_equal(0.1, 0.100_000_000_001));
        assert!(!float_equal(0.1, 0.100_001));
    }
}

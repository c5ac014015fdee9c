//! How values are written to and read from both backends alike: times as Unix microseconds,
//! text as both can store it, numbered placeholders for multi-row statements.

use time::OffsetDateTime;

use crate::StoreError;

/// Times are stored as Unix microseconds: both backends compare and index plain integers alike.
pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(micros: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|error| StoreError::unreadable(format!("stored time {micros} is out of range: {error}")))
}

/// Text as both backends can store it. PostgreSQL refuses NUL in `text` and in `jsonb`
/// strings; what a receiver sends may hold anything, so NUL is shown as U+FFFD, as invalid
/// UTF-8 already is.
pub(crate) fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// `rows` groups of `columns` numbered placeholders for a multi-row INSERT: `($1, $2), ($3, $4)`.
pub(crate) fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let numbers: Vec<String> = (1..=columns)
                .map(|column| format!("${}", row * columns + column))
                .collect();
            format!("({})", numbers.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_number_every_row() {
        assert_eq!(super::placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::placeholders(1, 1), "($1)");
    }
}

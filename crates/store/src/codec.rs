//! How values are written to and read from every backend alike: times as Unix microseconds,
//! text as all can store it, statements in each backend's form of the one dialect they are
//! written in, numbered placeholders for multi-row statements.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::{Query, QueryScalar};
use sqlx::{Any, AssertSqlSafe, FromRow};
use time::OffsetDateTime;

use crate::{Backend, StoreError};

/// A statement written once, with numbered placeholders `$1, $2, …`, in the form `backend`
/// takes ([`query`] and [`query_scalar`] make every statement of this crate with it). SQLite and PostgreSQL take it as written. MySQL binds `?` by position, so there each
/// placeholder must appear once and in order (checked on every backend in debug builds, so
/// every test run finds a statement that breaks the rule); and `key` and `rank`, column names
/// here (`rank` is Flagr's, read when adopting its database), are reserved words there (`rank`
/// since MySQL 8), so they are quoted. Keywords are written in capitals in this crate, so a
/// lowercase `key` or `rank` outside a string literal is always the column.
fn sql(backend: Backend, statement: impl AsRef<str>) -> AssertSqlSafe<String> {
    let statement = statement.as_ref();
    let mut out = String::with_capacity(statement.len());
    let mut chars = statement.char_indices().peekable();
    let mut next_placeholder = 1;
    let mut in_literal = false;
    while let Some((start, c)) = chars.next() {
        if in_literal || c == '\'' {
            in_literal ^= c == '\'';
            out.push(c);
        } else if c == '$' {
            let mut number = String::new();
            while let Some((_, digit)) = chars.next_if(|(_, c)| c.is_ascii_digit()) {
                number.push(digit);
            }
            debug_assert_eq!(
                number,
                next_placeholder.to_string(),
                "placeholders must appear once each, in order: {statement}"
            );
            next_placeholder += 1;
            if backend == Backend::Mysql {
                out.push('?');
            } else {
                out.push('$');
                out.push_str(&number);
            }
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut end = start + c.len_utf8();
            while let Some((index, c)) = chars.next_if(|(_, c)| c.is_ascii_alphanumeric() || *c == '_') {
                end = index + c.len_utf8();
            }
            let word = &statement[start..end];
            if backend == Backend::Mysql && (word == "key" || word == "rank") {
                out.push('`');
                out.push_str(word);
                out.push('`');
            } else {
                out.push_str(word);
            }
        } else {
            out.push(c);
        }
    }
    AssertSqlSafe(out)
}

/// `sqlx::query` of [`sql`]`(backend, statement)`: how every statement of this crate is made
/// (sqlx's own is disallowed here, see clippy.toml).
#[allow(clippy::disallowed_methods)]
pub(crate) fn query(backend: Backend, statement: impl AsRef<str>) -> Query<'static, Any, AnyArguments> {
    sqlx::query(sql(backend, statement))
}

/// `sqlx::query_scalar` of [`sql`]`(backend, statement)`.
#[allow(clippy::disallowed_methods)]
pub(crate) fn query_scalar<O>(
    backend: Backend,
    statement: impl AsRef<str>,
) -> QueryScalar<'static, Any, O, AnyArguments>
where
    (O,): for<'r> FromRow<'r, AnyRow>,
{
    sqlx::query_scalar(sql(backend, statement))
}

/// Times are stored as Unix microseconds: every backend compares and indexes plain integers alike.
pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(micros: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|error| StoreError::unreadable(format!("stored time {micros} is out of range: {error}")))
}

/// Text as every backend can store it. PostgreSQL refuses NUL in `text` and in `jsonb`
/// strings; what a receiver sends may hold anything, so NUL is shown as U+FFFD, as invalid
/// UTF-8 already is.
pub(crate) fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The type of a column of [`json_rows`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field {
    Text,
    Integer,
}

/// A JSON array of objects, bound as the one parameter `$1`, read as a table named `batch`
/// whose columns are the objects' `fields`: many rows in one fixed statement. SQLite's
/// jsonb_each hands out each row in binary form, so reading its fields does not parse text
/// again; MySQL reads the array with JSON_TABLE.
pub(crate) fn json_rows(backend: Backend, fields: &[(&str, Field)]) -> String {
    let columns = |column: fn(&str, Field) -> String| -> String {
        let columns: Vec<String> = fields.iter().map(|(name, field)| column(name, *field)).collect();
        columns.join(", ")
    };
    let extracted = || {
        columns(|name, field| match field {
            Field::Text => format!("value ->> '{name}' AS {name}"),
            Field::Integer => format!("CAST(value ->> '{name}' AS BIGINT) AS {name}"),
        })
    };
    match backend {
        Backend::Sqlite => format!("(SELECT {} FROM jsonb_each($1)) AS batch", extracted()),
        Backend::Postgres => format!(
            "(SELECT {} FROM jsonb_array_elements($1::jsonb) AS elements(value)) AS batch",
            extracted()
        ),
        Backend::Mysql => {
            let columns = columns(|name, field| match field {
                Field::Text => format!("{name} LONGTEXT PATH '$.{name}'"),
                Field::Integer => format!("{name} BIGINT PATH '$.{name}'"),
            });
            format!("JSON_TABLE($1, '$[*]' COLUMNS ({columns})) AS batch")
        }
    }
}

/// `UPDATE table SET … FROM rows WHERE on`, in the backend's form: MySQL joins instead, and
/// names the table in each assignment, as the rows may have columns of the same names.
pub(crate) fn update_from(backend: Backend, table: &str, assignments: &[(&str, &str)], rows: &str, on: &str) -> String {
    if backend == Backend::Mysql {
        let assignments: Vec<String> = assignments
            .iter()
            .map(|(column, value)| format!("{table}.{column} = {value}"))
            .collect();
        return format!("UPDATE {table} JOIN {rows} ON {on} SET {}", assignments.join(", "));
    }
    let assignments: Vec<String> = assignments
        .iter()
        .map(|(column, value)| format!("{column} = {value}"))
        .collect();
    format!("UPDATE {table} SET {} FROM {rows} WHERE {on}", assignments.join(", "))
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
    use crate::Backend;

    #[test]
    fn mysql_takes_question_marks_and_a_quoted_key() {
        let statement = "SELECT id FROM bunting_flags WHERE key = $1 AND value LIKE '$2 key' AND x = $2";
        assert_eq!(
            super::sql(Backend::Mysql, statement).0,
            "SELECT id FROM bunting_flags WHERE `key` = ? AND value LIKE '$2 key' AND x = ?"
        );
        assert_eq!(super::sql(Backend::Postgres, statement).0, statement);
        assert_eq!(
            super::sql(Backend::Mysql, "SELECT monkey, key_x FROM t WHERE w.key = $1").0,
            "SELECT monkey, key_x FROM t WHERE w.`key` = ?"
        );
        assert_eq!(
            super::sql(Backend::Mysql, "SELECT rank, ranks FROM segments ORDER BY rank, id").0,
            "SELECT `rank`, ranks FROM segments ORDER BY `rank`, id"
        );
    }

    #[test]
    #[should_panic(expected = "placeholders must appear once each, in order")]
    fn a_repeated_placeholder_is_caught() {
        super::sql(Backend::Sqlite, "SELECT $1 WHERE $1 IS NULL");
    }

    #[test]
    fn placeholders_number_every_row() {
        assert_eq!(super::placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::placeholders(1, 1), "($1)");
    }
}

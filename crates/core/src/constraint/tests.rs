//! The constraint language end to end: what compiles (Flagr's write rules) and how each
//! operator evaluates, with hand-written contexts.
//!
//! Must not touch: segments and flags (those are the evaluation engine's tests).

use serde_json::{Map, Value, json};

use super::*;

fn context(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Compiles `property operator value` and evaluates it against `ctx`.
fn eval(property: &str, operator: &str, value: &str, ctx: Value) -> Result<bool, MatchError> {
    compile(property, operator, value)
        .unwrap_or_else(|error| panic!("{property} {operator} {value}: {error}"))
        .matches(&context(ctx))
}

#[test]
fn seed_values_compile() {
    for (operator, value) in [
        ("EREG", r#"".+@company\\.com""#),
        ("EREG", r#"".+@company\.com""#),
        ("EREG", r#""^\\+1[0-9]{10}$""#),
        ("EREG", r#""^\+1[0-9]{10}$""#),
        ("EREG", r#""^/admin""#),
        ("IN", r#"["10.0.0.0/8","192.168.0.0/16"]"#),
        ("EQ", r#""CA""#),
        ("GT", "18"),
    ] {
        assert!(compile("prop", operator, value).is_ok(), "{operator} {value}");
    }
}

#[test]
fn rejects_what_flagr_rejects() {
    assert_eq!(
        compile("state", "EQ", "CA").unwrap_err(),
        ConstraintError::UnquotedString("CA".into())
    );
    assert_eq!(
        compile("state", "LIKE", r#""CA""#).unwrap_err(),
        ConstraintError::UnsupportedOperator("LIKE".into())
    );
    assert_eq!(
        compile("state", "LIKE", r#""CA""#).unwrap_err().to_string(),
        "not supported operator: LIKE"
    );
    assert!(matches!(compile("", "EQ", "1"), Err(ConstraintError::Empty { .. })));
    for (operator, value) in [
        ("EQ", "'CA'"),
        ("EQ", "   "),
        ("EQ", r#""CA"#),
        ("IN", "[]"),
        ("IN", r#"["a", 1]"#),
        ("IN", "[true]"),
        ("IN", "['a']"),
        ("GT", "1e400"),
        ("GT", "0x10"),
        ("EQ", "1 2"),
        ("EQ", r#""a" OR"#),
        ("EREG", "^abc"),
        ("EREG", r#""say \"hi\"""#),
        ("EQ", "NOT"),
    ] {
        assert!(
            compile("p", operator, value).is_err(),
            "{operator} {value} should be rejected"
        );
    }
    assert!(matches!(
        compile("a b", "EQ", "1"),
        Err(ConstraintError::InvalidProperty(_))
    ));
}

#[test]
fn accepts_what_flagr_accepts() {
    for (operator, value) in [
        ("EQ", "  \"CA\"\n"),
        ("EQ", "TRUE"),
        ("EQ", "fAlSe"),
        ("EQ", "-3"),
        ("EQ", "4.5"),
        ("EQ", "1_000"),
        ("EQ", r#""\d""#),
        ("EREG", "/^[a-z]+$/"),
        // The expression ends at the first non-operator; the rest is ignored.
        ("EQ", r#""CA") "ignored""#),
        ("EQ", r#""CA") OR ({other} == 1"#),
        ("IN", "[1,2,3]"),
        ("NOTIN", r#"["a"]"#),
        ("CONTAINS", r#""x""#),
        // Type errors surface only at evaluation (`check` warns about them).
        ("IN", r#""not an array""#),
        ("EQ", r#"["a"]"#),
    ] {
        assert!(
            compile("p", operator, value).is_ok(),
            "{operator} {value} should be accepted"
        );
    }
}

#[test]
fn eq_and_neq_need_matching_types() {
    assert_eq!(eval("state", "EQ", r#""CA""#, json!({"state": "CA"})), Ok(true));
    assert_eq!(eval("state", "EQ", r#""CA""#, json!({"state": "NY"})), Ok(false));
    assert_eq!(eval("age", "EQ", "18", json!({"age": 18})), Ok(true));
    assert_eq!(eval("ok", "EQ", "true", json!({"ok": true})), Ok(true));
    assert_eq!(
        eval("age", "EQ", r#""18""#, json!({"age": 18})),
        Err(MatchError::TypeMismatch)
    );
    assert_eq!(eval("state", "NEQ", r#""CA""#, json!({"state": "NY"})), Ok(true));
    assert_eq!(eval("state", "NEQ", r#""CA""#, json!({"state": "CA"})), Ok(false));
    // Negated operators fail where the positive ones fail: no coercion, no "not equal".
    assert_eq!(
        eval("state", "NEQ", r#""CA""#, json!({"state": 1})),
        Err(MatchError::TypeMismatch)
    );
    assert_eq!(eval("state", "NEQ", r#""CA""#, json!({})), Err(MatchError::Missing));
    assert_eq!(
        eval("state", "NEQ", r#""CA""#, json!({"state": null})),
        Err(MatchError::Null)
    );
}

#[test]
fn number_equality_uses_epsilon() {
    assert_eq!(eval("x", "EQ", "0.1", json!({"x": 0.100_000_000_001})), Ok(true));
    assert_eq!(eval("x", "EQ", "0.1", json!({"x": 0.100_001})), Ok(false));
    assert_eq!(eval("x", "GTE", "0.1", json!({"x": 0.099_999_999_999})), Ok(true));
    assert_eq!(eval("x", "LTE", "0.1", json!({"x": 0.100_000_000_001})), Ok(true));
}

#[test]
fn ordering_needs_numbers() {
    assert_eq!(eval("age", "GT", "18", json!({"age": 19})), Ok(true));
    assert_eq!(eval("age", "GT", "18", json!({"age": 18})), Ok(false));
    assert_eq!(eval("age", "GTE", "18", json!({"age": 18})), Ok(true));
    assert_eq!(eval("age", "LT", "18", json!({"age": 17.5})), Ok(true));
    assert_eq!(eval("age", "LTE", "-1", json!({"age": -2})), Ok(true));
    assert_eq!(
        eval("age", "GT", "18", json!({"age": "19"})),
        Err(MatchError::TypeMismatch)
    );
    assert_eq!(
        eval("age", "LT", r#""5""#, json!({"age": 4})),
        Err(MatchError::TypeMismatch)
    );
}

#[test]
fn regex_is_unanchored_go_syntax() {
    let email = r#"".+@company\.com""#;
    assert_eq!(
        eval("email", "EREG", email, json!({"email": "a@company.com"})),
        Ok(true)
    );
    assert_eq!(
        eval("email", "EREG", email, json!({"email": "a@companyxcom"})),
        Ok(false)
    );
    assert_eq!(eval("email", "NEREG", email, json!({"email": "a@other.org"})), Ok(true));
    assert_eq!(
        eval("path", "EREG", r#""^/admin""#, json!({"path": "/admin/x"})),
        Ok(true)
    );
    assert_eq!(
        eval("path", "EREG", r#""^/admin""#, json!({"path": "/home"})),
        Ok(false)
    );
    assert_eq!(eval("code", "EREG", r#""\d""#, json!({"code": "ab3"})), Ok(true));
    assert_eq!(eval("code", "EREG", "/^5\\d\\d$/", json!({"code": "503"})), Ok(true));
    assert_eq!(
        eval("code", "EREG", r#""\d""#, json!({"code": 3})),
        Err(MatchError::TypeMismatch)
    );
    assert_eq!(
        eval("code", "NEREG", r#""\d""#, json!({"code": 3})),
        Err(MatchError::TypeMismatch)
    );
}

#[test]
fn a_regex_that_does_not_compile_is_refused_on_write() {
    for (operator, value) in [("EREG", r#""(""#), ("NEREG", r#""a**""#), ("EREG", "/[z-a]/")] {
        assert!(
            matches!(
                compile("code", operator, value),
                Err(ConstraintError::InvalidRegex { .. })
            ),
            "{operator} {value}"
        );
    }
    assert_eq!(
        compile("code", "EREG", r#""(""#).unwrap_err().to_string(),
        r#"invalid regular expression "(": unclosed group"#
    );
}

#[test]
fn a_stored_regex_that_does_not_compile_never_matches() {
    // Stored before writes refused it: the segment still compiles and the constraint fails.
    let stored = [Constraint {
        id: 1,
        property: "code".into(),
        operator: "EREG".into(),
        value: r#""(""#.into(),
    }];
    let all = compile_all(&stored, &mut RegexCache::default()).unwrap();
    assert_eq!(
        all.matches(&context(json!({"code": "("}))),
        Err(MatchError::InvalidRegex)
    );
}

#[test]
fn in_needs_a_list_of_the_same_kind() {
    let cidrs = r#"["10.0.0.0/8","192.168.0.0/16"]"#;
    assert_eq!(eval("net", "IN", cidrs, json!({"net": "10.0.0.0/8"})), Ok(true));
    assert_eq!(eval("net", "IN", cidrs, json!({"net": "10.0.0.1"})), Ok(false));
    assert_eq!(eval("net", "NOTIN", cidrs, json!({"net": "10.0.0.1"})), Ok(true));
    assert_eq!(eval("n", "IN", "[1, 2.5]", json!({"n": 2.5})), Ok(true));
    assert_eq!(eval("n", "NOTIN", "[1, 2.5]", json!({"n": 3})), Ok(true));
    assert_eq!(
        eval("n", "IN", "[1, 2]", json!({"n": "1"})),
        Err(MatchError::TypeMismatch)
    );
    assert_eq!(
        eval("n", "NOTIN", r#"["1"]"#, json!({"n": 1})),
        Err(MatchError::TypeMismatch)
    );
    assert_eq!(
        eval("n", "IN", r#"["true"]"#, json!({"n": true})),
        Err(MatchError::TypeMismatch)
    );
    // JSON escapes in the list are decoded, unlike in string literals.
    assert_eq!(eval("s", "IN", r#"["a\"b"]"#, json!({"s": "a\"b"})), Ok(true));
}

#[test]
fn contains_is_array_membership() {
    let tags = json!({"tags": ["beta", "vip"], "ids": [1, 2], "name": "beta-user"});
    assert_eq!(eval("tags", "CONTAINS", r#""vip""#, tags.clone()), Ok(true));
    assert_eq!(eval("tags", "CONTAINS", r#""alpha""#, tags.clone()), Ok(false));
    assert_eq!(eval("tags", "NOTCONTAINS", r#""alpha""#, tags.clone()), Ok(true));
    assert_eq!(eval("ids", "CONTAINS", "2", tags.clone()), Ok(true));
    assert_eq!(
        eval("name", "CONTAINS", r#""beta""#, tags.clone()),
        Err(MatchError::TypeMismatch),
        "not a substring test"
    );
    assert_eq!(
        eval("ids", "NOTCONTAINS", r#""1""#, tags),
        Err(MatchError::TypeMismatch)
    );
    assert_eq!(
        eval("tags", "NOTCONTAINS", r#""x""#, json!({"tags": []})),
        Err(MatchError::EmptyArray)
    );
    assert_eq!(
        eval("tags", "CONTAINS", r#""x""#, json!({"tags": ["x", 1]})),
        Err(MatchError::MixedArray)
    );
    assert_eq!(
        eval("tags", "CONTAINS", r#""x""#, json!({"tags": [true]})),
        Err(MatchError::UnsupportedValue)
    );
}

#[test]
fn properties_are_nested_paths() {
    let ctx = json!({
        "user": {"address": {"state": "CA"}, "roles": ["admin", "dev"]},
        "@ts_hour": 13,
        "user.flat": "not a path target",
        "my-prop": "x"
    });
    assert_eq!(eval("user.address.state", "EQ", r#""CA""#, ctx.clone()), Ok(true));
    assert_eq!(eval("user.roles[0]", "EQ", r#""admin""#, ctx.clone()), Ok(true));
    assert_eq!(eval("user.roles[-1]", "EQ", r#""dev""#, ctx.clone()), Ok(true));
    assert_eq!(eval("@ts_hour", "GTE", "12", ctx.clone()), Ok(true));
    assert_eq!(eval("my-prop", "EQ", r#""x""#, ctx.clone()), Ok(true));
    assert_eq!(
        eval("user.roles[2]", "EQ", r#""x""#, ctx.clone()),
        Err(MatchError::IndexOutOfBounds)
    );
    assert_eq!(
        eval("user.flat", "EQ", r#""not a path target""#, ctx.clone()),
        Err(MatchError::Missing)
    );
    assert_eq!(
        eval("user.address", "EQ", r#""CA""#, ctx),
        Err(MatchError::UnsupportedValue)
    );
}

#[test]
fn string_literals_keep_escapes_verbatim() {
    // The library takes the text between the quotes as is: `\"` stays two characters.
    assert_eq!(eval("s", "EQ", r#""a\"b""#, json!({"s": "a\\\"b"})), Ok(true));
    assert_eq!(eval("s", "EQ", r#""\d""#, json!({"s": "\\d"})), Ok(true));
    assert_eq!(eval("s", "EQ", r#""\n""#, json!({"s": "\n"})), Ok(false));
}

#[test]
fn segment_constraints_are_anded_in_order() {
    let constraint = |id, property: &str, operator: &str, value: &str| Constraint {
        id,
        property: property.into(),
        operator: operator.into(),
        value: value.into(),
    };
    let constraints = [
        constraint(1, "state", "EQ", r#""CA""#),
        constraint(2, "age", "GT", "18"),
    ];
    let all = compile_all(&constraints, &mut RegexCache::default()).unwrap();
    assert_eq!(all.matches(&context(json!({"state": "CA", "age": 19}))), Ok(true));
    assert_eq!(all.matches(&context(json!({"state": "CA", "age": 18}))), Ok(false));
    // The first false short-circuits, so a missing later property is not an error.
    assert_eq!(all.matches(&context(json!({"state": "NY"}))), Ok(false));
    assert_eq!(all.matches(&context(json!({"state": "CA"}))), Err(MatchError::Missing));
    assert_eq!(all.to_string(), r#"(state == "CA") AND (age > 18.000)"#);
}

#[test]
fn prints_like_the_library() {
    let printed = |property: &str, operator: &str, value: &str| compile(property, operator, value).unwrap().to_string();
    assert_eq!(printed("state", "EQ", r#""CA""#), r#"(state == "CA")"#);
    assert_eq!(printed("@ts", "GT", "1.5"), r#"("@ts" > 1.500)"#);
    assert_eq!(printed("tags", "NOTCONTAINS", r#""x""#), r#"(tags NOT CONTAINS "x")"#);
    assert_eq!(printed("s", "IN", r#"["a", "b c"]"#), "(s IN [a b c])");
    assert_eq!(printed("n", "IN", "[1, 1e6]"), "(n IN [1 1e+06])");
    assert_eq!(printed("e", "EREG", r#""^a\.b$""#), r#"(e =~ "^a\\.b$")"#);
}

#[test]
fn values_can_reach_other_properties_like_in_flagr() {
    let c = compile("a", "EQ", "{b}").unwrap();
    assert_eq!(c.matches(&context(json!({"a": 1, "b": 1}))), Ok(true));
    let injected = compile("a", "EQ", r#"1) OR ({b} == 2"#).unwrap();
    assert_eq!(injected.matches(&context(json!({"a": 0, "b": 2}))), Ok(true));
}

/// `check` on one constraint, with a fresh regex cache.
fn problem(property: &str, operator: &str, value: &str) -> Option<Problem> {
    check(property, operator, value, &mut RegexCache::default())
}

#[test]
fn check_finds_constraints_that_can_never_match() {
    for (operator, value, message) in [
        (
            "IN",
            r#""DE""#,
            r#"IN needs a JSON list of strings or of numbers, such as ["a","b"] or [1,2], but the value is a string"#,
        ),
        (
            "NOTIN",
            "5",
            "NOTIN needs a JSON list of strings or of numbers, such as [\"a\",\"b\"] or [1,2], but the value is a number",
        ),
        (
            "GT",
            r#""abc""#,
            "GT compares numbers (with a number in the context), but the value is a string",
        ),
        (
            "LTE",
            "true",
            "LTE compares numbers (with a number in the context), but the value is a boolean",
        ),
        (
            "EQ",
            r#"["a"]"#,
            "EQ compares a string, number or boolean with a context value of the same kind, but the value is a list of strings",
        ),
        (
            "NEQ",
            "[1]",
            "NEQ compares a string, number or boolean with a context value of the same kind, but the value is a list of numbers",
        ),
        (
            "CONTAINS",
            r#"["a"]"#,
            "CONTAINS needs one string or number to look for in a list in the context, but the value is a list of strings",
        ),
        (
            "NOTCONTAINS",
            "false",
            "NOTCONTAINS needs one string or number to look for in a list in the context, but the value is a boolean",
        ),
        (
            "EREG",
            "5",
            "EREG needs a regular expression in double quotes, but the value is a number",
        ),
    ] {
        assert_eq!(
            problem("p", operator, value),
            Some(Problem::NeverMatches(message.to_owned())),
            "{operator} {value}"
        );
        // The check agrees with evaluation: every kind of context value fails.
        let compiled = compile("p", operator, value).unwrap();
        for context_value in [json!("DE"), json!(5), json!(true), json!(["a"]), json!([1])] {
            assert!(compiled.matches(&context(json!({"p": context_value}))).is_err());
        }
    }
}

#[test]
fn check_passes_constraints_that_can_match() {
    for (operator, value) in [
        ("EQ", r#""CA""#),
        ("EQ", "true"),
        ("NEQ", "5"),
        ("GT", "18"),
        ("IN", r#"["a","b"]"#),
        ("NOTIN", "[1,2]"),
        ("CONTAINS", r#""a""#),
        ("NOTCONTAINS", "1"),
        ("EREG", r#""^a""#),
        ("IN", "{other}"),
        ("EQ", r#"1) OR ({b} == 2"#),
    ] {
        assert_eq!(problem("p", operator, value), None, "{operator} {value}");
    }
}

#[test]
fn check_reports_what_does_not_compile() {
    assert!(matches!(
        problem("p", "EREG", r#""(""#),
        Some(Problem::Invalid(ConstraintError::InvalidRegex { .. }))
    ));
    assert_eq!(
        problem("p", "EQ", "CA"),
        Some(Problem::Invalid(ConstraintError::UnquotedString("CA".into())))
    );
    assert_eq!(
        problem("p", "IN", r#""DE""#).unwrap().to_string(),
        r#"can never match: IN needs a JSON list of strings or of numbers, such as ["a","b"] or [1,2], but the value is a string"#
    );
}

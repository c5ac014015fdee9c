//! Reading request input the way Flagr's generated server validates it: path ids, query
//! parameters and JSON bodies, with go-openapi's status codes and messages (`... in body is
//! required`, `... in path should be greater than or equal to 1`) so that clients see the same
//! errors, and a message that says what to fix. A body that does not decode (malformed JSON, a
//! value of the wrong type) is a 400 parse error; a decoded body that breaks the schema is 422.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, RawPathParams, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::error::{ApiError, code};

/// The JSON type name go-openapi prints in type errors.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Path parameters that are UUIDs, not Flagr's integer ids.
const TEXT_PARAMS: &[&str] = &["deliveryID"];

/// The path's ids, each checked as Flagr's int64 with minimum 1 (and the UUIDs of
/// [`TEXT_PARAMS`], kept as text).
pub(crate) struct PathIds {
    ids: Vec<(String, i64)>,
    texts: Vec<(String, String)>,
}

impl PathIds {
    /// The id named `name` in the route; routes only ask for names they declare.
    pub(crate) fn get(&self, name: &str) -> i64 {
        self.ids
            .iter()
            .find(|(param, _)| param == name)
            .map_or(0, |(_, id)| *id)
    }

    /// A text parameter of the route (one of [`TEXT_PARAMS`]).
    pub(crate) fn text(&self, name: &str) -> &str {
        self.texts
            .iter()
            .find(|(param, _)| param == name)
            .map_or("", |(_, text)| text)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|error| ApiError::Internal(format!("path parameters: {error}")))?;
        let mut ids = Vec::new();
        let mut texts = Vec::new();
        for (name, raw) in &params {
            if TEXT_PARAMS.contains(&name) {
                refuse_nul(name, "path", raw)?;
                texts.push((name.to_owned(), raw.to_owned()));
                continue;
            }
            let id: i64 = raw.parse().map_err(|_| {
                ApiError::validation(
                    code::INVALID_TYPE,
                    format!("{name} in path must be of type int64: \"{raw}\""),
                )
            })?;
            if id < 1 {
                return Err(ApiError::validation(
                    code::MIN,
                    format!("{name} in path should be greater than or equal to 1"),
                ));
            }
            ids.push((name.to_owned(), id));
        }
        Ok(PathIds { ids, texts })
    }
}

/// Query parameters, parsed on demand with typed errors.
pub(crate) struct QueryParams(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(params) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|error| ApiError::validation(code::INVALID_TYPE, format!("query string is not valid: {error}")))?;
        for (name, value) in &params {
            refuse_nul(name, "query", value)?;
        }
        Ok(QueryParams(params))
    }
}

impl QueryParams {
    pub(crate) fn string(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.string(name)
            .map(|raw| match raw {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(ApiError::validation(
                    code::INVALID_TYPE,
                    format!("{name} in query must be of type boolean: \"{raw}\""),
                )),
            })
            .transpose()
    }

    /// A positive int64 naming an object (`flag_id`).
    pub(crate) fn id(&self, name: &str) -> Result<Option<i64>, ApiError> {
        let id = self.count(name)?;
        if id == Some(0) {
            return Err(ApiError::validation(
                code::MIN,
                format!("{name} in query should be greater than or equal to 1"),
            ));
        }
        Ok(id)
    }

    /// A non-negative int64 (`limit`, `offset`).
    pub(crate) fn count(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.string(name)
            .map(|raw| {
                let value: i64 = raw.parse().map_err(|_| {
                    ApiError::validation(
                        code::INVALID_TYPE,
                        format!("{name} in query must be of type int64: \"{raw}\""),
                    )
                })?;
                if value < 0 {
                    return Err(ApiError::validation(
                        code::MIN,
                        format!("{name} in query should be greater than or equal to 0"),
                    ));
                }
                Ok(value)
            })
            .transpose()
    }
}

/// A JSON request body, read as a generic JSON value or straight into a typed request (the hot
/// evaluation path skips the intermediate value). An empty body is kept as `None` so that routes
/// with an optional body (duplicate) can accept it and routes with a required one can say so.
/// Malformed JSON is a 400; JSON that does not fit the typed request is a 422.
pub(crate) struct JsonBody<T = Value>(pub(crate) Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            let status = rejection.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "request body is too large; send at most the configured BUNTING_MAX_BODY_BYTES".to_owned()
            } else {
                format!("cannot read request body: {rejection}")
            };
            ApiError::Framework { status, message }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(None));
        }
        let value = serde_json::from_slice(&bytes).map_err(|error| {
            if error.is_data() {
                ApiError::validation(code::INVALID_TYPE, format!("body in body is not valid: {error}"))
            } else {
                ApiError::Framework {
                    status: StatusCode::BAD_REQUEST,
                    message: format!("parsing body body from \"\" failed, because {error}"),
                }
            }
        })?;
        Ok(JsonBody(Some(value)))
    }
}

/// A typed request that must be a JSON object. serde's derived structs also accept an array of
/// their fields in order, which would let `[null, null]` pass for a request; this refuses it.
pub(crate) struct JsonObject<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for JsonObject<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = JsonObject<T>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("an object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(JsonObject)
            }
        }

        deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData))
    }
}

impl JsonBody {
    /// The body, which must be present and not `null`.
    pub(crate) fn required_value(self) -> Result<Value, ApiError> {
        match self.0 {
            None | Some(Value::Null) => Err(ApiError::validation(code::REQUIRED, "body in body is required")),
            Some(value) => Ok(value),
        }
    }

    /// The body as an object; a missing or `null` body is a missing required body.
    pub(crate) fn required(self) -> Result<Object, ApiError> {
        Object::from_body(self.required_value()?)
    }

    /// The body as an object; a missing or `null` body counts as `{}`.
    pub(crate) fn optional(self) -> Result<Object, ApiError> {
        match self.0 {
            None | Some(Value::Null) => Ok(Object {
                fields: Map::new(),
                path: String::new(),
            }),
            Some(value) => Object::from_body(value),
        }
    }
}

/// A JSON object read field by field. `null` counts as absent, as in go-swagger's nullable fields.
/// Errors name fields by their path in the body (`distributions.0.percent`), as go-openapi does.
pub(crate) struct Object {
    fields: Map<String, Value>,
    /// The path of this object in the body, with a trailing dot; empty for the body itself.
    path: String,
}

impl Object {
    /// A body already read as JSON, which must be an object.
    pub(crate) fn from_body(value: Value) -> Result<Object, ApiError> {
        match value {
            Value::Object(fields) => Ok(Object {
                fields,
                path: String::new(),
            }),
            other => Err(wrong_type("body", "object", &other)),
        }
    }

    /// The checked object as a JSON value again, to deserialize into a typed request without
    /// copying it.
    pub(crate) fn into_value(self) -> Value {
        Value::Object(self.fields)
    }

    fn name(&self, field: &str) -> String {
        format!("{}{field}", self.path)
    }

    fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name).filter(|value| !value.is_null())
    }

    fn required_field(&self, name: &str) -> Result<&Value, ApiError> {
        self.field(name)
            .ok_or_else(|| ApiError::validation(code::REQUIRED, format!("{} in body is required", self.name(name))))
    }

    /// The field as the type `expected` names, read by `read`; `None` when absent.
    fn typed<'a, T>(
        &'a self,
        name: &str,
        expected: &str,
        read: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<Option<T>, ApiError> {
        self.field(name)
            .map(|value| read(value).ok_or_else(|| wrong_type(&self.name(name), expected, value)))
            .transpose()
    }

    fn required<'a, T>(
        &'a self,
        name: &str,
        expected: &str,
        read: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<T, ApiError> {
        let value = self.required_field(name)?;
        read(value).ok_or_else(|| wrong_type(&self.name(name), expected, value))
    }

    pub(crate) fn optional_string(&self, name: &str) -> Result<Option<String>, ApiError> {
        let text = self.typed(name, "string", Value::as_str)?;
        text.map(|text| refuse_nul(&self.name(name), "body", text).map(str::to_owned))
            .transpose()
    }

    /// A required string of at least `min_length` characters.
    pub(crate) fn string(&self, name: &str, min_length: usize) -> Result<String, ApiError> {
        let text = self.required(name, "string", Value::as_str)?;
        refuse_nul(&self.name(name), "body", text)?;
        check_min_length(&self.name(name), text, min_length)?;
        Ok(text.to_owned())
    }

    /// An optional string that, when present, has at least `min_length` characters.
    pub(crate) fn optional_nonempty_string(&self, name: &str, min_length: usize) -> Result<Option<String>, ApiError> {
        let text = self.optional_string(name)?;
        if let Some(text) = &text {
            check_min_length(&self.name(name), text, min_length)?;
        }
        Ok(text)
    }

    pub(crate) fn optional_bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.typed(name, "boolean", Value::as_bool)
    }

    pub(crate) fn bool(&self, name: &str) -> Result<bool, ApiError> {
        self.required(name, "boolean", Value::as_bool)
    }

    /// A required integer within `min..=max`.
    pub(crate) fn integer(&self, name: &str, min: i64, max: i64) -> Result<i64, ApiError> {
        integer_in(&self.name(name), self.required_field(name)?, min, max)
    }

    /// An optional integer within `min..=max`.
    pub(crate) fn optional_integer(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        self.field(name)
            .map(|value| integer_in(&self.name(name), value, min, max))
            .transpose()
    }

    pub(crate) fn optional_object(&self, name: &str) -> Result<Option<Map<String, Value>>, ApiError> {
        self.typed(name, "object", |value| value.as_object().cloned())
    }

    /// A required array with at least `min_items` items.
    pub(crate) fn array(&self, name: &str, min_items: usize) -> Result<&Vec<Value>, ApiError> {
        let items = self.required(name, "array", Value::as_array)?;
        if items.len() < min_items {
            return Err(ApiError::validation(
                code::MIN_ITEMS,
                format!("{} in body should have at least {min_items} items", self.name(name)),
            ));
        }
        Ok(items)
    }

    /// A list of strings, given as a JSON array or as one comma-separated string.
    pub(crate) fn strings(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        let Some(value) = self.field(name) else { return Ok(None) };
        let wrong = || wrong_type(&self.name(name), "array of strings", value);
        let texts: Vec<&str> = match value {
            Value::String(text) => vec![text],
            Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().ok_or_else(wrong))
                .collect::<Result<_, _>>()?,
            _ => return Err(wrong()),
        };
        texts
            .into_iter()
            .map(|text| refuse_nul(&self.name(name), "body", text).map(str::to_owned))
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// Refuses fields outside `known`, naming them, so a misspelt field is not silently ignored.
    /// (Flagr's own routes ignore unknown fields; this is for Bunting's extensions.)
    pub(crate) fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        let unknown: Vec<&str> = self
            .fields
            .keys()
            .map(String::as_str)
            .filter(|field| !known.contains(field))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(ApiError::BadRequest(format!(
            "unknown fields: {}; this object takes {}",
            unknown.join(", "),
            known.join(", ")
        )))
    }

    /// Whether the field is present with an explicit `null`.
    pub(crate) fn is_null(&self, name: &str) -> bool {
        self.fields.get(name).is_some_and(Value::is_null)
    }

    /// An optional array that, when present, has at least `min_items` items.
    pub(crate) fn optional_array(&self, name: &str, min_items: usize) -> Result<Option<&Vec<Value>>, ApiError> {
        if self.field(name).is_none() {
            return Ok(None);
        }
        self.array(name, min_items).map(Some)
    }

    /// The objects of an array field, each readable like the body.
    pub(crate) fn objects(&self, name: &str) -> Result<Vec<Object>, ApiError> {
        self.array(name, 0)?
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let path = format!("{}.{index}", self.name(name));
                match item {
                    Value::Object(fields) => Ok(Object {
                        fields: fields.clone(),
                        path: format!("{path}."),
                    }),
                    other => Err(wrong_type(&path, "object", other)),
                }
            })
            .collect()
    }
}

/// A body value of the wrong JSON type. Flagr's generated server decodes the body into typed
/// structs before validating it, so a wrong type fails the decoding: go-openapi's parse error,
/// 400 (validation errors such as a missing field or a value out of range stay 422).
fn wrong_type(name: &str, expected: &str, value: &Value) -> ApiError {
    ApiError::Framework {
        status: StatusCode::BAD_REQUEST,
        message: format!(
            "parsing body body from \"\" failed, because {name} in body must be of type {expected}: \"{}\"",
            type_name(value)
        ),
    }
}

/// Refuses text holding NUL (`\u0000`). PostgreSQL cannot store it in text, and every backend
/// must give the same answer, so no text that is stored or used as a filter may hold it.
fn refuse_nul<'a>(name: &str, place: &str, text: &'a str) -> Result<&'a str, ApiError> {
    if text.contains('\0') {
        return Err(ApiError::BadRequest(format!(
            "{name} in {place} must not contain the NUL character (\\u0000)"
        )));
    }
    Ok(text)
}

fn check_min_length(name: &str, text: &str, min_length: usize) -> Result<(), ApiError> {
    if text.chars().count() < min_length {
        return Err(ApiError::validation(
            code::TOO_SHORT,
            format!("{name} in body should be at least {min_length} chars long"),
        ));
    }
    Ok(())
}

/// An integer field within `min..=max`; `name` is as it should appear in the message.
pub(crate) fn integer_in(name: &str, value: &Value, min: i64, max: i64) -> Result<i64, ApiError> {
    let number = value.as_i64().ok_or_else(|| wrong_type(name, "integer", value))?;
    if number < min {
        return Err(ApiError::validation(
            code::MIN,
            format!("{name} in body should be greater than or equal to {min}"),
        ));
    }
    if number > max {
        return Err(ApiError::validation(
            code::MAX,
            format!("{name} in body should be less than or equal to {max}"),
        ));
    }
    Ok(number)
}

/// Checks a value against an enum, with go-openapi's message.
pub(crate) fn one_of(name: &str, value: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(ApiError::validation(
        code::ENUM,
        format!("{name} in query should be one of {allowed:?}"),
    ))
}

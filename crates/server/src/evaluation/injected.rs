//! Flagr's built-in context (`FLAGR_INJECTED_CONTEXT_ENABLED`): time keys and chosen request
//! headers added to the entity context before evaluation, so constraints can target them
//! (`@ts_hour GTE 9`, `@http_x_environment EQ "staging"`). Injected keys overwrite the client's
//! and are echoed back in the result, as in Flagr.

use axum::http::HeaderMap;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::config::InjectedContext;

impl InjectedContext {
    /// Adds the time keys and, when `headers` are given, the header keys to `context`. A
    /// context that is not an object becomes `{}` first.
    pub(crate) fn inject(&self, context: &mut Option<Value>, now: OffsetDateTime, headers: Option<&HeaderMap>) {
        if !matches!(context, Some(Value::Object(_))) {
            *context = Some(Value::Object(Map::new()));
        }
        let Some(Value::Object(map)) = context else { return };
        let now = now.to_offset(time::UtcOffset::UTC);
        map.insert("@ts".into(), Value::from(now.unix_timestamp() as f64));
        map.insert("@ts_hour".into(), Value::from(f64::from(now.hour())));
        map.insert(
            "@ts_weekday".into(),
            Value::from(f64::from(now.weekday().number_days_from_sunday())),
        );
        map.insert("@ts_month".into(), Value::from(f64::from(u8::from(now.month()))));
        let Some(headers) = headers else { return };
        for name in headers.keys() {
            let lower = name.as_str();
            let chosen = self.headers.iter().any(|wanted| wanted.eq_ignore_ascii_case(lower))
                || self
                    .header_prefixes
                    .iter()
                    .any(|prefix| lower.starts_with(&prefix.to_ascii_lowercase()));
            if !chosen {
                continue;
            }
            let values: Vec<&str> = headers
                .get_all(name)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .collect();
            map.insert(
                format!("@http_{}", lower.replace('-', "_")),
                Value::from(values.join(", ")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn time_and_chosen_headers_are_injected_over_client_keys() {
        let injected = InjectedContext {
            headers: vec!["X-Environment".into()],
            header_prefixes: vec!["CF-".into()],
        };
        let mut headers = HeaderMap::new();
        headers.insert("x-environment", HeaderValue::from_static("staging"));
        headers.append("cf-ipcountry", HeaderValue::from_static("NZ"));
        headers.append("cf-ipcountry", HeaderValue::from_static("AU"));
        headers.insert("authorization", HeaderValue::from_static("Bearer secret"));
        let mut context = Some(json!({"@ts": "client", "plan": "pro"}));
        // 2026-12-01 is a Tuesday.
        injected.inject(&mut context, datetime!(2026-12-01 14:30 UTC), Some(&headers));
        let context = context.unwrap();
        assert_eq!(context["plan"], "pro");
        assert_eq!(context["@ts"], json!(1_796_135_400.0));
        assert_eq!(
            (context["@ts_hour"].clone(), context["@ts_weekday"].clone()),
            (json!(14.0), json!(2.0))
        );
        assert_eq!(context["@ts_month"], json!(12.0));
        assert_eq!(context["@http_x_environment"], "staging");
        assert_eq!(context["@http_cf_ipcountry"], "NZ, AU");
        assert!(context.get("@http_authorization").is_none());
    }

    #[test]
    fn a_context_that_is_not_an_object_becomes_one() {
        let mut context = Some(json!("nope"));
        InjectedContext::default().inject(&mut context, datetime!(2026-12-01 0:00 UTC), None);
        assert!(context.unwrap().get("@ts").is_some());
        let mut missing = None;
        InjectedContext::default().inject(&mut missing, datetime!(2026-12-01 0:00 UTC), None);
        assert!(missing.unwrap().is_object());
    }
}

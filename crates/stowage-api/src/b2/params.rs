//! B2 request parameters: a JSON body, or the same fields as a query string (GET). Explicit `null`
//! means absent, as b2sdk sends it.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::{B2Error, B2Result};

pub struct Params(Map<String, Value>);

impl Params {
    /// From a POST body if there is one, else from the query string.
    pub fn parse(body: &[u8], query: Option<&str>) -> B2Result<Self> {
        if body.iter().any(|b| !b.is_ascii_whitespace()) {
            return match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => Ok(Params(map)),
                Ok(_) => Err(B2Error::new(axum::http::StatusCode::BAD_REQUEST, "bad_json", "request body must be a JSON object")),
                Err(e) => Err(B2Error::new(axum::http::StatusCode::BAD_REQUEST, "bad_json", format!("could not parse JSON body: {e}"))),
            };
        }
        let mut map = Map::new();
        for (k, v) in super::query_pairs(query) {
            // Query values are strings; arrays and objects may arrive as JSON text.
            let value = if v.starts_with('[') || v.starts_with('{') {
                serde_json::from_str(&v).unwrap_or(Value::String(v))
            } else {
                Value::String(v)
            };
            map.insert(k, value);
        }
        Ok(Params(map))
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn str(&self, name: &str) -> B2Result<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(B2Error::bad_request(format!("{name} must be a string"))),
        }
    }

    pub fn req_str(&self, name: &str) -> B2Result<String> {
        self.str(name)?.ok_or_else(|| B2Error::bad_request(format!("required field {name} is missing")))
    }

    pub fn int(&self, name: &str) -> B2Result<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| B2Error::bad_request(format!("{name} must be an integer"))),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| B2Error::bad_request(format!("{name} must be an integer"))),
            Some(_) => Err(B2Error::bad_request(format!("{name} must be an integer"))),
        }
    }

    pub fn bool(&self, name: &str) -> B2Result<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(_) => Err(B2Error::bad_request(format!("{name} must be a boolean"))),
        }
    }

    pub fn typed<T: DeserializeOwned>(&self, name: &str) -> B2Result<Option<T>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|e| B2Error::bad_request(format!("invalid {name}: {e}"))),
        }
    }

    /// Present-but-null is distinguished from absent (used by update_bucket to clear settings).
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
}

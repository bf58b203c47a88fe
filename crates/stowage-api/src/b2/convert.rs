//! Turning B2 request fields into core request types.

use std::collections::BTreeMap;

use serde_json::Value;
use stowage_core::model::{BucketType, DefaultRetention, Encryption, PeriodUnit, Retention, RetentionMode, RetentionPeriod};
use stowage_core::service::{BucketSettings, EncryptionRequest};

use super::error::{B2Error, B2Result};
use super::params::Params;

pub fn bucket_type(s: &str) -> B2Result<BucketType> {
    BucketType::parse(s).ok_or_else(|| B2Error::bad_request(format!("Invalid bucketType {s:?}: allPublic or allPrivate")))
}

/// A bucket default encryption object: `{"mode": "SSE-B2"|"none"|null, "algorithm": "AES256"}`.
pub fn default_encryption(v: &Value) -> B2Result<Encryption> {
    let mode = v.get("mode").and_then(Value::as_str);
    match mode {
        None | Some("none") => Ok(Encryption::None),
        Some("SSE-B2") => {
            check_algorithm(v)?;
            Ok(Encryption::SseB2)
        }
        Some("SSE-C") => Err(B2Error::bad_request("SSE-C cannot be a bucket's default encryption")),
        Some(other) => Err(B2Error::bad_request(format!("Invalid encryption mode {other:?}"))),
    }
}

fn check_algorithm(v: &Value) -> B2Result<()> {
    match v.get("algorithm").and_then(Value::as_str) {
        None | Some("AES256") => Ok(()),
        Some(other) => Err(B2Error::bad_request(format!("Invalid encryption algorithm {other:?}"))),
    }
}

/// A per-file encryption object from JSON (start_large_file, copy_file).
pub fn encryption_request(v: &Value) -> B2Result<EncryptionRequest> {
    match v.get("mode").and_then(Value::as_str) {
        None | Some("none") => Ok(EncryptionRequest::None),
        Some("SSE-B2") => {
            check_algorithm(v)?;
            Ok(EncryptionRequest::SseB2)
        }
        Some("SSE-C") => {
            check_algorithm(v)?;
            let field = |name: &str| {
                v.get(name).and_then(Value::as_str).map(str::to_string).ok_or_else(|| B2Error::bad_request(format!("SSE-C needs {name}")))
            };
            Ok(EncryptionRequest::SseC { key_b64: field("customerKey")?, key_md5_b64: field("customerKeyMd5")? })
        }
        Some(other) => Err(B2Error::bad_request(format!("Invalid encryption mode {other:?}"))),
    }
}

pub fn bucket_settings(p: &Params, is_update: bool) -> B2Result<BucketSettings> {
    let mut s = BucketSettings::default();
    if let Some(t) = p.str("bucketType")? {
        s.bucket_type = Some(bucket_type(&t)?);
    }
    if p.has("bucketInfo") {
        match p.raw("bucketInfo") {
            Some(Value::Object(map)) => s.info = Some(map.clone()),
            _ => return Err(B2Error::bad_request("bucketInfo must be an object")),
        }
    }
    s.cors_rules = p.typed("corsRules")?;
    s.lifecycle_rules = p.typed("lifecycleRules")?;
    if let Some(v) = p.raw("defaultServerSideEncryption").filter(|v| !v.is_null()) {
        s.default_encryption = Some(default_encryption(v)?);
    }
    s.file_lock_enabled = p.bool("fileLockEnabled")?;
    if is_update && let Some(v) = p.raw("defaultRetention").filter(|v| !v.is_null()) {
        s.default_retention = Some(default_retention(v)?);
    }
    Ok(s)
}

pub fn default_retention(v: &Value) -> B2Result<Option<DefaultRetention>> {
    let Some(mode) = v.get("mode").and_then(Value::as_str) else { return Ok(None) };
    let mode = RetentionMode::parse(mode).ok_or_else(|| B2Error::bad_request(format!("Invalid retention mode {mode:?}")))?;
    let period = v.get("period").ok_or_else(|| B2Error::bad_request("defaultRetention needs a period"))?;
    let duration = period
        .get("duration")
        .and_then(Value::as_i64)
        .filter(|d| *d > 0)
        .ok_or_else(|| B2Error::bad_request("period.duration must be a positive integer"))?;
    let unit = match period.get("unit").and_then(Value::as_str) {
        Some("days") => PeriodUnit::Days,
        Some("years") => PeriodUnit::Years,
        _ => return Err(B2Error::bad_request("period.unit must be days or years")),
    };
    Ok(Some(DefaultRetention { mode, period: RetentionPeriod { duration, unit } }))
}

/// `{"mode": ..., "retainUntilTimestamp": ms}`; a null mode means no retention.
pub fn file_retention(v: &Value) -> B2Result<Option<Retention>> {
    let Some(mode) = v.get("mode").and_then(Value::as_str) else { return Ok(None) };
    let mode = RetentionMode::parse(mode).ok_or_else(|| B2Error::bad_request(format!("Invalid retention mode {mode:?}")))?;
    let until = match v.get("retainUntilTimestamp") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let retain_until = until.ok_or_else(|| B2Error::bad_request("retainUntilTimestamp is required with a retention mode"))?;
    Ok(Some(Retention { mode, retain_until }))
}

pub fn legal_hold(s: &str) -> B2Result<bool> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(B2Error::bad_request(format!("legalHold must be on or off, not {other:?}"))),
    }
}

/// File info with lower-cased keys; values must be strings.
pub fn file_info(v: Option<&Value>) -> B2Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let Value::String(s) = v else { return Err(B2Error::bad_request(format!("fileInfo value for {k:?} must be a string"))) };
                out.insert(k.to_ascii_lowercase(), s.clone());
            }
        }
        Some(_) => return Err(B2Error::bad_request("fileInfo must be an object")),
    }
    Ok(out)
}

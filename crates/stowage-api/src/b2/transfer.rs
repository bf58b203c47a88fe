//! Streaming endpoints: uploads to upload URLs, downloads by id and by name.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use std::collections::BTreeMap;
use stowage_core::auth::{LockView, Principal, Readable};
use stowage_core::model::{Encryption, FileVersion};
use stowage_core::service::{ByteRange, Download, EncryptionRequest, NewFile, PartUpload, Sha1Check};
use stowage_core::store::ByteStream;

use super::convert;
use super::encoding::{decode_plus_strict, encode};
use super::error::{B2Error, B2Result};
use super::render::{file_json, stored_part_json};
use crate::AppState;

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> B2Result<Option<&'a str>> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| B2Error::bad_request(format!("header {name} is not valid text"))),
    }
}

fn required<'a>(headers: &'a HeaderMap, name: &str) -> B2Result<&'a str> {
    header_str(headers, name)?.ok_or_else(|| B2Error::bad_request(format!("header {name} is required")))
}

pub fn body_stream(body: Body) -> ByteStream {
    Box::pin(body.into_data_stream().map_err(std::io::Error::other))
}

fn content_length(headers: &HeaderMap) -> B2Result<u64> {
    let value = header_str(headers, "content-length")?
        .ok_or_else(|| B2Error::new(StatusCode::LENGTH_REQUIRED, "bad_request", "Content-Length is required"))?;
    value.parse().map_err(|_| B2Error::bad_request("Content-Length must be a number"))
}

/// SSE-C headers, if the request carries them.
pub fn sse_c_headers(headers: &HeaderMap) -> B2Result<Option<EncryptionRequest>> {
    let Some(algorithm) = header_str(headers, "x-bz-server-side-encryption-customer-algorithm")? else { return Ok(None) };
    if algorithm != "AES256" {
        return Err(B2Error::bad_request("SSE-C algorithm must be AES256"));
    }
    Ok(Some(EncryptionRequest::SseC {
        key_b64: required(headers, "x-bz-server-side-encryption-customer-key")?.to_string(),
        key_md5_b64: required(headers, "x-bz-server-side-encryption-customer-key-md5")?.to_string(),
    }))
}

fn upload_encryption(headers: &HeaderMap) -> B2Result<Option<EncryptionRequest>> {
    if let Some(sse_c) = sse_c_headers(headers)? {
        return Ok(Some(sse_c));
    }
    match header_str(headers, "x-bz-server-side-encryption")? {
        None => Ok(None),
        Some("AES256") => Ok(Some(EncryptionRequest::SseB2)),
        Some(v) if v.eq_ignore_ascii_case("none") => Ok(Some(EncryptionRequest::None)),
        Some(other) => Err(B2Error::bad_request(format!("Invalid X-Bz-Server-Side-Encryption {other:?}"))),
    }
}

const FORBIDDEN_UPLOAD_HEADERS: &[&str] = &["content-disposition", "content-language", "content-location", "content-range", "expires"];

pub async fn upload_file(
    state: &AppState,
    principal: &Principal,
    bucket_id: String,
    headers: &HeaderMap,
    body: Body,
    version: u8,
) -> B2Result<serde_json::Value> {
    if let Some(h) = FORBIDDEN_UPLOAD_HEADERS.iter().find(|h| headers.contains_key(**h)) {
        return Err(B2Error::bad_request(format!("header {h} is not allowed on uploads; use X-Bz-Info-b2-* instead")));
    }
    let name = decode_plus_strict(required(headers, "x-bz-file-name")?)
        .ok_or_else(|| B2Error::bad_request("X-Bz-File-Name is not valid percent-encoded UTF-8"))?;
    let mut info = BTreeMap::new();
    for (key, value) in headers {
        if let Some(info_key) = key.as_str().strip_prefix("x-bz-info-") {
            let value = value.to_str().map_err(|_| B2Error::bad_request("X-Bz-Info values must be text"))?;
            let value = decode_plus_strict(value).ok_or_else(|| B2Error::bad_request("X-Bz-Info values must be percent-encoded UTF-8"))?;
            info.insert(info_key.to_ascii_lowercase(), value);
        }
    }
    let retention = match header_str(headers, "x-bz-file-retention-mode")? {
        None => None,
        Some(mode) => {
            let until = required(headers, "x-bz-file-retention-retain-until-timestamp")?;
            convert::file_retention(&serde_json::json!({"mode": mode, "retainUntilTimestamp": until}))?
        }
    };
    let req = NewFile {
        bucket_id,
        name,
        content_type: header_str(headers, "content-type")?.unwrap_or("b2/x-auto").to_string(),
        info,
        encryption: upload_encryption(headers)?,
        retention,
        legal_hold: header_str(headers, "x-bz-file-legal-hold")?.map(convert::legal_hold).transpose()?,
        custom_timestamp: header_str(headers, "x-bz-custom-upload-timestamp")?
            .map(|v| v.parse::<i64>().map_err(|_| B2Error::bad_request("X-Bz-Custom-Upload-Timestamp must be an integer")))
            .transpose()?,
        expected_md5: None,
        // S3-only fields (tags, ACL grants, null versions) stay empty for B2 uploads.
        ..NewFile::default()
    };
    let sha1 = Sha1Check::parse(required(headers, "x-bz-content-sha1")?)?;
    let length = content_length(headers)?;
    let file = state.core.upload_file(principal, req, sha1, Some(length), body_stream(body), None).await?;
    Ok(file_json(state.core.account_id(), &file, principal, version))
}

pub async fn upload_part(
    state: &AppState,
    principal: &Principal,
    file_id: String,
    headers: &HeaderMap,
    body: Body,
) -> B2Result<serde_json::Value> {
    let part_number: u32 =
        required(headers, "x-bz-part-number")?.parse().map_err(|_| B2Error::bad_request("Part number must be in range 1 - 10000"))?;
    let sha1 = Sha1Check::parse(required(headers, "x-bz-content-sha1")?)?;
    if sha1 == Sha1Check::DoNotVerify {
        return Err(B2Error::bad_request("parts must carry their SHA-1"));
    }
    let length = content_length(headers)?;
    let sse = sse_c_headers(headers)?;
    let req = PartUpload { file_id, part_number, sha1, content_length: Some(length), sse, expected_md5: None, key: None };
    let stored = state.core.upload_part(principal, req, body_stream(body), None).await?;
    Ok(stored_part_json(&stored))
}

/// Query overrides a download may carry, echoed into response headers.
const OVERRIDES: &[(&str, HeaderName)] = &[
    ("b2ContentDisposition", header::CONTENT_DISPOSITION),
    ("b2ContentLanguage", header::CONTENT_LANGUAGE),
    ("b2Expires", header::EXPIRES),
    ("b2CacheControl", header::CACHE_CONTROL),
    ("b2ContentEncoding", header::CONTENT_ENCODING),
    ("b2ContentType", header::CONTENT_TYPE),
];

/// Stored `b2-*` file info served as real headers.
const INFO_HEADERS: &[(&str, HeaderName)] = &[
    ("b2-content-disposition", header::CONTENT_DISPOSITION),
    ("b2-content-language", header::CONTENT_LANGUAGE),
    ("b2-expires", header::EXPIRES),
    ("b2-cache-control", header::CACHE_CONTROL),
    ("b2-content-encoding", header::CONTENT_ENCODING),
];

fn put(headers: &mut HeaderMap, name: impl axum::http::header::IntoHeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

pub fn download_response(d: Download, principal: Option<&Principal>, query: &[(String, String)], method: &Method) -> Response {
    let v: &FileVersion = &d.version;
    let mut headers = HeaderMap::new();
    put(&mut headers, header::CONTENT_TYPE, &v.content_type);
    put(&mut headers, "x-bz-file-id", &v.file_id);
    put(&mut headers, "x-bz-file-name", &encode(&v.name));
    put(&mut headers, "x-bz-content-sha1", v.sha1.as_deref().unwrap_or("none"));
    put(&mut headers, "x-bz-upload-timestamp", &v.upload_timestamp.to_string());
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(cache) = d.bucket.info.get("Cache-Control").and_then(|c| c.as_str()) {
        put(&mut headers, header::CACHE_CONTROL, cache);
    }
    for (key, value) in &v.info {
        match INFO_HEADERS.iter().find(|(k, _)| k == key) {
            Some((_, h)) => put(&mut headers, h.clone(), value),
            None => {
                if let Ok(name) = HeaderName::from_bytes(format!("x-bz-info-{key}").as_bytes()) {
                    put(&mut headers, name, &encode(value));
                }
            }
        }
    }
    for (param, h) in OVERRIDES {
        if let Some((_, value)) = query.iter().find(|(k, _)| k == param) {
            put(&mut headers, h.clone(), value);
        }
    }
    match &v.encryption {
        Encryption::None => {}
        Encryption::SseB2 | Encryption::SseKms { .. } => put(&mut headers, "x-bz-server-side-encryption", "AES256"),
        Encryption::SseC { key_md5 } => {
            put(&mut headers, "x-bz-server-side-encryption-customer-algorithm", "AES256");
            put(&mut headers, "x-bz-server-side-encryption-customer-key-md5", key_md5);
        }
    }
    if d.bucket.file_lock_enabled {
        let view = LockView::of(principal, v);
        let mut withheld = Vec::new();
        match view.retention {
            Readable::Shown(Some(r)) => {
                put(&mut headers, "x-bz-file-retention-mode", r.mode.as_str());
                put(&mut headers, "x-bz-file-retention-retain-until-timestamp", &r.retain_until.to_string());
            }
            Readable::Shown(None) => {}
            Readable::Withheld => withheld.push("X-Bz-File-Retention-Mode,X-Bz-File-Retention-Retain-Until-Timestamp"),
        }
        match view.legal_hold {
            Readable::Shown(Some(on)) => put(&mut headers, "x-bz-file-legal-hold", if on { "on" } else { "off" }),
            Readable::Shown(None) => {}
            Readable::Withheld => withheld.push("X-Bz-File-Legal-Hold"),
        }
        if !withheld.is_empty() {
            put(&mut headers, "x-bz-client-unauthorized-to-read", &withheld.join(","));
        }
    }
    let is_head = *method == Method::HEAD;
    let (status, length) = match d.range {
        Some((offset, len)) if !is_head => {
            put(&mut headers, header::CONTENT_RANGE, &format!("bytes {}-{}/{}", offset, offset + len - 1, v.size));
            (StatusCode::PARTIAL_CONTENT, len)
        }
        _ => (StatusCode::OK, v.size),
    };
    put(&mut headers, header::CONTENT_LENGTH, &length.to_string());
    let body = if is_head { Body::empty() } else { Body::from_stream(d.body) };
    (status, headers, body).into_response()
}

pub fn range_header(headers: &HeaderMap) -> Option<ByteRange> {
    headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(ByteRange::parse)
}

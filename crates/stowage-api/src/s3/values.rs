//! Small conversions between s3s's wire values and the core's, each written once: times, ETags, metadata,
//! encryption, object lock, tags, digests, version ids.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::TryStreamExt;
use s3s::dto::*;
use s3s::{S3Result, s3_error};
use stowage_core::conditions::{EtagCondition, WriteCondition};
use stowage_core::model::{Bucket as StoredBucket, Encryption, FileVersion, Millis, Retention, RetentionMode};
use stowage_core::service::EncryptionRequest;
use stowage_core::store::ByteStream;

pub fn timestamp(ms: Millis) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

pub fn millis(ts: &Timestamp) -> Millis {
    let t: time::OffsetDateTime = ts.clone().into();
    (t.unix_timestamp_nanos() / 1_000_000) as Millis
}

pub fn http_date(ts: &Timestamp) -> String {
    let mut buf = Vec::new();
    let _ = ts.format(TimestampFormat::HttpDate, &mut buf);
    String::from_utf8(buf).unwrap_or_default()
}

pub fn etag(v: &FileVersion) -> ETag {
    ETag::Strong(v.etag())
}

pub fn etag_condition(condition: &ETagCondition) -> EtagCondition {
    match condition {
        ETagCondition::Any => EtagCondition::Any,
        ETagCondition::ETag(tag) => EtagCondition::Etag(tag.value().to_string()),
    }
}

/// A write's `If-Match` / `If-None-Match` as a core write condition.
pub fn write_condition(if_none_match: Option<&ETagCondition>, if_match: Option<&ETagCondition>) -> Option<WriteCondition> {
    WriteCondition::of(if_match.map(etag_condition), if_none_match.map(etag_condition))
}

pub fn body_stream(blob: Option<StreamingBlob>) -> ByteStream {
    match blob {
        Some(blob) => Box::pin(blob.map_err(std::io::Error::other)),
        None => Box::pin(futures::stream::empty()),
    }
}

/// `x-amz-server-side-encryption` / SSE-C request headers as a core encryption request, refused as AWS
/// refuses them: SSE-C needs its algorithm (AES256), key and key MD5 together, and excludes the other kinds.
pub fn encryption_request(
    sse: Option<&ServerSideEncryption>,
    kms_key_id: Option<&str>,
    algorithm: Option<&str>,
    key: Option<&str>,
    key_md5: Option<&str>,
) -> S3Result<Option<EncryptionRequest>> {
    if kms_key_id.is_some() && sse.map(ServerSideEncryption::as_str) != Some(ServerSideEncryption::AWS_KMS) {
        return Err(s3_error!(InvalidArgument, "x-amz-server-side-encryption-aws-kms-key-id needs x-amz-server-side-encryption: aws:kms"));
    }
    if algorithm.is_some() || key.is_some() || key_md5.is_some() {
        if sse.is_some() {
            return Err(s3_error!(
                InvalidArgument,
                "Server Side Encryption with Customer provided key is incompatible with the encryption method specified"
            ));
        }
        let Some(algorithm) = algorithm else {
            return Err(s3_error!(
                InvalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm"
            ));
        };
        if algorithm != "AES256" {
            return Err(s3_error!(InvalidEncryptionAlgorithmError, "The encryption algorithm specified is not valid: use AES256"));
        }
        let Some(key) = key else {
            return Err(s3_error!(
                InvalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key"
            ));
        };
        let Some(key_md5) = key_md5 else {
            return Err(s3_error!(
                InvalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key"
            ));
        };
        return Ok(Some(EncryptionRequest::SseC { key_b64: key.to_string(), key_md5_b64: key_md5.to_string() }));
    }
    match sse.map(ServerSideEncryption::as_str) {
        None => Ok(None),
        Some(ServerSideEncryption::AES256) => Ok(Some(EncryptionRequest::SseB2)),
        Some(ServerSideEncryption::AWS_KMS) => Ok(Some(EncryptionRequest::SseKms { key_id: kms_key_id.map(str::to_string) })),
        Some(other) => Err(s3_error!(InvalidArgument, "unsupported server-side encryption {other}: use AES256, aws:kms or SSE-C")),
    }
}

/// A read names no server-side encryption (only SSE-C keys): AWS refuses `x-amz-server-side-encryption` on
/// GET and HEAD.
pub fn refuse_sse_on_read(headers: &axum::http::HeaderMap) -> S3Result<()> {
    if headers.contains_key("x-amz-server-side-encryption") || headers.contains_key("x-amz-server-side-encryption-aws-kms-key-id") {
        return Err(s3_error!(InvalidArgument, "x-amz-server-side-encryption is not allowed on a read"));
    }
    Ok(())
}

/// The SSE-C headers (`x-amz-server-side-encryption-customer-*`) every s3s input names the same way.
macro_rules! sse_c {
    ($input:expr) => {
        $crate::s3::values::encryption_request(
            None,
            None,
            $input.sse_customer_algorithm.as_deref(),
            $input.sse_customer_key.as_deref(),
            $input.sse_customer_key_md5.as_deref(),
        )
    };
}
pub(super) use sse_c;

/// The SSE-C headers naming a copy source's key (`x-amz-copy-source-server-side-encryption-customer-*`).
macro_rules! copy_source_sse_c {
    ($input:expr) => {
        $crate::s3::values::encryption_request(
            None,
            None,
            $input.copy_source_sse_customer_algorithm.as_deref(),
            $input.copy_source_sse_customer_key.as_deref(),
            $input.copy_source_sse_customer_key_md5.as_deref(),
        )
    };
}
pub(super) use copy_source_sse_c;

/// How a version is encrypted, as S3 reports it.
pub struct SseOut {
    pub server_side_encryption: Option<ServerSideEncryption>,
    pub customer_algorithm: Option<String>,
    pub customer_key_md5: Option<String>,
    pub kms_key_id: Option<String>,
}

pub fn sse_out(encryption: &Encryption) -> SseOut {
    let none = SseOut { server_side_encryption: None, customer_algorithm: None, customer_key_md5: None, kms_key_id: None };
    match encryption {
        Encryption::None => none,
        Encryption::SseB2 => {
            SseOut { server_side_encryption: Some(ServerSideEncryption::from_static(ServerSideEncryption::AES256)), ..none }
        }
        Encryption::SseC { key_md5 } => {
            SseOut { customer_algorithm: Some("AES256".into()), customer_key_md5: Some(key_md5.clone()), ..none }
        }
        Encryption::SseKms { key_id } => SseOut {
            server_side_encryption: Some(ServerSideEncryption::from_static(ServerSideEncryption::AWS_KMS)),
            kms_key_id: Some(key_id.clone()),
            ..none
        },
    }
}

/// Copies a version's encryption into the four fields every s3s output names the same way.
macro_rules! set_sse {
    ($out:expr, $encryption:expr) => {{
        let sse = $crate::s3::values::sse_out($encryption);
        $out.server_side_encryption = sse.server_side_encryption;
        $out.sse_customer_algorithm = sse.customer_algorithm;
        $out.sse_customer_key_md5 = sse.customer_key_md5;
        $out.ssekms_key_id = sse.kms_key_id;
    }};
}
pub(super) use set_sse;

/// Standard headers kept in B2 file info under their `b2-*` names, as B2's S3 endpoint does.
pub struct StandardHeaders<'a> {
    pub cache_control: Option<&'a String>,
    pub content_disposition: Option<&'a String>,
    pub content_encoding: Option<&'a String>,
    pub content_language: Option<&'a String>,
    pub expires: Option<&'a Timestamp>,
}

/// The file info a PutObject, CreateMultipartUpload or replacing CopyObject describes: user metadata and
/// the standard headers, from the fields those inputs all name the same way.
macro_rules! file_info_from {
    ($input:expr) => {
        $crate::s3::values::file_info(
            $input.metadata.as_ref(),
            $crate::s3::values::StandardHeaders {
                cache_control: $input.cache_control.as_ref(),
                content_disposition: $input.content_disposition.as_ref(),
                content_encoding: $input.content_encoding.as_ref(),
                content_language: $input.content_language.as_ref(),
                expires: $input.expires.as_ref(),
            },
        )
    };
}
pub(super) use file_info_from;

pub fn file_info(metadata: Option<&Metadata>, headers: StandardHeaders<'_>) -> BTreeMap<String, String> {
    let mut info: BTreeMap<String, String> = metadata.into_iter().flatten().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
    let pairs = [
        ("b2-cache-control", headers.cache_control.cloned()),
        ("b2-content-disposition", headers.content_disposition.cloned()),
        // aws-chunked describes how this request's body was sent, not the object.
        ("b2-content-encoding", headers.content_encoding.and_then(|e| stored_content_encoding(e))),
        ("b2-content-language", headers.content_language.cloned()),
        ("b2-expires", headers.expires.map(http_date)),
    ];
    for (key, value) in pairs {
        if let Some(value) = value {
            info.insert(key.to_string(), value);
        }
    }
    info
}

/// A Content-Encoding without `aws-chunked` (none if nothing else is left).
fn stored_content_encoding(encoding: &str) -> Option<String> {
    let kept: Vec<&str> = encoding.split(',').map(str::trim).filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked")).collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

pub fn user_metadata(v: &FileVersion) -> Option<Metadata> {
    let meta: Metadata = v.info.iter().filter(|(k, _)| !k.starts_with("b2-")).map(|(k, v)| (k.clone(), v.clone())).collect();
    (!meta.is_empty()).then_some(meta)
}

/// S3's object lock modes, spelled as S3 spells them (B2's lowercase names are B2's).
pub fn s3_lock_mode(mode: &str) -> Option<RetentionMode> {
    match mode {
        "GOVERNANCE" => Some(RetentionMode::Governance),
        "COMPLIANCE" => Some(RetentionMode::Compliance),
        _ => None,
    }
}

pub fn lock_mode_name(mode: RetentionMode) -> String {
    mode.as_str().to_ascii_uppercase()
}

pub fn legal_hold_status(on: bool) -> ObjectLockLegalHoldStatus {
    ObjectLockLegalHoldStatus::from_static(if on { ObjectLockLegalHoldStatus::ON } else { ObjectLockLegalHoldStatus::OFF })
}

/// The `x-amz-object-lock-*` headers of a write: (retention, legal hold).
macro_rules! lock_from {
    ($input:expr) => {
        $crate::s3::values::lock_in(
            $input.object_lock_mode.as_ref(),
            $input.object_lock_retain_until_date.as_ref(),
            $input.object_lock_legal_hold_status.as_ref(),
        )
    };
}
pub(super) use lock_from;

pub fn lock_in(
    mode: Option<&ObjectLockMode>,
    until: Option<&Timestamp>,
    hold: Option<&ObjectLockLegalHoldStatus>,
) -> S3Result<(Option<Retention>, Option<bool>)> {
    let retention = match (mode, until) {
        (Some(mode), Some(until)) => {
            let mode = RetentionMode::parse(mode.as_str()).ok_or_else(|| s3_error!(InvalidArgument, "unknown object lock mode"))?;
            Some(Retention { mode, retain_until: millis(until) })
        }
        (None, None) => None,
        _ => return Err(s3_error!(InvalidArgument, "x-amz-object-lock-mode and x-amz-object-lock-retain-until-date go together")),
    };
    Ok((retention, hold.map(|h| h.as_str() == ObjectLockLegalHoldStatus::ON)))
}

/// Object retention and legal holds exist only in buckets with object lock (checked after the bucket is
/// found, before the request body, in AWS's order).
pub fn require_object_lock(bucket: &StoredBucket) -> S3Result<()> {
    if bucket.file_lock_enabled {
        return Ok(());
    }
    Err(s3_error!(InvalidRequest, "Bucket is missing Object Lock Configuration"))
}

pub fn part_number(n: i32) -> S3Result<u32> {
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| s3_error!(InvalidArgument, "Part number must be an integer between 1 and 10000"))
}

pub fn url_encode_key(key: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
    utf8_percent_encode(key, KEY).to_string()
}

pub fn tag_map(tags: Vec<Tag>) -> S3Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for tag in tags {
        let key = tag.key.ok_or_else(|| s3_error!(MalformedXML, "a tag needs a Key"))?;
        if out.insert(key, tag.value.unwrap_or_default()).is_some() {
            return Err(s3_error!(InvalidTag, "tag keys must be unique"));
        }
    }
    Ok(out)
}

pub fn tag_set(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect()
}

/// `x-amz-tagging: k1=v1&k2=v2` (URL-encoded).
pub fn tagging_header(header: Option<&String>) -> BTreeMap<String, String> {
    let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    header
        .map(|h| {
            h.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('=').unwrap_or((p, "")))
                .map(|(k, v)| (decode(k), decode(v)))
                .collect()
        })
        .unwrap_or_default()
}

/// A `Content-MD5` header (base64) as the lowercase hex the core compares.
pub fn content_md5_hex(md5: Option<&String>) -> S3Result<Option<String>> {
    md5.map(|b64| {
        STANDARD
            .decode(b64)
            .ok()
            .filter(|d| d.len() == 16)
            .map(|d| d.iter().map(|b| format!("{b:02x}")).collect())
            .ok_or_else(|| s3_error!(InvalidDigest, "Content-MD5 is not a base64 MD5"))
    })
    .transpose()
}

/// The version id an S3 answer names in its `x-amz-version-id`: none for a null version (as AWS answers
/// in unversioned and suspended buckets), else the file id. Listings call null versions `null`.
pub fn version_id_out(v: &FileVersion) -> Option<String> {
    (!v.null_version).then(|| v.file_id.clone())
}

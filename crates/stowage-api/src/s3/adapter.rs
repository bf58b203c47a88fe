//! `impl s3s::S3` for Stowage: each operation turns s3s DTOs into core calls and back. Access checks
//! happen in the core; errors map in `error.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use futures::TryStreamExt;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use stowage_core::Stowage;
use stowage_core::auth::{LockView, Principal, Readable};
use stowage_core::model::{
    Action, Bucket as StoredBucket, BucketType, Encryption, FileVersion, Millis, Retention, RetentionMode, Versioning,
};
use stowage_core::service::{
    BucketFilter, BucketSettings, ByteRange, CopyPart, CopyRequest, Deleted, EncryptionRequest, ListEntry, ListRequest,
    MetadataDirective as Directive, NULL_VERSION, NewFile, PartUpload, PendingUploads, Sha1Check,
};
use stowage_core::store::ByteStream;

use super::error::to_s3;

/// The new version a PutObject or CreateMultipartUpload describes: both inputs carry the same metadata,
/// encryption and object-lock fields under the same names. Evaluates to `NewFile`, returning early on error.
macro_rules! new_file_from {
    ($bucket:expr, $key:expr, $input:ident) => {{
        let info = file_info(
            $input.metadata.as_ref(),
            StandardHeaders {
                cache_control: $input.cache_control.as_ref(),
                content_disposition: $input.content_disposition.as_ref(),
                content_encoding: $input.content_encoding.as_ref(),
                content_language: $input.content_language.as_ref(),
                expires: $input.expires.as_ref(),
            },
        );
        let mut file = StowageS3::new_file($bucket, $key, $input.content_type.as_ref(), info);
        file.encryption = encryption_request(
            $input.server_side_encryption.as_ref(),
            $input.sse_customer_algorithm.as_deref(),
            $input.sse_customer_key.as_deref(),
            $input.sse_customer_key_md5.as_deref(),
        )?;
        (file.retention, file.legal_hold) = lock_in(
            $input.object_lock_mode.as_ref(),
            $input.object_lock_retain_until_date.as_ref(),
            $input.object_lock_legal_hold_status.as_ref(),
        )?;
        file
    }};
}

pub struct StowageS3 {
    pub core: Arc<Stowage>,
    /// The configured region, reported by GetBucketLocation.
    pub region: Option<String>,
}

trait OrS3<T> {
    fn s3(self) -> S3Result<T>;
}

impl<T> OrS3<T> for stowage_core::Result<T> {
    fn s3(self) -> S3Result<T> {
        self.map_err(to_s3)
    }
}

fn timestamp(ms: Millis) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

fn millis(ts: &Timestamp) -> Millis {
    let t: time::OffsetDateTime = ts.clone().into();
    (t.unix_timestamp_nanos() / 1_000_000) as Millis
}

fn http_date(ts: &Timestamp) -> String {
    let mut buf = Vec::new();
    let _ = ts.format(TimestampFormat::HttpDate, &mut buf);
    String::from_utf8(buf).unwrap_or_default()
}

fn etag(v: &FileVersion) -> ETag {
    ETag::Strong(v.etag())
}

fn body_stream(blob: Option<StreamingBlob>) -> ByteStream {
    match blob {
        Some(blob) => Box::pin(blob.map_err(std::io::Error::other)),
        None => Box::pin(futures::stream::empty()),
    }
}

/// `x-amz-server-side-encryption` / SSE-C request headers as a core encryption request.
fn encryption_request(
    sse: Option<&ServerSideEncryption>,
    algorithm: Option<&str>,
    key: Option<&str>,
    key_md5: Option<&str>,
) -> S3Result<Option<EncryptionRequest>> {
    if let (Some(key), Some(key_md5)) = (key, key_md5) {
        if algorithm.is_some_and(|a| a != "AES256") {
            return Err(s3_error!(InvalidArgument, "SSE-C algorithm must be AES256"));
        }
        return Ok(Some(EncryptionRequest::SseC { key_b64: key.to_string(), key_md5_b64: key_md5.to_string() }));
    }
    match sse.map(ServerSideEncryption::as_str) {
        None => Ok(None),
        Some("AES256") => Ok(Some(EncryptionRequest::SseB2)),
        Some(other) => Err(s3_error!(InvalidArgument, "unsupported server-side encryption {other}: use AES256 or SSE-C")),
    }
}

fn sse_out(v: &FileVersion) -> (Option<ServerSideEncryption>, Option<String>, Option<String>) {
    match &v.encryption {
        Encryption::None => (None, None, None),
        Encryption::SseB2 => (Some(ServerSideEncryption::from_static(ServerSideEncryption::AES256)), None, None),
        Encryption::SseC { key_md5 } => (None, Some("AES256".into()), Some(key_md5.clone())),
    }
}

/// Standard headers kept in B2 file info under their `b2-*` names, as B2's S3 endpoint does.
struct StandardHeaders<'a> {
    cache_control: Option<&'a String>,
    content_disposition: Option<&'a String>,
    content_encoding: Option<&'a String>,
    content_language: Option<&'a String>,
    expires: Option<&'a Timestamp>,
}

fn file_info(metadata: Option<&Metadata>, headers: StandardHeaders<'_>) -> BTreeMap<String, String> {
    let mut info: BTreeMap<String, String> = metadata.into_iter().flatten().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
    let pairs = [
        ("b2-cache-control", headers.cache_control.cloned()),
        ("b2-content-disposition", headers.content_disposition.cloned()),
        ("b2-content-encoding", headers.content_encoding.cloned()),
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

fn user_metadata(v: &FileVersion) -> Option<Metadata> {
    let meta: Metadata = v.info.iter().filter(|(k, _)| !k.starts_with("b2-")).map(|(k, v)| (k.clone(), v.clone())).collect();
    (!meta.is_empty()).then_some(meta)
}

fn lock_in(
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

fn parse_range(range: Option<&Range>) -> Option<ByteRange> {
    range.and_then(|r| ByteRange::parse(&r.to_header_string()))
}

/// Continuation tokens are opaque: the next name (and version), base64url-encoded.
fn encode_token(name: &str, file_id: Option<&str>) -> String {
    URL_SAFE_NO_PAD.encode(format!("{name}\n{}", file_id.unwrap_or("")))
}

fn decode_token(token: &str) -> S3Result<(String, Option<String>)> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))?;
    let text = String::from_utf8(bytes).map_err(|_| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))?;
    let (name, id) = text.split_once('\n').ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))?;
    Ok((name.to_string(), (!id.is_empty()).then(|| id.to_string())))
}

pub(super) fn url_encode_key(key: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
    utf8_percent_encode(key, KEY).to_string()
}

/// A listing page as S3 `Contents` and `CommonPrefixes`, keys URL-encoded when asked.
fn list_entries(page: &stowage_core::service::ListPage, url: bool) -> (Vec<Object>, Vec<CommonPrefix>) {
    let enc = |s: &str| if url { url_encode_key(s) } else { s.to_string() };
    let (mut contents, mut prefixes) = (Vec::new(), Vec::new());
    for entry in &page.entries {
        match entry {
            ListEntry::Version(v) => contents.push(Object {
                key: Some(enc(&v.name)),
                e_tag: Some(etag(v)),
                size: Some(v.size as i64),
                last_modified: Some(timestamp(v.upload_timestamp)),
                storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
                ..Object::default()
            }),
            ListEntry::Folder(f) => prefixes.push(CommonPrefix { prefix: Some(enc(f)) }),
        }
    }
    (contents, prefixes)
}

fn max_keys(requested: Option<i32>) -> S3Result<i64> {
    match requested {
        None => Ok(1000),
        Some(n) if n < 0 => Err(s3_error!(InvalidArgument, "max-keys must not be negative")),
        Some(n) => Ok(i64::from(n.min(1000))),
    }
}

/// The `x-amz-copy-source-if-*` headers of a CopyObject or UploadPartCopy input (the same fields on both).
macro_rules! copy_conditions {
    ($input:expr) => {
        CopyConditions {
            if_match: $input.copy_source_if_match.as_ref(),
            if_none_match: $input.copy_source_if_none_match.as_ref(),
            modified_since: $input.copy_source_if_modified_since.as_ref(),
            unmodified_since: $input.copy_source_if_unmodified_since.as_ref(),
        }
    };
}

/// The `x-amz-copy-source-if-*` headers of CopyObject and UploadPartCopy.
struct CopyConditions<'a> {
    if_match: Option<&'a ETagCondition>,
    if_none_match: Option<&'a ETagCondition>,
    modified_since: Option<&'a Timestamp>,
    unmodified_since: Option<&'a Timestamp>,
}

impl StowageS3 {
    /// The shared part of GET and HEAD: find the version the caller may read, check preconditions, open it.
    async fn read_object(
        &self,
        credentials: Option<&s3s::auth::Credentials>,
        input: &GetObjectInput,
        with_body: bool,
    ) -> S3Result<(stowage_core::service::Download, LockView)> {
        let principal = self.caller(credentials).await?;
        let bucket = self.core.bucket_for(principal.as_ref(), &input.bucket).await.s3()?;
        let version = match self.core.object_version(principal.as_ref(), &bucket, &input.key, input.version_id.as_deref()).await {
            Ok(version) => version,
            Err(e @ stowage_core::Error::FileNotFound(_)) if input.version_id.is_none() => {
                // S3 says whether the key's current version is a delete marker.
                let marker = self.core.latest_is_delete_marker(&bucket, &input.key).await.s3()?;
                let mut err = to_s3(e);
                let mut headers = axum::http::HeaderMap::new();
                headers.insert("x-amz-delete-marker", axum::http::HeaderValue::from_static(if marker { "true" } else { "false" }));
                err.set_headers(headers);
                return Err(err);
            }
            Err(e) => return Err(to_s3(e)),
        };
        Self::preconditions(
            &version,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
            false,
        )?;
        let sse = encryption_request(
            None,
            input.sse_customer_algorithm.as_deref(),
            input.sse_customer_key.as_deref(),
            input.sse_customer_key_md5.as_deref(),
        )?;
        let range = if with_body { parse_range(input.range.as_ref()) } else { None };
        let lock = LockView::of(principal.as_ref(), &version);
        Ok((self.core.open_object(bucket, version, range, sse.as_ref(), with_body).await.s3()?, lock))
    }

    async fn caller(&self, req_credentials: Option<&s3s::auth::Credentials>) -> S3Result<Option<Principal>> {
        match req_credentials {
            None => Ok(None),
            Some(c) => self.core.principal_for_key(&c.access_key).await.s3().map(Some),
        }
    }

    async fn signed(&self, req_credentials: Option<&s3s::auth::Credentials>) -> S3Result<Principal> {
        self.caller(req_credentials).await?.ok_or_else(|| s3_error!(AccessDenied, "Anonymous access is not allowed; sign the request"))
    }

    /// Resolves an `x-amz-copy-source` to the version it names, if its `x-amz-copy-source-if-*` hold.
    async fn copy_source(&self, principal: &Principal, source: &CopySource, conditions: CopyConditions<'_>) -> S3Result<FileVersion> {
        let CopySource::Bucket { bucket, key, version_id } = source else {
            return Err(s3_error!(NotImplemented, "access point copy sources are not supported"));
        };
        let bucket = self.core.bucket_for(Some(principal), bucket).await.s3()?;
        let version = self.core.object_version(Some(principal), &bucket, key, version_id.as_deref()).await.s3()?;
        let CopyConditions { if_match, if_none_match, modified_since, unmodified_since } = conditions;
        Self::preconditions(&version, if_match, if_none_match, modified_since, unmodified_since, true)?;
        Ok(version)
    }

    /// Checks If-Match / If-None-Match / If-(Un)Modified-Since against a version: GET and HEAD, and with
    /// `for_copy` the `x-amz-copy-source-if-*` headers of CopyObject and UploadPartCopy, where every failed
    /// condition is a 412 (there is no "not modified" for a write).
    fn preconditions(
        v: &FileVersion,
        if_match: Option<&ETagCondition>,
        if_none_match: Option<&ETagCondition>,
        modified_since: Option<&Timestamp>,
        unmodified_since: Option<&Timestamp>,
        for_copy: bool,
    ) -> S3Result<()> {
        let not_modified = || if for_copy { s3_error!(PreconditionFailed) } else { s3_error!(NotModified) };
        let tag = v.etag();
        let matches = |cond: &ETagCondition| match cond {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => e.value() == tag,
        };
        if let Some(cond) = if_match {
            if !matches(cond) {
                return Err(s3_error!(PreconditionFailed));
            }
        } else if let Some(since) = unmodified_since
            && v.upload_timestamp / 1000 > millis(since) / 1000
        {
            return Err(s3_error!(PreconditionFailed));
        }
        if let Some(cond) = if_none_match {
            if matches(cond) {
                return Err(not_modified());
            }
        } else if let Some(since) = modified_since
            && v.upload_timestamp / 1000 <= millis(since) / 1000
        {
            return Err(not_modified());
        }
        Ok(())
    }

    /// The checksums a CompleteMultipartUpload lists per part must be the ones verified when each part was
    /// uploaded.
    async fn check_part_checksums(&self, principal: &Principal, upload_id: &str, declared: &[(u32, Vec<(&str, String)>)]) -> S3Result<()> {
        let mut stored = BTreeMap::new();
        let mut start = Some(1i64);
        while let Some(from) = start {
            let (parts, next) = self.core.list_parts(principal, upload_id, Some(from), Some(1000)).await.s3()?;
            start = next.map(i64::from);
            stored.extend(parts.into_iter().map(|p| (p.part_number, p.checksums)));
        }
        for (number, checksums) in declared {
            for (alg, value) in checksums {
                if stored.get(number).and_then(|c| c.get(*alg)) != Some(value) {
                    return Err(s3_error!(InvalidPart, "The x-amz-checksum-{alg} of part {number} does not match the part uploaded"));
                }
            }
        }
        Ok(())
    }

    fn new_file(bucket: &StoredBucket, key: String, content_type: Option<&String>, info: BTreeMap<String, String>) -> NewFile {
        NewFile {
            bucket_id: bucket.id.clone(),
            name: key,
            content_type: content_type.cloned().unwrap_or_else(|| "b2/x-auto".into()),
            info,
            null_version: bucket.versioning.writes_null_versions(),
            ..NewFile::default()
        }
    }
}

/// Copies reported checksums into the five `checksum_*` fields every S3 output struct spells the same way.
macro_rules! set_checksums {
    ($out:expr, $reported:expr) => {{
        let r: super::checksum::Reported = $reported;
        $out.checksum_crc32 = r.crc32;
        $out.checksum_crc32c = r.crc32c;
        $out.checksum_crc64nvme = r.crc64nvme;
        $out.checksum_sha1 = r.sha1;
        $out.checksum_sha256 = r.sha256;
        r.kind.map(ChecksumType::from_static)
    }};
}

fn declared_checksums(
    crc32: &Option<String>,
    crc32c: &Option<String>,
    crc64nvme: &Option<String>,
    sha1: &Option<String>,
    sha256: &Option<String>,
) -> super::checksum::Declared {
    super::checksum::Declared(vec![
        ("crc32", crc32.clone()),
        ("crc32c", crc32c.clone()),
        ("crc64nvme", crc64nvme.clone()),
        ("sha1", sha1.clone()),
        ("sha256", sha256.clone()),
    ])
}

/// GetObject's response (HEAD takes its headers from it): stored headers, response-* overrides, the body.
/// The value of a lock field the caller may read; nothing when withheld.
fn shown<T>(value: Readable<Option<T>>) -> Option<T> {
    match value {
        Readable::Shown(v) => v,
        Readable::Withheld => None,
    }
}

/// S3's object lock modes, spelled as S3 spells them (B2's lowercase names are B2's).
fn s3_lock_mode(mode: &str) -> Option<RetentionMode> {
    match mode {
        "GOVERNANCE" => Some(RetentionMode::Governance),
        "COMPLIANCE" => Some(RetentionMode::Compliance),
        _ => None,
    }
}

/// Object retention and legal holds exist only in buckets with object lock (checked after the bucket is
/// found, before the request body, in AWS's order).
fn require_object_lock(bucket: &StoredBucket) -> S3Result<()> {
    if bucket.file_lock_enabled {
        return Ok(());
    }
    Err(s3_error!(InvalidRequest, "Bucket is missing Object Lock Configuration"))
}

/// What an S3 delete answers with: (version id, delete marker). A delete without a version id in an
/// unversioned bucket names no version (AWS sends none there) and says `DeleteMarker` only if it left one.
fn delete_answer(bucket: &StoredBucket, requested: Option<&str>, deleted: Deleted) -> (Option<String>, Option<bool>) {
    if bucket.versioning == Versioning::Unversioned && requested.is_none() {
        return (None, deleted.delete_marker.then_some(true));
    }
    (Some(deleted.version_id), Some(deleted.delete_marker))
}

/// The version id an S3 answer names in its `x-amz-version-id`: none for a null version (as AWS answers
/// in unversioned and suspended buckets), else the file id. Listings call null versions `null`.
fn version_id_out(v: &FileVersion) -> Option<String> {
    (!v.null_version).then(|| v.file_id.clone())
}

fn object_output(download: stowage_core::service::Download, lock: LockView, input: GetObjectInput) -> GetObjectOutput {
    let v = &download.version;
    let (length, content_range) = match download.range {
        Some((offset, len)) => (len, Some(format!("bytes {}-{}/{}", offset, offset + len - 1, v.size))),
        None => (v.size, None),
    };
    let (server_side_encryption, sse_customer_algorithm, sse_customer_key_md5) = sse_out(v);
    let info = |key: &str| v.info.get(key).cloned();
    // Checksums describe the whole object, so a ranged read does not carry them.
    let checksums = input.checksum_mode.as_ref().is_some_and(|m| m.as_str() == ChecksumMode::ENABLED) && download.range.is_none();
    let mut out = GetObjectOutput {
        accept_ranges: Some("bytes".into()),
        content_length: Some(length as i64),
        content_range,
        content_type: Some(input.response_content_type.unwrap_or_else(|| v.content_type.clone())),
        cache_control: input.response_cache_control.or_else(|| info("b2-cache-control")),
        content_disposition: input.response_content_disposition.or_else(|| info("b2-content-disposition")),
        content_encoding: input.response_content_encoding.or_else(|| info("b2-content-encoding")),
        content_language: input.response_content_language.or_else(|| info("b2-content-language")),
        expires: input.response_expires.or_else(|| info("b2-expires").and_then(|e| Timestamp::parse(TimestampFormat::HttpDate, &e).ok())),
        e_tag: Some(etag(v)),
        last_modified: Some(timestamp(v.upload_timestamp)),
        metadata: user_metadata(v),
        version_id: version_id_out(v),
        server_side_encryption,
        sse_customer_algorithm,
        sse_customer_key_md5,
        object_lock_mode: shown(lock.retention).map(|r| ObjectLockMode::from(r.mode.as_str().to_ascii_uppercase())),
        object_lock_retain_until_date: shown(lock.retention).map(|r| timestamp(r.retain_until)),
        object_lock_legal_hold_status: shown(lock.legal_hold).map(|on| {
            ObjectLockLegalHoldStatus::from_static(if on { ObjectLockLegalHoldStatus::ON } else { ObjectLockLegalHoldStatus::OFF })
        }),
        tag_count: (!v.tags.is_empty()).then_some(v.tags.len() as i32),
        parts_count: match &v.content {
            stowage_core::model::Content::Parts(parts) => Some(parts.len() as i32),
            _ => None,
        },
        // s3s wants a Sync stream; the body is only ever polled through `&mut`.
        body: Some(StreamingBlob::wrap(sync_wrapper::SyncStream::new(download.body))),
        ..GetObjectOutput::default()
    };
    if checksums {
        out.checksum_type = set_checksums!(out, super::checksum::reported(&download.version));
    }
    out
}

fn tag_map(tags: Vec<Tag>) -> S3Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for tag in tags {
        let key = tag.key.ok_or_else(|| s3_error!(MalformedXML, "a tag needs a Key"))?;
        if out.insert(key, tag.value.unwrap_or_default()).is_some() {
            return Err(s3_error!(InvalidTag, "tag keys must be unique"));
        }
    }
    Ok(out)
}

fn tag_set(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect()
}

/// `x-amz-tagging: k1=v1&k2=v2` (URL-encoded).
fn tagging_header(header: Option<&String>) -> BTreeMap<String, String> {
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

fn content_md5_hex(md5: Option<&String>) -> S3Result<Option<String>> {
    md5.map(|b64| {
        STANDARD
            .decode(b64)
            .ok()
            .filter(|d| d.len() == 16)
            .map(hex_encode)
            .ok_or_else(|| s3_error!(InvalidDigest, "Content-MD5 is not a base64 MD5"))
    })
    .transpose()
}

fn hex_encode(bytes: Vec<u8>) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait::async_trait]
impl S3 for StowageS3 {
    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let buckets = self.core.list_buckets(&principal, &BucketFilter::default(), false).await.s3()?;
        let buckets = buckets
            .into_iter()
            .map(|b| Bucket { name: Some(b.name), creation_date: Some(timestamp(b.created)), ..Bucket::default() })
            .collect();
        let owner = Owner { id: Some(self.core.account_id().to_string()), display_name: Some(self.core.account_id().to_string()) };
        Ok(S3Response::new(ListBucketsOutput { buckets: Some(buckets), owner: Some(owner), ..ListBucketsOutput::default() }))
    }

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        if input.bucket.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(s3_error!(InvalidBucketName, "S3 bucket names must be lowercase"));
        }
        let public = input.acl.as_ref().is_some_and(|acl| acl.as_str() == BucketCannedACL::PUBLIC_READ);
        let settings = BucketSettings {
            bucket_type: Some(if public { BucketType::AllPublic } else { BucketType::AllPrivate }),
            file_lock_enabled: input.object_lock_enabled_for_bucket.filter(|on| *on),
            versioning: Some(if self.core.config().s3_buckets_versioned { Versioning::Enabled } else { Versioning::Unversioned }),
            ..BucketSettings::default()
        };
        self.core.create_bucket(&principal, &input.bucket, settings).await.s3()?;
        Ok(S3Response::new(CreateBucketOutput { location: Some(format!("/{}", input.bucket)) }))
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        let principal = self.caller(req.credentials.as_ref()).await?;
        self.core.bucket_for(principal.as_ref(), &req.input.bucket).await.s3()?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let bucket = self.core.bucket_for(Some(&principal), &req.input.bucket).await.s3()?;
        self.core.delete_bucket(&principal, &bucket.id, PendingUploads::Abort).await.s3()?;
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    async fn get_bucket_location(&self, req: S3Request<GetBucketLocationInput>) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        self.core.bucket_for(Some(&principal), &req.input.bucket).await.s3()?;
        // us-east-1 is reported as an empty LocationConstraint, as AWS does.
        let location = self.region.clone().filter(|r| r != "us-east-1").map(BucketLocationConstraint::from);
        Ok(S3Response::new(GetBucketLocationOutput { location_constraint: location }))
    }

    async fn get_bucket_versioning(&self, req: S3Request<GetBucketVersioningInput>) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let bucket = self.core.bucket_for(Some(&principal), &req.input.bucket).await.s3()?;
        let status = match bucket.versioning {
            Versioning::Enabled => Some(BucketVersioningStatus::ENABLED),
            Versioning::Suspended => Some(BucketVersioningStatus::SUSPENDED),
            Versioning::Unversioned => None,
        };
        Ok(S3Response::new(GetBucketVersioningOutput {
            status: status.map(BucketVersioningStatus::from_static),
            ..GetBucketVersioningOutput::default()
        }))
    }

    async fn put_bucket_versioning(&self, req: S3Request<PutBucketVersioningInput>) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let state = match input.versioning_configuration.status.as_ref().map(BucketVersioningStatus::as_str) {
            Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
            Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
            _ => return Err(s3_error!(IllegalVersioningConfigurationException, "the versioning status must be Enabled or Suspended")),
        };
        let settings = BucketSettings { versioning: Some(state), ..BucketSettings::default() };
        self.core.update_bucket(&principal, &bucket.id, settings, None).await.s3()?;
        Ok(S3Response::new(PutBucketVersioningOutput::default()))
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        // Browser form uploads (PostObject) arrive here too, through s3s's default `post_object`.
        let form_post = req.method == axum::http::Method::POST;
        if form_post
            && let (Some(expected), Some(region)) = (&self.region, &req.region)
            && region.as_str() != expected
        {
            // Header and query signatures are checked in `RequestChecks`; a form carries its credential in a field.
            return Err(s3_error!(AuthorizationQueryParametersError, "the region '{}' is wrong; expecting '{expected}'", region.as_str()));
        }
        let (headers, trailers) = (req.headers, req.trailing_headers);
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let mut file = new_file_from!(&bucket, input.key, input);
        if headers.get("content-md5").is_some_and(|v| v.is_empty()) {
            return Err(s3_error!(InvalidDigest, "Content-MD5 is empty"));
        }
        file.expected_md5 = content_md5_hex(input.content_md5.as_ref())?;
        file.tags = tagging_header(input.tagging.as_ref());
        let length = input.content_length.and_then(|n| u64::try_from(n).ok());
        let declared = declared_checksums(
            &input.checksum_crc32,
            &input.checksum_crc32c,
            &input.checksum_crc64nvme,
            &input.checksum_sha1,
            &input.checksum_sha256,
        );
        let (body, check) = super::checksum::verify(body_stream(input.body), declared, &headers, trailers);
        let version = self.core.upload_file(&principal, file, Sha1Check::Compute, length, body, check).await.s3()?;
        let (sse, sse_c_algorithm, sse_c_md5) = sse_out(&version);
        let mut out = PutObjectOutput {
            e_tag: Some(etag(&version)),
            version_id: version_id_out(&version),
            server_side_encryption: sse,
            sse_customer_algorithm: sse_c_algorithm,
            sse_customer_key_md5: sse_c_md5,
            ..PutObjectOutput::default()
        };
        out.checksum_type = set_checksums!(out, super::checksum::reported(&version));
        let mut response = S3Response::new(out);
        if form_post {
            // S3 answers a form upload's 204 with the object's ETag and Location as headers.
            let location = format!("{}/{}/{}", self.core.config().public_url, bucket.name, url_encode_key(&version.name));
            for (name, value) in [("etag", format!("\"{}\"", version.etag())), ("location", location)] {
                if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                    response.headers.insert(name, value);
                }
            }
        }
        Ok(response)
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let (download, lock) = self.read_object(req.credentials.as_ref(), &input, true).await?;
        Ok(S3Response::new(object_output(download, lock, input)))
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        // HEAD is GET without the body: the same checks, the same headers.
        let h = req.input;
        let input = GetObjectInput {
            bucket: h.bucket,
            key: h.key,
            version_id: h.version_id,
            if_match: h.if_match,
            if_none_match: h.if_none_match,
            if_modified_since: h.if_modified_since,
            if_unmodified_since: h.if_unmodified_since,
            sse_customer_algorithm: h.sse_customer_algorithm,
            sse_customer_key: h.sse_customer_key,
            sse_customer_key_md5: h.sse_customer_key_md5,
            checksum_mode: h.checksum_mode,
            ..GetObjectInput::default()
        };
        let (download, lock) = self.read_object(req.credentials.as_ref(), &input, false).await?;
        let g = object_output(download, lock, input);
        Ok(S3Response::new(HeadObjectOutput {
            accept_ranges: g.accept_ranges,
            content_length: g.content_length,
            content_type: g.content_type,
            cache_control: g.cache_control,
            content_disposition: g.content_disposition,
            content_encoding: g.content_encoding,
            content_language: g.content_language,
            expires: g.expires,
            e_tag: g.e_tag,
            last_modified: g.last_modified,
            metadata: g.metadata,
            version_id: g.version_id,
            server_side_encryption: g.server_side_encryption,
            sse_customer_algorithm: g.sse_customer_algorithm,
            sse_customer_key_md5: g.sse_customer_key_md5,
            object_lock_mode: g.object_lock_mode,
            object_lock_retain_until_date: g.object_lock_retain_until_date,
            object_lock_legal_hold_status: g.object_lock_legal_hold_status,
            parts_count: g.parts_count,
            checksum_crc32: g.checksum_crc32,
            checksum_crc32c: g.checksum_crc32c,
            checksum_crc64nvme: g.checksum_crc64nvme,
            checksum_sha1: g.checksum_sha1,
            checksum_sha256: g.checksum_sha256,
            checksum_type: g.checksum_type,
            ..HeadObjectOutput::default()
        }))
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let bypass = input.bypass_governance_retention.unwrap_or(false);
        let deleted = self.core.delete_object(&principal, &bucket, &input.key, input.version_id.as_deref(), bypass).await.s3()?;
        let (version_id, delete_marker) = delete_answer(&bucket, input.version_id.as_deref(), deleted);
        Ok(S3Response::new(DeleteObjectOutput { delete_marker, version_id, ..DeleteObjectOutput::default() }))
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        if input.delete.objects.len() > 1000 {
            return Err(s3_error!(MalformedXML, "at most 1000 keys per DeleteObjects request"));
        }
        let bypass = input.bypass_governance_retention.unwrap_or(false);
        let quiet = input.delete.quiet.unwrap_or(false);
        let (mut deleted, mut errors) = (Vec::new(), Vec::new());
        for object in input.delete.objects {
            match self.core.delete_object(&principal, &bucket, &object.key, object.version_id.as_deref(), bypass).await {
                Ok(d) => {
                    if !quiet {
                        let made_marker = d.delete_marker && object.version_id.is_none();
                        let (version_id, delete_marker) = delete_answer(&bucket, object.version_id.as_deref(), d);
                        // A marker this delete made is named as such, not as the version deleted.
                        let (version_id, marker_id) = if made_marker { (None, version_id) } else { (version_id, None) };
                        deleted.push(DeletedObject {
                            key: Some(object.key),
                            version_id,
                            delete_marker,
                            delete_marker_version_id: marker_id,
                        });
                    }
                }
                Err(e) => {
                    let err = to_s3(e);
                    errors.push(Error {
                        key: Some(object.key),
                        version_id: object.version_id,
                        code: Some(err.code().as_str().to_string()),
                        message: err.message().map(str::to_string),
                    });
                }
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput { deleted: Some(deleted), errors: Some(errors), ..DeleteObjectsOutput::default() }))
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let source = self.copy_source(&principal, &input.copy_source, copy_conditions!(input)).await?;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let replace = input.metadata_directive.as_ref().is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let changes_something = replace
            || input.server_side_encryption.is_some()
            || input.sse_customer_algorithm.is_some()
            || input.storage_class.is_some()
            || input.website_redirect_location.is_some()
            || input.tagging_directive.as_ref().is_some_and(|d| d.as_str() == TaggingDirective::REPLACE);
        // Copying an older version over its key restores it, which is a change.
        let names_version = matches!(&input.copy_source, CopySource::Bucket { version_id: Some(_), .. });
        if source.bucket_id == bucket.id && source.name == input.key && !changes_something && !names_version {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's \
                 metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let directive = if replace {
            let info = file_info(
                input.metadata.as_ref(),
                StandardHeaders {
                    cache_control: input.cache_control.as_ref(),
                    content_disposition: input.content_disposition.as_ref(),
                    content_encoding: input.content_encoding.as_ref(),
                    content_language: input.content_language.as_ref(),
                    expires: input.expires.as_ref(),
                },
            );
            Directive::Replace { content_type: input.content_type.unwrap_or_else(|| source.content_type.clone()), info }
        } else {
            Directive::Copy
        };
        let source_encryption = encryption_request(
            None,
            input.copy_source_sse_customer_algorithm.as_deref(),
            input.copy_source_sse_customer_key.as_deref(),
            input.copy_source_sse_customer_key_md5.as_deref(),
        )?;
        let destination_encryption = encryption_request(
            input.server_side_encryption.as_ref(),
            input.sse_customer_algorithm.as_deref(),
            input.sse_customer_key.as_deref(),
            input.sse_customer_key_md5.as_deref(),
        )?;
        let (retention, legal_hold) = lock_in(
            input.object_lock_mode.as_ref(),
            input.object_lock_retain_until_date.as_ref(),
            input.object_lock_legal_hold_status.as_ref(),
        )?;
        let copy = CopyRequest {
            source_file_id: source.file_id.clone(),
            name: input.key,
            destination_bucket_id: Some(bucket.id.clone()),
            range: None,
            directive,
            source_encryption,
            destination_encryption,
            retention,
            legal_hold,
            null_version: bucket.versioning.writes_null_versions(),
        };
        let version = self.core.copy_file(&principal, copy).await.s3()?;
        let result = CopyObjectResult {
            e_tag: Some(etag(&version)),
            last_modified: Some(timestamp(version.upload_timestamp)),
            ..CopyObjectResult::default()
        };
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(result),
            version_id: version_id_out(&version),
            copy_source_version_id: Some(source.s3_version_id().to_string()),
            ..CopyObjectOutput::default()
        }))
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let max = max_keys(input.max_keys)?;
        let url = input.encoding_type.as_ref().is_some_and(|e| e.as_str() == EncodingType::URL);
        let (start_name, exclusive_start) = match (input.continuation_token.as_ref().filter(|t| !t.is_empty()), &input.start_after) {
            (Some(token), _) => (Some(decode_token(token)?.0), false),
            (None, Some(after)) if !after.is_empty() => (Some(after.clone()), true),
            _ => (None, false),
        };
        let (contents, prefixes, next) = if max == 0 {
            (Vec::new(), Vec::new(), None)
        } else {
            let list = ListRequest {
                bucket_id: bucket.id.clone(),
                start_name,
                start_file_id: None,
                max_count: Some(max),
                prefix: input.prefix.clone().unwrap_or_default(),
                delimiter: input.delimiter.clone().filter(|d| !d.is_empty()),
                all_versions: false,
                exclusive_start,
            };
            let page = self.core.list_files(&principal, &list).await.s3()?;
            let (contents, prefixes) = list_entries(&page, url);
            (contents, prefixes, page.next_name.map(|n| encode_token(&n, None)))
        };
        let key_count = (contents.len() + prefixes.len()) as i32;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: input.prefix,
            delimiter: input.delimiter.filter(|d| !d.is_empty()),
            max_keys: Some(max as i32),
            key_count: Some(key_count),
            continuation_token: input.continuation_token,
            start_after: input.start_after,
            is_truncated: Some(next.is_some()),
            next_continuation_token: next,
            contents: Some(contents),
            common_prefixes: Some(prefixes),
            encoding_type: input.encoding_type,
            ..ListObjectsV2Output::default()
        }))
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let max = max_keys(input.max_keys)?;
        let url = input.encoding_type.as_ref().is_some_and(|e| e.as_str() == EncodingType::URL);
        let list = ListRequest {
            bucket_id: bucket.id.clone(),
            start_name: input.marker.clone().filter(|m| !m.is_empty()),
            start_file_id: None,
            max_count: Some(max.max(1)),
            prefix: input.prefix.clone().unwrap_or_default(),
            delimiter: input.delimiter.clone().filter(|d| !d.is_empty()),
            all_versions: false,
            exclusive_start: true,
        };
        // max-keys=0 asks for nothing, and nothing is left out.
        let page = if max == 0 { Default::default() } else { self.core.list_files(&principal, &list).await.s3()? };
        let (contents, prefixes) = list_entries(&page, url);
        let enc = |s: &str| if url { url_encode_key(s) } else { s.to_string() };
        let truncated = page.next_name.is_some();
        // NextMarker is the last key or prefix returned; markers are exclusive.
        let next_marker = truncated.then(|| page.entries.last().map(|e| enc(e.name()))).flatten();
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket),
            prefix: input.prefix,
            // An empty delimiter is no delimiter, and is not echoed; the marker always is, empty or not.
            delimiter: input.delimiter.filter(|d| !d.is_empty()),
            marker: Some(input.marker.unwrap_or_default()),
            max_keys: Some(max as i32),
            is_truncated: Some(truncated),
            next_marker,
            contents: Some(contents),
            common_prefixes: Some(prefixes),
            encoding_type: input.encoding_type,
            ..ListObjectsOutput::default()
        }))
    }

    async fn list_object_versions(&self, req: S3Request<ListObjectVersionsInput>) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let max = max_keys(input.max_keys)?.max(1);
        let key_marker = input.key_marker.clone().filter(|k| !k.is_empty());
        let mut version_marker = input.version_id_marker.clone().filter(|v| !v.is_empty());
        if let (Some(key), Some(NULL_VERSION)) = (&key_marker, version_marker.as_deref()) {
            // `null` stands for the key's null version; once that is gone the listing resumes after the key.
            version_marker = self.core.null_version_of(&bucket.id, key).await.s3()?.map(|v| v.file_id);
        }
        // Markers name the last entry returned: start just after it.
        let (start_name, start_file_id) = match (&key_marker, &version_marker) {
            (Some(k), Some(v)) => (Some(k.clone()), Some(v.clone())),
            (Some(k), None) => (Some(format!("{k}\u{0}")), None),
            _ => (None, None),
        };
        let list = ListRequest {
            bucket_id: bucket.id.clone(),
            start_name,
            start_file_id,
            max_count: Some(max),
            prefix: input.prefix.clone().unwrap_or_default(),
            delimiter: input.delimiter.clone().filter(|d| !d.is_empty()),
            all_versions: true,
            exclusive_start: version_marker.is_some(),
        };
        let page = self.core.list_files(&principal, &list).await.s3()?;
        let (mut versions, mut markers, mut prefixes) = (Vec::new(), Vec::new(), Vec::new());
        let mut newest_seen: Option<&str> = None;
        let mut last: Option<(String, String)> = None;
        for entry in &page.entries {
            match entry {
                ListEntry::Version(v) if v.action == Action::Start => {}
                ListEntry::Version(v) => {
                    let is_latest = newest_seen != Some(v.name.as_str()) && self.core.is_latest(v).await.s3()?;
                    newest_seen = Some(v.name.as_str());
                    last = Some((v.name.clone(), v.file_id.clone()));
                    if v.action == Action::Hide {
                        markers.push(DeleteMarkerEntry {
                            key: Some(v.name.clone()),
                            version_id: Some(v.s3_version_id().to_string()),
                            is_latest: Some(is_latest),
                            last_modified: Some(timestamp(v.upload_timestamp)),
                            ..DeleteMarkerEntry::default()
                        });
                    } else {
                        versions.push(ObjectVersion {
                            key: Some(v.name.clone()),
                            version_id: Some(v.s3_version_id().to_string()),
                            is_latest: Some(is_latest),
                            e_tag: Some(etag(v)),
                            size: Some(v.size as i64),
                            last_modified: Some(timestamp(v.upload_timestamp)),
                            storage_class: Some(ObjectVersionStorageClass::from_static(ObjectVersionStorageClass::STANDARD)),
                            ..ObjectVersion::default()
                        });
                    }
                }
                ListEntry::Folder(f) => {
                    last = Some((f.clone(), String::new()));
                    prefixes.push(CommonPrefix { prefix: Some(f.clone()) });
                }
            }
        }
        let truncated = page.next_name.is_some();
        let (next_key, next_version) = match (truncated, last) {
            (true, Some((k, v))) => (Some(k), (!v.is_empty()).then_some(v)),
            _ => (None, None),
        };
        Ok(S3Response::new(ListObjectVersionsOutput {
            name: Some(input.bucket),
            prefix: input.prefix,
            delimiter: input.delimiter,
            key_marker: input.key_marker,
            version_id_marker: input.version_id_marker,
            max_keys: Some(max as i32),
            is_truncated: Some(truncated),
            next_key_marker: next_key,
            next_version_id_marker: next_version,
            versions: Some(versions),
            delete_markers: Some(markers),
            common_prefixes: Some(prefixes),
            ..ListObjectVersionsOutput::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let mut file = new_file_from!(&bucket, input.key.clone(), input);
        file.tags = tagging_header(input.tagging.as_ref());
        let started = self.core.start_large_file(&principal, file).await.s3()?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(started.file_id),
            ..CreateMultipartUploadOutput::default()
        }))
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let (headers, trailers) = (req.headers, req.trailing_headers);
        let input = req.input;
        self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let part_number = u32::try_from(input.part_number)
            .map_err(|_| s3_error!(InvalidArgument, "Part number must be an integer between 1 and 10000"))?;
        let sse = encryption_request(
            None,
            input.sse_customer_algorithm.as_deref(),
            input.sse_customer_key.as_deref(),
            input.sse_customer_key_md5.as_deref(),
        )?;
        let upload = PartUpload {
            file_id: input.upload_id,
            part_number,
            sha1: Sha1Check::Compute,
            content_length: input.content_length.and_then(|n| u64::try_from(n).ok()),
            sse,
            expected_md5: content_md5_hex(input.content_md5.as_ref())?,
        };
        let declared = declared_checksums(
            &input.checksum_crc32,
            &input.checksum_crc32c,
            &input.checksum_crc64nvme,
            &input.checksum_sha1,
            &input.checksum_sha256,
        );
        let (body, check) = super::checksum::verify(body_stream(input.body), declared, &headers, trailers);
        let part = self.core.upload_part(&principal, upload, body, check).await.s3()?;
        let mut out = UploadPartOutput { e_tag: Some(ETag::Strong(part.md5)), ..UploadPartOutput::default() };
        set_checksums!(out, super::checksum::of_part(&part.checksums));
        Ok(S3Response::new(out))
    }

    async fn upload_part_copy(&self, req: S3Request<UploadPartCopyInput>) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let source = self.copy_source(&principal, &input.copy_source, copy_conditions!(input)).await?;
        let part_number = u32::try_from(input.part_number)
            .map_err(|_| s3_error!(InvalidArgument, "Part number must be an integer between 1 and 10000"))?;
        let range = match &input.copy_source_range {
            Some(r) => {
                Some(ByteRange::parse(r).ok_or_else(|| s3_error!(InvalidArgument, "x-amz-copy-source-range must be bytes=first-last"))?)
            }
            None => None,
        };
        // S3 refuses a range reaching past the source (B2's copy part clamps it, as HTTP ranges do).
        if let Some(ByteRange::Bounded(_, last)) = range
            && last >= source.size
        {
            return Err(s3_error!(InvalidRange, "The range specified is not valid for the source object of size: {}", source.size));
        }
        let copy = CopyPart {
            source_file_id: source.file_id.clone(),
            large_file_id: input.upload_id,
            part_number,
            range,
            source_sse: encryption_request(
                None,
                input.copy_source_sse_customer_algorithm.as_deref(),
                input.copy_source_sse_customer_key.as_deref(),
                input.copy_source_sse_customer_key_md5.as_deref(),
            )?,
            destination_sse: encryption_request(
                None,
                input.sse_customer_algorithm.as_deref(),
                input.sse_customer_key.as_deref(),
                input.sse_customer_key_md5.as_deref(),
            )?,
        };
        let part = self.core.copy_part(&principal, copy).await.s3()?;
        let result = CopyPartResult {
            e_tag: Some(ETag::Strong(part.md5)),
            last_modified: Some(timestamp(part.upload_timestamp)),
            ..CopyPartResult::default()
        };
        Ok(S3Response::new(UploadPartCopyOutput {
            copy_part_result: Some(result),
            copy_source_version_id: Some(source.s3_version_id().to_string()),
            ..UploadPartCopyOutput::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let parts = input.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
        let mut listed = Vec::with_capacity(parts.len());
        let mut declared = Vec::new();
        for p in parts {
            let number =
                p.part_number.and_then(|n| u32::try_from(n).ok()).ok_or_else(|| s3_error!(InvalidPart, "each part needs a PartNumber"))?;
            let checksums: Vec<(&str, String)> = [
                ("crc32", p.checksum_crc32),
                ("crc32c", p.checksum_crc32c),
                ("crc64nvme", p.checksum_crc64nvme),
                ("sha1", p.checksum_sha1),
                ("sha256", p.checksum_sha256),
            ]
            .into_iter()
            .filter_map(|(alg, value)| value.map(|v| (alg, v)))
            .collect();
            if !checksums.is_empty() {
                declared.push((number, checksums));
            }
            let tag = p.e_tag.map(ETag::into_value).ok_or_else(|| s3_error!(InvalidPart, "each part needs an ETag"))?;
            listed.push((number, tag));
        }
        if !declared.is_empty() {
            self.check_part_checksums(&principal, &input.upload_id, &declared).await?;
        }
        let version = self.core.complete_multipart(&principal, &input.upload_id, &listed).await.s3()?;
        let mut out = CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            e_tag: Some(etag(&version)),
            location: Some(format!("{}/{}/{}", self.core.config().public_url, input.bucket, input.key)),
            ..CompleteMultipartUploadOutput::default()
        };
        out.checksum_type = set_checksums!(out, super::checksum::reported(&version));
        out.version_id = version_id_out(&version);
        Ok(S3Response::new(out))
    }

    async fn abort_multipart_upload(&self, req: S3Request<AbortMultipartUploadInput>) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        self.core.bucket_for(Some(&principal), &req.input.bucket).await.s3()?;
        self.core.cancel_large_file(&principal, &req.input.upload_id).await.s3()?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let max = i64::from(input.max_parts.unwrap_or(1000).clamp(1, 1000));
        let start = input.part_number_marker.map(|m| i64::from(m) + 1);
        let (parts, next) = self.core.list_parts(&principal, &input.upload_id, start, Some(max)).await.s3()?;
        let last = parts.last().map(|p| p.part_number as i32);
        let parts = parts
            .into_iter()
            .map(|p| {
                let mut part = Part {
                    part_number: Some(p.part_number as i32),
                    e_tag: Some(ETag::Strong(p.md5)),
                    size: Some(p.size as i64),
                    last_modified: Some(timestamp(p.upload_timestamp)),
                    ..Part::default()
                };
                set_checksums!(part, super::checksum::of_part(&p.checksums));
                part
            })
            .collect();
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            max_parts: Some(max as i32),
            part_number_marker: input.part_number_marker,
            is_truncated: Some(next.is_some()),
            next_part_number_marker: next.and(last),
            parts: Some(parts),
            ..ListPartsOutput::default()
        }))
    }

    async fn list_multipart_uploads(&self, req: S3Request<ListMultipartUploadsInput>) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let max = i64::from(input.max_uploads.unwrap_or(100).clamp(1, 100));
        let prefix = input.prefix.clone().unwrap_or_default();
        let start = input.upload_id_marker.clone().filter(|m| !m.is_empty());
        let (files, next) =
            self.core.list_unfinished_large_files(&principal, &bucket.id, &prefix, start.as_deref(), Some(max)).await.s3()?;
        let uploads = files
            .into_iter()
            .filter(|f| start.as_deref() != Some(f.file_id.as_str()))
            .map(|f| MultipartUpload {
                key: Some(f.name),
                upload_id: Some(f.file_id),
                initiated: Some(timestamp(f.upload_timestamp)),
                ..MultipartUpload::default()
            })
            .collect();
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            max_uploads: Some(max as i32),
            is_truncated: Some(next.is_some()),
            next_upload_id_marker: next,
            uploads: Some(uploads),
            ..ListMultipartUploadsOutput::default()
        }))
    }

    async fn put_bucket_cors(&self, req: S3Request<PutBucketCorsInput>) -> S3Result<S3Response<PutBucketCorsOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let mut rules = Vec::new();
        for (i, rule) in input.cors_configuration.cors_rules.into_iter().enumerate() {
            let mut operations = Vec::new();
            for method in &rule.allowed_methods {
                let op = stowage_core::cors::s3_operation(method)
                    .ok_or_else(|| s3_error!(InvalidRequest, "Found unsupported HTTP method in CORS config: {method}"))?;
                operations.push(op.to_string());
            }
            // B2 rule names are 6-50 letters, digits and '-'; S3 ids are free-form.
            let name = rule
                .id
                .filter(|id| {
                    (6..=50).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !id.starts_with("b2-")
                })
                .unwrap_or_else(|| format!("s3-cors-rule-{}", i + 1));
            rules.push(stowage_core::model::CorsRule {
                cors_rule_name: name,
                allowed_origins: rule.allowed_origins,
                allowed_operations: operations,
                allowed_headers: rule.allowed_headers,
                expose_headers: rule.expose_headers,
                max_age_seconds: i64::from(rule.max_age_seconds.unwrap_or(0)),
            });
        }
        let settings = BucketSettings { cors_rules: Some(rules), ..BucketSettings::default() };
        self.core.update_bucket(&principal, &bucket.id, settings, None).await.s3()?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    async fn get_bucket_cors(&self, req: S3Request<GetBucketCorsInput>) -> S3Result<S3Response<GetBucketCorsOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let bucket = self.core.bucket_for(Some(&principal), &req.input.bucket).await.s3()?;
        let rules: Vec<CORSRule> = bucket
            .cors_rules
            .iter()
            .filter_map(|rule| {
                let methods: Vec<String> =
                    rule.allowed_operations.iter().filter_map(|op| op.strip_prefix("s3_")).map(|m| m.to_ascii_uppercase()).collect();
                (!methods.is_empty()).then(|| CORSRule {
                    id: Some(rule.cors_rule_name.clone()),
                    allowed_methods: methods,
                    allowed_origins: rule.allowed_origins.clone(),
                    allowed_headers: rule.allowed_headers.clone(),
                    expose_headers: rule.expose_headers.clone(),
                    max_age_seconds: i32::try_from(rule.max_age_seconds).ok(),
                })
            })
            .collect();
        if rules.is_empty() {
            return Err(s3_error!(NoSuchCORSConfiguration, "The CORS configuration does not exist"));
        }
        Ok(S3Response::new(GetBucketCorsOutput { cors_rules: Some(rules) }))
    }

    async fn delete_bucket_cors(&self, req: S3Request<DeleteBucketCorsInput>) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let bucket = self.core.bucket_for(Some(&principal), &req.input.bucket).await.s3()?;
        let settings = BucketSettings { cors_rules: Some(Vec::new()), ..BucketSettings::default() };
        self.core.update_bucket(&principal, &bucket.id, settings, None).await.s3()?;
        Ok(S3Response::new(DeleteBucketCorsOutput::default()))
    }

    async fn put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let mut rules = Vec::new();
        let mut ids = std::collections::HashSet::new();
        for rule in input.lifecycle_configuration.map(|c| c.rules).unwrap_or_default() {
            if let Some(id) = rule.id.as_deref() {
                if id.chars().count() > 255 {
                    return Err(s3_error!(InvalidArgument, "a lifecycle rule ID is at most 255 characters"));
                }
                if !ids.insert(id.to_string()) {
                    return Err(s3_error!(InvalidArgument, "lifecycle rule IDs must be unique: {id}"));
                }
            }
            match rule.status.as_str() {
                ExpirationStatus::ENABLED => {}
                ExpirationStatus::DISABLED => continue,
                _ => return Err(s3_error!(MalformedXML, "a lifecycle rule's Status is Enabled or Disabled")),
            }
            if rule.transitions.as_ref().is_some_and(|t| !t.is_empty()) || rule.expiration.as_ref().is_some_and(|e| e.date.is_some()) {
                return Err(s3_error!(NotImplemented, "lifecycle transitions and expiration dates are not supported; use days"));
            }
            let filter = rule.filter.as_ref();
            if filter.is_some_and(|f| {
                f.tag.is_some() || f.and.is_some() || f.object_size_greater_than.is_some() || f.object_size_less_than.is_some()
            }) {
                return Err(s3_error!(NotImplemented, "lifecycle filters other than a prefix are not supported"));
            }
            let prefix = filter.and_then(|f| f.prefix.clone()).or(rule.prefix).unwrap_or_default();
            rules.push(stowage_core::model::LifecycleRule {
                file_name_prefix: prefix,
                days_from_uploading_to_hiding: rule.expiration.and_then(|e| e.days).map(i64::from),
                days_from_hiding_to_deleting: rule.noncurrent_version_expiration.and_then(|e| e.noncurrent_days).map(i64::from),
                days_from_starting_to_canceling_unfinished_large_files: rule
                    .abort_incomplete_multipart_upload
                    .and_then(|a| a.days_after_initiation)
                    .map(i64::from),
            });
        }
        let settings = BucketSettings { lifecycle_rules: Some(rules), ..BucketSettings::default() };
        self.core.update_bucket(&principal, &bucket.id, settings, None).await.s3()?;
        Ok(S3Response::new(PutBucketLifecycleConfigurationOutput::default()))
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let bucket = self.core.bucket_for(Some(&principal), &req.input.bucket).await.s3()?;
        if bucket.lifecycle_rules.is_empty() {
            return Err(s3_error!(NoSuchLifecycleConfiguration, "The lifecycle configuration does not exist"));
        }
        let days = |d: Option<i64>| d.and_then(|d| i32::try_from(d).ok());
        let rules = bucket
            .lifecycle_rules
            .iter()
            .enumerate()
            .map(|(i, r)| LifecycleRule {
                id: Some(format!("b2-lifecycle-rule-{}", i + 1)),
                filter: Some(LifecycleRuleFilter { prefix: Some(r.file_name_prefix.clone()), ..LifecycleRuleFilter::default() }),
                status: ExpirationStatus::from_static(ExpirationStatus::ENABLED),
                expiration: days(r.days_from_uploading_to_hiding)
                    .map(|d| LifecycleExpiration { days: Some(d), ..LifecycleExpiration::default() }),
                noncurrent_version_expiration: days(r.days_from_hiding_to_deleting)
                    .map(|d| NoncurrentVersionExpiration { noncurrent_days: Some(d), ..NoncurrentVersionExpiration::default() }),
                abort_incomplete_multipart_upload: days(r.days_from_starting_to_canceling_unfinished_large_files)
                    .map(|d| AbortIncompleteMultipartUpload { days_after_initiation: Some(d) }),
                noncurrent_version_transitions: None,
                prefix: None,
                transitions: None,
            })
            .collect();
        Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
            rules: Some(rules),
            ..GetBucketLifecycleConfigurationOutput::default()
        }))
    }

    async fn delete_bucket_lifecycle(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let bucket = self.core.bucket_for(Some(&principal), &req.input.bucket).await.s3()?;
        let settings = BucketSettings { lifecycle_rules: Some(Vec::new()), ..BucketSettings::default() };
        self.core.update_bucket(&principal, &bucket.id, settings, None).await.s3()?;
        Ok(S3Response::new(DeleteBucketLifecycleOutput::default()))
    }

    async fn put_object_tagging(&self, req: S3Request<PutObjectTaggingInput>) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let version = self.core.addressed_version(&bucket, &input.key, input.version_id.as_deref()).await.s3()?;
        let tags = tag_map(input.tagging.tag_set)?;
        let version = self.core.set_object_tags(&principal, version, tags).await.s3()?;
        Ok(S3Response::new(PutObjectTaggingOutput { version_id: version_id_out(&version) }))
    }

    async fn get_object_tagging(&self, req: S3Request<GetObjectTaggingInput>) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let version = self.core.addressed_version(&bucket, &input.key, input.version_id.as_deref()).await.s3()?;
        let tags = self.core.object_tags(&principal, &version).s3()?;
        Ok(S3Response::new(GetObjectTaggingOutput { tag_set: tag_set(&tags), version_id: version_id_out(&version) }))
    }

    async fn delete_object_tagging(&self, req: S3Request<DeleteObjectTaggingInput>) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let version = self.core.addressed_version(&bucket, &input.key, input.version_id.as_deref()).await.s3()?;
        let version = self.core.set_object_tags(&principal, version, BTreeMap::new()).await.s3()?;
        Ok(S3Response::new(DeleteObjectTaggingOutput { version_id: version_id_out(&version) }))
    }

    async fn put_bucket_tagging(&self, req: S3Request<PutBucketTaggingInput>) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        self.core.set_bucket_tags(&principal, &bucket.id, tag_map(input.tagging.tag_set)?).await.s3()?;
        Ok(S3Response::new(PutBucketTaggingOutput::default()))
    }

    async fn get_bucket_tagging(&self, req: S3Request<GetBucketTaggingInput>) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let bucket = self.core.bucket_for(Some(&principal), &req.input.bucket).await.s3()?;
        if bucket.tags.is_empty() {
            return Err(s3_error!(NoSuchTagSet, "The TagSet does not exist"));
        }
        Ok(S3Response::new(GetBucketTaggingOutput { tag_set: tag_set(&bucket.tags) }))
    }

    async fn delete_bucket_tagging(&self, req: S3Request<DeleteBucketTaggingInput>) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let bucket = self.core.bucket_for(Some(&principal), &req.input.bucket).await.s3()?;
        self.core.set_bucket_tags(&principal, &bucket.id, BTreeMap::new()).await.s3()?;
        Ok(S3Response::new(DeleteBucketTaggingOutput::default()))
    }

    async fn get_object_lock_configuration(
        &self,
        req: S3Request<GetObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let bucket = self.core.bucket_for(Some(&principal), &req.input.bucket).await.s3()?;
        if !bucket.file_lock_enabled {
            return Err(s3_error!(ObjectLockConfigurationNotFoundError, "Object Lock configuration does not exist for this bucket"));
        }
        let rule = bucket.default_retention.map(|d| {
            let (days, years) = match d.period.unit {
                stowage_core::model::PeriodUnit::Days => (i32::try_from(d.period.duration).ok(), None),
                stowage_core::model::PeriodUnit::Years => (None, i32::try_from(d.period.duration).ok()),
            };
            ObjectLockRule {
                default_retention: Some(DefaultRetention {
                    mode: Some(ObjectLockRetentionMode::from(d.mode.as_str().to_ascii_uppercase())),
                    days,
                    years,
                }),
            }
        });
        let config =
            ObjectLockConfiguration { object_lock_enabled: Some(ObjectLockEnabled::from_static(ObjectLockEnabled::ENABLED)), rule };
        Ok(S3Response::new(GetObjectLockConfigurationOutput { object_lock_configuration: Some(config) }))
    }

    async fn put_object_lock_configuration(
        &self,
        req: S3Request<PutObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let config = input.object_lock_configuration.ok_or_else(|| s3_error!(MalformedXML, "ObjectLockConfiguration is required"))?;
        if config.object_lock_enabled.as_ref().map(ObjectLockEnabled::as_str) != Some(ObjectLockEnabled::ENABLED) {
            return Err(s3_error!(MalformedXML, "ObjectLockEnabled must be Enabled"));
        }
        let retention = match config.rule.and_then(|r| r.default_retention) {
            None => None,
            Some(d) => {
                let mode = d
                    .mode
                    .as_ref()
                    .and_then(|m| s3_lock_mode(m.as_str()))
                    .ok_or_else(|| s3_error!(MalformedXML, "DefaultRetention needs a Mode, GOVERNANCE or COMPLIANCE"))?;
                let (duration, unit) = match (d.days, d.years) {
                    (Some(days), None) => (days, stowage_core::model::PeriodUnit::Days),
                    (None, Some(years)) => (years, stowage_core::model::PeriodUnit::Years),
                    _ => return Err(s3_error!(MalformedXML, "DefaultRetention needs exactly one of Days or Years")),
                };
                if duration <= 0 {
                    let mut err = s3s::S3Error::with_message(
                        s3s::S3ErrorCode::Custom("InvalidRetentionPeriod".into()),
                        "the default retention period must be a positive whole number",
                    );
                    err.set_status_code(axum::http::StatusCode::BAD_REQUEST);
                    return Err(err);
                }
                let period = stowage_core::model::RetentionPeriod { duration: i64::from(duration), unit };
                Some(stowage_core::model::DefaultRetention { mode, period })
            }
        };
        let settings = BucketSettings { file_lock_enabled: Some(true), default_retention: Some(retention), ..BucketSettings::default() };
        self.core.update_bucket(&principal, &bucket.id, settings, None).await.s3()?;
        Ok(S3Response::new(PutObjectLockConfigurationOutput::default()))
    }

    async fn get_object_retention(&self, req: S3Request<GetObjectRetentionInput>) -> S3Result<S3Response<GetObjectRetentionOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        require_object_lock(&bucket)?;
        let version = self.core.object_version(Some(&principal), &bucket, &input.key, input.version_id.as_deref()).await.s3()?;
        let Readable::Shown(retention) = LockView::of(Some(&principal), &version).retention else {
            return Err(s3_error!(AccessDenied, "reading retention needs the readFileRetentions capability"));
        };
        let retention = retention
            .ok_or_else(|| s3_error!(NoSuchObjectLockConfiguration, "The specified object does not have a retention configuration"))?;
        Ok(S3Response::new(GetObjectRetentionOutput {
            retention: Some(ObjectLockRetention {
                mode: Some(ObjectLockRetentionMode::from(retention.mode.as_str().to_ascii_uppercase())),
                retain_until_date: Some(timestamp(retention.retain_until)),
            }),
        }))
    }

    async fn put_object_retention(&self, req: S3Request<PutObjectRetentionInput>) -> S3Result<S3Response<PutObjectRetentionOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        require_object_lock(&bucket)?;
        let version = self.core.addressed_version(&bucket, &input.key, input.version_id.as_deref()).await.s3()?;
        let retention = match input.retention {
            Some(ObjectLockRetention { mode: Some(mode), retain_until_date: Some(until) }) => {
                let mode = s3_lock_mode(mode.as_str()).ok_or_else(|| s3_error!(MalformedXML, "unknown retention mode"))?;
                Some(Retention { mode, retain_until: millis(&until) })
            }
            _ => None,
        };
        let bypass = input.bypass_governance_retention.unwrap_or(false);
        self.core.update_file_retention(&principal, &version.file_id, &version.name, retention, bypass).await.s3()?;
        Ok(S3Response::new(PutObjectRetentionOutput::default()))
    }

    async fn get_object_legal_hold(&self, req: S3Request<GetObjectLegalHoldInput>) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        require_object_lock(&bucket)?;
        let version = self.core.object_version(Some(&principal), &bucket, &input.key, input.version_id.as_deref()).await.s3()?;
        let Readable::Shown(legal_hold) = LockView::of(Some(&principal), &version).legal_hold else {
            return Err(s3_error!(AccessDenied, "reading a legal hold needs the readFileLegalHolds capability"));
        };
        let on = legal_hold.ok_or_else(|| s3_error!(NoSuchObjectLockConfiguration, "The specified object does not have a legal hold"))?;
        let status =
            ObjectLockLegalHoldStatus::from_static(if on { ObjectLockLegalHoldStatus::ON } else { ObjectLockLegalHoldStatus::OFF });
        Ok(S3Response::new(GetObjectLegalHoldOutput { legal_hold: Some(ObjectLockLegalHold { status: Some(status) }) }))
    }

    async fn put_object_legal_hold(&self, req: S3Request<PutObjectLegalHoldInput>) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        require_object_lock(&bucket)?;
        let version = self.core.addressed_version(&bucket, &input.key, input.version_id.as_deref()).await.s3()?;
        let on = match input.legal_hold.and_then(|h| h.status).as_ref().map(ObjectLockLegalHoldStatus::as_str) {
            Some(ObjectLockLegalHoldStatus::ON) => true,
            Some(ObjectLockLegalHoldStatus::OFF) => false,
            _ => return Err(s3_error!(MalformedXML, "the legal hold status must be ON or OFF")),
        };
        self.core.update_file_legal_hold(&principal, &version.file_id, &version.name, on).await.s3()?;
        Ok(S3Response::new(PutObjectLegalHoldOutput::default()))
    }

    async fn get_object_attributes(&self, req: S3Request<GetObjectAttributesInput>) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        let v = self.core.object_version(Some(&principal), &bucket, &input.key, input.version_id.as_deref()).await.s3()?;
        // The header is a comma-separated list; s3s may hand it over as one entry.
        let wants = |a: &str| input.object_attributes.iter().flat_map(|x| x.as_str().split(',')).any(|x| x.trim() == a);
        let parts = match &v.content {
            stowage_core::model::Content::Parts(parts) if wants(ObjectAttributes::OBJECT_PARTS) => {
                Some(GetObjectAttributesParts { total_parts_count: Some(parts.len() as i32), ..GetObjectAttributesParts::default() })
            }
            _ => None,
        };
        let checksum = wants(ObjectAttributes::CHECKSUM).then(|| {
            let mut c = Checksum::default();
            c.checksum_type = set_checksums!(c, super::checksum::reported(&v));
            c
        });
        Ok(S3Response::new(GetObjectAttributesOutput {
            checksum: checksum.filter(|c| c.checksum_type.is_some()),
            e_tag: wants(ObjectAttributes::ETAG).then(|| ETag::Strong(v.etag())),
            object_size: wants(ObjectAttributes::OBJECT_SIZE).then_some(v.size as i64),
            storage_class: wants(ObjectAttributes::STORAGE_CLASS).then(|| StorageClass::from_static(StorageClass::STANDARD)),
            object_parts: parts,
            last_modified: Some(timestamp(v.upload_timestamp)),
            version_id: version_id_out(&v),
            ..GetObjectAttributesOutput::default()
        }))
    }

    async fn get_bucket_acl(&self, req: S3Request<GetBucketAclInput>) -> S3Result<S3Response<GetBucketAclOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let bucket = self.core.bucket_for(Some(&principal), &req.input.bucket).await.s3()?;
        let owner_id = self.core.account_id().to_string();
        let owner = Owner { id: Some(owner_id.clone()), display_name: Some(owner_id.clone()) };
        let mut grants = vec![Grant {
            grantee: Some(Grantee {
                id: Some(owner_id.clone()),
                display_name: Some(owner_id),
                type_: Type::from_static(Type::CANONICAL_USER),
                email_address: None,
                uri: None,
            }),
            permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
        }];
        if bucket.bucket_type == BucketType::AllPublic {
            grants.push(Grant {
                grantee: Some(Grantee {
                    type_: Type::from_static(Type::GROUP),
                    uri: Some("http://acs.amazonaws.com/groups/global/AllUsers".into()),
                    id: None,
                    display_name: None,
                    email_address: None,
                }),
                permission: Some(Permission::from_static(Permission::READ)),
            });
        }
        Ok(S3Response::new(GetBucketAclOutput { grants: Some(grants), owner: Some(owner) }))
    }

    async fn put_bucket_acl(&self, req: S3Request<PutBucketAclInput>) -> S3Result<S3Response<PutBucketAclOutput>> {
        let principal = self.signed(req.credentials.as_ref()).await?;
        let input = req.input;
        let bucket = self.core.bucket_for(Some(&principal), &input.bucket).await.s3()?;
        // Like B2: a bucket is private or public-read; canned ACLs choose between the two.
        let bucket_type = match input.acl.as_ref().map(BucketCannedACL::as_str) {
            Some(BucketCannedACL::PRIVATE) => BucketType::AllPrivate,
            Some(BucketCannedACL::PUBLIC_READ) => BucketType::AllPublic,
            _ => return Err(s3_error!(NotImplemented, "only the canned ACLs private and public-read are supported")),
        };
        let settings = BucketSettings { bucket_type: Some(bucket_type), ..BucketSettings::default() };
        self.core.update_bucket(&principal, &bucket.id, settings, None).await.s3()?;
        Ok(S3Response::new(PutBucketAclOutput::default()))
    }
}

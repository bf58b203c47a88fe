//! Objects: GetObject and HeadObject (one read path), PutObject, DeleteObject(s), GetObjectAttributes.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use stowage_core::Stowage;
use stowage_core::auth::LockView;
use stowage_core::conditions::{Outcome, Preconditions};
use stowage_core::model::{Bucket as StoredBucket, Content, FileVersion, Versioning};
use stowage_core::service::{ByteRange, Deleted, Download, EncryptionRequest, NewFile, Sha1Check};

use super::checksum::{self, declared_checksums, set_checksums};
use super::context::{OrS3, RequestContext, StowageS3};
use super::error::to_s3;
use super::values::*;

/// Preconditions as GET and HEAD name them (`If-Match`, …); CopyObject and UploadPartCopy name the same
/// four `copy_source_if_*`.
macro_rules! preconditions_from {
    ($input:expr, $if_match:ident, $if_none_match:ident, $modified:ident, $unmodified:ident) => {
        stowage_core::conditions::Preconditions {
            if_match: $input.$if_match.as_ref().map($crate::s3::values::etag_condition),
            if_none_match: $input.$if_none_match.as_ref().map($crate::s3::values::etag_condition),
            if_modified_since: $input.$modified.as_ref().map($crate::s3::values::millis),
            if_unmodified_since: $input.$unmodified.as_ref().map($crate::s3::values::millis),
        }
    };
}
pub(super) use preconditions_from;

/// `response-*` query overrides of a GET or HEAD.
#[derive(Default)]
struct Overrides {
    content_type: Option<String>,
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    expires: Option<Timestamp>,
}

/// A GET or HEAD, parsed once from either input (s3s names their fields alike).
struct ObjectRead {
    key: String,
    version_id: Option<String>,
    preconditions: Preconditions,
    sse: Option<EncryptionRequest>,
    range: Option<ByteRange>,
    part_number: Option<u32>,
    checksums: bool,
    overrides: Overrides,
}

macro_rules! object_read {
    ($input:expr) => {{
        let input = $input;
        let part_number = match input.part_number {
            Some(n) => Some(part_number(n)?),
            None => None,
        };
        ObjectRead {
            preconditions: preconditions_from!(input, if_match, if_none_match, if_modified_since, if_unmodified_since),
            sse: sse_c!(input)?,
            range: input.range.as_ref().and_then(|r| ByteRange::parse(&r.to_header_string())),
            part_number,
            checksums: input.checksum_mode.as_ref().is_some_and(|m| m.as_str() == ChecksumMode::ENABLED),
            overrides: Overrides {
                content_type: input.response_content_type,
                cache_control: input.response_cache_control,
                content_disposition: input.response_content_disposition,
                content_encoding: input.response_content_encoding,
                content_language: input.response_content_language,
                expires: input.response_expires,
            },
            key: input.key,
            version_id: input.version_id,
        }
    }};
}

/// The headers GET and HEAD share, as either output type (they name them alike).
macro_rules! object_headers {
    ($ty:ident, $download:expr, $lock:expr, $read:expr) => {{
        let download: &Download = $download;
        let lock: LockView = $lock;
        let read: ObjectRead = $read;
        let v = &download.version;
        let info = |key: &str| v.info.get(key).cloned();
        let retention = lock.retention.shown().flatten();
        let mut out = $ty {
            accept_ranges: Some("bytes".into()),
            content_length: Some(download.range.map_or(v.size, |(_, len)| len) as i64),
            content_type: Some(read.overrides.content_type.unwrap_or_else(|| v.content_type.clone())),
            cache_control: read.overrides.cache_control.or_else(|| info("b2-cache-control")),
            content_disposition: read.overrides.content_disposition.or_else(|| info("b2-content-disposition")),
            content_encoding: read.overrides.content_encoding.or_else(|| info("b2-content-encoding")),
            content_language: read.overrides.content_language.or_else(|| info("b2-content-language")),
            expires: read
                .overrides
                .expires
                .or_else(|| info("b2-expires").and_then(|e| Timestamp::parse(TimestampFormat::HttpDate, &e).ok())),
            e_tag: Some(etag(v)),
            last_modified: Some(timestamp(v.upload_timestamp)),
            metadata: user_metadata(v),
            version_id: version_id_out(v),
            object_lock_mode: retention.map(|r| ObjectLockMode::from(lock_mode_name(r.mode))),
            object_lock_retain_until_date: retention.map(|r| timestamp(r.retain_until)),
            object_lock_legal_hold_status: lock.legal_hold.shown().flatten().map(legal_hold_status),
            parts_count: match &v.content {
                Content::Parts(parts) => Some(parts.len() as i32),
                _ => None,
            },
            ..$ty::default()
        };
        set_sse!(out, &v.encryption);
        match (read.part_number, &v.content) {
            // A part read names that part's checksums (with the object's checksum type), asked or not.
            (Some(n), Content::Parts(parts)) => {
                if let Some(part) = parts.get(n as usize - 1) {
                    let reported = checksum::Reported { kind: checksum::reported(v).kind, ..checksum::of_part(&part.checksums) };
                    out.checksum_type = set_checksums!(out, reported);
                }
            }
            // Checksums describe the whole object, so another ranged read does not carry them.
            _ if read.checksums && download.range.is_none() => {
                out.checksum_type = set_checksums!(out, checksum::reported(v));
            }
            _ => {}
        }
        out
    }};
}

/// `Content-Range` of a ranged read.
fn content_range(download: &Download) -> Option<String> {
    download.range.map(|(offset, len)| format!("bytes {}-{}/{}", offset, (offset + len).saturating_sub(1), download.version.size))
}

/// The shared part of GET and HEAD: find the version the caller may read, check preconditions, open it.
async fn read_object(s3: &StowageS3, cx: RequestContext, read: &ObjectRead, with_body: bool) -> S3Result<(Download, LockView)> {
    let version = match s3.core.object_version(cx.principal.as_ref(), &cx.bucket, &read.key, read.version_id.as_deref()).await {
        Ok(version) => version,
        Err(e @ stowage_core::Error::FileNotFound(_)) if read.version_id.is_none() => {
            // S3 says whether the key's current version is a delete marker.
            let marker = s3.core.latest_is_delete_marker(&cx.bucket, &read.key).await.s3()?;
            let mut err = to_s3(e);
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("x-amz-delete-marker", axum::http::HeaderValue::from_static(if marker { "true" } else { "false" }));
            err.set_headers(headers);
            return Err(err);
        }
        Err(e) => return Err(to_s3(e)),
    };
    match read.preconditions.evaluate(&version) {
        Outcome::Met => {}
        Outcome::NotModified => {
            // A 304 still names the version it stands for, as HTTP says it must.
            let mut err = s3_error!(NotModified);
            let mut headers = axum::http::HeaderMap::new();
            for (name, value) in
                [("etag", format!("\"{}\"", version.etag())), ("last-modified", http_date(&timestamp(version.upload_timestamp)))]
            {
                if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            }
            err.set_headers(headers);
            return Err(err);
        }
        Outcome::Failed => return Err(s3_error!(PreconditionFailed)),
    }
    let range = match read.part_number {
        Some(n) => Stowage::part_range(&version, n).s3()?,
        None => read.range,
    };
    let lock = LockView::of(cx.principal.as_ref(), &version);
    Ok((s3.core.open_object(cx.bucket, version, range, read.sse.as_ref(), with_body).await.s3()?, lock))
}

pub async fn get(s3: &StowageS3, mut req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
    refuse_sse_on_read(&req.headers)?;
    let cx = s3.reading(&mut req)?;
    let read = object_read!(req.input);
    let (download, lock) = read_object(s3, cx, &read, true).await?;
    let mut out = object_headers!(GetObjectOutput, &download, lock, read);
    out.content_range = content_range(&download);
    out.tag_count = (!download.version.tags.is_empty()).then_some(download.version.tags.len() as i32);
    // s3s wants a Sync stream; the body is only ever polled through `&mut`.
    out.body = Some(StreamingBlob::wrap(sync_wrapper::SyncStream::new(download.body)));
    Ok(S3Response::new(out))
}

/// HEAD is GET without the body: the same checks, the same headers, 206 for a range or part.
pub async fn head(s3: &StowageS3, mut req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
    refuse_sse_on_read(&req.headers)?;
    let cx = s3.reading(&mut req)?;
    let read = object_read!(req.input);
    let (download, lock) = read_object(s3, cx, &read, false).await?;
    let range = content_range(&download);
    let tag_count = download.version.tags.len();
    let mut response = S3Response::new(object_headers!(HeadObjectOutput, &download, lock, read));
    if let Some(value) = range.and_then(|r| axum::http::HeaderValue::from_str(&r).ok()) {
        // `partial_head_status` makes this a 206.
        response.headers.insert(axum::http::header::CONTENT_RANGE, value);
    }
    // s3s's HEAD output has no field for it; GET's does.
    if tag_count > 0 {
        response.headers.insert("x-amz-tagging-count", axum::http::HeaderValue::from(tag_count));
    }
    Ok(response)
}

/// The new version a PutObject or CreateMultipartUpload describes: both inputs carry the same metadata,
/// encryption, tagging, ACL and object-lock fields under the same names.
macro_rules! new_file_from {
    ($bucket:expr, $account_id:expr, $key:expr, $input:ident) => {{
        let mut file = $crate::s3::objects::new_file($bucket, $key, $input.content_type.as_ref(), file_info_from!($input));
        file.encryption = encryption_request(
            $input.server_side_encryption.as_ref(),
            $input.ssekms_key_id.as_deref(),
            $input.sse_customer_algorithm.as_deref(),
            $input.sse_customer_key.as_deref(),
            $input.sse_customer_key_md5.as_deref(),
        )?;
        (file.retention, file.legal_hold) = lock_from!($input)?;
        file.tags = tagging_header($input.tagging.as_ref());
        file.grants = $crate::s3::acl::requested_acl!(object $input).grants($account_id)?.unwrap_or_default();
        file
    }};
}
pub(super) use new_file_from;

pub fn new_file(
    bucket: &StoredBucket,
    key: String,
    content_type: Option<&String>,
    info: std::collections::BTreeMap<String, String>,
) -> NewFile {
    NewFile {
        bucket_id: bucket.id.clone(),
        name: key,
        content_type: content_type.cloned().unwrap_or_else(|| "b2/x-auto".into()),
        info,
        null_version: bucket.versioning.writes_null_versions(),
        ..NewFile::default()
    }
}

pub async fn put(s3: &StowageS3, mut req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
    // Browser form uploads (PostObject) arrive here too, through s3s's default `post_object`.
    let form_post = req.method == axum::http::Method::POST;
    if form_post
        && let (Some(expected), Some(region)) = (&s3.region, &req.region)
        && region.as_str() != expected
    {
        // Header and query signatures are checked in `RequestChecks`; a form carries its credential in a field.
        return Err(s3_error!(AuthorizationQueryParametersError, "{}", super::wrong_region(region.as_str(), expected)));
    }
    let cx = s3.acting(&mut req)?;
    let (headers, trailers) = (req.headers, req.trailing_headers);
    let input = req.input;
    let declared = declared_checksums!(input);
    let mut file = new_file_from!(&cx.bucket, s3.core.account_id(), input.key, input);
    if headers.get("content-md5").is_some_and(|v| v.is_empty()) {
        return Err(s3_error!(InvalidDigest, "Content-MD5 is empty"));
    }
    file.expected_md5 = content_md5_hex(input.content_md5.as_ref())?;
    file.condition = write_condition(input.if_none_match.as_ref(), input.if_match.as_ref());
    let length = input.content_length.and_then(|n| u64::try_from(n).ok());
    let (body, check) = checksum::verify(body_stream(input.body), declared, &headers, trailers);
    let version = s3.core.upload_file(&cx.principal, file, Sha1Check::Compute, length, body, check).await.s3()?;
    let mut out = PutObjectOutput { e_tag: Some(etag(&version)), version_id: version_id_out(&version), ..PutObjectOutput::default() };
    set_sse!(out, &version.encryption);
    out.checksum_type = set_checksums!(out, checksum::reported(&version));
    let mut response = S3Response::new(out);
    if form_post {
        // S3 answers a form upload's 204 with the object's ETag and Location as headers.
        let location = format!("{}/{}/{}", s3.core.config().public_url, cx.bucket.name, url_encode_key(&version.name));
        for (name, value) in [("etag", format!("\"{}\"", version.etag())), ("location", location)] {
            if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                response.headers.insert(name, value);
            }
        }
    }
    Ok(response)
}

/// What an S3 delete answers with: (version id, delete marker). A delete without a version id in an
/// unversioned bucket names no version (AWS sends none there) and says `DeleteMarker` only if it left one.
fn delete_answer(bucket: &StoredBucket, requested: Option<&str>, deleted: Deleted) -> (Option<String>, Option<bool>) {
    if bucket.versioning == Versioning::Unversioned && requested.is_none() {
        return (None, deleted.delete_marker.then_some(true));
    }
    (Some(deleted.version_id), Some(deleted.delete_marker))
}

pub async fn delete(s3: &StowageS3, mut req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
    let cx = s3.acting(&mut req)?;
    let input = req.input;
    let bypass = input.bypass_governance_retention.unwrap_or(false);
    let deleted = s3.core.delete_object(&cx.principal, &cx.bucket, &input.key, input.version_id.as_deref(), bypass).await.s3()?;
    let (version_id, delete_marker) = delete_answer(&cx.bucket, input.version_id.as_deref(), deleted);
    Ok(S3Response::new(DeleteObjectOutput { delete_marker, version_id, ..DeleteObjectOutput::default() }))
}

pub async fn delete_many(s3: &StowageS3, mut req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let cx = s3.acting(&mut req)?;
    let objects = std::mem::take(&mut req.input.delete.objects);
    if objects.len() > 1000 {
        return Err(s3_error!(MalformedXML, "at most 1000 keys per DeleteObjects request"));
    }
    let bypass = req.input.bypass_governance_retention.unwrap_or(false);
    let quiet = req.input.delete.quiet.unwrap_or(false);
    let (mut deleted, mut errors) = (Vec::new(), Vec::new());
    for object in objects {
        // Each key is checked as its own DeleteObject would be: the bucket policy on that key included.
        let outcome = async {
            s3.authorize_each(&req, &cx, &object.key, object.version_id.as_deref()).await?;
            s3.core.delete_object(&cx.principal, &cx.bucket, &object.key, object.version_id.as_deref(), bypass).await.s3()
        }
        .await;
        match outcome {
            Ok(_) if quiet => {}
            Ok(d) => {
                let made_marker = d.delete_marker && object.version_id.is_none();
                let (version_id, delete_marker) = delete_answer(&cx.bucket, object.version_id.as_deref(), d);
                // A marker this delete made is named as such, not as the version deleted.
                let (version_id, marker_id) = if made_marker { (None, version_id) } else { (version_id, None) };
                deleted.push(DeletedObject { key: Some(object.key), version_id, delete_marker, delete_marker_version_id: marker_id });
            }
            Err(err) => {
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

pub async fn attributes(s3: &StowageS3, mut req: S3Request<GetObjectAttributesInput>) -> S3Result<S3Response<GetObjectAttributesOutput>> {
    let cx = s3.acting(&mut req)?;
    let input = req.input;
    let v: FileVersion = s3.core.object_version(Some(&cx.principal), &cx.bucket, &input.key, input.version_id.as_deref()).await.s3()?;
    // An SSE-C object's attributes are read with its key, as its bytes are.
    s3.core.check_sse_c(&v, sse_c!(input)?.as_ref()).s3()?;
    // The header is a comma-separated list; s3s may hand it over as one entry.
    let wants = |a: &str| input.object_attributes.iter().flat_map(|x| x.as_str().split(',')).any(|x| x.trim() == a);
    let parts = match &v.content {
        Content::Parts(parts) if wants(ObjectAttributes::OBJECT_PARTS) => {
            // A page of parts after PartNumberMarker, MaxParts (default 1000) long.
            let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
            let after = input.part_number_marker.unwrap_or(0).max(0) as usize;
            let page: Vec<ObjectPart> = parts
                .iter()
                .enumerate()
                .skip(after)
                .take(max)
                .map(|(i, p)| {
                    let mut part = ObjectPart { part_number: Some(i as i32 + 1), size: Some(p.size as i64), ..ObjectPart::default() };
                    set_checksums!(part, checksum::of_part(&p.checksums));
                    part
                })
                .collect();
            let last = page.last().and_then(|p| p.part_number);
            let truncated = after + page.len() < parts.len();
            Some(GetObjectAttributesParts {
                total_parts_count: Some(parts.len() as i32),
                part_number_marker: Some(after as i32),
                next_part_number_marker: last,
                max_parts: Some(max as i32),
                is_truncated: Some(truncated),
                parts: Some(page),
            })
        }
        _ => None,
    };
    let checksum = wants(ObjectAttributes::CHECKSUM).then(|| {
        let mut c = Checksum::default();
        c.checksum_type = set_checksums!(c, checksum::reported(&v));
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

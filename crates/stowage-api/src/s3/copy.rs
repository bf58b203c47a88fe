//! Server-side copies: CopyObject and UploadPartCopy, and the copy source they share.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use stowage_core::conditions::{Outcome, Preconditions};
use stowage_core::model::FileVersion;
use stowage_core::service::{ByteRange, CopyPart, CopyRequest, MetadataDirective as Directive};

use super::context::{BucketRequest, OrS3, StowageS3};
use super::objects::preconditions_from;
use super::values::*;

/// Resolves an `x-amz-copy-source` to the version it names, if its `x-amz-copy-source-if-*` hold (every
/// failed condition is a 412: there is no "not modified" for a write).
async fn copy_source<T>(
    s3: &StowageS3,
    req: &S3Request<T>,
    cx: &BucketRequest,
    source: &CopySource,
    conditions: &Preconditions,
) -> S3Result<FileVersion> {
    let CopySource::Bucket { bucket, key, version_id } = source else {
        return Err(s3_error!(NotImplemented, "access point copy sources are not supported"));
    };
    let bucket = s3.copy_source_bucket(req, cx, bucket, key, version_id.as_deref()).await?;
    let version = s3.core.object_version(Some(&cx.principal), &bucket, key, version_id.as_deref()).await.s3()?;
    match conditions.evaluate(&version) {
        Outcome::Met => Ok(version),
        Outcome::NotModified | Outcome::Failed => Err(s3_error!(PreconditionFailed)),
    }
}

/// The version a CopyObject or UploadPartCopy reads, under its `x-amz-copy-source-if-*` conditions (both
/// inputs name them alike).
macro_rules! copy_source {
    ($s3:expr, $req:expr, $cx:expr) => {{
        let conditions = preconditions_from!(
            $req.input,
            copy_source_if_match,
            copy_source_if_none_match,
            copy_source_if_modified_since,
            copy_source_if_unmodified_since
        );
        copy_source($s3, &$req, &$cx, &$req.input.copy_source, &conditions).await
    }};
}

pub async fn copy_object(s3: &StowageS3, mut req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
    let cx = s3.acting(&mut req)?;
    let source = copy_source!(s3, req, cx)?;
    let BucketRequest { principal, bucket, .. } = cx;
    let input = req.input;
    let replace = match input.metadata_directive.as_ref().map(MetadataDirective::as_str) {
        Some(MetadataDirective::REPLACE) => true,
        Some(MetadataDirective::COPY) | None => false,
        Some(other) => return Err(s3_error!(InvalidArgument, "Unknown metadata directive: {other}")),
    };
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
        Directive::Replace {
            content_type: input.content_type.clone().unwrap_or_else(|| source.content_type.clone()),
            info: file_info_from!(input),
        }
    } else {
        Directive::Copy
    };
    let (retention, legal_hold) = lock_from!(input)?;
    let copy = CopyRequest {
        source_file_id: source.file_id.clone(),
        name: input.key.clone(),
        destination_bucket_id: Some(bucket.id.clone()),
        range: None,
        directive,
        source_encryption: copy_source_sse_c!(input)?,
        destination_encryption: encryption_request(
            input.server_side_encryption.as_ref(),
            input.ssekms_key_id.as_deref(),
            input.sse_customer_algorithm.as_deref(),
            input.sse_customer_key.as_deref(),
            input.sse_customer_key_md5.as_deref(),
        )?,
        retention,
        legal_hold,
        null_version: bucket.versioning.writes_null_versions(),
        grants: super::acl::requested_acl!(object input).grants(s3.core.account_id())?.unwrap_or_default(),
        tags: match input.tagging_directive.as_ref().map(TaggingDirective::as_str) {
            Some(TaggingDirective::REPLACE) => Some(tagging_header(input.tagging.as_ref())),
            Some(TaggingDirective::COPY) | None => None,
            Some(other) => return Err(s3_error!(InvalidArgument, "Unknown tagging directive: {other}")),
        },
    };
    let version = s3.core.copy_file(&principal, copy).await.s3()?;
    let result = CopyObjectResult {
        e_tag: Some(etag(&version)),
        last_modified: Some(timestamp(version.upload_timestamp)),
        ..CopyObjectResult::default()
    };
    let mut out = CopyObjectOutput {
        copy_object_result: Some(result),
        version_id: version_id_out(&version),
        copy_source_version_id: Some(source.s3_version_id().to_string()),
        ..CopyObjectOutput::default()
    };
    set_sse!(out, &version.encryption);
    Ok(S3Response::new(out))
}

pub async fn upload_part_copy(s3: &StowageS3, mut req: S3Request<UploadPartCopyInput>) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let cx = s3.acting(&mut req)?;
    let source = copy_source!(s3, req, cx)?;
    let principal = cx.principal;
    let input = req.input;
    let part_number = part_number(input.part_number)?;
    let range = match &input.copy_source_range {
        Some(r) => Some(ByteRange::parse(r).ok_or_else(|| s3_error!(InvalidArgument, "x-amz-copy-source-range must be bytes=first-last"))?),
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
        large_file_id: input.upload_id.clone(),
        part_number,
        range,
        source_sse: copy_source_sse_c!(input)?,
        destination_sse: sse_c!(input)?,
    };
    let stored = s3.core.copy_part(&principal, copy).await.s3()?;
    let result = CopyPartResult {
        e_tag: Some(ETag::Strong(stored.part.md5)),
        last_modified: Some(timestamp(stored.part.upload_timestamp)),
        ..CopyPartResult::default()
    };
    let mut out = UploadPartCopyOutput {
        copy_part_result: Some(result),
        copy_source_version_id: Some(source.s3_version_id().to_string()),
        ..UploadPartCopyOutput::default()
    };
    // The part is sealed as its upload is: that encryption is named (an SSE-C key by its MD5).
    set_sse!(out, &stored.encryption);
    Ok(S3Response::new(out))
}

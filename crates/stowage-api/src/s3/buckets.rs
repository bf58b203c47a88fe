//! Buckets: list, create, head, delete, location, versioning (ACLs and policies are in `access.rs`).

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use stowage_core::model::{BucketAccess, Versioning, split_bucket_acl};
use stowage_core::service::{BucketFilter, BucketSettings, PendingUploads};

use super::acl::requested_acl;
use super::context::{OrS3, StowageS3};
use super::error::to_s3;
use super::values::*;

pub async fn list(s3: &StowageS3, mut req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let principal = s3.account(&mut req)?;
    let input = req.input;
    // Pages of MaxBuckets names, in name order; the token is the last name given (base64url).
    let after = match input.continuation_token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => Some(
            URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))?,
        ),
        None => None,
    };
    let max = match input.max_buckets {
        Some(n) if !(1..=10_000).contains(&n) => return Err(s3_error!(InvalidArgument, "max-buckets must be between 1 and 10000")),
        Some(n) => n as usize,
        None => usize::MAX,
    };
    let mut buckets = s3.core.list_buckets(&principal, &BucketFilter::default(), false).await.s3()?;
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    let mut page: Vec<_> = buckets
        .into_iter()
        .filter(|b| after.as_ref().is_none_or(|a| b.name > *a) && input.prefix.as_ref().is_none_or(|p| b.name.starts_with(p.as_str())))
        .take(max.saturating_add(1))
        .collect();
    let next = if page.len() > max {
        page.truncate(max);
        page.last().map(|b| URL_SAFE_NO_PAD.encode(&b.name))
    } else {
        None
    };
    let buckets =
        page.into_iter().map(|b| Bucket { name: Some(b.name), creation_date: Some(timestamp(b.created)), ..Bucket::default() }).collect();
    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(buckets),
        owner: Some(super::acl::owner(s3.core.account_id())),
        continuation_token: next,
        prefix: input.prefix,
    }))
}

pub async fn create(s3: &StowageS3, mut req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
    let principal = s3.account(&mut req)?;
    let input = req.input;
    let (bucket_type, grants) = split_bucket_acl(requested_acl!(bucket input).grants(s3.core.account_id())?.unwrap_or_default());
    let object_ownership = input.object_ownership.as_ref().map(|o| super::access::ownership_in(o.as_str())).transpose()?;
    let access = BucketAccess { grants, object_ownership, ..BucketAccess::default() };
    let settings = BucketSettings {
        bucket_type: Some(bucket_type),
        file_lock_enabled: input.object_lock_enabled_for_bucket.filter(|on| *on),
        versioning: Some(if s3.core.config().s3_buckets_versioned { Versioning::Enabled } else { Versioning::Unversioned }),
        access: Some(access),
        s3_naming: true,
        ..BucketSettings::default()
    };
    let bucket_type = settings.bucket_type;
    match s3.core.create_bucket(&principal, &input.bucket, settings).await {
        Ok(_) => {}
        // us-east-1 answers the owner re-creating a bucket as it is with 200, changing nothing (as AWS does
        // there); any other difference, or region, is BucketAlreadyOwnedByYou.
        Err(stowage_core::Error::DuplicateBucketName(_))
            if s3.region.as_deref().is_none_or(|r| r == "us-east-1")
                && s3.core.bucket_for(Some(&principal), &input.bucket).await.is_ok_and(|b| Some(b.bucket_type) == bucket_type) => {}
        Err(e) => return Err(to_s3(e)),
    }
    Ok(S3Response::new(CreateBucketOutput { location: Some(format!("/{}", input.bucket)) }))
}

pub async fn head(s3: &StowageS3, mut req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
    s3.reading(&mut req)?;
    Ok(S3Response::new(HeadBucketOutput::default()))
}

pub async fn delete(s3: &StowageS3, mut req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
    let cx = s3.acting(&mut req)?;
    s3.core.delete_bucket(&cx.principal, &cx.bucket.id, PendingUploads::Abort).await.s3()?;
    Ok(S3Response::new(DeleteBucketOutput::default()))
}

pub async fn location(s3: &StowageS3, mut req: S3Request<GetBucketLocationInput>) -> S3Result<S3Response<GetBucketLocationOutput>> {
    s3.acting(&mut req)?;
    // us-east-1 is reported as an empty LocationConstraint, as AWS does.
    let location = s3.region.clone().filter(|r| r != "us-east-1").map(BucketLocationConstraint::from);
    Ok(S3Response::new(GetBucketLocationOutput { location_constraint: location }))
}

pub async fn get_versioning(
    s3: &StowageS3,
    mut req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    let cx = s3.acting(&mut req)?;
    let status = match cx.bucket.versioning {
        Versioning::Enabled => Some(BucketVersioningStatus::ENABLED),
        Versioning::Suspended => Some(BucketVersioningStatus::SUSPENDED),
        Versioning::Unversioned => None,
    };
    Ok(S3Response::new(GetBucketVersioningOutput {
        status: status.map(BucketVersioningStatus::from_static),
        ..GetBucketVersioningOutput::default()
    }))
}

pub async fn put_versioning(
    s3: &StowageS3,
    mut req: S3Request<PutBucketVersioningInput>,
) -> S3Result<S3Response<PutBucketVersioningOutput>> {
    let cx = s3.acting(&mut req)?;
    let state = match req.input.versioning_configuration.status.as_ref().map(BucketVersioningStatus::as_str) {
        Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
        Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
        _ => return Err(s3_error!(IllegalVersioningConfigurationException, "the versioning status must be Enabled or Suspended")),
    };
    let settings = BucketSettings { versioning: Some(state), ..BucketSettings::default() };
    s3.core.update_bucket(&cx.principal, &cx.bucket.id, settings, None).await.s3()?;
    Ok(S3Response::new(PutBucketVersioningOutput::default()))
}

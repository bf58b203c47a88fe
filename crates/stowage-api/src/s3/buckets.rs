//! Buckets: list, create, head, delete, location, versioning, ACL.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use stowage_core::model::{BucketType, Versioning};
use stowage_core::service::{BucketFilter, BucketSettings, PendingUploads};

use super::context::{OrS3, StowageS3};
use super::values::*;

fn owner(s3: &StowageS3) -> Owner {
    let id = s3.core.account_id().to_string();
    Owner { id: Some(id.clone()), display_name: Some(id) }
}

pub async fn list(s3: &StowageS3, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
    let principal = s3.signed(req.credentials.as_ref()).await?;
    let buckets = s3.core.list_buckets(&principal, &BucketFilter::default(), false).await.s3()?;
    let buckets = buckets
        .into_iter()
        .map(|b| Bucket { name: Some(b.name), creation_date: Some(timestamp(b.created)), ..Bucket::default() })
        .collect();
    Ok(S3Response::new(ListBucketsOutput { buckets: Some(buckets), owner: Some(owner(s3)), ..ListBucketsOutput::default() }))
}

pub async fn create(s3: &StowageS3, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
    let principal = s3.signed(req.credentials.as_ref()).await?;
    let input = req.input;
    if input.bucket.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(s3_error!(InvalidBucketName, "S3 bucket names must be lowercase"));
    }
    let public = input.acl.as_ref().is_some_and(|acl| acl.as_str() == BucketCannedACL::PUBLIC_READ);
    let settings = BucketSettings {
        bucket_type: Some(if public { BucketType::AllPublic } else { BucketType::AllPrivate }),
        file_lock_enabled: input.object_lock_enabled_for_bucket.filter(|on| *on),
        versioning: Some(if s3.core.config().s3_buckets_versioned { Versioning::Enabled } else { Versioning::Unversioned }),
        ..BucketSettings::default()
    };
    s3.core.create_bucket(&principal, &input.bucket, settings).await.s3()?;
    Ok(S3Response::new(CreateBucketOutput { location: Some(format!("/{}", input.bucket)) }))
}

pub async fn head(s3: &StowageS3, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
    s3.read_request(req.credentials.as_ref(), &req.input.bucket).await?;
    Ok(S3Response::new(HeadBucketOutput::default()))
}

pub async fn delete(s3: &StowageS3, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
    let cx = s3.bucket_request(req.credentials.as_ref(), &req.input.bucket).await?;
    s3.core.delete_bucket(&cx.principal, &cx.bucket.id, PendingUploads::Abort).await.s3()?;
    Ok(S3Response::new(DeleteBucketOutput::default()))
}

pub async fn location(s3: &StowageS3, req: S3Request<GetBucketLocationInput>) -> S3Result<S3Response<GetBucketLocationOutput>> {
    s3.bucket_request(req.credentials.as_ref(), &req.input.bucket).await?;
    // us-east-1 is reported as an empty LocationConstraint, as AWS does.
    let location = s3.region.clone().filter(|r| r != "us-east-1").map(BucketLocationConstraint::from);
    Ok(S3Response::new(GetBucketLocationOutput { location_constraint: location }))
}

pub async fn get_versioning(s3: &StowageS3, req: S3Request<GetBucketVersioningInput>) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    let cx = s3.bucket_request(req.credentials.as_ref(), &req.input.bucket).await?;
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

pub async fn put_versioning(s3: &StowageS3, req: S3Request<PutBucketVersioningInput>) -> S3Result<S3Response<PutBucketVersioningOutput>> {
    let cx = s3.bucket_request(req.credentials.as_ref(), &req.input.bucket).await?;
    let state = match req.input.versioning_configuration.status.as_ref().map(BucketVersioningStatus::as_str) {
        Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
        Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
        _ => return Err(s3_error!(IllegalVersioningConfigurationException, "the versioning status must be Enabled or Suspended")),
    };
    let settings = BucketSettings { versioning: Some(state), ..BucketSettings::default() };
    s3.core.update_bucket(&cx.principal, &cx.bucket.id, settings, None).await.s3()?;
    Ok(S3Response::new(PutBucketVersioningOutput::default()))
}

pub async fn get_acl(s3: &StowageS3, req: S3Request<GetBucketAclInput>) -> S3Result<S3Response<GetBucketAclOutput>> {
    let cx = s3.bucket_request(req.credentials.as_ref(), &req.input.bucket).await?;
    let owner = owner(s3);
    let mut grants = vec![Grant {
        grantee: Some(Grantee {
            id: owner.id.clone(),
            display_name: owner.display_name.clone(),
            type_: Type::from_static(Type::CANONICAL_USER),
            email_address: None,
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    }];
    if cx.bucket.bucket_type == BucketType::AllPublic {
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

pub async fn put_acl(s3: &StowageS3, req: S3Request<PutBucketAclInput>) -> S3Result<S3Response<PutBucketAclOutput>> {
    let cx = s3.bucket_request(req.credentials.as_ref(), &req.input.bucket).await?;
    // Like B2: a bucket is private or public-read; canned ACLs choose between the two.
    let bucket_type = match req.input.acl.as_ref().map(BucketCannedACL::as_str) {
        Some(BucketCannedACL::PRIVATE) => BucketType::AllPrivate,
        Some(BucketCannedACL::PUBLIC_READ) => BucketType::AllPublic,
        _ => return Err(s3_error!(NotImplemented, "only the canned ACLs private and public-read are supported")),
    };
    let settings = BucketSettings { bucket_type: Some(bucket_type), ..BucketSettings::default() };
    s3.core.update_bucket(&cx.principal, &cx.bucket.id, settings, None).await.s3()?;
    Ok(S3Response::new(PutBucketAclOutput::default()))
}

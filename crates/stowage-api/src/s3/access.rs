//! Access settings: bucket policies and their status, the public access block, object ownership, and
//! bucket and object ACLs. The decisions are the core's (`service/access.rs`); this file speaks S3.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use stowage_core::model::{ObjectOwnership as Ownership, PublicAccessBlock};

use super::acl::{self, requested_acl};
use super::context::{OrS3, StowageS3};
use super::error::custom_error;

pub async fn put_policy(s3: &StowageS3, mut req: S3Request<PutBucketPolicyInput>) -> S3Result<S3Response<PutBucketPolicyOutput>> {
    let cx = s3.acting(&mut req)?;
    s3.core.set_bucket_policy(&cx.principal, &cx.bucket, Some(req.input.policy)).await.s3()?;
    Ok(S3Response::new(PutBucketPolicyOutput::default()))
}

pub async fn get_policy(s3: &StowageS3, mut req: S3Request<GetBucketPolicyInput>) -> S3Result<S3Response<GetBucketPolicyOutput>> {
    let cx = s3.acting(&mut req)?;
    let policy = s3.core.bucket_policy(&cx.principal, &cx.bucket).s3()?;
    let policy = policy.ok_or_else(|| s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist"))?;
    Ok(S3Response::new(GetBucketPolicyOutput { policy: Some(policy) }))
}

pub async fn delete_policy(s3: &StowageS3, mut req: S3Request<DeleteBucketPolicyInput>) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
    let cx = s3.acting(&mut req)?;
    s3.core.set_bucket_policy(&cx.principal, &cx.bucket, None).await.s3()?;
    Ok(S3Response::new(DeleteBucketPolicyOutput::default()))
}

pub async fn policy_status(
    s3: &StowageS3,
    mut req: S3Request<GetBucketPolicyStatusInput>,
) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
    let cx = s3.acting(&mut req)?;
    let public = s3.core.bucket_is_public(&cx.principal, &cx.bucket).s3()?;
    Ok(S3Response::new(GetBucketPolicyStatusOutput { policy_status: Some(PolicyStatus { is_public: Some(public) }) }))
}

pub async fn put_public_access_block(
    s3: &StowageS3,
    mut req: S3Request<PutPublicAccessBlockInput>,
) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
    let cx = s3.acting(&mut req)?;
    let c = &req.input.public_access_block_configuration;
    let block = PublicAccessBlock {
        block_public_acls: c.block_public_acls.unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
        block_public_policy: c.block_public_policy.unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
    };
    s3.core.set_public_access_block(&cx.principal, &cx.bucket, Some(block)).await.s3()?;
    Ok(S3Response::new(PutPublicAccessBlockOutput::default()))
}

pub async fn get_public_access_block(
    s3: &StowageS3,
    mut req: S3Request<GetPublicAccessBlockInput>,
) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
    let cx = s3.acting(&mut req)?;
    let block = cx.bucket.access.public_access_block.ok_or_else(|| {
        custom_error(
            "NoSuchPublicAccessBlockConfiguration",
            axum::http::StatusCode::NOT_FOUND,
            "The public access block configuration was not found",
        )
    })?;
    Ok(S3Response::new(GetPublicAccessBlockOutput {
        public_access_block_configuration: Some(PublicAccessBlockConfiguration {
            block_public_acls: Some(block.block_public_acls),
            ignore_public_acls: Some(block.ignore_public_acls),
            block_public_policy: Some(block.block_public_policy),
            restrict_public_buckets: Some(block.restrict_public_buckets),
        }),
    }))
}

pub async fn delete_public_access_block(
    s3: &StowageS3,
    mut req: S3Request<DeletePublicAccessBlockInput>,
) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
    let cx = s3.acting(&mut req)?;
    s3.core.set_public_access_block(&cx.principal, &cx.bucket, None).await.s3()?;
    Ok(S3Response::new(DeletePublicAccessBlockOutput::default()))
}

/// S3's object ownership names.
pub fn ownership_in(name: &str) -> S3Result<Ownership> {
    Ownership::parse(name)
        .ok_or_else(|| s3_error!(MalformedXML, "ObjectOwnership is BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter"))
}

pub async fn put_ownership(
    s3: &StowageS3,
    mut req: S3Request<PutBucketOwnershipControlsInput>,
) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
    let cx = s3.acting(&mut req)?;
    let [rule] = req.input.ownership_controls.rules.as_slice() else {
        return Err(s3_error!(MalformedXML, "OwnershipControls has exactly one rule"));
    };
    let ownership = ownership_in(rule.object_ownership.as_str())?;
    s3.core.set_object_ownership(&cx.principal, &cx.bucket, Some(ownership)).await.s3()?;
    Ok(S3Response::new(PutBucketOwnershipControlsOutput::default()))
}

pub async fn get_ownership(
    s3: &StowageS3,
    mut req: S3Request<GetBucketOwnershipControlsInput>,
) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
    let cx = s3.acting(&mut req)?;
    let ownership = cx
        .bucket
        .access
        .object_ownership
        .ok_or_else(|| s3_error!(OwnershipControlsNotFoundError, "The bucket ownership controls were not found"))?;
    let rule = OwnershipControlsRule { object_ownership: ObjectOwnership::from(ownership.as_str().to_string()) };
    Ok(S3Response::new(GetBucketOwnershipControlsOutput { ownership_controls: Some(OwnershipControls { rules: vec![rule] }) }))
}

pub async fn delete_ownership(
    s3: &StowageS3,
    mut req: S3Request<DeleteBucketOwnershipControlsInput>,
) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
    let cx = s3.acting(&mut req)?;
    s3.core.set_object_ownership(&cx.principal, &cx.bucket, None).await.s3()?;
    Ok(S3Response::new(DeleteBucketOwnershipControlsOutput::default()))
}

pub async fn get_bucket_acl(s3: &StowageS3, mut req: S3Request<GetBucketAclInput>) -> S3Result<S3Response<GetBucketAclOutput>> {
    let cx = s3.acting(&mut req)?;
    let account_id = s3.core.account_id();
    let grants = cx.bucket.acl_grants();
    Ok(S3Response::new(GetBucketAclOutput { grants: Some(acl::grants_out(account_id, &grants)), owner: Some(acl::owner(account_id)) }))
}

pub async fn put_bucket_acl(s3: &StowageS3, mut req: S3Request<PutBucketAclInput>) -> S3Result<S3Response<PutBucketAclOutput>> {
    let cx = s3.acting(&mut req)?;
    let account_id = s3.core.account_id();
    let input = req.input;
    let grants = match requested_acl!(bucket input).grants(account_id)? {
        Some(grants) => grants,
        None => {
            let policy = input.access_control_policy.ok_or_else(|| s3_error!(MalformedACLError, "the request names no ACL"))?;
            acl::policy_grants(policy, account_id)?
        }
    };
    s3.core.set_bucket_acl(&cx.principal, &cx.bucket, grants).await.s3()?;
    Ok(S3Response::new(PutBucketAclOutput::default()))
}

pub async fn get_object_acl(s3: &StowageS3, mut req: S3Request<GetObjectAclInput>) -> S3Result<S3Response<GetObjectAclOutput>> {
    let cx = s3.acting(&mut req)?;
    let input = req.input;
    let version = s3.core.addressed_version(&cx.bucket, &input.key, input.version_id.as_deref()).await.s3()?;
    let grants = s3.core.object_acl(&cx.principal, &version).s3()?;
    let account_id = s3.core.account_id();
    Ok(S3Response::new(GetObjectAclOutput {
        grants: Some(acl::grants_out(account_id, &grants)),
        owner: Some(acl::owner(account_id)),
        ..GetObjectAclOutput::default()
    }))
}

pub async fn put_object_acl(s3: &StowageS3, mut req: S3Request<PutObjectAclInput>) -> S3Result<S3Response<PutObjectAclOutput>> {
    let cx = s3.acting(&mut req)?;
    let account_id = s3.core.account_id();
    let input = req.input;
    let version = s3.core.addressed_version(&cx.bucket, &input.key, input.version_id.as_deref()).await.s3()?;
    let grants = match requested_acl!(object input).grants(account_id)? {
        Some(grants) => grants,
        None => {
            let policy = input.access_control_policy.ok_or_else(|| s3_error!(MalformedACLError, "the request names no ACL"))?;
            acl::policy_grants(policy, account_id)?
        }
    };
    s3.core.set_object_acl(&cx.principal, &cx.bucket, version, grants).await.s3()?;
    Ok(S3Response::new(PutObjectAclOutput::default()))
}

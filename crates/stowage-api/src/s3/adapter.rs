//! `impl s3s::S3` for Stowage: a table from each S3 operation to the module that handles it. Handlers
//! parse s3s's input, call the core (where access is decided), and render; errors map in `error.rs`.

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};

use super::context::StowageS3;
use super::{access, bucket_config, buckets, copy, lifecycle, listings, multipart, object_config, objects};

#[async_trait::async_trait]
#[rustfmt::skip]
impl S3 for StowageS3 {
    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> { buckets::list(self, req).await }
    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> { buckets::create(self, req).await }
    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> { buckets::head(self, req).await }
    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> { buckets::delete(self, req).await }
    async fn get_bucket_location(&self, req: S3Request<GetBucketLocationInput>) -> S3Result<S3Response<GetBucketLocationOutput>> { buckets::location(self, req).await }
    async fn get_bucket_versioning(&self, req: S3Request<GetBucketVersioningInput>) -> S3Result<S3Response<GetBucketVersioningOutput>> { buckets::get_versioning(self, req).await }
    async fn put_bucket_versioning(&self, req: S3Request<PutBucketVersioningInput>) -> S3Result<S3Response<PutBucketVersioningOutput>> { buckets::put_versioning(self, req).await }
    async fn get_bucket_acl(&self, req: S3Request<GetBucketAclInput>) -> S3Result<S3Response<GetBucketAclOutput>> { access::get_bucket_acl(self, req).await }
    async fn put_bucket_acl(&self, req: S3Request<PutBucketAclInput>) -> S3Result<S3Response<PutBucketAclOutput>> { access::put_bucket_acl(self, req).await }
    async fn get_object_acl(&self, req: S3Request<GetObjectAclInput>) -> S3Result<S3Response<GetObjectAclOutput>> { access::get_object_acl(self, req).await }
    async fn put_object_acl(&self, req: S3Request<PutObjectAclInput>) -> S3Result<S3Response<PutObjectAclOutput>> { access::put_object_acl(self, req).await }
    async fn put_bucket_policy(&self, req: S3Request<PutBucketPolicyInput>) -> S3Result<S3Response<PutBucketPolicyOutput>> { access::put_policy(self, req).await }
    async fn get_bucket_policy(&self, req: S3Request<GetBucketPolicyInput>) -> S3Result<S3Response<GetBucketPolicyOutput>> { access::get_policy(self, req).await }
    async fn delete_bucket_policy(&self, req: S3Request<DeleteBucketPolicyInput>) -> S3Result<S3Response<DeleteBucketPolicyOutput>> { access::delete_policy(self, req).await }
    async fn get_bucket_policy_status(&self, req: S3Request<GetBucketPolicyStatusInput>) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> { access::policy_status(self, req).await }
    async fn put_public_access_block(&self, req: S3Request<PutPublicAccessBlockInput>) -> S3Result<S3Response<PutPublicAccessBlockOutput>> { access::put_public_access_block(self, req).await }
    async fn get_public_access_block(&self, req: S3Request<GetPublicAccessBlockInput>) -> S3Result<S3Response<GetPublicAccessBlockOutput>> { access::get_public_access_block(self, req).await }
    async fn delete_public_access_block(&self, req: S3Request<DeletePublicAccessBlockInput>) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> { access::delete_public_access_block(self, req).await }
    async fn put_bucket_ownership_controls(&self, req: S3Request<PutBucketOwnershipControlsInput>) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> { access::put_ownership(self, req).await }
    async fn get_bucket_ownership_controls(&self, req: S3Request<GetBucketOwnershipControlsInput>) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> { access::get_ownership(self, req).await }
    async fn delete_bucket_ownership_controls(&self, req: S3Request<DeleteBucketOwnershipControlsInput>) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> { access::delete_ownership(self, req).await }
    async fn put_bucket_cors(&self, req: S3Request<PutBucketCorsInput>) -> S3Result<S3Response<PutBucketCorsOutput>> { bucket_config::put_cors(self, req).await }
    async fn get_bucket_cors(&self, req: S3Request<GetBucketCorsInput>) -> S3Result<S3Response<GetBucketCorsOutput>> { bucket_config::get_cors(self, req).await }
    async fn delete_bucket_cors(&self, req: S3Request<DeleteBucketCorsInput>) -> S3Result<S3Response<DeleteBucketCorsOutput>> { bucket_config::delete_cors(self, req).await }
    async fn put_bucket_lifecycle_configuration(&self, req: S3Request<PutBucketLifecycleConfigurationInput>) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> { lifecycle::put_lifecycle(self, req).await }
    async fn get_bucket_lifecycle_configuration(&self, req: S3Request<GetBucketLifecycleConfigurationInput>) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> { lifecycle::get_lifecycle(self, req).await }
    async fn delete_bucket_lifecycle(&self, req: S3Request<DeleteBucketLifecycleInput>) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> { lifecycle::delete_lifecycle(self, req).await }
    async fn put_bucket_tagging(&self, req: S3Request<PutBucketTaggingInput>) -> S3Result<S3Response<PutBucketTaggingOutput>> { bucket_config::put_tagging(self, req).await }
    async fn get_bucket_tagging(&self, req: S3Request<GetBucketTaggingInput>) -> S3Result<S3Response<GetBucketTaggingOutput>> { bucket_config::get_tagging(self, req).await }
    async fn delete_bucket_tagging(&self, req: S3Request<DeleteBucketTaggingInput>) -> S3Result<S3Response<DeleteBucketTaggingOutput>> { bucket_config::delete_tagging(self, req).await }
    async fn put_bucket_encryption(&self, req: S3Request<PutBucketEncryptionInput>) -> S3Result<S3Response<PutBucketEncryptionOutput>> { bucket_config::put_encryption(self, req).await }
    async fn get_bucket_encryption(&self, req: S3Request<GetBucketEncryptionInput>) -> S3Result<S3Response<GetBucketEncryptionOutput>> { bucket_config::get_encryption(self, req).await }
    async fn delete_bucket_encryption(&self, req: S3Request<DeleteBucketEncryptionInput>) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> { bucket_config::delete_encryption(self, req).await }
    async fn get_object_lock_configuration(&self, req: S3Request<GetObjectLockConfigurationInput>) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> { bucket_config::get_object_lock(self, req).await }
    async fn put_object_lock_configuration(&self, req: S3Request<PutObjectLockConfigurationInput>) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> { bucket_config::put_object_lock(self, req).await }
    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> { objects::put(self, req).await }
    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> { objects::get(self, req).await }
    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> { objects::head(self, req).await }
    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> { objects::delete(self, req).await }
    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> { objects::delete_many(self, req).await }
    async fn get_object_attributes(&self, req: S3Request<GetObjectAttributesInput>) -> S3Result<S3Response<GetObjectAttributesOutput>> { objects::attributes(self, req).await }
    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> { copy::copy_object(self, req).await }
    async fn upload_part_copy(&self, req: S3Request<UploadPartCopyInput>) -> S3Result<S3Response<UploadPartCopyOutput>> { copy::upload_part_copy(self, req).await }
    async fn put_object_tagging(&self, req: S3Request<PutObjectTaggingInput>) -> S3Result<S3Response<PutObjectTaggingOutput>> { object_config::put_tagging(self, req).await }
    async fn get_object_tagging(&self, req: S3Request<GetObjectTaggingInput>) -> S3Result<S3Response<GetObjectTaggingOutput>> { object_config::get_tagging(self, req).await }
    async fn delete_object_tagging(&self, req: S3Request<DeleteObjectTaggingInput>) -> S3Result<S3Response<DeleteObjectTaggingOutput>> { object_config::delete_tagging(self, req).await }
    async fn get_object_retention(&self, req: S3Request<GetObjectRetentionInput>) -> S3Result<S3Response<GetObjectRetentionOutput>> { object_config::get_retention(self, req).await }
    async fn put_object_retention(&self, req: S3Request<PutObjectRetentionInput>) -> S3Result<S3Response<PutObjectRetentionOutput>> { object_config::put_retention(self, req).await }
    async fn get_object_legal_hold(&self, req: S3Request<GetObjectLegalHoldInput>) -> S3Result<S3Response<GetObjectLegalHoldOutput>> { object_config::get_legal_hold(self, req).await }
    async fn put_object_legal_hold(&self, req: S3Request<PutObjectLegalHoldInput>) -> S3Result<S3Response<PutObjectLegalHoldOutput>> { object_config::put_legal_hold(self, req).await }
    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> { listings::list_objects(self, req).await }
    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> { listings::list_objects_v2(self, req).await }
    async fn list_object_versions(&self, req: S3Request<ListObjectVersionsInput>) -> S3Result<S3Response<ListObjectVersionsOutput>> { listings::list_object_versions(self, req).await }
    async fn create_multipart_upload(&self, req: S3Request<CreateMultipartUploadInput>) -> S3Result<S3Response<CreateMultipartUploadOutput>> { multipart::create(self, req).await }
    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> { multipart::upload_part(self, req).await }
    async fn complete_multipart_upload(&self, req: S3Request<CompleteMultipartUploadInput>) -> S3Result<S3Response<CompleteMultipartUploadOutput>> { multipart::complete(self, req).await }
    async fn abort_multipart_upload(&self, req: S3Request<AbortMultipartUploadInput>) -> S3Result<S3Response<AbortMultipartUploadOutput>> { multipart::abort(self, req).await }
    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> { multipart::list_parts(self, req).await }
    async fn list_multipart_uploads(&self, req: S3Request<ListMultipartUploadsInput>) -> S3Result<S3Response<ListMultipartUploadsOutput>> { multipart::list_uploads(self, req).await }
}

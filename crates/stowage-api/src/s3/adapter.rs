//! `impl s3s::S3` for Stowage: a table from each S3 operation to the module that handles it. Each request
//! was resolved against `operations.rs` before it got here (caller, bucket, policy, capabilities); handlers
//! parse s3s's input, call the core, and render; errors map in `error.rs`.

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};

use super::context::StowageS3;
use super::{access, bucket_config, buckets, copy, lifecycle, listings, multipart, object_config, objects};

/// Writes `impl S3` and the list of the operations it serves (which `operations.rs` checks its table against).
macro_rules! served {
    ($($name:ident $method:ident($input:ident, $output:ident) => $handler:path;)+) => {
        /// The s3s names of the operations `impl S3` serves.
        #[cfg(test)]
        pub const SERVED: &[&str] = &[$(stringify!($name)),+];

        #[async_trait::async_trait]
        impl S3 for StowageS3 {
            $(
                async fn $method(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    $handler(self, req).await
                }
            )+
        }
    };
}

#[rustfmt::skip]
served! {
    ListBuckets list_buckets(ListBucketsInput, ListBucketsOutput) => buckets::list;
    CreateBucket create_bucket(CreateBucketInput, CreateBucketOutput) => buckets::create;
    HeadBucket head_bucket(HeadBucketInput, HeadBucketOutput) => buckets::head;
    DeleteBucket delete_bucket(DeleteBucketInput, DeleteBucketOutput) => buckets::delete;
    GetBucketLocation get_bucket_location(GetBucketLocationInput, GetBucketLocationOutput) => buckets::location;
    GetBucketVersioning get_bucket_versioning(GetBucketVersioningInput, GetBucketVersioningOutput) => buckets::get_versioning;
    PutBucketVersioning put_bucket_versioning(PutBucketVersioningInput, PutBucketVersioningOutput) => buckets::put_versioning;
    GetBucketAcl get_bucket_acl(GetBucketAclInput, GetBucketAclOutput) => access::get_bucket_acl;
    PutBucketAcl put_bucket_acl(PutBucketAclInput, PutBucketAclOutput) => access::put_bucket_acl;
    GetObjectAcl get_object_acl(GetObjectAclInput, GetObjectAclOutput) => access::get_object_acl;
    PutObjectAcl put_object_acl(PutObjectAclInput, PutObjectAclOutput) => access::put_object_acl;
    PutBucketPolicy put_bucket_policy(PutBucketPolicyInput, PutBucketPolicyOutput) => access::put_policy;
    GetBucketPolicy get_bucket_policy(GetBucketPolicyInput, GetBucketPolicyOutput) => access::get_policy;
    DeleteBucketPolicy delete_bucket_policy(DeleteBucketPolicyInput, DeleteBucketPolicyOutput) => access::delete_policy;
    GetBucketPolicyStatus get_bucket_policy_status(GetBucketPolicyStatusInput, GetBucketPolicyStatusOutput) => access::policy_status;
    PutPublicAccessBlock put_public_access_block(PutPublicAccessBlockInput, PutPublicAccessBlockOutput) => access::put_public_access_block;
    GetPublicAccessBlock get_public_access_block(GetPublicAccessBlockInput, GetPublicAccessBlockOutput) => access::get_public_access_block;
    DeletePublicAccessBlock delete_public_access_block(DeletePublicAccessBlockInput, DeletePublicAccessBlockOutput) => access::delete_public_access_block;
    PutBucketOwnershipControls put_bucket_ownership_controls(PutBucketOwnershipControlsInput, PutBucketOwnershipControlsOutput) => access::put_ownership;
    GetBucketOwnershipControls get_bucket_ownership_controls(GetBucketOwnershipControlsInput, GetBucketOwnershipControlsOutput) => access::get_ownership;
    DeleteBucketOwnershipControls delete_bucket_ownership_controls(DeleteBucketOwnershipControlsInput, DeleteBucketOwnershipControlsOutput) => access::delete_ownership;
    PutBucketCors put_bucket_cors(PutBucketCorsInput, PutBucketCorsOutput) => bucket_config::put_cors;
    GetBucketCors get_bucket_cors(GetBucketCorsInput, GetBucketCorsOutput) => bucket_config::get_cors;
    DeleteBucketCors delete_bucket_cors(DeleteBucketCorsInput, DeleteBucketCorsOutput) => bucket_config::delete_cors;
    PutBucketLifecycleConfiguration put_bucket_lifecycle_configuration(PutBucketLifecycleConfigurationInput, PutBucketLifecycleConfigurationOutput) => lifecycle::put_lifecycle;
    GetBucketLifecycleConfiguration get_bucket_lifecycle_configuration(GetBucketLifecycleConfigurationInput, GetBucketLifecycleConfigurationOutput) => lifecycle::get_lifecycle;
    DeleteBucketLifecycle delete_bucket_lifecycle(DeleteBucketLifecycleInput, DeleteBucketLifecycleOutput) => lifecycle::delete_lifecycle;
    PutBucketTagging put_bucket_tagging(PutBucketTaggingInput, PutBucketTaggingOutput) => bucket_config::put_tagging;
    GetBucketTagging get_bucket_tagging(GetBucketTaggingInput, GetBucketTaggingOutput) => bucket_config::get_tagging;
    DeleteBucketTagging delete_bucket_tagging(DeleteBucketTaggingInput, DeleteBucketTaggingOutput) => bucket_config::delete_tagging;
    PutBucketEncryption put_bucket_encryption(PutBucketEncryptionInput, PutBucketEncryptionOutput) => bucket_config::put_encryption;
    GetBucketEncryption get_bucket_encryption(GetBucketEncryptionInput, GetBucketEncryptionOutput) => bucket_config::get_encryption;
    DeleteBucketEncryption delete_bucket_encryption(DeleteBucketEncryptionInput, DeleteBucketEncryptionOutput) => bucket_config::delete_encryption;
    GetObjectLockConfiguration get_object_lock_configuration(GetObjectLockConfigurationInput, GetObjectLockConfigurationOutput) => bucket_config::get_object_lock;
    PutObjectLockConfiguration put_object_lock_configuration(PutObjectLockConfigurationInput, PutObjectLockConfigurationOutput) => bucket_config::put_object_lock;
    PutObject put_object(PutObjectInput, PutObjectOutput) => objects::put;
    GetObject get_object(GetObjectInput, GetObjectOutput) => objects::get;
    HeadObject head_object(HeadObjectInput, HeadObjectOutput) => objects::head;
    DeleteObject delete_object(DeleteObjectInput, DeleteObjectOutput) => objects::delete;
    DeleteObjects delete_objects(DeleteObjectsInput, DeleteObjectsOutput) => objects::delete_many;
    GetObjectAttributes get_object_attributes(GetObjectAttributesInput, GetObjectAttributesOutput) => objects::attributes;
    CopyObject copy_object(CopyObjectInput, CopyObjectOutput) => copy::copy_object;
    UploadPartCopy upload_part_copy(UploadPartCopyInput, UploadPartCopyOutput) => copy::upload_part_copy;
    PutObjectTagging put_object_tagging(PutObjectTaggingInput, PutObjectTaggingOutput) => object_config::put_tagging;
    GetObjectTagging get_object_tagging(GetObjectTaggingInput, GetObjectTaggingOutput) => object_config::get_tagging;
    DeleteObjectTagging delete_object_tagging(DeleteObjectTaggingInput, DeleteObjectTaggingOutput) => object_config::delete_tagging;
    GetObjectRetention get_object_retention(GetObjectRetentionInput, GetObjectRetentionOutput) => object_config::get_retention;
    PutObjectRetention put_object_retention(PutObjectRetentionInput, PutObjectRetentionOutput) => object_config::put_retention;
    GetObjectLegalHold get_object_legal_hold(GetObjectLegalHoldInput, GetObjectLegalHoldOutput) => object_config::get_legal_hold;
    PutObjectLegalHold put_object_legal_hold(PutObjectLegalHoldInput, PutObjectLegalHoldOutput) => object_config::put_legal_hold;
    ListObjects list_objects(ListObjectsInput, ListObjectsOutput) => listings::list_objects;
    ListObjectsV2 list_objects_v2(ListObjectsV2Input, ListObjectsV2Output) => listings::list_objects_v2;
    ListObjectVersions list_object_versions(ListObjectVersionsInput, ListObjectVersionsOutput) => listings::list_object_versions;
    CreateMultipartUpload create_multipart_upload(CreateMultipartUploadInput, CreateMultipartUploadOutput) => multipart::create;
    UploadPart upload_part(UploadPartInput, UploadPartOutput) => multipart::upload_part;
    CompleteMultipartUpload complete_multipart_upload(CompleteMultipartUploadInput, CompleteMultipartUploadOutput) => multipart::complete;
    AbortMultipartUpload abort_multipart_upload(AbortMultipartUploadInput, AbortMultipartUploadOutput) => multipart::abort;
    ListParts list_parts(ListPartsInput, ListPartsOutput) => multipart::list_parts;
    ListMultipartUploads list_multipart_uploads(ListMultipartUploadsInput, ListMultipartUploadsOutput) => multipart::list_uploads;
}

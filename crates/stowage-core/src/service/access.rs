//! S3 access control beside application keys: bucket policies, ACLs, the public access block and object
//! ownership. Keys stay the authority for signed requests (a policy or ACL can deny them, never extend
//! them); for unsigned requests a public policy or a public ACL grant stands in for a key holding exactly
//! what was granted, in that bucket only.

use std::sync::Arc;

use super::Stowage;
use crate::auth::{Capability, NameScope, Principal};
use crate::error::{Error, Result};
use crate::model::{AclPermission, Bucket, BucketType, FileVersion, Grant, Grantee, ObjectOwnership, PublicAccessBlock, split_bucket_acl};
use crate::policy::{Decision, Policy, PolicyRequest};

/// Policy actions that manage the policy itself: a key allowed to change bucket settings can always use
/// them, so a policy cannot lock its bucket's owner out.
const POLICY_MANAGEMENT: &[&str] = &["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"];

/// The capabilities an unsigned caller gets for a policy action a bucket policy allows it.
fn capabilities_for(action: &str) -> &'static [Capability] {
    match action {
        "s3:GetObject" | "s3:GetObjectVersion" | "s3:GetObjectTagging" | "s3:GetObjectVersionTagging" | "s3:GetObjectAttributes" => {
            &[Capability::ReadFiles]
        }
        "s3:ListBucket" | "s3:ListBucketVersions" | "s3:ListBucketMultipartUploads" => &[Capability::ListFiles],
        "s3:PutObject" | "s3:PutObjectTagging" | "s3:AbortMultipartUpload" | "s3:ListMultipartUploadParts" => &[Capability::WriteFiles],
        "s3:DeleteObject" | "s3:DeleteObjectVersion" => &[Capability::DeleteFiles],
        _ => &[],
    }
}

/// Whether a grant makes something public (to everyone, or to anyone holding any key).
fn is_public(grant: &Grant) -> bool {
    matches!(grant.grantee, Grantee::AllUsers | Grantee::AuthenticatedUsers)
}

impl Stowage {
    /// Who a request acts as after the bucket's policy and ACL have had their say: a signed caller as
    /// itself unless a policy denies it; an unsigned one as a grant if a public policy or ACL allows the
    /// `action`, else as nobody (public buckets are still readable by nobody). `request` (the policy's
    /// view of the request) is built only when the bucket has a policy to evaluate.
    pub fn s3_caller<'a>(
        &self,
        principal: Option<Principal>,
        bucket: &Bucket,
        action: &str,
        request: impl FnOnce() -> PolicyRequest<'a>,
    ) -> Result<Option<Principal>> {
        let access = &bucket.access;
        let granted = |capabilities: &[Capability]| Some(Principal::granted(&bucket.id, capabilities));
        // Public ACLs: a public-read bucket (B2's allPublic) may be listed by anyone, a public-read-write one
        // written to by anyone.
        let acl_grant = || {
            let listing = matches!(action, "s3:ListBucket" | "s3:ListBucketVersions");
            let writing = matches!(action, "s3:PutObject" | "s3:DeleteObject" | "s3:DeleteObjectVersion");
            let public_write = !access.blocks(|b| b.ignore_public_acls)
                && access.grants.iter().any(|g| g.grantee == Grantee::AllUsers && g.permission.includes(AclPermission::Write));
            if listing && bucket.s3_public_read() {
                granted(&[Capability::ListFiles])
            } else if writing && public_write {
                granted(capabilities_for(action))
            } else {
                None
            }
        };
        let Some(document) = access.policy.as_deref() else {
            return Ok(principal.or_else(acl_grant));
        };
        let policy = self.parsed_policy(bucket, document);
        let decision = policy.as_ref().map_or(Decision::Silent, |p| p.evaluate(&request()));
        let manages_policy = POLICY_MANAGEMENT.contains(&action);
        let restricted = access.blocks(|b| b.restrict_public_buckets) && policy.as_ref().is_some_and(|p| p.is_public());
        match (principal, decision) {
            (Some(p), Decision::Deny) if manages_policy && p.has(Capability::WriteBuckets) => Ok(Some(p)),
            (_, Decision::Deny) => Err(Error::AccessDenied("Access Denied by the bucket policy".into())),
            (Some(p), _) => Ok(Some(p)),
            (None, Decision::Allow) if !restricted => Ok(granted(capabilities_for(action))),
            (None, _) => Ok(acl_grant()),
        }
    }

    /// A bucket's policy, parsed once per bucket revision (policies are checked when stored; one that no
    /// longer parses decides nothing).
    pub(super) fn parsed_policy(&self, bucket: &Bucket, document: &str) -> Option<Arc<Policy>> {
        if let Some((revision, policy)) = self.policy_cache.lock().ok().and_then(|cache| cache.get(&bucket.id).cloned())
            && revision == bucket.revision
        {
            return Some(policy);
        }
        let policy = match Policy::parse(document, &bucket.name) {
            Ok(policy) => Arc::new(policy),
            Err(e) => {
                tracing::warn!(bucket = %bucket.name, error = %e, "ignoring a stored bucket policy that does not parse");
                return None;
            }
        };
        if let Ok(mut cache) = self.policy_cache.lock() {
            cache.insert(bucket.id.clone(), (bucket.revision, policy.clone()));
        }
        Some(policy)
    }

    /// Whether an unsigned caller may read this version of a private bucket through its object ACL.
    pub fn acl_allows_anonymous_read(bucket: &Bucket, version: &FileVersion) -> bool {
        !bucket.access.blocks(|b| b.ignore_public_acls)
            && version.grants.iter().any(|g| g.grantee == Grantee::AllUsers && g.permission.includes(AclPermission::Read))
    }

    /// PutBucketPolicy / DeleteBucketPolicy (`None`). The policy is checked against the bucket it is for,
    /// and refused when public if the bucket blocks public policies.
    pub async fn set_bucket_policy(&self, principal: &Principal, bucket: &Bucket, document: Option<String>) -> Result<()> {
        principal.authorize(Capability::WriteBuckets, Some(&bucket.id), NameScope::None)?;
        if let Some(doc) = &document {
            let policy = Policy::parse(doc, &bucket.name)?;
            if policy.is_public() && bucket.access.blocks(|b| b.block_public_policy) {
                return Err(Error::AccessDenied("the bucket's public access block refuses public policies".into()));
            }
        }
        self.modify_bucket(&bucket.id, |b| b.access.policy = document.clone()).await.map(|_| ())
    }

    /// GetBucketPolicy: the document as stored.
    pub fn bucket_policy(&self, principal: &Principal, bucket: &Bucket) -> Result<Option<String>> {
        principal.authorize(Capability::ReadBuckets, Some(&bucket.id), NameScope::None)?;
        Ok(bucket.access.policy.clone())
    }

    /// GetBucketPolicyStatus: whether the bucket is public, through its policy or its ACL (public reads,
    /// or grants to everyone or to every key holder).
    pub fn bucket_is_public(&self, principal: &Principal, bucket: &Bucket) -> Result<bool> {
        principal.authorize(Capability::ReadBuckets, Some(&bucket.id), NameScope::None)?;
        let policy = bucket.access.policy.as_deref().and_then(|doc| Policy::parse(doc, &bucket.name).ok()).is_some_and(|p| p.is_public());
        let acl = bucket.bucket_type == BucketType::AllPublic || bucket.access.grants.iter().any(is_public);
        Ok(policy || acl)
    }

    /// Put/DeletePublicAccessBlock (`None`).
    pub async fn set_public_access_block(&self, principal: &Principal, bucket: &Bucket, block: Option<PublicAccessBlock>) -> Result<()> {
        principal.authorize(Capability::WriteBuckets, Some(&bucket.id), NameScope::None)?;
        self.modify_bucket(&bucket.id, |b| b.access.public_access_block = block).await.map(|_| ())
    }

    /// Put/DeleteBucketOwnershipControls (`None`). Enforcing bucket ownership turns ACLs off, so a bucket
    /// whose ACL grants anything beyond the owner's full control keeps them until its ACL is reset.
    pub async fn set_object_ownership(&self, principal: &Principal, bucket: &Bucket, ownership: Option<ObjectOwnership>) -> Result<()> {
        principal.authorize(Capability::WriteBuckets, Some(&bucket.id), NameScope::None)?;
        let shared = !bucket.access.grants.is_empty() || bucket.bucket_type == BucketType::AllPublic;
        if ownership == Some(ObjectOwnership::BucketOwnerEnforced) && shared {
            return Err(Error::AclConflictsWithOwnership(
                "the bucket's ACL grants access to others: set it to private before enforcing bucket ownership".into(),
            ));
        }
        self.modify_bucket(&bucket.id, |b| b.access.object_ownership = ownership).await.map(|_| ())
    }

    /// Checks a new ACL (grants besides the owner's) against the bucket's ownership and public access
    /// block settings, as S3 does before storing it.
    pub fn check_acl(bucket: &Bucket, grants: &[Grant]) -> Result<()> {
        if bucket.access.object_ownership == Some(ObjectOwnership::BucketOwnerEnforced) && !grants.is_empty() {
            return Err(Error::AclNotSupported);
        }
        if bucket.access.blocks(|b| b.block_public_acls) && grants.iter().any(is_public) {
            return Err(Error::AccessDenied("the bucket's public access block refuses public ACLs".into()));
        }
        Ok(())
    }

    /// PutBucketAcl: an AllUsers READ grant is the bucket's public type (B2's `allPublic`); other grants are
    /// stored as given.
    pub async fn set_bucket_acl(&self, principal: &Principal, bucket: &Bucket, grants: Vec<Grant>) -> Result<Bucket> {
        principal.authorize(Capability::WriteBuckets, Some(&bucket.id), NameScope::None)?;
        Self::check_acl(bucket, &grants)?;
        let (bucket_type, stored) = split_bucket_acl(grants);
        self.modify_bucket(&bucket.id, |b| {
            b.bucket_type = bucket_type;
            b.access.grants = stored.clone();
        })
        .await
    }

    /// PutObjectAcl: replaces a version's ACL grants.
    pub async fn set_object_acl(
        &self,
        principal: &Principal,
        bucket: &Bucket,
        version: FileVersion,
        grants: Vec<Grant>,
    ) -> Result<FileVersion> {
        principal.authorize(Capability::WriteFiles, Some(&version.bucket_id), NameScope::File(&version.name))?;
        Self::check_acl(bucket, &grants)?;
        self.meta
            .modify_version(
                &version.file_id,
                Box::new(move |mut current| {
                    current.grants = grants;
                    Ok(current)
                }),
            )
            .await
    }

    /// GetObjectAcl: a version's ACL grants (besides the owner's full control).
    pub fn object_acl(&self, principal: &Principal, version: &FileVersion) -> Result<Vec<Grant>> {
        principal.authorize(Capability::ReadFiles, Some(&version.bucket_id), NameScope::File(&version.name))?;
        Ok(version.grants.clone())
    }
}

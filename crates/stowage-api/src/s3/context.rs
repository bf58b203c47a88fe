//! What every S3 operation starts from, resolved once per request: the caller behind the signature, the
//! bucket addressed, and what the bucket's policy and ACL make of the caller.

use std::collections::BTreeMap;
use std::sync::Arc;

use s3s::auth::Credentials;
use s3s::{S3Request, S3Result, s3_error};
use stowage_core::Stowage;
use stowage_core::auth::Principal;
use stowage_core::model::Bucket;
use stowage_core::policy::{Caller, PolicyRequest};

use super::error::to_s3;
use crate::PeerAddr;

pub struct StowageS3 {
    pub core: Arc<Stowage>,
    /// The configured region, reported by GetBucketLocation.
    pub region: Option<String>,
}

/// Core results as S3 results, through the one mapping in `error.rs`.
pub trait OrS3<T> {
    fn s3(self) -> S3Result<T>;
}

impl<T> OrS3<T> for stowage_core::Result<T> {
    fn s3(self) -> S3Result<T> {
        self.map_err(to_s3)
    }
}

/// What an operation does, as bucket policies name it: the policy action and the object key, if any.
#[derive(Debug, Clone, Copy)]
pub struct Act<'a> {
    pub action: &'static str,
    pub key: Option<&'a str>,
}

impl<'a> Act<'a> {
    pub fn bucket(action: &'static str) -> Self {
        Act { action, key: None }
    }

    pub fn object(action: &'static str, key: &'a str) -> Self {
        Act { action, key: Some(key) }
    }
}

/// A request about one bucket: who it acts as (nobody for an unsigned read of a public bucket), and the
/// bucket.
pub struct RequestContext {
    pub principal: Option<Principal>,
    pub bucket: Bucket,
}

/// A request that acts as someone: a signed caller, or an unsigned one the bucket's policy or ACL grants.
pub struct BucketRequest {
    pub principal: Principal,
    pub bucket: Bucket,
}

impl StowageS3 {
    /// The caller behind the request's access key; `None` for an unsigned request.
    pub async fn caller(&self, credentials: Option<&Credentials>) -> S3Result<Option<Principal>> {
        match credentials {
            None => Ok(None),
            Some(c) => self.core.principal_for_key(&c.access_key).await.s3().map(Some),
        }
    }

    /// The caller of an operation that is about no bucket (ListBuckets, CreateBucket), which needs a signature.
    pub async fn signed(&self, credentials: Option<&Credentials>) -> S3Result<Principal> {
        self.caller(credentials).await?.ok_or_else(|| s3_error!(AccessDenied, "Anonymous access is not allowed; sign the request"))
    }

    /// Resolves the caller and the bucket, and lets the bucket's policy and ACL decide who the request acts
    /// as. An unsigned request nothing grants goes on only to read a public bucket, or an object whose ACL
    /// the core may find public.
    pub async fn resolve<T>(&self, req: &S3Request<T>, bucket: &str, act: Act<'_>) -> S3Result<RequestContext> {
        let signed = self.caller(req.credentials.as_ref()).await?;
        // x-amz-expected-bucket-owner: every bucket here is the account's.
        if let Some(expected) = req.headers.get("x-amz-expected-bucket-owner")
            && expected.as_bytes() != self.core.account_id().as_bytes()
        {
            return Err(s3_error!(AccessDenied, "the bucket is not owned by the expected account"));
        }
        let bucket = match &signed {
            Some(principal) => self.core.bucket_for(Some(principal), bucket).await.s3()?,
            None => self.core.bucket_by_name(bucket).await.s3()?,
        };
        let existing_tags = self.existing_tags(&bucket, act, query_value(req, "versionId")).await?;
        let principal = self.decide(req, signed, &bucket, act, &existing_tags)?;
        // Unsigned object reads go on: the core decides them by bucket type and object ACL.
        let anonymous_read = matches!(act.action, "s3:GetObject" | "s3:GetObjectVersion");
        if principal.is_none() && !bucket.s3_public_read() && !anonymous_read {
            return Err(s3_error!(AccessDenied, "this bucket is private: a signed request is required"));
        }
        Ok(RequestContext { principal, bucket })
    }

    /// Another bucket the same request reads from (a copy's source), under that bucket's policy.
    pub async fn source_bucket<T>(&self, req: &S3Request<T>, principal: &Principal, bucket: &str, act: Act<'_>) -> S3Result<Bucket> {
        let bucket = self.core.bucket_for(Some(principal), bucket).await.s3()?;
        // The source's version id rides in the copy-source header, not in the query.
        let source_version = req
            .headers
            .get("x-amz-copy-source")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once("?versionId="))
            .map(|(_, id)| id.to_string());
        let existing_tags = self.existing_tags(&bucket, act, source_version).await?;
        self.decide(req, Some(principal.clone()), &bucket, act, &existing_tags)?;
        Ok(bucket)
    }

    /// The tags of the object (version) a request addresses, when the bucket's policy compares them.
    async fn existing_tags(&self, bucket: &Bucket, act: Act<'_>, version_id: Option<String>) -> S3Result<BTreeMap<String, String>> {
        let Some(key) = act.key else { return Ok(BTreeMap::new()) };
        self.core.existing_object_tags(bucket, key, version_id.as_deref()).await.s3()
    }

    /// Who the request acts as in `bucket`, after its policy and ACL (see `Stowage::s3_caller`).
    fn decide<T>(
        &self,
        req: &S3Request<T>,
        signed: Option<Principal>,
        bucket: &Bucket,
        act: Act<'_>,
        existing_tags: &BTreeMap<String, String>,
    ) -> S3Result<Option<Principal>> {
        let account_id = self.core.account_id();
        let secure = self.core.config().public_url.starts_with("https://");
        let view = || {
            let mut request = policy_request(req, signed.as_ref(), account_id, &bucket.name, act, secure);
            for (k, v) in existing_tags {
                request = request.with(&format!("s3:ExistingObjectTag/{k}"), v.clone());
            }
            request
        };
        self.core.s3_caller(signed.clone(), bucket, act.action, view).s3()
    }

    /// `resolve` for an operation that must act as someone.
    pub async fn bucket_request<T>(&self, req: &S3Request<T>, bucket: &str, act: Act<'_>) -> S3Result<BucketRequest> {
        let cx = self.resolve(req, bucket, act).await?;
        let principal = cx.principal.ok_or_else(|| s3_error!(AccessDenied, "Anonymous access is not allowed; sign the request"))?;
        Ok(BucketRequest { principal, bucket: cx.bucket })
    }
}

/// The request as a bucket policy sees it: caller, action, resource, and the condition keys it carries.
fn policy_request<'a, T>(
    req: &S3Request<T>,
    signed: Option<&'a Principal>,
    account_id: &'a str,
    bucket: &str,
    act: Act<'_>,
    secure: bool,
) -> PolicyRequest<'a> {
    let caller = match signed {
        Some(p) => Caller::Key { account_id, key_id: &p.key.key_id },
        None => Caller::Anonymous,
    };
    let mut request = PolicyRequest::new(caller, act.action, bucket, act.key);
    let now = time::OffsetDateTime::now_utc();
    request = request
        .with("aws:SecureTransport", secure.to_string())
        .with("aws:EpochTime", now.unix_timestamp().to_string())
        .with("aws:PrincipalType", if signed.is_some() { "User" } else { "Anonymous" });
    if let Ok(current) = now.format(&time::format_description::well_known::Rfc3339) {
        request = request.with("aws:CurrentTime", current);
    }
    if let Some(PeerAddr(peer)) = req.extensions.get::<PeerAddr>() {
        request = request.with("aws:SourceIp", peer.ip().to_canonical().to_string());
    }
    if let Some(p) = signed {
        request = request.with("aws:userid", p.key.key_id.clone()).with("aws:username", p.key.name.clone());
    }
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    for (header_name, key) in [
        ("referer", "aws:Referer"),
        ("user-agent", "aws:UserAgent"),
        ("x-amz-acl", "s3:x-amz-acl"),
        ("x-amz-copy-source", "s3:x-amz-copy-source"),
        ("x-amz-metadata-directive", "s3:x-amz-metadata-directive"),
        ("x-amz-server-side-encryption", "s3:x-amz-server-side-encryption"),
        ("x-amz-server-side-encryption-aws-kms-key-id", "s3:x-amz-server-side-encryption-aws-kms-key-id"),
        ("x-amz-server-side-encryption-customer-algorithm", "s3:x-amz-server-side-encryption-customer-algorithm"),
        ("x-amz-storage-class", "s3:x-amz-storage-class"),
        ("x-amz-grant-read", "s3:x-amz-grant-read"),
        ("x-amz-grant-write", "s3:x-amz-grant-write"),
        ("x-amz-grant-read-acp", "s3:x-amz-grant-read-acp"),
        ("x-amz-grant-write-acp", "s3:x-amz-grant-write-acp"),
        ("x-amz-grant-full-control", "s3:x-amz-grant-full-control"),
        ("x-amz-object-lock-mode", "s3:object-lock-mode"),
        ("x-amz-object-lock-retain-until-date", "s3:object-lock-retain-until-date"),
        ("x-amz-object-lock-legal-hold", "s3:object-lock-legal-hold"),
    ] {
        if let Some(value) = header(header_name) {
            // A copy source is named without its leading slash in policies.
            let value = if header_name == "x-amz-copy-source" { value.trim_start_matches('/').to_string() } else { value };
            request = request.with(key, value);
        }
    }
    if let Some(tagging) = header("x-amz-tagging") {
        for (k, v) in super::values::tagging_header(Some(&tagging)) {
            request = request.with(&format!("s3:RequestObjectTag/{k}"), v).with("s3:RequestObjectTagKeys", k);
        }
    }
    for (name, key) in [("prefix", "s3:prefix"), ("delimiter", "s3:delimiter"), ("max-keys", "s3:max-keys"), ("versionId", "s3:VersionId")]
    {
        if let Some(value) = query_value(req, name) {
            request = request.with(key, value);
        }
    }
    request
}

/// A query parameter of the request, decoded.
fn query_value<T>(req: &S3Request<T>, wanted: &str) -> Option<String> {
    let query = req.uri.query().unwrap_or("");
    query.split('&').filter(|p| !p.is_empty()).find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name == wanted).then(|| percent_encoding::percent_decode_str(&value.replace('+', " ")).decode_utf8_lossy().into_owned())
    })
}

//! What every S3 operation starts from, resolved once per request: the caller behind the signature, the
//! bucket addressed, and what the bucket's policy and ACL make of the caller.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{HeaderMap, Uri};
use s3s::{S3Request, S3Result, s3_error};
use stowage_core::Stowage;
use stowage_core::auth::{NameScope, Principal};
use stowage_core::model::Bucket;
use stowage_core::policy::{Caller, PolicyRequest};

use super::error::to_s3;
use super::operations::{Also, Needs, Operation, Target};
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
    pub operation: &'static Operation,
}

/// The parts of a request access control reads, whichever way the request came in (through s3s, or a
/// browser form in front of it).
pub struct RequestParts<'a> {
    pub headers: &'a HeaderMap,
    pub uri: &'a Uri,
    pub peer: Option<PeerAddr>,
}

impl<'a> RequestParts<'a> {
    pub fn of<T>(req: &'a S3Request<T>) -> Self {
        RequestParts { headers: &req.headers, uri: &req.uri, peer: req.extensions.get::<PeerAddr>().copied() }
    }
}

/// What resolving a request decided, handed to its handler in the request's extensions.
#[derive(Clone)]
pub struct Resolved {
    pub operation: &'static Operation,
    pub principal: Option<Principal>,
    pub bucket: Option<Bucket>,
}

fn not_resolved(operation: &str) -> s3s::S3Error {
    // Every request s3s routes passes the access hook; reaching a handler without its context is a bug.
    tracing::error!(operation, "an S3 request reached its handler without being resolved");
    s3_error!(InternalError, "{}", crate::observe::internal_message())
}

fn anonymous_refused() -> s3s::S3Error {
    s3_error!(AccessDenied, "Anonymous access is not allowed; sign the request")
}

/// Resolves a request for `operation` once: the caller behind `access_key`, the bucket, what the bucket's
/// policy and ACL make of the caller, then `Principal::authorize` with the operation's capabilities on the
/// bucket (and the key, for an object). An unsigned request nothing grants goes on only where the table
/// lets it (public reads; object ACLs are the core's to decide).
pub async fn resolve(
    core: &Stowage,
    operation: &'static Operation,
    parts: &RequestParts<'_>,
    access_key: Option<&str>,
    bucket: Option<&str>,
    key: Option<&str>,
) -> S3Result<Resolved> {
    let signed = match access_key {
        None => None,
        Some(access_key) => Some(core.principal_for_key(access_key).await.s3()?),
    };
    let (Target::Bucket | Target::BucketSetting | Target::Object, Some(bucket_name)) = (operation.target, bucket) else {
        // About the account: a signature is all the core needs to decide.
        let principal = signed.ok_or_else(anonymous_refused)?;
        authorize(operation, &principal, None, None)?;
        return Ok(Resolved { operation, principal: Some(principal), bucket: None });
    };
    // x-amz-expected-bucket-owner: every bucket here is the account's.
    if let Some(expected) = parts.headers.get("x-amz-expected-bucket-owner")
        && expected.as_bytes() != core.account_id().as_bytes()
    {
        return Err(s3_error!(AccessDenied, "the bucket is not owned by the expected account"));
    }
    let bucket = match &signed {
        Some(principal) => core.bucket_for(Some(principal), bucket_name).await.s3()?,
        None => core.bucket_by_name(bucket_name).await.s3()?,
    };
    let key = key.filter(|_| operation.target == Target::Object);
    let version_id = query_value(parts.uri, "versionId");
    let action = operation.action(version_id.is_some());
    let principal = match operation.also {
        Also::ReadsAs(other) => {
            let actions = [other.action(version_id.is_some()), action];
            decide(core, parts, signed, &bucket, &actions, key, version_id.as_deref()).await?
        }
        _ => decide(core, parts, signed, &bucket, &[action], key, version_id.as_deref()).await?,
    };
    match &principal {
        Some(principal) => authorize(operation, principal, Some(&bucket), key)?,
        None if !operation.anonymous => {
            return Err(if bucket.s3_public_read() {
                anonymous_refused()
            } else {
                s3_error!(AccessDenied, "this bucket is private: a signed request is required")
            });
        }
        // Unsigned object reads go on: the core decides them by bucket type and object ACL.
        None if operation.target != Target::Object && !bucket.s3_public_read() => {
            return Err(s3_error!(AccessDenied, "this bucket is private: a signed request is required"));
        }
        None => {}
    }
    Ok(Resolved { operation, principal, bucket: Some(bucket) })
}

/// The capability check of an operation: capabilities, the key's bucket and name-prefix restrictions.
fn authorize(operation: &Operation, principal: &Principal, bucket: Option<&Bucket>, key: Option<&str>) -> S3Result<()> {
    let bucket_id = bucket.map(|b| b.id.as_str());
    let names = key.map_or(NameScope::None, NameScope::File);
    match operation.needs {
        Needs::All(capabilities) => capabilities.iter().try_for_each(|&c| principal.authorize(c, bucket_id, names)).s3(),
        // Refused, the first capability is the one named.
        Needs::Any(capabilities) if capabilities.iter().any(|&c| principal.authorize(c, bucket_id, names).is_ok()) => Ok(()),
        Needs::Any(capabilities) => capabilities.first().map_or(Ok(()), |&c| principal.authorize(c, bucket_id, names)).s3(),
    }
}

/// Who a request acts as in `bucket`, after its policy and ACL (see `Stowage::s3_caller`), for each of
/// `actions` (the request must be allowed all; the last decides who it acts as). The tags of the addressed
/// object are read once, and only when the bucket's policy compares them.
async fn decide(
    core: &Stowage,
    parts: &RequestParts<'_>,
    signed: Option<Principal>,
    bucket: &Bucket,
    actions: &[&'static str],
    key: Option<&str>,
    version_id: Option<&str>,
) -> S3Result<Option<Principal>> {
    let existing_tags = match key {
        Some(key) => core.existing_object_tags(bucket, key, version_id).await.s3()?,
        None => BTreeMap::new(),
    };
    let account_id = core.account_id();
    let secure = core.config().public_url.starts_with("https://");
    let mut decided = None;
    for &action in actions {
        let view = || {
            let mut request = policy_request(parts, signed.as_ref(), account_id, &bucket.name, action, key, secure);
            for (k, v) in &existing_tags {
                request = request.with(&format!("s3:ExistingObjectTag/{k}"), v.clone());
            }
            request
        };
        decided = core.s3_caller(signed.clone(), bucket, action, view).s3()?;
    }
    Ok(decided)
}

impl StowageS3 {
    fn resolved<T>(&self, req: &mut S3Request<T>) -> S3Result<Resolved> {
        req.extensions.remove::<Resolved>().ok_or_else(|| not_resolved(req.uri.path()))
    }

    /// The caller of an operation about the account (ListBuckets, CreateBucket).
    pub fn account<T>(&self, req: &mut S3Request<T>) -> S3Result<Principal> {
        self.resolved(req)?.principal.ok_or_else(anonymous_refused)
    }

    /// The context of an operation that may be unsigned (reads of public buckets, objects' ACLs).
    pub fn reading<T>(&self, req: &mut S3Request<T>) -> S3Result<RequestContext> {
        let resolved = self.resolved(req)?;
        let bucket = resolved.bucket.ok_or_else(|| not_resolved(resolved.operation.name))?;
        Ok(RequestContext { principal: resolved.principal, bucket })
    }

    /// The context of an operation that acts as someone.
    pub fn acting<T>(&self, req: &mut S3Request<T>) -> S3Result<BucketRequest> {
        let resolved = self.resolved(req)?;
        let bucket = resolved.bucket.ok_or_else(|| not_resolved(resolved.operation.name))?;
        let principal = resolved.principal.ok_or_else(anonymous_refused)?;
        Ok(BucketRequest { principal, bucket, operation: resolved.operation })
    }

    /// The bucket a copy reads its source from, under that bucket's policy and the table's entry for
    /// reading a copy source.
    pub async fn copy_source_bucket<T>(
        &self,
        req: &S3Request<T>,
        cx: &BucketRequest,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> S3Result<Bucket> {
        let Also::ReadsCopySource(source) = cx.operation.also else { return Err(not_resolved(cx.operation.name)) };
        let bucket = self.core.bucket_for(Some(&cx.principal), bucket).await.s3()?;
        let action = source.action(version_id.is_some());
        decide(&self.core, &RequestParts::of(req), Some(cx.principal.clone()), &bucket, &[action], Some(key), version_id).await?;
        authorize(source, &cx.principal, Some(&bucket), Some(key))?;
        Ok(bucket)
    }

    /// Checks one of the keys an operation acting on several (DeleteObjects) names, as the table's entry
    /// for each key says: the bucket's policy on that key, and the key's capabilities and restrictions.
    pub async fn authorize_each<T>(&self, req: &S3Request<T>, cx: &BucketRequest, key: &str, version_id: Option<&str>) -> S3Result<()> {
        let Also::EachKey(each) = cx.operation.also else { return Err(not_resolved(cx.operation.name)) };
        let action = each.action(version_id.is_some());
        decide(&self.core, &RequestParts::of(req), Some(cx.principal.clone()), &cx.bucket, &[action], Some(key), version_id).await?;
        authorize(each, &cx.principal, Some(&cx.bucket), Some(key))
    }
}

/// The request as a bucket policy sees it: caller, action, resource, and the condition keys it carries.
fn policy_request<'a>(
    req: &RequestParts<'_>,
    signed: Option<&'a Principal>,
    account_id: &'a str,
    bucket: &str,
    action: &'static str,
    key: Option<&str>,
    secure: bool,
) -> PolicyRequest<'a> {
    let caller = match signed {
        Some(p) => Caller::Key { account_id, key_id: &p.key.key_id },
        None => Caller::Anonymous,
    };
    let mut request = PolicyRequest::new(caller, action, bucket, key);
    let now = time::OffsetDateTime::now_utc();
    request = request
        .with("aws:SecureTransport", secure.to_string())
        .with("aws:EpochTime", now.unix_timestamp().to_string())
        .with("aws:PrincipalType", if signed.is_some() { "User" } else { "Anonymous" });
    if let Ok(current) = now.format(&time::format_description::well_known::Rfc3339) {
        request = request.with("aws:CurrentTime", current);
    }
    if let Some(PeerAddr(peer)) = req.peer {
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
        if let Some(value) = query_value(req.uri, name) {
            request = request.with(key, value);
        }
    }
    request
}

/// A query parameter of the request, decoded.
fn query_value(uri: &Uri, wanted: &str) -> Option<String> {
    let query = uri.query().unwrap_or("");
    query.split('&').filter(|p| !p.is_empty()).find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name == wanted).then(|| percent_encoding::percent_decode_str(&value.replace('+', " ")).decode_utf8_lossy().into_owned())
    })
}

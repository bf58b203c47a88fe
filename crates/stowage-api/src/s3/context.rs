//! What every S3 operation starts from, resolved once per request: the caller behind the signature and,
//! for bucket and object operations, the bucket addressed.

use std::sync::Arc;

use s3s::auth::Credentials;
use s3s::{S3Result, s3_error};
use stowage_core::Stowage;
use stowage_core::auth::Principal;
use stowage_core::model::Bucket;

use super::error::to_s3;

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

/// A signed request about one bucket: who asks, and the bucket they may see.
pub struct BucketRequest {
    pub principal: Principal,
    pub bucket: Bucket,
}

/// A request that may be anonymous (reads of public buckets): who asks, if anyone, and the bucket.
pub struct ReadRequest {
    pub principal: Option<Principal>,
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

    /// The caller of an operation that needs a signature.
    pub async fn signed(&self, credentials: Option<&Credentials>) -> S3Result<Principal> {
        self.caller(credentials).await?.ok_or_else(|| s3_error!(AccessDenied, "Anonymous access is not allowed; sign the request"))
    }

    /// The caller of a signed operation and the bucket it names.
    pub async fn bucket_request(&self, credentials: Option<&Credentials>, bucket: &str) -> S3Result<BucketRequest> {
        let principal = self.signed(credentials).await?;
        let bucket = self.core.bucket_for(Some(&principal), bucket).await.s3()?;
        Ok(BucketRequest { principal, bucket })
    }

    /// The caller, if any, of an operation anonymous callers may make on public buckets, and the bucket.
    pub async fn read_request(&self, credentials: Option<&Credentials>, bucket: &str) -> S3Result<ReadRequest> {
        let principal = self.caller(credentials).await?;
        let bucket = self.core.bucket_for(principal.as_ref(), bucket).await.s3()?;
        Ok(ReadRequest { principal, bucket })
    }
}

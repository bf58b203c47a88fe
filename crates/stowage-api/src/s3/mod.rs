//! The S3-compatible API over the same buckets and files. `s3s` does the wire work (routing, SigV4 and
//! SigV2, aws-chunked bodies, XML); it is imported only inside this module.

mod adapter;
mod checksum;
mod error;

use std::sync::Arc;

use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3Result, s3_error};
use stowage_core::Stowage;

/// Access keys are application key ids; their secrets sign requests.
struct KeyAuth {
    core: Arc<Stowage>,
}

#[async_trait::async_trait]
impl S3Auth for KeyAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.core.secret_for_key(access_key).await {
            Ok(Some(secret)) => Ok(SecretKey::from(secret)),
            Ok(None) => Err(s3_error!(InvalidAccessKeyId, "The access key ID you provided does not exist")),
            Err(e) => Err(error::to_s3(e)),
        }
    }
}

/// s3s reports transport-level failures (not S3 errors) here; they become a plain 500 with the reason logged.
pub async fn http_error(err: s3s::HttpError) -> axum::http::Response<s3s::Body> {
    tracing::error!(?err, "S3 transport error");
    let mut response = axum::http::Response::new(s3s::Body::from("internal error".to_string()));
    *response.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// s3s would refuse every unsigned request; the core decides instead (public buckets are readable by
/// anyone, everything else needs a principal), so this lets them through to the adapter.
struct CoreDecides;

#[async_trait::async_trait]
impl S3Access for CoreDecides {
    async fn check(&self, _cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        Ok(())
    }
}

pub fn service(core: Arc<Stowage>) -> S3Service {
    let mut builder = S3ServiceBuilder::new(adapter::StowageS3 { core: core.clone() });
    builder.set_auth(KeyAuth { core });
    builder.set_access(CoreDecides);
    builder.build()
}

//! Sharing files: download authorizations (tokens for one bucket and name prefix, for a bounded time).

use super::Stowage;
use crate::auth::{Capability, NameScope, Principal, TokenScope};
use crate::error::{Error, Result};

pub const MAX_DOWNLOAD_AUTH_SECONDS: i64 = 604_800;

impl Stowage {
    pub async fn get_download_authorization(
        &self,
        principal: &Principal,
        bucket_id: &str,
        prefix: &str,
        valid_seconds: i64,
    ) -> Result<String> {
        principal.authorize(Capability::ShareFiles, Some(bucket_id), NameScope::Prefix(prefix))?;
        self.bucket(bucket_id).await?;
        if !(1..=MAX_DOWNLOAD_AUTH_SECONDS).contains(&valid_seconds) {
            return Err(Error::invalid(format!("validDurationInSeconds must be between 1 and {MAX_DOWNLOAD_AUTH_SECONDS}")));
        }
        Ok(self.mint(principal, TokenScope::Download { b: bucket_id.to_string(), n: prefix.to_string() }, valid_seconds * 1000))
    }
}

//! SSE-KMS with keys Stowage keeps itself: an administrator creates named keys (random material sealed
//! under the master key); objects encrypted under one derive their blob keys from its material, as SSE-B2
//! blobs derive theirs from the master key. Opened keys are cached: keys never change.

use super::Stowage;
use crate::error::{Error, Result};
use crate::model::{KmsKey, Millis};
use crate::sealing::{open_kms_key, seal_kms_key};
use crate::store::MetadataStore;

/// The key SSE-KMS uses when a request names none (AWS's `aws/s3`), created on first use.
pub const DEFAULT_KMS_KEY: &str = "stowage/default";

/// A key id as S3 requests may name it: the id, or a key ARN (`arn:aws:kms:<region>:<account>:key/<id>`).
pub fn kms_key_id(named: &str) -> &str {
    named.strip_prefix("arn:aws:kms:").and_then(|arn| arn.split_once(":key/")).map_or(named, |(_, id)| id)
}

fn check_key_id(key_id: &str) -> Result<()> {
    let ok = (1..=256).contains(&key_id.len())
        && key_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'.' | b':'));
    if ok {
        return Ok(());
    }
    Err(Error::invalid(format!("Invalid KMS key id {key_id:?}: 1 to 256 letters, digits and - _ / . :")))
}

/// Creates a key: random material sealed under `master`. Administrators only (the CLI's `stowage kms
/// create`, which runs beside the server on its store); fails if the id is taken.
pub async fn create_kms_key(meta: &dyn MetadataStore, master: &[u8], key_id: &str, now: Millis) -> Result<KmsKey> {
    check_key_id(key_id)?;
    let material: [u8; 32] = rand::random();
    let key = KmsKey { key_id: key_id.to_string(), sealed: seal_kms_key(master, key_id, &material)?, created: now };
    if !meta.insert_kms_key(&key).await? {
        return Err(Error::Conflict(format!("a KMS key named {key_id} exists already")));
    }
    Ok(key)
}

impl Stowage {
    /// Creates a key (see `create_kms_key`).
    pub async fn create_kms_key(&self, key_id: &str) -> Result<KmsKey> {
        create_kms_key(self.meta.as_ref(), &self.config.master_key.0, key_id, self.now()).await
    }

    /// A key's material, opened with the master key; the default key is created on first use.
    pub(crate) async fn kms_material(&self, key_id: &str) -> Result<Vec<u8>> {
        if let Some(material) = self.kms_cache.lock().ok().and_then(|cache| cache.get(key_id).cloned()) {
            return Ok(material);
        }
        let mut stored = self.meta.get_kms_key(key_id).await?;
        if stored.is_none() && key_id == DEFAULT_KMS_KEY {
            // Two nodes creating it at once: one wins, and both use the stored one.
            let _ = self.create_kms_key(DEFAULT_KMS_KEY).await;
            stored = self.meta.get_kms_key(key_id).await?;
        }
        let key = stored.ok_or_else(|| Error::KmsKeyNotFound(key_id.to_string()))?;
        let material = open_kms_key(&self.config.master_key.0, key_id, &key.sealed)?;
        if let Ok(mut cache) = self.kms_cache.lock() {
            cache.insert(key_id.to_string(), material.clone());
        }
        Ok(material)
    }
}

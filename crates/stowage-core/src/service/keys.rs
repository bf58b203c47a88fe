use rand::Rng;
use rand::distributions::Alphanumeric;

use super::{Stowage, random_hex};
use crate::auth::{Capability, NameScope, Principal};
use crate::error::{Error, Result};
use crate::model::AppKey;
use crate::names::check_key_name;

/// Longest key lifetime B2 allows (1000 days).
pub const MAX_KEY_SECONDS: i64 = 86_400_000;

#[derive(Debug, Clone, Default)]
pub struct NewKey {
    pub name: String,
    pub capabilities: Vec<String>,
    pub valid_duration_seconds: Option<i64>,
    pub bucket_ids: Option<Vec<String>>,
    pub name_prefix: Option<String>,
}

impl Stowage {
    pub async fn create_key(&self, principal: &Principal, req: NewKey) -> Result<AppKey> {
        principal.authorize(Capability::WriteKeys, None, NameScope::None)?;
        check_key_name(&req.name)?;
        if req.capabilities.is_empty() {
            return Err(Error::invalid("capabilities must not be empty"));
        }
        let mut caps = Vec::new();
        for name in &req.capabilities {
            let cap = Capability::parse(name).ok_or_else(|| Error::invalid(format!("unknown capability: {name}")))?;
            if req.bucket_ids.is_some() && !cap.is_bucket_level() {
                return Err(Error::invalid(format!("capability {name} is not allowed on a key restricted to buckets")));
            }
            if !caps.contains(&cap) {
                caps.push(cap);
            }
        }
        if let Some(secs) = req.valid_duration_seconds
            && !(1..=MAX_KEY_SECONDS).contains(&secs)
        {
            return Err(Error::invalid(format!("validDurationInSeconds must be between 1 and {MAX_KEY_SECONDS}")));
        }
        if let Some(ids) = &req.bucket_ids {
            if ids.is_empty() {
                return Err(Error::invalid("bucketIds must not be empty"));
            }
            for id in ids {
                self.bucket(id).await?;
            }
        }
        let now = self.now();
        let key = AppKey {
            key_id: format!("005{}", random_hex(11)),
            secret: format!("K005{}", rand::thread_rng().sample_iter(&Alphanumeric).take(27).map(char::from).collect::<String>()),
            name: req.name,
            capabilities: caps,
            bucket_ids: req.bucket_ids,
            name_prefix: req.name_prefix.filter(|p| !p.is_empty()),
            expires: req.valid_duration_seconds.map(|s| now + s * 1000),
            created: now,
        };
        self.meta.insert_key(&self.sealed_key(&key)).await?;
        Ok(key)
    }

    /// Keys from `start` (inclusive), at most `max`, and the id to continue from.
    pub async fn list_keys(&self, principal: &Principal, start: Option<&str>, max: Option<i64>) -> Result<(Vec<AppKey>, Option<String>)> {
        principal.authorize(Capability::ListKeys, None, NameScope::None)?;
        let max = match max {
            None | Some(0) => 100,
            Some(n) if (1..=10_000).contains(&n) => n as usize,
            Some(n) => return Err(Error::OutOfRange(format!("maxKeyCount out of range: {n}"))),
        };
        let mut keys = self.meta.list_keys(start, max + 1).await?;
        let next = if keys.len() > max { keys.pop().map(|k| k.key_id) } else { None };
        Ok((keys, next))
    }

    pub async fn delete_key(&self, principal: &Principal, key_id: &str) -> Result<AppKey> {
        principal.authorize(Capability::DeleteKeys, None, NameScope::None)?;
        self.meta.delete_key(key_id).await?.ok_or_else(|| Error::invalid(format!("application key does not exist: {key_id}")))
    }
}

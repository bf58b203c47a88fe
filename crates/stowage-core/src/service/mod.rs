//! The operations both APIs share. Each public method checks access through [`Principal::authorize`]
//! first, so no front-end has to.

mod access;
mod buckets;
mod cluster;
mod copy;
mod delete;
mod download;
mod files;
mod keys;
mod kms;
pub mod large;
pub mod lifecycle;
mod list;
mod objects;
mod retention;
mod share;
mod upload;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub use buckets::{BucketFilter, BucketSettings, PendingUploads};
pub use copy::{CopyRequest, MetadataDirective};
pub use download::{ByteRange, Download};
pub use files::{EncryptionRequest, NewFile};
pub use keys::NewKey;
pub use kms::{DEFAULT_KMS_KEY, create_kms_key, kms_key_id};
pub use large::{CopyPart, ListedPart, PartUpload, StoredPart, UploadListing};
pub use list::{ListEntry, ListPage, ListRequest, NameSearch};
pub use objects::{CorsTarget, Deleted, NULL_VERSION, bucket_id_of_file};
pub use upload::{BodyCheck, Sha1Check};

use crate::auth::{Principal, TokenScope, TokenSigner, secrets_match};
use crate::capacity::Capacity;
use crate::error::{Error, Result};
use crate::events::{Delivery, Event};
use crate::model::{AppKey, Bucket, FileVersion, Millis};
use crate::store::{BlobStore, MetadataStore, ServerIdentity};

/// Time source, replaceable so tests can move lifecycle rules forward by days.
pub trait Clock: Send + Sync {
    fn now(&self) -> Millis;
}

/// Wall-clock time plus an adjustable offset (zero unless a test moves it).
#[derive(Default)]
pub struct SystemClock {
    offset: AtomicI64,
}

impl SystemClock {
    pub fn advance(&self, millis: Millis) {
        self.offset.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        wall_clock() + self.offset.load(Ordering::SeqCst)
    }
}

/// Milliseconds since the Unix epoch by this machine's clock, never moved by tests (leases, store
/// bookkeeping).
pub fn wall_clock() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The server's root key for SSE-B2; never printed.
#[derive(Clone)]
pub struct MasterKey(pub [u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL clients reach this server at; every URL we hand out starts with it.
    pub public_url: String,
    pub absolute_minimum_part_size: u64,
    pub recommended_part_size: u64,
    pub max_buckets: usize,
    pub master_key: MasterKey,
    /// An upload whose body sends nothing for this long is failed.
    pub body_idle_timeout: std::time::Duration,
    /// Buckets created through S3 start with versioning enabled (B2's model) rather than unversioned.
    pub s3_buckets_versioned: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: "http://127.0.0.1:8180".into(),
            absolute_minimum_part_size: 5_000_000,
            recommended_part_size: 100_000_000,
            max_buckets: 100,
            master_key: MasterKey([0; 32]),
            body_idle_timeout: std::time::Duration::from_secs(60),
            s3_buckets_versioned: false,
        }
    }
}

pub const ACCOUNT_TOKEN_TTL: Millis = 24 * 3600 * 1000;
/// Largest simple upload or copy (B2's 5 GB).
pub const MAX_SIMPLE_FILE: u64 = 5_000_000_000;

pub struct Stowage {
    pub(crate) meta: Arc<dyn MetadataStore>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) signer: TokenSigner,
    pub(crate) identity: ServerIdentity,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: Config,
    pub(crate) capacity: Arc<Capacity>,
    last_sequence: AtomicI64,
    /// Opened SSE-KMS keys by id (keys never change).
    pub(crate) kms_cache: std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>,
    /// Parsed bucket policies by bucket id, with the bucket revision they were parsed at.
    pub(crate) policy_cache: std::sync::Mutex<std::collections::HashMap<String, (i64, Arc<crate::policy::Policy>)>>,
}

/// Result of a successful `b2_authorize_account`.
pub struct Authorization {
    pub key: AppKey,
    pub token: String,
    /// The key's buckets as (id, name); the name is None for a bucket deleted since.
    pub allowed_buckets: Option<Vec<(String, Option<String>)>>,
}

impl Stowage {
    pub async fn new(meta: Arc<dyn MetadataStore>, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>, config: Config) -> Result<Self> {
        let identity = meta.identity().await?;
        Ok(Stowage {
            signer: TokenSigner::new(identity.token_secret.clone()),
            meta,
            blobs,
            identity,
            clock,
            config,
            capacity: Arc::new(Capacity::default()),
            last_sequence: AtomicI64::new(0),
            kms_cache: Default::default(),
            policy_cache: Default::default(),
        })
    }

    /// Queues an object event for every notification rule of its bucket that matches it, in the metadata
    /// store's outbox (delivered by whichever node holds the delivery lease; see `pending_deliveries`). The
    /// event is queued after the change it reports commits: a crash between the two loses the event.
    pub(crate) async fn emit(&self, event_type: crate::events::EventType, version: &FileVersion) {
        let Ok(bucket) = self.bucket(&version.bucket_id).await else { return };
        let now = self.now();
        let mut records = Vec::new();
        for rule in crate::events::matching_rules(&bucket, event_type, version) {
            let target = &rule.target_configuration;
            let delivery = Delivery {
                url: target.url.clone(),
                custom_headers: target.custom_headers.iter().flatten().map(|h| (h.name.clone(), h.value.clone())).collect(),
                signing_secret: target.hmac_sha256_signing_secret.clone().filter(|s| !s.is_empty()),
                max_events_per_batch: rule.max_events_per_batch.and_then(|n| usize::try_from(n).ok()).unwrap_or(1).clamp(1, 50),
                rule_key: format!("{}/{}", bucket.id, rule.name),
                event: Event {
                    account_id: self.identity.account_id.clone(),
                    bucket_id: bucket.id.clone(),
                    bucket_name: bucket.name.clone(),
                    event_id: random_hex(16),
                    event_timestamp: now,
                    event_type: event_type.as_str().to_string(),
                    event_version: 1,
                    matched_rule_name: rule.name.clone(),
                    object_name: version.name.clone(),
                    object_size: version.size,
                    object_version_id: version.file_id.clone(),
                },
            };
            match serde_json::to_string(&delivery) {
                Ok(record) => records.push(record),
                Err(e) => tracing::warn!("event notification not queued: {e}"),
            }
        }
        if !records.is_empty()
            && let Err(e) = self.meta.queue_events(&records).await
        {
            tracing::warn!(events = records.len(), "event notifications not queued: {e}");
        }
    }

    /// The oldest queued event deliveries with their sequence numbers, but those of suspended rules (they
    /// wait, queued, until the rule is set again). Records this build cannot read are dropped (and logged).
    pub async fn pending_deliveries(&self, limit: usize) -> Result<Vec<(i64, Delivery)>> {
        let mut out = Vec::new();
        let mut unreadable = Vec::new();
        let mut suspended: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
        for (seq, record) in self.meta.pending_events(limit).await? {
            match serde_json::from_str::<Delivery>(&record) {
                Ok(delivery) => {
                    let held = match suspended.get(&delivery.rule_key) {
                        Some(held) => *held,
                        None => {
                            let held = self.bucket(&delivery.event.bucket_id).await.is_ok_and(|b| {
                                b.notification_rules.iter().any(|r| r.name == delivery.event.matched_rule_name && r.is_suspended)
                            });
                            suspended.insert(delivery.rule_key.clone(), held);
                            held
                        }
                    };
                    if !held {
                        out.push((seq, delivery));
                    }
                }
                Err(e) => {
                    tracing::warn!(seq, "dropping an unreadable queued event notification: {e}");
                    unreadable.push(seq);
                }
            }
        }
        if !unreadable.is_empty() {
            self.meta.forget_events(&unreadable).await?;
        }
        Ok(out)
    }

    /// Removes deliveries from the outbox once sent (or given up on).
    pub async fn forget_deliveries(&self, seqs: &[i64]) -> Result<()> {
        self.meta.forget_events(seqs).await
    }

    /// Room for new data, kept current by the binary's disk monitor.
    pub fn capacity(&self) -> &Arc<Capacity> {
        &self.capacity
    }

    /// Passes `result` on, telling the capacity monitor when it failed for lack of room.
    pub(crate) fn note_full<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(Error::StorageFull(_)) = &result {
            self.capacity.report_full();
        }
        result
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn account_id(&self) -> &str {
        &self.identity.account_id
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// A strictly increasing number per node, derived from time, so file ids sort newest-last by upload time.
    pub(crate) fn next_sequence(&self, at: Millis) -> i64 {
        let floor = at.max(0) << 12;
        let mut prev = self.last_sequence.load(Ordering::SeqCst);
        loop {
            let next = if floor > prev { floor } else { prev + 1 };
            match self.last_sequence.compare_exchange(prev, next, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return next,
                Err(actual) => prev = actual,
            }
        }
    }

    /// A key as the metadata store keeps it: its secret sealed under the master key.
    pub(crate) fn sealed_key(&self, key: &AppKey) -> AppKey {
        AppKey { secret: crate::sealing::seal_secret(&self.config.master_key.0, &key.key_id, &key.secret), ..key.clone() }
    }

    /// A stored key with its secret opened (keys stored before sealing existed pass through).
    pub(crate) async fn load_key(&self, key_id: &str) -> Result<Option<AppKey>> {
        let Some(mut key) = self.meta.get_key(key_id).await? else { return Ok(None) };
        key.secret = crate::sealing::open_secret(&self.config.master_key.0, &key.key_id, &key.secret).ok_or_else(|| {
            Error::internal(format!("the secret of key {key_id} cannot be opened: is this the master key it was sealed with?"))
        })?;
        Ok(Some(key))
    }

    /// Makes sure the root key exists with this secret, holding every capability. A root key stored before
    /// secrets were sealed is stored again, sealed (it is rebuilt from its configured secret, so a crash in
    /// between loses nothing).
    pub async fn ensure_root_key(&self, key_id: &str, secret: &str) -> Result<()> {
        let first = self.store_root_key(key_id, secret).await;
        // Nodes of one deployment starting together race to store it; the loser finds it there.
        if first.is_err() && self.store_root_key(key_id, secret).await.is_ok() {
            return Ok(());
        }
        first
    }

    async fn store_root_key(&self, key_id: &str, secret: &str) -> Result<()> {
        if let Some(existing) = self.meta.get_key(key_id).await? {
            let opened = crate::sealing::open_secret(&self.config.master_key.0, key_id, &existing.secret);
            if crate::sealing::is_sealed_secret(&existing.secret) && opened.as_deref() == Some(secret) && existing.bucket_ids.is_none() {
                return Ok(());
            }
            self.meta.delete_key(key_id).await?;
        }
        let key = AppKey {
            key_id: key_id.to_string(),
            secret: secret.to_string(),
            name: "root".into(),
            capabilities: crate::auth::Capability::ALL.to_vec(),
            bucket_ids: None,
            name_prefix: None,
            expires: None,
            created: self.now(),
        };
        self.meta.insert_key(&self.sealed_key(&key)).await
    }

    pub async fn authorize_account(&self, key_id: &str, secret: &str, root_key_id: Option<&str>) -> Result<Authorization> {
        let bad = || Error::BadCredentials("Invalid application key ID or application key".into());
        // B2 accepts the account id in place of the master key id.
        let key_id = if key_id == self.identity.account_id { root_key_id.unwrap_or(key_id) } else { key_id };
        let key = self.load_key(key_id).await?.ok_or_else(bad)?;
        if !secrets_match(&key.secret, secret) {
            return Err(bad());
        }
        let now = self.now();
        if key.expires.is_some_and(|e| e <= now) {
            return Err(bad());
        }
        let expires = key.expires.map_or(now + ACCOUNT_TOKEN_TTL, |e| e.min(now + ACCOUNT_TOKEN_TTL));
        let token = self.signer.mint(&key.key_id, TokenScope::Account, expires);
        let allowed_buckets = match &key.bucket_ids {
            None => None,
            Some(ids) => {
                let mut out = Vec::new();
                for id in ids {
                    out.push((id.clone(), self.meta.get_bucket(id).await?.map(|b| b.name)));
                }
                Some(out)
            }
        };
        Ok(Authorization { key, token, allowed_buckets })
    }

    /// Resolves a token to its caller; fails for bad, expired, or revoked tokens.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let (key_id, scope, expires) = self.signer.verify(token)?;
        let now = self.now();
        if expires <= now {
            return Err(Error::ExpiredAuthToken);
        }
        let key =
            self.load_key(&key_id).await?.ok_or_else(|| Error::BadAuthToken("The application key of this token was deleted".into()))?;
        if key.expires.is_some_and(|e| e <= now) {
            return Err(Error::ExpiredAuthToken);
        }
        Ok(Principal { key, scope })
    }

    pub(crate) async fn bucket(&self, bucket_id: &str) -> Result<Bucket> {
        self.meta.get_bucket(bucket_id).await?.ok_or_else(|| Error::BucketNotFound(bucket_id.to_string()))
    }

    pub async fn bucket_by_name(&self, name: &str) -> Result<Bucket> {
        self.meta.get_bucket_by_name(name).await?.ok_or_else(|| Error::BucketNotFound(name.to_string()))
    }

    /// Mints a short-lived token of another scope for the same key (upload URLs, download authorizations).
    pub(crate) fn mint(&self, principal: &Principal, scope: TokenScope, ttl: Millis) -> String {
        let mut expires = self.now() + ttl;
        if let Some(key_expiry) = principal.key.expires {
            expires = expires.min(key_expiry);
        }
        self.signer.mint(&principal.key.key_id, scope, expires)
    }

    /// Readiness: whether the metadata store and the blob store answer now (each `Err` says which failed).
    pub async fn check_ready(&self) -> (Result<()>, Result<()>) {
        let metadata = self.meta.get_bucket("readiness-probe").await.map(|_| ());
        let blobs = self.blobs.ready().await;
        (metadata, blobs)
    }

    /// Deletes blobs queued for collection; returns how many went.
    pub async fn collect_garbage(&self) -> Result<usize> {
        let pending = self.meta.pending_blob_deletes(1000).await?;
        let mut done = Vec::new();
        for id in pending {
            if self.meta.blob_referenced(&id).await? {
                done.push(id);
                continue;
            }
            self.blobs.delete(&id).await?;
            done.push(id);
        }
        self.meta.forget_blob_deletes(&done).await?;
        Ok(done.len())
    }

    /// Removes blobs no version or part refers to and older than `min_age` (crash orphans).
    pub async fn collect_orphans(&self, min_age: Millis) -> Result<usize> {
        let cutoff = self.now() - min_age;
        let mut after: Option<String> = None;
        let mut removed = 0;
        loop {
            let batch = self.blobs.list(after.as_deref(), 1000).await?;
            let Some((last, _)) = batch.last() else { break };
            after = Some(last.clone());
            for (id, written) in batch {
                if written < cutoff && !self.meta.blob_referenced(&id).await? {
                    self.blobs.delete(&id).await?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let buf: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(buf)
}

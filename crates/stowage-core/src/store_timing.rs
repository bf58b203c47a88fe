//! Per-operation latencies of the metadata and blob stores, for `/_metrics`: decorators that time every
//! call of the wrapped store. A blob `put` is timed until the blob is durable, so it includes reading the
//! upload's body; a `get` is timed until its stream opens. Under `--test-hooks` the same decorators fail
//! the calls a test armed in `store_faults.rs` (counted as errors here like any other failure).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;

use crate::error::Result;
use crate::model::{AppKey, Bucket, DailyUsage, FileVersion, KmsKey, Millis, Part};
use crate::store::{
    BlobStore, ByteStream, FinishPlan, LatestCheck, ListCursor, MetadataStore, ServerIdentity, VersionChange, VersionCheck,
};
use crate::store_faults::StoreFaults;

/// Upper bounds (seconds) of the latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5];

/// One operation's histogram.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    /// Calls at or under each bound of `LATENCY_BUCKETS`.
    pub buckets: [u64; 10],
    pub sum_seconds: f64,
    pub count: u64,
    pub errors: u64,
}

/// Latencies by (store, operation).
#[derive(Default)]
pub struct StoreTimings {
    ops: Mutex<BTreeMap<(&'static str, &'static str), Latency>>,
}

impl StoreTimings {
    fn record(&self, store: &'static str, op: &'static str, seconds: f64, failed: bool) {
        if let Ok(mut ops) = self.ops.lock() {
            let latency = ops.entry((store, op)).or_default();
            for (bound, n) in LATENCY_BUCKETS.iter().zip(latency.buckets.iter_mut()) {
                if seconds <= *bound {
                    *n += 1;
                }
            }
            latency.sum_seconds += seconds;
            latency.count += 1;
            latency.errors += u64::from(failed);
        }
    }

    /// Every (store, operation) called so far and its histogram.
    pub fn snapshot(&self) -> Vec<((&'static str, &'static str), Latency)> {
        self.ops.lock().map(|ops| ops.iter().map(|(k, v)| (*k, v.clone())).collect()).unwrap_or_default()
    }
}

macro_rules! timed {
    ($self:ident, $store:literal, $op:literal, $call:expr) => {{
        let started = Instant::now();
        let out = match &$self.faults {
            None => $call.await,
            Some(faults) => faults.around($store, $op, $call).await,
        };
        $self.timings.record($store, $op, started.elapsed().as_secs_f64(), out.is_err());
        out
    }};
}

/// A metadata store whose every call is timed (and fails when a test armed a fault for it).
pub struct TimedMetadataStore {
    inner: Arc<dyn MetadataStore>,
    timings: Arc<StoreTimings>,
    faults: Option<Arc<StoreFaults>>,
}

impl TimedMetadataStore {
    pub fn new(inner: Arc<dyn MetadataStore>, timings: Arc<StoreTimings>, faults: Option<Arc<StoreFaults>>) -> Self {
        Self { inner, timings, faults }
    }
}

/// A blob store whose every call is timed (and fails when a test armed a fault for it).
pub struct TimedBlobStore {
    inner: Arc<dyn BlobStore>,
    timings: Arc<StoreTimings>,
    faults: Option<Arc<StoreFaults>>,
}

impl TimedBlobStore {
    pub fn new(inner: Arc<dyn BlobStore>, timings: Arc<StoreTimings>, faults: Option<Arc<StoreFaults>>) -> Self {
        Self { inner, timings, faults }
    }
}

#[async_trait]
impl MetadataStore for TimedMetadataStore {
    async fn identity(&self) -> Result<ServerIdentity> {
        timed!(self, "metadata", "identity", self.inner.identity())
    }

    async fn insert_key(&self, key: &AppKey) -> Result<()> {
        timed!(self, "metadata", "insert_key", self.inner.insert_key(key))
    }

    async fn get_key(&self, key_id: &str) -> Result<Option<AppKey>> {
        timed!(self, "metadata", "get_key", self.inner.get_key(key_id))
    }

    async fn list_keys(&self, start_key_id: Option<&str>, limit: usize) -> Result<Vec<AppKey>> {
        timed!(self, "metadata", "list_keys", self.inner.list_keys(start_key_id, limit))
    }

    async fn delete_key(&self, key_id: &str) -> Result<Option<AppKey>> {
        timed!(self, "metadata", "delete_key", self.inner.delete_key(key_id))
    }

    async fn create_bucket(&self, bucket: &Bucket, max_buckets: usize) -> Result<()> {
        timed!(self, "metadata", "create_bucket", self.inner.create_bucket(bucket, max_buckets))
    }

    async fn get_bucket(&self, bucket_id: &str) -> Result<Option<Bucket>> {
        timed!(self, "metadata", "get_bucket", self.inner.get_bucket(bucket_id))
    }

    async fn get_bucket_by_name(&self, name: &str) -> Result<Option<Bucket>> {
        timed!(self, "metadata", "get_bucket_by_name", self.inner.get_bucket_by_name(name))
    }

    async fn list_buckets(&self) -> Result<Vec<Bucket>> {
        timed!(self, "metadata", "list_buckets", self.inner.list_buckets())
    }

    async fn update_bucket(&self, bucket: &Bucket, expected_revision: i64) -> Result<bool> {
        timed!(self, "metadata", "update_bucket", self.inner.update_bucket(bucket, expected_revision))
    }

    async fn delete_bucket(&self, bucket_id: &str) -> Result<()> {
        timed!(self, "metadata", "delete_bucket", self.inner.delete_bucket(bucket_id))
    }

    async fn insert_version(&self, version: &FileVersion) -> Result<()> {
        timed!(self, "metadata", "insert_version", self.inner.insert_version(version))
    }

    async fn insert_kms_key(&self, key: &KmsKey) -> Result<bool> {
        timed!(self, "metadata", "insert_kms_key", self.inner.insert_kms_key(key))
    }

    async fn get_kms_key(&self, key_id: &str) -> Result<Option<KmsKey>> {
        timed!(self, "metadata", "get_kms_key", self.inner.get_kms_key(key_id))
    }

    async fn list_kms_keys(&self) -> Result<Vec<KmsKey>> {
        timed!(self, "metadata", "list_kms_keys", self.inner.list_kms_keys())
    }

    async fn insert_version_if(&self, version: &FileVersion, check: LatestCheck) -> Result<()> {
        timed!(self, "metadata", "insert_version_if", self.inner.insert_version_if(version, check))
    }

    async fn get_version(&self, file_id: &str) -> Result<Option<FileVersion>> {
        timed!(self, "metadata", "get_version", self.inner.get_version(file_id))
    }

    async fn modify_version(&self, file_id: &str, change: VersionChange) -> Result<FileVersion> {
        timed!(self, "metadata", "modify_version", self.inner.modify_version(file_id, change))
    }

    async fn delete_version(&self, file_id: &str, check: VersionCheck) -> Result<Option<FileVersion>> {
        timed!(self, "metadata", "delete_version", self.inner.delete_version(file_id, check))
    }

    async fn latest_version(&self, bucket_id: &str, name: &str) -> Result<Option<FileVersion>> {
        timed!(self, "metadata", "latest_version", self.inner.latest_version(bucket_id, name))
    }

    async fn list_versions(&self, bucket_id: &str, cursor: &ListCursor, latest_only: bool, limit: usize) -> Result<Vec<FileVersion>> {
        timed!(self, "metadata", "list_versions", self.inner.list_versions(bucket_id, cursor, latest_only, limit))
    }

    async fn list_unfinished(
        &self,
        bucket_id: &str,
        name_prefix: &str,
        start_file_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FileVersion>> {
        timed!(self, "metadata", "list_unfinished", self.inner.list_unfinished(bucket_id, name_prefix, start_file_id, limit))
    }

    async fn list_unfinished_by_name(
        &self,
        bucket_id: &str,
        name_prefix: &str,
        after: Option<(&str, Option<&str>)>,
        limit: usize,
    ) -> Result<Vec<FileVersion>> {
        timed!(self, "metadata", "list_unfinished_by_name", self.inner.list_unfinished_by_name(bucket_id, name_prefix, after, limit))
    }

    async fn count_versions(&self, bucket_id: &str) -> Result<u64> {
        timed!(self, "metadata", "count_versions", self.inner.count_versions(bucket_id))
    }

    async fn put_part(&self, part: &Part) -> Result<()> {
        timed!(self, "metadata", "put_part", self.inner.put_part(part))
    }

    async fn list_parts(&self, file_id: &str, start_part: u32, limit: usize) -> Result<Vec<Part>> {
        timed!(self, "metadata", "list_parts", self.inner.list_parts(file_id, start_part, limit))
    }

    async fn finish_large_file(&self, file_id: &str, plan: FinishPlan, check: Option<LatestCheck>) -> Result<FileVersion> {
        timed!(self, "metadata", "finish_large_file", self.inner.finish_large_file(file_id, plan, check))
    }

    async fn queue_blob_deletes(&self, blob_ids: &[String]) -> Result<()> {
        timed!(self, "metadata", "queue_blob_deletes", self.inner.queue_blob_deletes(blob_ids))
    }

    async fn pending_blob_deletes(&self, limit: usize) -> Result<Vec<String>> {
        timed!(self, "metadata", "pending_blob_deletes", self.inner.pending_blob_deletes(limit))
    }

    async fn forget_blob_deletes(&self, blob_ids: &[String]) -> Result<()> {
        timed!(self, "metadata", "forget_blob_deletes", self.inner.forget_blob_deletes(blob_ids))
    }

    async fn blob_referenced(&self, blob_id: &str) -> Result<bool> {
        timed!(self, "metadata", "blob_referenced", self.inner.blob_referenced(blob_id))
    }

    async fn scan_versions(&self, bucket_id: &str, prefix: &str, after: Option<(&str, &str)>, limit: usize) -> Result<Vec<FileVersion>> {
        timed!(self, "metadata", "scan_versions", self.inner.scan_versions(bucket_id, prefix, after, limit))
    }

    async fn bucket_usage(&self, bucket_id: &str, prefix: &str) -> Result<(u64, u64, Option<Millis>)> {
        timed!(self, "metadata", "bucket_usage", self.inner.bucket_usage(bucket_id, prefix))
    }

    async fn record_usage(&self, bucket_id: &str, usage: DailyUsage) -> Result<()> {
        timed!(self, "metadata", "record_usage", self.inner.record_usage(bucket_id, usage))
    }

    async fn usage_history(&self, bucket_id: &str, since_day: i64) -> Result<Vec<DailyUsage>> {
        timed!(self, "metadata", "usage_history", self.inner.usage_history(bucket_id, since_day))
    }

    async fn settle(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        timed!(self, "metadata", "settle", self.inner.settle(name, value))
    }

    async fn acquire_lease(&self, name: &str, holder: &str, now: Millis, until: Millis) -> Result<bool> {
        timed!(self, "metadata", "acquire_lease", self.inner.acquire_lease(name, holder, now, until))
    }

    async fn put_session(&self, id_hash: &str, record: &str, expires: Millis, now: Millis) -> Result<()> {
        timed!(self, "metadata", "put_session", self.inner.put_session(id_hash, record, expires, now))
    }

    async fn get_session(&self, id_hash: &str, now: Millis) -> Result<Option<String>> {
        timed!(self, "metadata", "get_session", self.inner.get_session(id_hash, now))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        timed!(self, "metadata", "delete_session", self.inner.delete_session(id_hash))
    }

    async fn queue_events(&self, records: &[String]) -> Result<()> {
        timed!(self, "metadata", "queue_events", self.inner.queue_events(records))
    }

    async fn pending_events(&self, limit: usize) -> Result<Vec<(i64, String)>> {
        timed!(self, "metadata", "pending_events", self.inner.pending_events(limit))
    }

    async fn forget_events(&self, seqs: &[i64]) -> Result<()> {
        timed!(self, "metadata", "forget_events", self.inner.forget_events(seqs))
    }
}

#[async_trait]
impl BlobStore for TimedBlobStore {
    async fn put(&self, body: ByteStream) -> Result<(String, u64)> {
        timed!(self, "blobs", "put", self.inner.put(body))
    }

    async fn get(&self, blob_id: &str, offset: u64, len: u64) -> Result<ByteStream> {
        timed!(self, "blobs", "get", self.inner.get(blob_id, offset, len))
    }

    async fn delete(&self, blob_id: &str) -> Result<()> {
        timed!(self, "blobs", "delete", self.inner.delete(blob_id))
    }

    async fn ready(&self) -> Result<()> {
        timed!(self, "blobs", "ready", self.inner.ready())
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Millis)>> {
        timed!(self, "blobs", "list", self.inner.list(after, limit))
    }
}

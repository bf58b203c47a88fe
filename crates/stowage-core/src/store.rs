//! The storage traits the core is written against. Implementations live in `stowage-store`.
//!
//! Every method is one atomic step: a metadata implementation runs each in one transaction, so several
//! stateless nodes can share one database. Names compare in UTF-8 byte order everywhere; bucket names are
//! unique case-insensitively. `stowage-store/src/conformance.rs` is this contract as one test body, run
//! against every implementation (ordering, cursors, refusals, and the compare-and-set steps under racing
//! callers).
//!
//! Errors: besides those a method names, any call may fail with `ServiceUnavailable` (the database or
//! blob service does not answer; the caller may retry), `StorageFull` (no room for a write; nothing was
//! written) or `Internal`. A failed call changed nothing, except that a call whose acknowledgement was
//! lost after its commit may have done its work: callers never take a failure to mean "not written" when
//! that would lose data (blobs of a failed commit are queued for collection, and collection checks
//! `blob_referenced` first). Lookups answer `Ok(None)` for what does not exist, never an error.
//! `store_faults.rs` fails chosen calls on demand, for tests of these paths.

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

use crate::error::Result;
use crate::model::{AppKey, Bucket, DailyUsage, FileVersion, KmsKey, Millis, Part};

/// A decision the store runs on a version's current state, inside the transaction that changes it, so no
/// concurrent change can slip between the check and the write (object lock, large-file state).
pub type VersionCheck = Box<dyn FnOnce(&FileVersion) -> Result<()> + Send>;
/// A decision on a name's newest upload-or-hide version (`None` when it has none), run inside the
/// transaction that adds a version of that name, with concurrent conditional writers to the name
/// serialized (S3 conditional writes: `If-None-Match: *`, `If-Match`).
pub type LatestCheck = Box<dyn FnOnce(Option<&FileVersion>) -> Result<()> + Send>;
/// A change to a stored version, computed from its current state inside the transaction that writes it.
pub type VersionChange = Box<dyn FnOnce(FileVersion) -> Result<FileVersion> + Send>;
/// Builds a finished large file from its unfinished version and every uploaded part (by part number),
/// inside the transaction that commits it; an error leaves the upload as it was.
pub type FinishPlan = Box<dyn FnOnce(FileVersion, Vec<Part>) -> Result<FileVersion> + Send>;

/// Facts every node must agree on, created once when the store is first opened.
#[derive(Debug, Clone)]
pub struct ServerIdentity {
    pub account_id: String,
    /// HMAC key for stateless auth tokens.
    pub token_secret: Vec<u8>,
}

/// Where a listing starts and what it covers.
#[derive(Debug, Clone, Default)]
pub struct ListCursor {
    /// First name to consider (inclusive).
    pub start_name: String,
    /// With `start_name`: first version of that name to return (inclusive, in newest-first order).
    pub start_file_id: Option<String>,
    pub prefix: String,
}

#[async_trait]
pub trait MetadataStore: Send + Sync {
    /// The deployment's identity, made on the first call against an empty store and the same on every
    /// later call, from any node.
    async fn identity(&self) -> Result<ServerIdentity>;

    // Application keys.
    /// Stores a new key (ids are generated and never reused).
    async fn insert_key(&self, key: &AppKey) -> Result<()>;
    async fn get_key(&self, key_id: &str) -> Result<Option<AppKey>>;
    /// Keys ordered by id, starting at `start_key_id` (inclusive).
    async fn list_keys(&self, start_key_id: Option<&str>, limit: usize) -> Result<Vec<AppKey>>;
    /// Removes a key and returns it; `Ok(None)` when there was none.
    async fn delete_key(&self, key_id: &str) -> Result<Option<AppKey>>;

    // Buckets.
    /// Fails with `DuplicateBucketName` (case-insensitive) or `TooManyBuckets`.
    async fn create_bucket(&self, bucket: &Bucket, max_buckets: usize) -> Result<()>;
    async fn get_bucket(&self, bucket_id: &str) -> Result<Option<Bucket>>;
    /// The bucket of that name, compared case-insensitively.
    async fn get_bucket_by_name(&self, name: &str) -> Result<Option<Bucket>>;
    /// Every bucket, ordered by name.
    async fn list_buckets(&self) -> Result<Vec<Bucket>>;
    /// Replaces the bucket if its stored revision is still `expected_revision`; returns false otherwise.
    async fn update_bucket(&self, bucket: &Bucket, expected_revision: i64) -> Result<bool>;
    /// Deletes the bucket if it holds no versions at all; fails with `BucketNotEmpty` otherwise.
    async fn delete_bucket(&self, bucket_id: &str) -> Result<()>;

    // SSE-KMS keys (never deleted: objects encrypted under a key need it).
    /// Stores a new key; `false`, with nothing written, when a key with its id exists.
    async fn insert_kms_key(&self, key: &KmsKey) -> Result<bool>;
    async fn get_kms_key(&self, key_id: &str) -> Result<Option<KmsKey>>;
    /// Every key, ordered by id.
    async fn list_kms_keys(&self) -> Result<Vec<KmsKey>>;

    // File versions.
    /// Adds a version (its file id is new) and links the blobs it refers to, so that collection keeps
    /// them; once this returns the version is durable and visible to every reader on every node.
    async fn insert_version(&self, version: &FileVersion) -> Result<()>;
    /// `insert_version` if `check` accepts the name's newest version as it is in the inserting
    /// transaction; the check's error otherwise, with nothing written. Two conditional inserts of one
    /// name never both see the state before the other.
    async fn insert_version_if(&self, version: &FileVersion, check: LatestCheck) -> Result<()>;
    async fn get_version(&self, file_id: &str) -> Result<Option<FileVersion>>;
    /// Atomically reads a version, applies `change` to it and stores the result (tags, retention, legal
    /// hold). Fails with `FileNotPresent` when the version is gone, or with the error `change` returns;
    /// in either case nothing is written. The file id, bucket, name and action must not change.
    async fn modify_version(&self, file_id: &str, change: VersionChange) -> Result<FileVersion>;
    /// Removes a version, its parts if any, and queues every blob it referenced for collection, if `check`
    /// accepts the version as it is at that moment; `Ok(None)` when there is no such version.
    async fn delete_version(&self, file_id: &str, check: VersionCheck) -> Result<Option<FileVersion>>;
    /// The newest upload-or-hide version of a name (unfinished large files never count).
    async fn latest_version(&self, bucket_id: &str, name: &str) -> Result<Option<FileVersion>>;
    /// Versions ordered by (name ascending, newest first) from `cursor`, at most `limit`.
    /// With `latest_only`, only the newest upload-or-hide version of each name is returned.
    async fn list_versions(&self, bucket_id: &str, cursor: &ListCursor, latest_only: bool, limit: usize) -> Result<Vec<FileVersion>>;
    /// Unfinished large files of a bucket, ordered by file id.
    async fn list_unfinished(
        &self,
        bucket_id: &str,
        name_prefix: &str,
        start_file_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FileVersion>>;
    /// Unfinished large files of a bucket whose names start with `name_prefix`, ordered by name and, within
    /// a name, by file id (the order they were started, as S3 lists multipart uploads). `after` resumes
    /// past an upload (`(name, Some(file id))`) or past every upload of a name (`(name, None)`).
    async fn list_unfinished_by_name(
        &self,
        bucket_id: &str,
        name_prefix: &str,
        after: Option<(&str, Option<&str>)>,
        limit: usize,
    ) -> Result<Vec<FileVersion>>;
    /// Every version of the bucket (uploads, hide markers, unfinished large files); 0 for an unknown bucket.
    async fn count_versions(&self, bucket_id: &str) -> Result<u64>;

    // Large-file parts. Every state change of a large file is checked against its state in the same
    // transaction that makes it: a part lands only on a still-unfinished file, a finish commits exactly the
    // parts it read, a cancel removes only a still-unfinished file.
    /// Stores a part of a still-unfinished large file (else `NoSuchUpload`); a part with the same number is
    /// replaced and its blob queued for collection.
    async fn put_part(&self, part: &Part) -> Result<()>;
    /// Parts of a large file ordered by number, from `start_part` (inclusive); empty for an unknown file.
    async fn list_parts(&self, file_id: &str, start_part: u32, limit: usize) -> Result<Vec<Part>>;
    /// Turns an unfinished large file into the finished version `plan` builds from it and its parts, links
    /// the blobs the finished version uses, queues the other parts' blobs for collection and drops the part
    /// rows, all in one transaction. `NoSuchUpload` when the file is no longer unfinished.
    /// `check` runs on the name's newest version first, as in `insert_version_if`.
    async fn finish_large_file(&self, file_id: &str, plan: FinishPlan, check: Option<LatestCheck>) -> Result<FileVersion>;

    // Blob collection.
    /// Queues blobs for deletion (blobs whose write never committed, or that a failed step left behind).
    /// A blob already queued stays queued once. Queueing never deletes: the collector deletes a queued
    /// blob only if `blob_referenced` says nothing refers to it.
    async fn queue_blob_deletes(&self, blob_ids: &[String]) -> Result<()>;
    /// Queued blob ids, oldest first.
    async fn pending_blob_deletes(&self, limit: usize) -> Result<Vec<String>>;
    /// Drops ids from the queue (deleted, or found referenced); ids not queued are ignored.
    async fn forget_blob_deletes(&self, blob_ids: &[String]) -> Result<()>;
    /// Whether any version or part refers to the blob (used to collect crash orphans safely).
    async fn blob_referenced(&self, blob_id: &str) -> Result<bool>;

    /// Versions of a bucket whose name starts with `prefix` (unfinished large files included), for lifecycle
    /// evaluation, ordered by (name ascending, newest first) after `(name, file id)` (exclusive).
    async fn scan_versions(&self, bucket_id: &str, prefix: &str, after: Option<(&str, &str)>, limit: usize) -> Result<Vec<FileVersion>>;

    /// The stored versions (uploads) of a bucket whose names start with `prefix`: their count, total bytes
    /// and the time of the newest, for the storage overview.
    async fn bucket_usage(&self, bucket_id: &str, prefix: &str) -> Result<(u64, u64, Option<Millis>)>;
    /// Records a bucket's files and bytes for a day; a later figure for the same day replaces the earlier.
    async fn record_usage(&self, bucket_id: &str, usage: DailyUsage) -> Result<()>;
    /// A bucket's daily figures from `since_day` on, oldest first.
    async fn usage_history(&self, bucket_id: &str, since_day: i64) -> Result<Vec<DailyUsage>>;

    // What nodes of one deployment share beside the data.
    /// Stores `value` under `name` unless a value is stored there already, and returns the stored value:
    /// the first node to start settles a fact for all (a check of the master key, for one), and a node
    /// whose own value differs can refuse to join.
    async fn settle(&self, name: &str, value: &[u8]) -> Result<Vec<u8>>;
    /// Takes the lease `name` for `holder` until `until` when it is free, expired at `now`, or already
    /// `holder`'s (a renewal); returns whether `holder` holds it. Jobs that must run once per deployment
    /// (collection, lifecycle) run only while their node holds the lease; a dead node's lease expires.
    async fn acquire_lease(&self, name: &str, holder: &str, now: Millis, until: Millis) -> Result<bool>;
    /// Stores a signed-in console session (an opaque record) under the hash of its cookie, replacing
    /// any with that id, and drops sessions expired at `now`.
    async fn put_session(&self, id_hash: &str, record: &str, expires: Millis, now: Millis) -> Result<()>;
    /// The session's record if it exists and has not expired at `now`.
    async fn get_session(&self, id_hash: &str, now: Millis) -> Result<Option<String>>;
    async fn delete_session(&self, id_hash: &str) -> Result<()>;
    /// Queues event notification records (opaque) for delivery, in order: an outbox that outlives the
    /// process, drained by whichever node holds the delivery lease.
    async fn queue_events(&self, records: &[String]) -> Result<()>;
    /// The oldest queued records with their sequence numbers, oldest first.
    async fn pending_events(&self, limit: usize) -> Result<Vec<(i64, String)>>;
    /// Drops delivered (or abandoned) records.
    async fn forget_events(&self, seqs: &[i64]) -> Result<()>;
}

pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// Immutable blobs named by generated ids (never by user-supplied names).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Streams `body` into a new blob and makes it durable before returning its id and length.
    /// A failure or a crash part-way leaves nothing a reader could see.
    async fn put(&self, body: ByteStream) -> Result<(String, u64)>;
    /// Streams `len` bytes from `offset`. `Internal` when the blob is missing (metadata refers only to
    /// durable blobs, so that is damage, not a client error); a stream may still fail part-way (I/O).
    async fn get(&self, blob_id: &str, offset: u64, len: u64) -> Result<ByteStream>;
    /// Removes a blob; removing one that is already gone succeeds (collection may run twice).
    async fn delete(&self, blob_id: &str) -> Result<()>;
    /// Whether the store can be read and written now (its directory or service answers), cheaply: a
    /// readiness probe calls it.
    async fn ready(&self) -> Result<()>;
    /// Blob ids in id order after `after`, each with its write time — for orphan collection.
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Millis)>>;
}

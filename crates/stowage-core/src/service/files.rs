use std::collections::BTreeMap;

use crate::events::EventType;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};

use super::download::ByteRange;
use super::{MAX_SIMPLE_FILE, Stowage, random_hex};
use crate::auth::{Capability, NameScope, Principal, TokenScope};
use crate::conditions::WriteCondition;
use crate::error::{Error, Result};
use crate::hashing::{Digests, hashing, hold_back_tail};
use crate::model::{Action, Bucket, BucketType, Checksums, Content, Encryption, FileVersion, Grant, Millis, Retention, RetentionMode};
use crate::names::{check_file_info, check_file_name};
use crate::sealing::BlobKey;
use crate::store::{ByteStream, ListCursor, VersionChange, VersionCheck};

/// How the client vouches for an upload's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sha1Check {
    /// The SHA-1 (40 hex digits) the body must have.
    Hex(String),
    /// The body ends with the 40 hex digits of the SHA-1 of what precedes them.
    AtEnd,
    /// No check; the stored SHA-1 is marked `unverified:`.
    DoNotVerify,
    /// No claim to check (S3 uploads): the computed SHA-1 is stored as it is.
    Compute,
}

impl Sha1Check {
    pub fn parse(header: &str) -> Result<Self> {
        match header {
            "hex_digits_at_end" => Ok(Sha1Check::AtEnd),
            "do_not_verify" => Ok(Sha1Check::DoNotVerify),
            hex if hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Sha1Check::Hex(hex.to_ascii_lowercase())),
            other => Err(Error::invalid(format!("Invalid X-Bz-Content-Sha1: {other:?}"))),
        }
    }
}

/// Encryption a request asks for; `None` in [`NewFile`] means the bucket's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptionRequest {
    None,
    SseB2,
    SseC {
        key_b64: String,
        key_md5_b64: String,
    },
    /// SSE-KMS under a named key (an id or key ARN), or the default key.
    SseKms {
        key_id: Option<String>,
    },
}

impl EncryptionRequest {
    /// The raw SSE-C key, if this is an SSE-C request with a well-formed key.
    pub fn customer_key(&self) -> Option<Vec<u8>> {
        match self {
            EncryptionRequest::SseC { key_b64, .. } => STANDARD.decode(key_b64).ok().filter(|k| k.len() == 32),
            _ => None,
        }
    }

    /// Checks an SSE-C key against its MD5 and returns what is stored for it.
    pub fn resolve(&self) -> Result<Encryption> {
        match self {
            EncryptionRequest::None => Ok(Encryption::None),
            EncryptionRequest::SseB2 => Ok(Encryption::SseB2),
            EncryptionRequest::SseKms { key_id } => {
                Ok(Encryption::SseKms { key_id: key_id.as_deref().map_or(super::kms::DEFAULT_KMS_KEY, super::kms::kms_key_id).to_string() })
            }
            EncryptionRequest::SseC { key_b64, key_md5_b64 } => {
                let key = STANDARD.decode(key_b64).map_err(|_| Error::invalid("SSE-C key is not valid base64"))?;
                if key.len() != 32 {
                    return Err(Error::invalid("SSE-C key must be 256 bits"));
                }
                let md5 = STANDARD.encode(Md5::digest(&key));
                if md5 != *key_md5_b64 {
                    return Err(Error::invalid("SSE-C key MD5 does not match the key"));
                }
                Ok(Encryption::SseC { key_md5: md5 })
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewFile {
    pub bucket_id: String,
    pub name: String,
    pub content_type: String,
    pub info: BTreeMap<String, String>,
    pub encryption: Option<EncryptionRequest>,
    pub retention: Option<Retention>,
    pub legal_hold: Option<bool>,
    pub custom_timestamp: Option<Millis>,
    /// MD5 (hex) the body must have (S3 Content-MD5).
    pub expected_md5: Option<String>,
    /// S3 object tags (`x-amz-tagging`).
    pub tags: BTreeMap<String, String>,
    /// Written as the key's S3 null version, replacing the one there (an S3 write to a bucket whose
    /// versioning is not enabled; see `Versioning::writes_null_versions`).
    pub null_version: bool,
    /// S3 object ACL grants (`x-amz-acl`, `x-amz-grant-*`).
    pub grants: Vec<Grant>,
    /// An S3 conditional write (`If-None-Match: *`, `If-Match`), checked as the version commits.
    pub condition: Option<WriteCondition>,
    /// The checksum algorithm an S3 multipart upload declares (`sha256`, …).
    pub checksum_algorithm: Option<crate::model::ChecksumAlgorithm>,
    /// The upload's whole-object checksum combines its parts' CRCs (S3 FULL_OBJECT).
    pub checksum_full_object: bool,
}

#[derive(Debug, Clone)]
pub enum MetadataDirective {
    Copy,
    Replace { content_type: String, info: BTreeMap<String, String> },
}

#[derive(Debug, Clone)]
pub struct CopyRequest {
    pub source_file_id: String,
    pub name: String,
    pub destination_bucket_id: Option<String>,
    pub range: Option<ByteRange>,
    pub directive: MetadataDirective,
    pub source_encryption: Option<EncryptionRequest>,
    pub destination_encryption: Option<EncryptionRequest>,
    pub retention: Option<Retention>,
    pub legal_hold: Option<bool>,
    /// The copy is the destination key's S3 null version (see `NewFile::null_version`).
    pub null_version: bool,
    /// S3 object ACL grants of the copy (a copy never takes the source's ACL).
    pub grants: Vec<Grant>,
    /// The copy's S3 tags; `None` keeps the source's (S3 `x-amz-tagging-directive: COPY`).
    pub tags: Option<BTreeMap<String, String>>,
}

/// A null version of its key: an unfinished large file is none yet (it becomes one when it finishes, and
/// writes meanwhile must not cancel it).
fn is_null_version(v: &FileVersion) -> bool {
    v.null_version && v.action != Action::Start
}

/// A new version's settings after validation and bucket defaults.
pub(crate) struct PreparedFile {
    pub content_type: String,
    pub encryption: Encryption,
    pub retention: Option<Retention>,
    pub legal_hold: Option<bool>,
    pub timestamp: Millis,
}

/// A front-end's own check of a body, run after the body is stored and before the version is committed
/// (S3 checksums, whose trailing values are only known once the body has been read).
pub type BodyCheck = Box<dyn FnOnce() -> Result<Checksums> + Send>;

/// Most of a refused upload's body read and dropped before answering, and for how long: most HTTP clients
/// cannot read an answer while they are still sending, so a small body is taken in full first.
const DRAIN_REFUSED_BYTES: u64 = 8 << 20;
const DRAIN_REFUSED_FOR: std::time::Duration = std::time::Duration::from_secs(5);

async fn drain_refused(mut body: ByteStream) {
    use futures::StreamExt;
    let _ = tokio::time::timeout(DRAIN_REFUSED_FOR, async {
        let mut read = 0u64;
        while read < DRAIN_REFUSED_BYTES {
            match body.next().await {
                Some(Ok(chunk)) => read += chunk.len() as u64,
                _ => break,
            }
        }
    })
    .await;
}

pub const UPLOAD_TOKEN_TTL: Millis = 24 * 3600 * 1000;
pub const MAX_DOWNLOAD_AUTH_SECONDS: i64 = 604_800;

/// Body bytes expected from a Content-Length (less the 40 trailing digits of `hex_digits_at_end`).
pub(crate) fn expected_body_len(content_length: Option<u64>, at_end: bool) -> Result<Option<u64>> {
    let len = match (content_length, at_end) {
        (Some(n), true) => Some(n.checked_sub(40).ok_or_else(|| Error::invalid("Content-Length is too small for hex_digits_at_end"))?),
        (None, true) => return Err(Error::invalid("hex_digits_at_end needs a Content-Length")),
        (n, false) => n,
    };
    if len.is_some_and(|n| n > MAX_SIMPLE_FILE) {
        return Err(Error::invalid(format!("A file or part may be at most {MAX_SIMPLE_FILE} bytes; upload larger files in parts")));
    }
    Ok(len)
}

/// A body just made durable in the blob store.
pub(crate) struct StoredBlob {
    pub id: String,
    pub digests: Digests,
    /// The SHA-1 a `hex_digits_at_end` body ended with.
    pub claimed_sha1: Option<String>,
    /// Set when the blob is sealed.
    pub salt: Option<String>,
}

pub(crate) fn resolve_content_type(content_type: &str, name: &str) -> Result<String> {
    if content_type.is_empty() || content_type.eq_ignore_ascii_case("b2/x-auto") {
        return Ok(mime_guess::from_path(name).first_raw().unwrap_or("application/octet-stream").to_string());
    }
    if content_type.len() > 256 || content_type.chars().any(|c| c.is_control()) || !content_type.contains('/') {
        return Err(Error::invalid(format!("Invalid Content-Type: {content_type:?}")));
    }
    Ok(content_type.to_string())
}

impl Stowage {
    pub(crate) fn new_file_id(&self, bucket_id: &str, at: Millis) -> String {
        format!("4_z{bucket_id}_f{:016x}{}", self.next_sequence(at), random_hex(4))
    }

    /// The key of one blob of a version encrypted this way (`salt` is the blob's, hex).
    pub(crate) async fn blob_key(&self, encryption: &Encryption, salt: &str, customer_key: Option<&[u8]>) -> Result<BlobKey> {
        let salt = hex::decode(salt).map_err(|_| Error::internal("stored salt is not hex"))?;
        match encryption {
            Encryption::SseB2 | Encryption::None => Ok(BlobKey::derive(&self.config.master_key.0, "sse-b2", &salt)),
            Encryption::SseKms { key_id } => Ok(BlobKey::derive(&self.kms_material(key_id).await?, "sse-kms", &salt)),
            Encryption::SseC { .. } => {
                let key = customer_key
                    .ok_or_else(|| Error::Forbidden("this file is encrypted with SSE-C: the customer key is required".into()))?;
                Ok(BlobKey::derive(key, "sse-c", &salt))
            }
        }
    }

    /// Streams a body into a new durable blob, hashing the plaintext on the way and sealing it when the
    /// version is encrypted (SSE-C needs the customer's key in `sse`); with `sha1_at_end` the last 40 bytes
    /// are held back and returned as the claimed SHA-1.
    pub(crate) async fn store_blob(
        &self,
        body: ByteStream,
        sha1_at_end: bool,
        encryption: &Encryption,
        sse: Option<&EncryptionRequest>,
        expected_len: Option<u64>,
    ) -> Result<StoredBlob> {
        // Held until the blob is on disk, where free space readings see it.
        let _admission = match self.capacity.admit(expected_len) {
            Ok(admission) => admission,
            Err(refusal) => {
                drain_refused(body).await;
                return Err(refusal);
            }
        };
        let body = crate::hashing::stall_limited(body, self.config.body_idle_timeout);
        let sealing = if *encryption == Encryption::None {
            None
        } else {
            let salt = random_hex(16);
            let customer_key = sse.and_then(EncryptionRequest::customer_key);
            Some((self.blob_key(encryption, &salt, customer_key.as_deref()).await?, salt))
        };
        let (body, trailer) = if sha1_at_end {
            let (stream, handle) = hold_back_tail(body, 40);
            (stream, Some(handle))
        } else {
            (body, None)
        };
        let (body, digests) = hashing(body);
        let (body, salt) = match sealing {
            Some((key, salt)) => (crate::sealing::seal(body, key), Some(salt)),
            None => (body, None),
        };
        let (id, _len) = self.note_full(self.blobs.put(body).await)?;
        let digests = digests.finish().ok_or_else(|| Error::internal("digest state lost"))?;
        let claimed_sha1 = trailer.map(|t| String::from_utf8_lossy(&t.take()).to_ascii_lowercase());
        Ok(StoredBlob { id, digests, claimed_sha1, salt })
    }

    /// Checks a stored body against the length and MD5 the client announced; deletes the blob if it fails.
    pub(crate) async fn check_body(
        &self,
        blob_id: &str,
        digests: &Digests,
        body_len: Option<u64>,
        expected_md5: Option<&str>,
        body_check: Option<BodyCheck>,
    ) -> Result<Checksums> {
        let outcome = if body_len.is_some_and(|n| n != digests.len) || digests.len > MAX_SIMPLE_FILE {
            Err(Error::invalid(format!("the body received ({} bytes) does not match Content-Length or exceeds 5 GB", digests.len)))
        } else if expected_md5.is_some_and(|md5| !md5.eq_ignore_ascii_case(&digests.md5_hex)) {
            Err(Error::BadDigest("Content-MD5 did not match the data received".into()))
        } else {
            body_check.map_or_else(|| Ok(Checksums::new()), |check| check())
        };
        if outcome.is_err() {
            self.blobs.delete(blob_id).await?;
        }
        outcome
    }

    /// Checks the SHA-1 a client claimed; returns what to store as `contentSha1`.
    pub(crate) async fn verify_sha1(
        &self,
        blob_id: &str,
        digests: &Digests,
        check: &Sha1Check,
        claimed_at_end: Option<String>,
    ) -> Result<String> {
        let expected = match check {
            Sha1Check::DoNotVerify => return Ok(format!("unverified:{}", digests.sha1_hex)),
            Sha1Check::Compute => return Ok(digests.sha1_hex.clone()),
            Sha1Check::Hex(hex) => hex.clone(),
            Sha1Check::AtEnd => claimed_at_end.unwrap_or_default(),
        };
        if expected != digests.sha1_hex {
            self.blobs.delete(blob_id).await?;
            return Err(Error::ChecksumMismatch);
        }
        Ok(digests.sha1_hex.clone())
    }

    /// Retention and legal hold for a new version: explicit values, else the bucket default.
    pub(crate) fn lock_settings(
        &self,
        bucket: &Bucket,
        retention: Option<Retention>,
        legal_hold: Option<bool>,
        now: Millis,
    ) -> Result<(Option<Retention>, Option<bool>)> {
        if !bucket.file_lock_enabled {
            if retention.is_some() || legal_hold.is_some() {
                return Err(Error::invalid("File retention and legal hold need a bucket with file lock enabled"));
            }
            return Ok((None, None));
        }
        let retention =
            retention.or_else(|| bucket.default_retention.map(|d| Retention { mode: d.mode, retain_until: now + d.period.as_millis() }));
        Ok((retention, legal_hold))
    }

    pub(crate) fn prepare_new_file(&self, bucket: &Bucket, req: &NewFile, now: Millis) -> Result<PreparedFile> {
        check_file_name(&req.name)?;
        check_file_info(&req.name, &req.info)?;
        Self::check_acl(bucket, &req.grants)?;
        let content_type = resolve_content_type(&req.content_type, &req.name)?;
        let encryption = match &req.encryption {
            Some(e) => e.resolve()?,
            None => bucket.default_encryption.clone(),
        };
        let timestamp = match req.custom_timestamp {
            Some(ts) if ts > now => return Err(Error::invalid("custom upload timestamp must not be in the future")),
            Some(ts) if ts <= 0 => return Err(Error::invalid("custom upload timestamp must be positive")),
            Some(ts) => ts,
            None => now,
        };
        let (retention, legal_hold) = self.lock_settings(bucket, req.retention, req.legal_hold, now)?;
        Ok(PreparedFile { content_type, encryption, retention, legal_hold, timestamp })
    }

    pub async fn get_upload_url(&self, principal: &Principal, bucket_id: &str) -> Result<String> {
        principal.authorize(Capability::WriteFiles, Some(bucket_id), NameScope::None)?;
        self.bucket(bucket_id).await?;
        Ok(self.mint(principal, TokenScope::Upload { b: bucket_id.to_string() }, UPLOAD_TOKEN_TTL))
    }

    /// `b2_upload_file` and S3 PutObject: stores a new version. `content_length` includes the 40 digits of
    /// `hex_digits_at_end`; it may be unknown only for S3 streaming uploads.
    pub async fn upload_file(
        &self,
        principal: &Principal,
        req: NewFile,
        sha1: Sha1Check,
        content_length: Option<u64>,
        body: ByteStream,
        body_check: Option<BodyCheck>,
    ) -> Result<FileVersion> {
        principal.authorize_upload(&req.bucket_id, &req.name)?;
        let bucket = self.bucket(&req.bucket_id).await?;
        let now = self.now();
        let PreparedFile { content_type, encryption, retention, legal_hold, timestamp } = self.prepare_new_file(&bucket, &req, now)?;
        let at_end = sha1 == Sha1Check::AtEnd;
        let body_len = expected_body_len(content_length, at_end)?;
        let StoredBlob { id: blob_id, digests, claimed_sha1: claimed, salt } =
            self.store_blob(body, at_end, &encryption, req.encryption.as_ref(), content_length).await?;
        let checksums = self.check_body(&blob_id, &digests, body_len, req.expected_md5.as_deref(), body_check).await?;
        let sha1 = self.verify_sha1(&blob_id, &digests, &sha1, claimed).await?;
        let version = FileVersion {
            file_id: self.new_file_id(&bucket.id, timestamp),
            bucket_id: bucket.id.clone(),
            name: req.name,
            action: Action::Upload,
            size: digests.len,
            sha1: Some(sha1),
            md5: Some(digests.md5_hex),
            content_type,
            info: req.info,
            upload_timestamp: timestamp,
            encryption,
            retention,
            legal_hold,
            content: Content::Blob { id: blob_id.clone(), salt },
            tags: req.tags,
            checksums,
            null_version: req.null_version,
            grants: req.grants,
            checksum_algorithm: None,
            checksum_full_object: false,
        };
        self.commit_new_version(&version, req.condition).await?;
        self.emit(EventType::Upload, &version).await;
        Ok(version)
    }

    /// Inserts a version whose blobs are already durable; on failure the blobs are queued for collection.
    /// A new null version then replaces the key's older one.
    pub(crate) async fn commit_new_version(&self, version: &FileVersion, condition: Option<WriteCondition>) -> Result<()> {
        let inserted = match condition {
            None => self.meta.insert_version(version).await,
            Some(condition) => self.meta.insert_version_if(version, Box::new(move |latest| condition.check(latest))).await,
        };
        if let Err(err) = self.note_full(inserted) {
            self.discard_uncommitted(&version.content.blob_ids(), &err).await;
            return Err(err);
        }
        self.replace_null_versions(version).await;
        Ok(())
    }

    /// Removes the null versions of `version`'s key older than it, once `version` (itself a null version)
    /// is committed. Two writers racing each remove only what is older than their own, so the newest
    /// stays. A removal that fails leaves an older null version behind, which the next write removes.
    pub(crate) async fn replace_null_versions(&self, version: &FileVersion) {
        if !version.null_version {
            return;
        }
        let older = match self.versions_of(&version.bucket_id, &version.name).await {
            Ok(all) => all.into_iter().filter(|v| is_null_version(v) && v.file_id < version.file_id),
            Err(e) => {
                tracing::warn!(file = %version.file_id, "older null versions stay until the next write: {e}");
                return;
            }
        };
        for old in older {
            let still_null: VersionCheck =
                Box::new(|v| if is_null_version(v) { Ok(()) } else { Err(Error::FileNotPresent(v.file_id.clone())) });
            match self.meta.delete_version(&old.file_id, still_null).await {
                Ok(Some(removed)) => self.emit(EventType::Delete, &removed).await,
                Ok(None) | Err(Error::FileNotPresent(_)) => {}
                Err(e) => tracing::warn!(file = %old.file_id, "an older null version stays until the next write: {e}"),
            }
        }
    }

    /// Every version of one key (unfinished large files included), newest first. Small pages: the
    /// listing runs on past the key into longer names that start with it (a folder marker `photos/`
    /// and everything under it), and a key usually has one version.
    pub(crate) async fn versions_of(&self, bucket_id: &str, name: &str) -> Result<Vec<FileVersion>> {
        const PAGE: usize = 16;
        let mut cursor = ListCursor { start_name: name.to_string(), start_file_id: None, prefix: name.to_string() };
        let mut out: Vec<FileVersion> = Vec::new();
        loop {
            let batch = self.meta.list_versions(bucket_id, &cursor, false, PAGE).await?;
            let full = batch.len() == PAGE;
            let mut last = None;
            for v in batch {
                if v.name != name {
                    return Ok(out);
                }
                if out.last().is_none_or(|prev: &FileVersion| prev.file_id != v.file_id) {
                    last = Some(v.file_id.clone());
                    out.push(v);
                }
            }
            match last {
                Some(file_id) if full => cursor.start_file_id = Some(file_id),
                _ => return Ok(out),
            }
        }
    }

    /// The key's S3 null version, if it has one.
    pub async fn null_version_of(&self, bucket_id: &str, name: &str) -> Result<Option<FileVersion>> {
        Ok(self.versions_of(bucket_id, name).await?.into_iter().find(is_null_version))
    }

    /// Blobs whose version or part failed to commit: collected later, or at once when the failure was a
    /// full disk (queueing them would need the room that is missing; SQLite refused the commit, so nothing
    /// refers to them).
    pub(crate) async fn discard_uncommitted(&self, blob_ids: &[String], err: &Error) {
        if matches!(err, Error::StorageFull(_)) {
            for id in blob_ids {
                let _ = self.blobs.delete(id).await;
            }
        } else {
            let _ = self.meta.queue_blob_deletes(blob_ids).await;
        }
    }

    pub async fn hide_file(&self, principal: &Principal, bucket_id: &str, name: &str) -> Result<FileVersion> {
        principal.authorize(Capability::WriteFiles, Some(bucket_id), NameScope::File(name))?;
        self.bucket(bucket_id).await?;
        check_file_name(name)?;
        match self.meta.latest_version(bucket_id, name).await? {
            None => Err(Error::NoSuchFile(name.to_string())),
            Some(v) if v.action == Action::Hide => Err(Error::AlreadyHidden(name.to_string())),
            Some(_) => {
                let marker = self.insert_hide_marker(bucket_id, name, false).await?;
                self.emit(EventType::Hide, &marker).await;
                Ok(marker)
            }
        }
    }

    /// A hide marker (S3: a delete marker), whatever the name's current state; as a null version it
    /// replaces the key's older null version.
    pub(crate) async fn insert_hide_marker(&self, bucket_id: &str, name: &str, null_version: bool) -> Result<FileVersion> {
        let now = self.now();
        let version = FileVersion {
            file_id: self.new_file_id(bucket_id, now),
            bucket_id: bucket_id.to_string(),
            name: name.to_string(),
            action: Action::Hide,
            size: 0,
            sha1: None,
            md5: None,
            content_type: "application/x-bz-hide-marker".into(),
            info: BTreeMap::new(),
            upload_timestamp: now,
            encryption: Encryption::None,
            retention: None,
            legal_hold: None,
            content: Content::Empty,
            tags: BTreeMap::new(),
            checksums: Checksums::new(),
            null_version,
            grants: Vec::new(),
            checksum_algorithm: None,
            checksum_full_object: false,
        };
        self.meta.insert_version(&version).await?;
        self.replace_null_versions(&version).await;
        Ok(version)
    }

    pub async fn delete_file_version(
        &self,
        principal: &Principal,
        file_id: &str,
        file_name: &str,
        bypass_governance: bool,
    ) -> Result<FileVersion> {
        let not_present = || Error::FileNotPresent(format!("{file_name} {file_id}"));
        let version = self.meta.get_version(file_id).await?.ok_or_else(not_present)?;
        principal.authorize(Capability::DeleteFiles, Some(&version.bucket_id), NameScope::File(&version.name))?;
        if version.name != file_name {
            return Err(not_present());
        }
        let deleted = self.meta.delete_version(file_id, Box::new(self.delete_lock_check(principal, bypass_governance))).await?;
        let deleted = deleted.ok_or_else(not_present)?;
        self.emit(EventType::Delete, &deleted).await;
        Ok(deleted)
    }

    /// Object lock's rule for deletes, as a check the store runs on the version in the transaction that
    /// removes it (a legal hold set a moment earlier is seen): legal hold and compliance retention refuse;
    /// governance retention needs an explicit bypass by a key that may bypass it.
    pub(crate) fn delete_lock_check(
        &self,
        principal: &Principal,
        bypass_governance: bool,
    ) -> impl Fn(&FileVersion) -> Result<()> + Send + 'static {
        let now = self.now();
        let may_bypass = bypass_governance && principal.has(Capability::BypassGovernance);
        move |version: &FileVersion| {
            if version.legal_hold == Some(true) {
                return Err(Error::AccessDenied("file is under legal hold".into()));
            }
            if let Some(r) = version.retention
                && r.retain_until > now
            {
                match r.mode {
                    RetentionMode::Compliance => return Err(Error::AccessDenied("file is retained in compliance mode".into())),
                    RetentionMode::Governance if !may_bypass => {
                        return Err(Error::AccessDenied("file is retained in governance mode; bypassGovernance is required".into()));
                    }
                    RetentionMode::Governance => {}
                }
            }
            Ok(())
        }
    }

    pub async fn get_file_info(&self, principal: &Principal, file_id: &str) -> Result<FileVersion> {
        let version = self.meta.get_version(file_id).await?.ok_or_else(|| Error::FileNotFound(format!("File not present: {file_id}")))?;
        principal.authorize(Capability::ReadFiles, Some(&version.bucket_id), NameScope::File(&version.name))?;
        Ok(version)
    }

    /// Source version for a copy, after checking read access and the SSE-C key.
    pub(crate) async fn copy_source(
        &self,
        principal: &Principal,
        file_id: &str,
        sse: Option<&EncryptionRequest>,
    ) -> Result<(FileVersion, Bucket)> {
        let source = self
            .meta
            .get_version(file_id)
            .await?
            .filter(|v| v.action == Action::Upload)
            .ok_or_else(|| Error::FileNotFound(format!("Source file not found: {file_id}")))?;
        let bucket = self.bucket(&source.bucket_id).await?;
        if bucket.bucket_type != BucketType::AllPublic || !principal.allows_bucket(&bucket.id) {
            principal.authorize(Capability::ReadFiles, Some(&bucket.id), NameScope::File(&source.name))?;
        }
        self.check_sse_c(&source, sse)?;
        Ok((source, bucket))
    }

    /// An SSE-C object is read only with its key, and SSE-C keys only read SSE-C objects.
    pub fn check_sse_c(&self, version: &FileVersion, sse: Option<&EncryptionRequest>) -> Result<()> {
        let given = sse.map(EncryptionRequest::resolve).transpose()?;
        match (&version.encryption, given) {
            (Encryption::SseC { key_md5 }, Some(Encryption::SseC { key_md5: given })) if given == *key_md5 => Ok(()),
            (Encryption::SseC { .. }, Some(Encryption::SseC { .. })) => {
                Err(Error::SseCKey("The SSE-C key does not match the file's key".into()))
            }
            (Encryption::SseC { .. }, _) => {
                Err(Error::SseCKey("The file is encrypted with a customer key (SSE-C): send it to read the file".into()))
            }
            (_, Some(Encryption::SseC { .. })) => Err(Error::SseCKey("The file is not encrypted with a customer key (SSE-C)".into())),
            _ => Ok(()),
        }
    }

    pub async fn copy_file(&self, principal: &Principal, req: CopyRequest) -> Result<FileVersion> {
        let (source, _) = self.copy_source(principal, &req.source_file_id, req.source_encryption.as_ref()).await?;
        let req_source_encryption = req.source_encryption.clone();
        let dest_bucket_id = req.destination_bucket_id.clone().unwrap_or_else(|| source.bucket_id.clone());
        principal.authorize(Capability::WriteFiles, Some(&dest_bucket_id), NameScope::File(&req.name))?;
        let dest = self.bucket(&dest_bucket_id).await?;
        let (offset, len) = match &req.range {
            Some(range) => range.resolve(source.size)?,
            None => (0, source.size),
        };
        let whole = offset == 0 && len == source.size;
        if len > MAX_SIMPLE_FILE {
            return Err(Error::SourceTooLarge(len));
        }
        let (content_type, info) = match req.directive {
            MetadataDirective::Copy => (source.content_type.clone(), source.info.clone()),
            MetadataDirective::Replace { content_type, info } => (content_type, info),
        };
        let new_file = NewFile {
            bucket_id: dest.id.clone(),
            name: req.name,
            content_type,
            info,
            encryption: req.destination_encryption,
            retention: req.retention,
            legal_hold: req.legal_hold,
            custom_timestamp: None,
            expected_md5: None,
            tags: req.tags.unwrap_or_else(|| source.tags.clone()),
            null_version: req.null_version,
            grants: req.grants,
            condition: None,
            checksum_algorithm: None,
            checksum_full_object: false,
        };
        let now = self.now();
        let PreparedFile { content_type, encryption, retention, legal_hold, timestamp } = self.prepare_new_file(&dest, &new_file, now)?;
        let source_key = req_source_encryption.as_ref().and_then(EncryptionRequest::customer_key);
        let body = self.read_content(&source, offset, len, source_key.as_deref()).await?;
        let StoredBlob { id: blob_id, digests, salt, .. } =
            self.store_blob(body, false, &encryption, new_file.encryption.as_ref(), Some(len)).await?;
        let version = FileVersion {
            file_id: self.new_file_id(&dest.id, timestamp),
            bucket_id: dest.id,
            name: new_file.name,
            action: Action::Upload,
            size: digests.len,
            sha1: Some(digests.sha1_hex),
            md5: Some(digests.md5_hex),
            content_type,
            info: new_file.info,
            upload_timestamp: timestamp,
            encryption,
            retention,
            legal_hold,
            content: Content::Blob { id: blob_id, salt },
            tags: new_file.tags,
            // A whole-object copy has the source's bytes, so the source's verified checksums still hold.
            checksums: if whole { source.checksums.clone() } else { Checksums::new() },
            null_version: new_file.null_version,
            grants: new_file.grants,
            checksum_algorithm: None,
            checksum_full_object: false,
        };
        self.commit_new_version(&version, None).await?;
        self.emit(EventType::Copy, &version).await;
        Ok(version)
    }

    pub async fn update_file_retention(
        &self,
        principal: &Principal,
        file_id: &str,
        file_name: &str,
        retention: Option<Retention>,
        bypass_governance: bool,
    ) -> Result<FileVersion> {
        let version = self.named_version(file_id, file_name).await?;
        principal.authorize(Capability::WriteFileRetentions, Some(&version.bucket_id), NameScope::File(&version.name))?;
        let bucket = self.bucket(&version.bucket_id).await?;
        if !bucket.file_lock_enabled {
            return Err(Error::invalid("File retention needs a bucket with file lock enabled"));
        }
        let now = self.now();
        if let Some(new) = retention
            && new.retain_until <= now
        {
            return Err(Error::invalid("retainUntilTimestamp must be in the future"));
        }
        let may_bypass = bypass_governance && principal.has(Capability::BypassGovernance);
        // Decided on the retention stored at the moment of the write, so two changes cannot both weaken it.
        let change: VersionChange = Box::new(move |mut version| {
            if let Some(current) = version.retention.filter(|r| r.retain_until > now) {
                let weakens = match retention {
                    None => true,
                    Some(new) => {
                        new.retain_until < current.retain_until
                            || (current.mode == RetentionMode::Compliance && new.mode == RetentionMode::Governance)
                    }
                };
                if weakens {
                    match current.mode {
                        RetentionMode::Compliance => return Err(Error::Forbidden("compliance retention can only be extended".into())),
                        RetentionMode::Governance if !may_bypass => {
                            return Err(Error::Forbidden("shortening governance retention needs bypassGovernance".into()));
                        }
                        RetentionMode::Governance => {}
                    }
                }
            }
            version.retention = retention;
            Ok(version)
        });
        self.meta.modify_version(file_id, change).await
    }

    pub async fn update_file_legal_hold(&self, principal: &Principal, file_id: &str, file_name: &str, on: bool) -> Result<FileVersion> {
        let version = self.named_version(file_id, file_name).await?;
        principal.authorize(Capability::WriteFileLegalHolds, Some(&version.bucket_id), NameScope::File(&version.name))?;
        let bucket = self.bucket(&version.bucket_id).await?;
        if !bucket.file_lock_enabled {
            return Err(Error::invalid("Legal hold needs a bucket with file lock enabled"));
        }
        self.meta
            .modify_version(
                file_id,
                Box::new(move |mut version| {
                    version.legal_hold = Some(on);
                    Ok(version)
                }),
            )
            .await
    }

    async fn named_version(&self, file_id: &str, file_name: &str) -> Result<FileVersion> {
        self.meta
            .get_version(file_id)
            .await?
            .filter(|v| v.name == file_name && v.action != Action::Hide)
            .ok_or_else(|| Error::FileNotPresent(format!("{file_name} {file_id}")))
    }

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

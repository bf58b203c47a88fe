//! What every new file version goes through, whichever call makes it (upload, copy, large file, hide):
//! the request's settings resolved against the bucket, the one constructor, the commit and what follows
//! it (older null versions replaced, uncommitted blobs queued for collection), and reading versions back.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};

use super::Stowage;
use super::random_hex;
use crate::auth::{Capability, NameScope, Principal};
use crate::conditions::WriteCondition;
use crate::error::{Error, Result};
use crate::events::EventType;
use crate::model::{Action, Bucket, Checksums, Content, Encryption, FileVersion, Grant, Millis, Retention};
use crate::names::{check_file_info, check_file_name};
use crate::store::{ListCursor, VersionCheck};

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

/// The bytes a new version holds, and their digests.
pub(crate) struct NewBody {
    pub size: u64,
    pub sha1: Option<String>,
    pub md5: Option<String>,
    pub content: Content,
    pub checksums: Checksums,
}

impl NewBody {
    /// No bytes of its own: a hide marker (no SHA-1) or an unfinished large file (B2 reports `none`).
    pub(crate) fn empty(sha1: Option<&str>) -> Self {
        NewBody { size: 0, sha1: sha1.map(str::to_string), md5: None, content: Content::Empty, checksums: Checksums::new() }
    }
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
    /// The one way a new version is made: its id minted at its timestamp, its settings from the request
    /// as `prepare_new_file` resolved them, its bytes from `body`.
    pub(crate) fn new_version(&self, req: NewFile, prepared: PreparedFile, action: Action, body: NewBody) -> FileVersion {
        FileVersion {
            file_id: self.new_file_id(&req.bucket_id, prepared.timestamp),
            bucket_id: req.bucket_id,
            name: req.name,
            action,
            size: body.size,
            sha1: body.sha1,
            md5: body.md5,
            content_type: prepared.content_type,
            info: req.info,
            upload_timestamp: prepared.timestamp,
            encryption: prepared.encryption,
            retention: prepared.retention,
            legal_hold: prepared.legal_hold,
            content: body.content,
            tags: req.tags,
            checksums: body.checksums,
            null_version: req.null_version,
            grants: req.grants,
            checksum_algorithm: req.checksum_algorithm,
            checksum_full_object: req.checksum_full_object,
        }
    }

    pub(crate) fn new_file_id(&self, bucket_id: &str, at: Millis) -> String {
        format!("4_z{bucket_id}_f{:016x}{}", self.next_sequence(at), random_hex(4))
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
                return Err(Error::BucketMissingFileLock("File retention and legal hold need a bucket with file lock enabled".into()));
            }
            return Ok((None, None));
        }
        if let Some(asked) = retention
            && asked.retain_until <= now
        {
            return Err(Error::RetainUntilInPast("The retain-until timestamp must be in the future".into()));
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

    pub async fn get_file_info(&self, principal: &Principal, file_id: &str) -> Result<FileVersion> {
        let version = self.meta.get_version(file_id).await?.ok_or_else(|| Error::FileNotFound(format!("File not present: {file_id}")))?;
        principal.authorize(Capability::ReadFiles, Some(&version.bucket_id), NameScope::File(&version.name))?;
        Ok(version)
    }
}

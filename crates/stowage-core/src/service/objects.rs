//! Operations the S3 front-end needs beyond the B2 ones: objects addressed by bucket name and key,
//! delete markers, multipart completion by ETag. Access is decided by the same `Principal::authorize`.

use super::Stowage;
use super::download::{ByteRange, Download};
use super::files::EncryptionRequest;
use super::list::{ListEntry, ListPage};
use crate::auth::{Capability, NameScope, Principal, TokenScope};
use crate::cors::{self, CorsGrant, CorsRequest};
use crate::error::{Error, Result};
use crate::events::EventType;
use std::collections::BTreeMap;

use crate::model::{Action, Bucket, BucketType, Content, FileVersion, Versioning};
use crate::store::VersionCheck;

/// The version id S3 gives a key's null version.
pub const NULL_VERSION: &str = "null";

/// Where a cross-origin request is going, as far as CORS is concerned.
#[derive(Debug, Clone, Copy)]
pub enum CorsTarget<'a> {
    BucketName(&'a str),
    BucketId(&'a str),
    /// A file id (whose bucket id is embedded in it).
    FileId(&'a str),
}

/// What S3 DeleteObject did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// The version removed, or the delete marker created.
    pub version_id: String,
    pub delete_marker: bool,
}

impl Stowage {
    /// The caller behind an S3 access key (an application key id), if the key exists and has not expired.
    pub async fn principal_for_key(&self, key_id: &str) -> Result<Principal> {
        let key = self.load_key(key_id).await?.ok_or_else(|| Error::BadCredentials(format!("unknown access key {key_id}")))?;
        if key.expires.is_some_and(|e| e <= self.now()) {
            return Err(Error::ExpiredAuthToken);
        }
        Ok(Principal { key, scope: TokenScope::Account })
    }

    /// The secret of an access key, for signature checks: `None` for an unknown or expired key; a store
    /// failure is an error, not an unknown key.
    pub async fn secret_for_key(&self, key_id: &str) -> Result<Option<String>> {
        match self.principal_for_key(key_id).await {
            Ok(principal) => Ok(Some(principal.key.secret)),
            Err(Error::BadCredentials(_) | Error::ExpiredAuthToken) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// A bucket by name, if the caller may see it (public buckets are readable by anyone).
    pub async fn bucket_for(&self, principal: Option<&Principal>, name: &str) -> Result<Bucket> {
        let bucket = self.bucket_by_name(name).await?;
        match principal {
            Some(p) if p.allows_bucket(&bucket.id) => Ok(bucket),
            Some(_) => Err(Error::unauthorized("application key is not allowed to access this bucket")),
            None if bucket.bucket_type == BucketType::AllPublic => Ok(bucket),
            None => Err(Error::unauthorized("this bucket is private: a signed request is required")),
        }
    }

    /// The version an S3 GET/HEAD addresses: the newest visible one, or a given version id.
    pub async fn object_version(
        &self,
        principal: Option<&Principal>,
        bucket: &Bucket,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<FileVersion> {
        if principal.is_some() || !bucket.s3_public_read() {
            let Some(p) = principal else {
                // An unsigned read of a private bucket needs the object's ACL to allow it; without that
                // the caller learns nothing, not even whether the key exists.
                let denied = || Error::unauthorized("this bucket is private: a signed request is required");
                let version = match self.find_version(bucket, key, version_id, true).await {
                    Err(Error::FileNotFound(_)) => return Err(denied()),
                    other => other?,
                };
                return if Self::acl_allows_anonymous_read(bucket, &version) { Ok(version) } else { Err(denied()) };
            };
            p.authorize(Capability::ReadFiles, Some(&bucket.id), NameScope::File(key))?;
        }
        // An explicit version id may name a delete marker (GET answers for it); `open_object` refuses it.
        self.find_version(bucket, key, version_id, true).await
    }

    /// Opens an object version for reading (after `object_version`).
    pub async fn open_object(
        &self,
        bucket: Bucket,
        version: FileVersion,
        range: Option<ByteRange>,
        sse: Option<&EncryptionRequest>,
        with_body: bool,
    ) -> Result<Download> {
        if version.action == Action::Hide {
            return Err(Error::FileNotFound("the version is a delete marker".into()));
        }
        self.check_sse_c(&version, sse)?;
        self.open(version, bucket, range, sse, with_body).await
    }

    /// The CORS headers the target bucket's rules grant this request, if any. CORS decides what a browser
    /// may read, not what a caller may do: authorization still applies to the request itself.
    pub async fn cors(&self, target: CorsTarget<'_>, req: &CorsRequest<'_>) -> Result<Option<CorsGrant>> {
        let bucket = match target {
            CorsTarget::BucketName(name) => self.meta.get_bucket_by_name(name).await?,
            CorsTarget::BucketId(id) => self.meta.get_bucket(id).await?,
            CorsTarget::FileId(file_id) => match bucket_id_of_file(file_id) {
                Some(id) => self.meta.get_bucket(id).await?,
                None => None,
            },
        };
        Ok(bucket.and_then(|b| cors::evaluate(&b.cors_rules, req)))
    }

    /// The version an S3 subresource call (tagging, retention, legal hold) addresses; access to the change
    /// itself is decided by the method that makes it.
    pub async fn addressed_version(&self, bucket: &Bucket, key: &str, version_id: Option<&str>) -> Result<FileVersion> {
        self.find_version(bucket, key, version_id, false).await
    }

    /// The tags of the version an S3 request addresses, which `s3:ExistingObjectTag/<tag>` policy conditions
    /// compare: read only when the bucket's (cached, parsed) policy has such conditions, and empty when
    /// there is no such version (the request then fails on its own terms).
    pub async fn existing_object_tags(&self, bucket: &Bucket, key: &str, version_id: Option<&str>) -> Result<BTreeMap<String, String>> {
        let policy = bucket.access.policy.as_deref().and_then(|document| self.parsed_policy(bucket, document));
        if !policy.is_some_and(|p| p.reads_existing_object_tags()) {
            return Ok(BTreeMap::new());
        }
        match self.find_version(bucket, key, version_id, false).await {
            Ok(version) => Ok(version.tags),
            Err(Error::FileNotFound(_) | Error::InvalidFileId(_)) => Ok(BTreeMap::new()),
            Err(e) => Err(e),
        }
    }

    async fn find_version(&self, bucket: &Bucket, key: &str, version_id: Option<&str>, allow_markers: bool) -> Result<FileVersion> {
        let not_found = || Error::FileNotFound(format!("The specified key does not exist: {key}"));
        let wanted = |v: &FileVersion| v.action == Action::Upload || (allow_markers && v.action == Action::Hide);
        match version_id {
            Some(NULL_VERSION) => self.null_version_of(&bucket.id, key).await?.filter(wanted).ok_or_else(not_found),
            Some(id) => {
                self.meta.get_version(id).await?.filter(|v| v.bucket_id == bucket.id && v.name == key && wanted(v)).ok_or_else(not_found)
            }
            None => self.meta.latest_version(&bucket.id, key).await?.filter(|v| v.action == Action::Upload).ok_or_else(not_found),
        }
    }

    /// Replaces an object version's tags (S3 PutObjectTagging / DeleteObjectTagging).
    pub async fn set_object_tags(
        &self,
        principal: &Principal,
        version: FileVersion,
        tags: BTreeMap<String, String>,
    ) -> Result<FileVersion> {
        principal.authorize(Capability::WriteFiles, Some(&version.bucket_id), NameScope::File(&version.name))?;
        check_tags(&tags, 10)?;
        self.meta
            .modify_version(
                &version.file_id,
                Box::new(move |mut current| {
                    current.tags = tags;
                    Ok(current)
                }),
            )
            .await
    }

    /// An object version's tags (S3 GetObjectTagging).
    pub fn object_tags(&self, principal: &Principal, version: &FileVersion) -> Result<BTreeMap<String, String>> {
        principal.authorize(Capability::ReadFiles, Some(&version.bucket_id), NameScope::File(&version.name))?;
        Ok(version.tags.clone())
    }

    /// Replaces a bucket's tags (S3 PutBucketTagging / DeleteBucketTagging).
    pub async fn set_bucket_tags(&self, principal: &Principal, bucket_id: &str, tags: BTreeMap<String, String>) -> Result<()> {
        principal.authorize(Capability::WriteBuckets, Some(bucket_id), NameScope::None)?;
        check_tags(&tags, 50)?;
        self.modify_bucket(bucket_id, |b| b.tags = tags.clone()).await.map(|_| ())
    }

    /// Whether the key's current version is a delete marker (S3's `x-amz-delete-marker` on a 404).
    pub async fn latest_is_delete_marker(&self, bucket: &Bucket, key: &str) -> Result<bool> {
        Ok(self.meta.latest_version(&bucket.id, key).await?.is_some_and(|v| v.action == Action::Hide))
    }

    /// The bytes S3's `partNumber` addresses on GET/HEAD: part `n` of a multipart object, or (`None`) the
    /// whole of any other object, which is its own part 1.
    pub fn part_range(version: &FileVersion, n: u32) -> Result<Option<ByteRange>> {
        let missing = |count: usize| Error::InvalidPart(format!("part {n} does not exist: the object has {count} part(s)"));
        match &version.content {
            Content::Parts(parts) => {
                let index = (n as usize).checked_sub(1).filter(|i| *i < parts.len()).ok_or_else(|| missing(parts.len()))?;
                let offset: u64 = parts[..index].iter().map(|p| p.size).sum();
                let size = parts[index].size;
                Ok((size > 0).then(|| ByteRange::Bounded(offset, offset + size - 1)))
            }
            _ if n == 1 => Ok(None),
            _ => Err(missing(1)),
        }
    }

    /// For each entry of a versions listing, whether it is its key's current version (S3's `IsLatest`).
    /// Versions of a key come newest first, so only the first of each key in the page can be current, and
    /// only that one is looked up (the newest may be on an earlier page).
    pub async fn latest_flags(&self, page: &ListPage) -> Result<Vec<bool>> {
        let mut flags = Vec::with_capacity(page.entries.len());
        let mut previous: Option<&str> = None;
        for entry in &page.entries {
            let latest = match entry {
                // Unfinished large files are never current, and do not hide the key's newest version.
                ListEntry::Version(v) if v.action != Action::Start && previous != Some(v.name.as_str()) => {
                    previous = Some(v.name.as_str());
                    self.meta.latest_version(&v.bucket_id, &v.name).await?.is_some_and(|l| l.file_id == v.file_id)
                }
                _ => false,
            };
            flags.push(latest);
        }
        Ok(flags)
    }

    /// S3 DeleteObject: without a version id, a delete marker (hide marker) is added, even for a key that
    /// does not exist (a null one unless versioning is enabled; an unversioned bucket removes the null
    /// version instead); with one, that version is removed (object lock permitting). `null` names the
    /// key's null version.
    pub async fn delete_object(
        &self,
        principal: &Principal,
        bucket: &Bucket,
        key: &str,
        version_id: Option<&str>,
        bypass_governance: bool,
    ) -> Result<Deleted> {
        principal.authorize(Capability::DeleteFiles, Some(&bucket.id), NameScope::File(key))?;
        let null_gone = |delete_marker| Deleted { version_id: NULL_VERSION.to_string(), delete_marker };
        match version_id {
            // Unversioned: the key's null version goes; a delete marker is left only when versions written
            // through B2 would otherwise show through.
            None if bucket.versioning == Versioning::Unversioned => {
                crate::names::check_file_name(key)?;
                if let Some(null) = self.null_version_of(&bucket.id, key).await? {
                    self.delete_key_version(principal, bucket, key, &null.file_id, bypass_governance).await?;
                }
                if self.meta.latest_version(&bucket.id, key).await?.is_some_and(|v| v.action == Action::Upload) {
                    let marker = self.insert_hide_marker(&bucket.id, key, true).await?;
                    self.emit(EventType::Hide, &marker).await;
                    return Ok(null_gone(true));
                }
                Ok(null_gone(false))
            }
            None => {
                crate::names::check_file_name(key)?;
                let marker = self.insert_hide_marker(&bucket.id, key, bucket.versioning.writes_null_versions()).await?;
                self.emit(EventType::Hide, &marker).await;
                Ok(Deleted { version_id: marker.s3_version_id().to_string(), delete_marker: true })
            }
            Some(NULL_VERSION) => match self.null_version_of(&bucket.id, key).await? {
                Some(null) => {
                    let deleted = self.delete_key_version(principal, bucket, key, &null.file_id, bypass_governance).await?;
                    Ok(null_gone(deleted.delete_marker))
                }
                None => Ok(null_gone(false)),
            },
            Some(id) => self.delete_key_version(principal, bucket, key, id, bypass_governance).await,
        }
    }

    /// Deletes version `id` of `key`; a version that is not there (or belongs to another key) is no error.
    async fn delete_key_version(
        &self,
        principal: &Principal,
        bucket: &Bucket,
        key: &str,
        id: &str,
        bypass_governance: bool,
    ) -> Result<Deleted> {
        let not_there = || Deleted { version_id: id.to_string(), delete_marker: false };
        let lock = self.delete_lock_check(principal, bypass_governance);
        let (bucket_id, key_name) = (bucket.id.clone(), key.to_string());
        let check: VersionCheck = Box::new(move |v| {
            if v.bucket_id != bucket_id || v.name != key_name {
                return Err(Error::FileNotPresent(v.file_id.clone()));
            }
            lock(v)
        });
        let version = match self.meta.delete_version(id, check).await {
            Ok(Some(version)) => version,
            Ok(None) | Err(Error::FileNotPresent(_)) => return Ok(not_there()),
            Err(other) => return Err(other),
        };
        self.emit(EventType::Delete, &version).await;
        Ok(Deleted { version_id: id.to_string(), delete_marker: version.action == Action::Hide })
    }
}

/// File ids embed their bucket id: `4_z<bucket id>_f<...>`.
pub fn bucket_id_of_file(file_id: &str) -> Option<&str> {
    file_id.strip_prefix("4_z")?.split_once("_f").map(|(bucket, _)| bucket)
}

/// S3's tag limits: keys 1-128 and values up to 256 characters, at most `max` tags.
pub fn check_tags(tags: &BTreeMap<String, String>, max: usize) -> Result<()> {
    if tags.len() > max {
        return Err(Error::InvalidTag(format!("at most {max} tags are allowed")));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(Error::InvalidTag("tag keys must be 1 to 128 characters and values at most 256".into()));
        }
    }
    Ok(())
}

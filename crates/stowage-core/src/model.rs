//! Domain records shared by every front-end and store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, the unit B2 uses for every timestamp.
pub type Millis = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BucketType {
    #[serde(rename = "allPublic")]
    AllPublic,
    #[serde(rename = "allPrivate")]
    AllPrivate,
}

impl BucketType {
    pub fn as_str(self) -> &'static str {
        match self {
            BucketType::AllPublic => "allPublic",
            BucketType::AllPrivate => "allPrivate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "allPublic" => Some(BucketType::AllPublic),
            "allPrivate" => Some(BucketType::AllPrivate),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorsRule {
    pub cors_rule_name: String,
    pub allowed_origins: Vec<String>,
    pub allowed_operations: Vec<String>,
    #[serde(default)]
    pub allowed_headers: Option<Vec<String>>,
    #[serde(default)]
    pub expose_headers: Option<Vec<String>>,
    pub max_age_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleRule {
    pub file_name_prefix: String,
    #[serde(default)]
    pub days_from_uploading_to_hiding: Option<i64>,
    #[serde(default)]
    pub days_from_hiding_to_deleting: Option<i64>,
    #[serde(default)]
    pub days_from_starting_to_canceling_unfinished_large_files: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationHeader {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationTarget {
    pub target_type: String,
    pub url: String,
    #[serde(default)]
    pub custom_headers: Option<Vec<NotificationHeader>>,
    #[serde(default)]
    pub hmac_sha256_signing_secret: Option<String>,
}

/// A bucket event notification rule, kept as the client sent it; events it matches (`events.rs`) are
/// queued in the metadata store's outbox and delivered to its webhook by the binary's `webhooks.rs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRule {
    pub name: String,
    pub event_types: Vec<String>,
    pub is_enabled: bool,
    #[serde(default)]
    pub object_name_prefix: String,
    pub target_configuration: NotificationTarget,
    #[serde(default)]
    pub max_events_per_batch: Option<i64>,
    /// Set by the server when delivery kept failing (B2's `isSuspended`); setting the rules again clears it.
    #[serde(default)]
    pub is_suspended: bool,
    /// Why delivery was suspended (B2's `suspensionReason`), empty otherwise.
    #[serde(default)]
    pub suspension_reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetentionMode {
    Governance,
    Compliance,
}

impl RetentionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionMode::Governance => "governance",
            RetentionMode::Compliance => "compliance",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "governance" => Some(RetentionMode::Governance),
            "compliance" => Some(RetentionMode::Compliance),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodUnit {
    Days,
    Years,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPeriod {
    pub duration: i64,
    pub unit: PeriodUnit,
}

impl RetentionPeriod {
    pub fn as_millis(self) -> Millis {
        let days = match self.unit {
            PeriodUnit::Days => self.duration,
            PeriodUnit::Years => self.duration * 365,
        };
        days * 86_400_000
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    pub mode: RetentionMode,
    pub period: RetentionPeriod,
}

/// A file version's retention: until when, and how strictly, it may not be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub mode: RetentionMode,
    pub retain_until: Millis,
}

/// Server-side encryption of one file version (or a bucket's default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Encryption {
    #[default]
    None,
    /// SSE-B2: encrypted at rest with a server key.
    SseB2,
    /// SSE-C: the client holds the key; we keep only its MD5 (base64) to check later requests.
    SseC { key_md5: String },
    /// SSE-KMS: encrypted under a key Stowage keeps (see `KmsKey`), named by its id.
    SseKms { key_id: String },
}

/// A key for SSE-KMS, kept by Stowage itself: random key material sealed under the master key. Created by
/// an administrator; objects name it by `key_id`. Deleting it would make those objects unreadable, so
/// keys are never deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKey {
    pub key_id: String,
    /// Base64 of nonce and AES-256-GCM ciphertext of the 32-byte key material.
    pub sealed: String,
    pub created: Millis,
}

/// A bucket's S3 versioning state. Buckets created through B2 keep every version (`Enabled`, B2's model);
/// buckets created through S3 start `Unversioned` unless the server follows B2 for them too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Versioning {
    #[default]
    Enabled,
    /// Versioning was enabled, then suspended: S3 writes replace the key's null version.
    Suspended,
    /// Never enabled: S3 writes replace the key's null version, and S3 shows no version ids.
    Unversioned,
}

impl Versioning {
    pub fn as_str(self) -> &'static str {
        match self {
            Versioning::Enabled => "enabled",
            Versioning::Suspended => "suspended",
            Versioning::Unversioned => "unversioned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enabled" => Some(Versioning::Enabled),
            "suspended" => Some(Versioning::Suspended),
            "unversioned" => Some(Versioning::Unversioned),
            _ => None,
        }
    }

    /// Whether an S3 write makes the key's null version (replacing the one there) rather than a new one.
    pub fn writes_null_versions(self) -> bool {
        self != Versioning::Enabled
    }
}

/// Who an ACL grant is for. The owner's full control is implicit and never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", content = "id")]
pub enum Grantee {
    /// Everyone, signed or not (S3's AllUsers group).
    AllUsers,
    /// Any caller with a valid key (S3's AuthenticatedUsers group).
    AuthenticatedUsers,
    /// S3's LogDelivery group (accepted and kept; nothing here writes logs).
    LogDelivery,
    /// A canonical user id: this server's account id (its keys) or any other id a client names.
    CanonicalUser(String),
    /// A grantee named by e-mail address.
    Email(String),
}

/// What an ACL grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AclPermission {
    FullControl,
    Read,
    Write,
    ReadAcp,
    WriteAcp,
}

impl AclPermission {
    /// Whether holding this permission includes `wanted`.
    pub fn includes(self, wanted: AclPermission) -> bool {
        self == wanted || self == AclPermission::FullControl
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub grantee: Grantee,
    pub permission: AclPermission,
}

/// S3's PublicAccessBlock configuration of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PublicAccessBlock {
    /// Refuse requests that set public ACLs.
    pub block_public_acls: bool,
    /// Public ACLs grant nothing.
    pub ignore_public_acls: bool,
    /// Refuse bucket policies that are public.
    pub block_public_policy: bool,
    /// A public policy grants anonymous callers nothing.
    pub restrict_public_buckets: bool,
}

/// S3's object ownership setting (OwnershipControls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectOwnership {
    /// ACLs are disabled: only the bucket owner's full control.
    BucketOwnerEnforced,
    BucketOwnerPreferred,
    ObjectWriter,
}

impl ObjectOwnership {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectOwnership::BucketOwnerEnforced => "BucketOwnerEnforced",
            ObjectOwnership::BucketOwnerPreferred => "BucketOwnerPreferred",
            ObjectOwnership::ObjectWriter => "ObjectWriter",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "BucketOwnerEnforced" => Some(ObjectOwnership::BucketOwnerEnforced),
            "BucketOwnerPreferred" => Some(ObjectOwnership::BucketOwnerPreferred),
            "ObjectWriter" => Some(ObjectOwnership::ObjectWriter),
            _ => None,
        }
    }
}

/// A bucket's access settings that only the S3 API speaks of: its policy, public access block, object
/// ownership and ACL grants. (Public reads, B2's `allPublic`, stay the bucket type: an AllUsers READ grant
/// on the bucket is that type, never a stored grant.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BucketAccess {
    /// The policy document as the client sent it, returned as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_access_block: Option<PublicAccessBlock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_ownership: Option<ObjectOwnership>,
    /// ACL grants besides the owner's full control and the bucket type's public reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<Grant>,
}

/// A bucket ACL as Stowage keeps it: the AllUsers READ grant is the bucket type (B2's `allPublic`), every
/// other grant is stored. Both directions are here.
pub fn split_bucket_acl(grants: Vec<Grant>) -> (BucketType, Vec<Grant>) {
    let public_read = |g: &Grant| g.grantee == Grantee::AllUsers && g.permission == AclPermission::Read;
    let bucket_type = if grants.iter().any(public_read) { BucketType::AllPublic } else { BucketType::AllPrivate };
    (bucket_type, grants.into_iter().filter(|g| !public_read(g)).collect())
}

impl BucketAccess {
    pub fn blocks(&self, check: impl Fn(&PublicAccessBlock) -> bool) -> bool {
        self.public_access_block.as_ref().is_some_and(check)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub id: String,
    pub name: String,
    pub bucket_type: BucketType,
    pub info: serde_json::Map<String, serde_json::Value>,
    pub cors_rules: Vec<CorsRule>,
    pub lifecycle_rules: Vec<LifecycleRule>,
    /// The lifecycle configuration as S3 put it, when it came through S3 (`lifecycle_rules` then holds the
    /// part of it B2 can express); empty when the B2 rules are the whole configuration.
    #[serde(default)]
    pub s3_lifecycle: Vec<crate::lifecycle::Rule>,
    pub default_encryption: Encryption,
    pub file_lock_enabled: bool,
    pub default_retention: Option<DefaultRetention>,
    #[serde(default)]
    pub notification_rules: Vec<NotificationRule>,
    /// S3 bucket tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub versioning: Versioning,
    /// S3 policy, public access block, ownership and ACL grants.
    #[serde(default)]
    pub access: BucketAccess,
    pub revision: i64,
    pub created: Millis,
}

impl Bucket {
    /// The lifecycle rules in force, in the form the lifecycle task applies (disabled S3 rules included).
    pub fn lifecycle(&self) -> Vec<crate::lifecycle::Rule> {
        if self.s3_lifecycle.is_empty() {
            self.lifecycle_rules.iter().enumerate().map(|(i, r)| crate::lifecycle::Rule::from_b2(r, i)).collect()
        } else {
            self.s3_lifecycle.clone()
        }
    }

    /// The bucket's ACL grants besides the owner's full control, its type's public reads included.
    pub fn acl_grants(&self) -> Vec<Grant> {
        let public_read =
            (self.bucket_type == BucketType::AllPublic).then_some(Grant { grantee: Grantee::AllUsers, permission: AclPermission::Read });
        public_read.into_iter().chain(self.access.grants.iter().cloned()).collect()
    }

    /// Whether S3 lets anyone read this bucket: B2's `allPublic` (S3's public-read ACL), unless the public
    /// access block says to ignore public ACLs. (B2's own download URLs follow the bucket type alone.)
    pub fn s3_public_read(&self) -> bool {
        self.bucket_type == BucketType::AllPublic && !self.access.blocks(|b| b.ignore_public_acls)
    }
}

/// A bucket's stored files and bytes as recorded for one day (days since 1970-01-01, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyUsage {
    pub day: i64,
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// A stored file (simple upload, copy or finished large file).
    Upload,
    /// An unfinished large file.
    Start,
    /// A hide marker.
    Hide,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Upload => "upload",
            Action::Start => "start",
            Action::Hide => "hide",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "upload" => Some(Action::Upload),
            "start" => Some(Action::Start),
            "hide" => Some(Action::Hide),
            _ => None,
        }
    }
}

/// Where a version's bytes live in the blob store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Content {
    /// Hide markers and unfinished large files have no bytes of their own.
    #[default]
    Empty,
    /// `salt` is set when the blob is sealed (encrypted at rest); see `sealing`.
    Blob {
        id: String,
        #[serde(default)]
        salt: Option<String>,
    },
    /// A finished large file: its parts' blobs, in order.
    Parts(Vec<PartRef>),
}

impl Content {
    pub fn blob_ids(&self) -> Vec<String> {
        match self {
            Content::Empty => Vec::new(),
            Content::Blob { id, .. } => vec![id.clone()],
            Content::Parts(parts) => parts.iter().map(|p| p.blob_id.clone()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRef {
    pub blob_id: String,
    pub size: u64,
    /// The part's MD5 (hex), for the multipart ETag.
    #[serde(default)]
    pub md5: String,
    #[serde(default)]
    pub salt: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: Checksums,
}

/// Checksums a client declared and the server verified, by algorithm → base64 of the digest, as S3
/// returns them. Stored with the algorithms' names as keys.
pub type Checksums = BTreeMap<ChecksumAlgorithm, String>;

/// The checksum algorithms S3 defines. `name()` is how they are stored and how S3 spells them after
/// `x-amz-checksum-`; `s3_name()` how S3 names them in `x-amz-checksum-algorithm` and `ChecksumAlgorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChecksumAlgorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl ChecksumAlgorithm {
    pub const ALL: [ChecksumAlgorithm; 5] = [Self::Crc32, Self::Crc32c, Self::Crc64Nvme, Self::Sha1, Self::Sha256];

    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32 => "crc32",
            Self::Crc32c => "crc32c",
            Self::Crc64Nvme => "crc64nvme",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
        }
    }

    pub fn s3_name(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// From S3's name or the stored one (any case).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name().eq_ignore_ascii_case(name))
    }
}

serde_by_name!(ChecksumAlgorithm, name, parse, "checksum algorithm");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVersion {
    pub file_id: String,
    pub bucket_id: String,
    pub name: String,
    pub action: Action,
    pub size: u64,
    /// Lowercase hex, `none` for large files, `unverified:<hex>` for unverified uploads; None for hide markers.
    pub sha1: Option<String>,
    pub md5: Option<String>,
    pub content_type: String,
    pub info: BTreeMap<String, String>,
    pub upload_timestamp: Millis,
    pub encryption: Encryption,
    pub retention: Option<Retention>,
    /// None means never set (distinct from an explicit "off").
    pub legal_hold: Option<bool>,
    pub content: Content,
    /// S3 object tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Verified S3 checksums of a simple upload (a large file keeps them on its parts).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: Checksums,
    /// S3's null version of its key (written while the bucket was unversioned or suspended): S3 calls it
    /// `null` and the next such write replaces it. B2 sees it under its file id like any other version.
    #[serde(default)]
    pub null_version: bool,
    /// S3 object ACL grants besides the owner's full control.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<Grant>,
    /// The checksum algorithm (`crc32`, `sha256`, …) an S3 multipart upload was started with: every part
    /// must carry that checksum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// A multipart object's whole-object checksum combines its parts' CRCs (S3's FULL_OBJECT type) rather
    /// than hashing their checksums (COMPOSITE).
    #[serde(default)]
    pub checksum_full_object: bool,
}

impl FileVersion {
    /// The S3 ETag (without quotes): the MD5 of a simple upload, `md5(part MD5s)-N` for a large file.
    pub fn etag(&self) -> String {
        use md5::{Digest, Md5};
        if let Some(md5) = &self.md5 {
            return md5.clone();
        }
        match &self.content {
            Content::Parts(parts) => {
                let mut concat = Vec::with_capacity(parts.len() * 16);
                for p in parts {
                    concat.extend(hex::decode(&p.md5).unwrap_or_default());
                }
                format!("{}-{}", hex::encode(Md5::digest(&concat)), parts.len())
            }
            _ => "d41d8cd98f00b204e9800998ecf8427e".to_string(),
        }
    }

    /// The version id S3 shows: `null` for a null version, else the file id.
    pub fn s3_version_id(&self) -> &str {
        if self.null_version { "null" } else { &self.file_id }
    }

    pub fn is_locked(&self, now: Millis) -> bool {
        self.legal_hold == Some(true) || self.retention.is_some_and(|r| r.retain_until > now)
    }
}

/// One uploaded part of an unfinished large file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub file_id: String,
    pub part_number: u32,
    pub size: u64,
    pub sha1: String,
    pub md5: String,
    pub blob_id: String,
    pub upload_timestamp: Millis,
    #[serde(default)]
    pub salt: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: Checksums,
}

impl Part {
    /// This part as a piece of the finished large file.
    pub fn as_part_ref(&self) -> PartRef {
        PartRef {
            blob_id: self.blob_id.clone(),
            size: self.size,
            md5: self.md5.clone(),
            salt: self.salt.clone(),
            checksums: self.checksums.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppKey {
    pub key_id: String,
    pub secret: String,
    pub name: String,
    pub capabilities: Vec<crate::auth::Capability>,
    /// None = every bucket.
    pub bucket_ids: Option<Vec<String>>,
    pub name_prefix: Option<String>,
    pub expires: Option<Millis>,
    pub created: Millis,
}

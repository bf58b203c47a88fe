//! The B2 Native API's JSON shapes (v4, v3 where v4 has no change), as this client sends and reads them.
//! Fields B2 may leave out are `Option`s or default to empty; fields a newer server adds are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A field B2 sends as `null` where it has nothing (folder entries), read as its empty value.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// What `b2_authorize_account` answers (v3/v4 shape).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    /// The account the key belongs to.
    pub account_id: String,
    /// The token every call sends (valid 24 hours on B2).
    pub authorization_token: String,
    /// Where the APIs are and what the key may do.
    pub api_info: ApiInfo,
    /// When the key expires (ms since the epoch), if it does.
    #[serde(default)]
    pub application_key_expiration_timestamp: Option<i64>,
}

/// The APIs an authorization opens.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiInfo {
    /// The storage API: its URLs, part sizes and the key's permissions.
    pub storage_api: StorageApi,
}

/// The storage API: URLs, part sizes, and what the key may do.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageApi {
    /// Base URL of the JSON calls.
    pub api_url: String,
    /// Base URL of downloads.
    pub download_url: String,
    /// The S3-compatible endpoint, if the server has one.
    #[serde(default)]
    pub s3_api_url: Option<String>,
    /// The part size the server recommends for large files.
    pub recommended_part_size: u64,
    /// The smallest part (but the last) the server accepts.
    pub absolute_minimum_part_size: u64,
    /// What the key may do.
    pub allowed: Allowed,
}

/// What the key may do: its capabilities, buckets and name prefix.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Allowed {
    /// The key's capabilities (`listFiles`, `writeFiles`, ...).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// The buckets the key is restricted to, if any.
    #[serde(default)]
    pub buckets: Option<Vec<AllowedBucket>>,
    /// The file name prefix the key is restricted to, if any.
    #[serde(default)]
    pub name_prefix: Option<String>,
}

/// A bucket a key is restricted to.
#[derive(Debug, Clone, Deserialize)]
pub struct AllowedBucket {
    /// The bucket's id.
    pub id: String,
    /// The bucket's name (`None` if it was deleted).
    pub name: Option<String>,
}

/// A bucket as B2 describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    /// The owning account.
    pub account_id: String,
    /// The bucket's id.
    pub bucket_id: String,
    /// The bucket's name.
    pub bucket_name: String,
    /// `allPublic`, `allPrivate`, `restricted`, `snapshot`, ...
    pub bucket_type: String,
    /// Free-form bucket info (`Cache-Control` defaults and the like).
    #[serde(default)]
    pub bucket_info: BTreeMap<String, Value>,
    /// CORS rules.
    #[serde(default)]
    pub cors_rules: Vec<CorsRule>,
    /// Lifecycle rules.
    #[serde(default)]
    pub lifecycle_rules: Vec<LifecycleRule>,
    /// `{isClientAuthorizedToRead, value: {mode, algorithm}}`.
    #[serde(default)]
    pub default_server_side_encryption: Option<Value>,
    /// `{isClientAuthorizedToRead, value: {isFileLockEnabled, defaultRetention}}`.
    #[serde(default)]
    pub file_lock_configuration: Option<Value>,
    /// Cloud Replication settings, if any.
    #[serde(default)]
    pub replication_configuration: Option<Value>,
    /// Options such as `s3`.
    #[serde(default)]
    pub options: Vec<String>,
    /// Increases with every change (for `ifRevisionIs`).
    pub revision: i64,
}

/// A CORS rule of a bucket (B2's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorsRule {
    /// A name for the rule.
    pub cors_rule_name: String,
    /// Origins allowed (`https://app.example.com`, or `*`).
    pub allowed_origins: Vec<String>,
    /// Operations allowed (`b2_download_file_by_name`, `s3_get`, ...).
    pub allowed_operations: Vec<String>,
    /// Request headers a preflight may ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_headers: Option<Vec<String>>,
    /// Response headers the browser may read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_headers: Option<Vec<String>>,
    /// How long a browser may cache the preflight answer.
    pub max_age_seconds: i64,
}

/// A lifecycle rule of a bucket: when files under a prefix are hidden, deleted or canceled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleRule {
    /// The names the rule applies to.
    pub file_name_prefix: String,
    /// Hide a file this many days after its upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_from_uploading_to_hiding: Option<i64>,
    /// Delete a hidden version this many days after it was hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_from_hiding_to_deleting: Option<i64>,
    /// Cancel unfinished large files this many days after they started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_from_starting_to_canceling_unfinished_large_files: Option<i64>,
}

/// A bucket event notification rule (`b2_set_bucket_notification_rules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRule {
    /// The rule's name.
    pub name: String,
    /// Events that fire it (`b2:ObjectCreated:*`, ...).
    pub event_types: Vec<String>,
    /// The names it applies to.
    #[serde(default)]
    pub object_name_prefix: String,
    /// Whether it fires.
    pub is_enabled: bool,
    /// Where events go: `{"targetType": "webhook", "url": ..., ...}`.
    pub target_configuration: Value,
    /// Events sent in one request at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events_per_batch: Option<i64>,
    /// Set by the server when delivery kept failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_suspended: Option<bool>,
    /// Why the server suspended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension_reason: Option<String>,
}

/// The settings `b2_create_bucket` and `b2_update_bucket` take; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketSettings {
    /// `allPublic` or `allPrivate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_type: Option<String>,
    /// Free-form bucket info.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_info: Option<BTreeMap<String, String>>,
    /// CORS rules (all of them: they replace the old ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors_rules: Option<Vec<CorsRule>>,
    /// Lifecycle rules (all of them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_rules: Option<Vec<LifecycleRule>>,
    /// `{"mode": "SSE-B2", "algorithm": "AES256"}` or `{"mode": null}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_server_side_encryption: Option<Value>,
    /// Turns object lock on (it cannot be turned off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_lock_enabled: Option<bool>,
    /// `{"mode": "governance", "period": {"duration": 7, "unit": "days"}}` (update only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_retention: Option<Value>,
    /// Refuses the update if the bucket changed since this revision (update only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_revision_is: Option<i64>,
}

/// A file version: an upload, a hide marker, an unfinished large file, or in a folder listing a folder
/// (`action` says which).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileVersion {
    /// Empty for a folder entry (B2 sends `null`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub file_id: String,
    /// The file's name.
    pub file_name: String,
    /// `upload`, `hide`, `start` (unfinished large file), `folder` (folder listings) or `copy`.
    pub action: String,
    /// The bucket it is in.
    #[serde(default)]
    pub bucket_id: Option<String>,
    /// Bytes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub content_length: u64,
    /// Hex SHA-1; `none` for large files (their file info's `large_file_sha1` holds it, when set).
    #[serde(default)]
    pub content_sha1: Option<String>,
    /// Hex MD5, when the server knows it.
    #[serde(default)]
    pub content_md5: Option<String>,
    /// The content type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// File info (`src_last_modified_millis`, `large_file_sha1`, `b2-content-disposition`, ...).
    #[serde(default, deserialize_with = "null_as_default")]
    pub file_info: BTreeMap<String, String>,
    /// When it was uploaded (ms since the epoch).
    #[serde(default, deserialize_with = "null_as_default")]
    pub upload_timestamp: i64,
    /// `{mode, algorithm}` when encrypted.
    #[serde(default)]
    pub server_side_encryption: Option<Value>,
    /// `{isClientAuthorizedToRead, value: {mode, retainUntilTimestamp}}`.
    #[serde(default)]
    pub file_retention: Option<Value>,
    /// `{isClientAuthorizedToRead, value: "on" | "off" | null}`.
    #[serde(default)]
    pub legal_hold: Option<Value>,
}

impl FileVersion {
    /// The whole file's SHA-1: `contentSha1`, or for a large file its `large_file_sha1` info, if recorded.
    pub fn sha1(&self) -> Option<&str> {
        match self.content_sha1.as_deref() {
            Some(hex) if hex != "none" => Some(hex.strip_prefix("unverified:").unwrap_or(hex)),
            _ => self.file_info.get("large_file_sha1").map(String::as_str),
        }
    }
}

/// An application key. `application_key` (the secret) is only in `b2_create_key`'s answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Key {
    /// The key's id.
    pub application_key_id: String,
    /// Its name.
    pub key_name: String,
    /// Its capabilities.
    pub capabilities: Vec<String>,
    /// The buckets it is restricted to, if any.
    #[serde(default)]
    pub bucket_ids: Option<Vec<String>>,
    /// The name prefix it is restricted to, if any.
    #[serde(default)]
    pub name_prefix: Option<String>,
    /// When it expires (ms since the epoch), if it does.
    #[serde(default)]
    pub expiration_timestamp: Option<i64>,
    /// The secret, in `b2_create_key`'s answer only.
    #[serde(default)]
    pub application_key: Option<String>,
}

/// What a new key may do (`b2_create_key`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewKey {
    /// A name for the key (letters, digits and `-`).
    pub key_name: String,
    /// Its capabilities.
    pub capabilities: Vec<String>,
    /// It expires after this many seconds (up to 1 000 days).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_duration_in_seconds: Option<i64>,
    /// Restrict it to these buckets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_ids: Option<Vec<String>>,
    /// Restrict it to names with this prefix (needs a bucket restriction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
}

/// One uploaded part of a large file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    /// The large file's id.
    pub file_id: String,
    /// Its number, from 1.
    pub part_number: u32,
    /// Bytes.
    pub content_length: u64,
    /// Hex SHA-1 of the part.
    pub content_sha1: String,
    /// When it was uploaded (ms since the epoch).
    #[serde(default)]
    pub upload_timestamp: i64,
}

/// Where and with which token to upload (`b2_get_upload_url`, `b2_get_upload_part_url`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadTarget {
    /// Where to send the bytes.
    pub upload_url: String,
    /// The token for that URL.
    pub authorization_token: String,
}

/// `b2_get_download_authorization`'s answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadAuthorization {
    /// The bucket it opens.
    pub bucket_id: String,
    /// The names it opens.
    pub file_name_prefix: String,
    /// The token: `Authorization` header or `?Authorization=` query parameter.
    pub authorization_token: String,
}

/// What a new file carries besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct FileMetadata {
    /// `b2/x-auto` (the server guesses from the name) when empty.
    pub content_type: String,
    /// File info (`X-Bz-Info-*`); `src_last_modified_millis` is the usual one.
    pub info: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FilePage {
    pub files: Vec<FileVersion>,
    #[serde(default)]
    pub next_file_name: Option<String>,
    #[serde(default)]
    pub next_file_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartPage {
    pub parts: Vec<Part>,
    #[serde(default)]
    pub next_part_number: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyPage {
    pub keys: Vec<Key>,
    #[serde(default)]
    pub next_application_key_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BucketList {
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NotificationRules {
    pub event_notification_rules: Vec<NotificationRule>,
}

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
    pub account_id: String,
    pub authorization_token: String,
    pub api_info: ApiInfo,
    #[serde(default)]
    pub application_key_expiration_timestamp: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiInfo {
    pub storage_api: StorageApi,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageApi {
    pub api_url: String,
    pub download_url: String,
    #[serde(default)]
    pub s3_api_url: Option<String>,
    pub recommended_part_size: u64,
    pub absolute_minimum_part_size: u64,
    pub allowed: Allowed,
}

/// What the key may do: its capabilities, buckets and name prefix.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Allowed {
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub buckets: Option<Vec<AllowedBucket>>,
    #[serde(default)]
    pub name_prefix: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AllowedBucket {
    pub id: String,
    pub name: Option<String>,
}

/// A bucket as B2 describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    pub account_id: String,
    pub bucket_id: String,
    pub bucket_name: String,
    pub bucket_type: String,
    #[serde(default)]
    pub bucket_info: BTreeMap<String, Value>,
    #[serde(default)]
    pub cors_rules: Vec<CorsRule>,
    #[serde(default)]
    pub lifecycle_rules: Vec<LifecycleRule>,
    /// `{isClientAuthorizedToRead, value: {mode, algorithm}}`.
    #[serde(default)]
    pub default_server_side_encryption: Option<Value>,
    /// `{isClientAuthorizedToRead, value: {isFileLockEnabled, defaultRetention}}`.
    #[serde(default)]
    pub file_lock_configuration: Option<Value>,
    #[serde(default)]
    pub replication_configuration: Option<Value>,
    #[serde(default)]
    pub options: Vec<String>,
    pub revision: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorsRule {
    pub cors_rule_name: String,
    pub allowed_origins: Vec<String>,
    pub allowed_operations: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_headers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_headers: Option<Vec<String>>,
    pub max_age_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleRule {
    pub file_name_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_from_uploading_to_hiding: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_from_hiding_to_deleting: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_from_starting_to_canceling_unfinished_large_files: Option<i64>,
}

/// A bucket event notification rule (`b2_set_bucket_notification_rules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRule {
    pub name: String,
    pub event_types: Vec<String>,
    #[serde(default)]
    pub object_name_prefix: String,
    pub is_enabled: bool,
    pub target_configuration: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events_per_batch: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_suspended: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension_reason: Option<String>,
}

/// The settings `b2_create_bucket` and `b2_update_bucket` take; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_info: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors_rules: Option<Vec<CorsRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_rules: Option<Vec<LifecycleRule>>,
    /// `{"mode": "SSE-B2", "algorithm": "AES256"}` or `{"mode": null}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_server_side_encryption: Option<Value>,
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
    pub file_name: String,
    pub action: String,
    #[serde(default)]
    pub bucket_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub content_length: u64,
    /// Hex SHA-1; `none` for large files (their file info's `large_file_sha1` holds it, when set).
    #[serde(default)]
    pub content_sha1: Option<String>,
    #[serde(default)]
    pub content_md5: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub file_info: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub upload_timestamp: i64,
    #[serde(default)]
    pub server_side_encryption: Option<Value>,
    #[serde(default)]
    pub file_retention: Option<Value>,
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
    pub application_key_id: String,
    pub key_name: String,
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub bucket_ids: Option<Vec<String>>,
    #[serde(default)]
    pub name_prefix: Option<String>,
    #[serde(default)]
    pub expiration_timestamp: Option<i64>,
    #[serde(default)]
    pub application_key: Option<String>,
}

/// What a new key may do (`b2_create_key`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewKey {
    pub key_name: String,
    pub capabilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_duration_in_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
}

/// One uploaded part of a large file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    pub file_id: String,
    pub part_number: u32,
    pub content_length: u64,
    pub content_sha1: String,
    #[serde(default)]
    pub upload_timestamp: i64,
}

/// Where and with which token to upload (`b2_get_upload_url`, `b2_get_upload_part_url`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadTarget {
    pub upload_url: String,
    pub authorization_token: String,
}

/// `b2_get_download_authorization`'s answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadAuthorization {
    pub bucket_id: String,
    pub file_name_prefix: String,
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

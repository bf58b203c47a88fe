//! JSON shapes of B2 objects, per API version (v1 list entries carry `size`; v4 keys carry `bucketIds`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};
use stowage_core::auth::{BucketView, LockView, Principal, Readable};
use stowage_core::model::{Action, AppKey, Bucket, Encryption, FileVersion, Part};
use stowage_core::service::StoredPart;

pub fn encryption_json(enc: &Encryption) -> Value {
    serde_json::to_value(EncryptionJson::from(enc)).unwrap_or(Value::Null)
}

pub fn bucket_json(account_id: &str, bucket: &Bucket, principal: &Principal) -> Value {
    let view = BucketView::of(principal, bucket);
    let sse = match view.default_encryption {
        Readable::Shown(encryption) => json!({"isClientAuthorizedToRead": true, "value": encryption_json(encryption)}),
        Readable::Withheld => json!({"isClientAuthorizedToRead": false}),
    };
    let lock = match view.lock {
        Readable::Shown(lock) => {
            let retention = match lock.default_retention {
                Some(r) => json!({"mode": r.mode.as_str(), "period": {"duration": r.period.duration, "unit": r.period.unit}}),
                None => json!({"mode": null, "period": null}),
            };
            json!({"isClientAuthorizedToRead": true, "value": {"defaultRetention": retention, "isFileLockEnabled": lock.enabled}})
        }
        Readable::Withheld => json!({"isClientAuthorizedToRead": false, "value": null}),
    };
    json!({
        "accountId": account_id,
        "bucketId": bucket.id,
        "bucketName": bucket.name,
        "bucketType": bucket.bucket_type.as_str(),
        "bucketInfo": bucket.info,
        "corsRules": bucket.cors_rules,
        "lifecycleRules": bucket.lifecycle_rules,
        "options": ["s3"],
        "revision": bucket.revision,
        "defaultServerSideEncryption": sse,
        "fileLockConfiguration": lock,
        "replicationConfiguration": {"isClientAuthorizedToRead": view.replication.shown().is_some(), "value": null},
    })
}

/// Lock fields as b2sdk expects them: present for uploads and starts, withheld without the capability.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Guarded<T: Serialize> {
    is_client_authorized_to_read: bool,
    value: Option<T>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RetentionJson {
    mode: Option<&'static str>,
    retain_until_timestamp: Option<i64>,
}

/// A file's `serverSideEncryption`: B2 names the customer key's MD5 (never the key) for SSE-C files.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EncryptionJson<'a> {
    mode: Option<&'static str>,
    algorithm: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_key_md5: Option<&'a str>,
}

impl<'a> From<&'a Encryption> for EncryptionJson<'a> {
    fn from(enc: &'a Encryption) -> Self {
        match enc {
            Encryption::None => EncryptionJson { mode: None, algorithm: None, customer_key_md5: None },
            // B2 has no KMS mode: server-kept keys are what SSE-B2 means to B2 clients.
            Encryption::SseB2 | Encryption::SseKms { .. } => {
                EncryptionJson { mode: Some("SSE-B2"), algorithm: Some("AES256"), customer_key_md5: None }
            }
            Encryption::SseC { key_md5 } => {
                EncryptionJson { mode: Some("SSE-C"), algorithm: Some("AES256"), customer_key_md5: Some(key_md5) }
            }
        }
    }
}

/// One file-version object (§5.5 of the reference), serialized straight from the record: listings of
/// thousands of entries go through here.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileJson<'a> {
    account_id: &'a str,
    bucket_id: &'a str,
    action: &'static str,
    file_id: Option<&'a str>,
    file_name: &'a str,
    content_length: u64,
    content_sha1: Option<&'a str>,
    content_md5: Option<&'a str>,
    content_type: Option<&'a str>,
    file_info: Option<&'a BTreeMap<String, String>>,
    upload_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_side_encryption: Option<EncryptionJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_retention: Option<Guarded<RetentionJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    legal_hold: Option<Guarded<&'static str>>,
    /// v1 listings carry `size` (rclone reads only that).
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
}

static EMPTY_INFO: BTreeMap<String, String> = BTreeMap::new();

impl<'a> FileJson<'a> {
    pub fn version(account_id: &'a str, v: &'a FileVersion, principal: &Principal, api_version: u8) -> Self {
        let locks = v.action != Action::Hide;
        let view = LockView::of(Some(principal), v);
        let retention = locks.then(|| match view.retention {
            Readable::Shown(r) => Guarded {
                is_client_authorized_to_read: true,
                value: Some(match r {
                    Some(r) => RetentionJson { mode: Some(r.mode.as_str()), retain_until_timestamp: Some(r.retain_until) },
                    None => RetentionJson { mode: None, retain_until_timestamp: None },
                }),
            },
            Readable::Withheld => Guarded { is_client_authorized_to_read: false, value: None },
        });
        let legal_hold = locks.then(|| match view.legal_hold {
            Readable::Shown(hold) => Guarded { is_client_authorized_to_read: true, value: hold.map(|on| if on { "on" } else { "off" }) },
            Readable::Withheld => Guarded { is_client_authorized_to_read: false, value: None },
        });
        FileJson {
            account_id,
            bucket_id: &v.bucket_id,
            action: v.action.as_str(),
            file_id: Some(&v.file_id),
            file_name: &v.name,
            content_length: v.size,
            content_sha1: v.sha1.as_deref(),
            content_md5: v.md5.as_deref(),
            content_type: Some(&v.content_type),
            file_info: Some(&v.info),
            upload_timestamp: v.upload_timestamp,
            server_side_encryption: locks.then(|| EncryptionJson::from(&v.encryption)),
            file_retention: retention,
            legal_hold,
            size: (api_version == 1).then_some(v.size),
        }
    }

    pub fn folder(account_id: &'a str, bucket_id: &'a str, name: &'a str, api_version: u8) -> Self {
        FileJson {
            account_id,
            bucket_id,
            action: "folder",
            file_id: None,
            file_name: name,
            content_length: 0,
            content_sha1: None,
            content_md5: None,
            content_type: None,
            file_info: Some(&EMPTY_INFO),
            upload_timestamp: 0,
            server_side_encryption: None,
            file_retention: None,
            legal_hold: None,
            size: (api_version == 1).then_some(0),
        }
    }
}

pub fn file_json(account_id: &str, v: &FileVersion, principal: &Principal, api_version: u8) -> Value {
    serde_json::to_value(FileJson::version(account_id, v, principal, api_version)).unwrap_or(Value::Null)
}

pub fn key_json(account_id: &str, key: &AppKey, with_secret: bool) -> Value {
    let single = key.bucket_ids.as_ref().and_then(|ids| (ids.len() == 1).then(|| ids[0].clone()));
    let mut out = json!({
        "accountId": account_id,
        "applicationKeyId": key.key_id,
        "keyName": key.name,
        "capabilities": key.capabilities,
        "expirationTimestamp": key.expires,
        "bucketId": single,
        "bucketIds": key.bucket_ids,
        "namePrefix": key.name_prefix,
        "options": ["s3"],
    });
    if with_secret {
        out["applicationKey"] = json!(key.secret);
    }
    out
}

pub fn part_json(p: &Part) -> Value {
    json!({
        "fileId": p.file_id, "partNumber": p.part_number, "contentLength": p.size, "contentSha1": p.sha1,
        "contentMd5": p.md5, "uploadTimestamp": p.upload_timestamp,
    })
}

/// A part just stored, with the encryption its large file seals it under (as b2_upload_part and
/// b2_copy_part answer).
pub fn stored_part_json(stored: &StoredPart) -> Value {
    let mut part = part_json(&stored.part);
    part["serverSideEncryption"] = encryption_json(&stored.encryption);
    part
}

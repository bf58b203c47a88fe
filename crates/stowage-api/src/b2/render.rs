//! JSON shapes of B2 objects, per API version (v1 list entries carry `size`; v4 keys carry `bucketIds`).

use serde_json::{Value, json};
use stowage_core::auth::{Capability, Principal};
use stowage_core::model::{Action, AppKey, Bucket, Encryption, FileVersion, Part};

pub fn encryption_json(enc: &Encryption) -> Value {
    match enc {
        Encryption::None => json!({"mode": null, "algorithm": null}),
        Encryption::SseB2 => json!({"mode": "SSE-B2", "algorithm": "AES256"}),
        Encryption::SseC { .. } => json!({"mode": "SSE-C", "algorithm": "AES256"}),
    }
}

pub fn bucket_json(account_id: &str, bucket: &Bucket, principal: &Principal) -> Value {
    let sse = if principal.has(Capability::ReadBucketEncryption) {
        json!({"isClientAuthorizedToRead": true, "value": encryption_json(&bucket.default_encryption)})
    } else {
        json!({"isClientAuthorizedToRead": false})
    };
    let lock = if principal.has(Capability::ReadBucketRetentions) {
        let retention = match &bucket.default_retention {
            Some(r) => json!({"mode": r.mode.as_str(), "period": {"duration": r.period.duration, "unit": r.period.unit}}),
            None => json!({"mode": null, "period": null}),
        };
        json!({"isClientAuthorizedToRead": true, "value": {"defaultRetention": retention, "isFileLockEnabled": bucket.file_lock_enabled}})
    } else {
        json!({"isClientAuthorizedToRead": false, "value": null})
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
        "replicationConfiguration": {"isClientAuthorizedToRead": principal.has(Capability::ReadBucketReplications), "value": null},
    })
}

pub fn file_json(account_id: &str, v: &FileVersion, principal: &Principal, api_version: u8) -> Value {
    let mut out = json!({
        "accountId": account_id,
        "bucketId": v.bucket_id,
        "action": v.action.as_str(),
        "fileId": v.file_id,
        "fileName": v.name,
        "contentLength": v.size,
        "contentSha1": v.sha1,
        "contentMd5": v.md5,
        "contentType": v.content_type,
        "fileInfo": v.info,
        "uploadTimestamp": v.upload_timestamp,
    });
    if v.action != Action::Hide {
        out["serverSideEncryption"] = encryption_json(&v.encryption);
        out["fileRetention"] = if principal.has(Capability::ReadFileRetentions) {
            let value = match v.retention {
                Some(r) => json!({"mode": r.mode.as_str(), "retainUntilTimestamp": r.retain_until}),
                None => json!({"mode": null, "retainUntilTimestamp": null}),
            };
            json!({"isClientAuthorizedToRead": true, "value": value})
        } else {
            json!({"isClientAuthorizedToRead": false, "value": null})
        };
        out["legalHold"] = if principal.has(Capability::ReadFileLegalHolds) {
            json!({"isClientAuthorizedToRead": true, "value": v.legal_hold.map(|on| if on { "on" } else { "off" })})
        } else {
            json!({"isClientAuthorizedToRead": false, "value": null})
        };
    }
    if api_version == 1 {
        out["size"] = json!(v.size);
    }
    out
}

pub fn folder_json(account_id: &str, bucket_id: &str, name: &str, api_version: u8) -> Value {
    let mut out = json!({
        "accountId": account_id, "bucketId": bucket_id, "action": "folder", "fileId": null, "fileName": name,
        "contentLength": 0, "contentSha1": null, "contentMd5": null, "contentType": null, "fileInfo": {}, "uploadTimestamp": 0,
    });
    if api_version == 1 {
        out["size"] = json!(0);
    }
    out
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

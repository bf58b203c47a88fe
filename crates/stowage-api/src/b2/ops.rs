//! The JSON operations of the B2 Native API. Each parses its fields, calls the core, renders.

use serde_json::{Value, json};
use stowage_core::auth::Principal;
use stowage_core::service::{
    BucketFilter, ByteRange, CopyPart, CopyRequest, ListEntry, ListRequest, MetadataDirective, NewFile, NewKey, PendingUploads,
};

use super::convert;
use super::error::{B2Error, B2Result};
use super::params::Params;
use super::render::{FileJson, bucket_json, file_json, key_json, part_json, stored_part_json};
use crate::AppState;

pub struct Call<'a> {
    pub state: &'a AppState,
    pub principal: &'a Principal,
    pub params: Params,
    pub version: u8,
}

impl Call<'_> {
    fn account(&self) -> &str {
        self.state.core.account_id()
    }

    fn file(&self, v: &stowage_core::model::FileVersion) -> Value {
        file_json(self.account(), v, self.principal, self.version)
    }
}

/// Runs one operation and returns its serialized JSON body.
pub async fn dispatch(op: &str, call: Call<'_>) -> B2Result<Vec<u8>> {
    if super::calls::find_json(op).is_none() {
        return Err(B2Error::new(axum::http::StatusCode::NOT_FOUND, "not_found", format!("unknown operation {op}")));
    }
    if let Some(account) = call.params.str("accountId")?
        && account != call.account()
    {
        return Err(B2Error::new(axum::http::StatusCode::UNAUTHORIZED, "unauthorized", "accountId does not match the authorization token"));
    }
    let value = match op {
        "b2_list_file_names" => return list_files(call, false).await,
        "b2_list_file_versions" => return list_files(call, true).await,
        "b2_create_key" => create_key(call).await,
        "b2_list_keys" => list_keys(call).await,
        "b2_delete_key" => delete_key(call).await,
        "b2_create_bucket" => create_bucket(call).await,
        "b2_update_bucket" => update_bucket(call).await,
        "b2_delete_bucket" => delete_bucket(call).await,
        "b2_list_buckets" => list_buckets(call).await,
        "b2_get_upload_url" => get_upload_url(call).await,
        "b2_start_large_file" => start_large_file(call).await,
        "b2_get_upload_part_url" => get_upload_part_url(call).await,
        "b2_list_parts" => list_parts(call).await,
        "b2_finish_large_file" => finish_large_file(call).await,
        "b2_cancel_large_file" => cancel_large_file(call).await,
        "b2_list_unfinished_large_files" => list_unfinished(call).await,
        "b2_copy_file" => copy_file(call).await,
        "b2_copy_part" => copy_part(call).await,
        "b2_hide_file" => hide_file(call).await,
        "b2_delete_file_version" => delete_file_version(call).await,
        "b2_get_file_info" => get_file_info(call).await,
        "b2_update_file_retention" => update_file_retention(call).await,
        "b2_update_file_legal_hold" => update_file_legal_hold(call).await,
        "b2_get_download_authorization" => get_download_authorization(call).await,
        "b2_get_bucket_notification_rules" => get_notification_rules(call).await,
        "b2_set_bucket_notification_rules" => set_notification_rules(call).await,
        other => Err(stowage_core::Error::internal(format!("{other} is in the table of calls but has no handler")).into()),
    }?;
    to_body(&value)
}

fn to_body(value: &impl serde::Serialize) -> B2Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| B2Error::from(stowage_core::Error::internal(e)))
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ListJson<'a> {
    files: Vec<FileJson<'a>>,
    next_file_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_file_id: Option<Option<&'a str>>,
}

async fn create_key(c: Call<'_>) -> B2Result<Value> {
    let p = &c.params;
    let bucket_ids = match (p.typed::<Vec<String>>("bucketIds")?, p.str("bucketId")?) {
        (Some(ids), _) => Some(ids),
        (None, Some(id)) => Some(vec![id]),
        (None, None) => None,
    };
    let req = NewKey {
        name: p.req_str("keyName")?,
        capabilities: p.typed("capabilities")?.ok_or_else(|| B2Error::bad_request("required field capabilities is missing"))?,
        valid_duration_seconds: p.int("validDurationInSeconds")?,
        bucket_ids,
        name_prefix: p.str("namePrefix")?,
    };
    let key = c.state.core.create_key(c.principal, req).await?;
    Ok(key_json(c.account(), &key, true))
}

async fn list_keys(c: Call<'_>) -> B2Result<Value> {
    let start = c.params.str("startApplicationKeyId")?;
    let (keys, next) = c.state.core.list_keys(c.principal, start.as_deref(), c.params.int("maxKeyCount")?).await?;
    let keys: Vec<Value> = keys.iter().map(|k| key_json(c.account(), k, false)).collect();
    Ok(json!({"keys": keys, "nextApplicationKeyId": next}))
}

async fn delete_key(c: Call<'_>) -> B2Result<Value> {
    let key = c.state.core.delete_key(c.principal, &c.params.req_str("applicationKeyId")?).await?;
    Ok(key_json(c.account(), &key, false))
}

async fn create_bucket(c: Call<'_>) -> B2Result<Value> {
    let name = c.params.req_str("bucketName")?;
    let settings = convert::bucket_settings(&c.params, false)?;
    if settings.bucket_type.is_none() {
        return Err(B2Error::bad_request("required field bucketType is missing"));
    }
    let bucket = c.state.core.create_bucket(c.principal, &name, settings).await?;
    Ok(bucket_json(c.account(), &bucket, c.principal))
}

async fn update_bucket(c: Call<'_>) -> B2Result<Value> {
    let bucket_id = c.params.req_str("bucketId")?;
    let settings = convert::bucket_settings(&c.params, true)?;
    let bucket = c.state.core.update_bucket(c.principal, &bucket_id, settings, c.params.int("ifRevisionIs")?).await?;
    Ok(bucket_json(c.account(), &bucket, c.principal))
}

async fn delete_bucket(c: Call<'_>) -> B2Result<Value> {
    let bucket = c.state.core.delete_bucket(c.principal, &c.params.req_str("bucketId")?, PendingUploads::Refuse).await?;
    Ok(bucket_json(c.account(), &bucket, c.principal))
}

async fn list_buckets(c: Call<'_>) -> B2Result<Value> {
    let filter = BucketFilter {
        bucket_id: c.params.str("bucketId")?,
        bucket_name: c.params.str("bucketName")?,
        bucket_types: c.params.typed("bucketTypes")?,
    };
    let buckets = c.state.core.list_buckets(c.principal, &filter, c.version >= 2).await?;
    let buckets: Vec<Value> = buckets.iter().map(|b| bucket_json(c.account(), b, c.principal)).collect();
    Ok(json!({"buckets": buckets}))
}

async fn get_upload_url(c: Call<'_>) -> B2Result<Value> {
    let bucket_id = c.params.req_str("bucketId")?;
    let token = c.state.core.get_upload_url(c.principal, &bucket_id).await?;
    let url = format!("{}/b2api/v{}/b2_upload_file/{bucket_id}", c.state.core.config().public_url, c.version);
    Ok(json!({"bucketId": bucket_id, "uploadUrl": url, "authorizationToken": token}))
}

fn new_file(p: &Params, bucket_id: String, name: String) -> B2Result<NewFile> {
    let custom = match p.raw("customUploadTimestamp").or_else(|| p.raw("custom_upload_timestamp")) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => Some(s.parse().map_err(|_| B2Error::bad_request("custom upload timestamp must be an integer"))?),
        Some(_) => return Err(B2Error::bad_request("custom upload timestamp must be an integer")),
    };
    Ok(NewFile {
        bucket_id,
        name,
        content_type: p.str("contentType")?.unwrap_or_else(|| "b2/x-auto".into()),
        info: convert::file_info(p.raw("fileInfo"))?,
        encryption: p.raw("serverSideEncryption").filter(|v| !v.is_null()).map(convert::encryption_request).transpose()?,
        retention: p.raw("fileRetention").filter(|v| !v.is_null()).map(convert::file_retention).transpose()?.flatten(),
        legal_hold: p.str("legalHold")?.map(|s| convert::legal_hold(&s)).transpose()?,
        custom_timestamp: custom,
        expected_md5: None,
        // S3-only fields (tags, ACL grants, null versions) stay empty for B2 uploads.
        ..NewFile::default()
    })
}

async fn start_large_file(c: Call<'_>) -> B2Result<Value> {
    let req = new_file(&c.params, c.params.req_str("bucketId")?, c.params.req_str("fileName")?)?;
    let version = c.state.core.start_large_file(c.principal, req).await?;
    Ok(c.file(&version))
}

async fn get_upload_part_url(c: Call<'_>) -> B2Result<Value> {
    let file_id = c.params.req_str("fileId")?;
    let token = c.state.core.get_upload_part_url(c.principal, &file_id).await?;
    let url = format!("{}/b2api/v{}/b2_upload_part/{file_id}", c.state.core.config().public_url, c.version);
    Ok(json!({"fileId": file_id, "uploadUrl": url, "authorizationToken": token}))
}

async fn list_parts(c: Call<'_>) -> B2Result<Value> {
    let file_id = c.params.req_str("fileId")?;
    let (parts, next) =
        c.state.core.list_parts(c.principal, &file_id, c.params.int("startPartNumber")?, c.params.int("maxPartCount")?).await?;
    Ok(json!({"parts": parts.iter().map(part_json).collect::<Vec<_>>(), "nextPartNumber": next}))
}

async fn finish_large_file(c: Call<'_>) -> B2Result<Value> {
    let file_id = c.params.req_str("fileId")?;
    let sha1s: Vec<String> =
        c.params.typed("partSha1Array")?.ok_or_else(|| B2Error::bad_request("required field partSha1Array is missing"))?;
    let version = c.state.core.finish_large_file(c.principal, &file_id, &sha1s).await?;
    Ok(c.file(&version))
}

async fn cancel_large_file(c: Call<'_>) -> B2Result<Value> {
    let v = c.state.core.cancel_large_file(c.principal, &c.params.req_str("fileId")?).await?;
    Ok(json!({"fileId": v.file_id, "accountId": c.account(), "bucketId": v.bucket_id, "fileName": v.name}))
}

async fn list_unfinished(c: Call<'_>) -> B2Result<Value> {
    let bucket_id = c.params.req_str("bucketId")?;
    let prefix = c.params.str("namePrefix")?.unwrap_or_default();
    let start = c.params.str("startFileId")?;
    let (files, next) =
        c.state.core.list_unfinished_large_files(c.principal, &bucket_id, &prefix, start.as_deref(), c.params.int("maxFileCount")?).await?;
    Ok(json!({"files": files.iter().map(|f| c.file(f)).collect::<Vec<_>>(), "nextFileId": next}))
}

fn range_param(p: &Params) -> B2Result<Option<ByteRange>> {
    p.str("range")?.map(|r| ByteRange::parse(&r).ok_or_else(|| B2Error::bad_request(format!("Invalid range {r:?}")))).transpose()
}

async fn copy_file(c: Call<'_>) -> B2Result<Value> {
    let p = &c.params;
    let directive = match p.str("metadataDirective")?.as_deref().unwrap_or("COPY") {
        "COPY" => {
            if p.has("contentType") || p.has("fileInfo") {
                return Err(B2Error::bad_request("contentType and fileInfo may only be given with metadataDirective REPLACE"));
            }
            MetadataDirective::Copy
        }
        "REPLACE" => MetadataDirective::Replace {
            content_type: p.str("contentType")?.ok_or_else(|| B2Error::bad_request("metadataDirective REPLACE requires contentType"))?,
            info: convert::file_info(p.raw("fileInfo"))?,
        },
        other => return Err(B2Error::bad_request(format!("Invalid metadataDirective {other:?}"))),
    };
    let req = CopyRequest {
        source_file_id: p.req_str("sourceFileId")?,
        name: p.req_str("fileName")?,
        destination_bucket_id: p.str("destinationBucketId")?,
        range: range_param(p)?,
        directive,
        source_encryption: p.raw("sourceServerSideEncryption").filter(|v| !v.is_null()).map(convert::encryption_request).transpose()?,
        destination_encryption: p
            .raw("destinationServerSideEncryption")
            .filter(|v| !v.is_null())
            .map(convert::encryption_request)
            .transpose()?,
        retention: p.raw("fileRetention").filter(|v| !v.is_null()).map(convert::file_retention).transpose()?.flatten(),
        legal_hold: p.str("legalHold")?.map(|s| convert::legal_hold(&s)).transpose()?,
        // B2 copies keep B2's model: a new version, the source's S3 tags, no S3 ACL.
        null_version: false,
        grants: Vec::new(),
        tags: None,
    };
    let version = c.state.core.copy_file(c.principal, req).await?;
    let mut out = c.file(&version);
    out["action"] = json!("copy");
    Ok(out)
}

async fn copy_part(c: Call<'_>) -> B2Result<Value> {
    let p = &c.params;
    let part_number = p.int("partNumber")?.ok_or_else(|| B2Error::bad_request("required field partNumber is missing"))?;
    let part_number = u32::try_from(part_number).map_err(|_| B2Error::bad_request("Part number must be in range 1 - 10000"))?;
    let sse = |name: &str| p.raw(name).filter(|v| !v.is_null()).map(convert::encryption_request).transpose();
    let req = CopyPart {
        source_file_id: p.req_str("sourceFileId")?,
        large_file_id: p.req_str("largeFileId")?,
        part_number,
        range: range_param(p)?,
        source_sse: sse("sourceServerSideEncryption")?,
        destination_sse: sse("destinationServerSideEncryption")?,
    };
    let stored = c.state.core.copy_part(c.principal, req).await?;
    Ok(stored_part_json(&stored))
}

async fn list_files(c: Call<'_>, all_versions: bool) -> B2Result<Vec<u8>> {
    let p = &c.params;
    let req = ListRequest {
        bucket_id: p.req_str("bucketId")?,
        start_name: p.str("startFileName")?.filter(|s| !s.is_empty()),
        start_file_id: if all_versions { p.str("startFileId")? } else { None },
        max_count: p.int("maxFileCount")?,
        prefix: p.str("prefix")?.unwrap_or_default(),
        delimiter: p.str("delimiter")?.filter(|d| !d.is_empty()),
        all_versions,
        exclusive_start: false,
    };
    let page = c.state.core.list_files(c.principal, &req).await?;
    let files = page
        .entries
        .iter()
        .map(|e| match e {
            ListEntry::Version(v) => FileJson::version(c.account(), v, c.principal, c.version),
            ListEntry::Folder(name) => FileJson::folder(c.account(), &req.bucket_id, name, c.version),
        })
        .collect();
    let next_file_id = all_versions.then_some(page.next_file_id.as_deref());
    to_body(&ListJson { files, next_file_name: page.next_name.as_deref(), next_file_id })
}

async fn hide_file(c: Call<'_>) -> B2Result<Value> {
    let v = c.state.core.hide_file(c.principal, &c.params.req_str("bucketId")?, &c.params.req_str("fileName")?).await?;
    Ok(c.file(&v))
}

async fn delete_file_version(c: Call<'_>) -> B2Result<Value> {
    let p = &c.params;
    let v = c
        .state
        .core
        .delete_file_version(c.principal, &p.req_str("fileId")?, &p.req_str("fileName")?, p.bool("bypassGovernance")?.unwrap_or(false))
        .await?;
    Ok(json!({"fileId": v.file_id, "fileName": v.name}))
}

async fn get_file_info(c: Call<'_>) -> B2Result<Value> {
    let v = c.state.core.get_file_info(c.principal, &c.params.req_str("fileId")?).await?;
    Ok(c.file(&v))
}

async fn update_file_retention(c: Call<'_>) -> B2Result<Value> {
    let p = &c.params;
    let retention_value = p.raw("fileRetention").ok_or_else(|| B2Error::bad_request("required field fileRetention is missing"))?;
    let retention = convert::file_retention(retention_value)?;
    let v = c
        .state
        .core
        .update_file_retention(
            c.principal,
            &p.req_str("fileId")?,
            &p.req_str("fileName")?,
            retention,
            p.bool("bypassGovernance")?.unwrap_or(false),
        )
        .await?;
    let value = match v.retention {
        Some(r) => json!({"mode": r.mode.as_str(), "retainUntilTimestamp": r.retain_until}),
        None => json!({"mode": null, "retainUntilTimestamp": null}),
    };
    Ok(json!({"fileId": v.file_id, "fileName": v.name, "fileRetention": value}))
}

async fn update_file_legal_hold(c: Call<'_>) -> B2Result<Value> {
    let p = &c.params;
    let on = convert::legal_hold(&p.req_str("legalHold")?)?;
    let v = c.state.core.update_file_legal_hold(c.principal, &p.req_str("fileId")?, &p.req_str("fileName")?, on).await?;
    Ok(json!({"fileId": v.file_id, "fileName": v.name, "legalHold": if on { "on" } else { "off" }}))
}

async fn get_download_authorization(c: Call<'_>) -> B2Result<Value> {
    let p = &c.params;
    let bucket_id = p.req_str("bucketId")?;
    let prefix = p.str("fileNamePrefix")?.ok_or_else(|| B2Error::bad_request("required field fileNamePrefix is missing"))?;
    let seconds =
        p.int("validDurationInSeconds")?.ok_or_else(|| B2Error::bad_request("required field validDurationInSeconds is missing"))?;
    let token = c.state.core.get_download_authorization(c.principal, &bucket_id, &prefix, seconds).await?;
    Ok(json!({"bucketId": bucket_id, "fileNamePrefix": prefix, "authorizationToken": token}))
}

fn notification_rules_json(bucket_id: &str, rules: &[stowage_core::model::NotificationRule]) -> Value {
    let rules: Vec<Value> = rules.iter().map(|r| serde_json::to_value(r).unwrap_or(Value::Null)).collect();
    json!({"bucketId": bucket_id, "eventNotificationRules": rules})
}

async fn get_notification_rules(c: Call<'_>) -> B2Result<Value> {
    let bucket_id = c.params.req_str("bucketId")?;
    let rules = c.state.core.get_notification_rules(c.principal, &bucket_id).await?;
    Ok(notification_rules_json(&bucket_id, &rules))
}

async fn set_notification_rules(c: Call<'_>) -> B2Result<Value> {
    let bucket_id = c.params.req_str("bucketId")?;
    let rules = c
        .params
        .typed("eventNotificationRules")?
        .ok_or_else(|| B2Error::bad_request("required field eventNotificationRules is missing"))?;
    let rules = c.state.core.set_notification_rules(c.principal, &bucket_id, rules).await?;
    Ok(notification_rules_json(&bucket_id, &rules))
}

//! Per-object settings: tags, retention and legal hold.

use std::collections::BTreeMap;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use stowage_core::auth::{Capability, LockView};
use stowage_core::model::Retention;

use super::context::{OrS3, StowageS3};
use super::values::*;

pub async fn put_tagging(s3: &StowageS3, mut req: S3Request<PutObjectTaggingInput>) -> S3Result<S3Response<PutObjectTaggingOutput>> {
    let cx = s3.acting(&mut req)?;
    let input = req.input;
    let version = s3.core.addressed_version(&cx.bucket, &input.key, input.version_id.as_deref()).await.s3()?;
    let version = s3.core.set_object_tags(&cx.principal, version, tag_map(input.tagging.tag_set)?).await.s3()?;
    Ok(S3Response::new(PutObjectTaggingOutput { version_id: version_id_out(&version) }))
}

pub async fn get_tagging(s3: &StowageS3, mut req: S3Request<GetObjectTaggingInput>) -> S3Result<S3Response<GetObjectTaggingOutput>> {
    let cx = s3.acting(&mut req)?;
    let input = req.input;
    let version = s3.core.addressed_version(&cx.bucket, &input.key, input.version_id.as_deref()).await.s3()?;
    let tags = s3.core.object_tags(&cx.principal, &version).s3()?;
    Ok(S3Response::new(GetObjectTaggingOutput { tag_set: tag_set(&tags), version_id: version_id_out(&version) }))
}

pub async fn delete_tagging(
    s3: &StowageS3,
    mut req: S3Request<DeleteObjectTaggingInput>,
) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
    let cx = s3.acting(&mut req)?;
    let input = req.input;
    let version = s3.core.addressed_version(&cx.bucket, &input.key, input.version_id.as_deref()).await.s3()?;
    let version = s3.core.set_object_tags(&cx.principal, version, BTreeMap::new()).await.s3()?;
    Ok(S3Response::new(DeleteObjectTaggingOutput { version_id: version_id_out(&version) }))
}

pub async fn get_retention(s3: &StowageS3, mut req: S3Request<GetObjectRetentionInput>) -> S3Result<S3Response<GetObjectRetentionOutput>> {
    let cx = s3.acting(&mut req)?;
    require_object_lock(&cx.bucket)?;
    let input = req.input;
    let version = s3.core.object_version(Some(&cx.principal), &cx.bucket, &input.key, input.version_id.as_deref()).await.s3()?;
    let retention = LockView::of(Some(&cx.principal), &version).retention.required(Capability::ReadFileRetentions).s3()?;
    let retention = retention
        .ok_or_else(|| s3_error!(NoSuchObjectLockConfiguration, "The specified object does not have a retention configuration"))?;
    Ok(S3Response::new(GetObjectRetentionOutput {
        retention: Some(ObjectLockRetention {
            mode: Some(ObjectLockRetentionMode::from(lock_mode_name(retention.mode))),
            retain_until_date: Some(timestamp(retention.retain_until)),
        }),
    }))
}

pub async fn put_retention(s3: &StowageS3, mut req: S3Request<PutObjectRetentionInput>) -> S3Result<S3Response<PutObjectRetentionOutput>> {
    let cx = s3.acting(&mut req)?;
    require_object_lock(&cx.bucket)?;
    let input = req.input;
    let version = s3.core.addressed_version(&cx.bucket, &input.key, input.version_id.as_deref()).await.s3()?;
    let retention = match input.retention {
        Some(ObjectLockRetention { mode: Some(mode), retain_until_date: Some(until) }) => {
            let mode = s3_lock_mode(mode.as_str()).ok_or_else(|| s3_error!(MalformedXML, "unknown retention mode"))?;
            Some(Retention { mode, retain_until: millis(&until) })
        }
        _ => None,
    };
    let bypass = input.bypass_governance_retention.unwrap_or(false);
    s3.core.update_file_retention(&cx.principal, &version.file_id, &version.name, retention, bypass).await.s3()?;
    Ok(S3Response::new(PutObjectRetentionOutput::default()))
}

pub async fn get_legal_hold(s3: &StowageS3, mut req: S3Request<GetObjectLegalHoldInput>) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
    let cx = s3.acting(&mut req)?;
    require_object_lock(&cx.bucket)?;
    let input = req.input;
    let version = s3.core.object_version(Some(&cx.principal), &cx.bucket, &input.key, input.version_id.as_deref()).await.s3()?;
    let hold = LockView::of(Some(&cx.principal), &version).legal_hold.required(Capability::ReadFileLegalHolds).s3()?;
    let on = hold.ok_or_else(|| s3_error!(NoSuchObjectLockConfiguration, "The specified object does not have a legal hold"))?;
    Ok(S3Response::new(GetObjectLegalHoldOutput { legal_hold: Some(ObjectLockLegalHold { status: Some(legal_hold_status(on)) }) }))
}

pub async fn put_legal_hold(s3: &StowageS3, mut req: S3Request<PutObjectLegalHoldInput>) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
    let cx = s3.acting(&mut req)?;
    require_object_lock(&cx.bucket)?;
    let input = req.input;
    let version = s3.core.addressed_version(&cx.bucket, &input.key, input.version_id.as_deref()).await.s3()?;
    let on = match input.legal_hold.and_then(|h| h.status).as_ref().map(ObjectLockLegalHoldStatus::as_str) {
        Some(ObjectLockLegalHoldStatus::ON) => true,
        Some(ObjectLockLegalHoldStatus::OFF) => false,
        _ => return Err(s3_error!(MalformedXML, "the legal hold status must be ON or OFF")),
    };
    s3.core.update_file_legal_hold(&cx.principal, &version.file_id, &version.name, on).await.s3()?;
    Ok(S3Response::new(PutObjectLegalHoldOutput::default()))
}

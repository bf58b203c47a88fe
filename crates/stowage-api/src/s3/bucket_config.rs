//! Bucket configuration: CORS, tagging, encryption and object lock, each stored as the B2 API stores it
//! so both APIs read the same rules.

use std::collections::BTreeMap;
use stowage_core::cors::CorsOperation;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use stowage_core::auth::{BucketView, Capability};
use stowage_core::model::Encryption;
use stowage_core::model::{CorsRule, DefaultRetention as StoredDefaultRetention, PeriodUnit, RetentionPeriod};
use stowage_core::service::{BucketSettings, DEFAULT_KMS_KEY, kms_key_id};

use super::context::{BucketRequest, OrS3, StowageS3};
use super::error::custom_error;
use super::values::*;

pub(super) async fn update(s3: &StowageS3, cx: &BucketRequest, settings: BucketSettings) -> S3Result<()> {
    s3.core.update_bucket(&cx.principal, &cx.bucket.id, settings, None).await.s3().map(|_| ())
}

pub async fn put_cors(s3: &StowageS3, mut req: S3Request<PutBucketCorsInput>) -> S3Result<S3Response<PutBucketCorsOutput>> {
    let cx = s3.acting(&mut req)?;
    let mut rules = Vec::new();
    for (i, rule) in req.input.cors_configuration.cors_rules.into_iter().enumerate() {
        let mut operations = Vec::new();
        for method in &rule.allowed_methods {
            let op = CorsOperation::of_s3_method(method)
                .ok_or_else(|| s3_error!(InvalidRequest, "Found unsupported HTTP method in CORS config: {method}"))?;
            operations.push(op.as_str().to_string());
        }
        // B2 rule names are 6-50 letters, digits and '-'; S3 ids are free-form.
        let name = rule
            .id
            .filter(|id| {
                (6..=50).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !id.starts_with("b2-")
            })
            .unwrap_or_else(|| format!("s3-cors-rule-{}", i + 1));
        rules.push(CorsRule {
            cors_rule_name: name,
            allowed_origins: rule.allowed_origins,
            allowed_operations: operations,
            allowed_headers: rule.allowed_headers,
            expose_headers: rule.expose_headers,
            max_age_seconds: i64::from(rule.max_age_seconds.unwrap_or(0)),
        });
    }
    update(s3, &cx, BucketSettings { cors_rules: Some(rules), s3_cors: true, ..BucketSettings::default() }).await?;
    Ok(S3Response::new(PutBucketCorsOutput::default()))
}

pub async fn get_cors(s3: &StowageS3, mut req: S3Request<GetBucketCorsInput>) -> S3Result<S3Response<GetBucketCorsOutput>> {
    let cx = s3.acting(&mut req)?;
    let rules: Vec<CORSRule> = cx
        .bucket
        .cors_rules
        .iter()
        .filter_map(|rule| {
            let methods: Vec<String> =
                rule.allowed_operations.iter().filter_map(|op| CorsOperation::parse(op)?.s3_method()).map(str::to_string).collect();
            (!methods.is_empty()).then(|| CORSRule {
                id: Some(rule.cors_rule_name.clone()),
                allowed_methods: methods,
                allowed_origins: rule.allowed_origins.clone(),
                allowed_headers: rule.allowed_headers.clone(),
                expose_headers: rule.expose_headers.clone(),
                max_age_seconds: i32::try_from(rule.max_age_seconds).ok(),
            })
        })
        .collect();
    if rules.is_empty() {
        return Err(s3_error!(NoSuchCORSConfiguration, "The CORS configuration does not exist"));
    }
    Ok(S3Response::new(GetBucketCorsOutput { cors_rules: Some(rules) }))
}

pub async fn delete_cors(s3: &StowageS3, mut req: S3Request<DeleteBucketCorsInput>) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
    let cx = s3.acting(&mut req)?;
    update(s3, &cx, BucketSettings { cors_rules: Some(Vec::new()), ..BucketSettings::default() }).await?;
    Ok(S3Response::new(DeleteBucketCorsOutput::default()))
}

pub async fn put_tagging(s3: &StowageS3, mut req: S3Request<PutBucketTaggingInput>) -> S3Result<S3Response<PutBucketTaggingOutput>> {
    let cx = s3.acting(&mut req)?;
    s3.core.set_bucket_tags(&cx.principal, &cx.bucket.id, tag_map(req.input.tagging.tag_set)?).await.s3()?;
    Ok(S3Response::new(PutBucketTaggingOutput::default()))
}

pub async fn get_tagging(s3: &StowageS3, mut req: S3Request<GetBucketTaggingInput>) -> S3Result<S3Response<GetBucketTaggingOutput>> {
    let cx = s3.acting(&mut req)?;
    if cx.bucket.tags.is_empty() {
        return Err(s3_error!(NoSuchTagSet, "The TagSet does not exist"));
    }
    Ok(S3Response::new(GetBucketTaggingOutput { tag_set: tag_set(&cx.bucket.tags) }))
}

pub async fn delete_tagging(
    s3: &StowageS3,
    mut req: S3Request<DeleteBucketTaggingInput>,
) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
    let cx = s3.acting(&mut req)?;
    s3.core.set_bucket_tags(&cx.principal, &cx.bucket.id, BTreeMap::new()).await.s3()?;
    Ok(S3Response::new(DeleteBucketTaggingOutput::default()))
}

pub async fn get_object_lock(
    s3: &StowageS3,
    mut req: S3Request<GetObjectLockConfigurationInput>,
) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
    let cx = s3.acting(&mut req)?;
    let lock = BucketView::of(&cx.principal, &cx.bucket).lock.required(Capability::ReadBucketRetentions).s3()?;
    if !lock.enabled {
        return Err(s3_error!(ObjectLockConfigurationNotFoundError, "Object Lock configuration does not exist for this bucket"));
    }
    let rule = lock.default_retention.map(|d| {
        let (days, years) = match d.period.unit {
            PeriodUnit::Days => (i32::try_from(d.period.duration).ok(), None),
            PeriodUnit::Years => (None, i32::try_from(d.period.duration).ok()),
        };
        ObjectLockRule {
            default_retention: Some(DefaultRetention { mode: Some(ObjectLockRetentionMode::from(lock_mode_name(d.mode))), days, years }),
        }
    });
    let config = ObjectLockConfiguration { object_lock_enabled: Some(ObjectLockEnabled::from_static(ObjectLockEnabled::ENABLED)), rule };
    Ok(S3Response::new(GetObjectLockConfigurationOutput { object_lock_configuration: Some(config) }))
}

pub async fn put_object_lock(
    s3: &StowageS3,
    mut req: S3Request<PutObjectLockConfigurationInput>,
) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
    let cx = s3.acting(&mut req)?;
    let config = req.input.object_lock_configuration.ok_or_else(|| s3_error!(MalformedXML, "ObjectLockConfiguration is required"))?;
    if config.object_lock_enabled.as_ref().map(ObjectLockEnabled::as_str) != Some(ObjectLockEnabled::ENABLED) {
        return Err(s3_error!(MalformedXML, "ObjectLockEnabled must be Enabled"));
    }
    let retention = match config.rule.and_then(|r| r.default_retention) {
        None => None,
        Some(d) => {
            let mode = d
                .mode
                .as_ref()
                .and_then(|m| s3_lock_mode(m.as_str()))
                .ok_or_else(|| s3_error!(MalformedXML, "DefaultRetention needs a Mode, GOVERNANCE or COMPLIANCE"))?;
            let (duration, unit) = match (d.days, d.years) {
                (Some(days), None) => (days, PeriodUnit::Days),
                (None, Some(years)) => (years, PeriodUnit::Years),
                _ => return Err(s3_error!(MalformedXML, "DefaultRetention needs exactly one of Days or Years")),
            };
            if duration <= 0 {
                return Err(custom_error(
                    "InvalidRetentionPeriod",
                    axum::http::StatusCode::BAD_REQUEST,
                    "the default retention period must be a positive whole number",
                ));
            }
            Some(StoredDefaultRetention { mode, period: RetentionPeriod { duration: i64::from(duration), unit } })
        }
    };
    update(s3, &cx, BucketSettings { file_lock_enabled: Some(true), default_retention: Some(retention), ..BucketSettings::default() })
        .await?;
    Ok(S3Response::new(PutObjectLockConfigurationOutput::default()))
}

pub async fn put_encryption(
    s3: &StowageS3,
    mut req: S3Request<PutBucketEncryptionInput>,
) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
    let cx = s3.acting(&mut req)?;
    let [rule] = req.input.server_side_encryption_configuration.rules.as_slice() else {
        return Err(s3_error!(MalformedXML, "the encryption configuration has exactly one rule"));
    };
    let default = rule
        .apply_server_side_encryption_by_default
        .as_ref()
        .ok_or_else(|| s3_error!(MalformedXML, "the rule needs ApplyServerSideEncryptionByDefault"))?;
    let encryption = match default.sse_algorithm.as_str() {
        ServerSideEncryption::AES256 if default.kms_master_key_id.is_none() => Encryption::SseB2,
        ServerSideEncryption::AWS_KMS => {
            Encryption::SseKms { key_id: default.kms_master_key_id.as_deref().map_or(DEFAULT_KMS_KEY, kms_key_id).to_string() }
        }
        other => return Err(s3_error!(InvalidArgument, "unsupported default encryption {other}: use AES256 or aws:kms")),
    };
    update(s3, &cx, BucketSettings { default_encryption: Some(encryption), ..BucketSettings::default() }).await?;
    Ok(S3Response::new(PutBucketEncryptionOutput::default()))
}

pub async fn get_encryption(
    s3: &StowageS3,
    mut req: S3Request<GetBucketEncryptionInput>,
) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
    let cx = s3.acting(&mut req)?;
    let default = match BucketView::of(&cx.principal, &cx.bucket).default_encryption.required(Capability::ReadBucketEncryption).s3()? {
        Encryption::SseB2 => ServerSideEncryptionByDefault {
            sse_algorithm: ServerSideEncryption::from_static(ServerSideEncryption::AES256),
            kms_master_key_id: None,
        },
        Encryption::SseKms { key_id } => ServerSideEncryptionByDefault {
            sse_algorithm: ServerSideEncryption::from_static(ServerSideEncryption::AWS_KMS),
            kms_master_key_id: Some(key_id.clone()),
        },
        Encryption::None | Encryption::SseC { .. } => {
            return Err(s3_error!(
                ServerSideEncryptionConfigurationNotFoundError,
                "The server side encryption configuration was not found"
            ));
        }
    };
    let rule = ServerSideEncryptionRule { apply_server_side_encryption_by_default: Some(default), bucket_key_enabled: None };
    Ok(S3Response::new(GetBucketEncryptionOutput {
        server_side_encryption_configuration: Some(ServerSideEncryptionConfiguration { rules: vec![rule] }),
    }))
}

pub async fn delete_encryption(
    s3: &StowageS3,
    mut req: S3Request<DeleteBucketEncryptionInput>,
) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
    let cx = s3.acting(&mut req)?;
    update(s3, &cx, BucketSettings { default_encryption: Some(Encryption::None), ..BucketSettings::default() }).await?;
    Ok(S3Response::new(DeleteBucketEncryptionOutput::default()))
}

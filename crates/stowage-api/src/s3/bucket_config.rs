//! Bucket configuration: CORS, lifecycle, tagging and object lock, each stored as the B2 API stores it
//! so both APIs read the same rules.

use std::collections::BTreeMap;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use stowage_core::model::Encryption;
use stowage_core::model::{
    CorsRule, DefaultRetention as StoredDefaultRetention, LifecycleRule as StoredLifecycleRule, PeriodUnit, RetentionPeriod,
};
use stowage_core::service::{BucketSettings, DEFAULT_KMS_KEY, kms_key_id};

use super::context::{Act, BucketRequest, OrS3, StowageS3};
use super::error::custom_error;
use super::values::*;

async fn update(s3: &StowageS3, cx: &BucketRequest, settings: BucketSettings) -> S3Result<()> {
    s3.core.update_bucket(&cx.principal, &cx.bucket.id, settings, None).await.s3().map(|_| ())
}

pub async fn put_cors(s3: &StowageS3, req: S3Request<PutBucketCorsInput>) -> S3Result<S3Response<PutBucketCorsOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:PutBucketCORS")).await?;
    let mut rules = Vec::new();
    for (i, rule) in req.input.cors_configuration.cors_rules.into_iter().enumerate() {
        let mut operations = Vec::new();
        for method in &rule.allowed_methods {
            let op = stowage_core::cors::s3_operation(method)
                .ok_or_else(|| s3_error!(InvalidRequest, "Found unsupported HTTP method in CORS config: {method}"))?;
            operations.push(op.to_string());
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

pub async fn get_cors(s3: &StowageS3, req: S3Request<GetBucketCorsInput>) -> S3Result<S3Response<GetBucketCorsOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:GetBucketCORS")).await?;
    let rules: Vec<CORSRule> = cx
        .bucket
        .cors_rules
        .iter()
        .filter_map(|rule| {
            let methods: Vec<String> =
                rule.allowed_operations.iter().filter_map(|op| op.strip_prefix("s3_")).map(|m| m.to_ascii_uppercase()).collect();
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

pub async fn delete_cors(s3: &StowageS3, req: S3Request<DeleteBucketCorsInput>) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:PutBucketCORS")).await?;
    update(s3, &cx, BucketSettings { cors_rules: Some(Vec::new()), ..BucketSettings::default() }).await?;
    Ok(S3Response::new(DeleteBucketCorsOutput::default()))
}

pub async fn put_lifecycle(
    s3: &StowageS3,
    req: S3Request<PutBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:PutLifecycleConfiguration")).await?;
    let mut rules = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for rule in req.input.lifecycle_configuration.map(|c| c.rules).unwrap_or_default() {
        if let Some(id) = rule.id.as_deref() {
            if id.chars().count() > 255 {
                return Err(s3_error!(InvalidArgument, "a lifecycle rule ID is at most 255 characters"));
            }
            if !ids.insert(id.to_string()) {
                return Err(s3_error!(InvalidArgument, "lifecycle rule IDs must be unique: {id}"));
            }
        }
        match rule.status.as_str() {
            ExpirationStatus::ENABLED => {}
            ExpirationStatus::DISABLED => continue,
            _ => return Err(s3_error!(MalformedXML, "a lifecycle rule's Status is Enabled or Disabled")),
        }
        if rule.transitions.as_ref().is_some_and(|t| !t.is_empty()) || rule.expiration.as_ref().is_some_and(|e| e.date.is_some()) {
            return Err(s3_error!(NotImplemented, "lifecycle transitions and expiration dates are not supported; use days"));
        }
        let filter = rule.filter.as_ref();
        if filter.is_some_and(|f| {
            f.tag.is_some() || f.and.is_some() || f.object_size_greater_than.is_some() || f.object_size_less_than.is_some()
        }) {
            return Err(s3_error!(NotImplemented, "lifecycle filters other than a prefix are not supported"));
        }
        let prefix = filter.and_then(|f| f.prefix.clone()).or(rule.prefix).unwrap_or_default();
        rules.push(StoredLifecycleRule {
            file_name_prefix: prefix,
            days_from_uploading_to_hiding: rule.expiration.and_then(|e| e.days).map(i64::from),
            days_from_hiding_to_deleting: rule.noncurrent_version_expiration.and_then(|e| e.noncurrent_days).map(i64::from),
            days_from_starting_to_canceling_unfinished_large_files: rule
                .abort_incomplete_multipart_upload
                .and_then(|a| a.days_after_initiation)
                .map(i64::from),
        });
    }
    update(s3, &cx, BucketSettings { lifecycle_rules: Some(rules), ..BucketSettings::default() }).await?;
    Ok(S3Response::new(PutBucketLifecycleConfigurationOutput::default()))
}

pub async fn get_lifecycle(
    s3: &StowageS3,
    req: S3Request<GetBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:GetLifecycleConfiguration")).await?;
    if cx.bucket.lifecycle_rules.is_empty() {
        return Err(s3_error!(NoSuchLifecycleConfiguration, "The lifecycle configuration does not exist"));
    }
    let days = |d: Option<i64>| d.and_then(|d| i32::try_from(d).ok());
    let rules = cx
        .bucket
        .lifecycle_rules
        .iter()
        .enumerate()
        .map(|(i, r)| LifecycleRule {
            id: Some(format!("b2-lifecycle-rule-{}", i + 1)),
            filter: Some(LifecycleRuleFilter { prefix: Some(r.file_name_prefix.clone()), ..LifecycleRuleFilter::default() }),
            status: ExpirationStatus::from_static(ExpirationStatus::ENABLED),
            expiration: days(r.days_from_uploading_to_hiding)
                .map(|d| LifecycleExpiration { days: Some(d), ..LifecycleExpiration::default() }),
            noncurrent_version_expiration: days(r.days_from_hiding_to_deleting)
                .map(|d| NoncurrentVersionExpiration { noncurrent_days: Some(d), ..NoncurrentVersionExpiration::default() }),
            abort_incomplete_multipart_upload: days(r.days_from_starting_to_canceling_unfinished_large_files)
                .map(|d| AbortIncompleteMultipartUpload { days_after_initiation: Some(d) }),
            noncurrent_version_transitions: None,
            prefix: None,
            transitions: None,
        })
        .collect();
    Ok(S3Response::new(GetBucketLifecycleConfigurationOutput { rules: Some(rules), ..GetBucketLifecycleConfigurationOutput::default() }))
}

pub async fn delete_lifecycle(
    s3: &StowageS3,
    req: S3Request<DeleteBucketLifecycleInput>,
) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:PutLifecycleConfiguration")).await?;
    update(s3, &cx, BucketSettings { lifecycle_rules: Some(Vec::new()), ..BucketSettings::default() }).await?;
    Ok(S3Response::new(DeleteBucketLifecycleOutput::default()))
}

pub async fn put_tagging(s3: &StowageS3, req: S3Request<PutBucketTaggingInput>) -> S3Result<S3Response<PutBucketTaggingOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:PutBucketTagging")).await?;
    s3.core.set_bucket_tags(&cx.principal, &cx.bucket.id, tag_map(req.input.tagging.tag_set)?).await.s3()?;
    Ok(S3Response::new(PutBucketTaggingOutput::default()))
}

pub async fn get_tagging(s3: &StowageS3, req: S3Request<GetBucketTaggingInput>) -> S3Result<S3Response<GetBucketTaggingOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:GetBucketTagging")).await?;
    if cx.bucket.tags.is_empty() {
        return Err(s3_error!(NoSuchTagSet, "The TagSet does not exist"));
    }
    Ok(S3Response::new(GetBucketTaggingOutput { tag_set: tag_set(&cx.bucket.tags) }))
}

pub async fn delete_tagging(s3: &StowageS3, req: S3Request<DeleteBucketTaggingInput>) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:PutBucketTagging")).await?;
    s3.core.set_bucket_tags(&cx.principal, &cx.bucket.id, BTreeMap::new()).await.s3()?;
    Ok(S3Response::new(DeleteBucketTaggingOutput::default()))
}

pub async fn get_object_lock(
    s3: &StowageS3,
    req: S3Request<GetObjectLockConfigurationInput>,
) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:GetBucketObjectLockConfiguration")).await?;
    if !cx.bucket.file_lock_enabled {
        return Err(s3_error!(ObjectLockConfigurationNotFoundError, "Object Lock configuration does not exist for this bucket"));
    }
    let rule = cx.bucket.default_retention.map(|d| {
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
    req: S3Request<PutObjectLockConfigurationInput>,
) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:PutBucketObjectLockConfiguration")).await?;
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

pub async fn put_encryption(s3: &StowageS3, req: S3Request<PutBucketEncryptionInput>) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:PutEncryptionConfiguration")).await?;
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

pub async fn get_encryption(s3: &StowageS3, req: S3Request<GetBucketEncryptionInput>) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:GetEncryptionConfiguration")).await?;
    let default = match &cx.bucket.default_encryption {
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
    req: S3Request<DeleteBucketEncryptionInput>,
) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
    let cx = s3.bucket_request(&req, &req.input.bucket, Act::bucket("s3:PutEncryptionConfiguration")).await?;
    update(s3, &cx, BucketSettings { default_encryption: Some(Encryption::None), ..BucketSettings::default() }).await?;
    Ok(S3Response::new(DeleteBucketEncryptionOutput::default()))
}

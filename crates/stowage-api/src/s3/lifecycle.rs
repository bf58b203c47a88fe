//! Bucket lifecycle configuration: S3's rules kept as written (`stowage_core::lifecycle`), B2's rules shown
//! in S3's form when no S3 configuration was put.

use std::collections::BTreeMap;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use stowage_core::lifecycle::{Filter, FilterShape, Rule};
use stowage_core::service::BucketSettings;

use super::bucket_config::update;
use super::context::StowageS3;
use super::values::{millis, timestamp};

pub async fn put_lifecycle(
    s3: &StowageS3,
    mut req: S3Request<PutBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
    let cx = s3.acting(&mut req)?;
    let config = req.input.lifecycle_configuration.ok_or_else(|| s3_error!(MalformedXML, "a lifecycle configuration is required"))?;
    let rules = config.rules.into_iter().map(parse_rule).collect::<S3Result<Vec<_>>>()?;
    update(s3, &cx, BucketSettings { s3_lifecycle: Some(rules), ..BucketSettings::default() }).await?;
    Ok(S3Response::new(PutBucketLifecycleConfigurationOutput::default()))
}

pub async fn get_lifecycle(
    s3: &StowageS3,
    mut req: S3Request<GetBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
    let cx = s3.acting(&mut req)?;
    let rules = cx.bucket.lifecycle();
    if rules.is_empty() {
        return Err(s3_error!(NoSuchLifecycleConfiguration, "The lifecycle configuration does not exist"));
    }
    let rules = rules.into_iter().map(render_rule).collect();
    Ok(S3Response::new(GetBucketLifecycleConfigurationOutput { rules: Some(rules), ..GetBucketLifecycleConfigurationOutput::default() }))
}

pub async fn delete_lifecycle(
    s3: &StowageS3,
    mut req: S3Request<DeleteBucketLifecycleInput>,
) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
    let cx = s3.acting(&mut req)?;
    update(s3, &cx, BucketSettings { lifecycle_rules: Some(Vec::new()), ..BucketSettings::default() }).await?;
    Ok(S3Response::new(DeleteBucketLifecycleOutput::default()))
}

fn parse_rule(rule: LifecycleRule) -> S3Result<Rule> {
    let enabled = match rule.status.as_str() {
        ExpirationStatus::ENABLED => true,
        ExpirationStatus::DISABLED => false,
        _ => return Err(s3_error!(MalformedXML, "a lifecycle rule's Status is Enabled or Disabled")),
    };
    // Checked before refusing transitions, so a malformed date is the error AWS gives.
    let transition_dates = rule.transitions.iter().flatten().filter_map(|t| t.date.as_ref());
    if transition_dates.map(millis).any(|ms| ms.rem_euclid(stowage_core::lifecycle::DAY) != 0) {
        return Err(s3_error!(InvalidArgument, "a lifecycle transition date must be at midnight UTC"));
    }
    if rule.transitions.as_ref().is_some_and(|t| !t.is_empty())
        || rule.noncurrent_version_transitions.as_ref().is_some_and(|t| !t.is_empty())
    {
        return Err(s3_error!(NotImplemented, "lifecycle transitions are not supported: Stowage keeps one storage class"));
    }
    let filter = match (rule.prefix, rule.filter) {
        (Some(_), Some(_)) => return Err(s3_error!(MalformedXML, "a lifecycle rule has a Prefix or a Filter, not both")),
        (Some(prefix), None) => Filter { prefix, shape: FilterShape::RulePrefix, ..Filter::default() },
        (None, filter) => parse_filter(filter.unwrap_or_default())?,
    };
    let mut parsed = Rule {
        // AWS names a rule put without an ID.
        id: rule.id.filter(|id| !id.is_empty()).unwrap_or_else(|| format!("{:016x}", rand::random::<u64>())),
        enabled,
        filter,
        ..Rule::default()
    };
    if let Some(expiration) = rule.expiration {
        let given = [expiration.days.is_some(), expiration.date.is_some(), expiration.expired_object_delete_marker.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(s3_error!(MalformedXML, "an Expiration has one of Days, Date and ExpiredObjectDeleteMarker"));
        }
        parsed.expiration_days = expiration.days.map(i64::from);
        parsed.expiration_date = expiration.date.as_ref().map(millis);
        parsed.expired_object_delete_marker = expiration.expired_object_delete_marker.unwrap_or(false);
    }
    if let Some(noncurrent) = rule.noncurrent_version_expiration {
        parsed.noncurrent_days = Some(i64::from(
            noncurrent.noncurrent_days.ok_or_else(|| s3_error!(MalformedXML, "NoncurrentVersionExpiration needs NoncurrentDays"))?,
        ));
        parsed.newer_noncurrent_versions = noncurrent.newer_noncurrent_versions.map(i64::from);
    }
    if let Some(abort) = rule.abort_incomplete_multipart_upload {
        parsed.abort_incomplete_days = Some(i64::from(
            abort
                .days_after_initiation
                .ok_or_else(|| s3_error!(MalformedXML, "AbortIncompleteMultipartUpload needs DaysAfterInitiation"))?,
        ));
    }
    Ok(parsed)
}

fn parse_filter(filter: LifecycleRuleFilter) -> S3Result<Filter> {
    let conditions =
        [filter.prefix.is_some(), filter.tag.is_some(), filter.object_size_greater_than.is_some(), filter.object_size_less_than.is_some()];
    let single = conditions.iter().filter(|c| **c).count();
    match filter.and {
        Some(_) if single > 0 => Err(s3_error!(MalformedXML, "a lifecycle Filter with And has nothing beside it")),
        Some(and) => Ok(Filter {
            prefix: and.prefix.unwrap_or_default(),
            tags: parse_tags(and.tags.unwrap_or_default())?,
            size_greater_than: and.object_size_greater_than,
            size_less_than: and.object_size_less_than,
            shape: FilterShape::And,
        }),
        None if single > 1 => Err(s3_error!(MalformedXML, "a lifecycle Filter holds one condition; use And for more")),
        None => Ok(Filter {
            prefix: filter.prefix.unwrap_or_default(),
            tags: parse_tags(filter.tag.into_iter().collect())?,
            size_greater_than: filter.object_size_greater_than,
            size_less_than: filter.object_size_less_than,
            shape: FilterShape::Single,
        }),
    }
}

fn parse_tags(tags: Vec<Tag>) -> S3Result<BTreeMap<String, String>> {
    let mut parsed = BTreeMap::new();
    for tag in tags {
        let (Some(key), Some(value)) = (tag.key, tag.value) else {
            return Err(s3_error!(MalformedXML, "a lifecycle filter tag has a Key and a Value"));
        };
        if parsed.insert(key, value).is_some() {
            return Err(s3_error!(InvalidArgument, "a lifecycle filter names each tag key once"));
        }
    }
    Ok(parsed)
}

fn render_rule(rule: Rule) -> LifecycleRule {
    let tag_list = |tags: BTreeMap<String, String>| -> Vec<Tag> {
        tags.into_iter().map(|(key, value)| Tag { key: Some(key), value: Some(value) }).collect()
    };
    let f = rule.filter;
    let (prefix, filter) = match f.shape {
        FilterShape::RulePrefix => (Some(f.prefix), None),
        FilterShape::And => {
            let and = LifecycleRuleAndOperator {
                prefix: (!f.prefix.is_empty()).then_some(f.prefix),
                tags: (!f.tags.is_empty()).then(|| tag_list(f.tags)),
                object_size_greater_than: f.size_greater_than,
                object_size_less_than: f.size_less_than,
            };
            (None, Some(LifecycleRuleFilter { and: Some(and), ..LifecycleRuleFilter::default() }))
        }
        FilterShape::Single => {
            let single = LifecycleRuleFilter {
                tag: tag_list(f.tags).into_iter().next(),
                object_size_greater_than: f.size_greater_than,
                object_size_less_than: f.size_less_than,
                ..LifecycleRuleFilter::default()
            };
            let nothing_else = single.tag.is_none() && single.object_size_greater_than.is_none() && single.object_size_less_than.is_none();
            (None, Some(LifecycleRuleFilter { prefix: nothing_else.then_some(f.prefix), ..single }))
        }
    };
    let expiration = if rule.expiration_days.is_some() || rule.expiration_date.is_some() {
        Some(LifecycleExpiration {
            days: rule.expiration_days.and_then(|d| i32::try_from(d).ok()),
            date: rule.expiration_date.map(timestamp),
            ..LifecycleExpiration::default()
        })
    } else {
        rule.expired_object_delete_marker
            .then(|| LifecycleExpiration { expired_object_delete_marker: Some(true), ..LifecycleExpiration::default() })
    };
    let days = |d: Option<i64>| d.and_then(|d| i32::try_from(d).ok());
    LifecycleRule {
        id: Some(rule.id),
        status: ExpirationStatus::from_static(if rule.enabled { ExpirationStatus::ENABLED } else { ExpirationStatus::DISABLED }),
        prefix,
        filter,
        expiration,
        noncurrent_version_expiration: rule.noncurrent_days.map(|d| NoncurrentVersionExpiration {
            noncurrent_days: days(Some(d)),
            newer_noncurrent_versions: days(rule.newer_noncurrent_versions),
        }),
        abort_incomplete_multipart_upload: days(rule.abort_incomplete_days)
            .map(|d| AbortIncompleteMultipartUpload { days_after_initiation: Some(d) }),
        noncurrent_version_transitions: None,
        transitions: None,
    }
}

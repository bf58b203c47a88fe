use super::large::still_unfinished;
use super::{Stowage, random_hex};
use crate::auth::{Capability, NameScope, Principal, TokenScope};
use crate::error::{Error, Result};
use crate::model::{
    Bucket, BucketAccess, BucketType, CorsRule, DailyUsage, DefaultRetention, Encryption, LifecycleRule, NotificationRule, Versioning,
};
use crate::names::{check_bucket_name, check_s3_bucket_name};

/// What deleting a bucket does with its unfinished large files (multipart uploads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingUploads {
    /// They keep the bucket from being deleted (B2).
    Refuse,
    /// They are cancelled with it (S3).
    Abort,
}

/// Settings a create or update may carry; `None` leaves a setting as it is (or at its default on create).
#[derive(Debug, Clone, Default)]
pub struct BucketSettings {
    pub bucket_type: Option<BucketType>,
    pub info: Option<serde_json::Map<String, serde_json::Value>>,
    pub cors_rules: Option<Vec<CorsRule>>,
    pub lifecycle_rules: Option<Vec<LifecycleRule>>,
    /// An S3 lifecycle configuration (it replaces B2's rules with the part of it B2 can express); setting
    /// `lifecycle_rules` instead drops any S3 configuration.
    pub s3_lifecycle: Option<Vec<crate::lifecycle::Rule>>,
    pub default_encryption: Option<Encryption>,
    pub file_lock_enabled: Option<bool>,
    /// `Some(None)` clears the default retention.
    pub default_retention: Option<Option<DefaultRetention>>,
    /// S3 versioning state (PutBucketVersioning sets `Enabled` or `Suspended`).
    pub versioning: Option<Versioning>,
    /// The bucket is created through S3, whose names may hold '.' and be 3 characters long (B2's may not).
    pub s3_naming: bool,
    /// The CORS rules come from S3's PutBucketCors, which accepts what B2 refuses: origins without a scheme
    /// (one `*` anywhere) and a `MaxAgeSeconds` above a day.
    pub s3_cors: bool,
    /// S3 access settings at creation (a CreateBucket's ACL and object ownership); changed afterwards
    /// through their own methods.
    pub access: Option<BucketAccess>,
}

#[derive(Debug, Clone, Default)]
pub struct BucketFilter {
    pub bucket_id: Option<String>,
    pub bucket_name: Option<String>,
    /// None = the default set (allPublic, allPrivate); `all` = every type.
    pub bucket_types: Option<Vec<String>>,
}

fn check_cors_rules(rules: &[CorsRule], s3: bool) -> Result<()> {
    if rules.len() > 100 {
        return Err(Error::invalid("at most 100 CORS rules per bucket"));
    }
    let mut names = std::collections::HashSet::new();
    for rule in rules {
        let label = &rule.cors_rule_name;
        if label.len() < 6 || label.len() > 50 || !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') || label.starts_with("b2-")
        {
            return Err(Error::invalid(format!(
                "Invalid corsRuleName {label:?}: 6 to 50 letters, digits and '-', not starting with 'b2-'"
            )));
        }
        if !names.insert(label.as_str()) {
            return Err(Error::invalid(format!("duplicate corsRuleName {label:?}")));
        }
        if rule.allowed_origins.is_empty() {
            return Err(Error::invalid(format!("CORS rule {label:?} needs at least one allowedOrigins entry")));
        }
        for origin in &rule.allowed_origins {
            let scheme_ok = s3 || origin.contains("://") || origin.starts_with('*');
            if origin != "*" && (origin.matches('*').count() > 1 || !scheme_ok) {
                return Err(Error::invalid(format!("Invalid allowedOrigins entry {origin:?}")));
            }
        }
        if rule.allowed_operations.is_empty() {
            return Err(Error::invalid(format!("CORS rule {label:?} needs at least one allowedOperations entry")));
        }
        if let Some(op) = rule.allowed_operations.iter().find(|op| crate::cors::CorsOperation::parse(op).is_none()) {
            return Err(Error::invalid(format!("Invalid allowedOperations entry {op:?}")));
        }
        if rule.max_age_seconds < 0 || (!s3 && rule.max_age_seconds > 86_400) {
            return Err(Error::invalid("maxAgeSeconds must be between 0 and 86400"));
        }
        let size: usize = rule.cors_rule_name.len()
            + rule.allowed_origins.iter().chain(&rule.allowed_operations).map(String::len).sum::<usize>()
            + rule.allowed_headers.iter().flatten().chain(rule.expose_headers.iter().flatten()).map(String::len).sum::<usize>();
        if size >= 1000 {
            return Err(Error::invalid(format!("CORS rule {label:?} is too large (at most 1000 bytes)")));
        }
    }
    Ok(())
}

fn event_category(event: &str) -> &str {
    event.rsplit_once(':').map_or(event, |(category, _)| category)
}

/// Whether two event types can fire for the same event (equal, or one is its category's wildcard).
fn events_overlap(a: &str, b: &str) -> bool {
    a == b || (event_category(a) == event_category(b) && (a.ends_with(":*") || b.ends_with(":*")))
}

fn check_notification_rules(rules: &[NotificationRule]) -> Result<()> {
    let code = Error::InvalidNotificationRules;
    let mut names = std::collections::HashSet::new();
    for rule in rules {
        if rule.name.is_empty() || rule.name.len() > 63 || !rule.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Error::invalid(format!("Invalid notification rule name {:?}", rule.name)));
        }
        if !names.insert(rule.name.as_str()) {
            return Err(Error::invalid(format!("duplicate notification rule name {:?}", rule.name)));
        }
        if rule.event_types.is_empty() {
            return Err(code("event_types_empty", format!("rule {:?} has no eventTypes", rule.name)));
        }
        if let Some(bad) = rule.event_types.iter().find(|e| !crate::events::EventType::rule_names().contains(&e.as_str())) {
            return Err(code("event_type_invalid", format!("unknown event type {bad:?}")));
        }
        for (i, a) in rule.event_types.iter().enumerate() {
            if rule.event_types[i + 1..].iter().any(|b| events_overlap(a, b)) {
                return Err(code("event_type_categories", format!("rule {:?} lists overlapping event types", rule.name)));
            }
        }
        let target = &rule.target_configuration;
        if target.target_type != "webhook" || !(target.url.starts_with("https://") || target.url.starts_with("http://")) {
            return Err(Error::invalid("targetConfiguration must be a webhook with an http(s) url"));
        }
        if let Some(secret) = &target.hmac_sha256_signing_secret
            && (secret.len() != 32 || !secret.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(Error::invalid("hmacSha256SigningSecret must be 32 letters and digits"));
        }
        if rule.max_events_per_batch.is_some_and(|n| !(1..=50).contains(&n)) {
            return Err(Error::invalid("maxEventsPerBatch must be between 1 and 50"));
        }
    }
    for (i, a) in rules.iter().enumerate() {
        for b in &rules[i + 1..] {
            let prefixes_overlap =
                a.object_name_prefix.starts_with(&b.object_name_prefix) || b.object_name_prefix.starts_with(&a.object_name_prefix);
            let types_overlap = a.event_types.iter().any(|x| b.event_types.iter().any(|y| events_overlap(x, y)));
            if prefixes_overlap && types_overlap {
                return Err(code("event_type_overlap", format!("rules {:?} and {:?} overlap", a.name, b.name)));
            }
        }
    }
    Ok(())
}

fn check_lifecycle_rules(rules: &[LifecycleRule]) -> Result<()> {
    if rules.len() > 100 {
        return Err(Error::invalid("at most 100 lifecycle rules per bucket"));
    }
    for (i, rule) in rules.iter().enumerate() {
        let days = [
            rule.days_from_uploading_to_hiding,
            rule.days_from_hiding_to_deleting,
            rule.days_from_starting_to_canceling_unfinished_large_files,
        ];
        if days.iter().all(Option::is_none) {
            return Err(Error::invalid(format!("lifecycle rule for prefix {:?} sets no days", rule.file_name_prefix)));
        }
        if days.iter().flatten().any(|d| *d <= 0) {
            return Err(Error::invalid("lifecycle rule days must be positive"));
        }
        for other in &rules[i + 1..] {
            if other.file_name_prefix.starts_with(&rule.file_name_prefix) || rule.file_name_prefix.starts_with(&other.file_name_prefix) {
                return Err(Error::invalid(format!(
                    "lifecycle rules for prefixes {:?} and {:?} overlap",
                    rule.file_name_prefix, other.file_name_prefix
                )));
            }
        }
    }
    Ok(())
}

fn check_bucket_info(info: &serde_json::Map<String, serde_json::Value>) -> Result<()> {
    if info.len() > 10 {
        return Err(Error::invalid("bucketInfo may hold at most 10 entries"));
    }
    if info.values().any(|v| !v.is_string()) {
        return Err(Error::invalid("bucketInfo values must be strings"));
    }
    Ok(())
}

fn check_default_encryption(enc: &Encryption) -> Result<()> {
    if matches!(enc, Encryption::SseC { .. }) {
        return Err(Error::invalid("SSE-C cannot be a bucket's default encryption"));
    }
    Ok(())
}

impl Stowage {
    fn authorize_settings(&self, principal: &Principal, bucket_id: Option<&str>, s: &BucketSettings) -> Result<()> {
        principal.authorize(Capability::WriteBuckets, bucket_id, NameScope::None)?;
        if s.default_encryption.is_some() {
            principal.authorize(Capability::WriteBucketEncryption, bucket_id, NameScope::None)?;
        }
        if s.file_lock_enabled == Some(true) || s.default_retention.is_some() {
            principal.authorize(Capability::WriteBucketRetentions, bucket_id, NameScope::None)?;
        }
        // S3 lifecycle configurations need their own capability; B2's `lifecycleRules` come with
        // writeBuckets, as B2 documents.
        if s.s3_lifecycle.is_some() {
            principal.authorize(Capability::WriteBucketLifecycleRules, bucket_id, NameScope::None)?;
        }
        if let Some(info) = &s.info {
            check_bucket_info(info)?;
        }
        if let Some(rules) = &s.cors_rules {
            check_cors_rules(rules, s.s3_cors)?;
        }
        if let Some(rules) = &s.lifecycle_rules {
            check_lifecycle_rules(rules)?;
        }
        if let Some(rules) = &s.s3_lifecycle {
            crate::lifecycle::check(rules)?;
        }
        if let Some(enc) = &s.default_encryption {
            check_default_encryption(enc)?;
        }
        Ok(())
    }

    pub async fn create_bucket(&self, principal: &Principal, name: &str, settings: BucketSettings) -> Result<Bucket> {
        self.authorize_settings(principal, None, &settings)?;
        if principal.key.bucket_ids.is_some() {
            return Err(Error::unauthorized("a bucket-restricted key cannot create buckets"));
        }
        if settings.s3_naming {
            check_s3_bucket_name(name)?
        } else {
            check_bucket_name(name)?
        }
        let bucket_type = settings.bucket_type.ok_or_else(|| Error::invalid("bucketType is required"))?;
        let file_lock_enabled = settings.file_lock_enabled.unwrap_or(false);
        let default_retention = settings.default_retention.flatten();
        if default_retention.is_some() && !file_lock_enabled {
            return Err(Error::BucketMissingFileLock("default retention requires a file-lock-enabled bucket".into()));
        }
        let bucket = Bucket {
            id: random_hex(12),
            name: name.to_string(),
            bucket_type,
            info: settings.info.unwrap_or_default(),
            cors_rules: settings.cors_rules.unwrap_or_default(),
            lifecycle_rules: settings.lifecycle_rules.unwrap_or_default(),
            s3_lifecycle: Vec::new(),
            default_encryption: settings.default_encryption.unwrap_or_default(),
            file_lock_enabled,
            default_retention,
            notification_rules: Vec::new(),
            tags: Default::default(),
            // Object lock needs every version kept.
            versioning: if file_lock_enabled { Versioning::Enabled } else { settings.versioning.unwrap_or_default() },
            access: settings.access.unwrap_or_default(),
            revision: 1,
            created: self.now(),
        };
        self.meta.create_bucket(&bucket, self.config.max_buckets).await?;
        Ok(bucket)
    }

    pub async fn update_bucket(
        &self,
        principal: &Principal,
        bucket_id: &str,
        settings: BucketSettings,
        if_revision_is: Option<i64>,
    ) -> Result<Bucket> {
        self.authorize_settings(principal, Some(bucket_id), &settings)?;
        if let Some(Encryption::SseKms { key_id }) = &settings.default_encryption {
            // A default naming a key that does not exist would fail every upload: refuse it now.
            self.kms_material(key_id).await?;
        }
        let current = self.bucket(bucket_id).await?;
        if let Some(expected) = if_revision_is
            && expected != current.revision
        {
            return Err(Error::Conflict(format!("ifRevisionIs is {expected} but the bucket's revision is {}", current.revision)));
        }
        let mut next = current.clone();
        if let Some(t) = settings.bucket_type {
            next.bucket_type = t;
        }
        if let Some(info) = settings.info {
            next.info = info;
        }
        if let Some(rules) = settings.cors_rules {
            next.cors_rules = rules;
        }
        if let Some(rules) = settings.lifecycle_rules {
            next.lifecycle_rules = rules;
            next.s3_lifecycle = Vec::new();
        }
        if let Some(rules) = settings.s3_lifecycle {
            next.lifecycle_rules = crate::lifecycle::b2_rules(&rules);
            next.s3_lifecycle = rules;
        }
        if let Some(enc) = settings.default_encryption {
            next.default_encryption = enc;
        }
        match settings.file_lock_enabled {
            Some(false) if current.file_lock_enabled => {
                return Err(Error::FileLockConflict(
                    "fileLockEnabled value of false is not allowed when bucket is already file lock enabled.".into(),
                ));
            }
            Some(enabled) => next.file_lock_enabled = enabled,
            None => {}
        }
        if let Some(retention) = settings.default_retention {
            if retention.is_some() && !next.file_lock_enabled {
                return Err(Error::BucketMissingFileLock("default retention requires a file-lock-enabled bucket".into()));
            }
            next.default_retention = retention;
        }
        if let Some(state) = settings.versioning {
            if state == Versioning::Unversioned && current.versioning != Versioning::Unversioned {
                return Err(Error::invalid("versioning can be enabled or suspended, not turned back off"));
            }
            next.versioning = state;
        }
        if next.file_lock_enabled && next.versioning != Versioning::Enabled {
            return Err(Error::InvalidBucketState(
                "an object lock configuration needs versioning enabled, and keeps it so: it cannot be suspended".into(),
            ));
        }
        next.revision = current.revision + 1;
        if !self.meta.update_bucket(&next, current.revision).await? {
            return Err(Error::Conflict("the bucket was changed concurrently; retry".into()));
        }
        Ok(next)
    }

    /// Deletes an empty bucket. With `PendingUploads::Abort` (S3's DeleteBucket) unfinished large files do
    /// not count as content: they are cancelled first, as AWS does; B2 refuses a bucket that has any.
    pub async fn delete_bucket(&self, principal: &Principal, bucket_id: &str, pending: PendingUploads) -> Result<Bucket> {
        principal.authorize(Capability::DeleteBuckets, Some(bucket_id), NameScope::None)?;
        let bucket = self.bucket(bucket_id).await?;
        if pending == PendingUploads::Abort {
            loop {
                let batch = self.meta.list_unfinished(bucket_id, "", None, 1000).await?;
                if batch.is_empty() {
                    break;
                }
                for upload in batch {
                    // One that finished meanwhile is content: the bucket delete below refuses it.
                    match self.meta.delete_version(&upload.file_id, still_unfinished()).await {
                        Ok(_) | Err(Error::NoSuchUpload(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        self.meta.delete_bucket(bucket_id).await?;
        Ok(bucket)
    }

    /// Buckets the key may see that match the filter, by name. `strict` (API v2+) refuses an unfiltered
    /// listing from a bucket-restricted key instead of narrowing it.
    pub async fn list_buckets(&self, principal: &Principal, filter: &BucketFilter, strict: bool) -> Result<Vec<Bucket>> {
        let may_list = principal.has(Capability::ListBuckets) || principal.has(Capability::ListAllBucketNames);
        if !matches!(principal.scope, TokenScope::Account) || !may_list {
            return Err(Error::unauthorized("application key lacks the listBuckets capability"));
        }
        let types: Option<Vec<BucketType>> = match &filter.bucket_types {
            None => None,
            Some(list) if list.iter().any(|t| t == "all") => {
                if list.len() > 1 {
                    return Err(Error::invalid("bucketTypes: \"all\" cannot be combined with other types"));
                }
                None
            }
            Some(list) if list.is_empty() => return Err(Error::invalid("bucketTypes must not be empty")),
            Some(list) => {
                let mut out = Vec::new();
                for t in list {
                    match t.as_str() {
                        "snapshot" | "restricted" | "shared" => {}
                        other => out.push(BucketType::parse(other).ok_or_else(|| Error::invalid(format!("unknown bucket type: {other}")))?),
                    }
                }
                Some(out)
            }
        };
        if strict && principal.key.bucket_ids.is_some() && filter.bucket_id.is_none() && filter.bucket_name.is_none() {
            return Err(Error::unauthorized("a bucket-restricted key must name its bucket (bucketId or bucketName)"));
        }
        let all = match (&filter.bucket_id, &filter.bucket_name) {
            (Some(id), _) => self.meta.get_bucket(id).await?.into_iter().collect(),
            (None, Some(name)) => self.meta.get_bucket_by_name(name).await?.into_iter().collect(),
            (None, None) => self.meta.list_buckets().await?,
        };
        Ok(all
            .into_iter()
            .filter(|b| filter.bucket_name.as_ref().is_none_or(|n| n.eq_ignore_ascii_case(&b.name)))
            .filter(|b| types.as_ref().is_none_or(|t| t.contains(&b.bucket_type)))
            .filter(|b| principal.allows_bucket(&b.id))
            .collect())
    }

    pub async fn get_notification_rules(&self, principal: &Principal, bucket_id: &str) -> Result<Vec<NotificationRule>> {
        principal.authorize(Capability::ReadBucketNotifications, Some(bucket_id), NameScope::None)?;
        Ok(self.bucket(bucket_id).await?.notification_rules)
    }

    /// Replaces the bucket's notification rules (an empty list clears them).
    pub async fn set_notification_rules(
        &self,
        principal: &Principal,
        bucket_id: &str,
        rules: Vec<NotificationRule>,
    ) -> Result<Vec<NotificationRule>> {
        principal.authorize(Capability::WriteBucketNotifications, Some(bucket_id), NameScope::None)?;
        check_notification_rules(&rules)?;
        // Setting a rule (again) re-enables a suspended one, as on B2.
        let rules: Vec<NotificationRule> =
            rules.into_iter().map(|r| NotificationRule { is_suspended: false, suspension_reason: String::new(), ..r }).collect();
        self.modify_bucket(bucket_id, |b| b.notification_rules = rules.clone()).await?;
        Ok(rules)
    }

    /// Suspends a notification rule whose deliveries kept failing: it matches no new events until the rules
    /// are set again, and what it had queued stays queued (`pending_deliveries` holds it back). A rule that
    /// is gone or already suspended is left as it is.
    pub async fn suspend_notification_rule(&self, bucket_id: &str, rule_name: &str, reason: &str) -> Result<()> {
        let current = self.bucket(bucket_id).await?;
        if !current.notification_rules.iter().any(|r| r.name == rule_name && !r.is_suspended) {
            return Ok(());
        }
        self.modify_bucket(bucket_id, |b| {
            for rule in b.notification_rules.iter_mut().filter(|r| r.name == rule_name) {
                rule.is_suspended = true;
                rule.suspension_reason = reason.to_string();
            }
        })
        .await
        .map(|_| ())
    }

    /// Applies `change` to the stored bucket with optimistic concurrency, retrying a few times if another
    /// writer got there first; every change bumps the revision.
    pub(crate) async fn modify_bucket(&self, bucket_id: &str, change: impl Fn(&mut Bucket)) -> Result<Bucket> {
        // Each change applies to the bucket as it is; racing writers retry (with a short random pause so
        // they spread out) until theirs lands on top: fifty clients setting an ACL at once all succeed.
        for attempt in 0..32u32 {
            let current = self.bucket(bucket_id).await?;
            let mut next = current.clone();
            change(&mut next);
            next.revision = current.revision + 1;
            if self.meta.update_bucket(&next, current.revision).await? {
                return Ok(next);
            }
            let pause_ms = rand::random::<u64>() % (2 + u64::from(attempt.min(10)) * 2);
            tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
        }
        Err(Error::Conflict("the bucket kept changing concurrently; retry".into()))
    }

    /// Records today's files and bytes of every bucket (a later record the same day replaces the earlier),
    /// for the usage history. Returns how many buckets were recorded.
    pub async fn record_daily_usage(&self) -> Result<usize> {
        let day = self.now().div_euclid(crate::lifecycle::DAY);
        let buckets = self.meta.list_buckets().await?;
        for bucket in &buckets {
            let (files, bytes, _) = self.meta.bucket_usage(&bucket.id, "").await?;
            self.meta.record_usage(&bucket.id, DailyUsage { day, files, bytes }).await?;
        }
        Ok(buckets.len())
    }

    /// A bucket's daily figures over the last `days` days: those recorded (hourly, the day's last one
    /// kept), with today's as it is now, so the history starts with a bucket's first uploads rather than
    /// at the next hourly record. They cover the whole bucket, so a key limited to a name prefix may not
    /// read them.
    pub async fn usage_history(&self, principal: &Principal, bucket_id: &str, days: i64) -> Result<Vec<DailyUsage>> {
        principal.authorize(Capability::ListFiles, Some(bucket_id), NameScope::Prefix(""))?;
        if principal.key.name_prefix.is_some() {
            return Err(Error::unauthorized("usage history covers the whole bucket; this key may list only part of it"));
        }
        let today = self.now().div_euclid(crate::lifecycle::DAY);
        let mut history = self.meta.usage_history(bucket_id, today - days.clamp(1, 366) + 1).await?;
        let (files, bytes, _) = self.meta.bucket_usage(bucket_id, "").await?;
        history.retain(|d| d.day != today);
        history.push(DailyUsage { day: today, files, bytes });
        Ok(history)
    }

    /// Files, bytes and newest upload of what the key may list in a bucket: all of it, or the part under
    /// its name prefix.
    pub async fn bucket_usage(&self, principal: &Principal, bucket_id: &str) -> Result<(u64, u64, Option<i64>)> {
        let prefix = principal.key.name_prefix.as_deref().unwrap_or("");
        principal.authorize(Capability::ListFiles, Some(bucket_id), NameScope::Prefix(prefix))?;
        self.meta.bucket_usage(bucket_id, prefix).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str) -> LifecycleRule {
        LifecycleRule {
            file_name_prefix: prefix.into(),
            days_from_uploading_to_hiding: Some(1),
            days_from_hiding_to_deleting: None,
            days_from_starting_to_canceling_unfinished_large_files: None,
        }
    }

    #[test]
    fn lifecycle_overlap_and_days() {
        assert!(check_lifecycle_rules(&[rule("a/"), rule("b/")]).is_ok());
        assert!(check_lifecycle_rules(&[rule("photos/"), rule("photos/kittens/")]).is_err());
        let mut zero = rule("x/");
        zero.days_from_uploading_to_hiding = Some(0);
        assert!(check_lifecycle_rules(&[zero]).is_err());
        let mut none = rule("x/");
        none.days_from_uploading_to_hiding = None;
        assert!(check_lifecycle_rules(&[none]).is_err());
    }

    #[test]
    fn cors_rules_validated() {
        let good = CorsRule {
            cors_rule_name: "allow-uploads".into(),
            allowed_origins: vec!["https://example.com".into()],
            allowed_operations: vec!["s3_put".into(), "b2_upload_file".into()],
            allowed_headers: Some(vec!["*".into()]),
            expose_headers: None,
            max_age_seconds: 3600,
        };
        assert!(check_cors_rules(std::slice::from_ref(&good), false).is_ok());
        let mut bad_op = good.clone();
        bad_op.allowed_operations = vec!["s3_bogus".into()];
        assert!(check_cors_rules(&[bad_op], false).is_err());
        assert!(check_cors_rules(&[good.clone(), good.clone()], false).is_err());
        // S3 accepts origins without a scheme, with the wildcard anywhere; B2 does not.
        let bare = CorsRule { allowed_origins: vec!["start*end".into(), "example.com".into()], ..good };
        assert!(check_cors_rules(std::slice::from_ref(&bare), true).is_ok());
        assert!(check_cors_rules(std::slice::from_ref(&bare), false).is_err());
        let two_wildcards = CorsRule { allowed_origins: vec!["*a*".into()], ..bare };
        assert!(check_cors_rules(&[two_wildcards], true).is_err());
    }
}

//! Lifecycle rules (`crate::lifecycle`), applied by a periodic task: expire current versions after N days
//! or at a date, remove noncurrent versions after N days, lone delete markers, and unfinished large files.

use super::Stowage;
use crate::error::{Error, Result};
use crate::events::EventType;
use crate::lifecycle::{DAY, Rule};
use crate::model::{Action, Bucket, FileVersion, Millis, Versioning};
use crate::store::VersionCheck;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleReport {
    pub hidden: usize,
    pub deleted: usize,
    pub canceled: usize,
}

impl Stowage {
    /// Applies every bucket's lifecycle rules as of now.
    pub async fn run_lifecycle(&self) -> Result<LifecycleReport> {
        let mut report = LifecycleReport::default();
        for bucket in self.meta.list_buckets().await? {
            for rule in bucket.lifecycle().iter().filter(|r| r.enabled) {
                self.apply_rule(&bucket, rule, &mut report).await?;
            }
        }
        Ok(report)
    }

    async fn apply_rule(&self, bucket: &Bucket, rule: &Rule, report: &mut LifecycleReport) -> Result<()> {
        let now = self.now();
        let mut after: Option<(String, String)> = None;
        // Versions of one name arrive together, newest first; `group` collects them.
        let mut group: Vec<FileVersion> = Vec::new();
        loop {
            let batch = self
                .meta
                .scan_versions(&bucket.id, &rule.filter.prefix, after.as_ref().map(|(n, f)| (n.as_str(), f.as_str())), 1000)
                .await?;
            let Some(last) = batch.last() else { break };
            after = Some((last.name.clone(), last.file_id.clone()));
            for version in batch {
                if group.first().is_some_and(|g| g.name != version.name) {
                    self.apply_to_name(bucket, rule, std::mem::take(&mut group), now, report).await?;
                }
                group.push(version);
            }
        }
        if !group.is_empty() {
            self.apply_to_name(bucket, rule, group, now, report).await?;
        }
        Ok(())
    }

    async fn apply_to_name(
        &self,
        bucket: &Bucket,
        rule: &Rule,
        versions: Vec<FileVersion>,
        now: Millis,
        report: &mut LifecycleReport,
    ) -> Result<()> {
        let (unfinished, versions): (Vec<_>, Vec<_>) = versions.into_iter().partition(|v| v.action == Action::Start);
        if let Some(days) = rule.abort_incomplete_days {
            for start in unfinished.iter().filter(|v| v.upload_timestamp + days * DAY <= now) {
                if self.remove_if(&start.file_id, |v| v.action == Action::Start).await?.is_some() {
                    report.canceled += 1;
                }
            }
        }
        let Some(newest) = versions.first() else { return Ok(()) };
        let mut current_removed = false;
        let current_due = rule.expiration_days.is_some_and(|days| newest.upload_timestamp + days * DAY <= now)
            || rule.expiration_date.is_some_and(|date| date <= now);
        if current_due && newest.action == Action::Upload && rule.filter.selects(newest) {
            current_removed = self.expire_current(bucket, newest, now, report).await?;
        }
        let mut remaining_older = 0;
        if let Some(days) = rule.noncurrent_days {
            let keep = rule.newer_noncurrent_versions.unwrap_or(0);
            // A version became noncurrent when the next newer version arrived.
            for (index, pair) in versions.windows(2).enumerate() {
                let (newer, older) = (&pair[0], &pair[1]);
                let due = index as i64 >= keep && newer.upload_timestamp + days * DAY <= now && rule.filter.selects(older);
                if due && let Some(deleted) = self.remove_if(&older.file_id, move |v| !v.is_locked(now)).await? {
                    self.emit(EventType::DeleteByLifecycle, &deleted).await;
                    report.deleted += 1;
                } else {
                    remaining_older += 1;
                }
            }
        } else {
            remaining_older = versions.len() - 1;
        }
        // A delete marker with nothing left under it has done its job.
        let marker_due = rule.noncurrent_days.is_none_or(|days| newest.upload_timestamp + days * DAY <= now);
        if rule.expired_object_delete_marker
            && !current_removed
            && newest.action == Action::Hide
            && remaining_older == 0
            && marker_due
            && let Some(deleted) = self.remove_if(&newest.file_id, |v| v.action == Action::Hide).await?
        {
            self.emit(EventType::DeleteByLifecycle, &deleted).await;
            report.deleted += 1;
        }
        Ok(())
    }

    /// Expires a key's current version: hidden behind a delete marker where versions are kept (a null one
    /// under suspended versioning), removed from an unversioned bucket. Whether it was removed.
    async fn expire_current(&self, bucket: &Bucket, current: &FileVersion, now: Millis, report: &mut LifecycleReport) -> Result<bool> {
        if bucket.versioning == Versioning::Unversioned && current.null_version {
            if let Some(deleted) = self.remove_if(&current.file_id, move |v| !v.is_locked(now)).await? {
                self.emit(EventType::DeleteByLifecycle, &deleted).await;
                report.deleted += 1;
                return Ok(true);
            }
            return Ok(false);
        }
        let marker = self.insert_hide_marker(&bucket.id, &current.name, bucket.versioning.writes_null_versions()).await?;
        self.emit(EventType::HideByLifecycle, &marker).await;
        report.hidden += 1;
        Ok(false)
    }

    /// Removes a version if `still_due` holds for it in the removing transaction (it may have been locked,
    /// finished or removed since the scan read it); `None` when it was not removed.
    async fn remove_if(&self, file_id: &str, still_due: impl Fn(&FileVersion) -> bool + Send + 'static) -> Result<Option<FileVersion>> {
        let check: VersionCheck = Box::new(move |v| if still_due(v) { Ok(()) } else { Err(Error::Conflict("no longer due".into())) });
        match self.meta.delete_version(file_id, check).await {
            Err(Error::Conflict(_)) => Ok(None),
            other => other,
        }
    }
}

//! Lifecycle rules, applied by a periodic task: hide after N days, delete hidden versions after N days,
//! cancel unfinished large files after N days.

use super::Stowage;
use crate::error::{Error, Result};
use crate::model::{Action, FileVersion, LifecycleRule, Millis};
use crate::store::VersionCheck;

const DAY: Millis = 86_400_000;

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
            for rule in &bucket.lifecycle_rules {
                self.apply_rule(&bucket.id, rule, &mut report).await?;
            }
        }
        Ok(report)
    }

    async fn apply_rule(&self, bucket_id: &str, rule: &LifecycleRule, report: &mut LifecycleReport) -> Result<()> {
        let now = self.now();
        let mut after: Option<(String, String)> = None;
        // Versions of one name arrive together, newest first; `group` collects them.
        let mut group: Vec<FileVersion> = Vec::new();
        loop {
            let batch = self
                .meta
                .scan_versions(bucket_id, &rule.file_name_prefix, after.as_ref().map(|(n, f)| (n.as_str(), f.as_str())), 1000)
                .await?;
            let Some(last) = batch.last() else { break };
            after = Some((last.name.clone(), last.file_id.clone()));
            for version in batch {
                if group.first().is_some_and(|g| g.name != version.name) {
                    self.apply_to_name(rule, std::mem::take(&mut group), now, report).await?;
                }
                group.push(version);
            }
        }
        if !group.is_empty() {
            self.apply_to_name(rule, group, now, report).await?;
        }
        Ok(())
    }

    async fn apply_to_name(
        &self,
        rule: &LifecycleRule,
        versions: Vec<FileVersion>,
        now: Millis,
        report: &mut LifecycleReport,
    ) -> Result<()> {
        let (unfinished, versions): (Vec<_>, Vec<_>) = versions.into_iter().partition(|v| v.action == Action::Start);
        if let Some(days) = rule.days_from_starting_to_canceling_unfinished_large_files {
            for start in unfinished.iter().filter(|v| v.upload_timestamp + days * DAY <= now) {
                if self.remove_if(&start.file_id, |v| v.action == Action::Start).await?.is_some() {
                    report.canceled += 1;
                }
            }
        }
        let Some(newest) = versions.first() else { return Ok(()) };
        let mut hidden_newest = newest.action == Action::Hide;
        if let Some(days) = rule.days_from_uploading_to_hiding
            && newest.action == Action::Upload
            && newest.upload_timestamp + days * DAY <= now
        {
            let marker = self.insert_hide_marker(&newest.bucket_id, &newest.name, false).await?;
            self.emit("b2:HideMarkerCreated:LifecycleRule", &marker).await;
            report.hidden += 1;
            hidden_newest = true;
        }
        if let Some(days) = rule.days_from_hiding_to_deleting {
            // A version became hidden when the next newer version arrived.
            let mut remaining_older = 0;
            for pair in versions.windows(2) {
                let (newer, older) = (&pair[0], &pair[1]);
                if newer.upload_timestamp + days * DAY <= now
                    && let Some(deleted) = self.remove_if(&older.file_id, move |v| !v.is_locked(now)).await?
                {
                    self.emit("b2:ObjectDeleted:LifecycleRule", &deleted).await;
                    report.deleted += 1;
                } else {
                    remaining_older += 1;
                }
            }
            // A hide marker with nothing left under it has done its job.
            if hidden_newest
                && newest.action == Action::Hide
                && remaining_older == 0
                && versions.len() > 1
                && newest.upload_timestamp + days * DAY <= now
                && let Some(deleted) = self.remove_if(&newest.file_id, |v| v.action == Action::Hide).await?
            {
                self.emit("b2:ObjectDeleted:LifecycleRule", &deleted).await;
                report.deleted += 1;
            }
        }
        Ok(())
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

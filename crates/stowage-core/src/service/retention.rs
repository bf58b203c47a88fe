//! Object lock on one version: its retention (governance or compliance, only weakened with a bypass) and
//! its legal hold, each changed in the transaction that reads the stored value.

use super::Stowage;
use crate::auth::{Capability, NameScope, Principal};
use crate::error::{Error, Result};
use crate::model::{Action, FileVersion, Retention, RetentionMode};
use crate::store::VersionChange;

impl Stowage {
    pub async fn update_file_retention(
        &self,
        principal: &Principal,
        file_id: &str,
        file_name: &str,
        retention: Option<Retention>,
        bypass_governance: bool,
    ) -> Result<FileVersion> {
        let version = self.named_version(file_id, file_name).await?;
        require_capability(principal, Capability::WriteFileRetentions)?;
        principal.authorize(Capability::WriteFileRetentions, Some(&version.bucket_id), NameScope::File(&version.name))?;
        let bucket = self.bucket(&version.bucket_id).await?;
        if !bucket.file_lock_enabled {
            return Err(Error::BucketMissingFileLock("File retention needs a bucket with file lock enabled".into()));
        }
        let now = self.now();
        if let Some(new) = retention
            && new.retain_until <= now
        {
            return Err(Error::RetainUntilInPast("retainUntilTimestamp must be in the future".into()));
        }
        let may_bypass = bypass_governance && principal.has(Capability::BypassGovernance);
        // Decided on the retention stored at the moment of the write, so two changes cannot both weaken it.
        let change: VersionChange = Box::new(move |mut version| {
            if let Some(current) = version.retention.filter(|r| r.retain_until > now) {
                let weakens = match retention {
                    None => true,
                    Some(new) => {
                        new.retain_until < current.retain_until
                            || (current.mode == RetentionMode::Compliance && new.mode == RetentionMode::Governance)
                    }
                };
                if weakens {
                    match current.mode {
                        RetentionMode::Compliance => return Err(Error::Forbidden("compliance retention can only be extended".into())),
                        RetentionMode::Governance if !may_bypass => {
                            return Err(Error::Forbidden("shortening governance retention needs bypassGovernance".into()));
                        }
                        RetentionMode::Governance => {}
                    }
                }
            }
            version.retention = retention;
            Ok(version)
        });
        self.meta.modify_version(file_id, change).await
    }

    pub async fn update_file_legal_hold(&self, principal: &Principal, file_id: &str, file_name: &str, on: bool) -> Result<FileVersion> {
        let version = self.named_version(file_id, file_name).await?;
        require_capability(principal, Capability::WriteFileLegalHolds)?;
        principal.authorize(Capability::WriteFileLegalHolds, Some(&version.bucket_id), NameScope::File(&version.name))?;
        let bucket = self.bucket(&version.bucket_id).await?;
        if !bucket.file_lock_enabled {
            return Err(Error::BucketMissingFileLock("Legal hold needs a bucket with file lock enabled".into()));
        }
        self.meta
            .modify_version(
                file_id,
                Box::new(move |mut version| {
                    version.legal_hold = Some(on);
                    Ok(version)
                }),
            )
            .await
    }

    async fn named_version(&self, file_id: &str, file_name: &str) -> Result<FileVersion> {
        self.meta
            .get_version(file_id)
            .await?
            .filter(|v| v.name == file_name && v.action != Action::Hide)
            .ok_or_else(|| Error::FileNotPresent(format!("{file_name} {file_id}")))
    }
}

/// A retention or legal-hold write by a key without the capability is refused outright (B2's 403
/// `access_denied`, which b2sdk reads as `RetentionWriteError`); bucket and prefix restrictions are checked
/// after, as for any call.
fn require_capability(principal: &Principal, capability: Capability) -> Result<()> {
    if principal.has(capability) {
        return Ok(());
    }
    Err(Error::Forbidden(format!("application key lacks the {} capability", capability.as_str())))
}

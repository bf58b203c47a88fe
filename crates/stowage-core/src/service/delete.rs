//! Hiding a name (hide markers, S3 delete markers) and deleting a version, under object lock's rules.

use super::Stowage;
use super::files::{NewBody, NewFile, PreparedFile};
use crate::auth::{Capability, NameScope, Principal};
use crate::error::{Error, Result};
use crate::events::EventType;
use crate::model::{Action, Encryption, FileVersion, RetentionMode};
use crate::names::check_file_name;

impl Stowage {
    pub async fn hide_file(&self, principal: &Principal, bucket_id: &str, name: &str) -> Result<FileVersion> {
        principal.authorize(Capability::WriteFiles, Some(bucket_id), NameScope::File(name))?;
        self.bucket(bucket_id).await?;
        check_file_name(name)?;
        match self.meta.latest_version(bucket_id, name).await? {
            None => Err(Error::NoSuchFile(name.to_string())),
            Some(v) if v.action == Action::Hide => Err(Error::AlreadyHidden(name.to_string())),
            Some(_) => {
                let marker = self.insert_hide_marker(bucket_id, name, false).await?;
                self.emit(EventType::Hide, &marker).await;
                Ok(marker)
            }
        }
    }

    /// A hide marker (S3: a delete marker), whatever the name's current state; as a null version it
    /// replaces the key's older null version.
    pub(crate) async fn insert_hide_marker(&self, bucket_id: &str, name: &str, null_version: bool) -> Result<FileVersion> {
        let req = NewFile {
            bucket_id: bucket_id.to_string(),
            name: name.to_string(),
            content_type: "application/x-bz-hide-marker".into(),
            null_version,
            ..NewFile::default()
        };
        let prepared = PreparedFile {
            content_type: req.content_type.clone(),
            encryption: Encryption::None,
            retention: None,
            legal_hold: None,
            timestamp: self.now(),
        };
        let version = self.new_version(req, prepared, Action::Hide, NewBody::empty(None));
        self.meta.insert_version(&version).await?;
        self.replace_null_versions(&version).await;
        Ok(version)
    }

    pub async fn delete_file_version(
        &self,
        principal: &Principal,
        file_id: &str,
        file_name: &str,
        bypass_governance: bool,
    ) -> Result<FileVersion> {
        let not_present = || Error::FileNotPresent(format!("{file_name} {file_id}"));
        let version = self.meta.get_version(file_id).await?.ok_or_else(not_present)?;
        principal.authorize(Capability::DeleteFiles, Some(&version.bucket_id), NameScope::File(&version.name))?;
        if version.name != file_name {
            return Err(not_present());
        }
        let deleted = self.meta.delete_version(file_id, Box::new(self.delete_lock_check(principal, bypass_governance))).await?;
        let deleted = deleted.ok_or_else(not_present)?;
        self.emit(EventType::Delete, &deleted).await;
        Ok(deleted)
    }

    /// Object lock's rule for deletes, as a check the store runs on the version in the transaction that
    /// removes it (a legal hold set a moment earlier is seen): legal hold and compliance retention refuse;
    /// governance retention needs an explicit bypass by a key that may bypass it.
    pub(crate) fn delete_lock_check(
        &self,
        principal: &Principal,
        bypass_governance: bool,
    ) -> impl Fn(&FileVersion) -> Result<()> + Send + 'static {
        let now = self.now();
        let may_bypass = bypass_governance && principal.has(Capability::BypassGovernance);
        move |version: &FileVersion| {
            if version.legal_hold == Some(true) {
                return Err(Error::AccessDenied("file is under legal hold".into()));
            }
            if let Some(r) = version.retention
                && r.retain_until > now
            {
                match r.mode {
                    RetentionMode::Compliance => return Err(Error::AccessDenied("file is retained in compliance mode".into())),
                    RetentionMode::Governance if !may_bypass => {
                        return Err(Error::AccessDenied("file is retained in governance mode; bypassGovernance is required".into()));
                    }
                    RetentionMode::Governance => {}
                }
            }
            Ok(())
        }
    }
}

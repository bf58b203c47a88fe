//! HTTP preconditions on an object version (`If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since`), evaluated in one place as RFC 9110 orders them, so reads, copies and
//! conditional writes (`WriteCondition`, checked inside the committing transaction) decide alike.

use crate::model::{FileVersion, Millis};

/// An entity-tag condition: `*` or one ETag (unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtagCondition {
    Any,
    Etag(String),
}

impl EtagCondition {
    fn matches(&self, version: &FileVersion) -> bool {
        match self {
            EtagCondition::Any => true,
            EtagCondition::Etag(tag) => tag.trim_matches('"') == version.etag(),
        }
    }
}

/// The preconditions a request carries. Dates compare at whole seconds, as HTTP dates carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    pub if_match: Option<EtagCondition>,
    pub if_none_match: Option<EtagCondition>,
    pub if_modified_since: Option<Millis>,
    pub if_unmodified_since: Option<Millis>,
}

/// What the preconditions say about a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Met,
    /// `If-None-Match` matched or `If-Modified-Since` failed: a read answers 304, a write 412.
    NotModified,
    /// `If-Match` or `If-Unmodified-Since` failed: 412.
    Failed,
}

impl Preconditions {
    /// RFC 9110 §13.2.2: `If-Match` before `If-Unmodified-Since` (which is ignored when `If-Match` is
    /// present), then `If-None-Match` before `If-Modified-Since` (likewise).
    pub fn evaluate(&self, version: &FileVersion) -> Outcome {
        let seconds = |ms: Millis| ms.div_euclid(1000);
        let uploaded = seconds(version.upload_timestamp);
        if let Some(condition) = &self.if_match {
            if !condition.matches(version) {
                return Outcome::Failed;
            }
        } else if let Some(since) = self.if_unmodified_since
            && uploaded > seconds(since)
        {
            return Outcome::Failed;
        }
        if let Some(condition) = &self.if_none_match {
            if condition.matches(version) {
                return Outcome::NotModified;
            }
        } else if let Some(since) = self.if_modified_since
            && uploaded <= seconds(since)
        {
            return Outcome::NotModified;
        }
        Outcome::Met
    }
}

/// An S3 conditional write (`If-Match`, `If-None-Match`): what the key's current object must be for the
/// write to happen. Checked by the store inside the transaction that commits the write, so concurrent
/// writers cannot both pass.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteCondition {
    /// The key has a current object with this ETag (`*`: any); a key with none is `NoSuchKey`.
    pub if_match: Option<EtagCondition>,
    /// The key has no current object with this ETag (`*`: no current object at all).
    pub if_none_match: Option<EtagCondition>,
}

impl WriteCondition {
    /// Conditions on a write, if any.
    pub fn of(if_match: Option<EtagCondition>, if_none_match: Option<EtagCondition>) -> Option<WriteCondition> {
        (if_match.is_some() || if_none_match.is_some()).then_some(WriteCondition { if_match, if_none_match })
    }

    /// A delete marker as the newest version counts as no current object.
    pub fn check(&self, latest: Option<&FileVersion>) -> crate::Result<()> {
        let current = latest.filter(|v| v.action == crate::model::Action::Upload);
        if let Some(condition) = &self.if_match {
            let Some(v) = current else {
                return Err(crate::Error::FileNotFound("the key has no object to match (If-Match)".into()));
            };
            if !condition.matches(v) {
                return Err(crate::Error::PreconditionFailed("the key's object has another ETag (If-Match)".into()));
            }
        }
        if let (Some(condition), Some(v)) = (&self.if_none_match, current)
            && condition.matches(v)
        {
            return Err(crate::Error::PreconditionFailed("the key's object matches If-None-Match".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(md5: &str, uploaded: Millis) -> FileVersion {
        use crate::model::{Action, Content, Encryption};
        FileVersion {
            file_id: "f".into(),
            bucket_id: "b".into(),
            name: "k".into(),
            action: Action::Upload,
            size: 0,
            sha1: None,
            md5: Some(md5.into()),
            content_type: "text/plain".into(),
            info: Default::default(),
            upload_timestamp: uploaded,
            encryption: Encryption::None,
            retention: None,
            legal_hold: None,
            content: Content::Empty,
            tags: Default::default(),
            checksums: Default::default(),
            null_version: false,
            grants: Vec::new(),
            checksum_algorithm: None,
            checksum_full_object: false,
        }
    }

    #[test]
    fn if_match_wins_over_if_unmodified_since() {
        let v = version("abc", 10_000);
        let p = Preconditions {
            if_match: Some(EtagCondition::Etag("\"abc\"".into())),
            if_unmodified_since: Some(1_000),
            ..Preconditions::default()
        };
        assert_eq!(p.evaluate(&v), Outcome::Met);
        let p = Preconditions { if_unmodified_since: Some(1_000), ..Preconditions::default() };
        assert_eq!(p.evaluate(&v), Outcome::Failed);
    }

    #[test]
    fn if_none_match_wins_over_if_modified_since() {
        let v = version("abc", 10_000);
        let p = Preconditions {
            if_none_match: Some(EtagCondition::Etag("other".into())),
            if_modified_since: Some(20_000),
            ..Preconditions::default()
        };
        assert_eq!(p.evaluate(&v), Outcome::Met);
        let p = Preconditions { if_none_match: Some(EtagCondition::Any), ..Preconditions::default() };
        assert_eq!(p.evaluate(&v), Outcome::NotModified);
        // Same second: not modified since.
        let p = Preconditions { if_modified_since: Some(10_999), ..Preconditions::default() };
        assert_eq!(p.evaluate(&v), Outcome::NotModified);
    }

    #[test]
    fn write_conditions() {
        let v = version("abc", 10_000);
        let none_match = |c| WriteCondition { if_none_match: Some(c), ..WriteCondition::default() };
        let if_match = |c| WriteCondition { if_match: Some(c), ..WriteCondition::default() };
        assert!(none_match(EtagCondition::Any).check(None).is_ok());
        assert!(matches!(none_match(EtagCondition::Any).check(Some(&v)), Err(crate::Error::PreconditionFailed(_))));
        let marker = FileVersion { action: crate::model::Action::Hide, ..v.clone() };
        assert!(none_match(EtagCondition::Any).check(Some(&marker)).is_ok());
        assert!(none_match(EtagCondition::Etag("other".into())).check(Some(&v)).is_ok());
        assert!(none_match(EtagCondition::Etag("abc".into())).check(Some(&v)).is_err());
        assert!(if_match(EtagCondition::Etag("\"abc\"".into())).check(Some(&v)).is_ok());
        assert!(matches!(if_match(EtagCondition::Any).check(None), Err(crate::Error::FileNotFound(_))));
        assert!(matches!(if_match(EtagCondition::Etag("zzz".into())).check(Some(&v)), Err(crate::Error::PreconditionFailed(_))));
    }

    #[test]
    fn a_failed_match_is_reported_before_not_modified() {
        let v = version("abc", 10_000);
        let p = Preconditions {
            if_match: Some(EtagCondition::Etag("zzz".into())),
            if_none_match: Some(EtagCondition::Any),
            ..Preconditions::default()
        };
        assert_eq!(p.evaluate(&v), Outcome::Failed);
    }
}

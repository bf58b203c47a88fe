//! Lifecycle rules in the one form the lifecycle task applies. S3 configurations are kept in it as written
//! (IDs, disabled rules, filters on tags and sizes, dates, delete-marker expiry); B2's rules are the subset
//! with a prefix and day counts, so each API reads the other's rules: a bucket's B2 view lists the S3
//! rules B2 can express, and its S3 view shows B2 rules as rules with a prefix filter.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{FileVersion, LifecycleRule, Millis};

pub const DAY: Millis = 86_400_000;
/// S3's limit on rules in one configuration.
pub const MAX_RULES: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: String,
    pub enabled: bool,
    pub filter: Filter,
    /// The current version expires this many days after its upload...
    pub expiration_days: Option<i64>,
    /// ...or once this instant (a midnight, UTC) has passed. Expiring hides it behind a delete marker, or
    /// removes it in an unversioned bucket.
    pub expiration_date: Option<Millis>,
    /// A delete marker with no versions left under it is removed (once older than `noncurrent_days`, when
    /// the rule has them: B2's "days from hiding to deleting" removes its hide markers that way).
    pub expired_object_delete_marker: bool,
    /// A version is removed this many days after a newer one replaced it...
    pub noncurrent_days: Option<i64>,
    /// ...except the newest this many noncurrent versions of its key.
    pub newer_noncurrent_versions: Option<i64>,
    /// An unfinished multipart upload (large file) is cancelled this many days after it started.
    pub abort_incomplete_days: Option<i64>,
}

/// Which versions a rule applies to: all conditions hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub prefix: String,
    pub tags: BTreeMap<String, String>,
    pub size_greater_than: Option<i64>,
    pub size_less_than: Option<i64>,
    /// How the filter was written, so a configuration reads back as it was put.
    pub shape: FilterShape,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FilterShape {
    /// S3's older form: `Prefix` on the rule itself.
    RulePrefix,
    /// `Filter` with at most one condition.
    #[default]
    Single,
    /// `Filter` with `And`.
    And,
}

impl Filter {
    /// Whether the filter selects `version` (a delete marker has no size or tags to compare).
    pub fn selects(&self, version: &FileVersion) -> bool {
        version.name.starts_with(&self.prefix)
            && self.tags.iter().all(|(k, v)| version.tags.get(k) == Some(v))
            && self.size_greater_than.is_none_or(|n| i64::try_from(version.size).is_ok_and(|s| s > n))
            && self.size_less_than.is_none_or(|n| i64::try_from(version.size).is_ok_and(|s| s < n))
    }

    fn prefix_only(&self) -> bool {
        self.tags.is_empty() && self.size_greater_than.is_none() && self.size_less_than.is_none()
    }
}

impl Rule {
    fn has_action(&self) -> bool {
        self.expiration_days.is_some()
            || self.expiration_date.is_some()
            || self.expired_object_delete_marker
            || self.noncurrent_days.is_some()
            || self.abort_incomplete_days.is_some()
    }

    /// The rule as B2 states it, when B2's form can express it (enabled, a prefix filter, day counts).
    fn as_b2(&self) -> Option<LifecycleRule> {
        let expressible = self.enabled
            && self.filter.prefix_only()
            && self.expiration_date.is_none()
            && self.newer_noncurrent_versions.is_none()
            && (self.expiration_days.is_some() || self.noncurrent_days.is_some() || self.abort_incomplete_days.is_some());
        expressible.then(|| LifecycleRule {
            file_name_prefix: self.filter.prefix.clone(),
            days_from_uploading_to_hiding: self.expiration_days,
            days_from_hiding_to_deleting: self.noncurrent_days,
            days_from_starting_to_canceling_unfinished_large_files: self.abort_incomplete_days,
        })
    }

    /// A B2 rule in this form; `index` numbers its made-up ID.
    pub fn from_b2(rule: &LifecycleRule, index: usize) -> Rule {
        Rule {
            id: format!("b2-lifecycle-rule-{}", index + 1),
            enabled: true,
            filter: Filter { prefix: rule.file_name_prefix.clone(), ..Filter::default() },
            expiration_days: rule.days_from_uploading_to_hiding,
            expiration_date: None,
            expired_object_delete_marker: rule.days_from_hiding_to_deleting.is_some(),
            noncurrent_days: rule.days_from_hiding_to_deleting,
            newer_noncurrent_versions: None,
            abort_incomplete_days: rule.days_from_starting_to_canceling_unfinished_large_files,
        }
    }
}

/// The B2 rules a bucket shows for an S3 configuration: those B2's form can express.
pub fn b2_rules(rules: &[Rule]) -> Vec<LifecycleRule> {
    rules.iter().filter_map(Rule::as_b2).collect()
}

/// Checks an S3 lifecycle configuration as AWS does.
pub fn check(rules: &[Rule]) -> Result<()> {
    if rules.is_empty() || rules.len() > MAX_RULES {
        return Err(Error::invalid(format!("a lifecycle configuration holds 1 to {MAX_RULES} rules")));
    }
    let mut ids = std::collections::HashSet::new();
    for rule in rules {
        if rule.id.chars().count() > 255 {
            return Err(Error::invalid("a lifecycle rule ID is at most 255 characters"));
        }
        if !ids.insert(rule.id.as_str()) {
            return Err(Error::invalid(format!("lifecycle rule IDs must be unique: {}", rule.id)));
        }
        if !rule.has_action() {
            return Err(Error::invalid(format!("lifecycle rule {:?} has no action", rule.id)));
        }
        let days = [rule.expiration_days, rule.noncurrent_days, rule.abort_incomplete_days];
        if days.iter().flatten().any(|d| *d <= 0) {
            return Err(Error::invalid("lifecycle days must be positive integers"));
        }
        if let Some(date) = rule.expiration_date
            && date.rem_euclid(DAY) != 0
        {
            return Err(Error::invalid("a lifecycle expiration date must be at midnight UTC"));
        }
        if rule.expiration_days.is_some() as u8 + rule.expiration_date.is_some() as u8 > 1 {
            return Err(Error::invalid("a lifecycle expiration has either days or a date"));
        }
        if rule.newer_noncurrent_versions.is_some_and(|n| !(1..=100).contains(&n)) {
            return Err(Error::invalid("NewerNoncurrentVersions is between 1 and 100"));
        }
        let filter = &rule.filter;
        if !filter.tags.is_empty() && (rule.expired_object_delete_marker || rule.abort_incomplete_days.is_some()) {
            return Err(Error::invalid("ExpiredObjectDeleteMarker and AbortIncompleteMultipartUpload cannot be used with a tag filter"));
        }
        if [filter.size_greater_than, filter.size_less_than].iter().flatten().any(|s| *s < 0) {
            return Err(Error::invalid("lifecycle object size filters are not negative"));
        }
        if let (Some(gt), Some(lt)) = (filter.size_greater_than, filter.size_less_than)
            && lt <= gt
        {
            return Err(Error::invalid("ObjectSizeLessThan must be greater than ObjectSizeGreaterThan"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expiring(id: &str, prefix: &str, days: i64) -> Rule {
        Rule {
            id: id.into(),
            enabled: true,
            filter: Filter { prefix: prefix.into(), ..Filter::default() },
            expiration_days: Some(days),
            ..Rule::default()
        }
    }

    #[test]
    fn checks_follow_aws() {
        assert!(check(&[expiring("a", "x/", 1), expiring("b", "x/y/", 2)]).is_ok(), "S3 rules may overlap");
        assert!(check(&[expiring("a", "x/", 1), expiring("a", "y/", 2)]).is_err(), "same id");
        assert!(check(&[expiring(&"i".repeat(256), "x/", 1)]).is_err(), "id too long");
        assert!(check(&[expiring("a", "x/", 0)]).is_err(), "days zero");
        assert!(check(&[Rule { expiration_days: None, ..expiring("a", "x/", 1) }]).is_err(), "no action");
        let dated = Rule { expiration_days: None, expiration_date: Some(20 * DAY), ..expiring("a", "", 1) };
        assert!(check(std::slice::from_ref(&dated)).is_ok());
        assert!(check(&[Rule { expiration_date: Some(20 * DAY + 1), ..dated }]).is_err(), "not midnight");
        let mut tagged = Rule { expired_object_delete_marker: true, ..expiring("a", "", 1) };
        tagged.filter.tags.insert("k".into(), "v".into());
        assert!(check(&[tagged]).is_err());
        let mut sized = expiring("a", "", 1);
        (sized.filter.size_greater_than, sized.filter.size_less_than) = (Some(10), Some(10));
        assert!(check(&[sized]).is_err());
    }

    #[test]
    fn b2_sees_the_rules_it_can_express() {
        let mut tagged = expiring("t", "tagged/", 3);
        tagged.filter.tags.insert("k".into(), "v".into());
        let disabled = Rule { enabled: false, ..expiring("d", "off/", 3) };
        let b2 = b2_rules(&[expiring("plain", "logs/", 7), tagged, disabled]);
        assert_eq!(
            b2,
            [LifecycleRule {
                file_name_prefix: "logs/".into(),
                days_from_uploading_to_hiding: Some(7),
                days_from_hiding_to_deleting: None,
                days_from_starting_to_canceling_unfinished_large_files: None,
            }]
        );
        let back = Rule::from_b2(&b2[0], 0);
        assert_eq!((back.filter.prefix.as_str(), back.expiration_days, back.enabled), ("logs/", Some(7), true));
    }
}

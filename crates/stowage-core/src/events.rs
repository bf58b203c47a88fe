//! Bucket event notifications: which rules an object event matches, and what each matching rule's webhook
//! is sent. The core decides and queues deliveries in the metadata store's outbox; sending them (HTTP,
//! batching, retries) happens outside the core.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::model::{Bucket, FileVersion, Millis, NotificationRule};

/// One event as B2 puts it in a webhook body (`{"events": [...]}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub account_id: String,
    pub bucket_id: String,
    pub bucket_name: String,
    pub event_id: String,
    pub event_timestamp: Millis,
    pub event_type: String,
    pub event_version: u32,
    pub matched_rule_name: String,
    pub object_name: String,
    pub object_size: u64,
    pub object_version_id: String,
}

/// An event bound for one rule's webhook; queued as JSON in the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    pub url: String,
    pub custom_headers: Vec<(String, String)>,
    pub signing_secret: Option<String>,
    /// Events of the same rule may share one request, up to this many (the rule's `maxEventsPerBatch`).
    pub max_events_per_batch: usize,
    /// Names the rule (bucket id and rule name), so a sink batches only events of the same rule.
    pub rule_key: String,
    pub event: Event,
}

/// An event the core emits, by B2's name. A notification rule lists these or a category's wildcard
/// (`b2:ObjectCreated:*`); rules keep the names as clients sent them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Upload,
    MultipartUpload,
    Copy,
    Replica,
    MultipartReplica,
    Delete,
    DeleteByLifecycle,
    Hide,
    HideByLifecycle,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        Self::Upload,
        Self::MultipartUpload,
        Self::Copy,
        Self::Replica,
        Self::MultipartReplica,
        Self::Delete,
        Self::DeleteByLifecycle,
        Self::Hide,
        Self::HideByLifecycle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "b2:ObjectCreated:Upload",
            Self::MultipartUpload => "b2:ObjectCreated:MultipartUpload",
            Self::Copy => "b2:ObjectCreated:Copy",
            Self::Replica => "b2:ObjectCreated:Replica",
            Self::MultipartReplica => "b2:ObjectCreated:MultipartReplica",
            Self::Delete => "b2:ObjectDeleted:Delete",
            Self::DeleteByLifecycle => "b2:ObjectDeleted:LifecycleRule",
            Self::Hide => "b2:HideMarkerCreated:Hide",
            Self::HideByLifecycle => "b2:HideMarkerCreated:LifecycleRule",
        }
    }

    /// The wildcard that covers this event's category (`b2:ObjectCreated:*`).
    pub fn wildcard(self) -> &'static str {
        match self {
            Self::Upload | Self::MultipartUpload | Self::Copy | Self::Replica | Self::MultipartReplica => "b2:ObjectCreated:*",
            Self::Delete | Self::DeleteByLifecycle => "b2:ObjectDeleted:*",
            Self::Hide | Self::HideByLifecycle => "b2:HideMarkerCreated:*",
        }
    }

    /// Whether a rule's entry (an event type or a category's wildcard) covers this event.
    pub fn covered_by(self, rule_type: &str) -> bool {
        rule_type == self.as_str() || rule_type == self.wildcard()
    }

    /// Every name a rule may list, each category's wildcard before its events (the order consoles show).
    pub fn rule_names() -> Vec<&'static str> {
        let mut names = Vec::new();
        for event in Self::ALL {
            if !names.contains(&event.wildcard()) {
                names.push(event.wildcard());
            }
            names.push(event.as_str());
        }
        names
    }
}

/// The rules of a bucket that fire for `event` on `version`.
pub fn matching_rules<'a>(bucket: &'a Bucket, event: EventType, version: &'a FileVersion) -> impl Iterator<Item = &'a NotificationRule> {
    bucket.notification_rules.iter().filter(move |r| {
        r.is_enabled
            && !r.is_suspended
            && version.name.starts_with(&r.object_name_prefix)
            && r.event_types.iter().any(|t| event.covered_by(t))
    })
}

/// The `x-bz-event-notification-signature` value: `v1=` and the hex HMAC-SHA256 of the body.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_their_category_only() {
        assert!(EventType::Copy.covered_by("b2:ObjectCreated:*"));
        assert!(EventType::Upload.covered_by("b2:ObjectCreated:Upload"));
        assert!(!EventType::MultipartUpload.covered_by("b2:ObjectCreated:Upload"));
        assert!(!EventType::Delete.covered_by("b2:ObjectCreated:*"));
    }

    #[test]
    fn rules_may_name_every_event_and_each_category() {
        let names = EventType::rule_names();
        assert_eq!(names.len(), 12);
        assert_eq!(&names[..2], ["b2:ObjectCreated:*", "b2:ObjectCreated:Upload"]);
        assert!(names.contains(&"b2:HideMarkerCreated:*") && names.contains(&"b2:ObjectDeleted:LifecycleRule"));
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(sig, "v1=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}

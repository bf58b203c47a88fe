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

/// Whether a rule's event type (`b2:ObjectCreated:Upload`, or a category wildcard `b2:ObjectCreated:*`)
/// covers an event.
fn covers(rule_type: &str, event_type: &str) -> bool {
    match rule_type.strip_suffix('*') {
        Some(category) => event_type.starts_with(category),
        None => rule_type == event_type,
    }
}

/// The rules of a bucket that fire for an event on `version`.
pub fn matching_rules<'a>(bucket: &'a Bucket, event_type: &str, version: &FileVersion) -> impl Iterator<Item = &'a NotificationRule> {
    let (event_type, name) = (event_type.to_string(), version.name.clone());
    bucket
        .notification_rules
        .iter()
        .filter(move |r| r.is_enabled && name.starts_with(&r.object_name_prefix) && r.event_types.iter().any(|t| covers(t, &event_type)))
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
        assert!(covers("b2:ObjectCreated:*", "b2:ObjectCreated:Copy"));
        assert!(covers("b2:ObjectCreated:Upload", "b2:ObjectCreated:Upload"));
        assert!(!covers("b2:ObjectCreated:Upload", "b2:ObjectCreated:MultipartUpload"));
        assert!(!covers("b2:ObjectCreated:*", "b2:ObjectDeleted:Delete"));
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(sig, "v1=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}

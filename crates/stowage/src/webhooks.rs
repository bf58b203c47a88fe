//! Delivers bucket event notifications to their webhooks: B2's body (`{"events": [...]}`), the rule's custom
//! headers, and `x-bz-event-notification-signature` when the rule has a signing secret. Events of one rule
//! that are waiting together share a request, up to the rule's `maxEventsPerBatch`. Delivery is best effort:
//! a few retries with back-off, and events still queued when the process stops are lost.

use std::sync::Arc;
use std::time::Duration;

use stowage_core::events::{Delivery, EventSink, signature};
use tokio::sync::mpsc;

/// Events waiting beyond this are dropped (and logged) rather than growing memory without bound.
const QUEUE: usize = 10_000;
const RETRY_DELAYS: [Duration; 3] = [Duration::from_millis(500), Duration::from_secs(2), Duration::from_secs(10)];
/// How long to let events gather when a rule takes batches.
const GATHER: Duration = Duration::from_millis(100);

pub struct WebhookSender {
    queue: mpsc::Sender<Delivery>,
}

impl EventSink for WebhookSender {
    fn send(&self, delivery: Delivery) {
        if let Err(err) = self.queue.try_send(delivery) {
            tracing::warn!(%err, "event notification dropped: the webhook queue is full");
        }
    }
}

/// Starts the delivery task on the current runtime.
pub fn start() -> anyhow::Result<Arc<WebhookSender>> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let (queue, waiting) = mpsc::channel(QUEUE);
    tokio::spawn(run(client, waiting));
    Ok(Arc::new(WebhookSender { queue }))
}

async fn run(client: reqwest::Client, mut waiting: mpsc::Receiver<Delivery>) {
    while let Some(first) = waiting.recv().await {
        if first.max_events_per_batch > 1 {
            tokio::time::sleep(GATHER).await;
        }
        let mut ready = vec![first];
        while ready.len() < QUEUE
            && let Ok(next) = waiting.try_recv()
        {
            ready.push(next);
        }
        for batch in batches(ready) {
            // Each request on its own task: one slow webhook does not hold up the others.
            tokio::spawn(post(client.clone(), batch));
        }
    }
}

/// Groups deliveries by rule, in arrival order, into requests of at most the rule's batch size.
fn batches(ready: Vec<Delivery>) -> Vec<Vec<Delivery>> {
    let mut out: Vec<Vec<Delivery>> = Vec::new();
    for delivery in ready {
        let open = out.iter_mut().rev().find(|b| b[0].rule_key == delivery.rule_key && b.len() < delivery.max_events_per_batch);
        match open {
            Some(batch) => batch.push(delivery),
            None => out.push(vec![delivery]),
        }
    }
    out
}

async fn post(client: reqwest::Client, batch: Vec<Delivery>) {
    let Some(first) = batch.first() else { return };
    let events: Vec<_> = batch.iter().map(|d| &d.event).collect();
    let Ok(body) = serde_json::to_vec(&serde_json::json!({ "events": events })) else { return };
    for attempt in 0..=RETRY_DELAYS.len() {
        let mut request = client.post(&first.url).header("content-type", "application/json");
        for (name, value) in &first.custom_headers {
            request = request.header(name, value);
        }
        if let Some(secret) = &first.signing_secret {
            request = request.header("x-bz-event-notification-signature", signature(secret, &body));
        }
        match request.body(body.clone()).send().await {
            Ok(response) if response.status().is_success() => return,
            Ok(response) => tracing::warn!(url = %first.url, status = %response.status(), attempt, "webhook refused an event notification"),
            Err(err) => tracing::warn!(url = %first.url, %err, attempt, "webhook unreachable"),
        }
        if let Some(delay) = RETRY_DELAYS.get(attempt) {
            tokio::time::sleep(*delay).await;
        }
    }
    tracing::error!(url = %first.url, events = batch.len(), "event notifications not delivered; giving up");
}

#[cfg(test)]
mod tests {
    use super::*;
    use stowage_core::events::Event;

    fn delivery(rule: &str, max: usize, n: u64) -> Delivery {
        Delivery {
            url: String::new(),
            custom_headers: Vec::new(),
            signing_secret: None,
            max_events_per_batch: max,
            rule_key: rule.into(),
            event: Event {
                account_id: String::new(),
                bucket_id: String::new(),
                bucket_name: String::new(),
                event_id: n.to_string(),
                event_timestamp: 0,
                event_type: String::new(),
                event_version: 1,
                matched_rule_name: rule.into(),
                object_name: String::new(),
                object_size: n,
                object_version_id: String::new(),
            },
        }
    }

    #[test]
    fn batches_keep_rules_apart_and_respect_their_size() {
        let ready = vec![delivery("a", 2, 1), delivery("b", 1, 2), delivery("a", 2, 3), delivery("a", 2, 4), delivery("b", 1, 5)];
        let sizes: Vec<Vec<u64>> = batches(ready).iter().map(|b| b.iter().map(|d| d.event.object_size).collect()).collect();
        assert_eq!(sizes, vec![vec![1, 3], vec![2], vec![4], vec![5]]);
    }
}

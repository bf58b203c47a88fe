//! Delivers bucket event notifications from the metadata store's outbox to their webhooks: B2's body
//! (`{"events": [...]}`), the rule's custom headers, and `x-bz-event-notification-signature` when the rule
//! has a signing secret. Queued events of one rule share a request, up to the rule's `maxEventsPerBatch`.
//! Only the node holding the `event-delivery` lease sends. A request that fails is retried a few times with
//! back-off; when every try failed the rule is suspended (B2's `isSuspended`, with the reason) and its events
//! stay queued until the rules are set again. An event leaves the outbox only once delivered, so events
//! survive restarts and the death of the sending node (whose successor may send an event it had sent again:
//! at least once).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stowage_core::Stowage;
use stowage_core::events::{Delivery, signature};

const RETRY_DELAYS: [Duration; 3] = [Duration::from_millis(500), Duration::from_secs(2), Duration::from_secs(10)];
/// The same tries in quick succession, for a server started with `--test-hooks` (tests of suspension).
const QUICK_RETRY_DELAYS: [Duration; 3] = [Duration::from_millis(100), Duration::from_millis(200), Duration::from_millis(400)];
/// How often the outbox is read while this node sends.
const POLL: Duration = Duration::from_millis(200);
/// The delivery lease lasts this long and is renewed every `RENEW`, so it moves within 10 s of a node dying.
const LEASE_MILLIS: i64 = 10_000;
const RENEW: Duration = Duration::from_secs(3);
/// Most outbox records read at once.
const READ_LIMIT: usize = 1000;

/// Starts the delivery loop on the current runtime.
pub fn start(core: Arc<Stowage>, node: String, quick_retries: bool) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let delays = if quick_retries { QUICK_RETRY_DELAYS } else { RETRY_DELAYS };
    tokio::spawn(run(core, node, client, delays));
    Ok(())
}

async fn run(core: Arc<Stowage>, node: String, client: reqwest::Client, delays: [Duration; 3]) {
    // Rules whose events are being sent right now: their later events wait, so each webhook gets its
    // rule's events in the order they happened.
    let sending: Arc<Mutex<HashSet<String>>> = Arc::default();
    let (mut held, mut renew_at) = (false, Instant::now());
    loop {
        if Instant::now() >= renew_at {
            held = core.hold_lease("event-delivery", &node, LEASE_MILLIS).await.unwrap_or_else(|e| {
                tracing::warn!("cannot take the event delivery lease: {e}");
                false
            });
            renew_at = Instant::now() + RENEW;
        }
        if held {
            match core.pending_deliveries(READ_LIMIT).await {
                Ok(pending) => {
                    let mut by_rule: Vec<(String, Vec<(i64, Delivery)>)> = Vec::new();
                    if let Ok(mut busy) = sending.lock() {
                        for (seq, delivery) in pending {
                            if busy.contains(&delivery.rule_key) && !by_rule.iter().any(|(rule, _)| *rule == delivery.rule_key) {
                                continue;
                            }
                            match by_rule.iter_mut().find(|(rule, _)| *rule == delivery.rule_key) {
                                Some((_, queued)) => queued.push((seq, delivery)),
                                None => {
                                    busy.insert(delivery.rule_key.clone());
                                    by_rule.push((delivery.rule_key.clone(), vec![(seq, delivery)]));
                                }
                            }
                        }
                    }
                    for (rule, queued) in by_rule {
                        let (client, core, sending) = (client.clone(), core.clone(), sending.clone());
                        // Each rule on its own task: one slow webhook does not hold up the others.
                        tokio::spawn(async move {
                            for batch in batches(queued) {
                                let seqs: Vec<i64> = batch.iter().map(|(seq, _)| *seq).collect();
                                let (bucket_id, rule_name) =
                                    (batch[0].1.event.bucket_id.clone(), batch[0].1.event.matched_rule_name.clone());
                                if let Err(reason) = post(client.clone(), batch.into_iter().map(|(_, d)| d).collect(), &delays).await {
                                    // Kept queued: they go once the rule is set again.
                                    if let Err(e) = core.suspend_notification_rule(&bucket_id, &rule_name, &reason).await {
                                        tracing::warn!(rule = %rule_name, "cannot suspend a failing notification rule: {e}");
                                    }
                                    break;
                                }
                                if let Err(e) = core.forget_deliveries(&seqs).await {
                                    tracing::warn!("sent event notifications stay queued (they may be sent again): {e}");
                                }
                            }
                            if let Ok(mut busy) = sending.lock() {
                                busy.remove(&rule);
                            }
                        });
                    }
                }
                Err(e) => tracing::debug!("cannot read queued event notifications: {e}"),
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Groups deliveries by rule, in queue order, into requests of at most the rule's batch size.
fn batches(ready: Vec<(i64, Delivery)>) -> Vec<Vec<(i64, Delivery)>> {
    let mut out: Vec<Vec<(i64, Delivery)>> = Vec::new();
    for (seq, delivery) in ready {
        let open = out.iter_mut().rev().find(|b| b[0].1.rule_key == delivery.rule_key && b.len() < delivery.max_events_per_batch);
        match open {
            Some(batch) => batch.push((seq, delivery)),
            None => out.push(vec![(seq, delivery)]),
        }
    }
    out
}

/// Sends one batch, trying again after each of `delays`; the last failure's description if none worked.
async fn post(client: reqwest::Client, batch: Vec<Delivery>, delays: &[Duration]) -> Result<(), String> {
    let Some(first) = batch.first() else { return Ok(()) };
    let events: Vec<_> = batch.iter().map(|d| &d.event).collect();
    let body = serde_json::to_vec(&serde_json::json!({ "events": events })).map_err(|e| e.to_string())?;
    let mut last = String::new();
    for attempt in 0..=delays.len() {
        let mut request = client.post(&first.url).header("content-type", "application/json");
        for (name, value) in &first.custom_headers {
            request = request.header(name, value);
        }
        if let Some(secret) = &first.signing_secret {
            request = request.header("x-bz-event-notification-signature", signature(secret, &body));
        }
        match request.body(body.clone()).send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => {
                tracing::warn!(url = %first.url, status = %response.status(), attempt, "webhook refused an event notification");
                last = format!("the webhook answered {}", response.status());
            }
            Err(err) => {
                tracing::warn!(url = %first.url, %err, attempt, "webhook unreachable");
                last = format!("the webhook could not be reached: {err}");
            }
        }
        if let Some(delay) = delays.get(attempt) {
            tokio::time::sleep(*delay).await;
        }
    }
    tracing::error!(url = %first.url, events = batch.len(), "event notifications not delivered; the rule is suspended");
    Err(format!("{last} on {} tries in a row", delays.len() + 1))
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
        let ready = [delivery("a", 2, 1), delivery("b", 1, 2), delivery("a", 2, 3), delivery("a", 2, 4), delivery("b", 1, 5)];
        let queued: Vec<(i64, Delivery)> = ready.into_iter().enumerate().map(|(i, d)| (i as i64, d)).collect();
        let sizes: Vec<Vec<u64>> = batches(queued).iter().map(|b| b.iter().map(|(_, d)| d.event.object_size).collect()).collect();
        assert_eq!(sizes, vec![vec![1, 3], vec![2], vec![4], vec![5]]);
    }
}

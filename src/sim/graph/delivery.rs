//! Delivering change notifications: one task reads the queue, applies the notification
//! faults (lost, duplicated, delayed) and POSTs each collection to its subscriber.
//!
//! Like Graph, which delivers a `changeNotificationCollection`, notifications queued
//! together for one URL travel in one POST (at most [`MAX_PER_POST`]). While notification
//! faults are planned, each notification travels alone so a fault hits exactly one.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::core::{lock, Core, Delivery, NotificationRecord};

/// The most notifications one POST carries.
pub(crate) const MAX_PER_POST: usize = 100;

fn describe(item: &serde_json::Value) -> (String, String) {
    let kind = item["changeType"]
        .as_str()
        .or_else(|| item["lifecycleEvent"].as_str())
        .unwrap_or("unknown")
        .to_owned();
    (
        item["subscriptionId"].as_str().unwrap_or("").to_owned(),
        kind,
    )
}

async fn post(core: &Core, delivery: &Delivery) -> bool {
    core.http
        .post(&delivery.url)
        .json(&delivery.body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// The notifications of `delivery`'s collection.
fn items(delivery: &mut Delivery) -> Vec<serde_json::Value> {
    match delivery.body["value"].take() {
        serde_json::Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// Adds the deliveries already queued for `delivery`'s URL to its collection; the first
/// one for another URL is returned to be sent next.
fn gather(
    delivery: &mut Delivery,
    queue: &mut mpsc::UnboundedReceiver<Delivery>,
) -> Option<Delivery> {
    let mut value = items(delivery);
    let mut other = None;
    while value.len() < MAX_PER_POST {
        match queue.try_recv() {
            Ok(next) if next.url == delivery.url => {
                let mut next = next;
                value.extend(items(&mut next));
            }
            Ok(next) => {
                other = Some(next);
                break;
            }
            Err(_) => break,
        }
    }
    delivery.body["value"] = serde_json::Value::Array(value);
    other
}

/// Runs until the queue closes.
pub(crate) async fn run(core: Arc<Core>, mut queue: mpsc::UnboundedReceiver<Delivery>) {
    let mut held: Option<Delivery> = None;
    loop {
        let mut delivery = match held.take() {
            Some(delivery) => delivery,
            None => match queue.recv().await {
                Some(delivery) => delivery,
                None => return,
            },
        };
        let decision = {
            let mut state = core.state();
            if state.faults.plan.deliveries.is_empty() {
                held = gather(&mut delivery, &mut queue);
            }
            state.faults.delivery_decision()
        };
        let records: Vec<NotificationRecord> = delivery.body["value"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|item| {
                let (subscription_id, kind) = describe(item);
                NotificationRecord {
                    subscription_id,
                    kind,
                    outcome: if decision.lose { "lost" } else { "delivered" }.into(),
                    duplicate: decision.duplicate,
                    delayed_ms: decision.delay_ms,
                }
            })
            .collect();
        if decision.lose {
            lock(&core.log).extend(records);
            continue;
        }
        let core = core.clone();
        let send = async move {
            if decision.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(decision.delay_ms)).await;
            }
            let mut ok = post(&core, &delivery).await;
            if decision.duplicate {
                ok &= post(&core, &delivery).await;
            }
            let mut records = records;
            if !ok {
                for record in &mut records {
                    record.outcome = "failed".into();
                }
            }
            lock(&core.log).extend(records);
        };
        if decision.delay_ms > 0 {
            tokio::spawn(send);
        } else {
            send.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn delivery(url: &str, n: usize) -> Delivery {
        Delivery {
            url: url.to_owned(),
            body: json!({ "value": [{ "id": n.to_string() }] }),
        }
    }

    #[test]
    fn notifications_queued_together_for_one_url_travel_in_one_collection() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for (url, n) in [("a", 2), ("a", 3), ("b", 4), ("a", 5)] {
            tx.send(delivery(url, n)).unwrap();
        }
        let mut first = delivery("a", 1);
        let held = gather(&mut first, &mut rx).expect("the delivery for b is held");
        let ids: Vec<_> = first.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            ids,
            ["1", "2", "3"],
            "in queue order, up to the first other URL"
        );
        assert_eq!(held.url, "b");
        let mut next = rx.try_recv().unwrap();
        assert!(gather(&mut next, &mut rx).is_none());
        assert_eq!(next.body["value"][0]["id"], "5");
    }

    #[test]
    fn a_collection_carries_at_most_its_limit() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for n in 1..=MAX_PER_POST + 5 {
            tx.send(delivery("a", n)).unwrap();
        }
        let mut first = delivery("a", 0);
        assert!(gather(&mut first, &mut rx).is_none());
        assert_eq!(first.body["value"].as_array().unwrap().len(), MAX_PER_POST);
        assert_eq!(rx.len(), 6, "the rest waits for the next POST");
    }
}

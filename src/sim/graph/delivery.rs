//! Delivering change notifications: one task reads the queue, applies the notification
//! faults (lost, duplicated, delayed) and POSTs each collection to its subscriber.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::core::{lock, Core, Delivery, NotificationRecord};
use super::faults::NotificationFaultKind;

fn describe(delivery: &Delivery) -> (String, String) {
    let item = &delivery.body["value"][0];
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

/// Runs until the queue closes.
pub(crate) async fn run(core: Arc<Core>, mut queue: mpsc::UnboundedReceiver<Delivery>) {
    while let Some(delivery) = queue.recv().await {
        let fault = core.state().faults.notification();
        let (subscription_id, kind) = describe(&delivery);
        let mut record = NotificationRecord {
            subscription_id,
            kind,
            outcome: "delivered".into(),
            duplicate: false,
            delayed_ms: 0,
        };
        match fault {
            Some(NotificationFaultKind::Lose) => {
                record.outcome = "lost".into();
                lock(&core.log).push(record);
            }
            Some(NotificationFaultKind::Delay { millis }) => {
                record.delayed_ms = millis;
                let core = core.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(millis)).await;
                    if !post(&core, &delivery).await {
                        record.outcome = "failed".into();
                    }
                    lock(&core.log).push(record);
                });
            }
            other => {
                let duplicate = matches!(other, Some(NotificationFaultKind::Duplicate));
                let mut ok = post(&core, &delivery).await;
                if duplicate {
                    ok &= post(&core, &delivery).await;
                }
                record.duplicate = duplicate;
                if !ok {
                    record.outcome = "failed".into();
                }
                lock(&core.log).push(record);
            }
        }
    }
}

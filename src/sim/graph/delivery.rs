//! Delivering change notifications: one task reads the queue, applies the notification
//! faults (lost, duplicated, delayed) and POSTs each collection to its subscriber.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::core::{lock, Core, Delivery, NotificationRecord};

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
        let decision = core.state().faults.delivery_decision();
        let (subscription_id, kind) = describe(&delivery);
        let mut record = NotificationRecord {
            subscription_id,
            kind,
            outcome: "delivered".into(),
            duplicate: decision.duplicate,
            delayed_ms: decision.delay_ms,
        };
        if decision.lose {
            record.outcome = "lost".into();
            lock(&core.log).push(record);
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
            if !ok {
                record.outcome = "failed".into();
            }
            lock(&core.log).push(record);
        };
        if decision.delay_ms > 0 {
            tokio::spawn(send);
        } else {
            send.await;
        }
    }
}

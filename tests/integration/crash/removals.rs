//! Pending removals survive a SIGKILL: a deactivated user's Graph subscription whose
//! delete keeps failing, and a deleted space's Pipeliner webhook, are still removed
//! upstream after exsync is killed and started again on the same data dir.

use exsync::demo::world::PIPELINER_SPACE;
use exsync::sim::graph::{FaultKind, FaultRule};
use exsync::sim::pipeliner::{FaultKind as CrmFault, FaultRule as CrmRule};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::rig::{CrashRig, PATIENCE, USER};

/// The status lists `count` pending removals, each failed at least once.
fn failed(count: usize) -> impl Fn(&Value) -> bool {
    move |status| {
        let items = status["pending_removals"]["items"].as_array();
        items.is_some_and(|items| {
            items.len() == count && items.iter().all(|i| i["last_error"].is_string())
        })
    }
}

/// A rig with Ann activated and both registrations made upstream.
async fn registered(seed: u64) -> CrashRig {
    let rig = CrashRig::start_with_hooks(seed).await;
    rig.activate(true).await;
    rig.until(
        "Ann is subscribed and the space has its webhook",
        PATIENCE,
        || {
            rig.world.graph().subscriptions().len() == 1
                && rig
                    .world
                    .crm()
                    .webhooks(PIPELINER_SPACE)
                    .is_ok_and(|w| w.len() == 1)
        },
    )
    .await;
    rig
}

#[actix_web::test]
async fn a_failing_removal_survives_a_kill_and_is_done_after_the_restart() {
    let mut rig = registered(301).await;
    rig.world.graph().add_fault(FaultRule {
        route: "subscriptions.delete".into(),
        kind: FaultKind::Error {
            status: 503,
            retry_after_secs: None,
        },
        rate: 1.0,
        count: None,
        skip: 0,
    });
    rig.world.crm().add_fault(CrmRule {
        route: "webhooks.delete".into(),
        kind: CrmFault::Error {
            status: 503,
            retry_after_secs: None,
        },
        rate: 1.0,
        count: None,
        skip: 0,
    });
    let (code, body) = rig.call(Method::DELETE, USER, None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (code, body) = rig.call(Method::DELETE, "/api/v1/spaces/acme", None).await;
    assert_eq!(code, StatusCode::NO_CONTENT, "{body}");
    rig.until_answer(
        "/api/v1/status",
        "both removals failed once",
        PATIENCE,
        failed(2),
    )
    .await;

    rig.kill();
    rig.world.graph().clear_faults();
    rig.world.crm().clear_faults();
    rig.restart().await;
    rig.until("nothing of exsync's is left upstream", PATIENCE, || {
        rig.world.graph().subscriptions().is_empty()
            && rig
                .world
                .crm()
                .webhooks(PIPELINER_SPACE)
                .is_ok_and(|w| w.is_empty())
    })
    .await;
    rig.until_answer("/api/v1/status", "no removal is pending", PATIENCE, |s| {
        s["pending_removals"]["count"] == 0
    })
    .await;
    rig.stop().await;
}

#[actix_web::test]
async fn a_removal_acknowledged_just_before_a_kill_is_done_after_the_restart() {
    let mut rig = registered(302).await;
    let (code, body) = rig.call(Method::DELETE, USER, None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    // Killed as soon as the admin call is answered, before any sweep could run.
    rig.kill();
    rig.restart().await;
    rig.until("Ann's subscription is gone upstream", PATIENCE, || {
        rig.world.graph().subscriptions().is_empty()
    })
    .await;
    rig.until_answer("/api/v1/status", "no removal is pending", PATIENCE, |s| {
        s["pending_removals"]["count"] == 0
    })
    .await;
    rig.stop().await;
}

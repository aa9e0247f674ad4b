//! Webhook receivers for the upstreams. They need no admin token: Graph notifications are
//! checked against the subscription's secret `clientState` ([`graph`]), Pipeliner
//! deliveries against the HMAC-SHA256 `WebHook-Signature` keyed by the space's webhook
//! signature ([`pipeliner`]). Accepted notifications are handed to the user's actor, which
//! runs a (debounced) cycle.

pub mod graph;
pub mod pipeliner;

use actix_web::web;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

pub use graph::{Validation, MAX_VALIDATION_TOKEN};
pub use pipeliner::{
    signature_matches, MAX_EVENT_ENVELOPE, MAX_LOAD_ONLY_CONTACT, MAX_PIPELINER_DELIVERY,
    SIGNATURE_HEADER,
};

/// Registers the webhook routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(graph::graph_notifications)
        .service(graph::graph_lifecycle)
        .service(
            scope("/webhooks/pipeliner")
                .app_data(web::PayloadConfig::new(MAX_PIPELINER_DELIVERY))
                .service(pipeliner::pipeliner_delivery),
        );
}

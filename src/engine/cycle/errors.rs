//! Turning upstream and store failures into cycle errors that say what to fix.

use crate::connectors::graph::GraphError;
use crate::connectors::pipeliner::PipelinerError;
use crate::engine::runner::CycleError;
use crate::store::StoreError;

/// `error` as the first sentence of a message, then `advice`: upstream messages often
/// end with a stop of their own ("…was not found."), which must not be doubled.
pub fn advise(error: &impl std::fmt::Display, advice: &str) -> String {
    let error = error.to_string();
    let error = error.trim_end().trim_end_matches(['.', ' ']);
    format!("{error}. {advice}")
}

/// A store failure.
pub fn store_failed(e: StoreError) -> CycleError {
    CycleError::new("store_failed", format!("exsync's data store failed: {e}"))
}

/// A Graph failure, with advice.
pub fn graph_failed(e: GraphError) -> CycleError {
    match &e {
        GraphError::SignIn { .. } => CycleError::new(
            "graph_sign_in_failed",
            advise(
                &e,
                "Check the space's Microsoft tenant id, client id and client secret.",
            ),
        ),
        GraphError::Denied { .. } => CycleError::new(
            "graph_access_denied",
            advise(
                &e,
                "Grant the app the Contacts.ReadWrite application permission with admin \
                 consent, and make sure no access policy excludes this mailbox.",
            ),
        ),
        GraphError::NotFound { .. } => CycleError::new(
            "mailbox_or_folder_not_found",
            advise(
                &e,
                "Check the user's e-mail address and the chosen contacts folder.",
            ),
        ),
        GraphError::Throttled { .. } => CycleError::new(
            "graph_throttled",
            advise(&e, "exsync backs off and tries again."),
        ),
        GraphError::Transport(_) | GraphError::Timeout => CycleError::new(
            "graph_unreachable",
            advise(
                &e,
                "Check the space's Graph and login URLs and the network.",
            ),
        ),
        _ => CycleError::new("graph_failed", e.to_string()),
    }
}

/// A Pipeliner failure, with advice.
pub fn pipeliner_failed(e: PipelinerError) -> CycleError {
    match &e {
        PipelinerError::Unauthorized { .. } => CycleError::new(
            "pipeliner_credentials_rejected",
            advise(&e, "Check the space's Pipeliner API key and secret."),
        ),
        PipelinerError::Forbidden { .. } => CycleError::new(
            "pipeliner_access_denied",
            advise(
                &e,
                "Give the Pipeliner application access to contacts, clients and fields.",
            ),
        ),
        PipelinerError::NotFound { .. } => CycleError::new(
            "pipeliner_space_not_found",
            advise(&e, "Check the space's Pipeliner service URL and space id."),
        ),
        PipelinerError::Transport(_) | PipelinerError::Timeout => CycleError::new(
            "pipeliner_unreachable",
            advise(
                &e,
                "Check the space's Pipeliner service URL and the network.",
            ),
        ),
        _ => CycleError::new("pipeliner_failed", e.to_string()),
    }
}

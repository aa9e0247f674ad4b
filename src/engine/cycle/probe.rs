//! The connection test run at activation: sign in to Graph, reach the mailbox (and the
//! chosen folder), then sign in to Pipeliner and find the user. Each failure names what to
//! fix. Short timeouts, and only an upstream that could not be reached at all (connection
//! refused or reset, timeout) is tried again, a few times with the shared backoff: one
//! dropped connection should not fail an activation, while a wrong secret or an unknown
//! mailbox answers at once, since the admin is waiting.

use std::future::Future;
use std::time::Duration;

use super::errors::graph_failed;
use super::resolve::find_owner;
use super::{ClientCache, ClientOptions, SyncCycle};
use crate::connectors::retry::{Retriable, RetryAdvice, RetryPolicy};
use crate::engine::runner::CycleError;
use crate::store::spaces::SpaceRecord;
use crate::sync::user_settings::FolderChoice;

/// What an activation asks to be tested.
#[derive(Debug, Clone)]
pub struct ProbeTarget<'a> {
    /// The mailbox.
    pub email: &'a str,
    /// The Pipeliner Client id, when given.
    pub pipeliner_user_id: Option<&'a str>,
    /// The chosen folder.
    pub folder: &'a FolderChoice,
}

/// How often a probe step that could not reach its upstream is tried again.
pub const PROBE_RETRIES: usize = 2;

/// The longest wait between two tries of a probe step.
const PROBE_MAX_DELAY: Duration = Duration::from_secs(2);

/// A failed probe step: tried again only when its upstream was unreachable.
struct Step(CycleError);

impl Retriable for Step {
    fn advice(&self) -> RetryAdvice {
        if is_unreachable(&self.0) {
            RetryAdvice::Backoff
        } else {
            RetryAdvice::Fail
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.code, self.0.message)
    }
}

/// Whether a failure means the upstream was not reached (`graph_unreachable`,
/// `pipeliner_unreachable`): transport errors and timeouts.
fn is_unreachable(err: &CycleError) -> bool {
    matches!(
        err.code.as_str(),
        "graph_unreachable" | "pipeliner_unreachable"
    )
}

impl SyncCycle {
    /// Tests that the user can sync with the space's credentials.
    pub async fn probe(
        &self,
        space: &SpaceRecord,
        target: ProbeTarget<'_>,
    ) -> Result<(), CycleError> {
        let options = ClientOptions {
            retry: RetryPolicy::none(),
            timeout: Duration::from_secs(15),
            ..self.options.clone()
        };
        // The shared policy, shortened: each step is tried at most 1 + PROBE_RETRIES times.
        let retry = RetryPolicy {
            max_retries: self.options.retry.max_retries.min(PROBE_RETRIES),
            max_delay: self.options.retry.max_delay.min(PROBE_MAX_DELAY),
            ..self.options.retry
        };
        let clients = ClientCache::default().get(&self.store, space, &self.clock, &options)?;
        step(&retry, "probe: list folders", || async {
            clients
                .graph
                .list_folders(target.email)
                .await
                .map_err(graph_failed)
        })
        .await?;
        if let FolderChoice::Existing(id) = target.folder {
            step(&retry, "probe: get folder", || async {
                clients
                    .graph
                    .get_folder(target.email, id)
                    .await
                    .map_err(graph_failed)
            })
            .await?;
        }
        step(&retry, "probe: find the Pipeliner user", || {
            find_owner(&clients.pipeliner, target.pipeliner_user_id, target.email)
        })
        .await?;
        Ok(())
    }
}

/// Runs one probe step, again while its upstream is unreachable and tries are left.
async fn step<T, F, Fut>(retry: &RetryPolicy, what: &str, attempt: F) -> Result<T, CycleError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CycleError>>,
{
    let mut attempt = attempt;
    retry
        .run(what, || {
            let tried = attempt();
            async move { tried.await.map_err(Step) }
        })
        .await
        .map_err(|Step(e)| e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreachable_upstreams_are_tried_again() {
        let err = |code: &str| Step(CycleError::new(code, "x"));
        assert_eq!(err("graph_unreachable").advice(), RetryAdvice::Backoff);
        assert_eq!(err("pipeliner_unreachable").advice(), RetryAdvice::Backoff);
        for code in [
            "graph_sign_in_failed",
            "mailbox_or_folder_not_found",
            "pipeliner_user_not_found",
            "graph_throttled",
        ] {
            assert_eq!(err(code).advice(), RetryAdvice::Fail, "{code}");
        }
    }
}

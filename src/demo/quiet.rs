//! The demo's logger: production's text format and filter, minus the request lines of the
//! demo's own journal reads. [`super::watch`] reads each user's journal a few times a
//! second to print the change lines; logging each of those reads would bury the lines it
//! prints. Answered `GET /api/v1/spaces/acme/users/{ann,bo}/events` requests are left out
//! of the demo's log (the same request made from Swagger UI too); everything else is
//! logged as `serve` logs it.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{fmt, EnvFilter};

use super::{SPACE, USERS};
use crate::telemetry::DemoteFrameworkErrors;

/// The target of the per-request log lines.
const REQUEST_LOG: &str = "exsync::http::request_log";

/// Installs the demo's global subscriber, writing text to stderr.
pub fn init(filter: &str) -> Result<(), String> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| format!("the log filter {filter:?} is invalid: {e}"))?;
    fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .event_format(HideJournalReads(DemoteFrameworkErrors(Format::default())))
        .try_init()
        .map_err(|e| format!("cannot install the logger: {e}"))
}

/// Whether a request line is one of the watcher's journal reads.
pub fn is_journal_read(method: &str, path: &str, status: &str) -> bool {
    method == "GET"
        && status == "200"
        && USERS
            .iter()
            .any(|(user, _)| path == format!("/api/v1/spaces/{SPACE}/users/{user}/events"))
}

/// An event format that writes nothing for the watcher's journal reads and passes every
/// other event to the format it wraps.
#[derive(Debug, Clone, Default)]
pub struct HideJournalReads<F>(pub F);

impl<S, N, F> FormatEvent<S, N> for HideJournalReads<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        if event.metadata().target() == REQUEST_LOG {
            let mut request = Request::default();
            event.record(&mut request);
            if is_journal_read(&request.method, &request.path, &request.status) {
                return Ok(());
            }
        }
        self.0.format_event(ctx, writer, event)
    }
}

/// The fields of a request line.
#[derive(Default)]
struct Request {
    method: String,
    path: String,
    status: String,
}

impl Request {
    fn slot(&mut self, field: &Field) -> Option<&mut String> {
        match field.name() {
            "method" => Some(&mut self.method),
            "path" => Some(&mut self.path),
            "status" => Some(&mut self.status),
            _ => None,
        }
    }
}

impl Visit for Request {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if let Some(slot) = self.slot(field) {
            slot.clear();
            let _ = write!(slot, "{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if let Some(slot) = self.slot(field) {
            value.clone_into(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_answered_journal_reads_of_the_demo_users_are_hidden() {
        assert!(is_journal_read(
            "GET",
            "/api/v1/spaces/acme/users/ann/events",
            "200"
        ));
        assert!(is_journal_read(
            "GET",
            "/api/v1/spaces/acme/users/bo/events",
            "200"
        ));
        assert!(!is_journal_read(
            "GET",
            "/api/v1/spaces/acme/users/ann/events",
            "401"
        ));
        assert!(!is_journal_read(
            "GET",
            "/api/v1/spaces/acme/users/ann",
            "200"
        ));
        assert!(!is_journal_read(
            "POST",
            "/api/v1/spaces/acme/users/ann/sync",
            "200"
        ));
    }
}

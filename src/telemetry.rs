//! Log output: a `tracing` subscriber filtered by `EXSYNC_LOG`, as text or JSON lines.
//! Secrets never reach it: they travel as `SecretString`, whose `Debug` is redacted.
//!
//! The HTTP framework logs a request it cannot even parse (a request line over the
//! 65,534 bytes a URI may have, a broken chunk) at ERROR, though nothing is wrong with
//! exsync: such lines are written as warnings instead ([`DemoteFrameworkErrors`]), so an
//! ERROR line always means exsync needs attention.

use std::fmt::Write as _;

use tracing::callsite::{Callsite, Identifier};
use tracing::field::{Field, FieldSet, Visit};
use tracing::metadata::Kind;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::fmt::format::{Format, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Installs the global subscriber, writing to stderr.
pub fn init(filter: &str, format: LogFormat) -> Result<(), String> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| format!("the log filter {filter:?} is invalid: {e}"))?;
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder
            .event_format(DemoteFrameworkErrors(Format::default()))
            .try_init(),
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(DemoteFrameworkErrors(
                Format::default().json().flatten_event(true),
            ))
            .try_init(),
    };
    result.map_err(|e| format!("cannot install the logger: {e}"))
}

/// The crate whose ERROR events are about one connection a client broke, not about exsync.
const FRAMEWORK_TARGET: &str = "actix_http";

/// An event format that writes the HTTP framework's ERROR events at WARN level and passes
/// every other event to the format it wraps unchanged.
#[derive(Debug, Clone, Default)]
pub struct DemoteFrameworkErrors<F>(pub F);

impl<S, N, F> FormatEvent<S, N> for DemoteFrameworkErrors<F>
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
        let meta = event.metadata();
        if *meta.level() != Level::ERROR || !is_framework(meta.target()) {
            return self.0.format_event(ctx, writer, event);
        }
        let Some(message) = DEMOTED.fields().field("message") else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut text = Text::default();
        event.record(&mut text);
        let values = [(&message, Some(&text.0 as &dyn tracing::Value))];
        let values = DEMOTED.fields().value_set(&values);
        self.0
            .format_event(ctx, writer, &Event::new(&DEMOTED, &values))
    }
}

fn is_framework(target: &str) -> bool {
    target
        .strip_prefix(FRAMEWORK_TARGET)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// An event's fields as one line of text, the message first.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }
}

/// The callsite of the demoted events.
struct DemotedCallsite;

impl Callsite for DemotedCallsite {
    fn set_interest(&self, _: Interest) {}

    fn metadata(&self) -> &Metadata<'_> {
        &DEMOTED
    }
}

static DEMOTED_CALLSITE: DemotedCallsite = DemotedCallsite;

/// What a demoted event is written as: a warning of the framework.
static DEMOTED: Metadata<'static> = Metadata::new(
    "framework error, demoted",
    FRAMEWORK_TARGET,
    Level::WARN,
    None,
    None,
    None,
    FieldSet::new(&["message"], Identifier(&DEMOTED_CALLSITE)),
    Kind::EVENT,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_framework_s_targets_are_demoted() {
        assert!(is_framework("actix_http"));
        assert!(is_framework("actix_http::h1::dispatcher"));
        assert!(!is_framework("actix_http_other"));
        assert!(!is_framework("exsync::http"));
    }
}

//! The label values of exsync's metrics: small closed enums, so that every series exists
//! from start-up, recording is an array index and an atomic add, and no label can carry a
//! user id, an e-mail or a URL.

use prometheus_client::encoding::EncodeLabelSet;

/// Declares a closed set of label values: the enum, its values in order (`ALL`), each
/// value's text, and its encoding as a label value.
macro_rules! label_values {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order (the index of each is `value as usize`).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// How many values there are.
            pub const COUNT: usize = Self::ALL.len();

            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::prometheus_client::encoding::EncodeLabelValue for $name {
            fn encode(
                &self,
                encoder: &mut ::prometheus_client::encoding::LabelValueEncoder,
            ) -> Result<(), std::fmt::Error> {
                std::fmt::Write::write_str(encoder, self.as_str())
            }
        }
    };
}

label_values! {
    /// A user's life-cycle state, as the store holds it.
    UserStateLabel {
        /// Syncing.
        Activated => "activated",
        /// Stopped by an admin.
        Paused => "paused",
        /// The last cycle failed.
        Error => "error",
        /// A mass delete waits for an admin.
        NeedsConfirmation => "needs_confirmation",
        /// Switched off.
        Deactivated => "deactivated",
    }
}

impl From<crate::store::users::UserState> for UserStateLabel {
    fn from(state: crate::store::users::UserState) -> Self {
        use crate::store::users::UserState;
        match state {
            UserState::Activated => Self::Activated,
            UserState::Paused => Self::Paused,
            UserState::Error => Self::Error,
            UserState::NeedsConfirmation => Self::NeedsConfirmation,
            UserState::Deactivated => Self::Deactivated,
        }
    }
}

label_values! {
    /// How a sync cycle ended.
    CycleResult {
        /// It planned and wrote (or had pending work to finish) and committed.
        Ok => "ok",
        /// It read both sides, found nothing to do and wrote nothing upstream.
        Quiet => "quiet",
        /// A tick under a quiet lease: one look at the space's Pipeliner window found
        /// nothing, so no cycle ran.
        Leased => "leased",
        /// It stopped before writing: too many deletes wait for an admin.
        NeedsConfirmation => "needs_confirmation",
        /// It failed as a whole (or crashed); the user's actor restarts.
        Failed => "failed",
    }
}

label_values! {
    /// What ran: a whole cycle, or a tick answered by its quiet lease.
    CycleKind {
        /// A whole cycle.
        Full => "full",
        /// A leased tick.
        Leased => "leased",
    }
}

label_values! {
    /// The side a record was written to.
    SideLabel {
        /// The Exchange folder (through Graph).
        Exchange => "exchange",
        /// Pipeliner.
        Pipeliner => "pipeliner",
    }
}

impl From<crate::sync::Side> for SideLabel {
    fn from(side: crate::sync::Side) -> Self {
        match side {
            crate::sync::Side::Exchange => Self::Exchange,
            crate::sync::Side::Crm => Self::Pipeliner,
        }
    }
}

label_values! {
    /// A record write.
    Operation {
        /// A new record.
        Create => "create",
        /// A change of some fields.
        Update => "update",
        /// A removal.
        Delete => "delete",
    }
}

label_values! {
    /// An upstream service.
    Service {
        /// Microsoft Graph (and its sign-in endpoint).
        Graph => "graph",
        /// The Pipeliner REST API.
        Pipeliner => "pipeliner",
    }
}

label_values! {
    /// How an upstream request ended: the class of its HTTP status, or no answer.
    StatusClass {
        /// 2xx.
        Success => "2xx",
        /// 3xx.
        Redirect => "3xx",
        /// 4xx (429 included).
        ClientError => "4xx",
        /// 5xx.
        ServerError => "5xx",
        /// No HTTP answer: connection refused or reset, time-out, TLS failure.
        TransportError => "transport_error",
    }
}

impl StatusClass {
    /// The class of an HTTP status code.
    pub fn of(status: u16) -> Self {
        match status {
            200..=299 => Self::Success,
            300..=399 => Self::Redirect,
            400..=499 => Self::ClientError,
            _ => Self::ServerError,
        }
    }
}

label_values! {
    /// Why exsync waited before sending a request.
    WaitReason {
        /// The upstream asked for it with `Retry-After` (a 429 or 503).
        RetryAfter => "retry_after",
        /// Exponential backoff after a failure that may be temporary.
        Backoff => "backoff",
        /// Pacing under Graph's request budget per mailbox.
        Paced => "paced",
    }
}

label_values! {
    /// Where a change notification came from.
    Source {
        /// A Graph change or lifecycle notification.
        Graph => "graph",
        /// A Pipeliner webhook delivery.
        Pipeliner => "pipeliner",
    }
}

label_values! {
    /// What exsync made of a notification.
    NotificationOutcome {
        /// Authentic: handed to the user's actor (or nothing to do).
        Accepted => "accepted",
        /// A wrong Graph `clientState` or Pipeliner signature: dropped.
        WrongSecret => "wrong_secret",
        /// For a subscription or space exsync does not know: dropped.
        UnknownSubscription => "unknown_subscription",
        /// Not the JSON an upstream sends: refused with 400.
        Malformed => "malformed",
    }
}

label_values! {
    /// What was done to a Graph subscription or a Pipeliner webhook.
    HookOperation {
        /// Registered.
        Create => "create",
        /// Its life extended (Graph subscriptions).
        Renew => "renew",
        /// Removed.
        Delete => "delete",
    }
}

label_values! {
    /// Whether an operation succeeded.
    OpResult {
        /// It did.
        Ok => "ok",
        /// It did not.
        Failed => "failed",
    }
}

/// The label of a family with one label, `state`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct StateLabels {
    pub state: UserStateLabel,
}

/// `result`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct ResultLabels {
    pub result: CycleResult,
}

/// `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct KindLabels {
    pub kind: CycleKind,
}

/// `side`, `operation`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct WrittenLabels {
    pub side: SideLabel,
    pub operation: Operation,
}

/// `side`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct SideLabels {
    pub side: SideLabel,
}

/// `service`, `route`, `status`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct RequestLabels {
    pub service: Service,
    pub route: super::routes::Route,
    pub status: StatusClass,
}

/// `service`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct ServiceLabels {
    pub service: Service,
}

/// `service`, `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct WaitLabels {
    pub service: Service,
    pub reason: WaitReason,
}

/// `source`, `outcome`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct NotificationLabels {
    pub source: Source,
    pub outcome: NotificationOutcome,
}

/// `service`, `operation`, `result`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct HookLabels {
    pub service: Service,
    pub operation: HookOperation,
    pub result: OpResult,
}

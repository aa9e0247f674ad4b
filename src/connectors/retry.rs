//! Retrying upstream calls: exponential backoff with jitter (the `backon` crate), or
//! exactly the wait an upstream asked for with `Retry-After`. Used by every connector so
//! the policy lives in one place.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

/// How an error should be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAdvice {
    /// Not worth retrying (bad request, not found, bad credentials…).
    Fail,
    /// Retry after the backoff's next delay.
    Backoff,
    /// Retry after exactly this long (the upstream's `Retry-After`).
    After(Duration),
}

impl RetryAdvice {
    /// Why a retry after this advice waits, for the metrics.
    pub fn wait_reason(self) -> crate::metrics::WaitReason {
        match self {
            RetryAdvice::After(_) => crate::metrics::WaitReason::RetryAfter,
            RetryAdvice::Backoff | RetryAdvice::Fail => crate::metrics::WaitReason::Backoff,
        }
    }
}

/// An error that knows whether the call that produced it may be retried.
pub trait Retriable {
    /// How to retry after this error.
    fn advice(&self) -> RetryAdvice;
}

/// The retry limits of a client.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// The first backoff delay.
    pub min_delay: Duration,
    /// The longest backoff delay, and the longest `Retry-After` honoured.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all; for probes that should answer at once.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries run out.
    pub async fn run<T, E, F, Fut>(&self, what: &str, attempt: F) -> Result<T, E>
    where
        E: Retriable + std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run_observed(what, |_, _| {}, attempt).await
    }

    /// As [`Self::run`], telling `waited` of each wait before a retry: how it was advised
    /// and how long it is (for the metrics).
    pub async fn run_observed<T, E, F, Fut>(
        &self,
        what: &str,
        mut waited: impl FnMut(RetryAdvice, Duration),
        attempt: F,
    ) -> Result<T, E>
    where
        E: Retriable + std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let max_delay = self.max_delay;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter();
        attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e: &E| e.advice() != RetryAdvice::Fail)
            .adjust(move |e: &E, next: Option<Duration>| match e.advice() {
                RetryAdvice::After(wait) => next.map(|_| wait.min(max_delay)),
                _ => next,
            })
            .notify(|e: &E, wait: Duration| {
                tracing::debug!(call = what, error = %e, wait_ms = wait.as_millis() as u64, "retrying upstream call");
                waited(e.advice(), wait);
            })
            .await
    }
}

/// A failed attempt, with the caller's decision whether it may be repeated: a create
/// that failed in a way that may have committed must not be sent again.
#[derive(Debug)]
pub enum Attempt<E> {
    /// May be repeated as the error advises.
    Retry(E),
    /// Must not be repeated.
    Stop(E),
}

impl<E> Attempt<E> {
    /// The error itself.
    pub fn into_inner(self) -> E {
        match self {
            Attempt::Retry(e) | Attempt::Stop(e) => e,
        }
    }
}

impl<E: Retriable> Retriable for Attempt<E> {
    fn advice(&self) -> RetryAdvice {
        match self {
            Attempt::Retry(e) => e.advice(),
            Attempt::Stop(_) => RetryAdvice::Fail,
        }
    }
}

impl<E: std::fmt::Display> std::fmt::Display for Attempt<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attempt::Retry(e) | Attempt::Stop(e) => e.fmt(f),
        }
    }
}

/// Parses a `Retry-After` header given in seconds (the form Graph and most APIs use).
pub fn parse_retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[derive(Debug)]
    struct Flaky(RetryAdvice);
    impl std::fmt::Display for Flaky {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }
    impl Retriable for Flaky {
        fn advice(&self) -> RetryAdvice {
            self.0
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        }
    }

    #[actix_web::test]
    async fn transient_errors_are_retried_until_success() {
        let calls = Cell::new(0);
        let result = fast()
            .run("test", || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 3 {
                        Err(Flaky(RetryAdvice::After(Duration::from_millis(1))))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(result.unwrap(), 3);
    }

    #[actix_web::test]
    async fn permanent_errors_and_exhausted_retries_stop() {
        let calls = Cell::new(0);
        let result: Result<(), _> = fast()
            .run("test", || {
                calls.set(calls.get() + 1);
                async { Err(Flaky(RetryAdvice::Fail)) }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.get(), 1);
        calls.set(0);
        let result: Result<(), _> = fast()
            .run("test", || {
                calls.set(calls.get() + 1);
                async { Err(Flaky(RetryAdvice::Backoff)) }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.get(), 4, "one attempt and three retries");
    }

    #[actix_web::test]
    async fn each_wait_before_a_retry_is_told_with_its_advice() {
        let calls = Cell::new(0);
        let waits = std::cell::RefCell::new(Vec::new());
        let result = fast()
            .run_observed(
                "test",
                |advice, wait| waits.borrow_mut().push((advice, wait)),
                || {
                    calls.set(calls.get() + 1);
                    let n = calls.get();
                    async move {
                        match n {
                            1 => Err(Flaky(RetryAdvice::After(Duration::from_millis(2)))),
                            2 => Err(Flaky(RetryAdvice::Backoff)),
                            _ => Ok(n),
                        }
                    }
                },
            )
            .await;
        assert_eq!(result.unwrap(), 3);
        let waits = waits.into_inner();
        assert_eq!(waits.len(), 2);
        assert_eq!(
            waits[0],
            (
                RetryAdvice::After(Duration::from_millis(2)),
                Duration::from_millis(2)
            )
        );
        assert_eq!(waits[1].0, RetryAdvice::Backoff);
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let header = reqwest::header::HeaderValue::from_static("2");
        assert_eq!(
            parse_retry_after(Some(&header)),
            Some(Duration::from_secs(2))
        );
        let bad = reqwest::header::HeaderValue::from_static("soon");
        assert_eq!(parse_retry_after(Some(&bad)), None);
        assert_eq!(parse_retry_after(None), None);
    }
}

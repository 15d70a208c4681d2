//! Bounded retries with jittered exponential backoff for AWS calls that the
//! parts retry themselves (the SDK's own retry layer is switched off for
//! them, so there is exactly one retry policy per call and its attempts show
//! in the traces).

use std::time::Duration;

use rand::Rng;

use super::AwsFailure;

/// When to try again and how long to wait first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// Calls in total, the first included (at least 1).
    pub max_attempts: u32,
    /// Upper bound of the first wait; doubles per attempt.
    pub base: Duration,
    /// Upper bound of any single wait.
    pub cap: Duration,
}

impl Backoff {
    /// The wait before attempt `attempt + 1`, after `attempt` failures:
    /// "full jitter" (uniform in `0..=min(cap, base * 2^(attempt-1))`), so
    /// many throttled callers spread out instead of retrying in lockstep.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .base
            .saturating_mul(1u32 << exponent)
            .min(self.cap)
            .as_micros();
        let ceiling = u64::try_from(ceiling).unwrap_or(u64::MAX);
        Duration::from_micros(rand::rng().random_range(0..=ceiling))
    }

    /// Whether another attempt is allowed after `attempt` calls.
    pub(crate) fn allows(&self, attempt: u32) -> bool {
        attempt < self.max_attempts.max(1)
    }
}

/// The last failure of a call [`Backoff::retry`] gave up on.
#[derive(Debug)]
pub(crate) struct GaveUp {
    /// What the last attempt failed with.
    pub failure: AwsFailure,
    /// Calls made, the first included.
    pub attempts: u32,
}

impl Backoff {
    /// Runs `call` until it succeeds, fails permanently or runs out of
    /// attempts, waiting [`Backoff::delay`] between attempts; `what` names
    /// the call in the traces.
    pub(crate) async fn retry<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T, GaveUp>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, AwsFailure>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match call().await {
                Ok(value) => return Ok(value),
                Err(failure) if failure.retryable && self.allows(attempt) => {
                    let wait = self.delay(attempt);
                    tracing::debug!(attempt, ?wait, %failure, "retrying {what}");
                    tokio::time::sleep(wait).await;
                }
                Err(failure) => {
                    return Err(GaveUp {
                        failure,
                        attempts: attempt,
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_but_stay_under_the_cap() {
        let backoff = Backoff {
            max_attempts: 5,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(50),
        };
        for _ in 0..200 {
            assert!(backoff.delay(1) <= Duration::from_millis(10));
            assert!(backoff.delay(3) <= Duration::from_millis(40));
            assert!(backoff.delay(30) <= Duration::from_millis(50));
        }
        assert!(backoff.allows(4));
        assert!(!backoff.allows(5));
    }
}

//! Which failures are worth another try, and how long to wait before it.
//!
//! Classification comes first: only throttling (429 or a provider's throttling
//! code), 5xx and transport failures are retried. A 4xx such as "already exists" is
//! an answer, never retried. Waits use exponential backoff with full jitter
//! (a uniform draw from zero to the capped exponential delay), bounded in attempts.

use std::time::Duration;

use crate::engine::http::HttpResponse;

/// How many times to try and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 means no retry).
    pub max_attempts: u32,
    /// The delay cap of the first retry; doubles each retry.
    pub base_delay: Duration,
    /// No single backoff wait is longer than this.
    pub max_delay: Duration,
    /// A server's `Retry-After` is honoured up to this long.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> RetryPolicy {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// The wait before retry number `retry` (0 for the first retry), given a
    /// uniform random `draw`.
    pub fn backoff(&self, retry: u32, draw: u64) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX));
        let cap = exp.min(self.max_delay).as_micros() as u64;
        Duration::from_micros(if cap == 0 { 0 } else { draw % (cap + 1) })
    }
}

impl RetryPolicy {
    /// The wait before a retry: the backoff, or longer when the server asked for it
    /// with `Retry-After` (capped at [`RetryPolicy::max_retry_after`]).
    pub fn wait(&self, backoff: Duration, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(asked) => backoff.max(asked.min(self.max_retry_after)),
            None => backoff,
        }
    }
}

/// Whether a response is worth retrying: 429 and 5xx always; other statuses only
/// when the provider's own classifier says the body is a throttling error.
pub fn is_retryable(response: &HttpResponse, provider_throttled: impl Fn(&HttpResponse) -> bool) -> bool {
    response.status == 429 || response.status >= 500 || (response.status >= 400 && provider_throttled(response))
}

/// A small deterministic generator (SplitMix64) for jitter: seeded by the driver,
/// so a test can fix it and a host can seed it from its own entropy.
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Jitter {
        Jitter(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        let p = RetryPolicy::default();
        let mut j = Jitter::new(7);
        for retry in 0..10 {
            let cap = (p.base_delay * 2u32.pow(retry)).min(p.max_delay);
            for _ in 0..200 {
                assert!(p.backoff(retry, j.next()) <= cap);
            }
        }
        assert_eq!(p.backoff(3, u64::MAX - 1), Duration::from_micros((u64::MAX - 1) % 800_001));
    }

    #[test]
    fn classification() {
        let never = |_: &HttpResponse| false;
        assert!(is_retryable(&HttpResponse::new(429, ""), never));
        assert!(is_retryable(&HttpResponse::new(503, ""), never));
        assert!(!is_retryable(&HttpResponse::new(400, "already exists"), never));
        assert!(is_retryable(&HttpResponse::new(400, "throttled"), |_| true));
        assert!(!is_retryable(&HttpResponse::new(200, ""), |_| true));
    }
}

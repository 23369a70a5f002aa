//! Access tokens shared by every operation of one client, keyed by identity and
//! scope, and driven by the caller's clock (the core reads none).
//!
//! A token is reused until [`REFRESH_MARGIN`] before it expires. When several
//! operations need the same missing token at once, the first refreshes it and the
//! others wait for it (with short `Sleep` steps, bounded), so one refresh serves them
//! all. A refresher that fails, or whose operation is dropped mid-way, leaves no claim
//! behind: the next caller refreshes. A provider that sees its token refused (401)
//! drops it with [`TokenCache::invalidate`] and asks again.
//!
//! Google's and Azure's tokens use it, and so do AWS credentials resolved from the
//! environment (container, instance metadata, web identity, assumed roles).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::engine::operation::Exchange;
use crate::engine::time::Timestamp;
use crate::error::Result;
use crate::secret::Secret;

/// A token is refreshed this long before it expires (google-auth's threshold).
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(225);
/// How long a waiter sleeps between looks at a refresh another operation runs.
const WAIT_STEP: Duration = Duration::from_millis(50);
/// Looks before a waiter stops waiting and refreshes itself (about 30 s).
const MAX_WAITS: u32 = 600;

/// Reads `field` of a token endpoint's JSON answer as a token, registered as a
/// secret at once; returns it with the whole answer, for the caller's expiry field.
pub(crate) fn token_from_json(
    ex: &Exchange,
    body: &[u8],
    field: &str,
    what: &str,
) -> Result<(Secret, serde_json::Value)> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| crate::error::Error::provider(format!("{what}: the answer is not JSON")))?;
    let token = v[field]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| crate::error::Error::provider(format!("{what}: the answer has no {field}")))?;
    ex.add_secret(token);
    Ok((Secret::new(token), v))
}

/// A token and when it expires (`None`: unknown, e.g. a raw token from the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CachedToken {
    pub token: Secret,
    pub expires_at: Option<Timestamp>,
}

impl CachedToken {
    fn fresh_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|at| now.plus(REFRESH_MARGIN) < at)
    }
}

#[derive(Debug)]
enum Slot {
    Ready(CachedToken),
    Refreshing { owner: u64 },
}

/// Tokens by key (identity and scope).
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<String, Slot>>,
    next_owner: AtomicU64,
}

/// Clears a refresh claim that was not replaced by a token (failure, or the
/// operation was dropped mid-refresh).
struct Claim<'a> {
    cache: &'a TokenCache,
    key: &'a str,
    owner: u64,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut slots = self.cache.lock();
        if matches!(slots.get(self.key), Some(Slot::Refreshing { owner }) if *owner == self.owner) {
            slots.remove(self.key);
        }
    }
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token for `key`: the cached one while it is fresh, else the one `fetch`
    /// gets (one fetch at a time per key, across the client's operations).
    pub(crate) async fn get<F, Fut>(&self, ex: &Exchange, key: &str, fetch: F) -> Result<CachedToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<CachedToken>>,
    {
        let mut waits = 0;
        let owner = loop {
            let now = ex.now();
            {
                let mut slots = self.lock();
                match slots.get(key) {
                    Some(Slot::Ready(t)) if t.fresh_at(now) => {
                        ex.add_secret(t.token.expose());
                        return Ok(t.clone());
                    }
                    Some(Slot::Refreshing { .. }) if waits < MAX_WAITS => {}
                    _ => {
                        let owner = self.next_owner.fetch_add(1, Ordering::Relaxed);
                        slots.insert(key.to_owned(), Slot::Refreshing { owner });
                        break owner;
                    }
                }
            }
            waits += 1;
            ex.sleep(WAIT_STEP).await;
        };
        let claim = Claim { cache: self, key, owner };
        let fetched = fetch().await;
        if let Ok(token) = &fetched {
            ex.add_secret(token.token.expose());
            self.lock().insert(key.to_owned(), Slot::Ready(token.clone()));
        }
        drop(claim);
        fetched
    }

    /// The token held for `key` now, fresh or not, without fetching.
    pub(crate) fn peek(&self, key: &str) -> Option<CachedToken> {
        match self.lock().get(key) {
            Some(Slot::Ready(t)) => Some(t.clone()),
            _ => None,
        }
    }

    /// Drops `token` for `key` (the server refused it), unless it was replaced already.
    pub(crate) fn invalidate(&self, key: &str, token: &Secret) {
        let mut slots = self.lock();
        if matches!(slots.get(key), Some(Slot::Ready(t)) if t.token == *token) {
            slots.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::operation::{Operation, Step};
    use crate::engine::retry::RetryPolicy;
    use crate::error::Error;
    use std::sync::Arc;

    fn token(s: &str, expires: i64) -> CachedToken {
        CachedToken { token: Secret::new(s), expires_at: Some(Timestamp::from_unix(expires)) }
    }

    /// An operation that gets the token for "k", fetching `fresh` when it must.
    fn op(cache: Arc<TokenCache>, fresh: CachedToken, fetches: Arc<AtomicU64>) -> Operation<String> {
        Operation::new(
            RetryPolicy::none(),
            crate::engine::time::Timeouts::default(),
            1,
            Vec::new(),
            move |ex| async move {
                let t = cache
                    .get(&ex, "k", || async {
                        fetches.fetch_add(1, Ordering::Relaxed);
                        // A refresh takes one round trip.
                        let _ = ex.send(crate::HttpRequest::new("POST", "http://token/")).await;
                        Ok(fresh)
                    })
                    .await?;
                Ok(t.token.expose().to_owned())
            },
        )
    }

    #[test]
    fn reuses_until_shortly_before_expiry() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicU64::new(0));
        let run = |now: i64, fresh: CachedToken| {
            let mut o = op(cache.clone(), fresh, fetches.clone());
            loop {
                match o.step(Timestamp::from_unix(now)) {
                    Step::Send(_) => o.receive(crate::HttpResponse::new(200, "")),
                    Step::Sleep(_) => {}
                    Step::Ask(_) => o.answer(crate::HostAnswer::Missing),
                    Step::Done(r) => return r.unwrap(),
                }
            }
        };
        assert_eq!(run(1000, token("a", 4600)), "a");
        assert_eq!(run(4000, token("b", 8000)), "a", "still fresh 600 s before expiry");
        assert_eq!(run(4400, token("b", 8000)), "b", "refreshed inside the margin");
        assert_eq!(fetches.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn concurrent_operations_share_one_refresh() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicU64::new(0));
        let now = Timestamp::from_unix(1000);
        let mut a = op(cache.clone(), token("a", 9000), fetches.clone());
        let mut b = op(cache.clone(), token("b", 9000), fetches.clone());
        assert!(matches!(a.step(now), Step::Send(_)), "a refreshes");
        assert!(matches!(b.step(now), Step::Sleep(_)), "b waits for a's refresh");
        a.receive(crate::HttpResponse::new(200, ""));
        assert!(matches!(a.step(now), Step::Done(Ok(ref t)) if t == "a"));
        assert!(matches!(b.step(now), Step::Done(Ok(ref t)) if t == "a"), "b got a's token");
        assert_eq!(fetches.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_dropped_or_failed_refresh_leaves_no_claim() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicU64::new(0));
        let now = Timestamp::from_unix(1000);
        let mut a = op(cache.clone(), token("a", 9000), fetches.clone());
        assert!(matches!(a.step(now), Step::Send(_)));
        drop(a);
        let mut b = op(cache.clone(), token("b", 9000), fetches.clone());
        assert!(matches!(b.step(now), Step::Send(_)), "b refreshes at once: a's claim is gone");

        let failing =
            Operation::<()>::new(RetryPolicy::none(), crate::engine::time::Timeouts::default(), 1, Vec::new(), {
                let cache = cache.clone();
                move |ex| async move {
                    cache.get(&ex, "other", || async { Err(Error::provider("token endpoint down")) }).await.map(|_| ())
                }
            });
        let mut failing = failing;
        assert!(matches!(failing.step(now), Step::Done(Err(_))));
        assert!(cache.lock().get("other").is_none());
    }

    #[test]
    fn invalidate_drops_only_the_refused_token() {
        let cache = TokenCache::default();
        cache.lock().insert("k".into(), Slot::Ready(token("new", 9000)));
        cache.invalidate("k", &Secret::new("old"));
        assert!(cache.lock().contains_key("k"));
        cache.invalidate("k", &Secret::new("new"));
        assert!(!cache.lock().contains_key("k"));
    }
}

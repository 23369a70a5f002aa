//! The operation model: every operation is a state machine that emits HTTP requests
//! and consumes their responses, given the current time by its driver.
//!
//! Operations are written as ordinary `async` code against an [`Exchange`], whose
//! `send` and `sleep` do no I/O: they park the request (or the wait) where
//! [`Operation::step`] hands it to the driver, and return once the driver has called
//! [`Operation::receive`] (or [`Operation::fail`]). `step` polls that code with a
//! no-op waker, so the compiler writes the state machine and the core needs no
//! executor, socket or clock.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::engine::host::{HostAnswer, HostQuery};
use crate::engine::http::{HttpRequest, HttpResponse, TransportError};
use crate::engine::retry::{Jitter, RetryPolicy, is_retryable};
use crate::engine::time::Timeouts;
use crate::engine::time::Timestamp;
use crate::error::{Error, ErrorCode, Result};

/// What the driver must do next.
#[derive(Debug)]
pub enum Step<T> {
    /// Send this request, then hand the response to [`Operation::receive`] (or the
    /// failure to [`Operation::fail`]) and call [`Operation::step`] again.
    Send(HttpRequest),
    /// Wait this long (retry backoff, polling for a replica), then call `step` again.
    Sleep(Duration),
    /// Ask the host (an environment variable, a file, a command), hand the answer
    /// to [`Operation::answer`] and call `step` again.
    Ask(HostQuery),
    /// The operation is over.
    Done(Result<T>),
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

/// One run of an operation. See the [module docs](self) and the crate docs for how
/// to drive it.
pub struct Operation<T> {
    future: Option<BoxFuture<T>>,
    exchange: Exchange,
}

impl<T> std::fmt::Debug for Operation<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation").field("finished", &self.future.is_none()).finish()
    }
}

#[derive(Default)]
struct Slot {
    now: Option<Timestamp>,
    /// The driver's monotonic reading at the first step, and at the latest one.
    started: Option<Duration>,
    monotonic: Duration,
    outgoing: Option<Step<()>>,
    incoming: Option<std::result::Result<HttpResponse, TransportError>>,
    answer: Option<HostAnswer>,
    secrets: Vec<String>,
}

/// The handle operation code uses to talk to the outside world, through its driver.
#[derive(Clone)]
pub(crate) struct Exchange {
    slot: Arc<Mutex<Slot>>,
    retry: RetryPolicy,
    timeouts: Timeouts,
    jitter: Arc<Mutex<Jitter>>,
}

impl<T: Send + 'static> Operation<T> {
    /// An operation running `body`, with retries per `retry` within `timeouts`,
    /// jitter seeded by `seed`, and these secrets scrubbed from any error message it
    /// ends with.
    pub(crate) fn new<F, Fut>(
        retry: RetryPolicy,
        timeouts: Timeouts,
        seed: u64,
        secrets: Vec<String>,
        body: F,
    ) -> Operation<T>
    where
        F: FnOnce(Exchange) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let exchange = Exchange {
            slot: Arc::new(Mutex::new(Slot { secrets, ..Slot::default() })),
            retry,
            timeouts,
            jitter: Arc::new(Mutex::new(Jitter::new(seed))),
        };
        Operation { future: Some(Box::pin(body(exchange.clone()))), exchange }
    }

    /// An operation that is over before it starts (e.g. a validation error).
    pub fn ready(result: Result<T>) -> Operation<T> {
        Operation::new(RetryPolicy::none(), Timeouts::default(), 0, Vec::new(), move |_| async move { result })
    }

    /// Advances the operation to its next request, wait or result. `now` is the
    /// current wall-clock time: requests are signed and expiries computed with it,
    /// and the operation's deadline is measured on it. A driver with a monotonic
    /// clock uses [`Operation::step_at`] instead, so that a clock step cannot move
    /// the deadline.
    pub fn step(&mut self, now: Timestamp) -> Step<T> {
        let since_epoch =
            Duration::from_secs(now.unix_seconds().max(0) as u64) + Duration::from_nanos(u64::from(now.subsec_nanos()));
        self.step_at(now, since_epoch)
    }

    /// [`Operation::step`], with the deadline measured on `monotonic`: any reading
    /// of a clock that never goes back (the same origin for every step).
    pub fn step_at(&mut self, now: Timestamp, monotonic: Duration) -> Step<T> {
        let Some(future) = self.future.as_mut() else {
            return Step::Done(Err(Error::provider("operation stepped after it finished; this is a driver bug")));
        };
        {
            let mut slot = self.exchange.lock();
            slot.now = Some(now);
            slot.started.get_or_insert(monotonic);
            slot.monotonic = monotonic;
        }
        let mut cx = Context::from_waker(Waker::noop());
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(result) => {
                self.future = None;
                let secrets = std::mem::take(&mut self.exchange.lock().secrets);
                Step::Done(result.map_err(|e| e.redacted(&secrets)))
            }
            Poll::Pending => match self.exchange.lock().outgoing.take() {
                Some(Step::Send(r)) => Step::Send(r),
                Some(Step::Sleep(d)) => Step::Sleep(d),
                Some(Step::Ask(q)) => Step::Ask(q),
                _ => {
                    self.future = None;
                    Step::Done(Err(Error::provider(
                        "operation stepped without the response to its last request; this is a driver bug",
                    )))
                }
            },
        }
    }

    /// The same operation with its result mapped (e.g. to a JSON value).
    pub fn map<U: Send + 'static>(mut self, f: impl FnOnce(T) -> U + Send + 'static) -> Operation<U> {
        let exchange = self.exchange.clone();
        let future = self.future.take();
        Operation {
            future: Some(Box::pin(async move {
                match future {
                    Some(future) => future.await.map(f),
                    None => Err(Error::provider("operation mapped after it finished; this is a driver bug")),
                }
            })),
            exchange,
        }
    }

    /// Hands the response to the request of the last [`Step::Send`] to the operation.
    pub fn receive(&mut self, response: HttpResponse) {
        self.exchange.lock().incoming = Some(Ok(response));
    }

    /// Hands the host's answer to the question of the last [`Step::Ask`] over.
    pub fn answer(&mut self, answer: HostAnswer) {
        self.exchange.lock().answer = Some(answer);
    }

    /// Tells the operation the request of the last [`Step::Send`] got no response.
    pub fn fail(&mut self, error: TransportError) {
        self.exchange.lock().incoming = Some(Err(error));
    }
}

impl Exchange {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The time the driver handed in with the latest step.
    pub(crate) fn now(&self) -> Timestamp {
        self.lock().now.unwrap_or(Timestamp::from_unix(0))
    }

    /// What is left of the operation's deadline.
    pub(crate) fn remaining(&self) -> Duration {
        let slot = self.lock();
        let elapsed = slot.monotonic.saturating_sub(slot.started.unwrap_or(slot.monotonic));
        self.timeouts.operation.saturating_sub(elapsed)
    }

    fn deadline_passed(&self) -> TransportError {
        TransportError::timeout(format!(
            "the operation's deadline of {} passed",
            crate::engine::time::describe_duration(self.timeouts.operation)
        ))
    }

    /// Registers a secret learned mid-operation (e.g. assumed-role credentials) so
    /// error messages never carry it.
    pub(crate) fn add_secret(&self, secret: &str) {
        self.lock().secrets.push(secret.to_owned());
    }

    /// Sends one request, without retries. Its timeout is the request timeout (or
    /// the request's own), cut to what is left of the deadline; once the deadline has
    /// passed, nothing is sent and the answer is a timeout.
    pub(crate) fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = std::result::Result<HttpResponse, TransportError>> + Send + '_ {
        let mut request = Some(request);
        std::future::poll_fn(move |_| {
            if let Some(mut r) = request.take() {
                let remaining = self.remaining();
                if remaining.is_zero() {
                    return Poll::Ready(Err(self.deadline_passed()));
                }
                r.timeout = Some(r.timeout.unwrap_or(self.timeouts.request).min(self.timeouts.request).min(remaining));
                let mut slot = self.lock();
                slot.incoming = None;
                slot.outgoing = Some(Step::Send(r));
                return Poll::Pending;
            }
            match self.lock().incoming.take() {
                Some(result) => Poll::Ready(result),
                None => Poll::Pending,
            }
        })
    }

    /// Asks the host, through the driver.
    pub(crate) fn ask(&self, query: HostQuery) -> impl Future<Output = HostAnswer> + Send + '_ {
        let mut query = Some(query);
        std::future::poll_fn(move |_| {
            let mut slot = self.lock();
            if let Some(q) = query.take() {
                slot.answer = None;
                slot.outgoing = Some(Step::Ask(q));
                return Poll::Pending;
            }
            match slot.answer.take() {
                Some(answer) => Poll::Ready(answer),
                None => Poll::Pending,
            }
        })
    }

    /// Waits, through the driver; never past the deadline (the next send then
    /// answers that it has passed).
    pub(crate) fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send + '_ {
        let mut asked = false;
        std::future::poll_fn(move |_| {
            let duration = duration.min(self.remaining());
            if asked || duration.is_zero() {
                return Poll::Ready(());
            }
            asked = true;
            self.lock().outgoing = Some(Step::Sleep(duration));
            Poll::Pending
        })
    }

    /// Sends a request built (and signed) afresh for each attempt, retrying what
    /// [`crate::engine::retry`] classifies as transient. Returns the last response, success
    /// or not; fails only when the transport never got one.
    pub(crate) async fn call<B>(&self, build: B, throttled: fn(&HttpResponse) -> bool) -> Result<HttpResponse>
    where
        B: FnMut(Timestamp) -> Result<HttpRequest> + Send,
    {
        Ok(self.call_counted(build, throttled).await?.response)
    }

    /// [`Exchange::call`], also telling how many attempts it took: an answer after a
    /// retry may follow an earlier attempt that the server applied but whose response
    /// was lost (a delete answered "not found", a create "already exists").
    pub(crate) async fn call_counted<B>(&self, mut build: B, throttled: fn(&HttpResponse) -> bool) -> Result<Answer>
    where
        B: FnMut(Timestamp) -> Result<HttpRequest> + Send,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = build(self.now())?;
            let outcome = self.send(request).await;
            let retry_after = match &outcome {
                Ok(response) => response.header_value("Retry-After").and_then(|v| self.wait_for(v)),
                Err(_) => None,
            };
            // Mixing in the driver's time gives each run its own jitter even when
            // every client was built with the same seed.
            let draw = self.jitter.lock().unwrap_or_else(|p| p.into_inner()).next() ^ mix(self.now());
            let wait = self.retry.wait(self.retry.backoff(attempt - 1, draw), retry_after);
            // The last attempt is the policy's last, or the last that can finish
            // before the deadline: a retry is never begun after it.
            let last = attempt >= self.retry.max_attempts || wait >= self.remaining();
            match outcome {
                Ok(response) if last || !is_retryable(&response, throttled) => {
                    return Ok(Answer { response, attempts: attempt });
                }
                Err(e) if last => {
                    let code = if e.timed_out || self.remaining().is_zero() {
                        ErrorCode::Timeout
                    } else {
                        ErrorCode::Transport
                    };
                    let mut message = format!("{} (after {attempt} attempts)", e.message);
                    if attempt < self.retry.max_attempts {
                        message.push_str(&format!(
                            "; no retry within the operation's deadline of {}",
                            crate::engine::time::describe_duration(self.timeouts.operation)
                        ));
                    }
                    return Err(Error::new(code, message));
                }
                _ => self.sleep(wait).await,
            }
        }
    }

    /// A number from the client's seeded generator (drivers seed it from their own
    /// entropy): for ids that must not repeat, such as an assertion's `jti`.
    pub(crate) fn draw(&self) -> u64 {
        self.jitter.lock().unwrap_or_else(|p| p.into_inner()).next() ^ mix(self.now())
    }

    /// `base` plus a uniform draw from zero to `base`: spreads writers that would
    /// otherwise act in lockstep.
    pub(crate) fn jittered(&self, base: Duration) -> Duration {
        let draw = self.draw();
        let micros = base.as_micros().min(u64::MAX as u128 - 1) as u64;
        base + Duration::from_micros(draw % (micros + 1))
    }

    /// How long a `Retry-After` value (delay seconds or an HTTP date) asks to wait.
    fn wait_for(&self, value: &str) -> Option<Duration> {
        let value = value.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        Timestamp::parse_http_date(value).map(|at| at.since(self.now()))
    }
}

/// A response and the attempts it took.
pub(crate) struct Answer {
    pub response: HttpResponse,
    pub attempts: u32,
}

/// SplitMix64's finaliser over a timestamp: spreads close instants far apart.
fn mix(t: Timestamp) -> u64 {
    let mut z = (t.unix_seconds() as u64).wrapping_mul(1_000_000_007) ^ u64::from(t.subsec_nanos());
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(policy: RetryPolicy) -> Operation<u16> {
        op_within(policy, Timeouts::default())
    }

    fn op_within(policy: RetryPolicy, timeouts: Timeouts) -> Operation<u16> {
        Operation::new(policy, timeouts, 1, vec!["supersecretvalue".into()], |ex| async move {
            let resp = ex.call(|_| Ok(HttpRequest::new("GET", "http://h/")), |_| false).await?;
            if resp.status == 200 {
                Ok(resp.status)
            } else {
                Err(Error::provider(format!("got supersecretvalue {}", resp.status)))
            }
        })
    }

    #[test]
    fn retries_5xx_then_succeeds() {
        let mut o = op(RetryPolicy::default());
        let t = Timestamp::from_unix(0);
        assert!(matches!(o.step(t), Step::Send(_)));
        o.receive(HttpResponse::new(503, ""));
        assert!(matches!(o.step(t), Step::Sleep(_)));
        assert!(matches!(o.step(t), Step::Send(_)));
        o.receive(HttpResponse::new(200, ""));
        assert!(matches!(o.step(t), Step::Done(Ok(200))));
    }

    #[test]
    fn does_not_retry_4xx_and_redacts() {
        let mut o = op(RetryPolicy::default());
        let t = Timestamp::from_unix(0);
        assert!(matches!(o.step(t), Step::Send(_)));
        o.receive(HttpResponse::new(400, ""));
        match o.step(t) {
            Step::Done(Err(e)) => assert_eq!(e.message(), "got *** 400"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn transport_failures_end_as_typed_errors() {
        let mut o = op(RetryPolicy { max_attempts: 2, ..RetryPolicy::default() });
        let t = Timestamp::from_unix(0);
        assert!(matches!(o.step(t), Step::Send(_)));
        o.fail(TransportError::timeout("timed out"));
        assert!(matches!(o.step(t), Step::Sleep(_)));
        assert!(matches!(o.step(t), Step::Send(_)));
        o.fail(TransportError::timeout("timed out"));
        match o.step(t) {
            Step::Done(Err(e)) => assert_eq!(e.code(), ErrorCode::Timeout),
            other => panic!("{other:?}"),
        }
    }

    fn sleeps_of(o: &mut Operation<u16>, t: Timestamp, answers: Vec<HttpResponse>) -> Vec<Duration> {
        let mut sleeps = Vec::new();
        let mut answers = answers.into_iter();
        loop {
            match o.step(t) {
                Step::Send(_) => match answers.next() {
                    Some(a) => o.receive(a),
                    None => o.fail(TransportError::other("no more")),
                },
                Step::Sleep(d) => sleeps.push(d),
                Step::Ask(_) => o.answer(HostAnswer::Missing),
                Step::Done(_) => return sleeps,
            }
        }
    }

    #[test]
    fn retry_after_seconds_and_dates_are_honoured_and_capped() {
        let t = Timestamp::parse_rfc3339("2026-11-28T07:00:00Z").unwrap();
        let throttled = |v: &str| HttpResponse::new(429, "").with_header("Retry-After", v);
        let ok = HttpResponse::new(200, "");
        let sleeps = sleeps_of(&mut op(RetryPolicy::default()), t, vec![throttled("3"), ok.clone()]);
        assert_eq!(sleeps, [Duration::from_secs(3)]);
        let sleeps =
            sleeps_of(&mut op(RetryPolicy::default()), t, vec![throttled("Sat, 28 Nov 2026 07:00:07 GMT"), ok.clone()]);
        assert_eq!(sleeps, [Duration::from_secs(7)]);
        let sleeps = sleeps_of(&mut op(RetryPolicy::default()), t, vec![throttled("86400"), ok.clone()]);
        assert_eq!(sleeps, [RetryPolicy::default().max_retry_after]);
        // Garbage falls back to backoff.
        let sleeps = sleeps_of(&mut op(RetryPolicy::default()), t, vec![throttled("soon"), ok]);
        assert!(sleeps[0] <= RetryPolicy::default().base_delay);
    }

    #[test]
    fn jitter_differs_between_runs_with_the_same_seed() {
        let answers = || vec![HttpResponse::new(503, ""), HttpResponse::new(503, ""), HttpResponse::new(200, "")];
        let a = sleeps_of(&mut op(RetryPolicy::default()), Timestamp::from_unix(1_800_000_000), answers());
        let b = sleeps_of(&mut op(RetryPolicy::default()), Timestamp::from_unix(1_800_000_001), answers());
        let a2 = sleeps_of(&mut op(RetryPolicy::default()), Timestamp::from_unix(1_800_000_000), answers());
        assert_ne!(a, b, "two runs at different times back off in lockstep");
        assert_eq!(a, a2, "a fixed clock and seed replay exactly");
    }

    #[test]
    fn stepping_without_a_response_is_reported_not_hung() {
        let mut o = op(RetryPolicy::default());
        let t = Timestamp::from_unix(0);
        assert!(matches!(o.step(t), Step::Send(_)));
        assert!(matches!(o.step(t), Step::Done(Err(_))));
    }
    fn within(request: u64, operation: u64) -> Timeouts {
        Timeouts { request: Duration::from_secs(request), operation: Duration::from_secs(operation) }
    }

    #[test]
    fn requests_carry_the_request_timeout_cut_to_the_deadline() {
        let mut o = op_within(RetryPolicy::default(), within(30, 45));
        let t = Timestamp::from_unix(0);
        let Step::Send(r) = o.step_at(t, Duration::from_secs(100)) else { panic!("expected a send") };
        assert_eq!(r.timeout, Some(Duration::from_secs(30)));
        o.fail(TransportError::timeout("timed out"));
        // 30 s have passed: the retry gets the 15 s that are left, not 30.
        let Step::Sleep(d) = o.step_at(t, Duration::from_secs(130)) else { panic!("expected a backoff") };
        let Step::Send(r) = o.step_at(t, Duration::from_secs(130) + d) else { panic!("expected a retry") };
        assert_eq!(r.timeout, Some(Duration::from_secs(15) - d));
    }

    #[test]
    fn no_retry_begins_past_the_deadline_and_the_error_says_why() {
        let mut o = op_within(RetryPolicy::default(), within(30, 60));
        let t = Timestamp::from_unix(0);
        assert!(matches!(o.step_at(t, Duration::ZERO), Step::Send(_)));
        o.fail(TransportError::other("connection reset"));
        // The transport took the whole minute: no backoff fits, so no retry.
        match o.step_at(t, Duration::from_secs(60)) {
            Step::Done(Err(e)) => {
                assert_eq!(e.code(), ErrorCode::Timeout);
                assert!(
                    e.message().contains(
                        "connection reset (after 1 attempts); no retry within the operation's deadline of 60 s"
                    ),
                    "{}",
                    e.message()
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_retry_after_beyond_the_deadline_ends_with_the_throttled_answer() {
        let mut o = op_within(RetryPolicy::default(), within(30, 10));
        let t = Timestamp::from_unix(0);
        assert!(matches!(o.step_at(t, Duration::ZERO), Step::Send(_)));
        o.receive(HttpResponse::new(429, "").with_header("Retry-After", "15"));
        match o.step_at(t, Duration::from_secs(1)) {
            Step::Done(Err(e)) => assert!(e.message().contains("429"), "{}", e.message()),
            other => panic!("waited past the deadline: {other:?}"),
        }
    }

    #[test]
    fn waits_are_cut_at_the_deadline_and_nothing_is_sent_after_it() {
        let mut o: Operation<()> = Operation::new(RetryPolicy::none(), within(30, 5), 1, Vec::new(), |ex| async move {
            ex.sleep(Duration::from_secs(60)).await;
            ex.send(HttpRequest::new("GET", "http://h/"))
                .await
                .map_err(|e| Error::new(ErrorCode::Timeout, e.message))?;
            Ok(())
        });
        let t = Timestamp::from_unix(0);
        assert!(matches!(o.step_at(t, Duration::from_secs(7)), Step::Sleep(d) if d == Duration::from_secs(5)));
        match o.step_at(t, Duration::from_secs(12)) {
            Step::Done(Err(e)) => assert_eq!(e.message(), "the operation's deadline of 5 s passed"),
            other => panic!("{other:?}"),
        }
    }
}

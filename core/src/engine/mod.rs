//! The operation engine, shared by every provider: operations as state machines
//! ([`operation`]), the loop that drives them over a transport and a clock
//! ([`driver`]), retry classification and backoff ([`retry`]), the HTTP messages
//! operations exchange ([`http`]) and points in time ([`time`]).

pub mod driver;
pub mod host;
pub mod http;
pub mod operation;
pub mod retry;
pub mod time;

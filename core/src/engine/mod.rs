//! The operation engine, shared by every provider: operations as state machines
//! ([`operation`]), what they ask the host ([`host`]), retry classification and
//! backoff ([`retry`]), the HTTP messages operations exchange ([`http`]) and points in
//! time ([`time`]). The loop that drives operations over a transport and a clock is
//! [`crate::driver`], above the client it drives.

pub mod host;
pub mod http;
pub mod operation;
pub mod retry;
pub mod time;

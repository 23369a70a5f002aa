//! The sans-IO core of the multi-cloud artifact-registry binding.
//!
//! This crate knows everything about the providers (naming, validation, policies,
//! request signing, the order of calls) and does no I/O: it never opens a socket,
//! reads a clock or spawns a task. Time and transport are handed in.
//!
//! # The model
//!
//! Every operation is a state machine, an [`Operation`]. Its driver asks it what to
//! do next with [`Operation::step`], giving the current time; it answers with a
//! request to send, a wait, or its result. The driver sends the request however it
//! likes (reqwest, wasi-http, a Python callable) and hands the response back with
//! [`Operation::receive`]:
//!
//! ```
//! use artifact_registry_core::{Client, HttpResponse, Step, Timestamp};
//!
//! let client = Client::from_json_str(r#"{
//!   "name": "artifacts",
//!   "binding": { "service": "ecr", "repositoryPrefix": "acme" },
//!   "aws": { "region": "us-east-1", "accountId": "123456789012",
//!            "credentials": { "accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "wJalrXUtnFEMI" } }
//! }"#)?;
//! let now = Timestamp::from_unix(1_764_313_200);
//! let mut op = client.get_repository("acme-my-app");
//! let Step::Send(request) = op.step(now) else { panic!("expected a request") };
//! assert_eq!(request.url, "https://api.ecr.us-east-1.amazonaws.com/");
//! assert!(request.header_value("Authorization").unwrap().starts_with("AWS4-HMAC-SHA256"));
//!
//! // ... send it, then hand the answer back:
//! op.receive(HttpResponse::new(200, r#"{"repositories":[{"repositoryName":"acme-my-app",
//!   "repositoryUri":"123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-my-app","createdAt":1764313200}]}"#));
//! let Step::Done(Ok(repository)) = op.step(now) else { panic!("expected the result") };
//! assert_eq!(repository.created_at.as_deref(), Some("2025-11-28T07:00:00+00:00"));
//! # Ok::<(), artifact_registry_core::Error>(())
//! ```
//!
//! Invalid input never gets that far: the first `step` of an operation built from a
//! bad name, id, ARN, region or TTL is already `Done(Err(invalid-input))`.
//!
//! [`Registry`] is that loop, written once, generic over a [`Transport`] and a
//! [`Clock`]; it implements the async [`ArtifactRegistry`] trait. Retries (throttling,
//! 5xx, transport failures; backoff with full jitter) happen inside operations, so
//! every driver gets them, and each retry is signed afresh.

mod auth;
mod client;
pub mod config;
mod driver;
mod engine;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod json_api;
pub mod kubernetes;
pub mod naming;
pub mod oci;
#[cfg(test)]
mod parser_properties;
mod partition;
mod protocol;
mod providers;
pub mod registry_host;
mod secret;
mod types;

/// AWS signing and partitions (the SigV4 signer is public: `sign_aws_request` on
/// every surface is built on it).
pub mod aws {
    pub use crate::auth::aws::sigv4;
    pub use crate::auth::aws::{AwsCredentials, AwsWebIdentity, Partition, Signer};
}
pub use engine::{http, retry};

pub use client::Client;
pub use config::{Config, Timeouts};
pub use driver::{ArtifactRegistry, Clock, FixedClock, Registry, Transport, drive};
pub use engine::host::{HostAnswer, HostQuery};
pub use engine::http::{HttpRequest, HttpResponse, TransportError};
pub use engine::operation::{Operation, Step};
pub use engine::retry::RetryPolicy;
pub use engine::time::Timestamp;
pub use error::{Error, ErrorCode, Result};
pub use providers::ecr::policy::{Grants as EcrGrants, Policy as EcrPolicy};
pub use secret::Secret;
pub use types::{
    AuthMethod, AwsAccess, AzureAccess, Credentials, CrossAccountAccess, CrossAccountPermissions, GcpAccess,
    Permissions, Repository, ServiceType,
};

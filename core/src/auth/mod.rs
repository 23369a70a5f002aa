//! Authentication, one module per cloud: AWS SigV4 and STS ([`aws`]), Google's
//! service-account JWTs and impersonation ([`gcp`]), Azure AD and the registry's token
//! exchange ([`azure`]), the OCI distribution token flow
//! ([`oci`]); and the token cache that providers share ([`token_cache`]).

pub mod aws;
pub(crate) mod azure;
pub(crate) mod azure_default;
pub(crate) mod gcp;
pub(crate) mod gcp_adc;
pub(crate) mod oci;
pub(crate) mod token_cache;

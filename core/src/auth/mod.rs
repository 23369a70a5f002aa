//! Authentication, one module per cloud: AWS SigV4 and STS ([`aws`]), Google's
//! service-account JWTs and impersonation ([`gcp`]), Azure AD and the registry's token
//! exchange ([`azure`]), the OCI distribution token flow
//! ([`oci`]); the RS256 signer both Google and Azure assertions use ([`jwt`]), the
//! password-protected key files a certificate credential may be (`pkcs12`), and the
//! token cache that providers share ([`token_cache`]).

pub mod aws;
pub(crate) mod azure;
pub(crate) mod azure_default;
#[cfg(not(target_family = "wasm"))]
pub(crate) mod certificate_file;
pub(crate) mod gcp;
pub(crate) mod gcp_adc;
pub(crate) mod jwt;
pub(crate) mod oci;
#[cfg(not(target_family = "wasm"))]
pub(crate) mod pkcs12;
pub(crate) mod token_cache;

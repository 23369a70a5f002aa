//! RS256 JSON Web Tokens, signed here: Google service-account assertions and Azure AD
//! certificate assertions. The signer is the `rsa` crate 0.10 (pure Rust, so it builds
//! for wasm32-wasip2; constant-time `crypto-bigint` arithmetic, the fix for
//! RUSTSEC-2023-0071). PKCS#1 v1.5 signatures are deterministic, so a JWT signed at a
//! given instant is byte-for-byte reproducible in vectors.

use std::fmt;

use base64::Engine;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::Value;
use sha2::Sha256;

/// An RSA private key that signs RS256.
pub(crate) struct RsaSigner(SigningKey<Sha256>);

impl fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaSigner(***)")
    }
}

/// A PEM document that is not an RSA private key in a form read here.
#[derive(Debug)]
pub(crate) struct NotAnRsaKey;

impl RsaSigner {
    /// Reads a PEM private key, PKCS#8 (`BEGIN PRIVATE KEY`, as Google's key files
    /// have it) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    pub(crate) fn from_pem(pem: &str) -> Result<RsaSigner, NotAnRsaKey> {
        let key = rsa::PrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::PrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| NotAnRsaKey)?;
        Ok(RsaSigner(SigningKey::<Sha256>::new(key)))
    }

    /// Reads a DER PKCS#8 `PrivateKeyInfo` holding an RSA key.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn from_pkcs8_der(der: &[u8]) -> Result<RsaSigner, NotAnRsaKey> {
        let key = rsa::PrivateKey::from_pkcs8_der(der).map_err(|_| NotAnRsaKey)?;
        Ok(RsaSigner(SigningKey::<Sha256>::new(key)))
    }

    /// The compact JWT of `header` and `claims`, signed RS256 (RSASSA-PKCS1-v1_5 with
    /// SHA-256).
    pub(crate) fn jwt(&self, header: &Value, claims: &Value) -> String {
        let signing_input =
            format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
        let signature = self.0.sign(signing_input.as_bytes()).to_vec();
        format!("{signing_input}.{}", b64url(&signature))
    }
}

/// Base64url without padding, as JWTs write it.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

//! A service principal's certificate file (`AZURE_CLIENT_CERTIFICATE_PATH`) read as
//! azure-identity reads it: PEM (the first certificate and an RSA key, PKCS#8, PKCS#1
//! or encrypted PKCS#8) or PKCS#12 (`pkcs12`), with the password for an encrypted one.
//! The component reads no files, so none of this is in it.

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::auth::jwt::{RsaSigner, b64url};
use crate::engine::operation::Exchange;

/// The text between `-----BEGIN {label}-----` and its END line, whole (markers
/// included), or `None`.
fn pem_block<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)?;
    let stop = text[start..].find(&end)? + start + end.len();
    Some(&text[start..stop])
}

/// A PEM file's RSA key and first certificate (DER).
fn from_pem(ex: &Exchange, text: &str, password: Option<&str>) -> Result<(RsaSigner, Vec<u8>), String> {
    let der_of = |block: &str| -> Result<Vec<u8>, String> {
        let body: String = block.lines().filter(|l| !l.starts_with("-----")).flat_map(|l| l.trim().chars()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| "holds a PEM block that is not base64".into())
    };
    let not_rsa = |_| "its private key is not an RSA key in PKCS#8 or PKCS#1 form".to_owned();
    let signer = if let Some(key) = ["PRIVATE KEY", "RSA PRIVATE KEY"].iter().find_map(|l| pem_block(text, l)) {
        ex.add_secret(key);
        RsaSigner::from_pem(key).map_err(not_rsa)?
    } else if let Some(key) = pem_block(text, "ENCRYPTED PRIVATE KEY") {
        let Some(password) = password else {
            return Err("its private key is encrypted: set AZURE_CLIENT_CERTIFICATE_PASSWORD".into());
        };
        decrypt_pem_key(&der_of(key)?, password)?
    } else {
        return Err("holds no PEM private key".into());
    };
    let certificate = pem_block(text, "CERTIFICATE").ok_or("holds no PEM certificate")?;
    Ok((signer, der_of(certificate)?))
}

fn decrypt_pem_key(der: &[u8], password: &str) -> Result<RsaSigner, String> {
    let key = crate::auth::pkcs12::decrypt_encrypted_pem_key(der, password)?;
    RsaSigner::from_pkcs8_der(&key).map_err(|_| "its private key is not an RSA key".into())
}

fn from_pkcs12(bytes: &[u8], password: Option<&str>) -> Result<(RsaSigner, Vec<u8>), String> {
    let found = crate::auth::pkcs12::read_pkcs12(bytes, password)?;
    let signer = RsaSigner::from_pkcs8_der(&found.private_key).map_err(|_| "its private key is not an RSA key")?;
    Ok((signer, found.certificate))
}

/// The signer of the file's key and the SHA-1 thumbprint (base64url, the `x5t`
/// azure-identity sends) of its certificate; why not, for a person.
pub(crate) fn load(ex: &Exchange, bytes: &[u8], password: Option<&str>) -> Result<(RsaSigner, String), String> {
    let (signer, certificate) = if bytes.windows(10).any(|w| w == b"-----BEGIN") {
        let text = std::str::from_utf8(bytes).map_err(|_| "is a PEM file that is not UTF-8".to_owned())?;
        from_pem(ex, text, password)?
    } else {
        from_pkcs12(bytes, password)?
    };
    Ok((signer, b64url(&Sha1::digest(&certificate))))
}

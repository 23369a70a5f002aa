//! Password-protected key files, as `AZURE_CLIENT_CERTIFICATE_PATH` may name them:
//! PKCS#12 (`.pfx`/`.p12`, RFC 7292) and encrypted PKCS#8 (`BEGIN ENCRYPTED PRIVATE
//! KEY`, RFC 5958), read the way azure-identity reads them (through `cryptography`,
//! that is OpenSSL): one RSA private key and the certificate that goes with it.
//!
//! What is read: DER or BER (constructed and indefinite-length strings, as Windows and
//! Java write them); the integrity MAC with SHA-1 or SHA-2 (checked, so a wrong
//! password says so); PBES2 (PBKDF2 with HMAC-SHA-1/SHA-2, AES-128/192/256-CBC or
//! DES-EDE3-CBC), what OpenSSL 3 and `cryptography` write; and PKCS#12's own
//! password-based encryption with SHA-1 (3DES, 2-key 3DES, RC2-128 and RC2-40), what
//! older tools and Windows write. What is not (public-key privacy mode, PBMAC1,
//! several keys) is refused with why.
//!
//! The component reads no files, so this module is not in it.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// What the file holds: the private key (PKCS#8 `PrivateKeyInfo`, DER) and its
/// certificate (DER).
pub(crate) struct KeyAndCertificate {
    pub(crate) private_key: Vec<u8>,
    pub(crate) certificate: Vec<u8>,
}

/// Why a file cannot be read, for a person (never the password or key material).
pub(crate) type Why = String;

// Object identifiers, as their DER bodies.
const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
const KEY_BAG: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x01];
const SHROUDED_KEY_BAG: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02];
const CERT_BAG: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x03];
const X509_CERTIFICATE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
const LOCAL_KEY_ID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x15];
const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
const PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
/// pbeWithSHAAnd… (1.2.840.113549.1.12.1.n): the last byte says which cipher.
const PKCS12_PBE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];
const HMAC_WITH: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02];
const AES_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01];
const DES_EDE3_CBC: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07];
const SHA1_OID: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const SHA2_OID: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const CONTEXT_0: u8 = 0xa0;

/// Reads a PKCS#12 file with `password` (`None`: none given, which OpenSSL takes as
/// either no password or the empty one).
pub(crate) fn read_pkcs12(file: &[u8], password: Option<&str>) -> Result<KeyAndCertificate, Why> {
    let not_pkcs12 = || "is neither PEM nor PKCS#12".to_owned();
    let mut pfx = Der::new(file).sequence().map_err(|_| not_pkcs12())?;
    if pfx.integer().map_err(|_| not_pkcs12())? != [3] {
        return Err(not_pkcs12());
    }
    let (kind, content) = pfx.content_info()?;
    if kind != DATA {
        return Err("protects its contents with a public key, which is not read here; export it with a password".into());
    }
    let auth_safe = content.octets()?;
    let candidates: Vec<Vec<u8>> = match password {
        Some(p) => vec![bmp(Some(p))],
        None => vec![bmp(Some("")), bmp(None)],
    };
    let password_bmp = match pfx.optional(SEQUENCE)? {
        Some(mac_data) => {
            let found = candidates.iter().find(|p| mac_matches(mac_data, &auth_safe, p).unwrap_or(false));
            match found {
                Some(p) => p.clone(),
                None => {
                    mac_matches(mac_data, &auth_safe, &candidates[0])?;
                    return Err(match password {
                        Some(_) => {
                            "does not open with AZURE_CLIENT_CERTIFICATE_PASSWORD (its integrity check fails)".into()
                        }
                        None => "needs a password: set AZURE_CLIENT_CERTIFICATE_PASSWORD".into(),
                    });
                }
            }
        }
        None => candidates[0].clone(),
    };
    let password = Password { text: password.unwrap_or(""), bmp: &password_bmp };

    let mut keys = Vec::new();
    let mut certificates = Vec::new();
    let mut safes = Der::new(&auth_safe).sequence()?;
    while !safes.is_empty() {
        let (kind, content) = safes.content_info()?;
        let safe_contents = if kind == DATA {
            content.octets()?
        } else if kind == ENCRYPTED_DATA {
            let mut encrypted = content.sequence()?;
            encrypted.integer()?;
            let mut info = encrypted.sequence()?;
            info.oid()?;
            let algorithm = info.tlv()?;
            let ciphertext = info.tlv()?; // [0] IMPLICIT OCTET STRING
            decrypt(algorithm, &ciphertext.octets_implicit()?, &password)?
        } else {
            return Err("protects part of its contents with a public key, which is not read here".into());
        };
        let mut bags = Der::new(&safe_contents).sequence()?;
        while !bags.is_empty() {
            let mut bag = bags.sequence()?;
            let bag_id = bag.oid()?;
            let mut value = bag.explicit(CONTEXT_0)?;
            let key_id = bag.optional(SET)?.map(local_key_id).transpose()?.flatten();
            if bag_id == KEY_BAG {
                keys.push((key_id, value.tlv()?.whole.to_vec()));
            } else if bag_id == SHROUDED_KEY_BAG {
                keys.push((key_id, decrypt_private_key_info(value.tlv()?.whole, &password)?));
            } else if bag_id == CERT_BAG {
                let mut cert_bag = value.sequence()?;
                if cert_bag.oid()? == X509_CERTIFICATE {
                    certificates.push((key_id, cert_bag.explicit(CONTEXT_0)?.tlv()?.octets()?));
                }
            }
        }
    }
    let private_key = match keys.len() {
        1 => keys.pop().expect("one key"),
        0 => return Err("holds no private key".into()),
        n => return Err(format!("holds {n} private keys; export the one to use alone")),
    };
    // The key's certificate: by the local key id both bags carry, else by public key.
    let modulus = rsa_modulus_of_key(&private_key.1)?;
    let certificate = certificates
        .iter()
        .find(|(id, _)| id.is_some() && *id == private_key.0)
        .or_else(|| certificates.iter().find(|(_, der)| rsa_modulus_of_certificate(der).ok() == Some(modulus)))
        .ok_or_else(|| "holds no certificate for its private key".to_owned())?;
    Ok(KeyAndCertificate { private_key: private_key.1, certificate: certificate.1.clone() })
}

/// Decrypts an `EncryptedPrivateKeyInfo` (DER) to the `PrivateKeyInfo` (DER) inside.
pub(crate) fn decrypt_encrypted_pem_key(der: &[u8], password: &str) -> Result<Vec<u8>, Why> {
    let bmp = bmp(Some(password));
    decrypt_private_key_info(der, &Password { text: password, bmp: &bmp })
}

struct Password<'a> {
    /// As typed: PBES2 takes the bytes of the text.
    text: &'a str,
    /// As PKCS#12's own key derivation takes it: UTF-16BE and two zero bytes.
    bmp: &'a [u8],
}

/// A password as a BMPString with its terminator; `None` (OpenSSL's "no password")
/// is no bytes at all.
fn bmp(password: Option<&str>) -> Vec<u8> {
    let Some(p) = password else { return Vec::new() };
    p.encode_utf16().flat_map(u16::to_be_bytes).chain([0, 0]).collect()
}

fn decrypt_private_key_info(der: &[u8], password: &Password) -> Result<Vec<u8>, Why> {
    let mut info = Der::new(der).sequence()?;
    let algorithm = info.tlv()?;
    let ciphertext = info.octet_string()?;
    decrypt(algorithm, &ciphertext, password)
}

/// `attributes` (a SET OF Attribute) -> the localKeyId's value, if there is one.
fn local_key_id(mut attributes: Der) -> Result<Option<Vec<u8>>, Why> {
    while !attributes.is_empty() {
        let mut attribute = attributes.sequence()?;
        if attribute.oid()? == LOCAL_KEY_ID {
            return Ok(Some(attribute.expect(SET)?.to_vec()));
        }
    }
    Ok(None)
}

/// The hashes a MAC or a key derivation may name.
#[derive(Clone, Copy)]
enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_digest_oid(oid: &[u8]) -> Result<Hash, Why> {
        match oid {
            SHA1_OID => Ok(Hash::Sha1),
            o if o.strip_prefix(SHA2_OID) == Some(&[1]) => Ok(Hash::Sha256),
            o if o.strip_prefix(SHA2_OID) == Some(&[2]) => Ok(Hash::Sha384),
            o if o.strip_prefix(SHA2_OID) == Some(&[3]) => Ok(Hash::Sha512),
            _ => Err("uses an integrity hash that is not read here".into()),
        }
    }

    fn from_hmac_oid(oid: &[u8]) -> Result<Hash, Why> {
        match oid.strip_prefix(HMAC_WITH) {
            Some([7]) => Ok(Hash::Sha1),
            Some([9]) => Ok(Hash::Sha256),
            Some([10]) => Ok(Hash::Sha384),
            Some([11]) => Ok(Hash::Sha512),
            _ => Err("uses a PBKDF2 hash that is not read here".into()),
        }
    }

    /// (output length, block length) in bytes.
    fn lengths(self) -> (usize, usize) {
        match self {
            Hash::Sha1 => (20, 64),
            Hash::Sha256 => (32, 64),
            Hash::Sha384 => (48, 128),
            Hash::Sha512 => (64, 128),
        }
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            parts.iter().for_each(|p| d.update(p));
            d.finalize().to_vec()
        }
        match self {
            Hash::Sha1 => run::<Sha1>(parts),
            Hash::Sha256 => run::<Sha256>(parts),
            Hash::Sha384 => run::<Sha384>(parts),
            Hash::Sha512 => run::<Sha512>(parts),
        }
    }

    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
            parts.iter().for_each(|p| m.update(p));
            m.finalize().into_bytes().to_vec()
        }
        match self {
            Hash::Sha1 => run::<Hmac<Sha1>>(key, parts),
            Hash::Sha256 => run::<Hmac<Sha256>>(key, parts),
            Hash::Sha384 => run::<Hmac<Sha384>>(key, parts),
            Hash::Sha512 => run::<Hmac<Sha512>>(key, parts),
        }
    }
}

/// Work factors above this are refused: a file is input, and a planted one must not
/// keep the process busy for hours.
const MAX_ITERATIONS: u64 = 1_000_000;

fn iterations(bytes: &[u8]) -> Result<u32, Why> {
    let n = bytes.iter().try_fold(0u64, |n, b| n.checked_mul(256).map(|n| n + u64::from(*b)));
    match n {
        Some(n @ 1..=MAX_ITERATIONS) => Ok(n as u32),
        _ => Err("names an iteration count out of range".into()),
    }
}

/// Does the MacData (RFC 7292 §4) check out for `password`?
fn mac_matches(mut mac_data: Der, content: &[u8], password: &[u8]) -> Result<bool, Why> {
    let mut digest_info = mac_data.sequence()?;
    let mut algorithm = digest_info.sequence()?;
    let hash = Hash::from_digest_oid(algorithm.oid().map_err(|_| "uses PBMAC1, which is not read here".to_owned())?)?;
    let expected = digest_info.octet_string()?;
    let salt = mac_data.octet_string()?;
    let rounds = match mac_data.optional(INTEGER)? {
        Some(n) => iterations(n.rest)?,
        None => 1,
    };
    let key = pkcs12_kdf(hash, 3, password, &salt, rounds, hash.lengths().0);
    Ok(hash.hmac(&key, &[content]) == expected)
}

/// PKCS#12's key derivation (RFC 7292 appendix B.2): `id` 1 for keys, 2 for IVs, 3
/// for MAC keys.
fn pkcs12_kdf(hash: Hash, id: u8, password: &[u8], salt: &[u8], rounds: u32, length: usize) -> Vec<u8> {
    let (u, v) = hash.lengths();
    let stretch = |s: &[u8]| -> Vec<u8> {
        if s.is_empty() {
            return Vec::new();
        }
        s.iter().cycle().take(v * s.len().div_ceil(v)).copied().collect()
    };
    let mut i: Vec<u8> = stretch(salt);
    i.extend(stretch(password));
    let d = vec![id; v];
    let mut out = Vec::with_capacity(length + u);
    while out.len() < length {
        let mut a = hash.digest(&[&d, &i]);
        for _ in 1..rounds {
            a = hash.digest(&[&a]);
        }
        out.extend_from_slice(&a);
        let b: Vec<u8> = a.iter().cycle().take(v).copied().collect();
        for block in i.chunks_mut(v) {
            // block = (block + b + 1) mod 2^(8v), big-endian.
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().zip(&b).rev() {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = sum as u8;
                carry = sum >> 8;
            }
        }
    }
    out.truncate(length);
    out
}

/// PBKDF2 (RFC 8018 §5.2) with HMAC-`hash`.
fn pbkdf2(hash: Hash, password: &[u8], salt: &[u8], rounds: u32, length: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(length);
    for index in 1u32.. {
        let mut u = hash.hmac(password, &[salt, &index.to_be_bytes()]);
        let mut t = u.clone();
        for _ in 1..rounds {
            u = hash.hmac(password, &[&u]);
            t.iter_mut().zip(&u).for_each(|(t, u)| *t ^= u);
        }
        out.extend_from_slice(&t);
        if out.len() >= length {
            break;
        }
    }
    out.truncate(length);
    out
}

/// Decrypts `ciphertext` with the AlgorithmIdentifier `algorithm`.
fn decrypt(algorithm: Tlv, ciphertext: &[u8], password: &Password) -> Result<Vec<u8>, Why> {
    let mut algorithm = algorithm.sequence()?;
    let scheme = algorithm.oid()?;
    let mut params = algorithm.sequence()?;
    let wrong = || "does not decrypt with the password given (AZURE_CLIENT_CERTIFICATE_PASSWORD)".to_owned();
    if scheme == PBES2 {
        let mut kdf = params.sequence()?;
        if kdf.oid()? != PBKDF2 {
            return Err("uses a PBES2 key derivation other than PBKDF2, which is not read here".into());
        }
        let mut kdf_params = kdf.sequence()?;
        let salt = kdf_params.octet_string()?;
        let rounds = iterations(kdf_params.expect(INTEGER)?)?;
        let _key_length = kdf_params.optional(INTEGER)?;
        let prf = match kdf_params.optional(SEQUENCE)? {
            Some(mut prf) => Hash::from_hmac_oid(prf.oid()?)?,
            None => Hash::Sha1,
        };
        let mut cipher = params.sequence()?;
        let cipher_oid = cipher.oid()?;
        let iv = &cipher.octet_string()?;
        let key = |n| pbkdf2(prf, password.text.as_bytes(), &salt, rounds, n);
        let plain = match cipher_oid.strip_prefix(AES_CBC) {
            Some([2]) => cbc_decrypt(&aes::Aes128::new_from_slice(&key(16)).expect("16"), iv, ciphertext),
            Some([22]) => cbc_decrypt(&aes::Aes192::new_from_slice(&key(24)).expect("24"), iv, ciphertext),
            Some([42]) => cbc_decrypt(&aes::Aes256::new_from_slice(&key(32)).expect("32"), iv, ciphertext),
            _ if cipher_oid == DES_EDE3_CBC => {
                cbc_decrypt(&des::TdesEde3::new_from_slice(&key(24)).expect("24"), iv, ciphertext)
            }
            _ => return Err("uses a PBES2 cipher that is not read here".into()),
        };
        return plain.ok_or_else(wrong);
    }
    let Some(&[which]) = scheme.strip_prefix(PKCS12_PBE) else {
        return Err("is encrypted with a scheme that is not read here".into());
    };
    let salt = params.octet_string()?;
    let rounds = iterations(params.expect(INTEGER)?)?;
    let derive = |id, n| pkcs12_kdf(Hash::Sha1, id, password.bmp, &salt, rounds, n);
    let iv = derive(2, 8);
    let plain = match which {
        3 => cbc_decrypt(&des::TdesEde3::new_from_slice(&derive(1, 24)).expect("24"), &iv, ciphertext),
        4 => cbc_decrypt(&des::TdesEde2::new_from_slice(&derive(1, 16)).expect("16"), &iv, ciphertext),
        5 => cbc_decrypt(&rc2::Rc2::new_with_eff_key_len(&derive(1, 16), 128), &iv, ciphertext),
        6 => cbc_decrypt(&rc2::Rc2::new_with_eff_key_len(&derive(1, 5), 40), &iv, ciphertext),
        _ => return Err("uses RC4, which is not read here".into()),
    };
    plain.ok_or_else(wrong)
}

/// CBC decryption with PKCS#7 padding; `None` when the padding is wrong (the usual
/// sign of a wrong password).
fn cbc_decrypt<C: aes::cipher::BlockCipherDecrypt>(cipher: &C, iv: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    let n = C::block_size();
    if data.is_empty() || !data.len().is_multiple_of(n) || iv.len() != n {
        return None;
    }
    let mut out = Vec::with_capacity(data.len());
    let mut previous = iv;
    for chunk in data.chunks(n) {
        let mut block = aes::cipher::Block::<C>::try_from(chunk).ok()?;
        cipher.decrypt_block(&mut block);
        out.extend(block.iter().zip(previous).map(|(a, b)| a ^ b));
        previous = chunk;
    }
    let pad = usize::from(*out.last()?);
    if pad == 0 || pad > n || !out[out.len() - pad..].iter().all(|&b| usize::from(b) == pad) {
        return None;
    }
    out.truncate(out.len() - pad);
    Some(out)
}

/// The modulus of an RSA `PrivateKeyInfo`, leading zeros stripped.
fn rsa_modulus_of_key(private_key_info: &[u8]) -> Result<&[u8], Why> {
    let not_rsa = |_| "holds a private key that is not RSA".to_owned();
    let mut info = Der::new(private_key_info).sequence().map_err(not_rsa)?;
    info.integer().map_err(not_rsa)?;
    info.sequence().map_err(not_rsa)?;
    let mut key = Der::new(info.expect(OCTET_STRING).map_err(not_rsa)?).sequence().map_err(not_rsa)?;
    key.integer().map_err(not_rsa)?;
    key.integer().map(strip_zeros).map_err(not_rsa)
}

/// The modulus of an X.509 certificate's RSA public key, leading zeros stripped.
fn rsa_modulus_of_certificate(certificate: &[u8]) -> Result<&[u8], Why> {
    let mut tbs = Der::new(certificate).sequence()?.sequence()?;
    tbs.optional(CONTEXT_0)?;
    tbs.integer()?; // serial
    for _ in 0..4 {
        tbs.tlv()?; // signature algorithm, issuer, validity, subject
    }
    let mut spki = tbs.sequence()?;
    spki.sequence()?;
    let bits = spki.expect(BIT_STRING)?;
    let mut public_key = Der::new(bits.get(1..).unwrap_or_default()).sequence()?;
    public_key.integer().map(strip_zeros)
}

fn strip_zeros(n: &[u8]) -> &[u8] {
    let start = n.iter().position(|&b| b != 0).unwrap_or(n.len());
    &n[start..]
}

/// One TLV: its tag, its contents and the whole encoding.
#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
    whole: &'a [u8],
}

impl<'a> Tlv<'a> {
    fn sequence(self) -> Result<Der<'a>, Why> {
        if self.tag != SEQUENCE {
            return Err(malformed());
        }
        Ok(Der::new(self.body))
    }

    /// An OCTET STRING's bytes, primitive or constructed (BER).
    fn octets(self) -> Result<Vec<u8>, Why> {
        match self.tag {
            OCTET_STRING => Ok(self.body.to_vec()),
            0x24 => self.chunks(),
            _ => Err(malformed()),
        }
    }

    /// A `[0] IMPLICIT OCTET STRING`'s bytes, primitive or constructed.
    fn octets_implicit(self) -> Result<Vec<u8>, Why> {
        match self.tag {
            0x80 => Ok(self.body.to_vec()),
            CONTEXT_0 => self.chunks(),
            _ => Err(malformed()),
        }
    }

    fn chunks(self) -> Result<Vec<u8>, Why> {
        let mut parts = Der::new(self.body);
        let mut out = Vec::new();
        while !parts.is_empty() {
            out.extend(parts.tlv()?.octets()?);
        }
        Ok(out)
    }
}

fn malformed() -> Why {
    "is not a well-formed PKCS#12 or PKCS#8 structure".into()
}

/// A reader over concatenated DER (or BER) TLVs.
#[derive(Clone, Copy)]
struct Der<'a> {
    rest: &'a [u8],
}

/// Nesting deeper than this is refused (indefinite lengths recurse).
const MAX_DEPTH: usize = 32;

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Der<'a> {
        Der { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn tlv(&mut self) -> Result<Tlv<'a>, Why> {
        let (tlv, used) = parse_tlv(self.rest, 0).ok_or_else(malformed)?;
        self.rest = &self.rest[used..];
        Ok(tlv)
    }

    fn expect(&mut self, tag: u8) -> Result<&'a [u8], Why> {
        let tlv = self.tlv()?;
        if tlv.tag != tag {
            return Err(malformed());
        }
        Ok(tlv.body)
    }

    /// The next TLV's reader when its tag is `tag`; nothing consumed otherwise.
    fn optional(&mut self, tag: u8) -> Result<Option<Der<'a>>, Why> {
        if self.rest.first() != Some(&tag) {
            return Ok(None);
        }
        Ok(Some(Der::new(self.expect(tag)?)))
    }

    fn sequence(&mut self) -> Result<Der<'a>, Why> {
        self.tlv()?.sequence()
    }

    /// An OCTET STRING, primitive or constructed (BER).
    fn octet_string(&mut self) -> Result<Vec<u8>, Why> {
        self.tlv()?.octets()
    }

    fn integer(&mut self) -> Result<&'a [u8], Why> {
        self.expect(INTEGER)
    }

    fn oid(&mut self) -> Result<&'a [u8], Why> {
        self.expect(OID)
    }

    /// The contents of an `[n] EXPLICIT` wrapper.
    fn explicit(&mut self, tag: u8) -> Result<Der<'a>, Why> {
        Ok(Der::new(self.expect(tag)?))
    }

    /// A ContentInfo: its type and its `[0] EXPLICIT` content.
    fn content_info(&mut self) -> Result<(&'a [u8], Tlv<'a>), Why> {
        let mut info = self.sequence()?;
        let kind = info.oid()?;
        let content = info.explicit(CONTEXT_0)?.tlv()?;
        Ok((kind, content))
    }
}

/// One TLV at the start of `bytes` and how many bytes it took. Single-byte tags only
/// (all PKCS#12 needs); an indefinite length runs to its end-of-contents octets.
fn parse_tlv(bytes: &[u8], depth: usize) -> Option<(Tlv<'_>, usize)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let tag = *bytes.first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *bytes.get(1)?;
    let (length, header) = match first {
        0x80 => {
            // Indefinite (BER): constructed only; children until 00 00.
            if tag & 0x20 == 0 {
                return None;
            }
            let mut at = 2;
            while bytes.get(at..at + 2)? != [0, 0] {
                at += parse_tlv(&bytes[at..], depth + 1)?.1;
            }
            let tlv = Tlv { tag, body: &bytes[2..at], whole: &bytes[..at + 2] };
            return Some((tlv, at + 2));
        }
        n if n < 0x80 => (usize::from(n), 2),
        n => {
            let count = usize::from(n & 0x7f);
            if count > 4 {
                return None;
            }
            let length = bytes.get(2..2 + count)?.iter().fold(0usize, |l, b| (l << 8) | usize::from(*b));
            (length, 2 + count)
        }
    };
    let end = header.checked_add(length)?;
    let tlv = Tlv { tag, body: bytes.get(header..end)?, whole: &bytes[..end] };
    Some((tlv, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs12_kdf_matches_a_published_vector() {
        // From the PKCS#12 test vectors OpenSSL and Bouncy Castle use: password
        // "smeg", salt 0A58CF64530D823F, one iteration, id 1, 24 bytes.
        let key =
            pkcs12_kdf(Hash::Sha1, 1, &bmp(Some("smeg")), &[0x0a, 0x58, 0xcf, 0x64, 0x53, 0x0d, 0x82, 0x3f], 1, 24);
        let hex: String = key.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(hex, "8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3");
    }

    #[test]
    fn pbkdf2_matches_rfc_6070() {
        let key = pbkdf2(Hash::Sha1, b"password", b"salt", 2, 20);
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    }

    const PASSWORD: &str = "Pf#12x"; // tests/canaries.json: certificatePassword

    fn der_of_pem(pem: &str) -> Vec<u8> {
        use base64::Engine;
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD.decode(body).unwrap()
    }

    /// The fixture's key and certificate are the PEM fixtures' (make-pkcs12.py).
    fn assert_is_the_test_identity(found: &KeyAndCertificate) {
        assert_eq!(found.certificate, der_of_pem(include_str!("../../testdata/azure-test-cert.pem")));
        let pem = crate::auth::jwt::RsaSigner::from_pem(include_str!("../../testdata/gcp-test-key.pem")).unwrap();
        let der = crate::auth::jwt::RsaSigner::from_pkcs8_der(&found.private_key).unwrap();
        let (header, claims) = (serde_json::json!({"alg": "RS256"}), serde_json::json!({"x": 1}));
        assert_eq!(pem.jwt(&header, &claims), der.jwt(&header, &claims));
    }

    #[test]
    fn every_encryption_openssl_and_windows_write_is_read() {
        for (name, file) in [
            ("aes256", &include_bytes!("../../testdata/client-aes256.p12")[..]),
            ("3des", include_bytes!("../../testdata/client-3des.p12")),
            ("legacy rc2-40", include_bytes!("../../testdata/client-legacy.p12")),
        ] {
            let found = read_pkcs12(file, Some(PASSWORD)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_is_the_test_identity(&found);
            let wrong = read_pkcs12(file, Some("not it")).err().unwrap();
            assert!(wrong.contains("AZURE_CLIENT_CERTIFICATE_PASSWORD"), "{name}: {wrong}");
            let none = read_pkcs12(file, None).err().unwrap();
            assert!(none.contains("needs a password"), "{name}: {none}");
        }
        assert_is_the_test_identity(&read_pkcs12(include_bytes!("../../testdata/client-nopass.p12"), None).unwrap());
    }

    #[test]
    fn an_encrypted_pkcs8_key_is_decrypted_with_the_password() {
        let pem = include_str!("../../testdata/client-encrypted.pem");
        let start = pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----").unwrap();
        let der = der_of_pem(&pem[start..]);
        let key = decrypt_encrypted_pem_key(&der, PASSWORD).unwrap();
        let found = KeyAndCertificate { private_key: key, certificate: der_of_pem(&pem[..start]) };
        assert_is_the_test_identity(&found);
        assert!(decrypt_encrypted_pem_key(&der, "not it").unwrap_err().contains("does not decrypt"));
    }

    /// Re-encodes a DER tree in BER as Windows and Java may write it: every
    /// constructed value with an indefinite length, and every OCTET STRING outside
    /// the MAC'd content split into constructed 5-byte chunks.
    fn to_ber(der: &[u8], depth: usize) -> Vec<u8> {
        let mut reader = Der::new(der);
        let mut out = Vec::new();
        while !reader.is_empty() {
            let tlv = reader.tlv().unwrap();
            if tlv.tag & 0x20 != 0 {
                out.extend([tlv.tag, 0x80]);
                out.extend(to_ber(tlv.body, depth + 1));
                out.extend([0, 0]);
            } else if tlv.tag == OCTET_STRING && depth < 4 {
                out.extend([0x24, 0x80]);
                for chunk in tlv.body.chunks(5) {
                    out.extend([OCTET_STRING, chunk.len() as u8]);
                    out.extend(chunk);
                }
                out.extend([0, 0]);
            } else {
                out.extend(tlv.whole);
            }
        }
        out
    }

    #[test]
    fn ber_with_indefinite_lengths_and_chunked_strings_is_read() {
        let der = include_bytes!("../../testdata/client-3des.p12");
        let ber = to_ber(der, 0);
        assert_ne!(&ber[..], &der[..]);
        assert_is_the_test_identity(&read_pkcs12(&ber, Some(PASSWORD)).unwrap());
    }

    #[test]
    fn truncated_or_hostile_input_is_an_error_not_a_panic() {
        for bytes in [&[][..], &[0x30], &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], &[0x30, 0x80, 0x30, 0x80], &[0x1f, 0]] {
            assert!(read_pkcs12(bytes, None).is_err());
        }
        let deep: Vec<u8> = std::iter::repeat_n([0x30, 0x80], 100).flatten().collect();
        assert!(read_pkcs12(&deep, None).is_err());
    }
}

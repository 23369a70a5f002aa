//! A string that never prints.

use std::fmt;

/// A secret value (secret access key, session token, password, private key).
///
/// `Debug` and `Display` show `***`; the value is reachable only through
/// [`Secret::expose`], so every place that reads it is easy to find.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself; use it only to sign or to send.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::new(value)
    }
}

/// The secret values an operation must scrub from its messages. Its `Debug` shows
/// only how many there are.
#[derive(Clone, Default)]
pub(crate) struct SecretList(pub(crate) Vec<String>);

impl fmt::Debug for SecretList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} secrets]", self.0.len())
    }
}

/// Replaces every secret in `text` by `***`, in its raw form and in the base64 form
/// a `Basic` header carries it in, and blanks any `Basic` or `Bearer` credential
/// whatever it holds. A secret of 8 characters or more is replaced wherever it
/// appears; a shorter one only where it stands alone (not inside a longer word), so a
/// 4-character password is redacted from `password=abcd` without blanking "abcd" out
/// of "abcdef".
pub(crate) fn redact(text: &str, secrets: &[String]) -> String {
    use base64::Engine as _;
    let mut out = redact_authorization_values(text);
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(s);
        for form in [s.as_str(), encoded.as_str(), encoded.trim_end_matches('=')] {
            out = if s.len() >= 8 { out.replace(form, "***") } else { replace_standalone(&out, form) };
        }
    }
    out
}

/// `Basic xxx` / `Bearer xxx` become `Basic ***` / `Bearer ***`; challenges
/// (`Bearer realm="..."`) and prose ("basic auth") stay.
fn redact_authorization_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = ["Basic ", "Bearer "].iter().filter_map(|scheme| rest.find(scheme).map(|i| (i, scheme.len()))).min();
        let Some((at, len)) = next else {
            out.push_str(rest);
            return out;
        };
        let value_start = at + len;
        let value_len = rest[value_start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || "+/=-_.~".contains(c)))
            .unwrap_or(rest.len() - value_start);
        let value = &rest[value_start..value_start + value_len];
        // `Bearer realm="..."` / `Bearer realm=http://...` is a challenge, not a
        // credential: a credential's `=` is only base64 padding at its end.
        let challenge =
            value.trim_end_matches('=').contains('=') || rest[value_start + value_len..].starts_with(['"', ':']);
        out.push_str(&rest[..value_start]);
        out.push_str(if value.is_empty() || challenge { value } else { "***" });
        rest = &rest[value_start + value_len..];
    }
}

fn replace_standalone(text: &str, needle: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(needle) {
        if i < last {
            continue;
        }
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        if !word(before) && !word(after) {
            out.push_str(&text[last..i]);
            out.push_str("***");
            last = i + needle.len();
        }
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn secrets_of_any_length_and_their_basic_forms_are_redacted() {
        let secrets = ["abcd".to_owned(), "a-long-secret-value".to_owned()];
        assert_eq!(redact("password=abcd; abcdef stays", &secrets), "password=***; abcdef stays");
        assert_eq!(redact("key a-long-secret-value!", &secrets), "key ***!");
        // base64("abcd") = YWJjZA==, as a Basic header would carry a bare secret.
        assert_eq!(redact("sent YWJjZA== back", &secrets), "sent *** back");
        // Any Basic or Bearer credential, whoever's it is.
        assert_eq!(redact("Authorization: Basic dXNlcjphYmNk, then", &[]), "Authorization: Basic ***, then");
        assert_eq!(redact("header Bearer eyJhbGciOi.x-y_z~ ok", &[]), "header Bearer *** ok");
        assert_eq!(redact("Bearer realm=\"x\",service=\"y\"", &[]), "Bearer realm=\"x\",service=\"y\"");
        assert_eq!(redact("Bearer realm=http://x/token", &[]), "Bearer realm=http://x/token");
        assert_eq!(redact("wants basic auth", &[]), "wants basic auth");
        assert_eq!(redact("nothing here", &secrets), "nothing here");
    }
}

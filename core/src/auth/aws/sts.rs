//! STS `AssumeRole` (query API, XML answer).

use crate::auth::aws::{AwsContext, sigv4};
use crate::engine::http::{HttpRequest, form_encode};
use crate::engine::operation::Exchange;
use crate::engine::time::Timestamp;
use crate::error::{Error, Result};
use crate::naming;
use crate::protocol::aws::{error_from_response, is_throttled};
use crate::protocol::aws_xml as xml;
use crate::secret::Secret;

/// The bounds STS puts on `DurationSeconds` (the upper one also depends on the
/// role's own maximum, which only STS knows).
pub(crate) const MIN_DURATION: u64 = 900;
/// See [`MIN_DURATION`].
pub(crate) const MAX_DURATION: u64 = 43_200;

/// Temporary credentials and when they expire.
pub(crate) struct Assumed {
    pub credentials: sigv4::AwsCredentials,
    pub expiration: Option<Timestamp>,
}

/// Assumes `role_arn` for `duration` seconds with the base credentials. A session
/// policy (`Policy`) narrows the session to what both it and the role allow.
pub(crate) async fn assume_role(
    ctx: &AwsContext,
    ex: &Exchange,
    role_arn: &str,
    duration: u64,
    session_policy: Option<&str>,
) -> Result<Assumed> {
    naming::validate_ttl(duration, MIN_DURATION, MAX_DURATION)?;
    let session = format!("artifact-registry-{}", ex.now().unix_seconds());
    let duration = duration.to_string();
    let mut fields = vec![("Action", "AssumeRole"), ("DurationSeconds", duration.as_str())];
    if let Some(policy) = session_policy {
        fields.push(("Policy", policy));
    }
    fields.extend([("RoleArn", role_arn), ("RoleSessionName", &session), ("Version", "2011-06-15")]);
    let body = form_encode(&fields);
    let url = format!("{}/", ctx.sts_url());
    let response = ex
        .call(
            |now| {
                let mut request = HttpRequest::new("POST", url.clone())
                    .header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
                    .body(body.clone());
                ctx.signer.sign(
                    &mut request,
                    &ctx.credentials,
                    sigv4::Scope { region: &ctx.region, service: "sts", time: now },
                )?;
                Ok(request)
            },
            is_throttled,
        )
        .await?;
    if !response.is_success() {
        return Err(error_from_response(&response, &format!("STS AssumeRole of {role_arn}")));
    }
    let text = response.text();
    let field = |name: &str| {
        xml::first(&text, name).ok_or_else(|| {
            Error::provider(format!("STS AssumeRole answer has no <{name}>")).with_http_status(response.status)
        })
    };
    let secret = field("SecretAccessKey")?;
    let token = field("SessionToken")?;
    ex.add_secret(&secret);
    ex.add_secret(&token);
    Ok(Assumed {
        credentials: sigv4::AwsCredentials {
            access_key_id: field("AccessKeyId")?,
            secret_access_key: Secret::new(secret),
            session_token: Some(Secret::new(token)),
        },
        expiration: xml::first(&text, "Expiration").and_then(|e| Timestamp::parse_rfc3339(&e)),
    })
}

//! STS `AssumeRole` (query API, XML answer).

use crate::auth::aws::{AwsContext, sigv4};
use crate::engine::http::{HttpRequest, HttpResponse, form_encode};
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

/// Options of `AssumeRole` from a profile.
#[cfg(not(target_family = "wasm"))]
pub(crate) struct AssumeOptions {
    pub session_name: Option<String>,
    pub external_id: Option<String>,
    pub duration: u64,
}

/// Assumes `role_arn` for `duration` seconds with the binding's base credentials. A
/// session policy (`Policy`) narrows the session to what both it and the role allow.
pub(crate) async fn assume_role(
    ctx: &AwsContext,
    ex: &Exchange,
    role_arn: &str,
    duration: u64,
    session_policy: Option<&str>,
) -> Result<Assumed> {
    naming::validate_ttl(duration, MIN_DURATION, MAX_DURATION)?;
    let base = ctx.credentials(ex).await?;
    let duration = duration.to_string();
    let mut fields = vec![("DurationSeconds", duration.as_str())];
    if let Some(policy) = session_policy {
        fields.push(("Policy", policy));
    }
    assume(ctx, ex, Some(&base), "AssumeRole", role_arn, None, &fields).await
}

/// Assumes a profile's `role_arn` with `base` credentials.
#[cfg(not(target_family = "wasm"))]
pub(crate) async fn assume_role_as(
    ctx: &AwsContext,
    ex: &Exchange,
    base: &sigv4::AwsCredentials,
    role_arn: &str,
    options: &AssumeOptions,
) -> Result<Assumed> {
    let duration = options.duration.to_string();
    let mut fields = vec![("DurationSeconds", duration.as_str())];
    if let Some(id) = &options.external_id {
        fields.push(("ExternalId", id));
    }
    assume(ctx, ex, Some(base), "AssumeRole", role_arn, options.session_name.as_deref(), &fields).await
}

/// `AssumeRoleWithWebIdentity`: unsigned, the token is the proof.
pub(crate) async fn assume_role_with_web_identity(
    ctx: &AwsContext,
    ex: &Exchange,
    role_arn: &str,
    token: &str,
    session_name: Option<&str>,
) -> Result<Assumed> {
    ex.add_secret(token);
    assume(ctx, ex, None, "AssumeRoleWithWebIdentity", role_arn, session_name, &[("WebIdentityToken", token)]).await
}

/// POSTs an STS query-API call, signed with `signer_creds` (re-signed at each retry's
/// time) or unsigned (web identity: the token is the proof).
async fn post_query(
    ctx: &AwsContext,
    ex: &Exchange,
    fields: &[(&str, &str)],
    signer_creds: Option<&sigv4::AwsCredentials>,
) -> Result<HttpResponse> {
    let body = form_encode(fields);
    let url = format!("{}/", ctx.sts_url());
    ex.call(
        |now| {
            let mut request = HttpRequest::new("POST", url.clone())
                .header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
                .body(body.clone());
            if let Some(creds) = signer_creds {
                ctx.signer.sign(
                    &mut request,
                    creds,
                    sigv4::Scope { region: &ctx.region, service: "sts", time: now },
                )?;
            }
            Ok(request)
        },
        is_throttled,
    )
    .await
}

async fn assume(
    ctx: &AwsContext,
    ex: &Exchange,
    signer_creds: Option<&sigv4::AwsCredentials>,
    action: &str,
    role_arn: &str,
    session_name: Option<&str>,
    extra: &[(&str, &str)],
) -> Result<Assumed> {
    let session = session_name.map_or_else(|| format!("artifact-registry-{}", ex.now().unix_seconds()), str::to_owned);
    let mut fields: Vec<(&str, &str)> = vec![("Action", action)];
    fields.extend_from_slice(extra);
    fields.extend([("RoleArn", role_arn), ("RoleSessionName", session.as_str()), ("Version", "2011-06-15")]);
    fields.sort_by_key(|(k, _)| *k);
    let response = post_query(ctx, ex, &fields, signer_creds).await?;
    if !response.is_success() {
        return Err(error_from_response(&response, &format!("STS {action} of {role_arn}")));
    }
    let text = response.text();
    let field = |name: &str| {
        xml::first(&text, name).ok_or_else(|| {
            Error::provider(format!("STS {action} answer has no <{name}>")).with_http_status(response.status)
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

/// Who `creds` are: `(account, arn)` from `GetCallerIdentity`.
pub(crate) async fn caller_identity(
    ctx: &AwsContext,
    ex: &Exchange,
    creds: &sigv4::AwsCredentials,
) -> Result<(String, String)> {
    let fields = [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")];
    let response = post_query(ctx, ex, &fields, Some(creds)).await?;
    if !response.is_success() {
        return Err(error_from_response(&response, "STS GetCallerIdentity"));
    }
    let text = response.text();
    match (xml::first(&text, "Account"), xml::first(&text, "Arn")) {
        (Some(account), Some(arn)) => Ok((account, arn)),
        _ => Err(Error::provider("STS GetCallerIdentity answered without Account and Arn")),
    }
}

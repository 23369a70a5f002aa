//! Credentials from the environment, in the order of botocore and the AWS SDKs, for
//! an `aws` section without `credentials` (or with `"credentials": "default"`):
//!
//! 1. environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
//! 2. the profile's `role_arn`, from `source_profile` (recursively) or
//!    `credential_source` (`Environment`, `EcsContainer`, `Ec2InstanceMetadata`),
//!    with STS `AssumeRole`;
//! 3. web identity: `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` (or the profile's
//!    `role_arn` + `web_identity_token_file`), with `AssumeRoleWithWebIdentity`;
//! 4. the shared credentials file's keys for the profile;
//! 5. the profile's `credential_process`;
//! 6. the config file's keys for the profile;
//! 7. container credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` /
//!    `_FULL_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`);
//! 8. EC2 instance metadata, IMDSv2 (token PUT; IMDSv1 when the token cannot be had),
//!    with botocore's one-second timeout, unless `AWS_EC2_METADATA_DISABLED=true`.
//!
//! The profile is `AWS_PROFILE` (or `AWS_DEFAULT_PROFILE`), else `default`; the files
//! are `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`, else `~/.aws/`. SSO and
//! `login` profiles are interactive and not resolved (deliberate). Everything is
//! asked of the driver with [`HostQuery`] steps and HTTP requests: the core reads no
//! environment, file or socket.

use std::time::Duration;

use serde_json::Value;

use super::profile::{self, Profiles};
use super::sigv4::AwsCredentials;
use super::sts;
use crate::auth::aws::AwsContext;
use crate::engine::host::{HostAnswer, HostQuery};
use crate::engine::http::{HttpRequest, UrlParts};
use crate::engine::operation::Exchange;
use crate::engine::time::Timestamp;
use crate::error::{Error, ErrorCode, Result};
use crate::secret::Secret;

/// Credentials found, where, and until when.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub credentials: AwsCredentials,
    pub expiration: Option<Timestamp>,
    /// botocore's name for the source (`env`, `assume-role`, `iam-role`, ...).
    pub method: &'static str,
    /// Where, for people: `environment`, `profile:deploy (role_arn via source_profile base)`.
    pub source: String,
}

/// botocore's IMDS timeout.
const IMDS_TIMEOUT: Duration = Duration::from_secs(1);
const CONTAINER_HOST: &str = "http://169.254.170.2";
/// How deep `source_profile` chains may go.
#[cfg(not(target_family = "wasm"))]
const MAX_CHAIN: usize = 8;

struct Env<'a> {
    ex: &'a Exchange,
}

impl Env<'_> {
    async fn var(&self, name: &str) -> Option<String> {
        match self.ex.ask(HostQuery::Env(name.to_owned())).await {
            HostAnswer::Value(v) if !v.is_empty() => Some(v),
            _ => None,
        }
    }

    async fn file(&self, path: &str) -> Option<String> {
        match self.ex.ask(HostQuery::File(path.to_owned())).await {
            HostAnswer::Value(v) => Some(v),
            _ => None,
        }
    }
}

fn static_keys(section: Option<&std::collections::BTreeMap<String, String>>) -> Option<AwsCredentials> {
    let s = section?;
    let key = s.get("aws_access_key_id").filter(|v| !v.is_empty())?;
    let secret = s.get("aws_secret_access_key").filter(|v| !v.is_empty())?;
    Some(AwsCredentials {
        access_key_id: key.clone(),
        secret_access_key: Secret::new(secret.clone()),
        session_token: s.get("aws_session_token").filter(|v| !v.is_empty()).map(|t| Secret::new(t.clone())),
    })
}

/// The chain: the first source that yields credentials wins; when none does, the
/// error lists every source and why it did not apply.
pub(crate) async fn resolve(ctx: &AwsContext, ex: &Exchange) -> Result<Found> {
    let env = Env { ex };
    let mut tried: Vec<String> = Vec::new();

    // 1. Environment variables.
    let (key, secret) = (env.var("AWS_ACCESS_KEY_ID").await, env.var("AWS_SECRET_ACCESS_KEY").await);
    match (key, secret) {
        (Some(key), Some(secret)) => {
            let token = match env.var("AWS_SESSION_TOKEN").await {
                Some(t) => Some(t),
                None => env.var("AWS_SECURITY_TOKEN").await,
            };
            for s in [Some(&secret), token.as_ref()].into_iter().flatten() {
                ex.add_secret(s);
            }
            let credentials = AwsCredentials {
                access_key_id: key,
                secret_access_key: Secret::new(secret),
                session_token: token.map(Secret::new),
            };
            return Ok(Found { credentials, expiration: None, method: "env", source: "environment".into() });
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(Error::invalid_input(
                "partial credentials in the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set",
            ));
        }
        (None, None) => tried.push("environment: AWS_ACCESS_KEY_ID is not set".into()),
    }

    let (profile_name, config_path) = profile::selected(
        env.var("AWS_PROFILE").await,
        env.var("AWS_DEFAULT_PROFILE").await,
        env.var("AWS_CONFIG_FILE").await,
    );
    let creds_path = env.var("AWS_SHARED_CREDENTIALS_FILE").await.unwrap_or_else(|| "~/.aws/credentials".into());
    // A component has no files: no profiles, and their code stays out of it.
    #[cfg(target_family = "wasm")]
    let (config, creds_file) = (Profiles::new(), Profiles::new());
    #[cfg(not(target_family = "wasm"))]
    let config = env.file(&config_path).await.map(|t| profile::parse(&t, true)).unwrap_or_default();
    #[cfg(not(target_family = "wasm"))]
    let creds_file = env.file(&creds_path).await.map(|t| profile::parse(&t, false)).unwrap_or_default();
    let section = config.get(&profile_name);

    // 2. The profile's role_arn (not the web-identity kind, which is next). A
    // component has no profiles (above), so it has none of this code either.
    #[cfg(not(target_family = "wasm"))]
    if let Some(s) = section.filter(|s| s.contains_key("role_arn") && !s.contains_key("web_identity_token_file")) {
        let found = assume_profile_role(ctx, ex, &env, &config, &creds_file, &profile_name, s, 0).await?;
        return Ok(found);
    }
    tried.push(format!("profile {profile_name:?}: no role_arn"));

    // 3. Web identity.
    let role = match env.var("AWS_ROLE_ARN").await {
        Some(r) => Some(r),
        None => section.and_then(|s| s.get("role_arn").cloned()),
    };
    let token_file = match env.var("AWS_WEB_IDENTITY_TOKEN_FILE").await {
        Some(f) => Some(f),
        None => section.and_then(|s| s.get("web_identity_token_file").cloned()),
    };
    if let (Some(role), Some(token_file)) = (role.clone(), token_file.clone()) {
        let token = env
            .file(&token_file)
            .await
            .ok_or_else(|| Error::invalid_input(format!("the web identity token file {token_file} cannot be read")))?;
        let session = env.var("AWS_ROLE_SESSION_NAME").await;
        // As read, like botocore: a token file holds the token and nothing else.
        let assumed = sts::assume_role_with_web_identity(ctx, ex, &role, &token, session.as_deref()).await?;
        return Ok(Found {
            credentials: assumed.credentials,
            expiration: assumed.expiration,
            method: "assume-role-with-web-identity",
            source: format!("web identity ({role})"),
        });
    }
    tried.push("web identity: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are not both set".into());

    // 4. The shared credentials file.
    if let Some(credentials) = static_keys(creds_file.get(&profile_name)) {
        ex.add_secret(credentials.secret_access_key.expose());
        return Ok(Found {
            credentials,
            expiration: None,
            method: "shared-credentials-file",
            source: format!("profile:{profile_name} ({creds_path})"),
        });
    }
    tried.push(format!("{creds_path}: no keys for profile {profile_name:?}"));

    // 5. credential_process (no commands in a component).
    #[cfg(not(target_family = "wasm"))]
    if let Some(command) = section.and_then(|s| s.get("credential_process")) {
        return process(ex, command, &profile_name).await;
    }
    tried.push(format!("profile {profile_name:?}: no credential_process"));

    // 6. The config file's keys.
    if let Some(credentials) = static_keys(section) {
        ex.add_secret(credentials.secret_access_key.expose());
        return Ok(Found {
            credentials,
            expiration: None,
            method: "config-file",
            source: format!("profile:{profile_name} ({config_path})"),
        });
    }
    tried.push(format!("{config_path}: no keys for profile {profile_name:?}"));

    // 7. Container credentials.
    match container(ex, &env).await? {
        Some(found) => return Ok(found),
        None => tried.push("container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI are not set".into()),
    }

    // 8. Instance metadata.
    match imds(ex, &env).await {
        Ok(Some(found)) => return Ok(found),
        Ok(None) => tried.push("instance metadata: disabled by AWS_EC2_METADATA_DISABLED".into()),
        Err(why) => tried.push(format!("instance metadata: {why}")),
    }

    Err(Error::new(
        ErrorCode::AccessDenied,
        format!(
            "no AWS credentials found: put them in the configuration (aws.credentials), or in one of these sources, tried in this order: {}",
            tried.join("; ")
        ),
    ))
}

/// `role_arn` with `source_profile` or `credential_source`, assumed with STS.
#[cfg(not(target_family = "wasm"))]
#[allow(clippy::too_many_arguments)]
fn assume_profile_role<'a>(
    ctx: &'a AwsContext,
    ex: &'a Exchange,
    env: &'a Env<'a>,
    config: &'a Profiles,
    creds_file: &'a Profiles,
    name: &'a str,
    section: &'a std::collections::BTreeMap<String, String>,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Found>> + Send + 'a>> {
    Box::pin(async move {
        if depth > MAX_CHAIN {
            return Err(Error::invalid_input(format!("the source_profile chain from {name:?} is too deep or loops")));
        }
        let role = &section["role_arn"];
        if section.contains_key("mfa_serial") {
            return Err(Error::not_supported(format!(
                "profile {name:?} needs an MFA code (mfa_serial), which a non-interactive tool cannot ask for"
            )));
        }
        let (base, base_desc) = match (section.get("source_profile"), section.get("credential_source")) {
            (Some(source), _) => {
                let source_section = config.get(source);
                let keys = static_keys(creds_file.get(source)).or_else(|| static_keys(source_section));
                match (keys, source_section.filter(|s| s.contains_key("role_arn") && source != name)) {
                    // A source profile with keys is the base even if it also names a role
                    // (botocore: static credentials end the chain).
                    (Some(keys), _) => (keys, format!("source_profile {source}")),
                    (None, Some(s)) => {
                        let inner = assume_profile_role(ctx, ex, env, config, creds_file, source, s, depth + 1).await?;
                        (inner.credentials, format!("source_profile {source} ({})", inner.source))
                    }
                    (None, None) => {
                        return Err(Error::invalid_input(format!(
                            "profile {name:?}: its source_profile {source:?} has no credentials"
                        )));
                    }
                }
            }
            (None, Some(kind)) => {
                let found = match kind.as_str() {
                    "Environment" => {
                        let key = env.var("AWS_ACCESS_KEY_ID").await;
                        let secret = env.var("AWS_SECRET_ACCESS_KEY").await;
                        match (key, secret) {
                            (Some(k), Some(s)) => Some(Found {
                                credentials: AwsCredentials {
                                    access_key_id: k,
                                    secret_access_key: Secret::new(s),
                                    session_token: env.var("AWS_SESSION_TOKEN").await.map(Secret::new),
                                },
                                expiration: None,
                                method: "env",
                                source: "environment".into(),
                            }),
                            _ => None,
                        }
                    }
                    "EcsContainer" => container(ex, env).await?,
                    "Ec2InstanceMetadata" => imds(ex, env).await.map_err(Error::provider)?,
                    other => {
                        return Err(Error::invalid_input(format!(
                            "profile {name:?}: credential_source {other:?} is not Environment, EcsContainer or Ec2InstanceMetadata"
                        )));
                    }
                };
                let found = found.ok_or_else(|| {
                    Error::new(
                        ErrorCode::AccessDenied,
                        format!("profile {name:?}: credential_source {kind} has no credentials"),
                    )
                })?;
                (found.credentials, format!("credential_source {kind}"))
            }
            (None, None) => {
                return Err(Error::invalid_input(format!(
                    "profile {name:?} has role_arn but neither source_profile nor credential_source"
                )));
            }
        };
        ex.add_secret(base.secret_access_key.expose());
        let options = sts::AssumeOptions {
            session_name: section.get("role_session_name").cloned(),
            external_id: section.get("external_id").cloned(),
            duration: section.get("duration_seconds").and_then(|d| d.parse().ok()).unwrap_or(3600),
        };
        let assumed = sts::assume_role_as(ctx, ex, &base, role, &options).await?;
        Ok(Found {
            credentials: assumed.credentials,
            expiration: assumed.expiration,
            method: "assume-role",
            source: format!("profile:{name} (role_arn via {base_desc})"),
        })
    })
}

/// Splits a `credential_process` command line as a POSIX shell would (quotes and
/// backslashes), without running a shell.
#[cfg(not(target_family = "wasm"))]
fn split_command(command: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut escaped, mut any) = (Vec::new(), String::new(), None, false, false);
    for c in command.chars() {
        match (c, quote) {
            _ if escaped => {
                word.push(c);
                escaped = false;
            }
            ('\\', Some('"') | None) => escaped = true,
            ('\'' | '"', None) => {
                quote = Some(c);
                any = true;
            }
            (c, Some(q)) if c == q => quote = None,
            (c, None) if c.is_whitespace() => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            (c, _) => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out
}

fn keys_from_json(v: &Value, token_key: &str, what: &str) -> Result<(AwsCredentials, Option<Timestamp>)> {
    let field = |k: &str| v[k].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    let (Some(key), Some(secret)) = (field("AccessKeyId"), field("SecretAccessKey")) else {
        return Err(Error::provider(format!("{what} answered without AccessKeyId and SecretAccessKey")));
    };
    Ok((
        AwsCredentials {
            access_key_id: key,
            secret_access_key: Secret::new(secret),
            session_token: field(token_key).map(Secret::new),
        },
        v["Expiration"].as_str().and_then(Timestamp::parse_rfc3339),
    ))
}

#[cfg(not(target_family = "wasm"))]
async fn process(ex: &Exchange, command: &str, profile: &str) -> Result<Found> {
    let mut words = split_command(command).into_iter();
    let program = words
        .next()
        .ok_or_else(|| Error::invalid_input(format!("profile {profile:?}: credential_process is empty")))?;
    let answer = ex.ask(HostQuery::Command { program: program.clone(), args: words.collect() }).await;
    let out = match answer {
        HostAnswer::Value(out) => out,
        HostAnswer::Missing => return Err(Error::provider(format!("credential_process {program} printed nothing"))),
        HostAnswer::Refused(why) => return Err(Error::provider(format!("credential_process failed: {why}"))),
        HostAnswer::Bytes(_) => {
            return Err(Error::provider(format!("credential_process {program}: the host answered bytes")));
        }
    };
    let v: Value = serde_json::from_str(&out)
        .map_err(|_| Error::provider(format!("credential_process {program} did not print JSON")))?;
    if v["Version"] != 1 {
        return Err(Error::provider(format!("credential_process {program} printed Version {}, not 1", v["Version"])));
    }
    let (credentials, expiration) = keys_from_json(&v, "SessionToken", "credential_process")?;
    ex.add_secret(credentials.secret_access_key.expose());
    Ok(Found {
        credentials,
        expiration,
        method: "custom-process",
        source: format!("profile:{profile} (credential_process)"),
    })
}

async fn container(ex: &Exchange, env: &Env<'_>) -> Result<Option<Found>> {
    let url = match (
        env.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").await,
        env.var("AWS_CONTAINER_CREDENTIALS_FULL_URI").await,
    ) {
        // A path on the ECS agent's address; anything else (`@host/x`) would name
        // another host.
        (Some(relative), _) if relative.starts_with('/') => format!("{CONTAINER_HOST}{relative}"),
        (Some(_), _) => {
            return Err(Error::invalid_input(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path starting with '/' (on 169.254.170.2); nothing was sent",
            ));
        }
        (None, Some(full)) => {
            check_container_full_uri(&full)?;
            full
        }
        (None, None) => return Ok(None),
    };
    let token = match env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN").await {
        Some(t) => Some(t),
        None => match env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").await {
            Some(path) => env.file(&path).await.map(|t| t.trim().to_owned()),
            None => None,
        },
    };
    if let Some(t) = &token {
        ex.add_secret(t);
    }
    let response = ex
        .call(
            |_| {
                let mut r = HttpRequest::new("GET", url.clone())
                    .header("Accept", "application/json")
                    .timeout(Duration::from_secs(2));
                if let Some(t) = &token {
                    r = r.header("Authorization", t.clone());
                }
                Ok(r)
            },
            |_| false,
        )
        .await?;
    if !response.is_success() {
        return Err(Error::provider(format!("the container credentials endpoint answered {}", response.status)));
    }
    let v: Value = serde_json::from_slice(&response.body)
        .map_err(|_| Error::provider("the container credentials endpoint did not answer JSON"))?;
    let (credentials, expiration) = keys_from_json(&v, "Token", "the container credentials endpoint")?;
    ex.add_secret(credentials.secret_access_key.expose());
    Ok(Some(Found { credentials, expiration, method: "container-role", source: "container".into() }))
}

/// Where the container credentials (and the authorization token sent with them) may
/// go, by botocore's rule: any host over https; over plain http only a loopback
/// address, `localhost`, or the ECS and EKS agents' link-local addresses.
fn check_container_full_uri(full: &str) -> Result<()> {
    const AGENT_HOSTS: [&str; 3] = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"];
    let refuse =
        |why: &str| Err(Error::invalid_input(format!("AWS_CONTAINER_CREDENTIALS_FULL_URI {why}; nothing was sent")));
    let Some(url) = UrlParts::parse(full) else { return refuse("is not an absolute URL") };
    let Some(host) = url.host() else { return refuse("carries user information before its host") };
    match url.scheme {
        "https" => Ok(()),
        "http" if url.is_loopback() || AGENT_HOSTS.contains(&host.to_ascii_lowercase().as_str()) => Ok(()),
        "http" => refuse(&format!(
            "names {host} over plain http: only https, a loopback address or the container agent's address (169.254.170.2, 169.254.170.23, fd00:ec2::23) may receive the credentials request"
        )),
        _ => refuse("is neither http nor https"),
    }
}

/// IMDSv2, falling back to IMDSv1 when no token can be had (a hop limit that drops
/// the PUT's answer, or an old endpoint). `Ok(None)` when disabled; `Err` says why
/// there were no credentials.
async fn imds(ex: &Exchange, env: &Env<'_>) -> std::result::Result<Option<Found>, String> {
    if env.var("AWS_EC2_METADATA_DISABLED").await.is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    let base = env.var("AWS_EC2_METADATA_SERVICE_ENDPOINT").await.unwrap_or_else(|| "http://169.254.169.254".into());
    let base = base.trim_end_matches('/');
    let token = match ex
        .send(
            HttpRequest::new("PUT", format!("{base}/latest/api/token"))
                .header("X-aws-ec2-metadata-token-ttl-seconds", "21600")
                .timeout(IMDS_TIMEOUT),
        )
        .await
    {
        Ok(r) if r.is_success() => Some(r.text()),
        Ok(r) if (403..=405).contains(&r.status) => None,
        Ok(r) => return Err(format!("the token request answered {}", r.status)),
        // No answer to the PUT (a hop limit of 1 in a container drops it): try IMDSv1.
        Err(_) => None,
    };
    let get = |path: &str| {
        let mut r = HttpRequest::new("GET", format!("{base}{path}")).timeout(IMDS_TIMEOUT);
        if let Some(t) = &token {
            r = r.header("X-aws-ec2-metadata-token", t.clone());
        }
        r
    };
    let roles = ex
        .send(get("/latest/meta-data/iam/security-credentials/"))
        .await
        .map_err(|e| format!("no answer ({})", e.message))?;
    if !roles.is_success() {
        return Err(format!("no instance role (HTTP {})", roles.status));
    }
    let role = roles.text().lines().next().unwrap_or("").trim().to_owned();
    if role.is_empty() {
        return Err("no instance role".into());
    }
    let creds = ex
        .send(get(&format!("/latest/meta-data/iam/security-credentials/{role}")))
        .await
        .map_err(|e| format!("no answer ({})", e.message))?;
    let v: Value = serde_json::from_slice(&creds.body).map_err(|_| "the credentials are not JSON".to_owned())?;
    let (credentials, expiration) =
        keys_from_json(&v, "Token", "instance metadata").map_err(|e| e.message().to_owned())?;
    ex.add_secret(credentials.secret_access_key.expose());
    Ok(Some(Found { credentials, expiration, method: "iam-role", source: format!("imds (role {role})") }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn container_credentials_go_where_botocore_sends_them() {
        for ok in [
            "https://anything.example/creds",
            "http://127.0.0.1:8080/creds",
            "http://127.9.9.9/x",
            "http://localhost/x",
            "http://[::1]:80/x",
            "http://169.254.170.2/x",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/x",
        ] {
            assert!(super::check_container_full_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://evil.example/creds",
            "http://169.254.170.2@evil.example/x",
            "https://a@evil.example/x",
            "http://10.0.0.1/creds",
            "ftp://127.0.0.1/x",
            "169.254.170.2/x",
            "http://169.254.169.254/x",
        ] {
            let e = super::check_container_full_uri(bad).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidInput, "{bad}");
            assert!(e.message().contains("AWS_CONTAINER_CREDENTIALS_FULL_URI"), "{e}");
        }
    }

    #[test]
    fn commands_split_like_a_shell() {
        assert_eq!(
            super::split_command(r#"/bin/cred --profile "a b" 'c d' e\ f"#),
            ["/bin/cred", "--profile", "a b", "c d", "e f"]
        );
        assert_eq!(super::split_command("x ''"), ["x", ""]);
    }
}

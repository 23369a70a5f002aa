//! AWS authentication and addressing: where and as whom to call AWS (partitions,
//! endpoints, base credentials), SigV4 signing and STS.

pub(crate) mod chain;
mod profile;
pub mod sigv4;
pub(crate) mod sts;

use std::sync::Arc;

pub use crate::partition::Partition;
pub use sigv4::{AwsCredentials, Signer};

use crate::auth::token_cache::{CachedToken, TokenCache};
use crate::engine::host::{HostAnswer, HostQuery};
use crate::engine::operation::Exchange;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The region the AWS SDKs would use: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else
/// the `region` of the profile the credential chain reads (botocore reads only the
/// last two). `ask` answers for the environment and files.
pub(crate) fn region_from_environment(ask: &mut dyn FnMut(&HostQuery) -> HostAnswer) -> Option<String> {
    let mut var = |name: &str| match ask(&HostQuery::Env(name.to_owned())) {
        HostAnswer::Value(v) if !v.is_empty() => Some(v),
        _ => None,
    };
    if let Some(region) = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")) {
        return Some(region);
    }
    let (profile, path) = profile::selected(var("AWS_PROFILE"), var("AWS_DEFAULT_PROFILE"), var("AWS_CONFIG_FILE"));
    let HostAnswer::Value(file) = ask(&HostQuery::File(path)) else { return None };
    profile::parse(&file, true).get(&profile).and_then(|p| p.get("region")).filter(|r| !r.is_empty()).cloned()
}

/// `aws.credentials` in its web-identity form: `roleArn` assumed with
/// `webIdentityToken` (an OIDC token: a Kubernetes service-account token, a CI job's
/// token) by STS `AssumeRoleWithWebIdentity`, as the SDKs do with
/// `AWS_WEB_IDENTITY_TOKEN_FILE`, but with the token itself in the configuration (the
/// kubelet credential provider hands a pod's token in this way).
#[derive(Clone, PartialEq, Eq)]
pub struct AwsWebIdentity {
    /// The role to assume.
    pub role_arn: String,
    /// The token, the proof of identity.
    pub token: Secret,
    /// `RoleSessionName` (default: one the STS call makes up).
    pub session_name: Option<String>,
}

impl std::fmt::Debug for AwsWebIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsWebIdentity").field("role_arn", &self.role_arn).field("token", &"***").finish()
    }
}

/// The cache key of resolved credentials (from the environment or a web identity).
const RESOLVED: &str = "aws-resolved";

/// Where and as whom to call AWS, from the `aws` configuration section.
#[derive(Debug)]
pub(crate) struct AwsContext {
    pub region: String,
    pub account_id: String,
    pub partition: Partition,
    /// The configured credentials; `None`: resolve them from the environment, or
    /// from `web_identity`.
    configured: Option<AwsCredentials>,
    /// A role to assume with a token, in place of the environment's credentials.
    web_identity: Option<AwsWebIdentity>,
    /// Resolved credentials (serialised) until shortly before they expire.
    resolved: TokenCache,
    endpoints: AwsEndpoints,
    use_fips: bool,
    pub signer: Arc<Signer>,
}

/// `aws.endpoints`: base URLs that replace the derived ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsEndpoints {
    /// ECR API base URL.
    #[serde(default)]
    pub ecr: Option<String>,
    /// STS base URL.
    #[serde(default)]
    pub sts: Option<String>,
}

impl AwsContext {
    /// The context of one registry: its home `region` and `account_id`, the
    /// `configured` credentials (`None`: from the environment), endpoint overrides and
    /// whether to use FIPS endpoints.
    pub fn new(
        region: &str,
        account_id: &str,
        configured: Option<AwsCredentials>,
        endpoints: AwsEndpoints,
        use_fips: bool,
    ) -> AwsContext {
        AwsContext {
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            partition: Partition::of_region(region),
            configured,
            web_identity: None,
            resolved: TokenCache::default(),
            endpoints,
            use_fips,
            signer: Arc::new(Signer::new()),
        }
    }

    /// Assumes `web_identity`'s role for the base credentials (when there are no
    /// configured keys).
    pub fn with_web_identity(mut self, web_identity: Option<AwsWebIdentity>) -> AwsContext {
        self.web_identity = web_identity;
        self
    }

    /// The base credentials: the configured ones, or those the environment gives
    /// (resolved once, shared by the client's operations, refreshed before expiry).
    pub async fn credentials(&self, ex: &Exchange) -> Result<AwsCredentials> {
        let credentials = self.base_credentials(ex).await?;
        // Every operation that signs with them registers each secret field, so that an
        // error quoting a request (a canonical request, an echoed header) is redacted,
        // whichever source supplied them and whether or not they came from the cache.
        ex.add_secret(credentials.secret_access_key.expose());
        if let Some(token) = &credentials.session_token {
            ex.add_secret(token.expose());
        }
        Ok(credentials)
    }

    async fn base_credentials(&self, ex: &Exchange) -> Result<AwsCredentials> {
        if let Some(c) = &self.configured {
            return Ok(c.clone());
        }
        let cached = self
            .resolved
            .get(ex, RESOLVED, || async {
                let found = match &self.web_identity {
                    Some(w) => {
                        let assumed = sts::assume_role_with_web_identity(
                            self,
                            ex,
                            &w.role_arn,
                            w.token.expose(),
                            w.session_name.as_deref(),
                        )
                        .await?;
                        chain::Found {
                            credentials: assumed.credentials,
                            expiration: assumed.expiration,
                            method: "assume-role-with-web-identity",
                            source: format!("configuration (web identity for {})", w.role_arn),
                        }
                    }
                    None => chain::resolve(self, ex).await?,
                };
                let text = serde_json::json!({
                    "key": found.credentials.access_key_id,
                    "secret": found.credentials.secret_access_key.expose(),
                    "token": found.credentials.session_token.as_ref().map(|t| t.expose().to_owned()),
                    "source": found.source,
                    "method": found.method,
                })
                .to_string();
                Ok(CachedToken { token: Secret::new(text), expires_at: found.expiration })
            })
            .await?;
        let v: serde_json::Value = serde_json::from_str(cached.token.expose())
            .map_err(|_| Error::provider("the resolved credentials could not be read back"))?;
        let s = |k: &str| v[k].as_str().map(str::to_owned);
        Ok(AwsCredentials {
            access_key_id: s("key").unwrap_or_default(),
            secret_access_key: Secret::new(s("secret").unwrap_or_default()),
            session_token: s("token").map(Secret::new),
        })
    }

    /// Where the base credentials come from: `{source, method, accessKeyId,
    /// expiresAt}` (`method` is botocore's name for the source). Never a secret.
    pub async fn describe_credentials(&self, ex: &Exchange) -> Result<serde_json::Value> {
        if let Some(c) = &self.configured {
            return Ok(serde_json::json!({ "source": "configuration", "method": "configuration",
                                          "accessKeyId": c.access_key_id, "principal": c.access_key_id, "expiresAt": null }));
        }
        let key = self.credentials(ex).await?.access_key_id;
        let cached = self.resolved.peek(RESOLVED);
        let v: serde_json::Value =
            cached.as_ref().and_then(|c| serde_json::from_str(c.token.expose()).ok()).unwrap_or_default();
        Ok(serde_json::json!({
            "source": v["source"], "method": v["method"], "accessKeyId": key, "principal": key,
            "expiresAt": cached.and_then(|c| c.expires_at).map(|t| t.to_rfc3339()),
        }))
    }

    /// [`AwsContext::describe_credentials`] plus who they are (`account`, `arn`, from
    /// STS `GetCallerIdentity`). When STS does not say (the keys are refused, STS is out
    /// of reach), `account` and `arn` are null and `identityError` says why: where the
    /// credentials came from is worth showing all the same.
    pub async fn whoami(&self, ex: &Exchange) -> Result<serde_json::Value> {
        let mut out = self.describe_credentials(ex).await?;
        let creds = self.credentials(ex).await?;
        match sts::caller_identity(self, ex, &creds).await {
            Ok((account, arn)) => {
                out["account"] = account.into();
                out["arn"] = arn.into();
            }
            Err(e) => {
                out["account"] = serde_json::Value::Null;
                out["arn"] = serde_json::Value::Null;
                out["identityError"] = e.to_string().into();
            }
        }
        Ok(out)
    }

    /// The ECR API base URL for a region.
    pub fn ecr_url(&self, region: &str) -> String {
        match &self.endpoints.ecr {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if self.use_fips => format!("https://ecr-fips.{region}.{}", Partition::of_region(region).domain()),
            None => format!("https://api.ecr.{region}.{}", Partition::of_region(region).domain()),
        }
    }

    /// The STS base URL (regional endpoints, which every partition has).
    pub fn sts_url(&self) -> String {
        match &self.endpoints.sts {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if self.use_fips => format!("https://sts-fips.{}.{}", self.region, self.partition.domain()),
            None => format!("https://sts.{}.{}", self.region, self.partition.domain()),
        }
    }

    /// The registry host images are pushed to and pulled from.
    pub fn registry_host(&self) -> String {
        let ecr = if self.use_fips { "ecr-fips" } else { "ecr" };
        format!("{}.dkr.{ecr}.{}.{}", self.account_id, self.region, self.partition.domain())
    }
}

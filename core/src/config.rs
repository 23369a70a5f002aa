//! The configuration document (`docs/API.md`, "The configuration document").
//!
//! Parsing is strict: unknown keys, missing keys and wrong types are `invalid-input`
//! errors naming the offending path (`aws.credentials.accessKeyId`), and the values
//! are validated (names, ids, regions, ARNs, URLs) before any operation can run.
//! Messages never echo a value, so a misplaced secret cannot leak through them.

use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

pub use crate::auth::aws::AwsEndpoints;
use crate::auth::aws::{AwsCredentials, AwsWebIdentity};
pub use crate::engine::time::Timeouts;
use crate::error::{Error, Result, parse_at};
use crate::naming;
use crate::secret::Secret;

/// A parsed, validated configuration document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The binding name (the local provider puts it in routable names).
    pub name: String,
    /// The provider and its binding settings.
    pub binding: Binding,
    /// The platform section that goes with the binding.
    pub platform: Platform,
    /// How long one request and one whole operation may take.
    pub timeouts: Timeouts,
}

/// The binding, tagged by `service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// AWS ECR.
    Ecr(EcrBinding),
    /// Google Artifact Registry.
    Gar(GarBinding),
    /// Azure Container Registry.
    Acr(AcrBinding),
    /// A local OCI distribution registry.
    Local(LocalBinding),
}

impl Binding {
    /// The `service` tag: `"ecr"`, `"gar"`, `"acr"` or `"local"`.
    pub fn service(&self) -> &'static str {
        match self {
            Binding::Ecr(_) => "ecr",
            Binding::Gar(_) => "gar",
            Binding::Acr(_) => "acr",
            Binding::Local(_) => "local",
        }
    }
}

/// `{ "service": "ecr", "repositoryPrefix", "pullRoleArn"?, "pushRoleArn"? }`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EcrBinding {
    /// Prefix of every repository name (`{prefix}-{logical}`).
    pub repository_prefix: String,
    /// Role assumed for pull credentials.
    #[serde(default)]
    pub pull_role_arn: Option<String>,
    /// Role assumed for push-pull credentials.
    #[serde(default)]
    pub push_role_arn: Option<String>,
    /// Accept credentials that carry the binding's whole identity where scoped ones
    /// cannot be made (see `generate_credentials`); off by default.
    #[serde(default)]
    pub unscoped_credentials: bool,
}

/// `{ "service": "gar", "repositoryName", "pullServiceAccountEmail"?, "pushServiceAccountEmail"? }`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GarBinding {
    /// The Artifact Registry repository id.
    pub repository_name: String,
    /// Service account impersonated for pull credentials.
    #[serde(default)]
    pub pull_service_account_email: Option<String>,
    /// Service account impersonated for push-pull credentials.
    #[serde(default)]
    pub push_service_account_email: Option<String>,
    /// Accept credentials that carry the binding's whole identity where scoped ones
    /// cannot be made (see `generate_credentials`); off by default.
    #[serde(default)]
    pub unscoped_credentials: bool,
}

/// `{ "service": "acr", "registryName", "resourceGroupName", "repositoryPrefix"? }`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcrBinding {
    /// The registry (`{registryName}.azurecr.io`).
    pub registry_name: String,
    /// Its resource group.
    pub resource_group_name: String,
    /// Optional prefix (`{prefix}/{logical}`).
    #[serde(default)]
    pub repository_prefix: Option<String>,
    /// Credentials from a repository-scoped scope map and token (Basic, TTL-exact)
    /// instead of an ACR access token.
    #[serde(default)]
    pub scope_map_tokens: bool,
    /// Accept credentials that carry the binding's whole identity where scoped ones
    /// cannot be made (see `generate_credentials`); off by default.
    #[serde(default)]
    pub unscoped_credentials: bool,
}

/// `{ "service": "local", "registryUrl", "dataDir"? }`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalBinding {
    /// `host:port`, or a URL with a scheme.
    pub registry_url: String,
    /// Where an embedded registry keeps its data.
    #[serde(default)]
    pub data_dir: Option<String>,
    /// Accept credentials that carry the binding's whole identity where scoped ones
    /// cannot be made (see `generate_credentials`); off by default.
    #[serde(default)]
    pub unscoped_credentials: bool,
}

/// The platform section beside the binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Platform {
    /// `aws`
    Aws(AwsPlatform),
    /// `gcp`
    Gcp(GcpPlatform),
    /// `azure`
    Azure(AzurePlatform),
    /// `local`
    Local(LocalPlatform),
}

/// The `aws` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsPlatform {
    /// Home region.
    pub region: String,
    /// 12-digit account id of the registry.
    pub account_id: String,
    /// Base credentials; `None` resolves them from the environment, in the order of
    /// the AWS SDKs (`credentials` absent or `"default"`), or from `web_identity`.
    pub credentials: Option<AwsCredentials>,
    /// `credentials` in the form `{ "roleArn", "webIdentityToken", "roleSessionName"? }`:
    /// the role assumed with the token.
    pub web_identity: Option<AwsWebIdentity>,
    /// Endpoint overrides.
    pub endpoints: AwsEndpoints,
    /// Use FIPS endpoints (an extension of the contract: `"useFips": true`).
    pub use_fips: bool,
}

/// The `gcp` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpPlatform {
    /// Project id.
    pub project_id: String,
    /// Artifact Registry location.
    pub region: String,
    /// A service-account key or an access token.
    pub credentials: GcpCredentials,
    /// Endpoint overrides.
    pub endpoints: GcpEndpoints,
}

/// `gcp.credentials`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcpCredentials {
    /// A service-account key JSON object.
    ServiceAccountKey {
        /// `client_email`.
        client_email: String,
        /// `private_key` (PEM).
        private_key: Secret,
        /// `private_key_id`, when present.
        private_key_id: Option<String>,
        /// `token_uri`, when present.
        token_uri: Option<String>,
    },
    /// `{ "accessToken": "..." }`
    AccessToken(Secret),
    /// `{ "workloadIdentityProvider", "subjectToken", "serviceAccountEmail"? }`: workload
    /// identity federation, the OIDC token exchanged at Google STS for the provider's
    /// pool, then the service account impersonated when one is named.
    WorkloadIdentity {
        /// `//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X`.
        provider: String,
        /// The OIDC token (a Kubernetes service-account token, a CI job's token).
        subject_token: Secret,
        /// The service account to impersonate, if any.
        service_account_email: Option<String>,
    },
    /// Absent or `"default"`: application default credentials from the environment.
    Default,
}

/// `gcp.endpoints`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GcpEndpoints {
    /// Artifact Registry API base URL.
    #[serde(default)]
    pub artifact_registry: Option<String>,
    /// OAuth 2.0 token endpoint.
    #[serde(default)]
    pub oauth2: Option<String>,
    /// IAM Credentials API base URL.
    #[serde(default)]
    pub iam_credentials: Option<String>,
    /// Google STS base URL: replaces an `external_account` file's `token_url`.
    #[serde(default)]
    pub sts: Option<String>,
}

/// The Azure cloud (`azure.cloud`): login-server suffix, Azure AD authority, ARM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AzureCloud {
    /// Azure (`azurecr.io`, `login.microsoftonline.com`, `management.azure.com`).
    #[default]
    Public,
    /// Azure China (`azurecr.cn`, `login.chinacloudapi.cn`, `management.chinacloudapi.cn`).
    China,
    /// Azure US Government (`azurecr.us`, `login.microsoftonline.us`, `management.usgovcloudapi.net`).
    #[serde(rename = "usgov")]
    UsGov,
}

/// The `azure` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzurePlatform {
    /// The cloud.
    pub cloud: AzureCloud,
    /// Directory (tenant) id.
    pub tenant_id: String,
    /// Subscription id.
    pub subscription_id: String,
    /// A client secret or an access token.
    pub credentials: AzureCredentials,
    /// Endpoint overrides.
    pub endpoints: AzureEndpoints,
}

/// `azure.credentials`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AzureCredentials {
    /// `{ "clientId", "clientSecret" }`
    ClientSecret {
        /// Application (client) id.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
    },
    /// `{ "accessToken": "..." }`
    AccessToken(Secret),
    /// `{ "clientId", "federatedToken" }`: the token (a workload's OIDC token) sent as
    /// the client assertion of the app registration or managed identity `clientId`
    /// that trusts it, as workload identity does with `AZURE_FEDERATED_TOKEN_FILE`.
    FederatedToken {
        /// Application (client) id.
        client_id: String,
        /// The federated token.
        token: Secret,
    },
    /// Absent or `"default"`: resolved from the environment (`DefaultAzureCredential`'s
    /// order, minus its interactive members).
    Default,
}

/// `azure.endpoints`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AzureEndpoints {
    /// Azure Resource Manager base URL.
    #[serde(default)]
    pub resource_manager: Option<String>,
    /// Azure AD (Entra ID) authority base URL.
    #[serde(default)]
    pub active_directory: Option<String>,
    /// The registry's own base URL (its `/oauth2/*`, `/acr/v1/*` and `/v2/*`); image
    /// URIs then use its host and port.
    #[serde(default)]
    pub container_registry: Option<String>,
}

/// The `local` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalPlatform {
    /// Basic-auth credentials for the registry.
    pub credentials: Option<LocalCredentials>,
}

/// `local.credentials`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCredentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: Secret,
}

// ---- raw JSON shapes -------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    name: String,
    binding: Value,
    #[serde(default)]
    aws: Option<Value>,
    #[serde(default)]
    gcp: Option<Value>,
    #[serde(default)]
    azure: Option<Value>,
    #[serde(default)]
    local: Option<Value>,
    #[serde(default)]
    timeouts: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawTimeouts {
    #[serde(default)]
    request_seconds: Option<f64>,
    #[serde(default)]
    operation_seconds: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawAws {
    region: String,
    account_id: String,
    #[serde(default)]
    credentials: Option<Value>,
    #[serde(default)]
    endpoints: Option<AwsEndpoints>,
    #[serde(default)]
    use_fips: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawAwsCredentials {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default)]
    session_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawGcp {
    project_id: String,
    region: String,
    #[serde(default)]
    credentials: Value,
    #[serde(default)]
    endpoints: Option<GcpEndpoints>,
}

// Google adds fields to key files over time: accept unknown ones here.
#[derive(Deserialize)]
struct RawServiceAccountKey {
    #[serde(rename = "type")]
    kind: String,
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawToken {
    access_token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawAzure {
    #[serde(default)]
    cloud: AzureCloud,
    tenant_id: String,
    subscription_id: String,
    #[serde(default)]
    credentials: Value,
    #[serde(default)]
    endpoints: Option<AzureEndpoints>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawClientSecret {
    client_id: String,
    client_secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocal {
    #[serde(default)]
    credentials: Option<RawLocalCredentials>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocalCredentials {
    username: String,
    password: String,
}

/// The values of the document's secret fields, as written (whatever their shape).
fn document_secrets(doc: &Value) -> Vec<String> {
    const PATHS: [&str; 7] = [
        "/aws/credentials/secretAccessKey",
        "/aws/credentials/sessionToken",
        "/gcp/credentials/private_key",
        "/gcp/credentials/accessToken",
        "/azure/credentials/clientSecret",
        "/azure/credentials/accessToken",
        "/local/credentials/password",
    ];
    PATHS.iter().filter_map(|p| doc.pointer(p)).filter_map(Value::as_str).map(str::to_owned).collect()
}

fn parse_timeouts(value: Option<Value>) -> Result<Timeouts> {
    let defaults = Timeouts::default();
    let Some(value) = value else { return Ok(defaults) };
    let raw: RawTimeouts = parse_at(value, "timeouts")?;
    let seconds = |path: &str, value: Option<f64>, default: Duration| match value {
        None => Ok(default),
        Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        Some(_) => Err(at(path, Error::invalid_input("must be a number of seconds above 0 and at most 86400"))),
    };
    Ok(Timeouts {
        request: seconds("timeouts.requestSeconds", raw.request_seconds, defaults.request)?,
        operation: seconds("timeouts.operationSeconds", raw.operation_seconds, defaults.operation)?,
    })
}

fn at(path: &str, e: Error) -> Error {
    Error::invalid_input(format!("invalid configuration at `{path}`: {}", e.message()))
}

impl Config {
    /// Parses and validates the JSON text form.
    pub fn from_json_str(text: &str) -> Result<Config> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            // serde_json's syntax errors name a position, never a value.
            Error::invalid_input(format!("configuration is not valid JSON: {e}"))
        })?;
        Config::from_json(value)
    }

    /// Parses and validates the JSON value form.
    pub fn from_json(value: Value) -> Result<Config> {
        // A secret pasted into the wrong field as well (a name, an id) must not come
        // back in the error about that field.
        let secrets = document_secrets(&value);
        Config::parse(value).map_err(|e| e.redacted(&secrets))
    }

    fn parse(value: Value) -> Result<Config> {
        if !value.is_object() {
            return Err(Error::invalid_input("configuration must be a JSON object"));
        }
        let raw: RawDocument = parse_at(value, "")?;
        naming::validate_binding_name(&raw.name).map_err(|e| at("name", e))?;

        let Value::Object(mut binding) = raw.binding else {
            return Err(Error::invalid_input("invalid configuration at `binding`: expected an object"));
        };
        let service = binding.remove("service");
        let sections = [
            ("aws", raw.aws.is_some()),
            ("gcp", raw.gcp.is_some()),
            ("azure", raw.azure.is_some()),
            ("local", raw.local.is_some()),
        ];
        let (binding, wanted) = match service.as_ref().and_then(Value::as_str) {
            Some("ecr") => (Binding::Ecr(parse_at(Value::Object(binding), "binding")?), "aws"),
            Some("gar") => (Binding::Gar(parse_at(Value::Object(binding), "binding")?), "gcp"),
            Some("acr") => (Binding::Acr(parse_at(Value::Object(binding), "binding")?), "azure"),
            Some("local") => (Binding::Local(parse_at(Value::Object(binding), "binding")?), "local"),
            Some(other) => {
                return Err(Error::invalid_input(format!(
                    "invalid configuration at `binding.service`: unknown service {other:?}; use \"ecr\", \"gar\", \"acr\" or \"local\""
                )));
            }
            None => {
                return Err(Error::invalid_input(
                    "invalid configuration at `binding.service`: required key is missing; use \"ecr\", \"gar\", \"acr\" or \"local\"",
                ));
            }
        };
        for (section, present) in sections {
            if present && section != wanted {
                return Err(Error::invalid_input(format!(
                    "invalid configuration at `{section}`: a binding with service {:?} takes the `{wanted}` section, not `{section}`",
                    service.as_ref().and_then(Value::as_str).unwrap_or_default()
                )));
            }
        }
        let platform = match wanted {
            "aws" => Platform::Aws(parse_aws(required(raw.aws, "aws")?)?),
            "gcp" => Platform::Gcp(parse_gcp(required(raw.gcp, "gcp")?)?),
            "azure" => Platform::Azure(parse_azure(required(raw.azure, "azure")?)?),
            _ => Platform::Local(parse_local(raw.local.unwrap_or(Value::Object(Default::default())))?),
        };
        let timeouts = parse_timeouts(raw.timeouts)?;
        let config = Config { name: raw.name, binding, platform, timeouts };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        match (&self.binding, &self.platform) {
            (Binding::Ecr(b), Platform::Aws(p)) => {
                naming::validate_region(&p.region).map_err(|e| at("aws.region", e))?;
                naming::validate_account_id(&p.account_id).map_err(|e| at("aws.accountId", e))?;
                naming::validate_ecr_prefix(&b.repository_prefix).map_err(|e| at("binding.repositoryPrefix", e))?;
                let partition = crate::auth::aws::Partition::of_region(&p.region);
                for (path, arn) in
                    [("binding.pullRoleArn", &b.pull_role_arn), ("binding.pushRoleArn", &b.push_role_arn)]
                {
                    if let Some(arn) = arn {
                        naming::validate_role_arn(arn, partition).map_err(|e| at(path, e))?;
                    }
                }
                if let Some(c) = &p.credentials {
                    if c.access_key_id.trim().is_empty() {
                        return Err(at("aws.credentials.accessKeyId", Error::invalid_input("must not be empty")));
                    }
                    if c.secret_access_key.expose().is_empty() {
                        return Err(at("aws.credentials.secretAccessKey", Error::invalid_input("must not be empty")));
                    }
                }
                for (path, url) in [("aws.endpoints.ecr", &p.endpoints.ecr), ("aws.endpoints.sts", &p.endpoints.sts)] {
                    if let Some(url) = url {
                        naming::validate_endpoint_url(url).map_err(|e| at(path, e))?;
                    }
                }
            }
            (Binding::Gar(b), Platform::Gcp(p)) => {
                naming::validate_gcp_project_id(&p.project_id).map_err(|e| at("gcp.projectId", e))?;
                naming::validate_gcp_location(&p.region).map_err(|e| at("gcp.region", e))?;
                naming::validate_gar_repository_id(&b.repository_name).map_err(|e| at("binding.repositoryName", e))?;
                for (path, email) in [
                    ("binding.pullServiceAccountEmail", &b.pull_service_account_email),
                    ("binding.pushServiceAccountEmail", &b.push_service_account_email),
                ] {
                    if let Some(email) = email {
                        naming::validate_service_account_email(email).map_err(|e| at(path, e))?;
                    }
                }
                for (path, url) in [
                    ("gcp.endpoints.artifactRegistry", &p.endpoints.artifact_registry),
                    ("gcp.endpoints.iamCredentials", &p.endpoints.iam_credentials),
                    ("gcp.endpoints.oauth2", &p.endpoints.oauth2),
                    ("gcp.endpoints.sts", &p.endpoints.sts),
                ] {
                    if let Some(url) = url {
                        naming::validate_endpoint_url(url).map_err(|e| at(path, e))?;
                    }
                }
            }
            (Binding::Acr(b), Platform::Azure(p)) => {
                naming::validate_acr_registry_name(&b.registry_name).map_err(|e| at("binding.registryName", e))?;
                naming::validate_resource_group(&b.resource_group_name)
                    .map_err(|e| at("binding.resourceGroupName", e))?;
                if let Some(prefix) = &b.repository_prefix {
                    naming::validate_oci_repository(prefix).map_err(|e| at("binding.repositoryPrefix", e))?;
                }
                naming::validate_uuid(&p.tenant_id).map_err(|e| at("azure.tenantId", e))?;
                naming::validate_uuid(&p.subscription_id).map_err(|e| at("azure.subscriptionId", e))?;
                for (path, url) in [
                    ("azure.endpoints.activeDirectory", &p.endpoints.active_directory),
                    ("azure.endpoints.resourceManager", &p.endpoints.resource_manager),
                    ("azure.endpoints.containerRegistry", &p.endpoints.container_registry),
                ] {
                    if let Some(url) = url {
                        naming::validate_endpoint_url(url).map_err(|e| at(path, e))?;
                    }
                }
            }
            (Binding::Local(b), Platform::Local(_)) => {
                naming::validate_registry_url(&b.registry_url).map_err(|e| at("binding.registryUrl", e))?;
                naming::validate_oci_component(&self.name).map_err(|e| at("name", e))?;
            }
            _ => unreachable!("binding and platform are paired by from_json"),
        }
        Ok(())
    }

    /// Every secret in the configuration, for scrubbing messages.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.platform {
            Platform::Aws(p) => {
                if let Some(c) = &p.credentials {
                    out.push(c.secret_access_key.expose().to_owned());
                    if let Some(t) = &c.session_token {
                        out.push(t.expose().to_owned());
                    }
                }
                if let Some(w) = &p.web_identity {
                    out.push(w.token.expose().to_owned());
                }
            }
            Platform::Gcp(p) => match &p.credentials {
                GcpCredentials::ServiceAccountKey { private_key, .. } => out.push(private_key.expose().to_owned()),
                GcpCredentials::AccessToken(t) => out.push(t.expose().to_owned()),
                GcpCredentials::WorkloadIdentity { subject_token, .. } => out.push(subject_token.expose().to_owned()),
                GcpCredentials::Default => {}
            },
            Platform::Azure(p) => match &p.credentials {
                AzureCredentials::ClientSecret { client_secret, .. } => out.push(client_secret.expose().to_owned()),
                AzureCredentials::AccessToken(t) => out.push(t.expose().to_owned()),
                AzureCredentials::FederatedToken { token, .. } => out.push(token.expose().to_owned()),
                AzureCredentials::Default => {}
            },
            Platform::Local(p) => {
                if let Some(c) = &p.credentials {
                    out.push(c.password.expose().to_owned());
                }
            }
        }
        out
    }
}

fn required(section: Option<Value>, name: &str) -> Result<Value> {
    section
        .ok_or_else(|| Error::invalid_input(format!("invalid configuration at `{name}`: required section is missing")))
}

/// The string fields of a small credential object: each of `required`, and `optional`
/// where present; anything else is `invalid-input` at `path`. (By hand rather than by
/// derive: each derived reader costs the component kilobytes.)
fn string_fields(value: &Value, path: &str, required: &[&str], optional: &[&str]) -> Result<Vec<Option<String>>> {
    let Value::Object(map) = value else {
        return Err(Error::invalid_input(format!("invalid configuration at `{path}`: expected an object")));
    };
    if let Some(unknown) = map.keys().find(|k| !required.contains(&k.as_str()) && !optional.contains(&k.as_str())) {
        return Err(Error::invalid_input(format!("invalid configuration at `{path}`: unknown key `{unknown}`")));
    }
    required
        .iter()
        .map(|k| (k, true))
        .chain(optional.iter().map(|k| (k, false)))
        .map(|(k, needed)| match map.get(*k) {
            Some(Value::String(v)) => Ok(Some(v.clone())),
            None | Some(Value::Null) if !needed => Ok(None),
            None | Some(Value::Null) => {
                Err(Error::invalid_input(format!("invalid configuration at `{path}.{k}`: required key is missing")))
            }
            Some(_) => Err(Error::invalid_input(format!("invalid configuration at `{path}.{k}`: expected a string"))),
        })
        .collect()
}

fn parse_aws(value: Value) -> Result<AwsPlatform> {
    let raw: RawAws = parse_at(value, "aws")?;
    let (mut credentials, mut web_identity) = (None, None);
    match raw.credentials {
        None => {}
        Some(Value::String(s)) if s == "default" => {}
        Some(Value::String(_)) => {
            return Err(Error::invalid_input(
                "invalid configuration at `aws.credentials`: the only string form is \"default\" (resolve from the environment)",
            ));
        }
        Some(value) if value.get("webIdentityToken").is_some() => {
            let f = string_fields(&value, "aws.credentials", &["roleArn", "webIdentityToken"], &["roleSessionName"])?;
            let (role_arn, token) = (f[0].clone().unwrap_or_default(), f[1].clone().unwrap_or_default());
            if !role_arn.starts_with("arn:") || token.trim().is_empty() {
                return Err(Error::invalid_input(
                    "invalid configuration at `aws.credentials`: a web identity needs a role ARN (`roleArn`) and a token (`webIdentityToken`)",
                ));
            }
            web_identity = Some(AwsWebIdentity {
                role_arn,
                token: Secret::new(token.trim().to_owned()),
                session_name: f[2].clone(),
            });
        }
        Some(value) => {
            let c: RawAwsCredentials = parse_at(value, "aws.credentials")?;
            credentials = Some(AwsCredentials {
                access_key_id: c.access_key_id,
                secret_access_key: Secret::new(c.secret_access_key),
                session_token: c.session_token.map(Secret::new),
            });
        }
    }
    Ok(AwsPlatform {
        region: raw.region,
        account_id: raw.account_id,
        credentials,
        web_identity,
        endpoints: raw.endpoints.unwrap_or_default(),
        use_fips: raw.use_fips,
    })
}

fn parse_gcp(value: Value) -> Result<GcpPlatform> {
    let raw: RawGcp = parse_at(value, "gcp")?;
    let credentials = match &raw.credentials {
        Value::Null => GcpCredentials::Default,
        Value::String(s) if s == "default" => GcpCredentials::Default,
        Value::Object(m) if m.contains_key("accessToken") => GcpCredentials::AccessToken(Secret::new(
            parse_at::<RawToken>(raw.credentials, "gcp.credentials")?.access_token,
        )),
        Value::Object(m) if m.contains_key("subjectToken") => {
            let f = string_fields(
                &raw.credentials,
                "gcp.credentials",
                &["workloadIdentityProvider", "subjectToken"],
                &["serviceAccountEmail"],
            )?;
            let (provider, token, email) =
                (f[0].clone().unwrap_or_default(), f[1].clone().unwrap_or_default(), f[2].clone());
            let pool = provider.strip_prefix("//iam.googleapis.com/projects/");
            if !pool.is_some_and(|p| {
                p.contains("/locations/") && p.contains("/workloadIdentityPools/") && p.contains("/providers/")
            }) {
                return Err(Error::invalid_input(
                    "invalid configuration at `gcp.credentials.workloadIdentityProvider`: expected //iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X",
                ));
            }
            if token.trim().is_empty() || email.as_ref().is_some_and(|e| !e.contains('@')) {
                return Err(Error::invalid_input(
                    "invalid configuration at `gcp.credentials`: workload identity needs a `subjectToken` and, if given, a service-account email",
                ));
            }
            GcpCredentials::WorkloadIdentity {
                provider,
                subject_token: Secret::new(token.trim().to_owned()),
                service_account_email: email,
            }
        }
        Value::Object(_) => {
            let key: RawServiceAccountKey = parse_at(raw.credentials, "gcp.credentials")?;
            if key.kind != "service_account" {
                return Err(Error::invalid_input(
                    "invalid configuration at `gcp.credentials.type`: must be \"service_account\" (a service-account key file)",
                ));
            }
            if !key.private_key.contains("PRIVATE KEY")
                || crate::auth::jwt::RsaSigner::from_pem(&key.private_key).is_err()
            {
                return Err(Error::invalid_input(
                    "invalid configuration at `gcp.credentials.private_key`: not a PEM RSA private key",
                ));
            }
            GcpCredentials::ServiceAccountKey {
                client_email: key.client_email,
                private_key: Secret::new(key.private_key),
                private_key_id: key.private_key_id,
                token_uri: key.token_uri,
            }
        }
        _ => {
            return Err(Error::invalid_input(
                "invalid configuration at `gcp.credentials`: expected a service-account key object or {\"accessToken\": ...}",
            ));
        }
    };
    Ok(GcpPlatform {
        project_id: raw.project_id,
        region: raw.region,
        credentials,
        endpoints: raw.endpoints.unwrap_or_default(),
    })
}

fn parse_azure(value: Value) -> Result<AzurePlatform> {
    let raw: RawAzure = parse_at(value, "azure")?;
    let credentials = match &raw.credentials {
        Value::Null => AzureCredentials::Default,
        Value::String(s) if s == "default" => AzureCredentials::Default,
        Value::Object(m) if m.contains_key("accessToken") => AzureCredentials::AccessToken(Secret::new(
            parse_at::<RawToken>(raw.credentials, "azure.credentials")?.access_token,
        )),
        Value::Object(m) if m.contains_key("federatedToken") => {
            let f = string_fields(&raw.credentials, "azure.credentials", &["clientId", "federatedToken"], &[])?;
            let (client_id, token) = (f[0].clone().unwrap_or_default(), f[1].clone().unwrap_or_default());
            if token.trim().is_empty() || client_id.trim().is_empty() {
                return Err(Error::invalid_input(
                    "invalid configuration at `azure.credentials`: a federated token needs `clientId` and `federatedToken`",
                ));
            }
            AzureCredentials::FederatedToken { client_id, token: Secret::new(token.trim().to_owned()) }
        }
        Value::Object(_) => {
            let c: RawClientSecret = parse_at(raw.credentials, "azure.credentials")?;
            AzureCredentials::ClientSecret { client_id: c.client_id, client_secret: Secret::new(c.client_secret) }
        }
        _ => {
            return Err(Error::invalid_input(
                "invalid configuration at `azure.credentials`: expected {\"clientId\", \"clientSecret\"} or {\"accessToken\"}",
            ));
        }
    };
    Ok(AzurePlatform {
        cloud: raw.cloud,
        tenant_id: raw.tenant_id,
        subscription_id: raw.subscription_id,
        credentials,
        endpoints: raw.endpoints.unwrap_or_default(),
    })
}

fn parse_local(value: Value) -> Result<LocalPlatform> {
    let raw: RawLocal = parse_at(value, "local")?;
    Ok(LocalPlatform {
        credentials: raw
            .credentials
            .map(|c| LocalCredentials { username: c.username, password: Secret::new(c.password) }),
    })
}

/// Completes a configuration document from the environment before it is parsed: an
/// `aws` section without `region` takes `AWS_REGION`, else `AWS_DEFAULT_REGION`, else
/// the `region` of the profile the credential chain reads (`AWS_PROFILE` /
/// `AWS_DEFAULT_PROFILE` / `default`, in `AWS_CONFIG_FILE` or `~/.aws/config`).
/// `ask` answers for the environment; the core itself reads nothing. Other documents
/// come back unchanged.
pub fn complete_from_environment(
    text: &str,
    ask: &mut dyn FnMut(&crate::HostQuery) -> crate::HostAnswer,
) -> Result<String> {
    let Ok(mut doc) = serde_json::from_str::<Value>(text) else { return Ok(text.to_owned()) };
    let needs_region = doc.get("aws").and_then(Value::as_object).is_some_and(|aws| !aws.contains_key("region"));
    if !needs_region {
        return Ok(text.to_owned());
    }
    match crate::auth::aws::region_from_environment(ask) {
        Some(region) => {
            doc["aws"]["region"] = Value::from(region);
            Ok(doc.to_string())
        }
        None => Err(Error::invalid_input(
            "invalid configuration at `aws.region`: required, and neither AWS_REGION, AWS_DEFAULT_REGION nor the profile's region gives one",
        )),
    }
}

#[cfg(test)]
mod environment_tests {
    use crate::{HostAnswer, HostQuery};

    fn complete(doc: &str, env: &[(&str, &str)], file: Option<&str>) -> crate::Result<String> {
        super::complete_from_environment(doc, &mut |q| match q {
            HostQuery::Env(n) => {
                env.iter().find(|(k, _)| k == n).map_or(HostAnswer::Missing, |(_, v)| HostAnswer::Value((*v).into()))
            }
            HostQuery::File(_) => file.map_or(HostAnswer::Missing, |f| HostAnswer::Value(f.into())),
            HostQuery::Command { .. } | HostQuery::FileBytes(_) => HostAnswer::Refused("no".into()),
        })
    }

    #[test]
    fn the_region_comes_from_the_environment_when_absent() {
        let doc =
            r#"{"name":"a","binding":{"service":"ecr","repositoryPrefix":"acme"},"aws":{"accountId":"123456789012"}}"#;
        let region = |out: String| serde_json::from_str::<serde_json::Value>(&out).unwrap()["aws"]["region"].clone();
        assert_eq!(
            region(complete(doc, &[("AWS_REGION", "eu-west-1"), ("AWS_DEFAULT_REGION", "us-west-2")], None).unwrap()),
            "eu-west-1"
        );
        assert_eq!(region(complete(doc, &[("AWS_DEFAULT_REGION", "us-west-2")], None).unwrap()), "us-west-2");
        let file = "[default]\nregion = ap-south-1\n[profile deploy]\nregion = ca-central-1\n";
        assert_eq!(region(complete(doc, &[], Some(file)).unwrap()), "ap-south-1");
        assert_eq!(region(complete(doc, &[("AWS_PROFILE", "deploy")], Some(file)).unwrap()), "ca-central-1");
        assert_eq!(complete(doc, &[], None).unwrap_err().code(), crate::ErrorCode::InvalidInput);
        // A region in the document wins; other documents pass through.
        let with = r#"{"aws":{"region":"us-east-1"}}"#;
        assert_eq!(complete(with, &[("AWS_REGION", "eu-west-1")], None).unwrap(), with);
        assert_eq!(complete("not json", &[], None).unwrap(), "not json");
    }
}

#[cfg(test)]
mod credential_forms {
    use crate::{Config, ErrorCode};

    fn aws(credentials: &str) -> crate::Result<Config> {
        Config::from_json_str(&format!(
            r#"{{"name":"a","binding":{{"service":"ecr","repositoryPrefix":"acme"}},"aws":{{"region":"us-east-1","accountId":"123456789012","credentials":{credentials}}}}}"#
        ))
    }

    #[test]
    fn an_azure_federated_token_is_a_client_id_and_a_token_and_never_printed() {
        let azure = |credentials: &str| {
            Config::from_json_str(&format!(
                r#"{{"name":"a","binding":{{"service":"acr","registryName":"acmeregistry","resourceGroupName":"rg"}},"azure":{{"tenantId":"00000000-0000-0000-0000-0000000000aa","subscriptionId":"00000000-0000-0000-0000-0000000000bb","credentials":{credentials}}}}}"#
            ))
        };
        let config = azure(r#"{"clientId":"c1","federatedToken":"tok-az-3x"}"#).unwrap();
        assert!(config.secrets().contains(&"tok-az-3x".to_owned()));
        assert!(!format!("{config:?}").contains("tok-az-3x"));
        for bad in [
            r#"{"clientId":"","federatedToken":"t"}"#,
            r#"{"clientId":"c","federatedToken":" "}"#,
            r#"{"federatedToken":"t"}"#,
        ] {
            assert_eq!(azure(bad).unwrap_err().code(), ErrorCode::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn workload_identity_federation_is_a_provider_and_a_token_and_never_printed() {
        let gcp = |credentials: &str| {
            Config::from_json_str(&format!(
                r#"{{"name":"a","binding":{{"service":"gar","repositoryName":"images"}},"gcp":{{"projectId":"acme-p1","region":"us","credentials":{credentials}}}}}"#
            ))
        };
        let provider = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/k8s/providers/c";
        let config = gcp(&format!(
            r#"{{"workloadIdentityProvider":"{provider}","subjectToken":"tok-gcp-3x","serviceAccountEmail":"a@p.iam.gserviceaccount.com"}}"#
        ))
        .unwrap();
        assert!(config.secrets().contains(&"tok-gcp-3x".to_owned()));
        assert!(!format!("{config:?}").contains("tok-gcp-3x"));
        for bad in [
            r#"{"workloadIdentityProvider":"projects/1/pools/x","subjectToken":"t"}"#.to_owned(),
            format!(r#"{{"workloadIdentityProvider":"{provider}","subjectToken":""}}"#),
            format!(r#"{{"workloadIdentityProvider":"{provider}","subjectToken":"t","serviceAccountEmail":"nobody"}}"#),
            format!(r#"{{"workloadIdentityProvider":"{provider}","subjectToken":"t","extra":1}}"#),
        ] {
            assert_eq!(gcp(&bad).unwrap_err().code(), ErrorCode::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn a_web_identity_is_a_role_and_a_token_and_never_printed() {
        let config =
            aws(r#"{"roleArn":"arn:aws:iam::123456789012:role/pod","webIdentityToken":"tok-3x4mple"}"#).unwrap();
        let crate::config::Platform::Aws(platform) = &config.platform else { panic!("not aws") };
        let identity = platform.web_identity.as_ref().unwrap();
        assert_eq!(
            (identity.role_arn.as_str(), identity.token.expose()),
            ("arn:aws:iam::123456789012:role/pod", "tok-3x4mple")
        );
        assert!(platform.credentials.is_none());
        assert!(!format!("{config:?}").contains("tok-3x4mple"));
        for bad in [
            r#"{"roleArn":"pod","webIdentityToken":"t"}"#,
            r#"{"roleArn":"arn:aws:iam::1:role/p","webIdentityToken":" "}"#,
            r#"{"webIdentityToken":"t"}"#,
            r#"{"roleArn":"arn:aws:iam::1:role/p","webIdentityToken":"t","accessKeyId":"AKID"}"#,
        ] {
            let e = aws(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{bad}");
            assert!(e.message().contains("aws.credentials"), "{e}");
        }
    }
}

//! Results and inputs of the operations, with the contract's exact JSON forms.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// A repository: `{ "name", "uri", "createdAt" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Repository {
    /// The routable name; pass it back to any operation as is.
    pub name: String,
    /// What `docker pull` takes, when the provider has one.
    pub uri: Option<String>,
    /// RFC 3339 creation time, when the provider reports it.
    pub created_at: Option<String>,
}

/// Which credentials to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permissions {
    /// Pull only.
    Pull,
    /// Push and pull.
    PushPull,
}

impl Permissions {
    /// `"pull"` or `"push-pull"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permissions::Pull => "pull",
            Permissions::PushPull => "push-pull",
        }
    }

    /// Parses `"pull"` or `"push-pull"`.
    pub fn parse(s: &str) -> Result<Permissions> {
        match s {
            "pull" => Ok(Permissions::Pull),
            "push-pull" => Ok(Permissions::PushPull),
            other => Err(Error::invalid_input(format!("permissions must be \"pull\" or \"push-pull\", not {other:?}"))),
        }
    }
}

/// How to present [`Credentials`] to the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    /// HTTP Basic with username and password (`docker login`).
    Basic,
    /// A bearer token (the password field holds it).
    Bearer,
}

/// Registry credentials: `{ "authMethod", "username", "password", "expiresAt" }`.
/// `Debug` never shows the password; serializing does (the JSON form needs it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// Basic or bearer.
    pub auth_method: AuthMethod,
    /// The user name (`AWS` on ECR).
    pub username: String,
    /// The password or token.
    #[serde(serialize_with = "expose_secret")]
    pub password: Secret,
    /// RFC 3339 expiry, when known.
    pub expires_at: Option<String>,
}

fn expose_secret<S: serde::Serializer>(s: &Secret, ser: S) -> std::result::Result<S::Ok, S::Error> {
    ser.serialize_str(s.expose())
}

/// The kinds of workload a cross-account grant is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceType {
    /// Serverless workers (on AWS, Lambda functions pulling their image).
    Worker,
}

/// AWS grant: accounts (as `root` principals), roles, and the regions whose Lambda
/// functions may pull.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsAccess {
    /// 12-digit account ids.
    #[serde(default)]
    pub account_ids: Vec<String>,
    /// Regions (for `worker`: the Lambda source ARNs; empty means any region).
    #[serde(default)]
    pub regions: Vec<String>,
    /// Workload kinds.
    #[serde(default)]
    pub allowed_service_types: Vec<ServiceType>,
    /// IAM role ARNs.
    #[serde(default)]
    pub role_arns: Vec<String>,
}

/// GCP grant: projects (by number) and service accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GcpAccess {
    /// Project numbers (digits).
    #[serde(default)]
    pub project_numbers: Vec<String>,
    /// Workload kinds.
    #[serde(default)]
    pub allowed_service_types: Vec<ServiceType>,
    /// Service-account e-mail addresses.
    #[serde(default)]
    pub service_account_emails: Vec<String>,
}

/// Azure grant: Entra object ids of service principals or managed identities, each
/// given pull on the repository by an ABAC-conditioned role assignment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AzureAccess {
    /// Object ids (GUIDs) in the registry's tenant.
    #[serde(default)]
    pub principal_ids: Vec<String>,
    /// Workload kinds (none apply on Azure: a workload pulls with its own identity).
    #[serde(default)]
    pub allowed_service_types: Vec<ServiceType>,
}

/// A cross-account grant, tagged by `platform`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrossAccountAccess {
    /// `{ "platform": "aws", ... }`
    Aws(AwsAccess),
    /// `{ "platform": "gcp", ... }`
    Gcp(GcpAccess),
    /// `{ "platform": "azure", ... }`
    Azure(AzureAccess),
}

impl CrossAccountAccess {
    /// The `platform` tag: `aws`, `gcp` or `azure`.
    pub fn platform(&self) -> &'static str {
        match self {
            CrossAccountAccess::Aws(_) => "aws",
            CrossAccountAccess::Gcp(_) => "gcp",
            CrossAccountAccess::Azure(_) => "azure",
        }
    }

    /// Reads the JSON form; errors are `invalid-input` naming the offending path.
    pub fn from_json(value: &Value) -> Result<CrossAccountAccess> {
        let Value::Object(map) = value else {
            return Err(Error::invalid_input("access: expected an object with a \"platform\" key"));
        };
        let mut rest = map.clone();
        let platform = rest.remove("platform");
        match platform.as_ref().and_then(Value::as_str) {
            Some("aws") => Ok(CrossAccountAccess::Aws(crate::error::parse_at(Value::Object(rest), "access")?)),
            Some("gcp") => Ok(CrossAccountAccess::Gcp(crate::error::parse_at(Value::Object(rest), "access")?)),
            Some("azure") => Ok(CrossAccountAccess::Azure(crate::error::parse_at(Value::Object(rest), "access")?)),
            Some(other) => Err(Error::invalid_input(format!(
                "access.platform: must be \"aws\", \"gcp\" or \"azure\", not {other:?}"
            ))),
            None => Err(Error::invalid_input("access.platform: missing; must be \"aws\", \"gcp\" or \"azure\"")),
        }
    }

    /// Parses the JSON text form.
    pub fn from_json_str(text: &str) -> Result<CrossAccountAccess> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::invalid_input(format!("access: not valid JSON ({e})")))?;
        CrossAccountAccess::from_json(&value)
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        let platform = self.platform();
        let mut value = match self {
            CrossAccountAccess::Aws(a) => serde_json::to_value(a),
            CrossAccountAccess::Gcp(g) => serde_json::to_value(g),
            CrossAccountAccess::Azure(z) => serde_json::to_value(z),
        };
        let mut out = serde_json::Map::new();
        out.insert("platform".into(), platform.into());
        if let Ok(Value::Object(fields)) = value.as_mut().map(std::mem::take) {
            out.extend(fields);
        }
        Value::Object(out)
    }
}

impl Serialize for CrossAccountAccess {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(ser)
    }
}

/// The grants a repository has now: `{ "access", "lastUpdated" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossAccountPermissions {
    /// What is granted.
    pub access: CrossAccountAccess,
    /// When the grants last changed, when the provider says (ECR does not).
    pub last_updated: Option<String>,
}

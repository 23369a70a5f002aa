//! AWS ECR: repositories, repository policies for cross-account access, and
//! registry credentials (STS `AssumeRole`, then `GetAuthorizationToken`).

pub mod policy;

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::aws::{AwsContext, AwsCredentials, Partition, sts};
use crate::config::{AwsPlatform, EcrBinding};
use crate::error::{Error, ErrorCode, Result};
use crate::naming;
use crate::operation::Exchange;
use crate::provider::{BoxFuture, Provider};
use crate::secret::Secret;
use crate::time::Timestamp;
use crate::types::{
    AuthMethod, AwsAccess, Credentials, CrossAccountAccess, CrossAccountPermissions, Permissions, Repository,
};
use policy::{Grants, Policy};
use std::sync::Arc;

/// How often, and how far apart, to look for a replica repository before giving up.
const REPLICA_POLLS: u32 = 10;
const REPLICA_POLL_INTERVAL: Duration = Duration::from_secs(3);
/// The role session length when the caller gives no TTL (STS's own default).
const DEFAULT_TTL: u64 = 3600;

/// The ECR provider: one binding's prefix, roles and AWS context.
#[derive(Debug)]
pub(crate) struct Ecr {
    aws: AwsContext,
    prefix: String,
    pull_role_arn: Option<String>,
    push_role_arn: Option<String>,
}

impl Ecr {
    pub fn new(binding: &EcrBinding, platform: &AwsPlatform) -> Ecr {
        Ecr {
            aws: AwsContext::new(platform),
            prefix: binding.repository_prefix.clone(),
            pull_role_arn: binding.pull_role_arn.clone(),
            push_role_arn: binding.push_role_arn.clone(),
        }
    }

    /// Checks a grant and returns its AWS form.
    fn aws_access(&self, access: &CrossAccountAccess, adding: bool) -> Result<AwsAccess> {
        let CrossAccountAccess::Aws(access) = access else {
            return Err(Error::invalid_input("ECR grants take {\"platform\": \"aws\", ...}, not a GCP grant"));
        };
        for id in &access.account_ids {
            naming::validate_account_id(id)?;
        }
        for arn in &access.role_arns {
            naming::validate_role_arn(arn, self.aws.partition)?;
        }
        for region in &access.regions {
            naming::validate_region(region)?;
            if Partition::of_region(region) != self.aws.partition {
                return Err(Error::invalid_input(format!(
                    "region {region:?} is not in this registry's partition ({})",
                    self.aws.partition.name()
                )));
            }
        }
        if adding && access.account_ids.is_empty() && access.role_arns.is_empty() {
            return Err(Error::invalid_input("a grant needs at least one account id or role ARN"));
        }
        if !adding && access == &AwsAccess::default() {
            return Err(Error::invalid_input(
                "nothing to remove: list account ids, role ARNs, regions or service types",
            ));
        }
        Ok(access.clone())
    }

    // ---- operations -------------------------------------------------------------

    async fn call(&self, ex: &Exchange, region: &str, action: &str, body: Value) -> Result<Value> {
        self.aws.ecr_call(ex, &self.aws.credentials, region, action, body).await
    }

    pub async fn create_repository(&self, ex: &Exchange, name: &str) -> Result<Repository> {
        let region = &self.aws.region;
        match self.call(ex, region, "CreateRepository", json!({ "repositoryName": name })).await {
            Ok(answer) => self.repository(&answer["repository"]),
            // Idempotent: the repository that exists is the answer, with its real
            // URI and creation time.
            Err(e) if e.code() == ErrorCode::AlreadyExists => self.describe(ex, region, name).await,
            Err(e) => Err(e),
        }
    }

    pub async fn get_repository(&self, ex: &Exchange, name: &str) -> Result<Repository> {
        self.describe(ex, &self.aws.region, name).await
    }

    pub async fn delete_repository(&self, ex: &Exchange, name: &str) -> Result<()> {
        self.call(ex, &self.aws.region, "DeleteRepository", json!({ "repositoryName": name, "force": true })).await?;
        Ok(())
    }

    pub async fn get_cross_account_access(&self, ex: &Exchange, name: &str) -> Result<CrossAccountPermissions> {
        let policy = self.read_policy(ex, &self.aws.region, name).await?;
        Ok(CrossAccountPermissions { access: CrossAccountAccess::Aws(policy.grants.to_access()), last_updated: None })
    }

    /// Adds (or removes) a grant in the home region, then mirrors the change on each
    /// replica: the regions the grant lists plus those already granted.
    pub async fn change_cross_account_access(
        &self,
        ex: &Exchange,
        name: &str,
        access: &CrossAccountAccess,
        adding: bool,
    ) -> Result<()> {
        let access = &self.aws_access(access, adding)?;
        let change = |g: &Grants| if adding { g.add(access) } else { g.remove(access) };
        let home = self.aws.region.clone();
        let before = self.rewrite_policy(ex, &home, name, &change).await?;
        let replicas: BTreeSet<&String> =
            access.regions.iter().chain(&before.regions).filter(|r| **r != home).collect();
        for region in replicas {
            if adding {
                self.wait_for_replica(ex, region, name).await?;
            } else if !self.exists(ex, region, name).await? {
                // Removing from a replica that is not there: nothing holds the grant.
                continue;
            }
            self.rewrite_policy(ex, region, name, &change).await?;
        }
        Ok(())
    }

    pub async fn generate_credentials(&self, ex: &Exchange, permissions: Permissions, ttl: u64) -> Result<Credentials> {
        let role = match permissions {
            Permissions::Pull => self.pull_role_arn.as_deref(),
            Permissions::PushPull => self.push_role_arn.as_deref(),
        };
        let assumed = match role {
            Some(role) => Some(sts::assume_role(&self.aws, ex, role, ttl).await?),
            None => None,
        };
        let creds: &AwsCredentials = assumed.as_ref().map_or(&self.aws.credentials, |a| &a.credentials);
        let answer = self.aws.ecr_call(ex, creds, &self.aws.region, "GetAuthorizationToken", json!({})).await?;
        let data = answer["authorizationData"]
            .get(0)
            .ok_or_else(|| Error::provider("ECR GetAuthorizationToken answered without authorizationData"))?;
        let token = data["authorizationToken"]
            .as_str()
            .ok_or_else(|| Error::provider("ECR GetAuthorizationToken answered without authorizationToken"))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| Error::provider("ECR authorization token is not base64 text"))?;
        let (username, password) =
            decoded.split_once(':').ok_or_else(|| Error::provider("ECR authorization token is not USER:PASSWORD"))?;
        ex.add_secret(password);
        Ok(Credentials {
            auth_method: AuthMethod::Basic,
            username: username.to_owned(),
            password: Secret::new(password),
            // The token cannot outlive the role session it was issued to.
            expires_at: data["expiresAt"]
                .as_f64()
                .and_then(Timestamp::from_unix_f64)
                .into_iter()
                .chain(assumed.and_then(|a| a.expiration))
                .min()
                .map(Timestamp::to_rfc3339),
        })
    }

    // ---- helpers ----------------------------------------------------------------

    fn repository(&self, v: &Value) -> Result<Repository> {
        let name = v["repositoryName"]
            .as_str()
            .ok_or_else(|| Error::provider("ECR answered with a repository that has no repositoryName"))?;
        Ok(Repository {
            name: name.to_owned(),
            uri: v["repositoryUri"].as_str().map(str::to_owned),
            created_at: v["createdAt"].as_f64().and_then(Timestamp::from_unix_f64).map(Timestamp::to_rfc3339),
        })
    }

    async fn describe(&self, ex: &Exchange, region: &str, name: &str) -> Result<Repository> {
        let answer = self.call(ex, region, "DescribeRepositories", json!({ "repositoryNames": [name] })).await?;
        let found = answer["repositories"].as_array().and_then(|r| r.iter().find(|r| r["repositoryName"] == name));
        match found {
            Some(r) => self.repository(r),
            None => Err(Error::new(ErrorCode::NotFound, format!("ECR repository {name:?} does not exist in {region}"))),
        }
    }

    async fn exists(&self, ex: &Exchange, region: &str, name: &str) -> Result<bool> {
        match self.describe(ex, region, name).await {
            Ok(_) => Ok(true),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn wait_for_replica(&self, ex: &Exchange, region: &str, name: &str) -> Result<()> {
        for poll in 0..REPLICA_POLLS {
            if self.exists(ex, region, name).await? {
                return Ok(());
            }
            if poll + 1 < REPLICA_POLLS {
                ex.sleep(REPLICA_POLL_INTERVAL).await;
            }
        }
        Err(Error::new(
            ErrorCode::NotFound,
            format!(
                "the replica of {name:?} in {region} did not appear within {} s; check the registry's replication configuration, then add the grant again (the home region already has it)",
                REPLICA_POLLS as u64 * REPLICA_POLL_INTERVAL.as_secs()
            ),
        ))
    }

    /// The repository's policy; a missing policy is an empty one, any other failure
    /// is an error (so nothing is written on a failed read).
    async fn read_policy(&self, ex: &Exchange, region: &str, name: &str) -> Result<Policy> {
        match self.call(ex, region, "GetRepositoryPolicy", json!({ "repositoryName": name })).await {
            Ok(answer) => match answer["policyText"].as_str() {
                Some(text) => Policy::parse(text),
                None => Ok(Policy::empty()),
            },
            Err(e) if e.provider_code() == Some("RepositoryPolicyNotFoundException") => Ok(Policy::empty()),
            Err(e) => Err(e),
        }
    }

    /// Reads the policy, applies `change` to the owned grants and writes the result
    /// (or deletes the policy when nothing is left). Returns the grants before.
    async fn rewrite_policy(
        &self,
        ex: &Exchange,
        region: &str,
        name: &str,
        change: &(dyn Fn(&Grants) -> Grants + Sync),
    ) -> Result<Grants> {
        let policy = self.read_policy(ex, region, name).await?;
        let before = policy.grants.clone();
        let after = change(&before);
        if after == before {
            return Ok(before);
        }
        let original = policy.render(self.aws.partition);
        match policy.with_grants(after).render(self.aws.partition) {
            Some(text) => {
                self.call(ex, region, "SetRepositoryPolicy", json!({ "repositoryName": name, "policyText": text }))
                    .await?;
            }
            None if original.is_some() => {
                match self.call(ex, region, "DeleteRepositoryPolicy", json!({ "repositoryName": name })).await {
                    Err(e) if e.provider_code() != Some("RepositoryPolicyNotFoundException") => return Err(e),
                    _ => {}
                }
            }
            None => {}
        }
        Ok(before)
    }
}

impl Provider for Ecr {
    fn routable_name(&self, logical: &str) -> Result<String> {
        naming::ecr_routable_name(&self.prefix, logical)
    }
    fn check_routable(&self, name: &str) -> Result<()> {
        naming::ecr_check_routable(&self.prefix, name)
    }
    fn check_access(&self, access: &CrossAccountAccess, adding: bool) -> Result<CrossAccountAccess> {
        self.aws_access(access, adding).map(CrossAccountAccess::Aws)
    }
    fn check_ttl(&self, ttl: Option<u64>) -> Result<u64> {
        let ttl = ttl.unwrap_or(DEFAULT_TTL);
        naming::validate_ttl(ttl, sts::MIN_DURATION, sts::MAX_DURATION)?;
        Ok(ttl)
    }
    fn registry_endpoint(&self) -> String {
        format!("https://{}", self.aws.registry_host())
    }
    fn upstream_repository_prefix(&self) -> String {
        self.prefix.clone()
    }
    fn create_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<Repository> {
        Box::pin(async move { Ecr::create_repository(&self, &ex, &name).await })
    }
    fn get_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<Repository> {
        Box::pin(async move { Ecr::get_repository(&self, &ex, &name).await })
    }
    fn delete_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<()> {
        Box::pin(async move { Ecr::delete_repository(&self, &ex, &name).await })
    }
    fn change_cross_account_access(
        self: Arc<Self>,
        ex: Exchange,
        name: String,
        access: CrossAccountAccess,
        adding: bool,
    ) -> BoxFuture<()> {
        Box::pin(async move { Ecr::change_cross_account_access(&self, &ex, &name, &access, adding).await })
    }
    fn get_cross_account_access(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<CrossAccountPermissions> {
        Box::pin(async move { Ecr::get_cross_account_access(&self, &ex, &name).await })
    }
    fn generate_credentials(
        self: Arc<Self>,
        ex: Exchange,
        _name: String,
        permissions: Permissions,
        ttl: u64,
    ) -> BoxFuture<Credentials> {
        Box::pin(async move { Ecr::generate_credentials(&self, &ex, permissions, ttl).await })
    }
}

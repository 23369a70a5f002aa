//! AWS ECR: repositories, repository policies for cross-account access, and
//! registry credentials (STS `AssumeRole`, then `GetAuthorizationToken`).

mod api;
pub mod policy;

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::auth::aws::{AwsContext, AwsCredentials, Partition, sts};
use crate::config::{AwsPlatform, EcrBinding};
use crate::engine::operation::Exchange;
use crate::engine::time::Timestamp;
use crate::error::{Error, ErrorCode, Result};
use crate::naming;
use crate::providers::{BoxFuture, Provider};
use crate::secret::Secret;
use crate::types::{
    AuthMethod, AwsAccess, Credentials, CrossAccountAccess, CrossAccountPermissions, Permissions, Repository,
};
use policy::{Grants, MAX_POLICY_CHARS, Policy};
use std::sync::Arc;

/// How often, and how far apart, to look for a replica repository before giving up.
const REPLICA_POLLS: u32 = 10;
const REPLICA_POLL_INTERVAL: Duration = Duration::from_secs(3);
/// The role session length when the caller gives no TTL (STS's own default).
const DEFAULT_TTL: u64 = 3600;
/// Policy writes per region before a change that keeps being undone is a conflict.
const MAX_WRITE_ROUNDS: u32 = 5;
/// Bounds of the wait between a policy write and reading it back.
const SETTLE_MIN: Duration = Duration::from_millis(500);
/// See [`SETTLE_MIN`].
const SETTLE_MAX: Duration = Duration::from_secs(5);

/// The ECR provider: one binding's prefix, roles and AWS context.
#[derive(Debug)]
pub(crate) struct Ecr {
    aws: AwsContext,
    prefix: String,
    pull_role_arn: Option<String>,
    push_role_arn: Option<String>,
    /// Tokens of the base credentials are accepted where no role is set.
    unscoped_credentials: bool,
}

impl Ecr {
    pub fn new(binding: &EcrBinding, platform: &AwsPlatform) -> Ecr {
        Ecr {
            aws: AwsContext::new(
                &platform.region,
                &platform.account_id,
                platform.credentials.clone(),
                platform.endpoints.clone(),
                platform.use_fips,
            )
            .with_web_identity(platform.web_identity.clone()),
            prefix: binding.repository_prefix.clone(),
            pull_role_arn: binding.pull_role_arn.clone(),
            push_role_arn: binding.push_role_arn.clone(),
            unscoped_credentials: binding.unscoped_credentials,
        }
    }

    /// Checks a grant and returns its AWS form.
    fn aws_access(&self, access: &CrossAccountAccess, adding: bool) -> Result<AwsAccess> {
        let CrossAccountAccess::Aws(access) = access else {
            return Err(Error::invalid_input(format!(
                "ECR grants take {{\"platform\": \"aws\", ...}}, not a grant for {}",
                access.platform()
            )));
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
        let creds = self.aws.credentials(ex).await?;
        self.aws.ecr_call(ex, &creds, region, action, body).await
    }

    /// An action whose 2xx is the whole answer (its body is not needed).
    async fn write(&self, ex: &Exchange, region: &str, action: &str, body: Value) -> Result<()> {
        let creds = self.aws.credentials(ex).await?;
        self.aws.ecr_call_counted(ex, &creds, region, action, body).await?.0.map(|_| ())
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
        let body = json!({ "repositoryName": name, "force": true });
        let (answer, attempts) = self
            .aws
            .ecr_call_counted(ex, &self.aws.credentials(ex).await?, &self.aws.region, "DeleteRepository", body)
            .await?;
        match answer {
            // A 2xx is the deletion, whatever its body (a proxy may have spoiled it).
            Ok(_) => Ok(()),
            // An earlier attempt may have deleted it and lost its response: gone is
            // what was asked for.
            Err(e) if attempts > 1 && e.provider_code() == Some("RepositoryNotFoundException") => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn get_cross_account_access(&self, ex: &Exchange, name: &str) -> Result<CrossAccountPermissions> {
        let policy = self.read_policy(ex, &self.aws.region, name).await?;
        Ok(CrossAccountPermissions { access: CrossAccountAccess::Aws(policy.grants.to_access()), last_updated: None })
    }

    /// Adds (or removes) a grant in the home region and on every replica.
    ///
    /// Replicas are the same-account destinations of the registry's replication rules
    /// that match the repository (`DescribeRegistry`), never regions named in the
    /// grant (those only scope Lambda). Every region's new policy is computed and
    /// checked (foreign statements on our Sids, ECR's size limit) before anything is
    /// written, so a refusal changes no region. ECR has no ETag: each write is read
    /// back after a settle delay and re-applied when a concurrent writer undid it.
    pub async fn change_cross_account_access(
        &self,
        ex: &Exchange,
        name: &str,
        access: &CrossAccountAccess,
        adding: bool,
    ) -> Result<()> {
        let access = &self.aws_access(access, adding)?;
        let change = |g: &Grants| if adding { g.add(access) } else { g.remove(access) };
        let mut regions = vec![self.aws.region.clone()];
        for replica in self.replica_regions(ex, name).await? {
            if adding {
                self.wait_for_replica(ex, &replica, name).await?;
            } else if !self.exists(ex, &replica, name).await? {
                // Removing from a replica that is not there: nothing holds the grant.
                continue;
            }
            regions.push(replica);
        }
        // Every region's change is planned and checked (our Sids, the size limit)
        // before anything is written, so a refusal changes no region.
        let mut plans = Vec::with_capacity(regions.len());
        for region in &regions {
            let read_at = ex.now();
            let policy = self.read_policy(ex, region, name).await?;
            let write = plan(&policy, region, &change)?;
            plans.push((region, read_at, write, policy.grants.clone()));
        }
        // All regions or none: when a region's write fails, the regions written so
        // far, and that one (its write may have landed with its answer lost), get
        // the change taken back (only it: concurrent changes stay).
        let mut written: Vec<(&String, Grants)> = Vec::new();
        for (i, (region, read_at, write, before)) in plans.into_iter().enumerate() {
            // A later region's plan is seconds old by now (the earlier regions' writes
            // and read-backs came between): planned from it, the write would drop what
            // another writer added meanwhile. Read it again right before writing.
            let (read_at, write, before) = if i == 0 {
                (read_at, write, before)
            } else {
                let read_at = ex.now();
                let fresh = match self.read_policy(ex, region, name).await {
                    Ok(policy) => plan(&policy, region, &change).map(|w| (w, policy.grants.clone())),
                    Err(e) => Err(e),
                };
                match fresh {
                    Ok((write, before)) => (read_at, write, before),
                    Err(error) => return Err(self.undo(ex, name, &written, &change, error).await),
                }
            };
            let Some(write) = write else { continue };
            written.push((region, before));
            if let Err(error) = self.write_until_it_holds(ex, region, name, &change, write, read_at).await {
                return Err(self.undo(ex, name, &written, &change, error).await);
            }
        }
        Ok(())
    }

    /// Takes a change back from the regions written, after `error` in the last of
    /// them; returns the error to report, which says where the undo failed, if it did.
    async fn undo(
        &self,
        ex: &Exchange,
        name: &str,
        written: &[(&String, Grants)],
        change: &(dyn Fn(&Grants) -> Grants + Sync),
        error: Error,
    ) -> Error {
        let mut left = Vec::new();
        for (region, before) in written {
            let after = change(before);
            let revert = |g: &Grants| g.reverting(before, &after);
            let read_at = ex.now();
            let undone = match self.read_policy(ex, region, name).await {
                Ok(policy) => match plan(&policy, region, &revert) {
                    Ok(Some(write)) => self.write_until_it_holds(ex, region, name, &revert, write, read_at).await,
                    Ok(None) => Ok(()),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            if undone.is_err() {
                left.push(region.as_str());
            }
        }
        if left.is_empty() {
            let message = format!("{}; every region was set back, so none has the change", error.message());
            return error.with_message(message);
        }
        let message = format!(
            "{}; the change may still be in {} (setting it back failed there): run the same call again to finish it",
            error.message(),
            left.join(", ")
        );
        error.with_message(message)
    }

    /// Credentials for one repository: the role is assumed with a session policy
    /// that allows `GetAuthorizationToken` and the pull (or push and pull) actions on
    /// this repository's ARN only, and the ECR token inherits the session's
    /// permissions. Without a role the token carries the base principal's rights.
    pub async fn generate_credentials(
        &self,
        ex: &Exchange,
        name: &str,
        permissions: Permissions,
        ttl: u64,
    ) -> Result<Credentials> {
        let role = match permissions {
            Permissions::Pull => self.pull_role_arn.as_deref(),
            Permissions::PushPull => self.push_role_arn.as_deref(),
        };
        let assumed = match role {
            Some(role) => {
                let session_policy = self.session_policy(name, permissions);
                Some(sts::assume_role(&self.aws, ex, role, ttl, Some(&session_policy)).await?)
            }
            None => None,
        };
        let base = match &assumed {
            Some(_) => None,
            None => Some(self.aws.credentials(ex).await?),
        };
        let creds: &AwsCredentials = match (&assumed, &base) {
            (Some(a), _) => &a.credentials,
            (None, Some(b)) => b,
            (None, None) => return Err(Error::provider("no credentials to ask ECR for a token with")),
        };
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
        // ECR answers a missing repository with RepositoryNotFoundException (not-found);
        // a 2xx list without it is a spoiled answer, not proof that it is gone.
        let found = answer["repositories"].as_array().and_then(|r| r.iter().find(|r| r["repositoryName"] == name));
        match found {
            Some(r) => self.repository(r),
            None => Err(Error::provider(format!(
                "ECR DescribeRepositories in {region} answered without the repository {name:?}"
            ))),
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

    /// The repository's policy; only `RepositoryPolicyNotFoundException` means "no
    /// policy". Any other failure, or an answer without `policyText`, is an error,
    /// so nothing is written on a failed read.
    async fn read_policy(&self, ex: &Exchange, region: &str, name: &str) -> Result<Policy> {
        match self.call(ex, region, "GetRepositoryPolicy", json!({ "repositoryName": name })).await {
            Ok(answer) => match answer["policyText"].as_str() {
                Some(text) => Policy::parse(text, self.aws.partition),
                None => Err(Error::provider(format!(
                    "ECR GetRepositoryPolicy in {region} answered without policyText; nothing was written"
                ))),
            },
            Err(e) if e.provider_code() == Some("RepositoryPolicyNotFoundException") => {
                Ok(Policy::empty(self.aws.partition))
            }
            Err(e) => Err(e),
        }
    }

    /// Writes, waits for concurrent writers' writes to land, reads back, and writes
    /// again while a concurrent writer's write undid the change (bounded).
    async fn write_until_it_holds(
        &self,
        ex: &Exchange,
        region: &str,
        name: &str,
        change: &(dyn Fn(&Grants) -> Grants + Sync),
        mut write: PolicyWrite,
        mut read_at: Timestamp,
    ) -> Result<()> {
        for _ in 0..MAX_WRITE_ROUNDS {
            self.write_policy(ex, region, name, &write).await?;
            // A writer that read before our write and writes after it drops our change.
            // Its read-to-write span is about ours: wait longer than that before
            // looking, so its write is in what we read back. The jitter keeps writers
            // that all found their change undone from rewriting in lockstep.
            let span = ex.now().since(read_at);
            ex.sleep(ex.jittered(span.saturating_mul(2).clamp(SETTLE_MIN, SETTLE_MAX))).await;
            read_at = ex.now();
            let policy = self.read_policy(ex, region, name).await?;
            match plan(&policy, region, change)? {
                None => return Ok(()),
                Some(again) => write = again,
            }
        }
        Err(Error::new(
            ErrorCode::Conflict,
            format!(
                "the repository policy of {name:?} in {region} kept being rewritten by another writer; the change did not hold after {MAX_WRITE_ROUNDS} writes. Try again"
            ),
        ))
    }

    async fn write_policy(&self, ex: &Exchange, region: &str, name: &str, write: &PolicyWrite) -> Result<()> {
        match write {
            // A write's 2xx is its answer, whatever the body: the policy is read back next.
            PolicyWrite::Set(text) => {
                let body = json!({ "repositoryName": name, "policyText": text });
                self.write(ex, region, "SetRepositoryPolicy", body).await
            }
            PolicyWrite::Delete => {
                match self.write(ex, region, "DeleteRepositoryPolicy", json!({ "repositoryName": name })).await {
                    Err(e) if e.provider_code() != Some("RepositoryPolicyNotFoundException") => Err(e),
                    _ => Ok(()),
                }
            }
        }
    }

    /// The same-account replica regions of this repository, from the registry's
    /// replication rules (a rule without filters replicates every repository).
    async fn replica_regions(&self, ex: &Exchange, name: &str) -> Result<Vec<String>> {
        let answer = self.call(ex, &self.aws.region, "DescribeRegistry", json!({})).await.map_err(|e| {
            if e.code() == ErrorCode::AccessDenied {
                let hint = " Changing grants needs ecr:DescribeRegistry to find the repository's replicas.";
                let message = format!("{}{hint}", e.message());
                e.with_message(message)
            } else {
                e
            }
        })?;
        // ECR describes a registry without replication as `{"rules": []}`: an answer
        // without that structure says nothing about replicas, and skipping them would
        // leave a grant (or a revoked one) in place there.
        let Some(rules) = answer["replicationConfiguration"]["rules"].as_array() else {
            return Err(Error::provider(
                "ECR DescribeRegistry answered without replicationConfiguration.rules, so the repository's replicas are unknown; nothing was written",
            ));
        };
        let registry = answer["registryId"].as_str().unwrap_or(&self.aws.account_id);
        let mut regions = BTreeSet::new();
        for rule in rules {
            let filters = rule["repositoryFilters"].as_array().filter(|f| !f.is_empty());
            let matches = filters.is_none_or(|filters| {
                filters.iter().any(|f| {
                    f["filterType"] == "PREFIX_MATCH" && f["filter"].as_str().is_some_and(|p| name.starts_with(p))
                })
            });
            if !matches {
                continue;
            }
            for destination in rule["destinations"].as_array().into_iter().flatten() {
                let (Some(region), Some(id)) = (destination["region"].as_str(), destination["registryId"].as_str())
                else {
                    continue;
                };
                if id == registry && region != self.aws.region {
                    naming::validate_region(region).map_err(|_| {
                        Error::provider(format!(
                            "DescribeRegistry named a replica region {region:?} that is not a region"
                        ))
                    })?;
                    regions.insert(region.to_owned());
                }
            }
        }
        Ok(regions.into_iter().collect())
    }

    /// The STS session policy for credentials to one repository.
    fn session_policy(&self, name: &str, permissions: Permissions) -> String {
        let arn = format!(
            "arn:{}:ecr:{}:{}:repository/{name}",
            self.aws.partition.name(),
            self.aws.region,
            self.aws.account_id
        );
        let mut actions = vec!["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
        if permissions == Permissions::PushPull {
            actions.extend([
                "ecr:CompleteLayerUpload",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ]);
        }
        json!({
            "Version": "2012-10-17",
            "Statement": [
                { "Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*" },
                { "Sid": "ThisRepositoryOnly", "Effect": "Allow", "Action": actions, "Resource": arn },
            ],
        })
        .to_string()
    }
}

/// What one region's policy must become.
enum PolicyWrite {
    Set(String),
    Delete,
}

/// The write that applies `change` to `policy`, or `None` when the policy already
/// holds it. Refuses (nothing written) a policy with a foreign statement on our Sid
/// or a result over ECR's size limit.
fn plan(policy: &Policy, region: &str, change: &(dyn Fn(&Grants) -> Grants + Sync)) -> Result<Option<PolicyWrite>> {
    let after = change(&policy.grants);
    if after == policy.grants {
        return Ok(None);
    }
    policy.check_writable()?;
    match policy.with_grants(after).render() {
        Some(text) => {
            let chars = text.chars().count();
            if chars > MAX_POLICY_CHARS {
                return Err(Error::invalid_input(format!(
                    "the repository policy in {region} would be {chars} characters, over ECR's limit of {MAX_POLICY_CHARS}; nothing was written in any region. Grant fewer accounts, roles or regions"
                )));
            }
            Ok(Some(PolicyWrite::Set(text)))
        }
        None => Ok(Some(PolicyWrite::Delete)),
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
    fn check_credentials(&self, permissions: Permissions) -> Result<()> {
        let (role, key) = match permissions {
            Permissions::Pull => (&self.pull_role_arn, "pullRoleArn"),
            Permissions::PushPull => (&self.push_role_arn, "pushRoleArn"),
        };
        let what = "a role assumed for each call with a session policy for the one repository. Without one the ECR token would carry everything the binding's credentials may do in the registry";
        crate::providers::require_scoping(role.as_ref(), self.unscoped_credentials, permissions, key, what)
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
    fn describe_credentials(self: Arc<Self>, ex: Exchange) -> BoxFuture<Value> {
        Box::pin(async move { self.aws.whoami(&ex).await })
    }
    fn generate_credentials(
        self: Arc<Self>,
        ex: Exchange,
        name: String,
        permissions: Permissions,
        ttl: u64,
    ) -> BoxFuture<Credentials> {
        Box::pin(async move { Ecr::generate_credentials(&self, &ex, &name, permissions, ttl).await })
    }
}

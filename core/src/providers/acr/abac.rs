//! Cross-account pull on ACR: Microsoft Entra ABAC role assignments.
//!
//! A registry in the role-assignment mode "RBAC Registry + ABAC Repository
//! Permissions" (`roleAssignmentMode: AbacRepositoryPermissions`) honours role
//! assignments whose condition names repositories. A grant of pull on one repository
//! to one principal is one assignment at the registry's scope:
//!
//! - the role *Container Registry Repository Reader*;
//! - the condition [`condition`]: the role's two data actions (content and metadata
//!   read) only when the request's repository name equals this one, ignoring case as
//!   ACR does;
//! - the description [`description`], and a name derived from the registry, the
//!   repository and the principal ([`assignment_name`]), so that a retry or a
//!   concurrent `add` writes the same assignment and `get` can tell ours from the rest.
//!
//! An assignment is ours only when all of these match ([`is_ours`]): someone else's,
//! with another role, condition, description or name, is never changed, deleted or
//! reported. `add` reads each name before writing it (present and ours: nothing to
//! do; present and not ours: a conflict, nothing written); `remove` reads it before
//! deleting it. Each principal has its own assignment, so concurrent writers for
//! different principals cannot lose each other's grants.
//!
//! Facts relied on: docs/reference/gar-acr.md, section 2.7.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::arm::{Arm, parse};
use crate::engine::http::HttpResponse;
use crate::engine::operation::Exchange;
use crate::engine::time::Timestamp;
use crate::error::{Error, ErrorCode, Result};
use crate::naming;
use crate::protocol::azure as wire;
use crate::secret::Secret;
use crate::types::AzureAccess;

/// The built-in role *Container Registry Repository Reader*.
pub(super) const REPOSITORY_READER: &str = "b93aa761-3e63-49ed-ac28-beffa264f7ac";
/// The role-assignments API version.
const API_VERSION: &str = "2022-04-01";
/// `roleAssignmentMode` of a registry that honours ABAC conditions.
const ABAC_MODE: &str = "AbacRepositoryPermissions";
/// The data actions the Reader role carries, both kept to the one repository.
const READ_ACTIONS: [&str; 2] = [
    "Microsoft.ContainerRegistry/registries/repositories/content/read",
    "Microsoft.ContainerRegistry/registries/repositories/metadata/read",
];
/// Pages of a role-assignment listing followed before giving up.
const MAX_PAGES: usize = 100;

/// Checks an Azure grant before any request: GUIDs, each once (ignoring case), at
/// least one, no workload types. Returns it with lowercase ids, as ARM reports them.
pub(super) fn check(access: &AzureAccess, adding: bool) -> Result<AzureAccess> {
    if !access.allowed_service_types.is_empty() {
        return Err(Error::invalid_input(
            "access.allowedServiceTypes: Azure workloads (Container Apps, Functions, AKS) pull with their own managed identity; grant its principal id instead",
        ));
    }
    let mut ids: Vec<String> = Vec::with_capacity(access.principal_ids.len());
    for id in &access.principal_ids {
        naming::validate_uuid(id).map_err(|_| {
            Error::invalid_input(format!("access.principalIds: {id:?} is not an Entra object id (a GUID)"))
        })?;
        let id = id.to_ascii_lowercase();
        if ids.contains(&id) {
            return Err(Error::invalid_input(format!("access.principalIds: {id} is listed twice")));
        }
        ids.push(id);
    }
    if ids.is_empty() {
        let verb = if adding { "grant" } else { "remove" };
        return Err(Error::invalid_input(format!(
            "nothing to {verb}: list the Entra object ids of service principals or managed identities in principalIds"
        )));
    }
    Ok(AzureAccess { principal_ids: ids, allowed_service_types: Vec::new() })
}

/// The condition of a pull grant on `repository`: the read actions only there.
pub(super) fn condition(repository: &str) -> String {
    let [content, metadata] = READ_ACTIONS;
    format!(
        "((!(ActionMatches{{'{content}'}}) AND !(ActionMatches{{'{metadata}'}})) OR (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase '{repository}'))"
    )
}

/// The description that marks an assignment as this binding's.
pub(super) fn description(repository: &str) -> String {
    format!("artifact-registry: cross-account pull of the repository {repository}")
}

/// The assignment's name: a UUID (version 8, name-based with SHA-256, RFC 9562
/// appendix B.2) of the registry, the repository and the principal, all lowercase.
pub(super) fn assignment_name(registry_id: &str, repository: &str, principal: &str) -> String {
    let seed = format!(
        "artifact-registry acr-abac-pull\n{}\n{}\n{}\n{REPOSITORY_READER}",
        registry_id.to_ascii_lowercase(),
        repository.to_ascii_lowercase(),
        principal.to_ascii_lowercase()
    );
    let mut b: [u8; 16] = Sha256::digest(seed.as_bytes())[..16].try_into().expect("16 of 32 bytes");
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// A condition with the whitespace outside quotes taken out, for comparison.
fn squeezed(condition: &str) -> String {
    let mut quoted = false;
    condition
        .chars()
        .filter(|&c| {
            if c == '\'' {
                quoted = !quoted;
            }
            quoted || !c.is_whitespace()
        })
        .collect()
}

/// Whether `assignment` (ARM's JSON) is this binding's pull grant on `repository`
/// in the registry `registry_id` of `subscription`: role, scope, condition and its
/// version, description and name all ours. Returns its principal when it is.
pub(crate) fn is_ours(assignment: &Value, subscription: &str, registry_id: &str, repository: &str) -> Option<String> {
    let p = &assignment["properties"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let principal = text(&p["principalId"])?.to_ascii_lowercase();
    naming::validate_uuid(&principal).ok()?;
    let role =
        format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{REPOSITORY_READER}");
    let ours = text(&p["roleDefinitionId"])?.eq_ignore_ascii_case(&role)
        && text(&p["scope"])?.eq_ignore_ascii_case(registry_id)
        && p["conditionVersion"].as_str() == Some("2.0")
        && squeezed(&text(&p["condition"])?).eq_ignore_ascii_case(&squeezed(&condition(repository)))
        && p["description"].as_str() == Some(description(repository).as_str())
        && text(&assignment["name"])?.eq_ignore_ascii_case(&assignment_name(registry_id, repository, &principal));
    ours.then_some(principal)
}

/// The pull grants on one repository, through ARM with one ARM token.
pub(super) struct Grants<'a> {
    pub arm: &'a Arm,
    pub token: &'a Secret,
    pub repository: &'a str,
}

impl Grants<'_> {
    fn assignment_url(&self, name: &str) -> String {
        format!(
            "{}{}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version={API_VERSION}",
            self.arm.base, self.arm.registry_id
        )
    }

    fn ours(&self, assignment: &Value) -> Option<String> {
        is_ours(assignment, &self.arm.subscription, &self.arm.registry_id, self.repository)
    }

    /// Refuses, before any write, a registry that does not honour ABAC conditions
    /// (there a Reader assignment would do nothing, and a registry-wide role would
    /// grant every repository).
    pub async fn require_abac_mode(&self, ex: &Exchange) -> Result<()> {
        let what = "reading the registry's role-assignment mode";
        let response = self.arm.send(ex, "GET", &self.arm.url(""), self.token, None).await?;
        let registry = parse(&response, what)?;
        let name = self.arm.registry_id.rsplit('/').next().unwrap_or_default();
        match registry["properties"]["roleAssignmentMode"].as_str() {
            Some(mode) if mode.eq_ignore_ascii_case(ABAC_MODE) => Ok(()),
            Some(mode) => Err(Error::not_supported(format!(
                "the registry {name} is in the role-assignment mode {mode}, where role assignments cannot name repositories. Cross-account grants need \"RBAC Registry + ABAC Repository Permissions\": `az acr update --name {name} --role-assignment-mode rbac-abac`. In that mode AcrPull, AcrPush and AcrDelete are no longer honoured: give their holders Container Registry Repository Reader, Writer or Contributor first"
            ))),
            None => Err(Error::provider(format!(
                "{what}: the registry {name}'s answer has no properties.roleAssignmentMode; nothing was written"
            ))),
        }
    }

    /// Reads the assignment `name`: `None` when there is none.
    async fn read(&self, ex: &Exchange, name: &str) -> Result<Option<Value>> {
        let what = format!("reading the role assignment {name}");
        let response = self.arm.send(ex, "GET", &self.assignment_url(name), self.token, None).await?;
        if response.status == 404 {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(self.error(&response, &what, "read"));
        }
        match parse(&response, &what)? {
            v @ Value::Object(_) => Ok(Some(v)),
            _ => Err(Error::provider(format!("{what}: ARM answered without the assignment; nothing was written"))),
        }
    }

    /// Whether the assignment `name` is this binding's grant to `principal` (`false`:
    /// there is none); someone else's under that name is a `conflict`.
    async fn granted(&self, ex: &Exchange, name: &str, principal: &str) -> Result<bool> {
        match self.read(ex, name).await? {
            Some(existing) if self.ours(&existing).as_deref() == Some(principal) => Ok(true),
            Some(_) => Err(self.foreign(name)),
            None => Ok(false),
        }
    }

    /// Grants pull on the repository to each principal.
    pub async fn add(&self, ex: &Exchange, access: &AzureAccess) -> Result<()> {
        self.require_abac_mode(ex).await?;
        for principal in &access.principal_ids {
            let name = assignment_name(&self.arm.registry_id, self.repository, principal);
            if self.granted(ex, &name, principal).await? {
                continue;
            }
            let body = json!({ "properties": {
                "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{REPOSITORY_READER}", self.arm.subscription),
                "principalId": principal,
                "principalType": "ServicePrincipal",
                "description": description(self.repository),
                "condition": condition(self.repository),
                "conditionVersion": "2.0",
            }});
            let what = format!("granting {principal} pull on {}", self.repository);
            let response = self.arm.send(ex, "PUT", &self.assignment_url(&name), self.token, Some(&body)).await?;
            if response.is_success() {
                continue;
            }
            if response.status != 409 || wire::parse_error(&response).0.as_deref() != Some("RoleAssignmentExists") {
                return Err(self.error(&response, &what, "write"));
            }
            // A concurrent `add` wrote it first (success), or someone else holds the
            // same grant under another name (not ours to claim).
            if !self.granted(ex, &name, principal).await? {
                return Err(Error::new(
                    ErrorCode::Conflict,
                    format!(
                        "{what}: the principal already holds the same role with the same condition on the registry under another assignment, not made by this binding; delete that one first"
                    ),
                )
                .with_http_status(409)
                .with_provider_code("RoleAssignmentExists"));
            }
        }
        Ok(())
    }

    /// Takes back the pull grants `add` gave each principal; any other assignment
    /// stays. Works whatever the registry's mode, so that grants made before a switch
    /// back to RBAC-only do not come back with ABAC.
    pub async fn remove(&self, ex: &Exchange, access: &AzureAccess) -> Result<()> {
        for principal in &access.principal_ids {
            let name = assignment_name(&self.arm.registry_id, self.repository, principal);
            match self.read(ex, &name).await? {
                Some(existing) if self.ours(&existing).as_deref() == Some(principal) => {}
                // Not ours (or none): nothing of this binding's to take back.
                _ => continue,
            }
            let what = format!("taking back {principal}'s pull on {}", self.repository);
            let response = self.arm.send(ex, "DELETE", &self.assignment_url(&name), self.token, None).await?;
            if !response.is_success() && response.status != 404 {
                return Err(self.error(&response, &what, "delete"));
            }
        }
        Ok(())
    }

    /// The principals this binding granted pull on the repository, and when the
    /// newest of those grants changed.
    pub async fn get(&self, ex: &Exchange) -> Result<(AzureAccess, Option<String>)> {
        self.require_abac_mode(ex).await?;
        let what = "listing the registry's role assignments";
        let mut url = format!(
            "{}{}/providers/Microsoft.Authorization/roleAssignments?api-version={API_VERSION}&$filter=atScope()",
            self.arm.base, self.arm.registry_id
        );
        let mut principals: Vec<String> = Vec::new();
        let mut updated: Option<Timestamp> = None;
        for _ in 0..MAX_PAGES {
            let response = self.arm.send(ex, "GET", &url, self.token, None).await?;
            if !response.is_success() {
                return Err(self.error(&response, what, "read"));
            }
            let page = parse(&response, what)?;
            let Some(items) = page["value"].as_array() else {
                return Err(Error::provider(format!("{what}: ARM's answer has no \"value\" list")));
            };
            for item in items {
                if let Some(principal) = self.ours(item) {
                    if !principals.contains(&principal) {
                        principals.push(principal);
                    }
                    let changed = item["properties"]["updatedOn"].as_str().and_then(Timestamp::parse_rfc3339);
                    updated = updated.max(changed);
                }
            }
            match page["nextLink"].as_str().filter(|l| !l.is_empty()) {
                None => {
                    principals.sort();
                    let access = AzureAccess { principal_ids: principals, allowed_service_types: Vec::new() };
                    return Ok((access, updated.map(Timestamp::to_rfc3339)));
                }
                // The ARM token goes to ARM only.
                Some(next) if next.starts_with(&format!("{}/", self.arm.base)) => url = next.to_owned(),
                Some(_) => {
                    return Err(Error::provider(format!(
                        "{what}: ARM's nextLink points to another host; not followed"
                    )));
                }
            }
        }
        Err(Error::provider(format!("{what}: more than {MAX_PAGES} pages")))
    }

    fn foreign(&self, name: &str) -> Error {
        Error::new(
            ErrorCode::Conflict,
            format!(
                "the role assignment {name} on the registry is not this binding's pull grant on {} (another role, condition or description): left as it is",
                self.repository
            ),
        )
    }

    /// ARM's refusal, with what the binding's identity needs where that is the cause.
    fn error(&self, response: &HttpResponse, what: &str, verb: &str) -> Error {
        let error = wire::error_from_response(response, what);
        match wire::parse_error(response).0.as_deref() {
            Some("AuthorizationFailed") | None if response.status == 403 => Error::new(
                ErrorCode::AccessDenied,
                format!(
                    "{} The binding's identity needs Microsoft.Authorization/roleAssignments/{verb} on the registry: for example the role Role Based Access Control Administrator on it, with a condition that limits it to Container Registry Repository Reader.",
                    error.message()
                ),
            )
            .with_http_status(403)
            .with_provider_code("AuthorizationFailed"),
            Some("PrincipalNotFound") => Error::new(
                ErrorCode::InvalidInput,
                format!(
                    "{} A principal id is the object id of a service principal or managed identity in the registry's tenant; for another tenant's application, its service principal must first be created in this tenant (admin consent).",
                    error.message()
                ),
            )
            .with_http_status(response.status)
            .with_provider_code("PrincipalNotFound"),
            _ => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTRY: &str = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/deploy-rg/providers/Microsoft.ContainerRegistry/registries/acmeregistry";
    const SUBSCRIPTION: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
    const PRINCIPAL: &str = "4c9a2b7e-0d1f-4e8a-9b3c-2f6e1d0a5b7c";

    fn assignment(repository: &str) -> Value {
        json!({
            "name": assignment_name(REGISTRY, repository, PRINCIPAL),
            "properties": {
                "roleDefinitionId": format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{REPOSITORY_READER}"),
                "principalId": PRINCIPAL,
                "scope": REGISTRY,
                "condition": condition(repository),
                "conditionVersion": "2.0",
                "description": description(repository),
            }
        })
    }

    #[test]
    fn names_are_version_8_uuids_that_depend_on_every_part() {
        let name = assignment_name(REGISTRY, "team-a/web", PRINCIPAL);
        naming::validate_uuid(&name).unwrap();
        assert_eq!(&name[14..15], "8");
        assert!(matches!(&name[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(name, assignment_name(&REGISTRY.to_uppercase(), "Team-A/Web", &PRINCIPAL.to_uppercase()));
        let others = [
            assignment_name(REGISTRY, "team-a/web2", PRINCIPAL),
            assignment_name(&REGISTRY.replace("acmeregistry", "other"), "team-a/web", PRINCIPAL),
            assignment_name(REGISTRY, "team-a/web", "4c9a2b7e-0d1f-4e8a-9b3c-2f6e1d0a5b7d"),
        ];
        assert!(others.iter().all(|o| *o != name));
    }

    #[test]
    fn only_our_exact_assignment_is_ours() {
        let ours = assignment("team-a/web");
        assert_eq!(is_ours(&ours, SUBSCRIPTION, REGISTRY, "team-a/web").as_deref(), Some(PRINCIPAL));
        // ARM may lay the condition out differently: whitespace outside quotes is not meaning.
        let mut spaced = ours.clone();
        spaced["properties"]["condition"] =
            json!(condition("team-a/web").replace(" OR ", "\n OR \n ").replace("((", "( ( "));
        assert!(is_ours(&spaced, SUBSCRIPTION, REGISTRY, "team-a/web").is_some());
        // Look-alikes, each one change away.
        let changes: Vec<(&str, Value)> = vec![
            (
                "condition",
                json!(condition("team-a/web").replace("StringEqualsIgnoreCase", "StringStartsWithIgnoreCase")),
            ),
            ("condition", json!(condition("team-a/web").replace("@Request", "@Resource"))),
            ("condition", json!(condition("team-a/web2"))),
            ("condition", json!(condition("team-a/web").replace("'team-a/web'", "' team-a/web'"))),
            ("condition", json!(condition("team-a/web").replace("))", ") OR (true))"))),
            ("conditionVersion", json!("1.0")),
            ("description", json!("pull for a friend")),
            (
                "roleDefinitionId",
                json!(format!(
                    "/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/2a1e307c-b015-4ebd-883e-5b7698a07328"
                )),
            ),
            ("scope", json!(format!("{REGISTRY}2"))),
            ("principalId", json!("4c9a2b7e-0d1f-4e8a-9b3c-2f6e1d0a5b7d")),
        ];
        for (field, value) in changes {
            let mut other = ours.clone();
            other["properties"][field] = value.clone();
            assert_eq!(is_ours(&other, SUBSCRIPTION, REGISTRY, "team-a/web"), None, "{field} = {value}");
        }
        let mut renamed = ours.clone();
        renamed["name"] = json!("00000000-0000-0000-0000-000000000001");
        assert_eq!(is_ours(&renamed, SUBSCRIPTION, REGISTRY, "team-a/web"), None);
        assert_eq!(is_ours(&ours, SUBSCRIPTION, REGISTRY, "team-a/web2"), None);
        assert_eq!(is_ours(&json!({}), SUBSCRIPTION, REGISTRY, "team-a/web"), None);
    }

    #[test]
    fn grants_are_checked_before_anything_is_sent() {
        let ok =
            check(&AzureAccess { principal_ids: vec![PRINCIPAL.to_uppercase()], ..Default::default() }, true).unwrap();
        assert_eq!(ok.principal_ids, vec![PRINCIPAL.to_owned()]);
        for (ids, workers, needle) in [
            (vec![], false, "nothing to grant"),
            (vec!["not-a-guid"], false, "not an Entra object id"),
            (vec![PRINCIPAL, &PRINCIPAL.to_uppercase()], false, "listed twice"),
            (vec![PRINCIPAL], true, "allowedServiceTypes"),
        ] {
            let access = AzureAccess {
                principal_ids: ids.iter().map(|s| s.to_string()).collect(),
                allowed_service_types: if workers { vec![crate::types::ServiceType::Worker] } else { vec![] },
            };
            let e = check(&access, true).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput);
            assert!(e.message().contains(needle), "{}", e.message());
        }
    }

    #[test]
    fn the_condition_is_microsofts_single_repository_form() {
        assert_eq!(
            condition("nginx"),
            "((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) AND !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})) OR (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase 'nginx'))"
        );
    }
}

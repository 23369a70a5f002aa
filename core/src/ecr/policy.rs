//! ECR repository policies: the two statements this binding owns, built from and
//! parsed back into [`Grants`], merged into a policy without touching anyone else's
//! statements.
//!
//! Owned statements are recognised by `Sid`:
//! - `CrossAccountRolePermission`: principals `arn:{partition}:iam::{account}:root`
//!   for each account plus each role ARN, with the pull and policy actions;
//! - `LambdaECRImageCrossAccountRetrievalPolicy` (only for the `worker` service type):
//!   service `lambda.amazonaws.com` may pull when `aws:sourceArn` is a function of a
//!   granted account in a granted region (`*` when no region is given).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::aws::Partition;
use crate::error::{Error, Result};
use crate::types::{AwsAccess, ServiceType};

/// Sid of the statement granting accounts and roles.
pub const ROLE_SID: &str = "CrossAccountRolePermission";
/// Sid of the statement letting Lambda pull for granted accounts.
pub const LAMBDA_SID: &str = "LambdaECRImageCrossAccountRetrievalPolicy";

const ROLE_ACTIONS: [&str; 5] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    "ecr:GetRepositoryPolicy",
    "ecr:SetRepositoryPolicy",
];
const LAMBDA_ACTIONS: [&str; 2] = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

/// What the owned statements grant. Sets keep the policy text deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Accounts granted through their `root` principal.
    pub account_ids: BTreeSet<String>,
    /// Roles granted by ARN.
    pub role_arns: BTreeSet<String>,
    /// Regions of the Lambda source ARNs (empty: any region).
    pub regions: BTreeSet<String>,
    /// Whether Lambda may pull for the granted accounts.
    pub worker: bool,
}

impl Grants {
    /// Whether anyone is granted anything.
    pub fn is_empty(&self) -> bool {
        self.account_ids.is_empty() && self.role_arns.is_empty()
    }

    /// These grants plus `access`. Never narrows: a grant for any region stays one.
    pub fn add(&self, access: &AwsAccess) -> Grants {
        let wants_worker = access.allowed_service_types.contains(&ServiceType::Worker);
        let any_region = (self.worker && self.regions.is_empty()) || (wants_worker && access.regions.is_empty());
        let mut out = Grants {
            account_ids: self.account_ids.iter().chain(&access.account_ids).cloned().collect(),
            role_arns: self.role_arns.iter().chain(&access.role_arns).cloned().collect(),
            regions: self.regions.iter().chain(&access.regions).cloned().collect(),
            worker: self.worker || wants_worker,
        };
        if any_region {
            out.regions.clear();
        }
        out
    }

    /// These grants less `access`. Never widens: removing the last listed region of a
    /// worker grant ends the worker grant instead of opening it to every region.
    pub fn remove(&self, access: &AwsAccess) -> Grants {
        let mut out = Grants {
            account_ids: self.account_ids.iter().filter(|a| !access.account_ids.contains(a)).cloned().collect(),
            role_arns: self.role_arns.iter().filter(|r| !access.role_arns.contains(r)).cloned().collect(),
            regions: self.regions.iter().filter(|r| !access.regions.contains(r)).cloned().collect(),
            worker: self.worker && !access.allowed_service_types.contains(&ServiceType::Worker),
        };
        if !self.regions.is_empty() && out.regions.is_empty() {
            out.worker = false;
        }
        if out.is_empty() {
            return Grants::default();
        }
        out
    }

    /// The contract's form of these grants.
    pub fn to_access(&self) -> AwsAccess {
        AwsAccess {
            account_ids: self.account_ids.iter().cloned().collect(),
            regions: self.regions.iter().cloned().collect(),
            allowed_service_types: if self.worker { vec![ServiceType::Worker] } else { Vec::new() },
            role_arns: self.role_arns.iter().cloned().collect(),
        }
    }
}

/// A repository policy document, split into the statements of others (kept as they
/// are) and the grants of the statements this binding owns.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Top-level keys other than `Statement` (`Version`, `Id`), in order.
    header: Map<String, Value>,
    /// Statements this binding does not own, untouched.
    others: Vec<Value>,
    /// What the owned statements grant.
    pub grants: Grants,
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

impl Policy {
    /// No policy at all.
    pub fn empty() -> Policy {
        let mut header = Map::new();
        header.insert("Version".into(), "2008-10-17".into());
        Policy { header, others: Vec::new(), grants: Grants::default() }
    }

    /// Parses policy text as ECR returns it.
    pub fn parse(text: &str) -> Result<Policy> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            Error::provider(format!("the repository policy is not valid JSON ({e}); fix or delete it first"))
        })?;
        let Value::Object(mut header) = value else {
            return Err(Error::provider("the repository policy is not a JSON object; fix or delete it first"));
        };
        let statements = match header.remove("Statement") {
            Some(Value::Array(items)) => items,
            Some(single @ Value::Object(_)) => vec![single],
            None => Vec::new(),
            Some(_) => {
                return Err(Error::provider("the repository policy's Statement is neither a list nor an object"));
            }
        };
        let mut grants = Grants::default();
        let mut others = Vec::new();
        for statement in statements {
            match statement.get("Sid").and_then(Value::as_str) {
                Some(ROLE_SID) => {
                    let principals = statement.get("Principal").and_then(|p| p.get("AWS"));
                    for principal in strings(principals) {
                        if let Some(account) = root_account(principal) {
                            grants.account_ids.insert(account.to_owned());
                        } else if is_role_arn(principal) {
                            grants.role_arns.insert(principal.to_owned());
                        }
                        // Anything else is an id of a deleted role (AWS rewrites the
                        // ARN to the role's unique id): nothing to report or keep.
                    }
                }
                Some(LAMBDA_SID) => {
                    grants.worker = true;
                    let arns = statement
                        .get("Condition")
                        .and_then(|c| c.get("StringLike"))
                        .and_then(|s| s.get("aws:sourceArn"));
                    for arn in strings(arns) {
                        if let Some(region) = arn.split(':').nth(3).filter(|r| !r.is_empty() && *r != "*") {
                            grants.regions.insert(region.to_owned());
                        }
                    }
                }
                _ => others.push(statement),
            }
        }
        Ok(Policy { header, others, grants })
    }

    /// The policy text to store, or `None` when nothing is left (delete the policy).
    pub fn render(&self, partition: Partition) -> Option<String> {
        let mut statements = self.others.clone();
        statements.extend(owned_statements(&self.grants, partition));
        if statements.is_empty() {
            return None;
        }
        let mut doc = self.header.clone();
        doc.entry("Version").or_insert_with(|| "2008-10-17".into());
        doc.insert("Statement".into(), Value::Array(statements));
        Some(Value::Object(doc).to_string())
    }

    /// The same policy with other grants.
    pub fn with_grants(&self, grants: Grants) -> Policy {
        Policy { grants, ..self.clone() }
    }
}

fn root_account(principal: &str) -> Option<&str> {
    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
        return Some(principal);
    }
    let parts: Vec<&str> = principal.split(':').collect();
    (parts.len() == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[5] == "root").then(|| parts[4])
}

fn is_role_arn(principal: &str) -> bool {
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    parts.len() == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[5].starts_with("role/")
}

fn role_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

fn owned_statements(grants: &Grants, partition: Partition) -> Vec<Value> {
    if grants.is_empty() {
        return Vec::new();
    }
    let p = partition.name();
    let principals: Vec<String> = grants
        .account_ids
        .iter()
        .map(|a| format!("arn:{p}:iam::{a}:root"))
        .chain(grants.role_arns.iter().cloned())
        .collect();
    let mut out = vec![json!({
        "Sid": ROLE_SID,
        "Effect": "Allow",
        "Principal": { "AWS": principals },
        "Action": ROLE_ACTIONS,
    })];
    if grants.worker {
        let accounts: BTreeSet<&str> = grants
            .account_ids
            .iter()
            .map(String::as_str)
            .chain(grants.role_arns.iter().filter_map(|r| role_account(r)))
            .collect();
        let regions: Vec<&str> =
            if grants.regions.is_empty() { vec!["*"] } else { grants.regions.iter().map(String::as_str).collect() };
        let source_arns: Vec<String> = accounts
            .iter()
            .flat_map(|a| regions.iter().map(move |r| format!("arn:{p}:lambda:{r}:{a}:function:*")))
            .collect();
        out.push(json!({
            "Sid": LAMBDA_SID,
            "Effect": "Allow",
            "Principal": { "Service": "lambda.amazonaws.com" },
            "Action": LAMBDA_ACTIONS,
            "Condition": { "StringLike": { "aws:sourceArn": source_arns } },
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(accounts: &[&str], roles: &[&str], regions: &[&str], worker: bool) -> AwsAccess {
        AwsAccess {
            account_ids: accounts.iter().map(|s| s.to_string()).collect(),
            role_arns: roles.iter().map(|s| s.to_string()).collect(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
            allowed_service_types: if worker { vec![ServiceType::Worker] } else { vec![] },
        }
    }

    #[test]
    fn round_trips_and_keeps_foreign_statements() {
        let foreign = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Theirs","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}]}"#;
        let policy = Policy::parse(foreign).unwrap();
        let grants =
            policy.grants.add(&access(&["111111111111"], &["arn:aws:iam::222222222222:role/r"], &["us-west-2"], true));
        let text = policy.with_grants(grants.clone()).render(Partition::Aws).unwrap();
        let back = Policy::parse(&text).unwrap();
        assert_eq!(back.grants, grants);
        assert!(text.contains("\"Sid\":\"Theirs\""));
        assert!(text.contains("arn:aws:lambda:us-west-2:222222222222:function:*"));
        assert!(text.contains("arn:aws:iam::111111111111:root"));
        assert!(text.starts_with("{\"Version\":\"2012-10-17\""));
    }

    #[test]
    fn role_only_stays_role_only() {
        let role = "arn:aws:iam::222222222222:role/r";
        let g = Grants::default().add(&access(&[], &[role], &[], true));
        let text = Policy::empty().with_grants(g.clone()).render(Partition::Aws).unwrap();
        let back = Policy::parse(&text).unwrap().grants;
        assert!(back.account_ids.is_empty());
        assert_eq!(back.role_arns.len(), 1);
        let after =
            back.add(&access(&["111111111111"], &[], &[], false)).remove(&access(&["111111111111"], &[], &[], false));
        assert!(after.account_ids.is_empty());
        assert_eq!(after, g);
    }

    #[test]
    fn deleted_role_ids_are_skipped() {
        let text = r#"{"Version":"2008-10-17","Statement":[{"Sid":"CrossAccountRolePermission","Effect":"Allow","Principal":{"AWS":["AROAXXXXXXXXXXXXXXXXX","arn:aws:iam::111111111111:root"]},"Action":["ecr:BatchGetImage"]}]}"#;
        let g = Policy::parse(text).unwrap().grants;
        assert_eq!(g.account_ids.iter().collect::<Vec<_>>(), ["111111111111"]);
        assert!(g.role_arns.is_empty());
    }

    #[test]
    fn removing_everything_leaves_no_policy_unless_others_remain() {
        let g = Grants::default().add(&access(&["111111111111"], &[], &[], true));
        assert!(g.remove(&access(&["111111111111"], &[], &[], false)).is_empty());
        assert_eq!(Policy::empty().render(Partition::Aws), None);
    }

    #[test]
    fn remove_never_widens_and_add_never_narrows() {
        let g = Grants::default().add(&access(&["111111111111"], &[], &["us-west-2"], true));
        let g2 = g.remove(&access(&[], &[], &["us-west-2"], false));
        assert!(!g2.worker, "dropping the last region must not turn into any-region");
        let any = Grants::default().add(&access(&["111111111111"], &[], &[], true));
        assert!(any.add(&access(&[], &[], &["eu-west-1"], true)).regions.is_empty());
    }
}

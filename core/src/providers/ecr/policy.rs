//! ECR repository policies: the two statements this binding owns, built from and
//! parsed back into [`Grants`], merged into a policy without touching anyone else's
//! statements.
//!
//! A statement is ours only when its `Sid` is ours **and** it has exactly the shape
//! this module writes:
//! - `CrossAccountRolePermission`: `Effect: Allow`, principals
//!   `arn:{partition}:iam::{account}:root` for each account plus each role ARN, and the
//!   pull actions only (`ecr:BatchGetImage`, `ecr:GetDownloadUrlForLayer`, as AWS's
//!   own cross-account example grants; read as any non-empty subset of those two and
//!   `ecr:BatchCheckLayerAvailability`, or in the five-action form of 0.1, and written
//!   back in the two-action form);
//! - `LambdaECRImageCrossAccountRetrievalPolicy` (the `worker` service type):
//!   `Effect: Allow`, service `lambda.amazonaws.com`, the same actions, and one
//!   `StringLike` (or `ArnLike`) condition on `aws:SourceArn` (any casing of the key)
//!   listing `arn:{partition}:lambda:{region|*}:{account}:function:*`, one per exact
//!   `(account, region)` pair.
//!
//! Anything else, even with our `Sid` (a `Deny`, `Principal: "*"`, a `NotPrincipal`,
//! a source ARN naming one function, other actions), belongs to someone else: it is
//! kept verbatim and never read as a grant, and a write refuses to run while such a
//! statement squats on one of our Sids (see [`Policy::check_writable`]).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::auth::aws::Partition;
use crate::error::{Error, ErrorCode, Result};
use crate::types::{AwsAccess, ServiceType};

/// Sid of the statement granting accounts and roles.
pub const ROLE_SID: &str = "CrossAccountRolePermission";
/// Sid of the statement letting Lambda pull for granted accounts.
pub const LAMBDA_SID: &str = "LambdaECRImageCrossAccountRetrievalPolicy";
/// The most characters ECR accepts in a repository policy.
pub const MAX_POLICY_CHARS: usize = 10_240;

/// What a cross-account principal may do: pull, nothing else.
const PULL_ACTIONS: [&str; 2] = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
/// The read actions a pull grant under our Sid may name: the pull actions plus
/// `ecr:BatchCheckLayerAvailability` (AWS's managed pull-only policy grants it).
/// Earlier tools wrote our statements with all three or with some of them; any
/// non-empty subset is ours (the contract, docs/API.md) and is written back in the
/// two-action form.
const READ_ACTIONS: [&str; 3] = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"];
/// What versions 0.1.x wrote in the role statement. Recognised as ours so that the
/// next write narrows it to [`PULL_ACTIONS`] instead of refusing it as foreign.
const LEGACY_ROLE_ACTIONS: [&str; 5] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    "ecr:GetRepositoryPolicy",
    "ecr:SetRepositoryPolicy",
];
const LAMBDA_SERVICE: &str = "lambda.amazonaws.com";

/// One account whose Lambda functions may pull, in one region (`None`: any region).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LambdaSource {
    /// The 12-digit account id.
    pub account: String,
    /// The region, or `None` for every region.
    pub region: Option<String>,
}

/// What the owned statements grant. Sets keep the policy text deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Accounts granted through their `root` principal.
    pub account_ids: BTreeSet<String>,
    /// Roles granted by ARN.
    pub role_arns: BTreeSet<String>,
    /// Exact `(account, region)` pairs for which Lambda may pull.
    pub lambda: BTreeSet<LambdaSource>,
}

fn role_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

impl Grants {
    /// Whether anyone is granted anything.
    pub fn is_empty(&self) -> bool {
        self.account_ids.is_empty() && self.role_arns.is_empty() && self.lambda.is_empty()
    }

    /// The accounts a grant names: its account ids and its roles' accounts.
    fn named_accounts(access: &AwsAccess) -> BTreeSet<String> {
        access
            .account_ids
            .iter()
            .map(String::as_str)
            .chain(access.role_arns.iter().filter_map(|r| role_account(r)))
            .map(str::to_owned)
            .collect()
    }

    /// These grants plus `access`. Only inserts, so it never narrows; with the
    /// `worker` type it adds Lambda pairs for the accounts `access` names only, one
    /// per listed region (any region when none is listed). A pair already covered by
    /// the account's any-region pair is not added again.
    pub fn add(&self, access: &AwsAccess) -> Grants {
        let mut out = self.clone();
        out.account_ids.extend(access.account_ids.iter().cloned());
        out.role_arns.extend(access.role_arns.iter().cloned());
        if access.allowed_service_types.contains(&ServiceType::Worker) {
            for account in Grants::named_accounts(access) {
                let any = LambdaSource { account: account.clone(), region: None };
                if access.regions.is_empty() {
                    out.lambda.insert(any);
                } else if !out.lambda.contains(&any) {
                    for region in &access.regions {
                        out.lambda.insert(LambdaSource { account: account.clone(), region: Some(region.clone()) });
                    }
                }
            }
        }
        out
    }

    /// These grants less `access`. Only deletes, so it never widens; and it revokes
    /// everything `access` names, whatever its shape:
    ///
    /// - every principal named goes: each account id's `root` and each role;
    /// - the Lambda pairs of the accounts named (the account ids and the roles'
    ///   accounts) go: those in `access.regions` when the `worker` type and regions
    ///   are given, else every pair of those accounts.
    ///
    /// So `add(a)` then `remove(a)` leaves grants that held nothing of `a`'s as they
    /// were, for every shape of `a`. An any-region pair is removed only by a removal
    /// that lists no regions: a region cannot be cut out of "any region", and that
    /// pair is never turned into a narrower or a wider one.
    pub fn remove(&self, access: &AwsAccess) -> Grants {
        let mut out = self.clone();
        out.account_ids.retain(|a| !access.account_ids.contains(a));
        out.role_arns.retain(|r| !access.role_arns.contains(r));
        let named = Grants::named_accounts(access);
        let in_regions_only = access.allowed_service_types.contains(&ServiceType::Worker) && !access.regions.is_empty();
        out.lambda.retain(|pair| {
            let removed = named.contains(&pair.account)
                && (!in_regions_only || pair.region.as_ref().is_some_and(|r| access.regions.contains(r)));
            !removed
        });
        out
    }

    /// These grants with the change from `before` to `after` taken back, and nothing
    /// else touched: what `after` added is removed, what it removed is put back (for
    /// undoing a change in the regions already written when a later region fails).
    pub fn reverting(&self, before: &Grants, after: &Grants) -> Grants {
        fn revert<T: Ord + Clone>(now: &BTreeSet<T>, before: &BTreeSet<T>, after: &BTreeSet<T>) -> BTreeSet<T> {
            let added: BTreeSet<&T> = after.difference(before).collect();
            now.iter().filter(|x| !added.contains(x)).chain(before.difference(after)).cloned().collect()
        }
        Grants {
            account_ids: revert(&self.account_ids, &before.account_ids, &after.account_ids),
            role_arns: revert(&self.role_arns, &before.role_arns, &after.role_arns),
            lambda: revert(&self.lambda, &before.lambda, &after.lambda),
        }
    }

    /// The contract's form of these grants. The contract has one `regions` list for
    /// the whole grant, so it lists every region of every Lambda pair; the exact
    /// pairs are in the policy.
    pub fn to_access(&self) -> AwsAccess {
        let regions: BTreeSet<&String> = self.lambda.iter().filter_map(|p| p.region.as_ref()).collect();
        AwsAccess {
            account_ids: self.account_ids.iter().cloned().collect(),
            regions: regions.into_iter().cloned().collect(),
            allowed_service_types: if self.lambda.is_empty() { Vec::new() } else { vec![ServiceType::Worker] },
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
    /// Statements this binding does not own, untouched, in order.
    others: Vec<Value>,
    /// Statements of others that carry one of our Sids (kept in `others` too).
    squatters: Vec<Value>,
    /// Partition the owned statements are written for.
    partition: Partition,
    /// What the owned statements grant.
    pub grants: Grants,
}

/// A string or a list of strings; `None` for anything else (a list holding a
/// non-string included).
fn string_list(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// Whether `statement` has exactly the keys `allowed`, all of them.
fn has_exactly_keys(statement: &Map<String, Value>, allowed: &[&str]) -> bool {
    statement.len() == allowed.len() && allowed.iter().all(|k| statement.contains_key(*k))
}

/// Whether an `Action` value is exactly one of the action sets (IAM action names are
/// case-insensitive).
/// Is `v` a non-empty subset of [`READ_ACTIONS`] (any casing), or, with `legacy`,
/// exactly the five actions 0.1 wrote?
fn actions_are_ours(v: &Value, legacy: bool) -> bool {
    let Some(actions) = string_list(v) else { return false };
    let lower = |set: &[&str]| set.iter().map(|a| a.to_ascii_lowercase()).collect::<BTreeSet<_>>();
    let got: BTreeSet<String> = actions.iter().map(|a| a.to_ascii_lowercase()).collect();
    (!got.is_empty() && got.is_subset(&lower(&READ_ACTIONS))) || (legacy && got == lower(&LEGACY_ROLE_ACTIONS))
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// What one principal of our role statement is.
enum RolePrincipal<'a> {
    Account(&'a str),
    Role(&'a str),
    /// The unique id AWS puts in place of a role that was deleted: dead, dropped.
    DeletedRole,
}

fn role_principal(principal: &str, partition: Partition) -> Option<RolePrincipal<'_>> {
    if is_account_id(principal) {
        return Some(RolePrincipal::Account(principal));
    }
    if (16..=128).contains(&principal.len())
        && principal.starts_with("AROA")
        && principal.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Some(RolePrincipal::DeletedRole);
    }
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    if parts.len() != 6
        || parts[0] != "arn"
        || parts[1] != partition.name()
        || parts[2] != "iam"
        || !parts[3].is_empty()
    {
        return None;
    }
    if !is_account_id(parts[4]) {
        return None;
    }
    if parts[5] == "root" {
        Some(RolePrincipal::Account(parts[4]))
    } else if parts[5].starts_with("role/") && parts[5].len() > 5 {
        Some(RolePrincipal::Role(principal))
    } else {
        None
    }
}

/// The role statement's grants, if it has exactly our shape.
fn parse_role_statement(s: &Map<String, Value>, partition: Partition) -> Option<Grants> {
    if !has_exactly_keys(s, &["Sid", "Effect", "Principal", "Action"]) || s["Effect"] != "Allow" {
        return None;
    }
    if !actions_are_ours(&s["Action"], true) {
        return None;
    }
    let Value::Object(principal) = &s["Principal"] else { return None };
    if principal.len() != 1 {
        return None;
    }
    let mut grants = Grants::default();
    for p in string_list(principal.get("AWS")?)? {
        match role_principal(p, partition)? {
            RolePrincipal::Account(a) => grants.account_ids.insert(a.to_owned()),
            RolePrincipal::Role(r) => grants.role_arns.insert(r.to_owned()),
            RolePrincipal::DeletedRole => false,
        };
    }
    Some(grants)
}

/// `arn:{partition}:lambda:{region|*}:{account}:function:*` -> the pair.
fn lambda_source(arn: &str, partition: Partition) -> Option<LambdaSource> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [a, p, service, region, account, function, name] = parts.as_slice() else { return None };
    if *a != "arn" || *p != partition.name() || *service != "lambda" || *function != "function" || *name != "*" {
        return None;
    }
    if !is_account_id(account) || region.is_empty() {
        return None;
    }
    let region = match *region {
        "*" => None,
        r if r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') => Some(r.to_owned()),
        _ => return None,
    };
    Some(LambdaSource { account: (*account).to_owned(), region })
}

/// The Lambda statement's pairs, if it has exactly our shape.
fn parse_lambda_statement(s: &Map<String, Value>, partition: Partition) -> Option<BTreeSet<LambdaSource>> {
    if !has_exactly_keys(s, &["Sid", "Effect", "Principal", "Action", "Condition"]) || s["Effect"] != "Allow" {
        return None;
    }
    if !actions_are_ours(&s["Action"], false) {
        return None;
    }
    let Value::Object(principal) = &s["Principal"] else { return None };
    if principal.len() != 1 || string_list(principal.get("Service")?)? != [LAMBDA_SERVICE] {
        return None;
    }
    let Value::Object(condition) = &s["Condition"] else { return None };
    let [(operator, Value::Object(keys))] = condition.iter().collect::<Vec<_>>()[..] else { return None };
    if operator != "StringLike" && operator != "ArnLike" {
        return None;
    }
    let [(key, arns)] = keys.iter().collect::<Vec<_>>()[..] else { return None };
    if !key.eq_ignore_ascii_case("aws:SourceArn") {
        return None;
    }
    let arns = string_list(arns)?;
    if arns.is_empty() {
        return None;
    }
    arns.into_iter().map(|arn| lambda_source(arn, partition)).collect()
}

impl Policy {
    /// No policy at all.
    pub fn empty(partition: Partition) -> Policy {
        let mut header = Map::new();
        header.insert("Version".into(), "2008-10-17".into());
        Policy { header, others: Vec::new(), squatters: Vec::new(), partition, grants: Grants::default() }
    }

    /// Parses policy text as ECR returns it; owned statements are read for `partition`.
    pub fn parse(text: &str, partition: Partition) -> Result<Policy> {
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
        let mut policy = Policy { header, ..Policy::empty(partition) };
        policy.header.entry("Version").or_insert_with(|| "2008-10-17".into());
        for statement in statements {
            let sid = statement.get("Sid").and_then(Value::as_str);
            let owned = match (sid, &statement) {
                (Some(ROLE_SID), Value::Object(s)) => parse_role_statement(s, partition),
                (Some(LAMBDA_SID), Value::Object(s)) => {
                    parse_lambda_statement(s, partition).map(|lambda| Grants { lambda, ..Grants::default() })
                }
                _ => None,
            };
            match owned {
                Some(g) => {
                    policy.grants.account_ids.extend(g.account_ids);
                    policy.grants.role_arns.extend(g.role_arns);
                    policy.grants.lambda.extend(g.lambda);
                }
                None => {
                    if matches!(sid, Some(ROLE_SID | LAMBDA_SID)) {
                        policy.squatters.push(statement.clone());
                    }
                    policy.others.push(statement);
                }
            }
        }
        Ok(policy)
    }

    /// Refuses to write while a statement that is not ours carries one of our Sids:
    /// writing ours beside it would leave two statements under one Sid, and reading
    /// it as ours could widen it (a `Deny` read as an `Allow`).
    pub fn check_writable(&self) -> Result<()> {
        let Some(squatter) = self.squatters.first() else { return Ok(()) };
        let text: String = squatter.to_string().chars().take(400).collect();
        Err(Error::new(
            ErrorCode::Conflict,
            format!(
                "the repository policy has a statement with this binding's Sid {:?} that this binding did not write: {text}; rename or remove it, then try again (nothing was written)",
                squatter.get("Sid").and_then(Value::as_str).unwrap_or("")
            ),
        ))
    }

    /// The policy text to store, or `None` when nothing is left (delete the policy).
    pub fn render(&self) -> Option<String> {
        let mut statements = self.others.clone();
        statements.extend(owned_statements(&self.grants, self.partition));
        if statements.is_empty() {
            return None;
        }
        let mut doc = self.header.clone();
        doc.insert("Statement".into(), Value::Array(statements));
        Some(Value::Object(doc).to_string())
    }

    /// The same policy with other grants.
    pub fn with_grants(&self, grants: Grants) -> Policy {
        Policy { grants, ..self.clone() }
    }
}

fn owned_statements(grants: &Grants, partition: Partition) -> Vec<Value> {
    let p = partition.name();
    let mut out = Vec::new();
    if !grants.account_ids.is_empty() || !grants.role_arns.is_empty() {
        let principals: Vec<String> = grants
            .account_ids
            .iter()
            .map(|a| format!("arn:{p}:iam::{a}:root"))
            .chain(grants.role_arns.iter().cloned())
            .collect();
        out.push(json!({
            "Sid": ROLE_SID,
            "Effect": "Allow",
            "Principal": { "AWS": principals },
            "Action": PULL_ACTIONS,
        }));
    }
    if !grants.lambda.is_empty() {
        let source_arns: Vec<String> = grants
            .lambda
            .iter()
            .map(|s| format!("arn:{p}:lambda:{}:{}:function:*", s.region.as_deref().unwrap_or("*"), s.account))
            .collect();
        out.push(json!({
            "Sid": LAMBDA_SID,
            "Effect": "Allow",
            "Principal": { "Service": LAMBDA_SERVICE },
            "Action": PULL_ACTIONS,
            "Condition": { "StringLike": { "aws:sourceArn": source_arns } },
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Partition = Partition::Aws;

    fn access(accounts: &[&str], roles: &[&str], regions: &[&str], worker: bool) -> AwsAccess {
        AwsAccess {
            account_ids: accounts.iter().map(|s| s.to_string()).collect(),
            role_arns: roles.iter().map(|s| s.to_string()).collect(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
            allowed_service_types: if worker { vec![ServiceType::Worker] } else { vec![] },
        }
    }

    fn pair(account: &str, region: Option<&str>) -> LambdaSource {
        LambdaSource { account: account.into(), region: region.map(Into::into) }
    }

    fn pairs(g: &Grants) -> Vec<(String, Option<String>)> {
        g.lambda.iter().map(|p| (p.account.clone(), p.region.clone())).collect()
    }

    fn round_trip(g: &Grants) -> Grants {
        Policy::parse(&Policy::empty(P).with_grants(g.clone()).render().unwrap(), P).unwrap().grants
    }

    #[test]
    fn round_trips_and_keeps_foreign_statements() {
        let foreign = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Theirs","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}]}"#;
        let policy = Policy::parse(foreign, P).unwrap();
        let grants =
            policy.grants.add(&access(&["111111111111"], &["arn:aws:iam::222222222222:role/r"], &["us-west-2"], true));
        let text = policy.with_grants(grants.clone()).render().unwrap();
        let back = Policy::parse(&text, P).unwrap();
        assert_eq!(back.grants, grants);
        assert!(text.contains(r#"{"Sid":"Theirs","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}"#));
        assert!(text.contains("arn:aws:lambda:us-west-2:222222222222:function:*"));
        assert!(text.contains("arn:aws:iam::111111111111:root"));
        assert!(text.starts_with("{\"Version\":\"2012-10-17\""));
    }

    #[test]
    fn cross_account_principals_get_pull_actions_only() {
        let g = Grants::default().add(&access(&["111111111111"], &[], &[], true));
        let text = Policy::empty(P).with_grants(g).render().unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        for statement in doc["Statement"].as_array().unwrap() {
            assert_eq!(statement["Action"], json!(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]), "{text}");
        }
        assert!(!text.contains("SetRepositoryPolicy") && !text.contains("GetRepositoryPolicy"), "{text}");
    }

    #[test]
    fn legacy_statements_are_ours_and_narrowed_on_write() {
        let legacy = r#"{"Version":"2008-10-17","Statement":[{"Sid":"CrossAccountRolePermission","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:root"]},"Action":["ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","ecr:GetRepositoryPolicy","ecr:SetRepositoryPolicy"]}]}"#;
        let policy = Policy::parse(legacy, P).unwrap();
        policy.check_writable().unwrap();
        assert_eq!(policy.grants.account_ids.iter().collect::<Vec<_>>(), ["111111111111"]);
        let text = policy.render().unwrap();
        assert!(!text.contains("SetRepositoryPolicy"), "{text}");
    }

    #[test]
    fn pull_statements_with_batch_check_layer_availability_are_ours() {
        let three = r#"["ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:BatchGetImage"]"#;
        let text = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"CrossAccountRolePermission","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111111111111:root"}},"Action":{three}}},{{"Sid":"LambdaECRImageCrossAccountRetrievalPolicy","Effect":"Allow","Principal":{{"Service":"lambda.amazonaws.com"}},"Action":{three},"Condition":{{"StringLike":{{"aws:sourceArn":"arn:aws:lambda:*:111111111111:function:*"}}}}}}]}}"#
        );
        let policy = Policy::parse(&text, P).unwrap();
        policy.check_writable().expect("the three-action form is ours, not a squatter");
        assert_eq!(policy.grants.account_ids.iter().collect::<Vec<_>>(), ["111111111111"]);
        assert_eq!(pairs(&policy.grants), [("111111111111".into(), None)]);
        let written = policy.render().unwrap();
        assert!(!written.contains("BatchCheckLayerAvailability"), "written back in the two-action form: {written}");
        // Any non-empty subset of the three read actions is ours too (earlier tools
        // wrote several), read as the pull grant and written in the two-action form;
        // an empty list or any other action is someone else's.
        for (actions, ours) in [
            (r#""ecr:BatchGetImage""#, true),
            (r#"["ecr:BatchCheckLayerAvailability","ecr:BatchGetImage"]"#, true),
            (r#"["ecr:batchchecklayeravailability"]"#, true),
            (r#"["ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","ecr:BatchGetImage"]"#, true),
            (r#"[]"#, false),
            (r#"["ecr:BatchGetImage","ecr:PutImage"]"#, false),
            (r#""ecr:*""#, false),
        ] {
            let text = format!(
                r#"{{"Statement":[{{"Sid":"CrossAccountRolePermission","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111111111111:root"}},"Action":{actions}}}]}}"#
            );
            let policy = Policy::parse(&text, P).unwrap();
            if ours {
                policy.check_writable().unwrap_or_else(|e| panic!("{actions}: {e}"));
                assert_eq!(policy.grants.account_ids.iter().collect::<Vec<_>>(), ["111111111111"], "{actions}");
                let written: Value = serde_json::from_str(&policy.render().unwrap()).unwrap();
                assert_eq!(written["Statement"][0]["Action"], json!(PULL_ACTIONS), "{actions}");
            } else {
                assert!(policy.grants.is_empty(), "{actions}");
                assert_eq!(policy.check_writable().unwrap_err().code(), ErrorCode::Conflict, "{actions}");
            }
        }
    }

    #[test]
    fn adding_a_region_for_one_account_gives_no_other_account_that_region() {
        let a = Grants::default().add(&access(&["111111111111"], &[], &["us-west-2"], true));
        let ab = a.add(&access(&["222222222222"], &[], &["eu-west-1"], true));
        assert_eq!(
            pairs(&ab),
            [("111111111111".into(), Some("us-west-2".into())), ("222222222222".into(), Some("eu-west-1".into()))]
        );
        assert_eq!(round_trip(&ab), ab);
        let text = Policy::empty(P).with_grants(ab).render().unwrap();
        assert!(!text.contains("arn:aws:lambda:eu-west-1:111111111111"), "{text}");
        assert!(!text.contains("arn:aws:lambda:us-west-2:222222222222"), "{text}");
    }

    #[test]
    fn any_region_and_region_specific_grants_do_not_change_each_other() {
        let any = Grants::default().add(&access(&["111111111111"], &[], &[], true));
        let mixed = any.add(&access(&["222222222222"], &[], &["eu-west-1"], true));
        assert_eq!(pairs(&mixed), [("111111111111".into(), None), ("222222222222".into(), Some("eu-west-1".into()))]);
        // A region for an account that already has every region adds nothing.
        assert_eq!(mixed.add(&access(&["111111111111"], &[], &["eu-west-1"], true)), mixed);
        // Any region for an account with one region keeps the pair and adds "any".
        let wider = mixed.add(&access(&["222222222222"], &[], &[], true));
        assert!(wider.lambda.contains(&pair("222222222222", None)));
        assert!(wider.lambda.contains(&pair("111111111111", None)));
        assert_eq!(round_trip(&wider), wider);
    }

    #[test]
    fn a_remove_takes_away_every_principal_it_names_whatever_its_shape() {
        let g = Grants::default().add(&access(&["111111111111"], &[], &["us-west-2"], true));
        // A worker-and-region removal is still a revoke of the account (the bug of the
        // original platform left its root principal in place).
        let after = g.remove(&access(&["111111111111"], &[], &["us-west-2"], true));
        assert!(after.is_empty(), "{after:?}");
        // Regions without the worker type: every pair of the named account.
        let after = g.remove(&access(&["111111111111"], &[], &["eu-west-1"], false));
        assert!(after.is_empty(), "{after:?}");
        // A removal that names no account takes nothing away.
        assert_eq!(g.remove(&access(&[], &[], &["us-west-2"], true)), g);
    }

    #[test]
    fn remove_never_widens() {
        // A region cannot be cut out of any-region: that pair stays as it is.
        let any = Grants::default().add(&access(&["111111111111"], &[], &[], true));
        let after = any.remove(&access(&["111111111111"], &[], &["eu-west-1"], true));
        assert!(after.account_ids.is_empty());
        assert_eq!(pairs(&after), [("111111111111".into(), None)]);
        // Removing with the worker type and no regions ends every Lambda pair of the
        // named account only.
        let two = any.add(&access(&["222222222222"], &[], &["eu-west-1"], true));
        let one = two.remove(&access(&["111111111111"], &[], &[], true));
        assert_eq!(pairs(&one), [("222222222222".into(), Some("eu-west-1".into()))]);
        assert_eq!(one.account_ids.iter().collect::<Vec<_>>(), ["222222222222"]);
    }

    #[test]
    fn removing_an_account_removes_its_lambda_pairs_and_only_them() {
        let g = Grants::default().add(&access(
            &["111111111111", "333333333333"],
            &["arn:aws:iam::222222222222:role/r"],
            &["us-east-1"],
            true,
        ));
        let after = g.remove(&access(&["333333333333"], &[], &[], false));
        assert_eq!(after.account_ids.iter().collect::<Vec<_>>(), ["111111111111"]);
        assert_eq!(
            pairs(&after),
            [("111111111111".into(), Some("us-east-1".into())), ("222222222222".into(), Some("us-east-1".into()))]
        );
        // A role's account is named by the role: its Lambda pairs go with it.
        let after = after.remove(&access(&[], &["arn:aws:iam::222222222222:role/r"], &[], false));
        assert_eq!(pairs(&after), [("111111111111".into(), Some("us-east-1".into()))]);
        assert!(after.remove(&access(&["111111111111"], &[], &[], false)).is_empty());
    }

    #[test]
    fn role_only_stays_role_only() {
        let role = "arn:aws:iam::222222222222:role/r";
        let g = Grants::default().add(&access(&[], &[role], &[], true));
        let back = round_trip(&g);
        assert!(back.account_ids.is_empty());
        assert_eq!(back.role_arns.len(), 1);
        let after =
            back.add(&access(&["111111111111"], &[], &[], false)).remove(&access(&["111111111111"], &[], &[], false));
        assert_eq!(after, g);
    }

    #[test]
    fn deleted_role_ids_are_skipped() {
        let text = r#"{"Version":"2008-10-17","Statement":[{"Sid":"CrossAccountRolePermission","Effect":"Allow","Principal":{"AWS":["AROAXXXXXXXXXXXXXXXXX","arn:aws:iam::111111111111:root"]},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}"#;
        let policy = Policy::parse(text, P).unwrap();
        policy.check_writable().unwrap();
        assert_eq!(policy.grants.account_ids.iter().collect::<Vec<_>>(), ["111111111111"]);
        assert!(policy.grants.role_arns.is_empty());
    }

    #[test]
    fn statements_with_our_sid_but_another_shape_are_foreign_and_block_writes() {
        let ours_role = json!({"Sid": ROLE_SID, "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111111111111:root"]}, "Action": PULL_ACTIONS});
        let ours_lambda = json!({"Sid": LAMBDA_SID, "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": PULL_ACTIONS, "Condition": {"StringLike": {"aws:sourceArn": "arn:aws:lambda:*:111111111111:function:*"}}});
        let variants: Vec<(Value, &str)> = vec![
            (
                {
                    let mut s = ours_role.clone();
                    s["Effect"] = json!("Deny");
                    s
                },
                "Deny",
            ),
            (
                {
                    let mut s = ours_role.clone();
                    s["Principal"] = json!("*");
                    s
                },
                "Principal *",
            ),
            (
                {
                    let mut s = ours_role.clone();
                    s["Principal"] = json!({"AWS": "*"});
                    s
                },
                "AWS *",
            ),
            (
                {
                    let mut s = ours_role.clone();
                    s.as_object_mut().unwrap().remove("Principal");
                    s["NotPrincipal"] = json!({"AWS": "arn:aws:iam::111111111111:root"});
                    s
                },
                "NotPrincipal",
            ),
            (
                {
                    let mut s = ours_role.clone();
                    s["Action"] = json!(["ecr:*"]);
                    s
                },
                "ecr:*",
            ),
            (
                {
                    let mut s = ours_role.clone();
                    s["Condition"] = json!({"Bool": {"aws:SecureTransport": "true"}});
                    s
                },
                "condition",
            ),
            (
                {
                    let mut s = ours_role.clone();
                    s["Principal"] = json!({"AWS": "arn:aws:iam::111111111111:user/u"});
                    s
                },
                "user",
            ),
            (
                {
                    let mut s = ours_lambda.clone();
                    s["Condition"] =
                        json!({"StringLike": {"aws:sourceArn": "arn:aws:lambda:us-east-1:111111111111:function:one"}});
                    s
                },
                "one function",
            ),
            (
                {
                    let mut s = ours_lambda.clone();
                    s["Effect"] = json!("Deny");
                    s
                },
                "lambda Deny",
            ),
            (
                {
                    let mut s = ours_lambda.clone();
                    s["Principal"] = json!({"Service": ["lambda.amazonaws.com", "ecs.amazonaws.com"]});
                    s
                },
                "two services",
            ),
            (
                {
                    let mut s = ours_lambda.clone();
                    s["Condition"] =
                        json!({"StringNotLike": {"aws:sourceArn": "arn:aws:lambda:*:111111111111:function:*"}});
                    s
                },
                "StringNotLike",
            ),
            (
                {
                    let mut s = ours_lambda.clone();
                    s.as_object_mut().unwrap().remove("Condition");
                    s
                },
                "no condition",
            ),
        ];
        for (statement, what) in variants {
            let text = json!({"Version": "2012-10-17", "Statement": [statement.clone()]}).to_string();
            let policy = Policy::parse(&text, P).unwrap();
            assert!(policy.grants.is_empty(), "{what}: read as a grant");
            let err = policy.check_writable().unwrap_err();
            assert_eq!(err.code(), ErrorCode::Conflict, "{what}");
            // Rendering keeps it verbatim.
            let out: Value = serde_json::from_str(&policy.render().unwrap()).unwrap();
            assert_eq!(out["Statement"][0], statement, "{what}");
        }
    }

    #[test]
    fn condition_keys_are_case_insensitive_and_arn_like_is_read() {
        for (op, key) in
            [("StringLike", "aws:SourceArn"), ("ArnLike", "aws:sourceARN"), ("StringLike", "AWS:SOURCEARN")]
        {
            let text = json!({"Statement": [{"Sid": LAMBDA_SID, "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"], "Condition": {op: {key: ["arn:aws:lambda:eu-west-1:111111111111:function:*"]}}}]}).to_string();
            let policy = Policy::parse(&text, P).unwrap();
            policy.check_writable().unwrap();
            assert_eq!(pairs(&policy.grants), [("111111111111".into(), Some("eu-west-1".into()))], "{op} {key}");
        }
    }

    #[test]
    fn other_partitions_are_not_ours() {
        let g = Grants::default().add(&access(&["111111111111"], &[], &[], true));
        let text = Policy::empty(Partition::AwsCn).with_grants(g).render().unwrap();
        assert!(text.contains("arn:aws-cn:iam::111111111111:root"), "{text}");
        assert!(Policy::parse(&text, P).unwrap().check_writable().is_err());
        assert!(Policy::parse(&text, Partition::AwsCn).unwrap().check_writable().is_ok());
    }

    #[test]
    fn removing_everything_leaves_no_policy_unless_others_remain() {
        let g = Grants::default().add(&access(&["111111111111"], &[], &[], true));
        assert!(g.remove(&access(&["111111111111"], &[], &[], false)).is_empty());
        assert_eq!(Policy::empty(P).render(), None);
    }
}

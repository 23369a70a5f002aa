//! Cross-project access on Artifact Registry: members of the repository's
//! unconditional `roles/artifactregistry.reader` binding.
//!
//! The policy is edited as the JSON it was read as (keys in their order), so every
//! other binding, member, condition and field (`auditConfigs`, the `version`, the
//! `etag`) goes back exactly as it came. Members are added only to the first
//! unconditional reader binding (a new one is appended when there is none) and
//! removed only from unconditional reader bindings: a conditional binding, or a
//! writer or admin binding, is never ours to change or to report.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::types::{GcpAccess, ServiceType};

/// The role a grant gives.
pub(crate) const READER: &str = "roles/artifactregistry.reader";
const ROBOT_PREFIX: &str = "serviceAccount:service-";
const ROBOT_SUFFIX: &str = "@serverless-robot-prod.iam.gserviceaccount.com";

/// The member strings a grant names: each project number's Cloud Run service agent
/// (for the `worker` type; checked before this is called) and each service account.
pub(crate) fn members_of(access: &GcpAccess) -> BTreeSet<String> {
    let worker = access.allowed_service_types.contains(&ServiceType::Worker);
    let robots = access.project_numbers.iter().filter(|_| worker).map(|n| format!("{ROBOT_PREFIX}{n}{ROBOT_SUFFIX}"));
    let accounts = access.service_account_emails.iter().map(|e| format!("serviceAccount:{e}"));
    robots.chain(accounts).collect()
}

fn is_our_binding(binding: &Value) -> bool {
    binding["role"] == READER && binding.get("condition").is_none_or(Value::is_null)
}

/// What the unconditional reader bindings grant, in the contract's form.
pub(crate) fn grants_in(policy: &Value) -> GcpAccess {
    let (mut numbers, mut emails) = (BTreeSet::new(), BTreeSet::new());
    for binding in policy["bindings"].as_array().into_iter().flatten().filter(|b| is_our_binding(b)) {
        for member in binding["members"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let robot = member.strip_prefix(ROBOT_PREFIX).and_then(|m| m.strip_suffix(ROBOT_SUFFIX));
            match robot {
                Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                    numbers.insert(n.to_owned());
                }
                _ => {
                    if let Some(email) = member.strip_prefix("serviceAccount:") {
                        emails.insert(email.to_owned());
                    }
                }
            }
        }
    }
    GcpAccess {
        allowed_service_types: if numbers.is_empty() { Vec::new() } else { vec![ServiceType::Worker] },
        project_numbers: numbers.into_iter().collect(),
        service_account_emails: emails.into_iter().collect(),
    }
}

/// The policy with `members` in the first unconditional reader binding, or `None`
/// when every one of them is there already.
pub(crate) fn with_members_added(policy: &Value, members: &BTreeSet<String>) -> Option<Value> {
    let mut policy = policy.clone();
    let has = |b: &Value, m: &str| b["members"].as_array().is_some_and(|ms| ms.iter().any(|x| x == m));
    let bindings = policy.as_object_mut()?.entry("bindings").or_insert_with(|| json!([]));
    let bindings = bindings.as_array_mut()?;
    let missing: Vec<&String> =
        members.iter().filter(|m| !bindings.iter().any(|b| is_our_binding(b) && has(b, m))).collect();
    if missing.is_empty() {
        return None;
    }
    match bindings.iter_mut().find(|b| is_our_binding(b)) {
        Some(binding) => {
            let list = binding.as_object_mut()?.entry("members").or_insert_with(|| json!([]));
            list.as_array_mut()?.extend(missing.into_iter().map(|m| Value::from(m.as_str())));
        }
        None => bindings.push(json!({ "role": READER, "members": missing })),
    }
    Some(policy)
}

/// The policy without `members` in any unconditional reader binding (a binding left
/// with no member goes: Google refuses empty bindings), or `None` when none was there.
pub(crate) fn with_members_removed(policy: &Value, members: &BTreeSet<String>) -> Option<Value> {
    let mut policy = policy.clone();
    let bindings = policy.get_mut("bindings")?.as_array_mut()?;
    let mut changed = false;
    for binding in bindings.iter_mut().filter(|b| is_our_binding(b)) {
        if let Some(list) = binding.get_mut("members").and_then(Value::as_array_mut) {
            let before = list.len();
            list.retain(|m| m.as_str().is_none_or(|m| !members.contains(m)));
            changed |= list.len() != before;
        }
    }
    if !changed {
        return None;
    }
    bindings.retain(|b| !is_our_binding(b) || b["members"].as_array().is_some_and(|m| !m.is_empty()));
    if bindings.is_empty() {
        policy.as_object_mut()?.remove("bindings");
    }
    Some(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(numbers: &[&str], emails: &[&str]) -> GcpAccess {
        GcpAccess {
            project_numbers: numbers.iter().map(|s| s.to_string()).collect(),
            allowed_service_types: if numbers.is_empty() { vec![] } else { vec![ServiceType::Worker] },
            service_account_emails: emails.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn policy() -> Value {
        serde_json::from_str(r#"{"version":3,"etag":"BwXhqZ3Qx6E=","bindings":[
            {"role":"roles/artifactregistry.writer","members":["serviceAccount:ci@p1.iam.gserviceaccount.com"]},
            {"role":"roles/artifactregistry.reader","members":["user:alice@example.com"],"condition":{"expression":"request.time < timestamp('2030-01-01T00:00:00Z')","title":"until-2030"}},
            {"role":"roles/artifactregistry.reader","members":["group:readers@example.com"]}],
            "auditConfigs":[{"service":"allServices"}]}"#).unwrap()
    }

    #[test]
    fn adds_to_the_unconditional_reader_binding_and_keeps_the_rest_exactly() {
        let members = members_of(&access(&["123456789012"], &["reader@p2.iam.gserviceaccount.com"]));
        let after = with_members_added(&policy(), &members).unwrap();
        let before = policy();
        assert_eq!(after["bindings"][0], before["bindings"][0]);
        assert_eq!(after["bindings"][1], before["bindings"][1], "the conditional binding is untouched");
        assert_eq!(
            after["bindings"][2]["members"],
            json!([
                "group:readers@example.com",
                "serviceAccount:reader@p2.iam.gserviceaccount.com",
                "serviceAccount:service-123456789012@serverless-robot-prod.iam.gserviceaccount.com"
            ])
        );
        assert_eq!(
            (&after["etag"], &after["version"], &after["auditConfigs"]),
            (&before["etag"], &before["version"], &before["auditConfigs"])
        );
        assert_eq!(with_members_added(&after, &members), None, "adding what is there changes nothing");
        let read = grants_in(&after);
        assert_eq!(read, access(&["123456789012"], &["reader@p2.iam.gserviceaccount.com"]));
    }

    #[test]
    fn only_unconditional_reader_bindings_count_as_grants() {
        let read = grants_in(&policy());
        assert_eq!(read, GcpAccess::default(), "writer, conditional and group members are not ours");
    }

    #[test]
    fn removing_the_last_member_drops_only_our_binding() {
        let members = members_of(&access(&[], &["reader@p2.iam.gserviceaccount.com"]));
        let empty = json!({"etag": "e1"});
        let added = with_members_added(&empty, &members).unwrap();
        assert_eq!(
            added,
            json!({"etag": "e1", "bindings": [{"role": READER, "members": ["serviceAccount:reader@p2.iam.gserviceaccount.com"]}]})
        );
        let removed = with_members_removed(&added, &members).unwrap();
        assert_eq!(removed, json!({"etag": "e1"}));
        assert_eq!(with_members_removed(&policy(), &members), None);
        // A member of the conditional binding is never removed.
        let alice = BTreeSet::from(["user:alice@example.com".to_owned()]);
        assert_eq!(with_members_removed(&policy(), &alice), None);
    }
}

//! Property tests for every parser that reads provider output, and for the grant
//! algebra: no input panics, `add` never narrows, `remove` never widens, and owned
//! statements round-trip through their policy text.

use std::collections::BTreeSet;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::auth::aws::Partition;
use crate::engine::http::HttpResponse;
use crate::engine::operation::Step;
use crate::engine::time::Timestamp;
use crate::providers::ecr::policy::{Grants, LambdaSource, Policy};
use crate::types::{AwsAccess, ServiceType};
use crate::{Client, Permissions};

/// Arbitrary JSON, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("Allow"),
            Just("Deny"),
            Just("*"),
            Just("CrossAccountRolePermission"),
            Just("LambdaECRImageCrossAccountRetrievalPolicy"),
            Just("arn:aws:iam::111111111111:root"),
            Just("arn:aws:lambda:*:111111111111:function:*"),
            Just("ecr:BatchGetImage")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("Sid".to_owned()),
                    Just("Effect".to_owned()),
                    Just("Principal".to_owned()),
                    Just("Action".to_owned()),
                    Just("Condition".to_owned()),
                    Just("AWS".to_owned()),
                    Just("Service".to_owned()),
                    Just("StringLike".to_owned()),
                    Just("aws:sourceArn".to_owned()),
                    Just("Statement".to_owned()),
                    ".{0,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn account() -> impl Strategy<Value = String> {
    prop_oneof![Just("111111111111"), Just("222222222222"), Just("333333333333")].prop_map(str::to_owned)
}

fn region() -> impl Strategy<Value = String> {
    prop_oneof![Just("us-east-1"), Just("us-west-2"), Just("eu-west-1")].prop_map(str::to_owned)
}

fn aws_access() -> impl Strategy<Value = AwsAccess> {
    (
        prop::collection::vec(account(), 0..3),
        prop::collection::vec(
            prop_oneof![Just("arn:aws:iam::444444444444:role/a"), Just("arn:aws:iam::111111111111:role/b")]
                .prop_map(str::to_owned),
            0..2,
        ),
        prop::collection::vec(region(), 0..3),
        any::<bool>(),
    )
        .prop_map(|(account_ids, role_arns, regions, worker)| AwsAccess {
            account_ids,
            role_arns,
            regions,
            allowed_service_types: if worker { vec![ServiceType::Worker] } else { vec![] },
        })
}

fn grants() -> impl Strategy<Value = Grants> {
    prop::collection::vec(aws_access(), 0..4).prop_map(|adds| adds.iter().fold(Grants::default(), |g, a| g.add(a)))
}

/// The accounts a grant names: its account ids and its roles' accounts.
fn named_accounts(a: &AwsAccess) -> BTreeSet<String> {
    a.account_ids
        .iter()
        .cloned()
        .chain(a.role_arns.iter().filter_map(|r| r.split(':').nth(4)).map(str::to_owned))
        .collect()
}

fn is_subset(small: &Grants, big: &Grants) -> bool {
    small.account_ids.is_subset(&big.account_ids)
        && small.role_arns.is_subset(&big.role_arns)
        && small.lambda.is_subset(&big.lambda)
}

/// Every Lambda source a set of pairs allows, expanding "any region" over the test regions.
fn reach(g: &Grants) -> BTreeSet<(String, String)> {
    let regions = ["us-east-1", "us-west-2", "eu-west-1"];
    g.lambda
        .iter()
        .flat_map(|LambdaSource { account, region }| {
            regions
                .iter()
                .filter(move |r| region.as_deref().is_none_or(|x| x == **r))
                .map(move |r| (account.clone(), r.to_string()))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn timestamps_parse_anything_without_panicking(s in ".{0,40}") {
        let _ = Timestamp::parse_rfc3339(&s);
        let _ = Timestamp::parse_amz_date(&s);
        let _ = Timestamp::parse_http_date(&s);
    }

    #[test]
    fn rfc3339_like_strings_parse_without_panicking(
        date in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}",
        tail in prop_oneof![Just(String::new()), "\\.[0-9]{0,12}", "\\.\\PC{0,3}", "[+-][0-9]{2}:[0-9]{2}", "Z", "\\PC{0,4}"],
    ) {
        let _ = Timestamp::parse_rfc3339(&format!("{date}{tail}"));
    }

    #[test]
    fn any_instant_formats_and_round_trips(secs in any::<i64>(), nanos in 0u32..1_000_000_000, add in any::<u64>()) {
        let t = Timestamp::from_unix(secs).plus(Duration::from_nanos(nanos as u64));
        let text = t.to_rfc3339();
        prop_assert_eq!(Timestamp::parse_rfc3339(&text), Some(t));
        prop_assert_eq!(t.amz_date().len(), 16);
        prop_assert_eq!(t.date_stamp().len(), 8);
        let later = t.plus(Duration::from_secs(add));
        prop_assert!(later >= t);
        let _ = later.since(t);
        let _ = Timestamp::from_unix_f64(secs as f64 * 1.5);
    }

    #[test]
    fn policies_parse_anything_without_panicking(text in ".{0,200}", doc in json_value()) {
        let _ = Policy::parse(&text, Partition::Aws);
        let statement = json!({ "Version": "2012-10-17", "Statement": [doc.clone()] }).to_string();
        if let Ok(p) = Policy::parse(&statement, Partition::Aws) {
            let _ = p.check_writable();
            let _ = p.render();
        }
        let _ = Policy::parse(&doc.to_string(), Partition::Aws);
    }

    #[test]
    fn add_never_narrows_and_remove_never_widens(g in grants(), a in aws_access()) {
        let added = g.add(&a);
        prop_assert!(is_subset(&g, &added), "add narrowed");
        prop_assert!(reach(&g).is_subset(&reach(&added)));
        // Only the accounts the grant names gain Lambda sources.
        let named = named_accounts(&a);
        for (account, _) in reach(&added).difference(&reach(&g)) {
            prop_assert!(named.contains(account), "account {} gained a region it was not granted", account);
        }
        if a != AwsAccess::default() {
            let removed = g.remove(&a);
            prop_assert!(is_subset(&removed, &g), "remove widened");
            prop_assert!(reach(&removed).is_subset(&reach(&g)));
        }
    }

    #[test]
    fn a_revoke_revokes_everything_it_names(g in grants(), a in aws_access()) {
        let removed = g.remove(&a);
        prop_assert!(is_subset(&removed, &g), "remove widened");
        for account in &a.account_ids {
            prop_assert!(!removed.account_ids.contains(account), "account {} kept its principal", account);
        }
        for role in &a.role_arns {
            prop_assert!(!removed.role_arns.contains(role), "role {} kept", role);
        }
        let named = named_accounts(&a);
        let regional = a.allowed_service_types.contains(&ServiceType::Worker) && !a.regions.is_empty();
        for pair in &removed.lambda {
            if named.contains(&pair.account) {
                // A region-scoped removal keeps the account's pairs outside its regions
                // (any-region ones included); any other removal keeps none.
                let outside = pair.region.as_ref().is_none_or(|r| !a.regions.contains(r));
                prop_assert!(regional && outside, "pair {:?} kept", pair);
            }
        }
    }

    #[test]
    fn add_then_remove_leaves_a_policy_as_it_was(
        prior in grants(),
        a in aws_access(),
        others in prop::collection::vec(json_value(), 0..3),
    ) {
        // A repository that held none of `a`'s grants: nothing for the accounts and
        // roles `a` names.
        let named = named_accounts(&a);
        let prior = Grants {
            account_ids: prior.account_ids.iter().filter(|x| !a.account_ids.contains(*x)).cloned().collect(),
            role_arns: prior.role_arns.iter().filter(|r| !a.role_arns.contains(*r)).cloned().collect(),
            lambda: prior.lambda.iter().filter(|p| !named.contains(&p.account)).cloned().collect(),
        };
        let base = json!({ "Version": "2012-10-17", "Statement": others }).to_string();
        let Ok(foreign) = Policy::parse(&base, Partition::Aws) else { return Ok(()) };
        if foreign.check_writable().is_err() || !foreign.grants.is_empty() {
            return Ok(());
        }
        let Some(before) = foreign.with_grants(prior.clone()).render() else { return Ok(()) };
        // Through the policy text each step, as the provider does.
        let policy = Policy::parse(&before, Partition::Aws).unwrap();
        // serde_json does not read every float back exactly; such texts say nothing here.
        prop_assume!(policy.render().as_ref() == Some(&before));
        let granted = Policy::parse(&policy.with_grants(policy.grants.add(&a)).render().unwrap(), Partition::Aws).unwrap();
        let revoked = granted.with_grants(granted.grants.remove(&a));
        prop_assert_eq!(revoked.render(), Some(before));
    }

    #[test]
    fn reverting_takes_back_exactly_the_change(g in grants(), a in aws_access(), other in grants(), adding in any::<bool>()) {
        let after = if adding { g.add(&a) } else { g.remove(&a) };
        prop_assert_eq!(after.reverting(&g, &after), g.clone());
        // With a concurrent writer's grants on top, theirs stay.
        let theirs = Grants {
            account_ids: other.account_ids.difference(&g.account_ids).filter(|x| !after.account_ids.contains(*x)).cloned().collect(),
            role_arns: other.role_arns.difference(&g.role_arns).filter(|x| !after.role_arns.contains(*x)).cloned().collect(),
            lambda: other.lambda.difference(&g.lambda).filter(|x| !after.lambda.contains(*x)).cloned().collect(),
        };
        let mixed = Grants {
            account_ids: after.account_ids.union(&theirs.account_ids).cloned().collect(),
            role_arns: after.role_arns.union(&theirs.role_arns).cloned().collect(),
            lambda: after.lambda.union(&theirs.lambda).cloned().collect(),
        };
        let back = mixed.reverting(&g, &after);
        prop_assert!(is_subset(&theirs, &back) && is_subset(&g, &back));
    }

    #[test]
    fn owned_statements_round_trip(g in grants(), others in prop::collection::vec(json_value(), 0..3)) {
        let base = json!({ "Version": "2012-10-17", "Statement": others }).to_string();
        if let Ok(policy) = Policy::parse(&base, Partition::Aws) {
            let text = policy.with_grants(g.clone()).render();
            if let Some(text) = text {
                let back = Policy::parse(&text, Partition::Aws).unwrap();
                // Foreign statements that happen to have our shape merge into ours.
                prop_assert!(is_subset(&g, &back.grants));
            }
        }
    }

    #[test]
    fn aws_error_bodies_parse_without_panicking(status in 100u16..600, body in ".{0,120}", doc in json_value(), code in ".{0,20}") {
        for body in [body.clone(), doc.to_string(), format!("<ErrorResponse><Error><Code>{code}</Code><Message>{body}</Message></Error></ErrorResponse>"), format!("<a>&{code};&#x{code};&#{code};</a>")] {
            let response = HttpResponse::new(status, body.clone()).with_header("x-amzn-ErrorType", code.clone());
            let _ = crate::protocol::aws::parse_error(&response);
            let _ = crate::protocol::aws::error_from_response(&response, "test");
            let _ = crate::protocol::aws::is_throttled(&response);
            for name in ["Code", "Message", "SecretAccessKey", "Expiration"] {
                let _ = crate::protocol::aws_xml::first(&body, name);
            }
        }
    }

    #[test]
    fn challenges_and_registry_errors_parse_without_panicking(header in ".{0,120}", status in 100u16..600, body in ".{0,120}", doc in json_value()) {
        let _ = crate::oci::parse_challenge(&header);
        let _ = crate::oci::parse_challenge(&format!("Bearer {header}"));
        let _ = crate::oci::parse_challenge(&format!("Bearer realm=\"{header}\",service={header}"));
        for body in [body, doc.to_string()] {
            let _ = crate::oci::error_from_response(&HttpResponse::new(status, body).with_header("WWW-Authenticate", header.clone()), "test");
        }
    }

    /// Whole operations fed arbitrary answers: they end (with a result or a typed
    /// error), never panic.
    #[test]
    fn operations_survive_any_answer(
        answers in prop::collection::vec((prop_oneof![Just(200u16), Just(201), Just(202), Just(400), Just(401), Just(404), Just(429), Just(500)], prop_oneof![json_value().prop_map(|v| v.to_string()), ".{0,80}"], prop::option::of(".{0,40}")), 1..12),
        op in 0usize..6,
        now in any::<i64>(),
    ) {
        let ecr = r#"{"name":"artifacts","binding":{"service":"ecr","repositoryPrefix":"acme","pullRoleArn":"arn:aws:iam::123456789012:role/pull"},
            "aws":{"region":"us-east-1","accountId":"123456789012","credentials":{"accessKeyId":"AKIDEXAMPLE","secretAccessKey":"secretsecret"}}}"#;
        let local = r#"{"name":"artifacts","binding":{"service":"local","registryUrl":"localhost:5000"},"local":{}}"#;
        for config in [ecr, local] {
            let client = Client::from_json_str(config).unwrap();
            let name = client.routable_name("app").unwrap();
            let grant = crate::CrossAccountAccess::Aws(AwsAccess { account_ids: vec!["111111111111".into()], ..AwsAccess::default() });
            let mut operation = match op {
                0 => client.create_repository("app").map(|_| ()),
                1 => client.get_repository(&name).map(|_| ()),
                2 => client.delete_repository(&name),
                3 => client.add_cross_account_access(&name, &grant),
                4 => client.get_cross_account_access(&name).map(|_| ()),
                _ => client.generate_credentials(&name, Permissions::Pull, Some(900)).map(|_| ()),
            };
            let mut answers = answers.iter().cycle().take(64);
            let now = Timestamp::from_unix(now);
            let mut steps = 0;
            loop {
                steps += 1;
                prop_assert!(steps < 200, "an operation did not end");
                match operation.step(now) {
                    Step::Send(_) => {
                        let Some((status, body, header)) = answers.next() else { break };
                        let mut r = HttpResponse::new(*status, body.clone());
                        if let Some(h) = header {
                            r = r.with_header("WWW-Authenticate", h.clone()).with_header("Retry-After", h.clone());
                        }
                        operation.receive(r);
                    }
                    Step::Sleep(d) => prop_assert!(d <= Duration::from_secs(60)),
                    Step::Ask(_) => operation.answer(crate::HostAnswer::Missing),
                    Step::Done(_) => break,
                }
            }
        }
    }
}

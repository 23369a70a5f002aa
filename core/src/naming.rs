//! Names and identifiers: what each provider accepts, and the routable names that
//! round-trip through every operation. Everything here runs before any request.

use crate::error::{Error, Result};
use crate::partition::Partition;

fn bad(message: String) -> Error {
    Error::invalid_input(message)
}

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// One OCI path component: `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`.
fn is_oci_component(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !is_lower_alnum(b[0] as char) || !is_lower_alnum(b[b.len() - 1] as char) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if is_lower_alnum(c) {
            i += 1;
            continue;
        }
        // A separator run: '.', '_', '__', or any number of '-'.
        let start = i;
        while i < b.len() && !is_lower_alnum(b[i] as char) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// One ECR path component: `[a-z0-9]+(?:[._-][a-z0-9]+)*`.
fn is_ecr_component(s: &str) -> bool {
    !s.is_empty() && s.split(['.', '_', '-']).all(|part| !part.is_empty() && part.chars().all(is_lower_alnum))
}

/// An ECR repository name: components separated by `/`, 2 to 256 characters.
pub fn validate_ecr_repository_name(name: &str) -> Result<()> {
    if name.len() < 2 || name.len() > 256 {
        return Err(bad(format!("ECR repository name {name:?} must be 2 to 256 characters long")));
    }
    if !name.split('/').all(is_ecr_component) {
        return Err(bad(format!(
            "ECR repository name {name:?} must be lowercase letters and digits, separated by single '.', '_', '-' or '/'"
        )));
    }
    Ok(())
}

/// An ECR repository prefix (it is also the shared repository's own name).
pub fn validate_ecr_prefix(prefix: &str) -> Result<()> {
    validate_ecr_repository_name(prefix)
}

/// A logical repository name: lowercase letters, digits and `. _ - /`, at most 200
/// characters; empty means "the binding's own repository" where a provider has one.
pub fn validate_logical_name(name: &str) -> Result<()> {
    if name.len() > 200 {
        return Err(bad(format!("repository name {name:?} is longer than 200 characters")));
    }
    if let Some(c) = name.chars().find(|c| !(is_lower_alnum(*c) || matches!(c, '.' | '_' | '-' | '/'))) {
        return Err(bad(format!(
            "repository name {name:?} has {c:?}: use lowercase letters, digits, '.', '_', '-' and '/'"
        )));
    }
    Ok(())
}

/// An OCI distribution repository name (`component(/component)*`, at most 255).
pub fn validate_oci_repository(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 255 {
        return Err(bad(format!("repository name {name:?} must be 1 to 255 characters long")));
    }
    if !name.split('/').all(is_oci_component) {
        return Err(bad(format!(
            "repository name {name:?} is not a valid OCI name: lowercase letters and digits, separated by '.', '_', '__', '-' or '/'"
        )));
    }
    Ok(())
}

/// One OCI path component (the local provider's binding name).
pub fn validate_oci_component(name: &str) -> Result<()> {
    if is_oci_component(name) {
        Ok(())
    } else {
        Err(bad(format!(
            "{name:?} must be a single OCI path component: lowercase letters and digits, separated by '.', '_', '__' or '-'"
        )))
    }
}

/// The binding name: 1 to 128 letters, digits, `-`, `_`, `.`.
pub fn validate_binding_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 128
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(bad(format!("binding name {name:?} must be 1 to 128 letters, digits, '-', '_' or '.'")));
    }
    Ok(())
}

/// A 12-digit AWS account id.
pub fn validate_account_id(id: &str) -> Result<()> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(bad(format!("AWS account id {id:?} must be exactly 12 digits")))
    }
}

/// An AWS region name such as `us-east-1`, `us-gov-west-1`, `cn-north-1`.
pub fn validate_region(region: &str) -> Result<()> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() <= 2
        && !parts[parts.len() - 1].is_empty()
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit());
    if ok { Ok(()) } else { Err(bad(format!("{region:?} is not an AWS region name (like \"us-east-1\")"))) }
}

fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '=' | ',' | '.' | '@' | '_' | '-')
}

/// An IAM role ARN in the given partition: `arn:{partition}:iam::{account}:role/{path/}{name}`.
pub fn validate_role_arn(arn: &str, partition: Partition) -> Result<()> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let problem = if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" || !parts[3].is_empty() {
        Some("it must look like arn:aws:iam::123456789012:role/name".to_owned())
    } else if parts[1] != partition.name() {
        Some(format!("its partition {:?} is not this region's partition {:?}", parts[1], partition.name()))
    } else if validate_account_id(parts[4]).is_err() {
        Some(format!("its account {:?} is not 12 digits", parts[4]))
    } else {
        match parts[5].strip_prefix("role/") {
            None => Some("its resource must be role/NAME".to_owned()),
            Some(rest) => {
                let name = rest.rsplit('/').next().unwrap_or("");
                let path_ok = rest.split('/').all(|seg| seg.chars().all(is_iam_name_char)) && rest.len() <= 576;
                if name.is_empty() || name.len() > 64 || !path_ok || !name.chars().all(is_iam_name_char) {
                    Some("its role name must be 1 to 64 of letters, digits and +=,.@_-".to_owned())
                } else {
                    None
                }
            }
        }
    };
    match problem {
        Some(p) => Err(bad(format!("role ARN {arn:?} is invalid: {p}"))),
        None => Ok(()),
    }
}

/// A TTL in seconds within `[min, max]`.
pub fn validate_ttl(ttl: u64, min: u64, max: u64) -> Result<()> {
    if (min..=max).contains(&ttl) {
        Ok(())
    } else {
        Err(bad(format!("TTL of {ttl} seconds is out of range: use {min} to {max} seconds")))
    }
}

/// A GCP project id: 6 to 30 of lowercase letters, digits and hyphens, starting with
/// a letter and not ending with a hyphen; or a domain-scoped one, `example.com:proj`.
pub fn validate_gcp_project_id(id: &str) -> Result<()> {
    let (domain, id) = match id.split_once(':') {
        Some((domain, id)) => (Some(domain), id),
        None => (None, id),
    };
    let domain_ok = domain.is_none_or(|d| {
        d.contains('.')
            && d.len() <= 253
            && d.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| is_lower_alnum(c) || c == '-')
            })
    });
    let ok = domain_ok
        && (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id.chars().all(|c| is_lower_alnum(c) || c == '-');
    if ok { Ok(()) } else { Err(bad(format!("{id:?} is not a GCP project id (6-30 lowercase letters, digits, '-')"))) }
}

/// A GCP project number (digits).
pub fn validate_gcp_project_number(n: &str) -> Result<()> {
    if !n.is_empty() && n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(bad(format!("{n:?} is not a GCP project number (digits only)")))
    }
}

/// An Artifact Registry location such as `us-central1`, `europe-west4`, `us`.
pub fn validate_gcp_location(loc: &str) -> Result<()> {
    let ok = !loc.is_empty()
        && loc.len() <= 63
        && loc.starts_with(|c: char| c.is_ascii_lowercase())
        && loc.chars().all(|c| is_lower_alnum(c) || c == '-');
    if ok { Ok(()) } else { Err(bad(format!("{loc:?} is not a GCP location (like \"us-central1\")"))) }
}

/// An Artifact Registry repository id: `[a-z]([a-z0-9-]*[a-z0-9])?`, up to 63.
pub fn validate_gar_repository_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id.chars().all(|c| is_lower_alnum(c) || c == '-');
    if ok {
        Ok(())
    } else {
        Err(bad(format!("{id:?} is not an Artifact Registry repository id (lowercase letters, digits, '-')")))
    }
}

/// A service-account e-mail (`name@project.iam.gserviceaccount.com` and the like).
pub fn validate_service_account_email(email: &str) -> Result<()> {
    let ok = match email.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && user.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && domain.contains('.')
                && domain.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        }
        None => false,
    };
    if ok { Ok(()) } else { Err(bad(format!("{email:?} is not a service-account e-mail address"))) }
}

/// An ACR registry name: 5 to 50 letters and digits.
pub fn validate_acr_registry_name(name: &str) -> Result<()> {
    if (5..=50).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(bad(format!("ACR registry name {name:?} must be 5 to 50 letters and digits")))
    }
}

/// An Azure resource group name: 1 to 90 of letters, digits, `-_.()`, not ending in `.`.
pub fn validate_resource_group(name: &str) -> Result<()> {
    let ok = (1..=90).contains(&name.len())
        && !name.ends_with('.')
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
    if ok {
        Ok(())
    } else {
        Err(bad(format!("resource group name {name:?} must be 1 to 90 of letters, digits and -_.()")))
    }
}

/// A UUID in its 8-4-4-4-12 hex form (Azure tenant and subscription ids).
pub fn validate_uuid(id: &str) -> Result<()> {
    let groups: Vec<&str> = id.split('-').collect();
    let ok = groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok { Ok(()) } else { Err(bad(format!("{id:?} is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"))) }
}

fn validate_authority(authority: &str) -> bool {
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, Some(p)),
        _ => (authority, None),
    };
    let host_ok = !host.is_empty()
        && (host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            || (host.starts_with('[') && host.ends_with(']')));
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n > 0 && n < 65536)
    });
    host_ok && port_ok
}

/// An endpoint override: `http://` or `https://` and a host, with an optional path.
pub fn validate_endpoint_url(url: &str) -> Result<()> {
    let ok = match url.split_once("://") {
        Some((scheme, rest)) if scheme == "http" || scheme == "https" => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            validate_authority(authority)
        }
        _ => false,
    };
    if ok { Ok(()) } else { Err(bad(format!("{url:?} is not an http(s) URL (like \"http://127.0.0.1:5000\")"))) }
}

/// The local registry: `host[:port]`, or an http(s) URL.
pub fn validate_registry_url(url: &str) -> Result<()> {
    if url.contains("://") {
        return validate_endpoint_url(url);
    }
    if validate_authority(url) {
        Ok(())
    } else {
        Err(bad(format!("{url:?} is not a registry address (like \"localhost:5000\")")))
    }
}

/// ECR: `{prefix}-{logical}`, or the prefix itself for an empty logical name.
pub fn ecr_routable_name(prefix: &str, logical: &str) -> Result<String> {
    validate_logical_name(logical)?;
    let name = if logical.is_empty() { prefix.to_owned() } else { format!("{prefix}-{logical}") };
    validate_ecr_repository_name(&name)?;
    Ok(name)
}

/// ECR: checks a routable name belongs to this binding (`prefix` or `prefix-...`).
pub fn ecr_check_routable(prefix: &str, name: &str) -> Result<()> {
    validate_ecr_repository_name(name)?;
    if name == prefix || name.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('-')) {
        Ok(())
    } else {
        Err(bad(format!(
            "repository {name:?} is outside this binding: its names are \"{prefix}\" or start with \"{prefix}-\" (pass the name create-repository returned)"
        )))
    }
}

/// GAR: `{projectId}/{repositoryName}/{logical}`.
pub fn gar_routable_name(project: &str, repository: &str, logical: &str) -> Result<String> {
    validate_logical_name(logical)?;
    if logical.is_empty() {
        return Err(bad("repository name must not be empty on Artifact Registry".into()));
    }
    validate_oci_repository(logical)?;
    Ok(format!("{project}/{repository}/{logical}"))
}

/// GAR: the image path inside the repository, from a routable name.
pub fn gar_parse_routable<'a>(project: &str, repository: &str, name: &'a str) -> Result<&'a str> {
    let rest = name
        .strip_prefix(project)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_prefix(repository))
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(|| {
            bad(format!("repository {name:?} is outside this binding: names start with \"{project}/{repository}/\""))
        })?;
    validate_oci_repository(rest)?;
    Ok(rest)
}

/// ACR: `{prefix}/{logical}`, or `{logical}` without a prefix.
pub fn acr_routable_name(prefix: Option<&str>, logical: &str) -> Result<String> {
    validate_logical_name(logical)?;
    let name = match (prefix, logical.is_empty()) {
        (Some(p), true) => p.to_owned(),
        (Some(p), false) => format!("{p}/{logical}"),
        (None, false) => logical.to_owned(),
        (None, true) => return Err(bad("repository name must not be empty when the binding has no prefix".into())),
    };
    validate_oci_repository(&name)?;
    Ok(name)
}

/// ACR: checks a routable name belongs to this binding.
pub fn acr_check_routable(prefix: Option<&str>, name: &str) -> Result<()> {
    validate_oci_repository(name)?;
    match prefix {
        Some(p) if name != p && !name.strip_prefix(p).is_some_and(|r| r.starts_with('/')) => {
            Err(bad(format!("repository {name:?} is outside this binding: names start with \"{p}/\"")))
        }
        _ => Ok(()),
    }
}

/// Local: `{binding name}/{logical}`.
pub fn local_routable_name(binding: &str, logical: &str) -> Result<String> {
    validate_logical_name(logical)?;
    if logical.is_empty() {
        return Err(bad("repository name must not be empty".into()));
    }
    let name = format!("{binding}/{logical}");
    validate_oci_repository(&name)?;
    Ok(name)
}

/// Local: checks a routable name belongs to this binding.
pub fn local_check_routable(binding: &str, name: &str) -> Result<()> {
    validate_oci_repository(name)?;
    if name.strip_prefix(binding).is_some_and(|r| r.starts_with('/')) {
        Ok(())
    } else {
        Err(bad(format!("repository {name:?} is outside this binding: names start with \"{binding}/\"")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_names() {
        assert_eq!(ecr_routable_name("acme", "my-app").unwrap(), "acme-my-app");
        assert_eq!(ecr_routable_name("acme", "").unwrap(), "acme");
        assert_eq!(ecr_routable_name("acme", "team/app").unwrap(), "acme-team/app");
        assert!(ecr_routable_name("acme", "My-App").is_err());
        assert!(ecr_routable_name("acme", "a--b").is_err());
        assert!(ecr_routable_name("acme", "-x").is_err());
        assert!(ecr_routable_name("acme", &"a".repeat(252)).is_err());
        assert!(ecr_check_routable("acme", "acme-my-app").is_ok());
        assert!(ecr_check_routable("acme", "acme").is_ok());
        assert!(ecr_check_routable("acme", "acmex").is_err());
        assert!(ecr_check_routable("acme", "other-app").is_err());
    }

    #[test]
    fn oci_names() {
        assert!(validate_oci_repository("artifacts/my-app").is_ok());
        assert!(validate_oci_repository("a__b/c---d/e.f").is_ok());
        assert!(validate_oci_repository("a___b").is_err());
        assert!(validate_oci_repository("a//b").is_err());
        assert!(validate_oci_repository("A/b").is_err());
        assert_eq!(local_routable_name("artifacts", "my-app").unwrap(), "artifacts/my-app");
        assert!(local_check_routable("artifacts", "other/my-app").is_err());
        assert_eq!(gar_routable_name("my-project", "repo", "app").unwrap(), "my-project/repo/app");
        assert_eq!(gar_parse_routable("my-project", "repo", "my-project/repo/app/x").unwrap(), "app/x");
        assert_eq!(acr_routable_name(Some("acme"), "app").unwrap(), "acme/app");
        assert_eq!(acr_routable_name(None, "app").unwrap(), "app");
    }

    #[test]
    fn aws_ids() {
        assert!(validate_account_id("123456789012").is_ok());
        assert!(validate_account_id("12345678901").is_err());
        assert!(validate_account_id("12345678901a").is_err());
        for r in ["us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-4"] {
            assert!(validate_region(r).is_ok(), "{r}");
        }
        for r in ["us_east_1", "useast1", "US-EAST-1", "us-east", "us-east-100", ""] {
            assert!(validate_region(r).is_err(), "{r}");
        }
        let aws = Partition::Aws;
        assert!(validate_role_arn("arn:aws:iam::123456789012:role/pull", aws).is_ok());
        assert!(validate_role_arn("arn:aws:iam::123456789012:role/path/to/pull", aws).is_ok());
        assert!(validate_role_arn("arn:aws-cn:iam::123456789012:role/pull", aws).is_err());
        assert!(validate_role_arn("arn:aws-cn:iam::123456789012:role/pull", Partition::AwsCn).is_ok());
        assert!(validate_role_arn("arn:aws:iam::123456789012:user/pull", aws).is_err());
        assert!(validate_role_arn("arn:aws:iam::12345678901:role/pull", aws).is_err());
        assert!(validate_role_arn("arn:aws:iam::123456789012:role/", aws).is_err());
        assert!(validate_role_arn("arn:aws:iam::123456789012:role/a b", aws).is_err());
    }

    #[test]
    fn urls() {
        assert!(validate_registry_url("localhost:5000").is_ok());
        assert!(validate_registry_url("http://127.0.0.1:5000").is_ok());
        assert!(validate_registry_url("localhost:99999").is_err());
        assert!(validate_registry_url("ftp://x").is_err());
        assert!(validate_endpoint_url("http://127.0.0.1:5000").is_ok());
        assert!(validate_endpoint_url("127.0.0.1:5000").is_err());
    }
}

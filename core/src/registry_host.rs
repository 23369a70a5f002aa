//! What a registry host name says about its provider, as a docker credential helper
//! needs to know: `123456789012.dkr.ecr.us-east-1.amazonaws.com` is ECR in that
//! account and region, `us-docker.pkg.dev` is Artifact Registry, `acme.azurecr.io`
//! is ACR, anything else a plain OCI registry.

/// A registry host, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryHost {
    /// AWS ECR.
    Ecr {
        /// The registry's 12-digit account.
        account: String,
        /// Its region.
        region: String,
        /// `aws`, `aws-cn` or `aws-us-gov`.
        partition: &'static str,
        /// A FIPS endpoint (`dkr.ecr-fips.`).
        fips: bool,
        /// A dual-stack endpoint (`dkr-ecr.{region}.on.aws`).
        dual_stack: bool,
    },
    /// Google Artifact Registry (`{location}-docker.pkg.dev`).
    Gar {
        /// The location (`us-central1`, or a multi-region `us`).
        location: String,
    },
    /// Azure Container Registry.
    Acr {
        /// The registry name.
        registry: String,
        /// `public`, `china` or `usgov`.
        cloud: &'static str,
    },
    /// Any other OCI registry.
    Other,
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_region(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// An ECR host, when the account and region are well formed.
fn ecr_host(account: &str, region: &str, china: bool, fips: bool, dual_stack: bool) -> Option<RegistryHost> {
    if !is_account(account) || !is_region(region) {
        return None;
    }
    let partition = if china {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    Some(RegistryHost::Ecr { account: account.to_owned(), region: region.to_owned(), partition, fips, dual_stack })
}

/// Classifies a host (`host` or `host:port`, any case; a scheme and path are ignored).
pub fn classify(host: &str) -> RegistryHost {
    let host = host.split_once("://").map_or(host, |(_, h)| h);
    let host = host.split('/').next().unwrap_or("").to_ascii_lowercase();
    let host =
        host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host.as_str(), |(h, _)| h);
    let labels: Vec<&str> = host.split('.').collect();
    // {account}.dkr.ecr[-fips].{region}.amazonaws.com[.cn]
    if let [account, "dkr", ecr @ ("ecr" | "ecr-fips"), region, "amazonaws", "com", rest @ ..] = labels.as_slice()
        && (rest.is_empty() || rest == ["cn"])
        && let Some(host) = ecr_host(account, region, !rest.is_empty(), *ecr == "ecr-fips", false)
    {
        return host;
    }
    // {account}.dkr-ecr[-fips].{region}.on.aws (dual-stack; on.amazonwebservices.com.cn in China)
    if let [account, ecr @ ("dkr-ecr" | "dkr-ecr-fips"), region, tail @ ..] = labels.as_slice()
        && (tail == ["on", "aws"] || tail == ["on", "amazonwebservices", "com", "cn"])
        && let Some(host) = ecr_host(account, region, tail.len() == 4, *ecr == "dkr-ecr-fips", true)
    {
        return host;
    }
    if let [first, "pkg", "dev"] = labels.as_slice()
        && let Some(location) = first.strip_suffix("-docker")
        && is_region(location)
    {
        return RegistryHost::Gar { location: location.to_owned() };
    }
    if let [registry, "azurecr", suffix] = labels.as_slice()
        && registry.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        let cloud = match *suffix {
            "io" => "public",
            "cn" => "china",
            "us" => "usgov",
            _ => return RegistryHost::Other,
        };
        return RegistryHost::Acr { registry: (*registry).to_owned(), cloud };
    }
    RegistryHost::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ecr(account: &str, region: &str, partition: &'static str, fips: bool, dual_stack: bool) -> RegistryHost {
        RegistryHost::Ecr { account: account.into(), region: region.into(), partition, fips, dual_stack }
    }

    #[test]
    fn every_form() {
        assert_eq!(
            classify("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            ecr("123456789012", "us-east-1", "aws", false, false)
        );
        assert_eq!(
            classify("https://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/v2/"),
            ecr("123456789012", "cn-north-1", "aws-cn", false, false)
        );
        assert_eq!(
            classify("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com"),
            ecr("123456789012", "us-gov-west-1", "aws-us-gov", true, false)
        );
        assert_eq!(
            classify("123456789012.dkr-ecr.eu-west-1.on.aws"),
            ecr("123456789012", "eu-west-1", "aws", false, true)
        );
        assert_eq!(
            classify("123456789012.dkr-ecr-fips.us-east-1.on.aws"),
            ecr("123456789012", "us-east-1", "aws", true, true)
        );
        assert_eq!(
            classify("123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn"),
            ecr("123456789012", "cn-north-1", "aws-cn", false, true)
        );
        assert_eq!(
            classify("123456789012.dkr.ecr.us-gov-east-1.amazonaws.com"),
            ecr("123456789012", "us-gov-east-1", "aws-us-gov", false, false)
        );
        // Pull-through cache repositories live on the registry's own host.
        assert_eq!(
            classify("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/ecr-public/library/nginx/manifests/1"),
            ecr("123456789012", "eu-west-1", "aws", false, false)
        );
        for location in ["us", "europe", "asia", "us-central1", "asia-northeast1"] {
            assert_eq!(
                classify(&format!("{location}-docker.pkg.dev")),
                RegistryHost::Gar { location: location.into() }
            );
        }
        assert_eq!(classify("us-docker.pkg.dev"), RegistryHost::Gar { location: "us".into() });
        assert_eq!(classify("europe-west4-docker.pkg.dev"), RegistryHost::Gar { location: "europe-west4".into() });
        assert_eq!(
            classify("AcmeRegistry.azurecr.io"),
            RegistryHost::Acr { registry: "acmeregistry".into(), cloud: "public" }
        );
        assert_eq!(classify("acme.azurecr.cn"), RegistryHost::Acr { registry: "acme".into(), cloud: "china" });
        assert_eq!(classify("acme.azurecr.us"), RegistryHost::Acr { registry: "acme".into(), cloud: "usgov" });
        assert_eq!(classify("127.0.0.1:5000"), RegistryHost::Other);
        assert_eq!(classify("12345.dkr.ecr.us-east-1.amazonaws.com"), RegistryHost::Other);
        assert_eq!(classify("docker.pkg.dev"), RegistryHost::Other);
        // Look-alikes and custom domains are plain registries (a custom domain maps to
        // its binding through the helper's configuration, not by its name).
        for other in [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
            "acme.azurecr.io.evil.example",
            "us-docker.pkg.dev.evil.example",
            "registry.internal.example:5000",
            "acme.azurecr.com",
        ] {
            assert_eq!(classify(other), RegistryHost::Other, "{other}");
        }
    }
}

//! AWS authentication and addressing: where and as whom to call AWS (partitions,
//! endpoints, base credentials), SigV4 signing and STS.

mod partition;
pub mod sigv4;
pub(crate) mod sts;

use std::sync::Arc;

pub use partition::Partition;
pub use sigv4::{AwsCredentials, Signer};

use crate::config::{AwsEndpoints, AwsPlatform};

/// Where and as whom to call AWS, from the `aws` configuration section.
#[derive(Debug)]
pub(crate) struct AwsContext {
    pub region: String,
    pub account_id: String,
    pub partition: Partition,
    pub credentials: AwsCredentials,
    endpoints: AwsEndpoints,
    use_fips: bool,
    pub signer: Arc<Signer>,
}

impl AwsContext {
    pub fn new(platform: &AwsPlatform) -> AwsContext {
        AwsContext {
            region: platform.region.clone(),
            account_id: platform.account_id.clone(),
            partition: Partition::of_region(&platform.region),
            credentials: platform.credentials.clone(),
            endpoints: platform.endpoints.clone(),
            use_fips: platform.use_fips,
            signer: Arc::new(Signer::new()),
        }
    }

    /// The ECR API base URL for a region.
    pub fn ecr_url(&self, region: &str) -> String {
        match &self.endpoints.ecr {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if self.use_fips => format!("https://ecr-fips.{region}.{}", Partition::of_region(region).domain()),
            None => format!("https://api.ecr.{region}.{}", Partition::of_region(region).domain()),
        }
    }

    /// The STS base URL (regional endpoints, which every partition has).
    pub fn sts_url(&self) -> String {
        match &self.endpoints.sts {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if self.use_fips => format!("https://sts-fips.{}.{}", self.region, self.partition.domain()),
            None => format!("https://sts.{}.{}", self.region, self.partition.domain()),
        }
    }

    /// The registry host images are pushed to and pulled from.
    pub fn registry_host(&self) -> String {
        let ecr = if self.use_fips { "ecr-fips" } else { "ecr" };
        format!("{}.dkr.{ecr}.{}.{}", self.account_id, self.region, self.partition.domain())
    }
}

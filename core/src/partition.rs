//! AWS partitions: a leaf module (no imports from the crate), so configuration and
//! naming can use it without depending on the rest of the AWS code.

/// An AWS partition: where a region lives, which decides ARNs and domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// Commercial regions.
    Aws,
    /// China regions (`cn-*`).
    AwsCn,
    /// GovCloud regions (`us-gov-*`).
    AwsUsGov,
}

impl Partition {
    /// The partition of a region name.
    pub fn of_region(region: &str) -> Partition {
        if region.starts_with("cn-") {
            Partition::AwsCn
        } else if region.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else {
            Partition::Aws
        }
    }

    /// The ARN partition name.
    pub fn name(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }

    /// The DNS suffix of its endpoints.
    pub fn domain(self) -> &'static str {
        match self {
            Partition::AwsCn => "amazonaws.com.cn",
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
        }
    }
}

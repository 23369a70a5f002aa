//! AWS plumbing shared by the ECR provider: partitions and endpoints, SigV4, STS,
//! and reading AWS error bodies (JSON `__type` and XML `<Error><Code>` forms).

pub mod sigv4;
pub(crate) mod sts;
pub(crate) mod xml;

use std::sync::Arc;

use serde_json::Value;

pub use sigv4::{AwsCredentials, Signer};

use crate::config::{AwsEndpoints, AwsPlatform};
use crate::error::{Error, ErrorCode, Result};
use crate::http::{HttpRequest, HttpResponse};
use crate::operation::Exchange;

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

    /// Calls an ECR JSON-protocol action (`AmazonEC2ContainerRegistry_V20150921.{action}`)
    /// in `region`, signed with `creds`, retrying transient failures. A non-2xx answer
    /// becomes a typed [`Error`] carrying AWS's error code.
    pub async fn ecr_call(
        &self,
        ex: &Exchange,
        creds: &AwsCredentials,
        region: &str,
        action: &str,
        body: Value,
    ) -> Result<Value> {
        self.ecr_call_counted(ex, creds, region, action, body).await?.0
    }

    /// [`AwsContext::ecr_call`], with the answer apart from transport failures and
    /// the number of attempts it took.
    pub async fn ecr_call_counted(
        &self,
        ex: &Exchange,
        creds: &AwsCredentials,
        region: &str,
        action: &str,
        body: Value,
    ) -> Result<(Result<Value>, u32)> {
        let url = format!("{}/", self.ecr_url(region));
        let payload = serde_json::to_vec(&body).map_err(|e| Error::provider(format!("cannot encode request: {e}")))?;
        let target = format!("AmazonEC2ContainerRegistry_V20150921.{action}");
        let answer = ex
            .call_counted(
                |now| {
                    let mut request = HttpRequest::new("POST", url.clone())
                        .header("Content-Type", "application/x-amz-json-1.1")
                        .header("X-Amz-Target", target.clone())
                        .body(payload.clone());
                    self.signer.sign(&mut request, creds, sigv4::Scope { region, service: "ecr", time: now })?;
                    Ok(request)
                },
                is_throttled,
            )
            .await?;
        let response = answer.response;
        let value = if !response.is_success() {
            Err(error_from_response(&response, &format!("ECR {action}")))
        } else if response.body.is_empty() {
            Ok(Value::Object(Default::default()))
        } else {
            serde_json::from_slice(&response.body).map_err(|e| {
                Error::provider(format!("ECR {action} answered with a body that is not JSON ({e})"))
                    .with_http_status(response.status)
            })
        };
        Ok((value, answer.attempts))
    }
}

/// The error code and message of an AWS error body, JSON (`__type`, `message`) or
/// XML (`<Error><Code>`, `<Message>`), plus the `x-amzn-ErrorType` header.
pub(crate) fn parse_error(response: &HttpResponse) -> (Option<String>, Option<String>) {
    let text = response.text();
    let trimmed = text.trim_start();
    let (mut code, mut message) = (None, None);
    if trimmed.starts_with('{') {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed) {
            code = map.get("__type").or_else(|| map.get("code")).and_then(Value::as_str).map(str::to_owned);
            message = map.get("message").or_else(|| map.get("Message")).and_then(Value::as_str).map(str::to_owned);
        }
    } else if trimmed.starts_with('<') {
        code = xml::first(trimmed, "Code");
        message = xml::first(trimmed, "Message");
    }
    if code.is_none() {
        code = response.header_value("x-amzn-ErrorType").map(str::to_owned);
    }
    // `com.amazonaws.ecr#RepositoryNotFoundException`, `Name:http://...` -> the name.
    let code = code.map(|c| {
        let c = c.rsplit('#').next().unwrap_or(&c);
        c.split(':').next().unwrap_or(c).to_owned()
    });
    (code, message)
}

/// Whether an AWS error body is a throttling error (retried like a 429).
pub(crate) fn is_throttled(response: &HttpResponse) -> bool {
    parse_error(response).0.as_deref().is_some_and(is_throttled_code)
}

/// Maps an AWS error answer to a typed error.
pub(crate) fn error_from_response(response: &HttpResponse, what: &str) -> Error {
    let (code, message) = parse_error(response);
    let message = message.unwrap_or_else(|| response.text().chars().take(300).collect());
    let message = message.trim().trim_end_matches('.');
    let kind = match (code.as_deref(), response.status) {
        (
            Some(
                "RepositoryNotFoundException"
                | "RepositoryPolicyNotFoundException"
                | "NoSuchEntity"
                | "ImageNotFoundException",
            ),
            _,
        ) => ErrorCode::NotFound,
        (Some("RepositoryAlreadyExistsException" | "EntityAlreadyExists"), _) => ErrorCode::AlreadyExists,
        (
            Some(
                "AccessDenied"
                | "AccessDeniedException"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "IncompleteSignature"
                | "MissingAuthenticationToken"
                | "InvalidSignatureException",
            ),
            _,
        ) => ErrorCode::AccessDenied,
        (Some(c), _) if is_throttled_code(c) => ErrorCode::Throttled,
        (Some("RepositoryNotEmptyException" | "ConcurrentModificationException"), _) => ErrorCode::Conflict,
        (
            Some("InvalidParameterException" | "ValidationException" | "ValidationError" | "InvalidParameterValue"),
            _,
        ) => ErrorCode::InvalidInput,
        (_, 429) => ErrorCode::Throttled,
        (_, 401 | 403) => ErrorCode::AccessDenied,
        (_, 404) => ErrorCode::NotFound,
        _ => ErrorCode::Provider,
    };
    let advice = match kind {
        ErrorCode::AccessDenied => " Check the AWS credentials and that their policy allows this action.",
        ErrorCode::Throttled => " AWS throttled the calls; retries did not get through. Try again later.",
        _ => "",
    };
    let mut error = Error::new(kind, format!("{what} failed: {message}.{advice}")).with_http_status(response.status);
    if let Some(code) = code {
        error = error.with_provider_code(code);
    }
    error
}

fn is_throttled_code(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "SlowDown"
    )
}

//! Calling ECR's JSON protocol (`AmazonEC2ContainerRegistry_V20150921.{action}`),
//! signed with SigV4 and retried by the operation engine.

use serde_json::Value;

use crate::auth::aws::{AwsContext, AwsCredentials, sigv4};
use crate::engine::http::{HttpRequest, HttpResponse};
use crate::engine::operation::Exchange;
use crate::error::{Error, Result};
use crate::protocol::aws::{error_from_response, is_throttled};

impl AwsContext {
    /// Calls an ECR JSON-protocol action (`AmazonEC2ContainerRegistry_V20150921.{action}`)
    /// in `region`, signed with `creds`, retrying transient failures, and returns its
    /// JSON object. A non-2xx answer becomes a typed [`Error`] carrying AWS's error
    /// code; a 2xx whose body is empty or not a JSON object is a `provider` error
    /// (every ECR action answers with an object, so an empty one is a spoiled answer,
    /// never "nothing there").
    pub async fn ecr_call(
        &self,
        ex: &Exchange,
        creds: &AwsCredentials,
        region: &str,
        action: &str,
        body: Value,
    ) -> Result<Value> {
        let response = self.ecr_call_counted(ex, creds, region, action, body).await?.0?;
        if response.body.is_empty() {
            return Err(Error::provider(format!(
                "ECR {action} in {region} answered {} with an empty body",
                response.status
            ))
            .with_http_status(response.status));
        }
        match serde_json::from_slice(&response.body) {
            Ok(object @ Value::Object(_)) => Ok(object),
            Ok(_) => Err(Error::provider(format!("ECR {action} in {region} answered with JSON that is not an object"))
                .with_http_status(response.status)),
            Err(e) => Err(Error::provider(format!("ECR {action} answered with a body that is not JSON ({e})"))
                .with_http_status(response.status)),
        }
    }

    /// [`AwsContext::ecr_call`] for a caller that needs no body (a 2xx is the answer),
    /// with the answer apart from transport failures and the number of attempts it
    /// took.
    pub async fn ecr_call_counted(
        &self,
        ex: &Exchange,
        creds: &AwsCredentials,
        region: &str,
        action: &str,
        body: Value,
    ) -> Result<(Result<HttpResponse>, u32)> {
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
        let outcome = if response.is_success() {
            Ok(response)
        } else {
            Err(error_from_response(&response, &format!("ECR {action}")))
        };
        Ok((outcome, answer.attempts))
    }
}

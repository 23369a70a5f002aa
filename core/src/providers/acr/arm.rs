//! TTL-exact, docker-login compatible ACR credentials (`scopeMapTokens`): through
//! Azure Resource Manager, a scope map that allows one repository
//! (`content/read` + `metadata/read`, and `content/write` for push), a token bound to
//! it, and `generateCredentials` with `expiry` = now + TTL, polled to its end.
//!
//! The scope map and token are named after the repository and permission
//! (`ar-{pull|push}-{sha256(name)[..16]}`) and reused; only a password is generated
//! per call. A token has two password slots: the one that expires first (or an empty
//! one) is regenerated, so the credentials handed out by the previous call keep
//! working until they expire.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::engine::http::{HttpRequest, HttpResponse};
use crate::engine::operation::Exchange;
use crate::engine::time::Timestamp;
use crate::error::{Error, Result};
use crate::protocol::azure as wire;
use crate::secret::Secret;
use crate::types::{AuthMethod, Credentials, Permissions};

/// The ARM API version (azure-mgmt-containerregistry 15's).
const API_VERSION: &str = "2025-11-01";
/// Polls of a long-running ARM operation before giving up.
const POLLS: u32 = 60;

#[derive(Debug)]
pub(super) struct Arm {
    /// ARM's base URL.
    pub(super) base: String,
    scope: &'static str,
    /// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{r}`
    pub(super) registry_id: String,
    /// The subscription, for role definition ids.
    pub(super) subscription: String,
    /// Tokens a call of this client is generating a password for.
    busy: TokenLocks,
}

/// One password generation at a time per token, across a client's operations. Two
/// calls that read the token together would pick the same password slot, and the
/// second would replace the password the first is about to hand out. (Across
/// processes nothing serialises them: see the ACR page of the docs.)
#[derive(Debug, Default)]
struct TokenLocks(std::sync::Mutex<std::collections::HashSet<String>>);

/// Held while a call works on one token; released when dropped (also when the
/// operation is dropped mid-way).
struct TokenLock<'a> {
    locks: &'a TokenLocks,
    token: String,
}

impl Drop for TokenLock<'_> {
    fn drop(&mut self) {
        self.locks.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.token);
    }
}

impl TokenLocks {
    /// Waits (short `Sleep` steps, within the operation's deadline) for `token`.
    async fn lock(&self, ex: &Exchange, token: &str) -> Result<TokenLock<'_>> {
        loop {
            if self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(token.to_owned()) {
                return Ok(TokenLock { locks: self, token: token.to_owned() });
            }
            if ex.remaining().is_zero() {
                return Err(Error::new(
                    crate::ErrorCode::Timeout,
                    format!("another call of this client kept generating a password for the token {token}"),
                ));
            }
            ex.sleep(LOCK_WAIT_STEP).await;
        }
    }
}

/// How long a call waits between looks at a token another call is working on.
const LOCK_WAIT_STEP: Duration = Duration::from_millis(50);

impl Arm {
    pub(super) fn new(base: &str, scope: &'static str, subscription: &str, group: &str, registry: &str) -> Arm {
        Arm {
            base: base.to_owned(),
            scope,
            registry_id: format!(
                "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.ContainerRegistry/registries/{registry}"
            ),
            subscription: subscription.to_owned(),
            busy: TokenLocks::default(),
        }
    }

    /// The Azure AD scope of ARM tokens.
    pub(super) fn scope(&self) -> &'static str {
        self.scope
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{}{path}?api-version={API_VERSION}", self.base, self.registry_id)
    }

    pub(super) async fn send(
        &self,
        ex: &Exchange,
        method: &str,
        url: &str,
        token: &Secret,
        body: Option<&Value>,
    ) -> Result<HttpResponse> {
        let payload = body.map(Value::to_string);
        ex.call(
            |_| {
                let mut r = HttpRequest::new(method, url).header("Authorization", format!("Bearer {}", token.expose()));
                if let Some(p) = &payload {
                    r = r.header("Content-Type", "application/json").body(p.clone());
                }
                Ok(r)
            },
            wire::is_throttled,
        )
        .await
    }

    /// Follows ARM's answer to a `method` on `url` to its final resource, by ARM's
    /// rules (what azure-core's `ARMPolling` does):
    /// - no `Azure-AsyncOperation` and not 202: the answer is final;
    /// - `Azure-AsyncOperation`: poll it until `status` is `Succeeded`, then the result
    ///   is at the status's `resourceLocation`, else for PUT and PATCH at `url`, for a
    ///   POST at the first answer's `Location` (or, without one, the status itself),
    ///   and a DELETE has none;
    /// - else `Location`: poll it while it answers 202; its last answer is the result.
    async fn wait(
        &self,
        ex: &Exchange,
        token: &Secret,
        method: &str,
        url: &str,
        response: HttpResponse,
        what: &str,
    ) -> Result<Value> {
        if !response.is_success() {
            return Err(wire::error_from_response(&response, what));
        }
        let async_op = response.header_value("Azure-AsyncOperation").map(str::to_owned);
        let mut location = response.header_value("Location").map(str::to_owned);
        if async_op.is_none() && response.status != 202 {
            return parse(&response, what);
        }
        let mut previous = response;
        for _ in 0..POLLS {
            ex.sleep(retry_after(&previous)).await;
            if let Some(status_url) = &async_op {
                let answer = self.send(ex, "GET", status_url, token, None).await?;
                let status = parse(&answer, what)?;
                match status["status"].as_str() {
                    Some("Succeeded") => {
                        let final_url = match status["resourceLocation"].as_str() {
                            Some(resource) => Some(resource.to_owned()),
                            None if matches!(method, "PUT" | "PATCH") => Some(url.to_owned()),
                            None if method == "POST" => location.clone(),
                            None => return Ok(Value::Null),
                        };
                        let Some(final_url) = final_url else { return Ok(status) };
                        let result = self.send(ex, "GET", &final_url, token, None).await?;
                        return parse(&result, what);
                    }
                    Some("Failed" | "Canceled") => {
                        let message = status["error"]["message"].as_str().unwrap_or("no message");
                        return Err(Error::provider(format!("{what} failed: {message}")));
                    }
                    _ => previous = answer,
                }
            } else if let Some(poll_url) = &location {
                let answer = self.send(ex, "GET", poll_url, token, None).await?;
                if answer.status != 202 {
                    return parse(&answer, what);
                }
                if let Some(next) = answer.header_value("Location") {
                    location = Some(next.to_owned());
                }
                previous = answer;
            } else {
                return Err(Error::provider(format!(
                    "{what}: ARM answered 202 without a Location or Azure-AsyncOperation"
                )));
            }
        }
        Err(Error::new(crate::ErrorCode::Timeout, format!("{what}: the operation did not finish after {POLLS} polls")))
    }

    /// Makes the resource at `path` have `properties` unless its current properties
    /// satisfy `keep` (`Ok(true)`); `keep` may also refuse to touch it (`Err`).
    async fn ensure(
        &self,
        ex: &Exchange,
        token: &Secret,
        path: &str,
        properties: Value,
        keep: impl Fn(&Value) -> Result<bool>,
    ) -> Result<Value> {
        let url = self.url(path);
        let what = format!("reading {path}");
        let current = self.send(ex, "GET", &url, token, None).await?;
        match current.status {
            200 => {
                let resource = parse(&current, &what)?;
                // An empty or partial answer is not "absent": rewriting the resource
                // from it could undo an administrator's change.
                if !resource["properties"].is_object() {
                    return Err(Error::provider(format!(
                        "{what}: ARM answered 200 without the resource's properties; nothing was written"
                    )));
                }
                if keep(&resource["properties"])? {
                    return Ok(resource);
                }
            }
            404 => {}
            _ => return Err(wire::error_from_response(&current, &what)),
        }
        let what = format!("writing {path}");
        let answer = self.send(ex, "PUT", &url, token, Some(&json!({ "properties": properties }))).await?;
        self.wait(ex, token, "PUT", &url, answer, &what).await
    }

    pub(super) async fn credentials(
        &self,
        ex: &Exchange,
        aad: &Secret,
        name: &str,
        permissions: Permissions,
        ttl: u64,
    ) -> Result<Credentials> {
        let kind = match permissions {
            Permissions::Pull => "pull",
            Permissions::PushPull => "push",
        };
        let hash: String = Sha256::digest(name.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
        let resource = format!("ar-{kind}-{hash}");
        let mut actions =
            vec![format!("repositories/{name}/content/read"), format!("repositories/{name}/metadata/read")];
        if permissions == Permissions::PushPull {
            actions.push(format!("repositories/{name}/content/write"));
        }
        let wanted: Vec<Value> = actions.iter().map(|a| Value::from(a.as_str())).collect();
        let same_actions = |p: &Value| {
            let mut have: Vec<&str> = p["actions"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let mut want: Vec<&str> = actions.iter().map(String::as_str).collect();
            have.sort();
            want.sort();
            Ok(have == want)
        };
        // From the token's read to its new password, no other call of this client
        // touches it (the scope map and token are named after the resource).
        let _held = self.busy.lock(ex, &resource).await?;
        let scope_map = format!("/scopeMaps/{resource}");
        self.ensure(
            ex,
            aad,
            &scope_map,
            json!({ "description": format!("artifact-registry: {kind} on {name}"), "actions": wanted }),
            same_actions,
        )
        .await?;

        let scope_map_id = format!("{}{scope_map}", self.registry_id);
        let token_path = format!("/tokens/{resource}");
        let bound = |p: &Value| {
            // An administrator disables a token to revoke its passwords: enabling it
            // again would revive every unexpired one.
            if p["status"] == "disabled" {
                return Err(Error::new(
                    crate::ErrorCode::Conflict,
                    format!(
                        "the ACR token {resource} is disabled (an administrator revoked its passwords), so no credentials are generated with it; delete the token (and its scope map {resource}) to have new ones made, or enable it again if it was disabled by mistake"
                    ),
                ));
            }
            Ok(p["status"] == "enabled"
                && p["scopeMapId"].as_str().is_some_and(|id| id.eq_ignore_ascii_case(&scope_map_id)))
        };
        let token = self
            .ensure(ex, aad, &token_path, json!({ "scopeMapId": scope_map_id, "status": "enabled" }), bound)
            .await?;
        let slot = password_slot(&token["properties"]["credentials"]["passwords"]);

        let expiry = ex.now().plus(Duration::from_secs(ttl));
        let body = json!({
            "tokenId": format!("{}{token_path}", self.registry_id),
            "expiry": expiry.to_rfc3339(),
            "name": slot,
        });
        let what = format!("generating a password for the token {resource}");
        let url = self.url("/generateCredentials");
        let answer = self.send(ex, "POST", &url, aad, Some(&body)).await?;
        let result = self.wait(ex, aad, "POST", &url, answer, &what).await?;
        let username = result["username"]
            .as_str()
            .ok_or_else(|| Error::provider(format!("{what}: the answer has no username")))?;
        let passwords = result["passwords"].as_array().cloned().unwrap_or_default();
        let password = passwords
            .iter()
            .find(|p| p["name"] == slot)
            .or(passwords.first())
            .ok_or_else(|| Error::provider(format!("{what}: the answer has no password")))?;
        let value = password["value"]
            .as_str()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::provider(format!("{what}: the answer has no password value")))?;
        ex.add_secret(value);
        let expires_at = password["expiry"].as_str().and_then(Timestamp::parse_rfc3339).unwrap_or(expiry);
        Ok(Credentials {
            auth_method: AuthMethod::Basic,
            username: username.to_owned(),
            password: Secret::new(value),
            expires_at: Some(expires_at.to_rfc3339()),
        })
    }
}

/// The password slot to regenerate: an unused one, else the one that expires first.
fn password_slot(passwords: &Value) -> &'static str {
    let expiry =
        |slot: &str| {
            passwords.as_array().into_iter().flatten().find(|p| p["name"] == slot).map(|p| {
                p["expiry"].as_str().and_then(Timestamp::parse_rfc3339).unwrap_or(Timestamp::from_unix(i64::MAX))
            })
        };
    match (expiry("password1"), expiry("password2")) {
        (None, _) => "password1",
        (_, None) => "password2",
        (Some(a), Some(b)) if b < a => "password2",
        _ => "password1",
    }
}

/// How long ARM asks to wait before the next poll (`Retry-After`, at most 30 s).
fn retry_after(response: &HttpResponse) -> Duration {
    response
        .header_value("Retry-After")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), |s| Duration::from_secs(s.min(30)))
}

pub(super) fn parse(response: &HttpResponse, what: &str) -> Result<Value> {
    if !response.is_success() {
        return Err(wire::error_from_response(response, what));
    }
    if response.body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&response.body)
        .map_err(|_| Error::provider(format!("{what}: ARM answered with a body that is not JSON")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_that_expires_first_is_regenerated() {
        assert_eq!(password_slot(&Value::Null), "password1");
        assert_eq!(password_slot(&json!([{ "name": "password1", "expiry": "2026-11-28T08:00:00Z" }])), "password2");
        let both = json!([{ "name": "password1", "expiry": "2026-11-28T09:00:00Z" }, { "name": "password2", "expiry": "2026-11-28T08:00:00Z" }]);
        assert_eq!(password_slot(&both), "password2");
    }
}

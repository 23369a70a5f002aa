//! The ACR contract server (`tests/servers/acr_server.py`).

use std::ops::Deref;

use serde_json::{Value, json};

use crate::contract_server::ContractServer;
use crate::plain_http::request;

/// A running ACR contract server (`ready` has its tenant, subscription, client and
/// registry).
pub struct AcrServer(ContractServer);

impl Deref for AcrServer {
    type Target = ContractServer;
    fn deref(&self) -> &ContractServer {
        &self.0
    }
}

impl AcrServer {
    /// Starts the server.
    pub fn start() -> AcrServer {
        AcrServer(ContractServer::start("acr_server.py"))
    }

    /// An ACR configuration pointing Azure AD, ARM and the registry at this server,
    /// with the prefix `team-a`.
    pub fn config(&self, extra_binding: Value) -> Value {
        let r = &self.ready;
        let mut binding = json!({ "service": "acr", "registryName": r["registryName"], "resourceGroupName": r["resourceGroup"], "repositoryPrefix": "team-a" });
        if let (Value::Object(b), Value::Object(extra)) = (&mut binding, extra_binding) {
            b.extend(extra);
        }
        json!({
            "name": "artifacts",
            "binding": binding,
            "azure": {
                "tenantId": r["tenantId"],
                "subscriptionId": r["subscriptionId"],
                "credentials": { "clientId": r["clientId"], "clientSecret": r["clientSecret"] },
                "endpoints": { "activeDirectory": self.endpoint, "resourceManager": self.endpoint, "containerRegistry": self.endpoint }
            }
        })
    }

    /// This configuration with another registered application as its identity (the
    /// suite's canary is every application's secret), as a grantee configures it.
    pub fn config_as(&self, client_id: &str) -> Value {
        let mut config = self.config(json!({}));
        config["azure"]["credentials"]["clientId"] = json!(client_id);
        config
    }

    /// The registry's ARM resource id.
    pub fn registry_id(&self) -> String {
        let r = &self.ready;
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerRegistry/registries/{}",
            r["subscriptionId"].as_str().unwrap(),
            r["resourceGroup"].as_str().unwrap(),
            r["registryName"].as_str().unwrap()
        )
    }

    /// The id of a built-in role definition in the server's subscription.
    pub fn role_definition(&self, role: &str) -> String {
        let subscription = self.ready["subscriptionId"].as_str().unwrap();
        format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}")
    }

    /// Writes a role assignment at the registry's scope through the server's ARM, as
    /// the registered client (the way someone else makes their own grants), and returns
    /// the HTTP status.
    pub fn put_role_assignment(&self, name: &str, properties: Value) -> u16 {
        let r = &self.ready;
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
            r["clientId"].as_str().unwrap(),
            r["clientSecret"].as_str().unwrap()
        );
        let url = format!("{}/{}/oauth2/v2.0/token", self.endpoint, r["tenantId"].as_str().unwrap());
        let answer = request("POST", &url, &[("Content-Type", "application/x-www-form-urlencoded")], form.as_bytes());
        let token: Value = serde_json::from_slice(&answer.body).unwrap();
        let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
        let url = format!(
            "{}{}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01",
            self.endpoint,
            self.registry_id()
        );
        let body = json!({ "properties": properties }).to_string();
        request("PUT", &url, &[("Authorization", &bearer), ("Content-Type", "application/json")], body.as_bytes())
            .status
    }
}

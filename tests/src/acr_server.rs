//! The ACR contract server (`tests/servers/acr_server.py`).

use std::ops::Deref;

use serde_json::{Value, json};

use crate::contract_server::ContractServer;

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
}

//! The GAR contract server (`tests/servers/gar_server.py`).

use std::ops::Deref;

use serde_json::{Value, json};

use crate::contract_server::ContractServer;

/// A running GAR contract server; `key` is the service-account key it trusts
/// (`deployer@acme-p1...`, `token_uri` on this server).
pub struct GarServer {
    server: ContractServer,
    /// The service-account key.
    pub key: Value,
}

impl Deref for GarServer {
    type Target = ContractServer;
    fn deref(&self) -> &ContractServer {
        &self.server
    }
}

impl GarServer {
    /// Starts the server.
    pub fn start() -> GarServer {
        let server = ContractServer::start("gar_server.py");
        GarServer { key: server.ready["serviceAccountKey"].clone(), server }
    }

    /// A GAR configuration pointing every Google endpoint at this server.
    pub fn config(&self, repository: &str, extra_binding: Value) -> Value {
        let mut binding = json!({ "service": "gar", "repositoryName": repository });
        if let (Value::Object(b), Value::Object(extra)) = (&mut binding, extra_binding) {
            b.extend(extra);
        }
        json!({
            "name": "artifacts",
            "binding": binding,
            "gcp": {
                "projectId": self.ready["projectId"],
                "region": self.ready["location"],
                "credentials": self.key,
                "endpoints": { "artifactRegistry": self.endpoint, "iamCredentials": self.endpoint, "oauth2": format!("{}/token", self.endpoint) }
            }
        })
    }
}

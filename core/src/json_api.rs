//! The contract at the JSON level: operations by their names in the contract
//! (`create-repository`, ...), arguments and results in their JSON forms. For
//! surfaces whose natural currency is JSON (Node), and for scenario vectors.
//!
//! Arguments: `name` (logical name for create; the Secret's name for
//! `image-pull-secret`), `repository` (routable name), `access` (CrossAccountAccess),
//! `permissions` (`"pull"` / `"push-pull"`), `namespace`, `ttlSeconds`. Results: the JSON forms of the spec; `null` for operations without
//! one. Errors: [`error_json`].

use serde_json::{Value, json};

use crate::client::Client;
use crate::engine::operation::Operation;
use crate::error::{Error, Result};
use crate::types::{CrossAccountAccess, Permissions};

fn string_arg<'a>(args: &'a Value, key: &str) -> Result<&'a str> {
    match &args[key] {
        Value::String(s) => Ok(s),
        Value::Null => Err(Error::invalid_input(format!("argument `{key}` is missing"))),
        _ => Err(Error::invalid_input(format!("argument `{key}` must be a string"))),
    }
}

fn to_json<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl Client {
    /// The operation `name` with JSON `args`, its result as JSON. A bad name or
    /// argument is an `invalid-input` operation that sends nothing.
    pub fn json_operation(&self, name: &str, args: &Value) -> Operation<Value> {
        match self.try_json_operation(name, args) {
            Ok(op) => op,
            Err(e) => Operation::ready(Err(e)),
        }
    }

    fn try_json_operation(&self, name: &str, args: &Value) -> Result<Operation<Value>> {
        let repository = || string_arg(args, "repository");
        Ok(match name {
            "create-repository" => self.create_repository(string_arg(args, "name")?).map(to_json),
            "get-repository" => self.get_repository(repository()?).map(to_json),
            "delete-repository" => self.delete_repository(repository()?).map(|()| Value::Null),
            "add-cross-account-access" => self
                .add_cross_account_access(repository()?, &CrossAccountAccess::from_json(&args["access"])?)
                .map(|()| Value::Null),
            "remove-cross-account-access" => self
                .remove_cross_account_access(repository()?, &CrossAccountAccess::from_json(&args["access"])?)
                .map(|()| Value::Null),
            "get-cross-account-access" => self.get_cross_account_access(repository()?).map(to_json),
            "generate-credentials" => {
                let permissions = Permissions::parse(string_arg(args, "permissions")?)?;
                self.generate_credentials(repository()?, permissions, ttl_arg(args)?).map(to_json)
            }
            "image-pull-secret" => {
                let namespace = match &args["namespace"] {
                    Value::Null => None,
                    v => Some(v.as_str().ok_or_else(|| Error::invalid_input("`namespace` must be a string"))?),
                };
                self.image_pull_secret(repository()?, string_arg(args, "name")?, namespace, ttl_arg(args)?)
            }
            "describe-credentials" => self.describe_credentials(),
            "registry-endpoint" => Operation::ready(Ok(json!(self.registry_endpoint()))),
            "upstream-repository-prefix" => Operation::ready(Ok(json!(self.upstream_repository_prefix()))),
            other => return Err(Error::invalid_input(format!("unknown operation {other:?}"))),
        })
    }
}

/// `ttlSeconds`, absent or a whole number.
fn ttl_arg(args: &Value) -> Result<Option<u64>> {
    match &args["ttlSeconds"] {
        Value::Null => Ok(None),
        v => v.as_u64().map(Some).ok_or_else(|| Error::invalid_input("`ttlSeconds` must be a whole number of seconds")),
    }
}

/// An error's JSON form: `{"code", "message", "httpStatus", "providerCode"}`.
pub fn error_json(e: &Error) -> Value {
    json!({ "code": e.code().as_str(), "message": e.message(), "httpStatus": e.http_status(), "providerCode": e.provider_code() })
}

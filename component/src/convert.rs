//! Core types <-> WIT types. Plain field-by-field mapping, nothing else.

use artifact_registry_core as core;

use crate::artifact_registry::bindings::types as wit;

pub fn error(e: core::Error) -> wit::Error {
    let code = match e.code() {
        core::ErrorCode::InvalidInput => wit::ErrorCode::InvalidInput,
        core::ErrorCode::NotFound => wit::ErrorCode::NotFound,
        core::ErrorCode::AlreadyExists => wit::ErrorCode::AlreadyExists,
        core::ErrorCode::AccessDenied => wit::ErrorCode::AccessDenied,
        core::ErrorCode::NotSupported => wit::ErrorCode::NotSupported,
        core::ErrorCode::Conflict => wit::ErrorCode::Conflict,
        core::ErrorCode::Throttled => wit::ErrorCode::Throttled,
        core::ErrorCode::Timeout => wit::ErrorCode::Timeout,
        core::ErrorCode::Transport => wit::ErrorCode::Transport,
        core::ErrorCode::Provider => wit::ErrorCode::Provider,
    };
    wit::Error {
        code,
        message: e.message().to_owned(),
        http_status: e.http_status(),
        provider_code: e.provider_code().map(str::to_owned),
    }
}

pub fn repository(r: core::Repository) -> wit::Repository {
    wit::Repository { name: r.name, uri: r.uri, created_at: r.created_at }
}

pub fn credentials(c: core::Credentials) -> wit::Credentials {
    wit::Credentials {
        auth_method: match c.auth_method {
            core::AuthMethod::Basic => wit::AuthMethod::Basic,
            core::AuthMethod::Bearer => wit::AuthMethod::Bearer,
        },
        username: c.username,
        password: c.password.expose().to_owned(),
        expires_at: c.expires_at,
    }
}

pub fn permissions_in(p: wit::Permissions) -> core::Permissions {
    match p {
        wit::Permissions::Pull => core::Permissions::Pull,
        wit::Permissions::PushPull => core::Permissions::PushPull,
    }
}

fn service_types_in(types: Vec<wit::ServiceType>) -> Vec<core::ServiceType> {
    types
        .into_iter()
        .map(|t| match t {
            wit::ServiceType::Worker => core::ServiceType::Worker,
        })
        .collect()
}

fn service_types_out(types: Vec<core::ServiceType>) -> Vec<wit::ServiceType> {
    types
        .into_iter()
        .map(|t| match t {
            core::ServiceType::Worker => wit::ServiceType::Worker,
        })
        .collect()
}

pub fn access_in(a: wit::CrossAccountAccess) -> core::CrossAccountAccess {
    match a {
        wit::CrossAccountAccess::Aws(a) => core::CrossAccountAccess::Aws(core::AwsAccess {
            account_ids: a.account_ids,
            regions: a.regions,
            allowed_service_types: service_types_in(a.allowed_service_types),
            role_arns: a.role_arns,
        }),
        wit::CrossAccountAccess::Gcp(g) => core::CrossAccountAccess::Gcp(core::GcpAccess {
            project_numbers: g.project_numbers,
            allowed_service_types: service_types_in(g.allowed_service_types),
            service_account_emails: g.service_account_emails,
        }),
        wit::CrossAccountAccess::Azure(z) => core::CrossAccountAccess::Azure(core::AzureAccess {
            principal_ids: z.principal_ids,
            allowed_service_types: service_types_in(z.allowed_service_types),
        }),
    }
}

pub fn permissions_out(p: core::CrossAccountPermissions) -> wit::CrossAccountPermissions {
    let access = match p.access {
        core::CrossAccountAccess::Aws(a) => wit::CrossAccountAccess::Aws(wit::AwsAccess {
            account_ids: a.account_ids,
            regions: a.regions,
            allowed_service_types: service_types_out(a.allowed_service_types),
            role_arns: a.role_arns,
        }),
        core::CrossAccountAccess::Gcp(g) => wit::CrossAccountAccess::Gcp(wit::GcpAccess {
            project_numbers: g.project_numbers,
            allowed_service_types: service_types_out(g.allowed_service_types),
            service_account_emails: g.service_account_emails,
        }),
        core::CrossAccountAccess::Azure(z) => wit::CrossAccountAccess::Azure(wit::AzureAccess {
            principal_ids: z.principal_ids,
            allowed_service_types: service_types_out(z.allowed_service_types),
        }),
    };
    wit::CrossAccountPermissions { access, last_updated: p.last_updated }
}

/// The core's description of a binding's credentials (JSON) as the WIT record.
pub fn credential_source(v: &serde_json::Value) -> wit::CredentialSource {
    let text = |k: &str| v[k].as_str().map(str::to_owned);
    wit::CredentialSource {
        source: text("source").unwrap_or_default(),
        method: text("method").unwrap_or_default(),
        principal: text("principal"),
        account: text("account"),
        arn: text("arn"),
        expires_at: text("expiresAt"),
    }
}

//! Python <-> core conversions: JSON values, request and response dicts, errors,
//! and the result classes (typed, snake_case, with `to_dict()`).

use artifact_registry_core as core;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::Value;

/// A JSON value as the matching Python object.
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into_pyobject(py)?.into_any(),
            None => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            PyList::new(py, items.iter().map(|i| to_py(py, i)).collect::<PyResult<Vec<_>>>()?)?.into_any()
        }
        Value::Object(map) => {
            let d = PyDict::new(py);
            for (k, v) in map {
                d.set_item(k, to_py(py, v)?)?;
            }
            d.into_any()
        }
    })
}

/// A Python object (dict, list, str, number, bool, None) as JSON text.
pub fn json_text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    let json = obj.py().import("json")?;
    json.call_method1("dumps", (obj,))?.extract()
}

/// Raises the exception class of the error's code, from `artifact_registry._errors`.
pub fn error(py: Python<'_>, e: core::Error) -> PyErr {
    let class = match e.code() {
        core::ErrorCode::InvalidInput => "InvalidInputError",
        core::ErrorCode::NotFound => "NotFoundError",
        core::ErrorCode::AlreadyExists => "AlreadyExistsError",
        core::ErrorCode::AccessDenied => "AccessDeniedError",
        core::ErrorCode::NotSupported => "NotSupportedError",
        core::ErrorCode::Conflict => "ConflictError",
        core::ErrorCode::Throttled => "ThrottledError",
        core::ErrorCode::Timeout => "RegistryTimeoutError",
        core::ErrorCode::Transport => "TransportError",
        core::ErrorCode::Provider => "ProviderError",
    };
    let made = py
        .import("artifact_registry._errors")
        .and_then(|m| m.getattr(class))
        .and_then(|cls| cls.call1((e.message(), e.code().as_str(), e.http_status(), e.provider_code())));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(import_failed) => import_failed,
    }
}

/// An `invalid-input` error for input Python could not even express as JSON.
pub fn invalid(py: Python<'_>, what: &str, cause: PyErr) -> PyErr {
    error(py, core::Error::invalid_input(format!("{what}: {cause}")))
}

/// `ttl_seconds` as the core takes it: `None`, or a whole number of seconds. A negative
/// or oversized int is `InvalidInputError` (not Python's `OverflowError`), like every
/// other bad argument.
pub fn ttl_seconds(py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    let Some(value) = value.filter(|v| !v.is_none()) else { return Ok(None) };
    if value.is_instance_of::<pyo3::types::PyBool>() || !value.is_instance_of::<pyo3::types::PyInt>() {
        return Err(error(py, core::Error::invalid_input("ttl_seconds must be an int (seconds) or None")));
    }
    match value.extract::<i128>() {
        Ok(n) if n > 0 => Ok(Some(u64::try_from(n).unwrap_or(u64::MAX))),
        _ => Err(error(
            py,
            core::Error::invalid_input(format!("ttl_seconds must be a positive number of seconds, not {value}")),
        )),
    }
}

/// The transport's request dict: `{"method", "url", "headers": [(name, value)], "body": bytes}`.
pub fn request_dict<'py>(py: Python<'py>, r: &core::HttpRequest) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("method", &r.method)?;
    d.set_item("url", &r.url)?;
    let headers: Vec<Bound<'py, PyTuple>> =
        r.headers.iter().map(|(k, v)| PyTuple::new(py, [k.as_str(), v.as_str()])).collect::<PyResult<_>>()?;
    d.set_item("headers", PyList::new(py, headers)?)?;
    d.set_item("body", PyBytes::new(py, &r.body))?;
    d.set_item("timeout", r.timeout.map(|t| t.as_secs_f64()))?;
    Ok(d)
}

/// Reads the transport's answer: a dict (or object with those attributes) with
/// `status`, `headers` (a mapping or a list of pairs) and `body` (bytes, str or None).
pub fn response(obj: &Bound<'_, PyAny>) -> PyResult<core::HttpResponse> {
    let get = |name: &str| -> PyResult<Bound<'_, PyAny>> {
        match obj.cast::<PyDict>() {
            Ok(d) => {
                d.get_item(name)?.ok_or_else(|| PyTypeError::new_err(format!("the transport's answer has no {name:?}")))
            }
            Err(_) => obj.getattr(name),
        }
    };
    let status: u16 = get("status")?.extract()?;
    let raw_headers = get("headers")?;
    let pairs = header_pairs(&raw_headers)?;
    let body = get("body")?;
    let body = if body.is_none() {
        Vec::new()
    } else if let Ok(s) = body.cast::<PyString>() {
        s.to_cow()?.as_bytes().to_vec()
    } else {
        body.extract::<Vec<u8>>()?
    };
    Ok(core::HttpResponse { status, headers: pairs, body })
}

/// Header pairs from a mapping, or from a sequence of `(name, value)` pairs (tuples
/// or two-item lists, as JSON gives them).
pub fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    if headers.is_none() {
        return Ok(Vec::new());
    }
    // The common case, a dict of str, without the generic protocol's allocations.
    if let Ok(d) = headers.cast::<PyDict>() {
        let mut out = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            out.push((k.cast::<PyString>()?.to_cow()?.into_owned(), v.cast::<PyString>()?.to_cow()?.into_owned()));
        }
        return Ok(out);
    }
    let items = if headers.hasattr("items")? { headers.call_method0("items")? } else { headers.clone() };
    items
        .try_iter()?
        .map(|pair| {
            let pair: Vec<String> = pair?.extract()?;
            match <[String; 2]>::try_from(pair) {
                Ok([name, value]) => Ok((name, value)),
                Err(_) => Err(PyTypeError::new_err("a header must be a (name, value) pair")),
            }
        })
        .collect()
}

/// Seconds since the epoch from the user's clock.
pub fn timestamp(obj: &Bound<'_, PyAny>) -> PyResult<core::Timestamp> {
    let secs: f64 = if obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyFloat>() {
        obj.extract()?
    } else {
        return Err(PyTypeError::new_err("clock() must return seconds since the epoch (int or float)"));
    };
    core::Timestamp::from_unix_f64(secs).ok_or_else(|| PyTypeError::new_err("clock() returned a time out of range"))
}

/// A Python-style repr of a string: `'text'`.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A Python-style repr of an optional string: `'text'` or `None`.
pub fn quote_opt(s: &Option<String>) -> String {
    s.as_deref().map(quote).unwrap_or_else(|| "None".to_owned())
}

/// Python's `None` as the result of an awaitable (a bare `()` would become `()`).
pub struct NoneResult;

impl<'py> IntoPyObject<'py> for NoneResult {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = std::convert::Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(py.None().into_bound(py))
    }
}

// ---- result classes -----------------------------------------------------------------

/// A repository. `name` is its routable name: pass it back to any operation as is.
#[pyclass(frozen, eq, module = "artifact_registry")]
#[derive(PartialEq)]
pub struct Repository {
    /// The routable name.
    #[pyo3(get)]
    name: String,
    /// What `docker pull` takes, when the provider has one.
    #[pyo3(get)]
    uri: Option<String>,
    /// RFC 3339 creation time, when the provider reports it.
    #[pyo3(get)]
    created_at: Option<String>,
}

impl From<core::Repository> for Repository {
    fn from(r: core::Repository) -> Self {
        Repository { name: r.name, uri: r.uri, created_at: r.created_at }
    }
}

#[pymethods]
impl Repository {
    /// The JSON form: `{"name", "uri", "createdAt"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &serde_json::json!({ "name": self.name, "uri": self.uri, "createdAt": self.created_at }))
    }

    fn __repr__(&self) -> String {
        format!(
            "Repository(name={}, uri={}, created_at={})",
            quote(&self.name),
            quote_opt(&self.uri),
            quote_opt(&self.created_at)
        )
    }
}

/// Registry credentials. `repr()` never shows the password.
#[pyclass(frozen, module = "artifact_registry")]
pub struct Credentials {
    /// `"basic"` or `"bearer"`.
    #[pyo3(get)]
    auth_method: String,
    /// The user name (`"AWS"` on ECR).
    #[pyo3(get)]
    username: String,
    /// The password or token.
    #[pyo3(get)]
    password: String,
    /// RFC 3339 expiry, when known.
    #[pyo3(get)]
    expires_at: Option<String>,
}

impl From<core::Credentials> for Credentials {
    fn from(c: core::Credentials) -> Self {
        let auth_method = match c.auth_method {
            core::AuthMethod::Basic => "basic",
            core::AuthMethod::Bearer => "bearer",
        };
        Credentials {
            auth_method: auth_method.to_owned(),
            username: c.username,
            password: c.password.expose().to_owned(),
            expires_at: c.expires_at,
        }
    }
}

#[pymethods]
impl Credentials {
    /// The JSON form: `{"authMethod", "username", "password", "expiresAt"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(
            py,
            &serde_json::json!({ "authMethod": self.auth_method, "username": self.username, "password": self.password, "expiresAt": self.expires_at }),
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "Credentials(auth_method={}, username={}, password='***', expires_at={})",
            quote(&self.auth_method),
            quote(&self.username),
            quote_opt(&self.expires_at)
        )
    }
}

/// A cross-account grant. Construct it, or pass the JSON form as a dict.
#[pyclass(frozen, eq, module = "artifact_registry")]
#[derive(PartialEq, Clone)]
pub struct CrossAccountAccess {
    pub(crate) inner: core::CrossAccountAccess,
}

#[pymethods]
impl CrossAccountAccess {
    /// `CrossAccountAccess("aws", account_ids=[...], regions=[...], allowed_service_types=["worker"], role_arns=[...])`
    /// or `CrossAccountAccess("gcp", project_numbers=[...], allowed_service_types=[...], service_account_emails=[...])`
    /// or `CrossAccountAccess("azure", principal_ids=[...])`.
    #[new]
    #[pyo3(signature = (platform, *, account_ids=None, regions=None, allowed_service_types=None, role_arns=None, project_numbers=None, service_account_emails=None, principal_ids=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        platform: &str,
        account_ids: Option<Vec<String>>,
        regions: Option<Vec<String>>,
        allowed_service_types: Option<Vec<String>>,
        role_arns: Option<Vec<String>>,
        project_numbers: Option<Vec<String>>,
        service_account_emails: Option<Vec<String>>,
        principal_ids: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let mut doc = serde_json::json!({ "platform": platform });
        let fields = [
            ("accountIds", account_ids),
            ("regions", regions),
            ("allowedServiceTypes", allowed_service_types),
            ("roleArns", role_arns),
            ("projectNumbers", project_numbers),
            ("serviceAccountEmails", service_account_emails),
            ("principalIds", principal_ids),
        ];
        for (key, value) in fields {
            if let Some(v) = value {
                doc[key] = serde_json::json!(v);
            }
        }
        core::CrossAccountAccess::from_json(&doc).map(|inner| CrossAccountAccess { inner }).map_err(|e| error(py, e))
    }

    /// Reads the JSON form.
    #[staticmethod]
    fn from_dict(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        access_from(py, value)
    }

    /// `"aws"`, `"gcp"` or `"azure"`.
    #[getter]
    fn platform(&self) -> &'static str {
        self.inner.platform()
    }

    /// AWS account ids (empty for the other platforms).
    #[getter]
    fn account_ids(&self) -> Vec<String> {
        self.aws().map(|a| a.account_ids.clone()).unwrap_or_default()
    }

    /// AWS regions (empty for the other platforms).
    #[getter]
    fn regions(&self) -> Vec<String> {
        self.aws().map(|a| a.regions.clone()).unwrap_or_default()
    }

    /// AWS role ARNs (empty for the other platforms).
    #[getter]
    fn role_arns(&self) -> Vec<String> {
        self.aws().map(|a| a.role_arns.clone()).unwrap_or_default()
    }

    /// GCP project numbers (empty for the other platforms).
    #[getter]
    fn project_numbers(&self) -> Vec<String> {
        self.gcp().map(|g| g.project_numbers.clone()).unwrap_or_default()
    }

    /// GCP service-account e-mails (empty for the other platforms).
    #[getter]
    fn service_account_emails(&self) -> Vec<String> {
        self.gcp().map(|g| g.service_account_emails.clone()).unwrap_or_default()
    }

    /// Azure principal (Entra object) ids (empty for the other platforms).
    #[getter]
    fn principal_ids(&self) -> Vec<String> {
        match &self.inner {
            core::CrossAccountAccess::Azure(z) => z.principal_ids.clone(),
            _ => Vec::new(),
        }
    }

    /// Workload kinds, e.g. `["worker"]`.
    #[getter]
    fn allowed_service_types(&self) -> Vec<&'static str> {
        let types = match &self.inner {
            core::CrossAccountAccess::Aws(a) => &a.allowed_service_types,
            core::CrossAccountAccess::Gcp(g) => &g.allowed_service_types,
            core::CrossAccountAccess::Azure(z) => &z.allowed_service_types,
        };
        types
            .iter()
            .map(|t| match t {
                core::ServiceType::Worker => "worker",
            })
            .collect()
    }

    /// The JSON form.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.inner.to_json())
    }

    fn __repr__(&self) -> String {
        format!("CrossAccountAccess.from_dict({})", quote(&self.inner.to_json().to_string()))
    }
}

impl CrossAccountAccess {
    fn aws(&self) -> Option<&core::AwsAccess> {
        match &self.inner {
            core::CrossAccountAccess::Aws(a) => Some(a),
            _ => None,
        }
    }

    fn gcp(&self) -> Option<&core::GcpAccess> {
        match &self.inner {
            core::CrossAccountAccess::Gcp(g) => Some(g),
            _ => None,
        }
    }
}

/// A grant from a `CrossAccountAccess` or its JSON form (a dict or JSON text).
pub fn access_from(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<CrossAccountAccess> {
    if let Ok(a) = value.cast::<CrossAccountAccess>() {
        return Ok(a.get().clone());
    }
    let text = json_text(value).map_err(|e| invalid(py, "access is not a JSON document", e))?;
    core::CrossAccountAccess::from_json_str(&text).map(|inner| CrossAccountAccess { inner }).map_err(|e| error(py, e))
}

/// The grants a repository has now.
#[pyclass(frozen, module = "artifact_registry")]
pub struct CrossAccountPermissions {
    /// What is granted.
    #[pyo3(get)]
    access: CrossAccountAccess,
    /// When the grants last changed, when the provider says.
    #[pyo3(get)]
    last_updated: Option<String>,
}

impl From<core::CrossAccountPermissions> for CrossAccountPermissions {
    fn from(p: core::CrossAccountPermissions) -> Self {
        CrossAccountPermissions { access: CrossAccountAccess { inner: p.access }, last_updated: p.last_updated }
    }
}

#[pymethods]
impl CrossAccountPermissions {
    /// The JSON form: `{"access", "lastUpdated"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let access = self.access.inner.to_json();
        to_py(py, &serde_json::json!({ "access": access, "lastUpdated": self.last_updated }))
    }

    fn __repr__(&self) -> String {
        format!(
            "CrossAccountPermissions(access={}, last_updated={})",
            self.access.__repr__(),
            quote_opt(&self.last_updated)
        )
    }
}

/// A JSON value handed to Python as the plain objects `json.loads` would give.
pub struct Json(pub Value);

impl<'py> IntoPyObject<'py> for Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        to_py(py, &self.0)
    }
}

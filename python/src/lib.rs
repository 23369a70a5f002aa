//! The `artifact_registry` Python package's native module: a blocking and an asyncio
//! client over the sans-IO core, and the SigV4 signer. No provider logic lives here:
//! this is transport, type conversion and error mapping.

mod bridge;
mod convert;
mod driver;

use std::sync::{Arc, LazyLock};

use artifact_registry_core::aws::sigv4::{AwsCredentials, Scope, Signer, SigningSettings};
use artifact_registry_core::{HttpRequest, Permissions, Secret, Timestamp};
use artifact_registry_native::ReqwestTransport;
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use convert::{Credentials, CrossAccountAccess, CrossAccountPermissions, Repository};
use driver::{Backend, Transport};

fn backend(
    py: Python<'_>,
    config: &Bound<'_, PyAny>,
    transport: Option<Py<PyAny>>,
    clock: Option<Py<PyAny>>,
) -> PyResult<Backend> {
    let text = convert::json_text(config).map_err(|e| convert::invalid(py, "config must be a dict or JSON text", e))?;
    let client = artifact_registry_native::client(&text).map_err(|e| convert::error(py, e))?;
    let transport = match transport {
        Some(f) => Transport::Python(f),
        None => Transport::Native(
            ReqwestTransport::new(driver::DEFAULT_TIMEOUT)
                .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.message))?,
        ),
    };
    Ok(Backend { client, transport, clock })
}

fn describe(kind: &str, b: &Backend) -> String {
    let c = b.client.config();
    format!(
        "{kind}(service={}, name={}, endpoint={})",
        convert::quote(c.binding.service()),
        convert::quote(&c.name),
        convert::quote(&b.client.registry_endpoint())
    )
}

fn permissions(py: Python<'_>, p: &str) -> PyResult<Permissions> {
    Permissions::parse(p).map_err(|e| convert::error(py, e))
}

/// A binding, blocking: every method waits for its result (the GIL is released
/// while it waits). `config` is the configuration document as a dict or JSON text.
///
/// `transport`, when given, is called with each request dict
/// `{"method", "url", "headers": [(name, value), ...], "body": bytes}` and returns
/// `{"status": int, "headers": mapping or pairs, "body": bytes | str}`; `clock`
/// returns seconds since the epoch.
#[pyclass(frozen, module = "artifact_registry")]
struct ArtifactRegistry {
    backend: Arc<Backend>,
}

#[pymethods]
impl ArtifactRegistry {
    #[new]
    #[pyo3(signature = (config, *, transport=None, clock=None))]
    fn new(
        py: Python<'_>,
        config: &Bound<'_, PyAny>,
        transport: Option<Py<PyAny>>,
        clock: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        Ok(ArtifactRegistry { backend: Arc::new(backend(py, config, transport, clock)?) })
    }

    /// Creates the repository for a logical name (idempotent).
    fn create_repository(&self, py: Python<'_>, name: &str) -> PyResult<Repository> {
        self.backend.run_sync(py, self.backend.client.create_repository(name)).map(Repository::from)
    }

    /// Gets a repository by routable name.
    fn get_repository(&self, py: Python<'_>, repository: &str) -> PyResult<Repository> {
        self.backend.run_sync(py, self.backend.client.get_repository(repository)).map(Repository::from)
    }

    /// Deletes a repository by routable name.
    fn delete_repository(&self, py: Python<'_>, repository: &str) -> PyResult<()> {
        self.backend.run_sync(py, self.backend.client.delete_repository(repository))
    }

    /// Grants cross-account access (a `CrossAccountAccess` or its JSON form as a dict).
    fn add_cross_account_access(&self, py: Python<'_>, repository: &str, access: &Bound<'_, PyAny>) -> PyResult<()> {
        let access = convert::access_from(py, access)?;
        self.backend.run_sync(py, self.backend.client.add_cross_account_access(repository, &access.inner))
    }

    /// Revokes cross-account access.
    fn remove_cross_account_access(&self, py: Python<'_>, repository: &str, access: &Bound<'_, PyAny>) -> PyResult<()> {
        let access = convert::access_from(py, access)?;
        self.backend.run_sync(py, self.backend.client.remove_cross_account_access(repository, &access.inner))
    }

    /// Reads the cross-account grants.
    fn get_cross_account_access(&self, py: Python<'_>, repository: &str) -> PyResult<CrossAccountPermissions> {
        self.backend
            .run_sync(py, self.backend.client.get_cross_account_access(repository))
            .map(CrossAccountPermissions::from)
    }

    /// Generates `"pull"` or `"push-pull"` credentials for this repository, valid for
    /// about `ttl_seconds`: scoped to it (a role session, an impersonated service
    /// account, a scope-map or registry token), or refused with `InvalidInputError`
    /// saying what to configure unless the binding sets `"unscopedCredentials": true`.
    #[pyo3(signature = (repository, permissions, ttl_seconds=None))]
    fn generate_credentials(
        &self,
        py: Python<'_>,
        repository: &str,
        permissions: &str,
        ttl_seconds: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Credentials> {
        let p = self::permissions(py, permissions)?;
        let ttl_seconds = convert::ttl_seconds(py, ttl_seconds)?;
        self.backend
            .run_sync(py, self.backend.client.generate_credentials(repository, p, ttl_seconds))
            .map(Credentials::from)
    }

    /// A Kubernetes image-pull Secret (``kubernetes.io/dockerconfigjson``) holding
    /// fresh pull credentials for the repository, as its manifest dict, ready for
    /// ``kubernetes.client`` or ``kubectl apply``; the expiry is in the
    /// ``artifact-registry/expires-at`` annotation. Names are checked before any
    /// request; bearer-only bindings are refused (a Secret holds a login).
    #[pyo3(signature = (repository, name, namespace=None, ttl_seconds=None))]
    fn image_pull_secret<'py>(
        &self,
        py: Python<'py>,
        repository: &str,
        name: &str,
        namespace: Option<&str>,
        ttl_seconds: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ttl_seconds = convert::ttl_seconds(py, ttl_seconds)?;
        let v = self
            .backend
            .run_sync(py, self.backend.client.image_pull_secret(repository, name, namespace, ttl_seconds))?;
        convert::to_py(py, &v)
    }

    /// Where the binding's credentials come from and who they are, as a dict (on
    /// ECR: ``source``, ``method``, ``accessKeyId``, ``expiresAt``, ``account``,
    /// ``arn``). Resolves credentials from the environment when the configuration
    /// has none. Never a secret.
    fn describe_credentials<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = self.backend.run_sync(py, self.backend.client.describe_credentials())?;
        convert::to_py(py, &v)
    }

    /// The registry endpoint.
    fn registry_endpoint(&self) -> String {
        self.backend.client.registry_endpoint()
    }

    /// The upstream repository prefix.
    fn upstream_repository_prefix(&self) -> String {
        self.backend.client.upstream_repository_prefix()
    }

    fn __repr__(&self) -> String {
        describe("ArtifactRegistry", &self.backend)
    }
}

/// A binding for asyncio: every method returns an awaitable, and any number of
/// calls can be in flight at once. Same arguments as `ArtifactRegistry`; an async
/// `transport` is awaited on the running event loop.
#[pyclass(frozen, module = "artifact_registry")]
struct AsyncArtifactRegistry {
    backend: Arc<Backend>,
    /// The completion bridge of the event loop last used (native transport only).
    bridge: std::sync::Mutex<Option<Arc<bridge::Bridge>>>,
}

impl AsyncArtifactRegistry {
    /// Runs `op` on the tokio runtime; returns an awaitable of its result.
    fn spawn<'py, T, R>(
        &self,
        py: Python<'py>,
        op: artifact_registry_core::Operation<T>,
        map: fn(T) -> R,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        T: Send + 'static,
        R: for<'a> IntoPyObject<'a> + Send + 'static,
    {
        self.spawn_with(py, op, map, false)
    }

    fn spawn_with<'py, T, R>(
        &self,
        py: Python<'py>,
        op: artifact_registry_core::Operation<T>,
        map: fn(T) -> R,
        panic_on_send: bool,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        T: Send + 'static,
        R: for<'a> IntoPyObject<'a> + Send + 'static,
    {
        let backend = self.backend.clone();
        if matches!(backend.transport, Transport::Python(_)) {
            // A Python transport needs the event loop's task locals to await it.
            return pyo3_async_runtimes::tokio::future_into_py(py, async move {
                let result = backend.run_async_with(op, panic_on_send).await;
                Python::attach(|py| result.map(map).map_err(|f| f.into_pyerr(py)))
            });
        }
        let running = pyo3::types::PyModule::import(py, "asyncio")?.call_method0("get_running_loop")?;
        let bridge = self.bridge_for(running)?;
        let (id, future) = bridge.future(py)?;
        pyo3_async_runtimes::tokio::get_runtime().spawn(async move {
            let result = backend.run_async_with(op, panic_on_send).await;
            bridge.complete(
                id,
                Box::new(move |py| match result {
                    Ok(value) => map(value).into_py_any(py),
                    Err(f) => Err(f.into_pyerr(py)),
                }),
            );
        });
        Ok(future)
    }

    /// The completion bridge of `running`, made on first use. Nothing here calls
    /// into Python while the lock is held: a call may release the GIL, and another
    /// thread holding the GIL could then wait on this lock (a deadlock).
    fn bridge_for(&self, running: Bound<'_, PyAny>) -> PyResult<Arc<bridge::Bridge>> {
        let lock = || self.bridge.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = lock().as_ref().filter(|b| b.serves(&running)) {
            return Ok(b.clone());
        }
        let made = bridge::Bridge::new(running)?;
        *lock() = Some(made.clone());
        Ok(made)
    }
}

#[pymethods]
impl AsyncArtifactRegistry {
    #[new]
    #[pyo3(signature = (config, *, transport=None, clock=None))]
    fn new(
        py: Python<'_>,
        config: &Bound<'_, PyAny>,
        transport: Option<Py<PyAny>>,
        clock: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        Ok(AsyncArtifactRegistry {
            backend: Arc::new(backend(py, config, transport, clock)?),
            bridge: Default::default(),
        })
    }

    /// Creates the repository for a logical name (idempotent).
    fn create_repository<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        self.spawn(py, self.backend.client.create_repository(name), Repository::from)
    }

    /// Gets a repository by routable name.
    fn get_repository<'py>(&self, py: Python<'py>, repository: &str) -> PyResult<Bound<'py, PyAny>> {
        self.spawn(py, self.backend.client.get_repository(repository), Repository::from)
    }

    /// Deletes a repository by routable name.
    fn delete_repository<'py>(&self, py: Python<'py>, repository: &str) -> PyResult<Bound<'py, PyAny>> {
        self.spawn(py, self.backend.client.delete_repository(repository), |()| convert::NoneResult)
    }

    /// Grants cross-account access.
    fn add_cross_account_access<'py>(
        &self,
        py: Python<'py>,
        repository: &str,
        access: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let access = convert::access_from(py, access)?;
        self.spawn(py, self.backend.client.add_cross_account_access(repository, &access.inner), |()| {
            convert::NoneResult
        })
    }

    /// Revokes cross-account access.
    fn remove_cross_account_access<'py>(
        &self,
        py: Python<'py>,
        repository: &str,
        access: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let access = convert::access_from(py, access)?;
        self.spawn(py, self.backend.client.remove_cross_account_access(repository, &access.inner), |()| {
            convert::NoneResult
        })
    }

    /// Reads the cross-account grants.
    fn get_cross_account_access<'py>(&self, py: Python<'py>, repository: &str) -> PyResult<Bound<'py, PyAny>> {
        self.spawn(py, self.backend.client.get_cross_account_access(repository), CrossAccountPermissions::from)
    }

    /// Generates `"pull"` or `"push-pull"` credentials for this repository, valid for
    /// about `ttl_seconds`: scoped to it (a role session, an impersonated service
    /// account, a scope-map or registry token), or refused with `InvalidInputError`
    /// saying what to configure unless the binding sets `"unscopedCredentials": true`.
    #[pyo3(signature = (repository, permissions, ttl_seconds=None))]
    fn generate_credentials<'py>(
        &self,
        py: Python<'py>,
        repository: &str,
        permissions: &str,
        ttl_seconds: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = self::permissions(py, permissions)?;
        let ttl_seconds = convert::ttl_seconds(py, ttl_seconds)?;
        self.spawn(py, self.backend.client.generate_credentials(repository, p, ttl_seconds), Credentials::from)
    }

    /// A Kubernetes image-pull Secret, as its manifest dict (see
    /// ``ArtifactRegistry.image_pull_secret``).
    #[pyo3(signature = (repository, name, namespace=None, ttl_seconds=None))]
    fn image_pull_secret<'py>(
        &self,
        py: Python<'py>,
        repository: &str,
        name: &str,
        namespace: Option<&str>,
        ttl_seconds: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ttl_seconds = convert::ttl_seconds(py, ttl_seconds)?;
        self.spawn(py, self.backend.client.image_pull_secret(repository, name, namespace, ttl_seconds), convert::Json)
    }

    /// Where the binding's credentials come from and who they are, as a dict (see
    /// ``ArtifactRegistry.describe_credentials``). Never a secret.
    fn describe_credentials<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.spawn(py, self.backend.client.describe_credentials(), convert::Json)
    }

    /// The registry endpoint.
    fn registry_endpoint(&self) -> String {
        self.backend.client.registry_endpoint()
    }

    /// The upstream repository prefix.
    fn upstream_repository_prefix(&self) -> String {
        self.backend.client.upstream_repository_prefix()
    }

    fn __repr__(&self) -> String {
        describe("AsyncArtifactRegistry", &self.backend)
    }
}

static SIGNER: LazyLock<Signer> = LazyLock::new(Signer::new);

/// Signs an AWS request with Signature Version 4 and returns the headers to send:
/// the given ones plus `X-Amz-Date`, `X-Amz-Security-Token` (with a session token)
/// and `Authorization`. `timestamp` is `YYYYMMDDTHHMMSSZ`.
#[pyfunction]
#[pyo3(signature = (method, url, headers, body, *, region, service, access_key_id, secret_access_key, session_token=None, timestamp))]
#[allow(clippy::too_many_arguments)]
fn sign_aws_request<'py>(
    py: Python<'py>,
    method: &str,
    url: &str,
    headers: &Bound<'py, PyAny>,
    body: &Bound<'py, PyAny>,
    region: &str,
    service: &str,
    access_key_id: &str,
    secret_access_key: &str,
    session_token: Option<&str>,
    timestamp: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let bad = |m: String| convert::error(py, artifact_registry_core::Error::invalid_input(m));
    let time = Timestamp::parse_amz_date(timestamp)
        .ok_or_else(|| bad(format!("timestamp {timestamp:?} is not YYYYMMDDTHHMMSSZ")))?;
    let header_pairs = convert::header_pairs(headers)?;
    let body: Vec<u8> = if body.is_none() {
        Vec::new()
    } else if let Ok(s) = body.cast::<PyString>() {
        s.to_cow()?.as_bytes().to_vec()
    } else if let Ok(b) = body.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else {
        body.extract()?
    };
    let request =
        HttpRequest { method: method.to_owned(), url: url.to_owned(), headers: header_pairs, body, timeout: None };
    let creds = AwsCredentials {
        access_key_id: access_key_id.to_owned(),
        secret_access_key: Secret::new(secret_access_key),
        session_token: session_token.map(Secret::new),
    };
    let signed = SIGNER
        .signed_headers(&request, &creds, Scope { region, service, time }, SigningSettings::default())
        .map_err(|e| convert::error(py, e))?;
    // The caller's headers as given (a C-level copy when they came as a dict), then ours.
    let out = match headers.cast::<PyDict>() {
        Ok(d) => d.copy()?,
        Err(_) => {
            let out = PyDict::new(py);
            for (k, v) in &request.headers {
                out.set_item(k, v)?;
            }
            out
        }
    };
    for (k, v) in &signed {
        out.set_item(k, v)?;
    }
    Ok(out)
}

/// Test hook of panic containment: runs `create_repository("probe")` on `client`
/// (either class) with a transport that panics at its first request, and returns
/// what the caller gets: the exception for the blocking client, the awaitable for
/// the asyncio one.
#[pyfunction]
fn _panic_probe<'py>(py: Python<'py>, client: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(c) = client.cast::<ArtifactRegistry>() {
        let backend = &c.get().backend;
        return match backend.run_sync_panicking(py, backend.client.create_repository("probe")) {
            Ok(_) => Ok(py.None().into_bound(py)),
            Err(e) => Ok(e.into_value(py).into_bound(py).into_any()),
        };
    }
    let c = client.cast::<AsyncArtifactRegistry>()?.get();
    c.spawn_with(py, c.backend.client.create_repository("probe"), Repository::from, true)
}

/// The asyncio client's runtime ([`artifact_registry_native::io_runtime`]: one I/O
/// thread), handed to pyo3-async-runtimes before its first use.
static IO_RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    if IO_RUNTIME.get().is_none() {
        let runtime = artifact_registry_native::io_runtime()
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start the I/O runtime: {e}")))?;
        // Already set only if the module is initialised twice in one process: keep the first.
        if IO_RUNTIME.set(runtime).is_ok() {
            let _ = pyo3_async_runtimes::tokio::init_with_runtime(IO_RUNTIME.get().expect("just set"));
        }
    }
    m.add_class::<ArtifactRegistry>()?;
    m.add_class::<AsyncArtifactRegistry>()?;
    m.add_class::<Repository>()?;
    m.add_class::<Credentials>()?;
    m.add_class::<CrossAccountAccess>()?;
    m.add_class::<CrossAccountPermissions>()?;
    m.add_function(wrap_pyfunction!(sign_aws_request, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_probe, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

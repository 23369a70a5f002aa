//! The embedded OCI registry: the `container-registry` crate served with axum on a
//! loopback port, storing under a given or temporary directory.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use container_registry::ContainerRegistry;
use container_registry::ImageDigest;
use container_registry::auth::{AuthProvider, Permissions, Unverified, ValidCredentials};
use container_registry::storage::ImageLocation;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running embedded registry. Stop it with [`EmbeddedRegistry::stop`]; a temporary
/// data directory is removed then.
pub struct EmbeddedRegistry {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it stores blobs and manifests.
    pub data_dir: PathBuf,
    temporary: bool,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl EmbeddedRegistry {
    /// Starts listening on `addr` (port 0 picks a free one). With `user`, every
    /// request needs that user name and password (HTTP Basic); without, anyone may
    /// push and pull. `data_dir` defaults to a new temporary directory.
    pub async fn start(
        addr: SocketAddr,
        data_dir: Option<&Path>,
        user: Option<(&str, &str)>,
    ) -> std::io::Result<EmbeddedRegistry> {
        let (data_dir, temporary) = match data_dir {
            Some(dir) => (dir.to_path_buf(), false),
            None => (temporary_dir()?, true),
        };
        std::fs::create_dir_all(&data_dir)?;
        let auth: Arc<dyn AuthProvider> = match user {
            Some((name, password)) => {
                let users: HashMap<String, sec::Secret<String>> =
                    [(name.to_owned(), sec::Secret::new(password.to_owned()))].into_iter().collect();
                Arc::new(users)
            }
            None => Arc::new(OpenAccess),
        };
        let registry = ContainerRegistry::builder().storage(&data_dir).auth_provider(auth).build().map_err(|e| {
            std::io::Error::other(format!("cannot use {} for registry storage: {e}", data_dir.display()))
        })?;
        let app = Router::new().merge(registry.make_router()).layer(DefaultBodyLimit::max(1024 * 1024 * 1024));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(EmbeddedRegistry { addr, data_dir, temporary, shutdown: Some(shutdown), task })
    }

    /// Serves until `signal` completes (or the server fails), then stops as
    /// [`EmbeddedRegistry::stop`] does.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> std::io::Result<()> {
        let result = tokio::select! {
            _ = signal => {
                if let Some(tx) = self.shutdown.take() {
                    let _ = tx.send(());
                }
                (&mut self.task).await
            }
            result = &mut self.task => result,
        };
        self.cleanup();
        result.map_err(std::io::Error::other)?
    }

    /// Stops serving (in-flight requests finish) and removes a temporary directory.
    pub async fn stop(self) -> std::io::Result<()> {
        self.run_until(std::future::ready(())).await
    }

    fn cleanup(&self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

fn temporary_dir() -> std::io::Result<PathBuf> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(std::env::temp_dir().join(format!("artifact-registry-{suffix}")))
}

/// A random password (128 bits, hex).
pub fn random_password() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS has a random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Completes on Ctrl-C (or at once if the signal cannot be watched).
pub async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Anyone may push and pull, with or without credentials. (The crate's own
/// `Permissions` rejects requests without credentials, and its `Anonymous` wrapper
/// panics on requests with them.)
struct OpenAccess;

#[async_trait::async_trait]
impl AuthProvider for OpenAccess {
    async fn check_credentials(&self, _: &Unverified) -> Option<ValidCredentials> {
        Some(ValidCredentials::new(()))
    }

    async fn image_permissions(&self, _: &ValidCredentials, _: &ImageLocation) -> Permissions {
        Permissions::ReadWrite
    }

    async fn blob_permissions(&self, _: &ValidCredentials, _: &ImageDigest) -> Permissions {
        Permissions::ReadWrite
    }
}

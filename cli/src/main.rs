//! `artifact-registry`: every operation of the binding from the shell, an embedded
//! OCI registry (`serve`), and `quickstart`, the main job end to end.
//!
//! Results go to stdout as their JSON form; failures go to stderr as
//! `{"code", "message", "httpStatus"?, "providerCode"?}`. Exit codes: 0 success,
//! 1 the operation failed, 2 invalid input (arguments, configuration, names; nothing
//! was sent).

mod blob_links;
mod embedded;
mod quickstart;
mod trace;
mod yaml;

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use artifact_registry_core::{ArtifactRegistry, CrossAccountAccess, Error, ErrorCode, Permissions};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

const CONFIG_ENV: &str = "ARTIFACT_REGISTRY_CONFIG";
const PASSWORD_ENV: &str = "ARTIFACT_REGISTRY_PASSWORD";

#[derive(Parser)]
#[command(
    name = "artifact-registry",
    version,
    about = "Manage container-image repositories and registry credentials on ECR, Artifact Registry, ACR and local OCI registries.",
    after_help = "Examples:\n  artifact-registry quickstart\n  artifact-registry --config ecr.json create-repository my-app\n  ARTIFACT_REGISTRY_CONFIG=\"$(cat ecr.json)\" artifact-registry registry-endpoint\n\nExit codes: 0 success, 1 the operation failed, 2 invalid input (nothing was sent)."
)]
struct Cli {
    /// The configuration document (JSON): a file, or `-` for stdin. Defaults to the
    /// ARTIFACT_REGISTRY_CONFIG variable, which holds the JSON itself.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<String>,
    /// Print one JSON line per HTTP exchange on stderr (method, URL, status, duration,
    /// header names; never a header value, a body or a secret).
    #[arg(long, global = true)]
    trace: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Panics on purpose: the test hook showing a panic ends as one line and exit 70.
    #[command(hide = true, name = "__panic-probe")]
    PanicProbe,
    /// Start an embedded registry and run the main job against it: create a
    /// repository, get it, generate push credentials, push a tiny image with them,
    /// pull it back, delete the repository. Prints each step with its timing.
    #[command(
        after_help = "Example:\n  artifact-registry quickstart\n  artifact-registry quickstart --keep   # keep serving afterwards, to `docker pull`"
    )]
    Quickstart {
        /// Keep the registry serving after the steps, until Ctrl-C.
        #[arg(long)]
        keep: bool,
    },
    /// Serve the embedded OCI registry (OCI distribution spec v1.1) in the foreground
    /// until Ctrl-C. Tags and manifests survive a restart with the same --data-dir.
    #[command(
        after_help = "Example:\n  artifact-registry serve --data-dir ./registry-data\n  ARTIFACT_REGISTRY_PASSWORD=s3cret artifact-registry serve --user ci --data-dir ./registry-data\n  artifact-registry serve --user ci --password-file ./pw --auth basic\n\nWith --user, clients get repository-scoped tokens from /token (--auth token, the\ndefault), so pull credentials cannot push; --auth basic asks for the user's password\non every request and cannot scope anything. Tokens are signed with a key kept in the\ndata directory (token.key), so they outlive a restart; --rotate-key revokes them all.\nWithout --user anyone may push and pull, so only a loopback address is accepted\nunless --insecure-public is given. The password never goes on the command line\n(it would show in `ps`): it comes from ARTIFACT_REGISTRY_PASSWORD or --password-file.\nThe data directory is private (0700, files 0600); one other users can write is refused."
    )]
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:5000")]
        addr: SocketAddr,
        /// Where to store blobs and metadata (default: a temporary directory, removed on exit).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Require this user. The password comes from ARTIFACT_REGISTRY_PASSWORD or --password-file.
        #[arg(long)]
        user: Option<String>,
        /// A file holding the password for --user (its first line).
        #[arg(long, requires = "user")]
        password_file: Option<PathBuf>,
        /// With --user: `token` (repository-scoped tokens from /token, so pull credentials
        /// cannot push; the default) or `basic` (the user's password on every request,
        /// which cannot scope anything).
        #[arg(long, value_parser = ["basic", "token"], default_value = "token", requires = "user")]
        auth: String,
        /// Make a new token signing key: every token handed out so far stops working.
        #[arg(long)]
        rotate_key: bool,
        /// Allow listening on a non-loopback address without a user.
        #[arg(long)]
        insecure_public: bool,
    },
    /// Create the repository for a logical name (idempotent). Prints the Repository.
    #[command(after_help = "Example:\n  artifact-registry --config ecr.json create-repository my-app")]
    CreateRepository {
        /// Logical name (the binding makes it routable, e.g. `acme-my-app`).
        name: String,
    },
    /// Get a repository by routable name. Prints the Repository.
    #[command(after_help = "Example:\n  artifact-registry --config ecr.json get-repository acme-my-app")]
    GetRepository {
        /// Routable name, as create-repository printed it.
        id: String,
    },
    /// Delete a repository by routable name (a local registry that refuses deletes
    /// keeps its images; the call still succeeds).
    #[command(after_help = "Example:\n  artifact-registry --config ecr.json delete-repository acme-my-app")]
    DeleteRepository {
        /// Routable name.
        id: String,
    },
    /// Grant cross-account access (ECR repository policy; keeps every other grant).
    #[command(
        after_help = "Example:\n  artifact-registry --config ecr.json add-cross-account-access acme-my-app \\\n    --access '{\"platform\":\"aws\",\"accountIds\":[\"111111111111\"],\"allowedServiceTypes\":[\"worker\"]}'"
    )]
    AddCrossAccountAccess {
        /// Routable name.
        id: String,
        /// The CrossAccountAccess JSON.
        #[arg(long)]
        access: String,
    },
    /// Revoke cross-account access (keeps every other grant).
    #[command(
        after_help = "Example:\n  artifact-registry --config ecr.json remove-cross-account-access acme-my-app \\\n    --access '{\"platform\":\"aws\",\"accountIds\":[\"111111111111\"]}'"
    )]
    RemoveCrossAccountAccess {
        /// Routable name.
        id: String,
        /// The CrossAccountAccess JSON.
        #[arg(long)]
        access: String,
    },
    /// Print the cross-account grants of a repository.
    #[command(after_help = "Example:\n  artifact-registry --config ecr.json get-cross-account-access acme-my-app")]
    GetCrossAccountAccess {
        /// Routable name.
        id: String,
    },
    /// Generate pull or push-pull registry credentials. Prints the Credentials,
    /// password included: treat the output as a secret.
    #[command(
        after_help = "Example:\n  artifact-registry --config ecr.json generate-credentials acme-my-app --permissions push-pull --ttl 900"
    )]
    GenerateCredentials {
        /// Routable name.
        id: String,
        /// `pull` or `push-pull`.
        #[arg(long)]
        permissions: String,
        /// Lifetime in seconds (ECR: 900 to 43200).
        #[arg(long)]
        ttl: Option<u64>,
    },
    /// Print the registry endpoint.
    /// Where the binding's credentials come from (the configuration, or which source in
    /// the environment chain) and who they are; never a secret.
    #[command(
        after_help = "Example:\n  artifact-registry --config ecr.json whoami   # aws.credentials absent: resolved from the environment"
    )]
    Whoami,
    #[command(after_help = "Example:\n  artifact-registry --config ecr.json registry-endpoint")]
    RegistryEndpoint,
    /// Print the upstream repository prefix.
    #[command(after_help = "Example:\n  artifact-registry --config ecr.json upstream-repository-prefix")]
    UpstreamRepositoryPrefix,
    /// Print a Kubernetes image-pull Secret (kubernetes.io/dockerconfigjson) holding
    /// fresh pull credentials for a repository, ready for `kubectl apply -f -`. The
    /// output holds a password: treat it as a secret.
    #[command(
        name = "image-pull-secret",
        after_help = "Example:\n  artifact-registry --config ecr.json image-pull-secret ecr-pull --repository acme-my-app --namespace apps | kubectl apply -f -\n\nThe credentials' expiry is in the artifact-registry/expires-at annotation: run it again\n(a CronJob, a deploy step) before then."
    )]
    ImagePullSecret {
        /// The Secret's name (a DNS subdomain).
        name: String,
        /// Routable name of the repository to pull.
        #[arg(long)]
        repository: String,
        /// The Secret's namespace (default: none, the one `kubectl` uses).
        #[arg(long)]
        namespace: Option<String>,
        /// `yaml` or `json`.
        #[arg(long, default_value = "yaml", value_parser = ["yaml", "json"])]
        format: String,
        /// Lifetime of the credentials in seconds.
        #[arg(long)]
        ttl: Option<u64>,
    },
    /// Point docker (and, with --containers, podman, skopeo and buildah) at the
    /// credential helper for every host credential-helper.json or
    /// ARTIFACT_REGISTRY_CONFIG serves: `credHelpers` entries in docker's config.json
    /// ($DOCKER_CONFIG, else ~/.docker) and the containers auth.json
    /// ($REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers). Idempotent; every
    /// other entry is kept; --remove takes away exactly what it added.
    #[command(
        after_help = "Example:\n  artifact-registry configure --containers\n  artifact-registry configure --remove --containers"
    )]
    Configure {
        /// Also write the containers auth.json (podman, skopeo, buildah).
        #[arg(long)]
        containers: bool,
        /// Take away what earlier runs added.
        #[arg(long)]
        remove: bool,
    },
    /// Be the kubelet's image credential provider: read a CredentialProviderRequest on
    /// stdin, print a CredentialProviderResponse with a login for the image's
    /// repository. Hosts map to bindings as for the docker credential helper
    /// (credential-helper.json; docs/kubernetes.md).
    #[command(
        name = "kubelet-credential-provider",
        after_help = "Example (what the kubelet does):\n  echo '{\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1\",\"kind\":\"CredentialProviderRequest\",\"image\":\"123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-app:v1\"}' \\\n    | artifact-registry kubelet-credential-provider"
    )]
    KubeletCredentialProvider,
}

fn read_config(flag: Option<&str>) -> Result<String, Error> {
    match flag {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::invalid_input(format!("cannot read the configuration from stdin: {e}")))?;
            Ok(text)
        }
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Error::invalid_input(format!("cannot read the configuration file {path}: {e}"))),
        None => std::env::var(CONFIG_ENV).map_err(|_| {
            Error::invalid_input(format!(
                "no configuration: pass --config FILE (or - for stdin), or set {CONFIG_ENV} to the JSON"
            ))
        }),
    }
}

/// `configure`: each file and the hosts added to it (or taken away), as JSON.
fn configure(containers: bool, remove: bool) -> Result<Value, String> {
    use artifact_registry_cli::configure as setup;
    let hosts: Vec<String> = artifact_registry_cli::logins::entries()?.into_keys().collect();
    if hosts.is_empty() && !remove {
        return Err(
            "no host to configure: add registries to credential-helper.json or set ARTIFACT_REGISTRY_CONFIG".into()
        );
    }
    let mut files = vec![setup::docker_config_path()?];
    if containers {
        files.push(setup::containers_auth_path()?);
    }
    let mut report = serde_json::Map::new();
    for file in files {
        let changes = setup::apply(&file, &hosts, remove)?;
        report.insert(file.display().to_string(), json!({ if remove { "removed" } else { "added" }: changes.hosts }));
    }
    Ok(Value::Object(report))
}

/// What an operation prints: its JSON result, or a text (a YAML manifest) as it is.
enum Printed {
    Json(Value),
    Text(String),
}

async fn run_operation(config: Option<&str>, trace: bool, command: Command) -> Result<Printed, Error> {
    let text = read_config(config)?;
    if trace {
        let client = artifact_registry_native::client(&text)?;
        let transport = trace::Tracing(artifact_registry_native::ReqwestTransport::default());
        let registry = artifact_registry_core::Registry::new(client, transport, artifact_registry_native::SystemClock);
        return operation(&registry, command).await;
    }
    operation(&artifact_registry_native::connect(&text)?, command).await
}

async fn operation<T: artifact_registry_core::Transport, C: artifact_registry_core::Clock>(
    registry: &artifact_registry_core::Registry<T, C>,
    command: Command,
) -> Result<Printed, Error> {
    Ok(Printed::Json(match command {
        Command::CreateRepository { name } => json!(registry.create_repository(&name).await?),
        Command::GetRepository { id } => json!(registry.get_repository(&id).await?),
        Command::DeleteRepository { id } => {
            registry.delete_repository(&id).await?;
            Value::Null
        }
        Command::AddCrossAccountAccess { id, access } => {
            registry.add_cross_account_access(&id, &CrossAccountAccess::from_json_str(&access)?).await?;
            Value::Null
        }
        Command::RemoveCrossAccountAccess { id, access } => {
            registry.remove_cross_account_access(&id, &CrossAccountAccess::from_json_str(&access)?).await?;
            Value::Null
        }
        Command::GetCrossAccountAccess { id } => json!(registry.get_cross_account_access(&id).await?),
        Command::GenerateCredentials { id, permissions, ttl } => {
            json!(registry.generate_credentials(&id, Permissions::parse(&permissions)?, ttl).await?)
        }
        Command::Whoami => registry.describe_credentials().await?,
        Command::ImagePullSecret { name, repository, namespace, format, ttl } => {
            let secret = registry
                .run(registry.client().image_pull_secret(&repository, &name, namespace.as_deref(), ttl))
                .await?;
            if format == "yaml" {
                return Ok(Printed::Text(yaml::to_yaml(&secret)));
            }
            secret
        }
        Command::RegistryEndpoint => json!(registry.registry_endpoint()),
        Command::UpstreamRepositoryPrefix => json!(registry.upstream_repository_prefix()),
        Command::Quickstart { .. }
        | Command::Serve { .. }
        | Command::PanicProbe
        | Command::Configure { .. }
        | Command::KubeletCredentialProvider => unreachable!("handled in main"),
    }))
}

fn error_json(e: &Error) -> Value {
    let mut out = json!({ "code": e.code().as_str(), "message": e.message() });
    if let Some(status) = e.http_status() {
        out["httpStatus"] = json!(status);
    }
    if let Some(code) = e.provider_code() {
        out["providerCode"] = json!(code);
    }
    out
}

/// The password for `serve --user`: `--password-file`'s first line, else
/// ARTIFACT_REGISTRY_PASSWORD.
fn serve_password(file: Option<&PathBuf>) -> Result<String, String> {
    let password = match file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --password-file {}: {e}", path.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .to_owned(),
        None => std::env::var(PASSWORD_ENV)
            .map_err(|_| format!("--user needs a password: set {PASSWORD_ENV} or pass --password-file"))?,
    };
    if password.is_empty() {
        return Err("the password for --user is empty".into());
    }
    Ok(password)
}

async fn serve(
    addr: SocketAddr,
    data_dir: Option<PathBuf>,
    user: Option<String>,
    password_file: Option<PathBuf>,
    auth: &str,
    insecure_public: bool,
    rotate_key: bool,
) -> Result<(), String> {
    let auth = match user {
        None => embedded::Auth::None,
        Some(user) => {
            let password = serve_password(password_file.as_ref())?;
            if auth == "token" {
                embedded::Auth::Token { user, password }
            } else {
                embedded::Auth::Basic { user, password }
            }
        }
    };
    let open = matches!(auth, embedded::Auth::None);
    if open && !addr.ip().is_loopback() && !insecure_public {
        return Err(format!(
            "refusing to serve an open registry (no --user) on {addr}, which is not a loopback address: anyone who can reach it could push and pull. Pass --user, or --insecure-public if that is what you want"
        ));
    }
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: {addr} is not a loopback address and this registry speaks plain HTTP (no TLS): passwords and tokens cross the network in the clear"
        );
    }
    let mode = embedded::describe(&auth);
    let server = embedded::EmbeddedRegistry::start(addr, data_dir.as_deref(), auth, rotate_key)
        .await
        .map_err(|e| format!("cannot start the registry on {addr}: {e}"))?;
    eprintln!(
        "serving an OCI registry at http://{} (data in {}, {mode}); Ctrl-C stops it",
        server.addr,
        server.data_dir.display()
    );
    server.run_until(embedded::ctrl_c()).await.map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    artifact_registry_native::exit_on_panic("artifact-registry");
    let cli = Cli::parse();
    match cli.command {
        Command::PanicProbe => panic!("panic probe"),
        Command::Quickstart { keep } => match quickstart::run(keep).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("quickstart failed: {e}");
                ExitCode::from(1)
            }
        },
        Command::Serve { addr, data_dir, user, password_file, auth, insecure_public, rotate_key } => {
            match serve(addr, data_dir, user, password_file, &auth, insecure_public, rotate_key).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Configure { containers, remove } => match configure(containers, remove) {
            Ok(report) => {
                println!("{report}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("artifact-registry configure: {message}");
                ExitCode::from(1)
            }
        },
        Command::KubeletCredentialProvider => {
            let mut request = String::new();
            let answer = match std::io::stdin().read_to_string(&mut request) {
                Ok(_) => artifact_registry_cli::kubelet::respond(&request).await,
                Err(e) => Err(format!("cannot read the request on stdin: {e}")),
            };
            match answer {
                Ok(response) => {
                    println!("{response}");
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    // The kubelet logs stderr; nothing secret is ever in a message.
                    eprintln!("artifact-registry kubelet-credential-provider: {message}");
                    ExitCode::from(1)
                }
            }
        }
        command => match run_operation(cli.config.as_deref(), cli.trace, command).await {
            Ok(Printed::Json(value)) => {
                println!("{value}");
                ExitCode::SUCCESS
            }
            Ok(Printed::Text(text)) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}", error_json(&e));
                ExitCode::from(if e.code() == ErrorCode::InvalidInput { 2 } else { 1 })
            }
        },
    }
}

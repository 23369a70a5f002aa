"""Container-image repositories and short-lived registry credentials on AWS ECR,
Google Artifact Registry, Azure Container Registry and local OCI registries.

    from artifact_registry import ArtifactRegistry
    registry = ArtifactRegistry(config)           # a dict, or JSON text
    repo = registry.create_repository("my-app")   # idempotent
    creds = registry.generate_credentials(repo.name, "push-pull", ttl_seconds=900)

``AsyncArtifactRegistry`` has the same methods as coroutines. The contract is
``shared/spec/API.md``; the logic lives in a Rust core shared with the Node package
and the WebAssembly component.
"""

from ._errors import (
    AccessDeniedError,
    AlreadyExistsError,
    ArtifactRegistryError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotSupportedError,
    ProviderError,
    RegistryTimeoutError,
    ThrottledError,
    TransportError,
)
from ._native import (
    ArtifactRegistry,
    AsyncArtifactRegistry,
    Credentials,
    CrossAccountAccess,
    CrossAccountPermissions,
    Repository,
    __version__,
    sign_aws_request,
)

__all__ = [
    "ArtifactRegistry",
    "AsyncArtifactRegistry",
    "Repository",
    "Credentials",
    "CrossAccountAccess",
    "CrossAccountPermissions",
    "sign_aws_request",
    "ArtifactRegistryError",
    "InvalidInputError",
    "NotFoundError",
    "AlreadyExistsError",
    "AccessDeniedError",
    "NotSupportedError",
    "ConflictError",
    "ThrottledError",
    "RegistryTimeoutError",
    "TransportError",
    "ProviderError",
    "__version__",
]

"""Container-image repositories and short-lived registry credentials on AWS ECR,
Google Artifact Registry, Azure Container Registry and local OCI registries.

    from artifact_registry import ArtifactRegistry
    registry = ArtifactRegistry(config)           # a dict, or JSON text
    repo = registry.create_repository("my-app")   # idempotent
    creds = registry.generate_credentials(repo.name, "push-pull", ttl_seconds=900)

``AsyncArtifactRegistry`` has the same methods as coroutines. The contract is
``docs/API.md`` in the source repository; the logic lives in a Rust core shared
with the Node package and the WebAssembly component.

What a repository is depends on the provider:

- ECR: an ECR repository ``{prefix}-{logical}``; grants are its repository policy.
- Google Artifact Registry: an image path inside the binding's Artifact Registry
  repository (``{projectId}/{repositoryName}/{logical}``). ``create_repository``
  makes sure that Artifact Registry repository exists; ``delete_repository`` really
  deletes the image (its package, versions and tags). Grants live in the Artifact
  Registry repository's IAM policy, so they cover every image of the binding.
  Credentials impersonate the pull or push service account (username
  ``oauth2accesstoken``).
- Azure Container Registry: an image path in the registry (``{prefix}/{logical}``).
  ``create_repository`` makes no call (ACR creates repositories on first push);
  ``get_repository`` answers ``created_at=None`` until something is pushed;
  ``delete_repository`` really deletes. Grants are not supported. Credentials are a
  repository-scoped ACR token (bearer; ACR fixes its lifetime, the real expiry is
  returned), or with ``"scopeMapTokens": true`` Basic credentials of a
  repository-scoped scope-map token that expire exactly at the TTL.
- Local registries: an image path ``{name}/{logical}``; no grants.
  ``delete_repository`` raises ``NotSupportedError`` when the registry refuses
  deletes (the images stay).
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

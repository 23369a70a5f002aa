"""Type stubs of the native module (see the package docstring)."""

from typing import Any, Awaitable, Callable, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, Union

Permissions = Literal["pull", "push-pull"]
Config = Union[Mapping[str, Any], str]
RequestDict = Dict[str, Any]
"""``{"method": str, "url": str, "headers": list[tuple[str, str]], "body": bytes, "timeout": float}``

``timeout`` is how many seconds the request may take: the configuration's
``timeouts.requestSeconds``, cut to what is left of the operation's deadline. A
transport should give up after it and raise ``TimeoutError``."""
ResponseLike = Mapping[str, Any]
"""``{"status": int, "headers": Mapping[str, str] | Sequence[tuple[str, str]], "body": bytes | str | None}``"""
AccessLike = Union["CrossAccountAccess", Mapping[str, Any], str]

__version__: str

class Repository:
    """A repository; ``name`` is its routable name."""
    @property
    def name(self) -> str: ...
    @property
    def uri(self) -> Optional[str]: ...
    @property
    def created_at(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

class Credentials:
    """Registry credentials; ``repr()`` hides the password."""
    @property
    def auth_method(self) -> Literal["basic", "bearer"]: ...
    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def expires_at(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

class CrossAccountAccess:
    """A cross-account grant: AWS accounts and roles, GCP projects and service
    accounts, or Azure principals (Entra object ids; pull on one repository of an ACR
    registry in ABAC mode, as a Container Registry Repository Reader role assignment
    whose condition names the repository)."""
    def __init__(
        self,
        platform: Literal["aws", "gcp", "azure"],
        *,
        account_ids: Optional[Sequence[str]] = None,
        regions: Optional[Sequence[str]] = None,
        allowed_service_types: Optional[Sequence[str]] = None,
        role_arns: Optional[Sequence[str]] = None,
        project_numbers: Optional[Sequence[str]] = None,
        service_account_emails: Optional[Sequence[str]] = None,
        principal_ids: Optional[Sequence[str]] = None,
    ) -> None: ...
    @staticmethod
    def from_dict(value: Union[Mapping[str, Any], str]) -> "CrossAccountAccess": ...
    @property
    def platform(self) -> Literal["aws", "gcp", "azure"]: ...
    @property
    def account_ids(self) -> List[str]: ...
    @property
    def regions(self) -> List[str]: ...
    @property
    def allowed_service_types(self) -> List[str]: ...
    @property
    def role_arns(self) -> List[str]: ...
    @property
    def project_numbers(self) -> List[str]: ...
    @property
    def service_account_emails(self) -> List[str]: ...
    @property
    def principal_ids(self) -> List[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

class CrossAccountPermissions:
    """The grants a repository has now."""
    @property
    def access(self) -> CrossAccountAccess: ...
    @property
    def last_updated(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

class ArtifactRegistry:
    """A binding; every method blocks until its result (the GIL is released meanwhile)."""
    def __init__(
        self,
        config: Config,
        *,
        transport: Optional[Callable[[RequestDict], ResponseLike]] = None,
        clock: Optional[Callable[[], float]] = None,
    ) -> None: ...
    def create_repository(self, name: str) -> Repository: ...
    def get_repository(self, repository: str) -> Repository: ...
    def delete_repository(self, repository: str) -> None: ...
    def add_cross_account_access(self, repository: str, access: AccessLike) -> None: ...
    def remove_cross_account_access(self, repository: str, access: AccessLike) -> None:
        """Revokes cross-account access: takes away every principal ``access`` names and
        the worker pairs of the accounts it names (in its regions when it has the worker
        type and regions, else all), keeping every other grant.
        """
        ...
    def get_cross_account_access(self, repository: str) -> CrossAccountPermissions:
        """Reads the grants this binding made, never anyone else's statements, bindings or role assignments.
        On ECR a statement written by 0.1 (which also let the grantee read and rewrite the
        policy) is reported as the pull grant that the next add or remove narrows it to.
        """
        ...
    def generate_credentials(self, repository: str, permissions: Permissions, ttl_seconds: Optional[int] = None) -> Credentials:
        """Generates pull or push-pull credentials for this repository, valid for about ``ttl_seconds``.

        They reach this repository with this permission only: ECR assumes ``pullRoleArn`` /
        ``pushRoleArn`` with a session policy for the repository, GAR impersonates
        ``pullServiceAccountEmail`` / ``pushServiceAccountEmail``, ACR issues a scope-map token,
        a local registry a token for the repository. Where the binding configures none of
        these, the call fails with an invalid-input error saying what to set, unless the
        binding sets ``"unscopedCredentials": true`` (then the binding's own identity). ``expires_at``
        is the real expiry, which may differ from the TTL asked for.
        """
        ...
    def image_pull_secret(self, repository: str, name: str, namespace: Optional[str] = None, ttl_seconds: Optional[int] = None) -> Dict[str, Any]:
        """A Kubernetes image-pull Secret (``kubernetes.io/dockerconfigjson``) holding fresh
        pull credentials for the repository, as its manifest dict, ready for
        ``kubernetes.client`` or ``kubectl apply``. ``name`` must be a DNS subdomain and
        ``namespace`` a DNS label (checked before any request); the expiry is in the
        ``artifact-registry/expires-at`` annotation. Bindings that hand out bearer tokens
        only are refused with ``InvalidInputError`` (a Secret holds a login).
        """
        ...
    def describe_credentials(self) -> Dict[str, Any]:
        """Where the binding's credentials come from and who they are (never a secret)."""
        ...
    def registry_endpoint(self) -> str: ...
    def upstream_repository_prefix(self) -> str: ...

class AsyncArtifactRegistry:
    """A binding for asyncio; any number of calls may be in flight."""
    def __init__(
        self,
        config: Config,
        *,
        transport: Optional[Callable[[RequestDict], Union[ResponseLike, Awaitable[ResponseLike]]]] = None,
        clock: Optional[Callable[[], float]] = None,
    ) -> None: ...
    async def create_repository(self, name: str) -> Repository: ...
    async def get_repository(self, repository: str) -> Repository: ...
    async def delete_repository(self, repository: str) -> None: ...
    async def add_cross_account_access(self, repository: str, access: AccessLike) -> None: ...
    async def remove_cross_account_access(self, repository: str, access: AccessLike) -> None:
        """Revokes cross-account access: takes away every principal ``access`` names and
        the worker pairs of the accounts it names (in its regions when it has the worker
        type and regions, else all), keeping every other grant.
        """
        ...
    async def get_cross_account_access(self, repository: str) -> CrossAccountPermissions:
        """Reads the grants this binding made, never anyone else's statements, bindings or role assignments.
        On ECR a statement written by 0.1 (which also let the grantee read and rewrite the
        policy) is reported as the pull grant that the next add or remove narrows it to.
        """
        ...
    async def generate_credentials(self, repository: str, permissions: Permissions, ttl_seconds: Optional[int] = None) -> Credentials:
        """Generates pull or push-pull credentials for this repository, valid for about ``ttl_seconds``.

        They reach this repository with this permission only: ECR assumes ``pullRoleArn`` /
        ``pushRoleArn`` with a session policy for the repository, GAR impersonates
        ``pullServiceAccountEmail`` / ``pushServiceAccountEmail``, ACR issues a scope-map token,
        a local registry a token for the repository. Where the binding configures none of
        these, the call fails with an invalid-input error saying what to set, unless the
        binding sets ``"unscopedCredentials": true`` (then the binding's own identity). ``expires_at``
        is the real expiry, which may differ from the TTL asked for.
        """
        ...
    async def image_pull_secret(self, repository: str, name: str, namespace: Optional[str] = None, ttl_seconds: Optional[int] = None) -> Dict[str, Any]:
        """A Kubernetes image-pull Secret (``kubernetes.io/dockerconfigjson``) holding fresh
        pull credentials for the repository, as its manifest dict, ready for
        ``kubernetes.client`` or ``kubectl apply``. ``name`` must be a DNS subdomain and
        ``namespace`` a DNS label (checked before any request); the expiry is in the
        ``artifact-registry/expires-at`` annotation. Bindings that hand out bearer tokens
        only are refused with ``InvalidInputError`` (a Secret holds a login).
        """
        ...
    async def describe_credentials(self) -> Dict[str, Any]:
        """Where the binding's credentials come from and who they are (never a secret)."""
        ...
    def registry_endpoint(self) -> str: ...
    def upstream_repository_prefix(self) -> str: ...

def sign_aws_request(
    method: str,
    url: str,
    headers: Union[Mapping[str, str], Sequence[Tuple[str, str]], None],
    body: Union[bytes, str, None],
    *,
    region: str,
    service: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: Optional[str] = None,
    timestamp: str,
) -> Dict[str, str]:
    """SigV4-signs a request; returns the headers to send (with Authorization and X-Amz-Date)."""

"""Exceptions: one base class with the error's code, and one subclass per code."""

from typing import Optional

__all__ = [
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
]


class ArtifactRegistryError(Exception):
    """A failed operation.

    Attributes:
        code: the contract's error code (``"not-found"``, ``"access-denied"``, ...).
        message: what happened and what to do about it (never holds a secret).
        http_status: the provider's HTTP status, when a provider answered.
        provider_code: the provider's own error code (e.g. ``"RepositoryNotFoundException"``).
    """

    code: str
    message: str
    http_status: Optional[int]
    provider_code: Optional[str]

    def __init__(self, message: str, code: str = "provider", http_status: Optional[int] = None,
                 provider_code: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.provider_code = provider_code

    def __str__(self) -> str:
        where = ", ".join(p for p in (
            f"HTTP {self.http_status}" if self.http_status is not None else "",
            self.provider_code or "",
        ) if p)
        return f"{self.code}: {self.message}" + (f" ({where})" if where else "")

    def __reduce__(self):  # picklable, e.g. across multiprocessing
        return (type(self), (self.message, self.code, self.http_status, self.provider_code))


class InvalidInputError(ArtifactRegistryError, ValueError):
    """``invalid-input``: the configuration or an argument is wrong; nothing was sent."""


class NotFoundError(ArtifactRegistryError, LookupError):
    """``not-found``: the repository (or what was asked of it) does not exist."""


class AlreadyExistsError(ArtifactRegistryError):
    """``already-exists``: what was to be created exists already."""


class AccessDeniedError(ArtifactRegistryError, PermissionError):
    """``access-denied``: the provider refused the credentials or the action."""


class NotSupportedError(ArtifactRegistryError):
    """``not-supported``: the provider cannot do this (e.g. cross-account access on ACR)."""


class ConflictError(ArtifactRegistryError):
    """``conflict``: the provider's state conflicts with the request."""


class ThrottledError(ArtifactRegistryError):
    """``throttled``: the provider throttled the calls and retries did not get through."""


class RegistryTimeoutError(ArtifactRegistryError):
    """``timeout``: a request timed out. (Not a subclass of the built-in ``TimeoutError``.)"""


class TransportError(ArtifactRegistryError, ConnectionError):
    """``transport``: a request got no response."""


class ProviderError(ArtifactRegistryError):
    """``provider``: the provider failed in a way no other code describes."""

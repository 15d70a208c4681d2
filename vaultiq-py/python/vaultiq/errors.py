"""The exceptions raised by vaultiq.

Every failure of the engine is a :class:`VaultIQError`; the subclass says
what failed, and ``retryable`` says whether trying again later may help
(a throttled API, a busy database). They pickle, so they cross process
boundaries (multiprocessing, task queues) intact.
"""

from __future__ import annotations

__all__ = [
    "VaultIQError",
    "ConfigError",
    "InvalidInputError",
    "SourceError",
    "StoreError",
    "CorruptDataError",
    "ModelError",
    "VaultIQIOError",
]


class VaultIQError(Exception):
    """Base class of every vaultiq error.

    ``retryable`` is True when the same call may succeed if made again later.
    """

    retryable: bool

    def __init__(self, message: str = "", retryable: bool = False) -> None:
        super().__init__(message, retryable)
        self.retryable = retryable

    @property
    def message(self) -> str:
        """The error message."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return self.message


class ConfigError(VaultIQError):
    """A configuration value is missing or invalid (never retryable)."""


class InvalidInputError(VaultIQError, ValueError):
    """The caller passed something unusable: an empty query, a bad top_k."""


class SourceError(VaultIQError):
    """A data source (Confluence, Slack, Jira, GitHub, files) failed.

    ``source_name`` is the configured source instance; ``retryable`` is True
    for throttling, 5xx answers and timeouts.
    """

    source_name: str = ""


class StoreError(VaultIQError):
    """The vector store, the sync state or the raw lake failed."""


class CorruptDataError(StoreError):
    """Stored data is damaged and cannot be read."""


class ModelError(VaultIQError):
    """The embedding or answering model (or a Python component) failed."""


class VaultIQIOError(VaultIQError, OSError):
    """A file-system operation failed (the message names the path)."""


for _cls in (
    VaultIQError,
    ConfigError,
    InvalidInputError,
    SourceError,
    StoreError,
    CorruptDataError,
    ModelError,
    VaultIQIOError,
):
    # Shown and pickled as `vaultiq.X`, where users import them from.
    _cls.__module__ = "vaultiq"

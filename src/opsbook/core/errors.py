"""The one error tree of opsbook. Edges (api/, cli/) map these to status codes and messages.

    OpsbookError
    ├── ConfigError                 the YAML config is invalid (file, line, field, expectation)
    ├── InputError                  a request or payload is malformed (names the field) → 400/422
    │   └── PayloadTooLarge         a body over the size limit → 413
    ├── AuthError                   no or unknown credentials → 401
    ├── PermissionDenied            the role may not do this → 403
    ├── NotFound                    no such object *in the caller's tenant* → 404
    ├── Conflict                    the object's state forbids the change (lifecycle) → 409
    ├── TooManyRequests             a public route's per-client limit is reached → 429 + Retry-After
    └── StorageUnavailable          the database is down, locked or overloaded → 503 + Retry-After

Executors later add ``StepError`` with a ``retryable`` flag, as Alertmanager's notifiers return
``(recoverable, err)``.
"""

from __future__ import annotations


class OpsbookError(Exception):
    """Base of every error opsbook raises on purpose."""

    title = "opsbook error"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class ConfigError(OpsbookError):
    """The configuration file is invalid; ``detail`` already names file, line and field."""

    title = "invalid configuration"


class InputError(OpsbookError):
    """A request body or parameter is malformed."""

    title = "invalid input"


class PayloadTooLarge(InputError):
    """A request body exceeds the accepted size."""

    title = "payload too large"


class AuthError(OpsbookError):
    """Missing, malformed, unknown or revoked credentials."""

    title = "authentication required"


class PermissionDenied(OpsbookError):
    """The caller's role does not allow the action."""

    title = "permission denied"


class NotFound(OpsbookError):
    """No such object in the caller's tenant (other tenants' objects are invisible)."""

    title = "not found"


class Conflict(OpsbookError):
    """The object's current state does not allow the change."""

    title = "conflict"


class TooManyRequests(OpsbookError):
    """A per-client or per-address limit of a public route is reached; retry after the window.

    Never raised on intake routes: Alertmanager drops a 4xx for good (DESIGN §6.2)."""

    title = "too many requests"

    def __init__(self, detail: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.retry_after = retry_after


class StorageUnavailable(OpsbookError):
    """The database cannot commit right now; callers should retry later."""

    title = "storage unavailable"

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

"""Errors raised by the service layer (existence and cross-record rules).

Tree::

    ServiceError            code="service_error"
    ├── NotFound            code="not_found"       a record the caller named does not exist
    ├── Conflict            code="conflict"        the request clashes with stored state
    └── AuthError           code="unauthorized"    bad credentials, unknown or revoked key
        └── Forbidden       code="forbidden"       authenticated, but the role may not do this

Domain errors (``autoinvoice.domain.errors``) pass through services unchanged.
"""

from __future__ import annotations


class ServiceError(Exception):
    code = "service_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    code = "conflict"


class AuthError(ServiceError):
    code = "unauthorized"


class Forbidden(AuthError):
    code = "forbidden"


__all__ = ["AuthError", "Conflict", "Forbidden", "NotFound", "ServiceError"]

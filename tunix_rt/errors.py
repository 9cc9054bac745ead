"""Domain errors shared by every app; the API maps them to HTTP in one place.

Services raise these (never DRF exceptions), so admin actions and management
commands can report the same message the API returns.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every expected failure; ``status_code`` is what the API answers."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}

    def as_body(self) -> dict[str, Any]:
        if self.field is not None:
            return {self.field: [self.message]}
        return {"detail": self.message, "code": self.code, **self.extra}


class InvalidInput(DomainError):
    status_code = 400
    code = "invalid"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class FeatureUnavailable(DomainError):
    """An optional dependency is not installed; the message says how to install it."""

    status_code = 501
    code = "not_implemented"


class IdempotencyKeyInFlight(Conflict):
    """A request with the same Idempotency-Key is still being processed."""

    code = "idempotency_key_in_flight"


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was first used with a different request body."""

    status_code = 422
    code = "idempotency_key_reused"

"""Typed failures of the booking API, so actions branch on classes instead of parsing strings.

`kind` is a small closed set meant for analytics and metrics labels; `code` is the API's own error code
(`slot_full`, `already_booked`, ...) when the server sent one.
"""

from __future__ import annotations

from typing import Any, Dict


class BookingApiError(Exception):
    """Any failure talking to the booking API."""

    kind: str = "http_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: Dict[str, Any] | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details: Dict[str, Any] = dict(details or {})
        if kind is not None:
            self.kind = kind

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kind={self.kind!r}, status={self.status!r}, "
            f"code={self.code!r}, message={self.message!r})"
        )


class ClientNotFound(BookingApiError):
    """The phone number is not a registered client (404 `client_not_found`): offer registration."""

    kind = "client_not_found"


class NotFound(BookingApiError):
    """A slot, booking, package or purchase does not exist or is not this client's (404)."""

    kind = "not_found"


class Conflict(BookingApiError):
    """The request clashes with current state (409); `.code` says how (slot_full, already_booked, ...)."""

    kind = "conflict"


class InvalidRequest(BookingApiError):
    """The API rejected the input (422/400); `.details` maps field names to reasons."""

    kind = "invalid_request"


class Unauthorized(BookingApiError):
    """The API token was refused (401/403): a deployment problem, never the end client's fault."""

    kind = "unauthorized"


class ApiUnavailable(BookingApiError):
    """No usable answer: connect error, timeout or 5xx after retries ("unavailable"), or a body that
    does not match the contract ("bad_response")."""

    kind = "unavailable"

"""The one async client of the internal booking API (contract: `openapi.yaml` beside this file).

All HTTP, retries, error mapping, parsing and metrics live in `_call`, so every public method is one
line of intent. Retries use exponential backoff and happen only when the API gave no usable answer
(connect error, timeout, 5xx); a 4xx is the API's final word and is never retried. Writes (POST,
PATCH, DELETE) are not retried after a read timeout or a dropped connection, because the server may
already have booked or charged: retrying would surface as a spurious `already_booked` or a second
pending payment.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from types import TracebackType
from typing import Any, Dict, List, Mapping, Type
from urllib.parse import quote

import httpx
from pydantic import ValidationError, parse_obj_as

from rasa_project.backoff import backoff_delay
from rasa_project.booking_api.errors import (
    ApiUnavailable,
    BookingApiError,
    ClientNotFound,
    Conflict,
    InvalidRequest,
    NotFound,
    Unauthorized,
)
from rasa_project.booking_api.models import Booking, ClientProfile, Package, Purchase, Service, Slot
from rasa_project.metrics import BOOKING_API_CALLS
from rasa_project.phones import without_prefix
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)

_IDEMPOTENT = {"GET", "HEAD", "OPTIONS"}
# Failures where the request surely never reached the server: safe to retry even for writes.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_TRANSPORT = (httpx.TimeoutException, httpx.TransportError)
_MAX_BACKOFF_SECONDS = 5.0


class BookingApiClient:
    """Async client with one shared connection pool; use as `async with BookingApiClient(...)`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 5.0,
        max_retries: int = 2,
        backoff_base: float = 0.2,
    ) -> None:
        self._max_retries = max(0, int(max_retries))
        self._backoff_base = max(0.0, float(backoff_base))
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> BookingApiClient:
        return cls(
            settings.booking_api_url,
            settings.booking_api_token,
            timeout=settings.booking_api_timeout_seconds,
            max_retries=settings.booking_api_max_retries,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> BookingApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: Type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- catalogue -------------------------------------------------------------------------------

    async def list_services(self) -> List[Service]:
        return await self._call("GET", "/services", List[Service])

    async def list_packages(self) -> List[Package]:
        return await self._call("GET", "/packages", List[Package])

    async def list_slots(
        self,
        date_from: date,
        date_to: date,
        service_code: str | None = None,
        available_only: bool = True,
    ) -> List[Slot]:
        params: Dict[str, str] = {
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
            "available_only": "true" if available_only else "false",
        }
        if service_code:
            params["service"] = service_code
        return await self._call("GET", "/schedule-slots", List[Slot], params=params)

    # -- the client's own data -------------------------------------------------------------------

    async def get_client(self, phone: str) -> ClientProfile:
        return await self._call("GET", "/client/me", ClientProfile, phone=phone)

    async def register_client(self, phone: str, name: str, email: str) -> ClientProfile:
        body = {"phone": without_prefix(phone), "name": name, "email": email}
        return await self._call("POST", "/clients", ClientProfile, json=body)

    async def update_client(
        self, phone: str, *, name: str | None = None, email: str | None = None
    ) -> ClientProfile:
        body = {key: value for key, value in (("name", name), ("email", email)) if value is not None}
        return await self._call("PATCH", "/client/me", ClientProfile, phone=phone, json=body)

    async def list_bookings(self, phone: str, upcoming_only: bool = True) -> List[Booking]:
        params = {"scope": "upcoming" if upcoming_only else "all"}
        return await self._call("GET", "/client/bookings", List[Booking], phone=phone, params=params)

    async def create_booking(self, phone: str, slot_id: int) -> Booking:
        return await self._call("POST", "/booking", Booking, phone=phone, json={"slot_id": slot_id})

    async def cancel_booking(self, phone: str, booking_id: str) -> Booking:
        return await self._call(
            "PATCH",
            "/client/bookings/{id}",
            Booking,
            phone=phone,
            path_params={"id": booking_id},
            json={"status": "cancelled"},
        )

    async def purchase_package(self, phone: str, package_id: int) -> Purchase:
        body = {"package_id": package_id}
        return await self._call("POST", "/client/purchase", Purchase, phone=phone, json=body)

    async def purchase_history(self, phone: str) -> List[Purchase]:
        return await self._call("GET", "/client/purchase-history", List[Purchase], phone=phone)

    # -- staff -----------------------------------------------------------------------------------

    async def admin_bookings(self, day: date | None = None, service_code: str | None = None) -> List[Booking]:
        params: Dict[str, str] = {}
        if day is not None:
            params["date"] = day.isoformat()
        if service_code:
            params["service"] = service_code
        return await self._call("GET", "/admin/bookings", List[Booking], params=params)

    # -- the one place that speaks HTTP ----------------------------------------------------------

    async def _call(
        self,
        method: str,
        template: str,
        result_type: Any,
        *,
        phone: str | None = None,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        """Send, retry, map errors to typed exceptions, parse into `result_type`, count the call."""
        endpoint = f"{method} {template}"
        path = template
        for key, value in (path_params or {}).items():
            path = path.replace("{" + key + "}", quote(str(value), safe=""))
        headers = {"X-Client-Phone": without_prefix(phone)} if phone is not None else None
        try:
            response = await self._send_with_retries(method, path, endpoint, headers, params, json)
            result = self._parse(response, result_type, endpoint)
        except BookingApiError as exc:
            # a 4xx is labelled by its status; no usable answer (after retries) by its kind
            final_answer = exc.status is not None and not isinstance(exc, ApiUnavailable)
            outcome = str(exc.status) if final_answer else exc.kind
            BOOKING_API_CALLS.labels(endpoint=endpoint, outcome=outcome).inc()
            raise
        BOOKING_API_CALLS.labels(endpoint=endpoint, outcome="ok").inc()
        return result

    async def _send_with_retries(
        self,
        method: str,
        path: str,
        endpoint: str,
        headers: Dict[str, str] | None,
        params: Mapping[str, str] | None,
        json: Any,
    ) -> httpx.Response:
        attempt = 0
        while True:
            retry_reason: str
            try:
                response = await self._http.request(method, path, headers=headers, params=params, json=json)
            except _TRANSPORT as exc:
                retryable = method in _IDEMPOTENT or isinstance(exc, _NOT_SENT)
                retry_reason = f"{type(exc).__name__}: {exc}"
                if not retryable or attempt >= self._max_retries:
                    logger.warning(
                        "booking API %s failed after %d attempt(s): %s", endpoint, attempt + 1, retry_reason
                    )
                    raise ApiUnavailable(
                        f"{endpoint}: {retry_reason}", kind="unavailable", details={"attempts": attempt + 1}
                    ) from exc
            else:
                if response.status_code < 500:
                    if response.status_code >= 400:
                        raise self._http_error(response, endpoint)
                    return response
                retry_reason = f"HTTP {response.status_code}"
                if attempt >= self._max_retries:
                    error = self._http_error(response, endpoint)
                    logger.warning(
                        "booking API %s failed after %d attempt(s): %s", endpoint, attempt + 1, retry_reason
                    )
                    raise ApiUnavailable(
                        error.message,
                        status=error.status,
                        code=error.code,
                        details={**error.details, "attempts": attempt + 1},
                        kind="unavailable",
                    )
            delay = backoff_delay(attempt + 1, self._backoff_base, _MAX_BACKOFF_SECONDS)
            logger.info("booking API %s: %s, retry %d in %.2fs", endpoint, retry_reason, attempt + 1, delay)
            attempt += 1
            await asyncio.sleep(delay)

    @staticmethod
    def _http_error(response: httpx.Response, endpoint: str) -> BookingApiError:
        """Map a 4xx/5xx to its exception; the body's error shape gives code, message and details."""
        code: str | None = None
        message = f"{endpoint}: HTTP {response.status_code}"
        details: Dict[str, Any] = {}
        try:
            error = response.json().get("error") or {}
            code = error.get("code") if isinstance(error.get("code"), str) else None
            message = str(error.get("message") or message)
            details = dict(error["details"]) if isinstance(error.get("details"), dict) else {}
        except (ValueError, AttributeError):
            pass  # a proxy's HTML error page: the status alone decides
        status = response.status_code
        cls: Type[BookingApiError] = BookingApiError
        if status in (401, 403):
            cls = Unauthorized
        elif status == 404:
            cls = ClientNotFound if code == "client_not_found" else NotFound
        elif status == 409:
            cls = Conflict
        elif status in (400, 422):
            cls = InvalidRequest
        elif status >= 500:
            cls = ApiUnavailable
        return cls(message, status=status, code=code, details=details)

    @staticmethod
    def _parse(response: httpx.Response, result_type: Any, endpoint: str) -> Any:
        try:
            return parse_obj_as(result_type, response.json())
        except (ValueError, ValidationError) as exc:  # JSONDecodeError is a ValueError
            logger.error(
                "booking API %s answered an unparseable body: %s: %s", endpoint, type(exc).__name__, exc
            )
            raise ApiUnavailable(
                f"{endpoint}: response does not match the contract",
                status=response.status_code,
                kind="bad_response",
                details={"reason": str(exc)[:500]},
            ) from exc

"""Sandbox-only machinery around the contract: bearer auth, error rendering, injected faults and a
request log, so tests can make the API fail on purpose and count what reached it (e.g. no retries on 4xx).

Test controls live under `/_sandbox/` and are not part of the contract.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import asdict, dataclass
from typing import Any, Awaitable, Callable, Dict, List

from aiohttp import web

from rasa_project.sandboxes.booking_api.validation import ApiError, invalid

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CONTROL_PREFIX = "/_sandbox/"
PUBLIC_PREFIXES = ("/pay/",)  # the customer's browser opens the payment link without our token


@dataclass
class Fault:
    """Fail (or delay) the next `count` requests whose path starts with `path_prefix`."""

    status: int | None
    count: int
    delay_ms: int
    path_prefix: str


class SandboxControls:
    """Fault plan and request log shared by the middlewares and the `/_sandbox/` handlers."""

    def __init__(self) -> None:
        self.faults: List[Fault] = []
        self.requests: List[Dict[str, Any]] = []

    def take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.count > 0 and path.startswith(fault.path_prefix):
                fault.count -= 1
                return fault
        return None

    @staticmethod
    def parse_fault(body: Any) -> Fault:
        if not isinstance(body, dict):
            raise invalid({"body": "Se esperaba un objeto JSON."})
        status, count = body.get("status"), body.get("count", 1)
        delay_ms, prefix = body.get("delay_ms", 0), body.get("path_prefix", "/")
        details: Dict[str, str] = {}
        if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
            details["status"] = "Entre 400 y 599, o null para solo retrasar."
        if not isinstance(count, int) or count < 1:
            details["count"] = "Entero positivo."
        if not isinstance(delay_ms, int) or delay_ms < 0:
            details["delay_ms"] = "Entero no negativo."
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            details["path_prefix"] = "Debe empezar por /."
        if status is None and not details and delay_ms == 0:
            details["status"] = "Indique status o delay_ms."
        if details:
            raise invalid(details)
        return Fault(status=status, count=count, delay_ms=delay_ms, path_prefix=prefix)


def error_response(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status)


def build_middlewares(controls: SandboxControls, token: str) -> List[Any]:
    """Outermost first: request log, error rendering, injected faults, bearer auth."""
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def request_log(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if not request.path.startswith(CONTROL_PREFIX):
            controls.requests.append(
                {"method": request.method, "path": request.path, "status": response.status}
            )
        return response

    @web.middleware
    async def render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)
        except web.HTTPException as exc:  # routing: unknown path, method not allowed
            code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
            return error_response(ApiError(exc.status, code, exc.reason or "Error", {}))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the sandbox must answer in the contract's shape even when it breaks
            logger.exception(
                "booking sandbox: %s %s failed: %s", request.method, request.path, type(exc).__name__
            )
            return error_response(
                ApiError(500, "internal_error", "Error interno del sandbox.", {"type": type(exc).__name__})
            )

    @web.middleware
    async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        fault = None if request.path.startswith(CONTROL_PREFIX) else controls.take_fault(request.path)
        if fault is not None:
            if fault.delay_ms:
                await asyncio.sleep(fault.delay_ms / 1000)
            if fault.status is not None:
                raise ApiError(
                    fault.status, "injected_fault", "Fallo simulado por el sandbox.", {"status": fault.status}
                )
        return await handler(request)

    @web.middleware
    async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(PUBLIC_PREFIXES):
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                raise ApiError(401, "unauthorized", "Token de API ausente o no válido.", {})
        return await handler(request)

    return [request_log, render_errors, inject_faults, bearer_auth]


def add_control_routes(
    app: web.Application,
    controls: SandboxControls,
    reset: Callable[[], Awaitable[Dict[str, Any]]],
    summary: Callable[[], Awaitable[Dict[str, Any]]],
) -> None:
    async def do_reset(request: web.Request) -> web.Response:
        controls.faults.clear()
        controls.requests.clear()
        return web.json_response(await reset())

    async def get_summary(request: web.Request) -> web.Response:
        return web.json_response(await summary())

    async def add_fault(request: web.Request) -> web.Response:
        fault = controls.parse_fault(await read_json(request))
        controls.faults.append(fault)
        return web.json_response({"faults": [asdict(f) for f in controls.faults]}, status=201)

    async def list_faults(request: web.Request) -> web.Response:
        return web.json_response({"faults": [asdict(f) for f in controls.faults]})

    async def clear_faults(request: web.Request) -> web.Response:
        controls.faults.clear()
        return web.json_response({"faults": []})

    async def list_requests(request: web.Request) -> web.Response:
        return web.json_response({"requests": controls.requests})

    async def clear_requests(request: web.Request) -> web.Response:
        controls.requests.clear()
        return web.json_response({"requests": []})

    app.router.add_post("/_sandbox/reset", do_reset)
    app.router.add_get("/_sandbox/summary", get_summary)
    app.router.add_post("/_sandbox/faults", add_fault)
    app.router.add_get("/_sandbox/faults", list_faults)
    app.router.add_delete("/_sandbox/faults", clear_faults)
    app.router.add_get("/_sandbox/requests", list_requests)
    app.router.add_delete("/_sandbox/requests", clear_requests)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; an empty or broken body is a 422, not a 500."""
    try:
        return await request.json()
    except ValueError:
        raise invalid({"body": "El cuerpo debe ser JSON válido."}) from None

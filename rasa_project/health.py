"""Readiness of the assistant: model, action server, conversation log, booking API, LLM.

`collect_health` runs every check concurrently with short timeouts and never raises; the HTTP
endpoint answers 200 when `ok` and 503 otherwise. Each check is `{"ok", "detail", "latency_ms",
"required"}`. The LLM is optional: without an API key the assistant phrases replies from templates
(reported ok, "template phrasing"); with a key an unreachable LLM is reported but does not make the
whole assistant unhealthy, because phrasing falls back to templates.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Sequence, Tuple
from urllib.parse import urlsplit, urlunsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rasa_project.conversation_log.database import DatabaseUnavailable, check_reachable, create_log_engine
from rasa_project.settings import Settings

Check = Dict[str, Any]
HTTP_TIMEOUT_SECONDS = 2.0
DB_TIMEOUT_SECONDS = 3.0


def action_server_health_url(webhook_url: str) -> str:
    """`http://host:5055/webhook` -> `http://host:5055/health` (rasa-sdk's health route)."""
    parts = urlsplit(webhook_url)
    return urlunsplit((parts.scheme, parts.netloc, "/health", "", ""))


async def _timed(check: Callable[[], Awaitable[Tuple[bool, str]]], required: bool = True) -> Check:
    started = time.perf_counter()
    try:
        ok, detail = await check()
    except (httpx.HTTPError, sa.exc.SQLAlchemyError, DatabaseUnavailable, asyncio.TimeoutError, OSError) as exc:
        ok, detail = False, f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
    return {
        "ok": ok,
        "detail": detail,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        "required": required,
    }


async def _http_ok(url: str, headers: Optional[Dict[str, str]] = None) -> Tuple[bool, str]:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as client:
        response = await client.get(url, headers=headers or {})
    return response.status_code < 400, f"GET {url} -> {response.status_code}"


async def _database(settings: Settings, engine: Optional[Engine]) -> Tuple[bool, str]:
    own = engine is None
    target = engine or create_log_engine(settings.tracker_db_url, settings)
    try:
        await asyncio.wait_for(asyncio.to_thread(check_reachable, target), DB_TIMEOUT_SECONDS)
    finally:
        if own:
            target.dispose()
    return True, f"SELECT 1 on {target.url.render_as_string(hide_password=True)}"


async def _model(agent: Optional[Any]) -> Tuple[bool, str]:
    if agent is None:
        return False, "no agent"
    if not agent.is_ready():
        return False, "model not loaded"
    return True, f"model {getattr(agent.processor, 'model_filename', None) or 'loaded'}"


async def _llm(settings: Settings) -> Tuple[bool, str]:
    if not settings.llm_enabled:
        return True, "template phrasing (no OPENROUTER_API_KEY)"
    ok, detail = await _http_ok(
        settings.openrouter_base_url.rstrip("/") + "/models",
        {"Authorization": f"Bearer {settings.openrouter_api_key}"},
    )
    return ok, f"{settings.openrouter_model}: {detail}"


ALL_CHECKS = ("model", "action_server", "tracker_db", "booking_api", "llm")


async def collect_health(
    settings: Settings, *, agent: Optional[Any] = None, engine: Optional[Engine] = None,
    only: Sequence[str] = ALL_CHECKS,
) -> Tuple[bool, Dict[str, Any]]:
    """`(ok, {"checks": {...}})`: ok when every required check passed. `only` names the checks to run
    (an ingress process, which never runs a turn, checks only `tracker_db`)."""
    booking_headers = {"Authorization": f"Bearer {settings.booking_api_token}"}
    every: Dict[str, Callable[[], Awaitable[Check]]] = {
        "model": lambda: _timed(lambda: _model(agent)),
        "action_server": lambda: _timed(lambda: _http_ok(action_server_health_url(settings.action_server_url))),
        "tracker_db": lambda: _timed(lambda: _database(settings, engine)),
        "booking_api": lambda: _timed(
            lambda: _http_ok(settings.booking_api_url.rstrip("/") + "/services", booking_headers)),
        "llm": lambda: _timed(lambda: _llm(settings), required=False),
    }
    names = [name for name in ALL_CHECKS if name in only]
    results = await asyncio.gather(*(every[name]() for name in names))
    checks = dict(zip(names, results, strict=True))
    ok = all(check["ok"] for check in checks.values() if check["required"])
    return ok, {"ok": ok, "checks": checks}

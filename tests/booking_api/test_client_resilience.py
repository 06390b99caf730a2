"""Retries only when the API gave no usable answer; timeouts bounded; every call counted once."""

from __future__ import annotations

import socket
import time
from typing import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import REGISTRY

from rasa_project.booking_api import (
    ApiUnavailable,
    BookingApiClient,
    ClientNotFound,
    Conflict,
    Unauthorized,
)
from tests.support.booking_sandbox import LUCIA, TOKEN, Sandbox


def calls(endpoint: str, outcome: str) -> float:
    value: float | None = REGISTRY.get_sample_value(
        "booking_api_calls_total", {"endpoint": endpoint, "outcome": outcome}
    )
    return value or 0.0


async def test_500_twice_then_success_is_retried_and_counted_once(
    api: BookingApiClient, sandbox: Sandbox
) -> None:
    ok_before, failed_before = calls("GET /packages", "ok"), calls("GET /packages", "unavailable")
    await sandbox.fault(status=500, count=2, path_prefix="/packages")
    packages = await api.list_packages()
    assert len(packages) == 4
    assert [r["status"] for r in await sandbox.requests("/packages")] == [500, 500, 200]
    assert calls("GET /packages", "ok") == ok_before + 1
    assert calls("GET /packages", "unavailable") == failed_before


async def test_500_beyond_retries_is_unavailable(api: BookingApiClient, sandbox: Sandbox) -> None:
    before = calls("GET /services", "unavailable")
    await sandbox.fault(status=503, count=10, path_prefix="/services")
    with pytest.raises(ApiUnavailable) as caught:
        await api.list_services()
    assert (caught.value.kind, caught.value.status, caught.value.code) == (
        "unavailable",
        503,
        "injected_fault",
    )
    assert len(await sandbox.requests("/services")) == 3  # 1 + max_retries
    assert calls("GET /services", "unavailable") == before + 1


async def test_4xx_is_never_retried(api: BookingApiClient, sandbox: Sandbox) -> None:
    before = calls("GET /client/me", "404")
    with pytest.raises(ClientNotFound):
        await api.get_client("+5215500001111")
    with pytest.raises(Conflict):
        await api.create_booking(LUCIA, sandbox.full_slot_id)
    assert len(await sandbox.requests("/client/me")) == 1
    assert len(await sandbox.requests("/booking")) == 1
    assert calls("GET /client/me", "404") == before + 1


async def test_timeout_is_unavailable_within_the_budget(sandbox: Sandbox) -> None:
    timeout, retries = 0.3, 1
    await sandbox.fault(delay_ms=5000, count=10, path_prefix="/services")
    async with BookingApiClient(
        sandbox.url, TOKEN, timeout=timeout, max_retries=retries, backoff_base=0.05
    ) as api:
        started = time.monotonic()
        with pytest.raises(ApiUnavailable) as caught:
            await api.list_services()
        elapsed = time.monotonic() - started
    assert caught.value.kind == "unavailable" and caught.value.status is None
    assert elapsed < timeout * (retries + 1) + 1.0
    assert (await sandbox.faults())[0]["count"] == 10 - (retries + 1)


async def test_writes_are_not_retried_after_a_read_timeout(sandbox: Sandbox) -> None:
    """The server may already have booked: a retry would answer a spurious already_booked."""
    await sandbox.fault(delay_ms=5000, count=5, path_prefix="/booking")
    async with BookingApiClient(sandbox.url, TOKEN, timeout=0.3, max_retries=2, backoff_base=0.01) as api:
        with pytest.raises(ApiUnavailable):
            await api.create_booking(LUCIA, sandbox.full_slot_id)
    assert (await sandbox.faults())[0]["count"] == 4


async def test_writes_are_retried_on_5xx(api: BookingApiClient, sandbox: Sandbox) -> None:
    await sandbox.fault(status=502, count=1, path_prefix="/clients")
    created = await api.register_client("+5215577776666", "Rosa", "rosa@example.com")
    assert created.phone == "+5215577776666"
    assert [r["status"] for r in await sandbox.requests("/clients")] == [502, 201]


async def test_connect_error_is_unavailable_after_retries() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with BookingApiClient(f"http://127.0.0.1:{port}", TOKEN, max_retries=2, backoff_base=0.01) as api:
        with pytest.raises(ApiUnavailable) as caught:
            await api.list_services()
    assert caught.value.kind == "unavailable" and caught.value.details["attempts"] == 3


async def test_bad_token_is_unauthorized_and_not_retried(sandbox: Sandbox) -> None:
    async with BookingApiClient(sandbox.url, "wrong-token", max_retries=2, backoff_base=0.01) as api:
        with pytest.raises(Unauthorized) as caught:
            await api.list_services()
    assert (caught.value.kind, caught.value.status, caught.value.code) == (
        "unauthorized",
        401,
        "unauthorized",
    )
    assert [r["status"] for r in await sandbox.requests("/services")] == [401]


@pytest.fixture
async def off_contract_server() -> AsyncIterator[TestServer]:
    """A server whose answers break the contract: wrong types, HTML, naive datetimes."""

    async def services(_: web.Request) -> web.Response:
        return web.json_response([{"code": 1, "name": "x"}])

    async def packages(_: web.Request) -> web.Response:
        return web.Response(text="<html>proxy</html>", content_type="text/html")

    async def me(_: web.Request) -> web.Response:
        return web.json_response(
            {
                "phone": LUCIA,
                "name": "L",
                "email": None,
                "sessions_remaining": 0,
                "created_at": "2026-01-01T10:00:00",
            }
        )

    app = web.Application()
    app.router.add_get("/services", services)
    app.router.add_get("/packages", packages)
    app.router.add_get("/client/me", me)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_unparseable_body_is_bad_response(off_contract_server: TestServer) -> None:
    before = calls("GET /services", "bad_response")
    url = str(off_contract_server.make_url("")).rstrip("/")
    async with BookingApiClient(url, TOKEN, max_retries=2, backoff_base=0.01) as api:
        for call in (api.list_services(), api.list_packages(), api.get_client(LUCIA)):
            with pytest.raises(ApiUnavailable) as caught:
                await call
            assert caught.value.kind == "bad_response" and caught.value.status == 200
    assert calls("GET /services", "bad_response") == before + 1


async def test_from_settings_uses_the_settings_fields(sandbox: Sandbox) -> None:
    from rasa_project.settings import Settings

    settings = Settings(
        booking_api_url=sandbox.url,
        booking_api_token=TOKEN,
        booking_api_timeout_seconds=2.5,
        booking_api_max_retries=1,
    )
    async with BookingApiClient.from_settings(settings) as api:
        assert len(await api.list_services()) == 4
        assert api._max_retries == 1

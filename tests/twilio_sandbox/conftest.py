"""Fixtures for the Twilio sandbox and simulator tests: real servers on free loopback ports."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List

import pytest
from aiohttp import web
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentInstance

from rasa_project.sandboxes.twilio_api import create_app
from rasa_project.settings import Settings, get_settings


def _bound_socket() -> socket.socket:
    """A listening-ready socket on a free port picked by the OS (no pick-then-bind race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def request_url(request: web.Request) -> str:
    """The URL the caller requested, as Twilio signs it.

    Not `str(request.url)`: with aiohttp 3.9.5 and the installed yarl 1.25, `Request.url` raises
    "Host '127.0.0.1:PORT' cannot contain ':'" whenever the Host header carries a port.
    """
    return f"{request.scheme}://{request.host}{request.raw_path}"


async def serve(app: web.Application) -> tuple:
    """Start `app` on a free port; returns (runner, base_url)."""
    runner = web.AppRunner(app)
    await runner.setup()
    sock = _bound_socket()
    await web.SockSite(runner, sock).start()
    return runner, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@dataclass
class Sandbox:
    app: web.Application
    base_url: str
    account_sid: str
    auth_token: str


@pytest.fixture
async def sandbox(settings: Settings) -> AsyncIterator[Sandbox]:
    """The sandbox the first tests were written against: every recipient in session, any HX SID sendable.

    Those tests check Messages, callbacks, faults and delivery rules, not the WhatsApp window nor the
    Content API, so this fixture turns both rules off explicitly; `strict_sandbox` turns both on.
    """
    app = create_app(settings.twilio_account_sid, settings.twilio_auth_token,
                     status_delays=(0.02, 0.02, 0.02), enforce_window=False, allow_unknown_content=True)
    runner, base_url = await serve(app)
    yield Sandbox(app, base_url, settings.twilio_account_sid, settings.twilio_auth_token)
    await runner.cleanup()


@pytest.fixture
async def strict_sandbox(settings: Settings) -> AsyncIterator[Sandbox]:
    """Twilio's rules: the WhatsApp window enforced, only content created here sendable."""
    app = create_app(settings.twilio_account_sid, settings.twilio_auth_token, status_delays=(0.02, 0.02, 0.02),
                     enforce_window=True)
    runner, base_url = await serve(app)
    yield Sandbox(app, base_url, settings.twilio_account_sid, settings.twilio_auth_token)
    await runner.cleanup()


def make_client(sandbox: Sandbox, *, token: str | None = None, account_sid: str | None = None) -> Client:
    """twilio-python's real async client, its `api` and `content` domains pointed at the sandbox."""
    client = Client(sandbox.account_sid, token or sandbox.auth_token, account_sid=account_sid,
                    http_client=AsyncTwilioHttpClient())
    client.api.base_url = sandbox.base_url
    client.content.base_url = sandbox.base_url
    return client


async def content_call(client: Client, uri: str, body: Any) -> Any:
    """A JSON POST on the Content domain through the client's own machinery (auth, errors, base URL).

    twilio-python 8.2.2 generates no Content create nor approval request; `Version.create_async` is what
    the generated creates call, so errors come back as `TwilioRestException` exactly as theirs do.
    """
    return await client.content.v1.create_async(method="POST", uri=uri, data=json.dumps(body),
                                                headers={"Content-Type": "application/json"})


async def create_content(client: Client, body: Dict[str, Any]) -> ContentInstance:
    return ContentInstance(client.content.v1, await content_call(client, "/Content", body))


async def request_approval(client: Client, sid: str, name: str, category: str = "UTILITY") -> Dict[str, Any]:
    return await content_call(client, f"/Content/{sid}/ApprovalRequests/whatsapp",
                              {"name": name, "category": category})


@pytest.fixture
async def twilio_client(sandbox: Sandbox) -> AsyncIterator[Client]:
    client = make_client(sandbox)
    yield client
    await client.http_client.close()


@pytest.fixture
async def strict_client(strict_sandbox: Sandbox) -> AsyncIterator[Client]:
    client = make_client(strict_sandbox)
    yield client
    await client.http_client.close()


@dataclass
class Receiver:
    """A small webhook that records every POST: URL, form, signature; `wait(n)` awaits n of them."""

    url: str = ""
    calls: List[Dict[str, object]] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait(self, count: int, timeout: float = 5.0) -> List[Dict[str, object]]:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.calls) >= count), timeout)
        return self.calls


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recorded = Receiver()

    async def record(request: web.Request) -> web.Response:
        form = await request.post()
        async with recorded.arrived:
            recorded.calls.append({
                "url": request_url(request),
                "form": {key: form[key] for key in form},
                "signature": request.headers.get("X-Twilio-Signature", ""),
            })
            recorded.arrived.notify_all()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{tail:.*}", record)
    runner, base_url = await serve(app)
    recorded.url = base_url
    yield recorded
    await runner.cleanup()


Starter = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def start_app() -> AsyncIterator[Starter]:
    """Start extra aiohttp apps on free ports for one test; all are cleaned up after it."""
    runners: List[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner, base_url = await serve(app)
        runners.append(runner)
        return base_url

    yield start
    for runner in runners:
        await runner.cleanup()

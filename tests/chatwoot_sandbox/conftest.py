"""Fixtures for the Chatwoot sandbox tests: the sandbox and a webhook receiver, real HTTP on free ports."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Deque, Dict, List, Tuple

import httpx
import pytest
from aiohttp import web

from rasa_project.devtools.local_stack import free_port
from rasa_project.sandboxes.chatwoot import create_app

ACCOUNT_ID = 7
INBOX_ID = 3
API_TOKEN = "cw-test-token"
WEBHOOK_SECRET = "cw-webhook-secret"
URL_TOKEN = "url-shared-token"
FAST_RETRIES = (0.05, 0.05, 0.05)


async def serve(app: web.Application) -> Tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@dataclass
class Call:
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]
    raw: bytes
    body: Dict[str, Any]


@dataclass
class Receiver:
    """Records every POST; answers with the queued statuses (then 200); `wait(n)` awaits n calls."""

    url: str = ""
    calls: List[Call] = field(default_factory=list)
    answers: Deque[int] = field(default_factory=deque)
    delay: float = 0.0
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait(self, count: int, timeout: float = 5.0) -> List[Call]:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.calls) >= count), timeout)
        return self.calls

    def events(self) -> List[str]:
        return [call.body["event"] for call in self.calls]


def signature_ok(call: Call, secret: str = WEBHOOK_SECRET) -> bool:
    """What our receiver will do: HMAC over "<timestamp>.<raw body>", constant-time compare."""
    timestamp = call.headers["X-Chatwoot-Timestamp"]
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + call.raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={digest}", call.headers["X-Chatwoot-Signature"])


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recorded = Receiver()

    async def record(request: web.Request) -> web.Response:
        raw = await request.read()
        async with recorded.arrived:
            recorded.calls.append(Call(request.path, dict(request.query), dict(request.headers), raw, json.loads(raw)))
            recorded.arrived.notify_all()
        if recorded.delay:
            await asyncio.sleep(recorded.delay)
        status = recorded.answers.popleft() if recorded.answers else 200
        return web.json_response({"received": status < 300}, status=status)

    app = web.Application()
    app.router.add_post("/{tail:.*}", record)
    runner, recorded.url = await serve(app)
    yield recorded
    await runner.cleanup()


@dataclass
class Sandbox:
    app: web.Application
    base_url: str
    api: httpx.AsyncClient  # /api/v1/accounts/{ACCOUNT_ID}, with the token
    control: httpx.AsyncClient  # the sandbox root, no auth

    async def webhooks(self, wait: float = 5.0) -> Dict[str, Any]:
        response = await self.control.get("/_sandbox/webhooks", params={"wait": wait})
        return response.json()


Starter = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
async def start_sandbox(receiver: Receiver) -> AsyncIterator[Starter]:
    """Start a sandbox (defaults: signed webhooks to the receiver with a URL token, fast retries)."""
    started: List[Tuple[web.AppRunner, Sandbox]] = []

    async def start(**overrides: Any) -> Sandbox:
        options: Dict[str, Any] = {
            "webhook_url": f"{receiver.url}/webhooks/chatwoot?token={URL_TOKEN}",
            "webhook_secret": WEBHOOK_SECRET, "inbox_id": INBOX_ID, "retry_delays": FAST_RETRIES,
            "webhook_timeout": 1.0,
        }
        options.update(overrides)
        app = create_app(ACCOUNT_ID, API_TOKEN, **options)
        runner, base_url = await serve(app)
        sandbox = Sandbox(app, base_url,
                          httpx.AsyncClient(base_url=f"{base_url}/api/v1/accounts/{ACCOUNT_ID}",
                                            headers={"api_access_token": API_TOKEN}, timeout=10),
                          httpx.AsyncClient(base_url=base_url, timeout=10))
        started.append((runner, sandbox))
        return sandbox

    yield start
    for runner, sandbox in started:
        await sandbox.api.aclose()
        await sandbox.control.aclose()
        await runner.cleanup()


@pytest.fixture
async def sandbox(start_sandbox: Starter) -> Sandbox:
    return await start_sandbox()


async def new_contact(sandbox: Sandbox, phone: str = "+5215512345678", name: str = "Ana López",
                      source_id: str | None = None) -> Dict[str, Any]:
    body: Dict[str, Any] = {"name": name, "phone_number": phone, "identifier": f"wa:{phone}",
                            "inbox_id": INBOX_ID}
    if source_id is not None:
        body["source_id"] = source_id
    response = await sandbox.api.post("/contacts", json=body)
    assert response.status_code == 200, response.text
    return response.json()["payload"]


async def new_conversation(sandbox: Sandbox, phone: str = "+5215512345678",
                           status: str = "pending") -> Dict[str, Any]:
    """A contact (source id = the number) and a conversation in the API inbox, as the assistant makes them."""
    contact = await new_contact(sandbox, phone, source_id=phone)
    response = await sandbox.api.post("/conversations", json={
        "source_id": phone, "inbox_id": INBOX_ID, "contact_id": contact["contact"]["id"], "status": status,
        "additional_attributes": {"channel": "whatsapp"}, "custom_attributes": {"handoff": False}})
    assert response.status_code == 200, response.text
    return response.json()

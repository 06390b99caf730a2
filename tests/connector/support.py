"""Shared constants and helpers for the channel's integration tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Awaitable, Callable, Dict, List, Optional

import httpx
import sqlalchemy as sa
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from connectors.whatsapp import WhatsAppInput
from connectors.whatsapp.tables import dialect_insert, senders, utcnow
from rasa_project.devtools.local_stack import free_port
from rasa_project.devtools.whatsapp_simulator import (
    as_numbered_text,
    build_inbound_form,
    post_inbound,
    wait_for_replies,
)
from rasa_project.settings import Settings

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "connector-test-token"

# Several Sanic apps in one process (one per test): Sanic 21.12 needs test mode for its touch-up pass.
Sanic.test_mode = True


@dataclass
class Sandbox:
    url: str
    client: httpx.AsyncClient

    async def faults(self, outcomes: List[Dict[str, Any]], to: Optional[str] = None) -> None:
        payload: Dict[str, Any] = {"outcomes": outcomes}
        if to:
            payload["to"] = to
        (await self.client.post(f"{self.url}/_sandbox/faults", json=payload)).raise_for_status()

    async def messages(self, to: Optional[str] = None) -> List[dict]:
        params: Dict[str, Any] = {"after": 0, "wait": 0}
        if to:
            params["to"] = to
        response = await self.client.get(f"{self.url}/_sandbox/messages", params=params)
        response.raise_for_status()
        return [as_read(m) for m in response.json()["messages"]]

    async def stats(self) -> dict:
        return (await self.client.get(f"{self.url}/_sandbox/stats")).json()


def as_read(message: Dict[str, Any]) -> Dict[str, Any]:
    """A sandbox record with `body` as the client reads it (a Content send's buttons as "1. Título" lines);
    the rendered Content body stays in `content_body`."""
    return {**message, "body": as_numbered_text(message), "content_body": message.get("body")}


Handler = Callable[[UserMessage], Awaitable[Any]]


async def echo(message: UserMessage) -> None:
    await message.output_channel.send_text_message(message.sender_id, f"eco: {message.text}")


@dataclass
class Channel:
    """A running Sanic app with the channel mounted at /webhooks/whatsapp, like `rasa run` does."""

    settings: Settings
    handler: Handler
    port: int = field(default_factory=free_port)
    received: List[UserMessage] = field(default_factory=list)
    server: Any = None
    input_channel: Optional[WhatsAppInput] = None
    agent: Any = None  # what Rasa puts in `app.ctx.agent`; the handler stands in for its turns

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.base}/webhooks/whatsapp/webhook"

    @property
    def status_url(self) -> str:
        return f"{self.base}/webhooks/whatsapp/status"

    async def start(self) -> Channel:
        app = Sanic(f"t_connector_{uuid.uuid4().hex[:8]}")
        app.config.ACCESS_LOG = False
        if self.agent is not None:
            app.ctx.agent = self.agent

        async def on_new_message(message: UserMessage) -> None:
            self.received.append(message)
            await self.handler(message)

        self.input_channel = WhatsAppInput(self.settings)
        app.blueprint(self.input_channel.blueprint(on_new_message), url_prefix="/webhooks/whatsapp")
        self.server = await app.create_server(host="127.0.0.1", port=self.port, return_asyncio_server=True,
                                              access_log=False)
        await self.server.startup()
        await self.server.before_start()
        await self.server.after_start()
        return self

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.before_stop()
            self.server.close()
            await self.server.wait_closed()
            await self.server.after_stop()
            self.server = None

    async def send(self, number: str, body: Optional[str] = None, **kwargs: Any) -> httpx.Response:
        form = build_inbound_form(number, body, **kwargs)
        return await post_inbound(self.webhook_url, form, AUTH_TOKEN, sandbox_url=self.settings.twilio_api_base_url)

    async def replies(self, sandbox: Sandbox, number: str, min_count: int = 1, timeout: float = 15) -> List[dict]:
        return [as_read(m) for m in await wait_for_replies(sandbox.url, number, 0, min_count=min_count,
                                                          timeout=timeout)]

    def query(self, sql: str, **params: Any) -> List[Any]:
        engine = sa.create_engine(self.settings.tracker_db_url, future=True)
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(sql), params).all()
        finally:
            engine.dispose()


def client_wrote(engine: sa.engine.Engine, number: str, *, hours_ago: float = 0.0, medium: str = "whatsapp") -> None:
    """Record that `number` wrote `hours_ago` (what inbox_store.accept does): WhatsApp's window is then open
    for 24 h from that moment. Tests that drive the output channel directly need it for in-session sends."""
    when = utcnow() - timedelta(hours=hours_ago)
    with engine.begin() as conn:
        stmt = dialect_insert(engine, senders).values(sender_id=number, opted_out=False, last_inbound_at=when,
                                                      medium=medium)
        conn.execute(stmt.on_conflict_do_update(index_elements=["sender_id"],
                                                set_={"last_inbound_at": when, "medium": medium}))


async def eventually(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll `predicate` (sync or async) until truthy; returns its value or fails with the last one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value or loop.time() > deadline:
            assert value, "condition not met in time"
            return value
        await asyncio.sleep(interval)

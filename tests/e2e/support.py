"""Shared constants and the simulated WhatsApp client for the end-to-end suite (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import httpx

from rasa_project.devtools.local_stack import LocalStack
from rasa_project.devtools.whatsapp_simulator import (
    as_numbered_text,
    build_inbound_form,
    post_inbound,
    wait_for_replies,
)

AUTH_TOKEN = "e2e-twilio-auth-token"
BOOKING_TOKEN = "e2e-booking-token"
OPERATOR_TOKEN = "e2e-operator-token"
ANA = "+5215512345678"


def as_read(message: Dict[str, Any]) -> Dict[str, Any]:
    """A sandbox record with `body` as the client reads it: a Content send's buttons as "1. Título" lines
    (the channel's numbered text), so assertions on bodies hold with and without native buttons; the
    rendered Content body stays in `content_body`."""
    return {**message, "body": as_numbered_text(message), "content_body": message.get("body")}


class WhatsAppClient:
    """One client's phone: posts signed messages and collects the bot's replies in order."""

    def __init__(self, stack: LocalStack, http: httpx.AsyncClient, phone: str) -> None:
        self.stack, self.http, self.phone = stack, http, phone
        self.address = f"whatsapp:{phone}"
        self.seen = 0

    async def skip_history(self) -> WhatsAppClient:
        """Ignore replies this number got before (earlier tests wrote as the same client)."""
        response = await self.http.get(f"{self.stack.twilio_url}/_sandbox/messages",
                                       params={"to": self.address, "after": 0, "wait": 0})
        self.seen = response.json()["last_index"]
        return self

    async def send(self, body: Optional[str] = None, *, sid: Optional[str] = None, **form: Any) -> httpx.Response:
        data = build_inbound_form(self.phone, body, message_sid=sid, profile_name="Cliente e2e", **form)
        return await post_inbound(self.stack.webhook_url, data, AUTH_TOKEN, client=self.http,
                                  sandbox_url=self.stack.twilio_url)

    async def replies(self, count: int = 1, timeout: float = 45) -> List[Dict[str, Any]]:
        got = await wait_for_replies(self.stack.twilio_url, self.address, self.seen, min_count=count, timeout=timeout)
        self.seen = max(m["index"] for m in got)
        return [as_read(m) for m in got]

    async def settle(self, quiet: float = 2.0) -> List[Dict[str, Any]]:
        """Whatever else arrives within `quiet` seconds (to prove nothing more was sent)."""
        response = await self.http.get(f"{self.stack.twilio_url}/_sandbox/messages",
                                       params={"to": self.address, "after": self.seen, "wait": quiet})
        return [as_read(m) for m in response.json()["messages"]]

    async def say(self, body: str, count: int = 1) -> List[str]:
        response = await self.send(body)
        assert response.status_code == 200, response.text
        return [m["body"] for m in await self.replies(count)]


async def wait_until(predicate: Any, timeout: float = 30, interval: float = 0.3) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)

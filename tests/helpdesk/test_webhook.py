"""The Chatwoot webhook route on the channel's blueprint, with the Chatwoot stand-in sending the webhooks
(signed, with the `?token=`) to a running channel: who is let in, what is forwarded, what is ignored."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, AsyncIterator, Dict, List, Tuple

import httpx
import pytest
import sqlalchemy as sa
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered

from rasa_project.helpdesk.tables import conversations
from rasa_project.settings import Settings
from tests.connector.conftest import sandbox  # noqa: F401  (the Twilio sandbox fixture)
from tests.connector.support import ACCOUNT_SID, AUTH_TOKEN, Channel, Sandbox, client_wrote, echo, eventually
from tests.helpdesk.conftest import ACCOUNT_ID, API_TOKEN, INBOX_ID, WEBHOOK_SECRET, Chatwoot, add_rows, message

ANA = "+5215511113333"


@dataclass
class FakeActions:
    """Records what the route asked for; `fail` makes the next calls raise (Twilio down, say)."""

    sent: List[Tuple[str, str, Dict[str, Any]]] = field(default_factory=list)
    handed_back: List[Tuple[str, str]] = field(default_factory=list)
    fail: int = 0

    async def send_as_business(self, sender_id: str, text: str, author: Dict[str, Any]) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("Twilio refused it")
        self.sent.append((sender_id, text, author))

    async def hand_back(self, sender_id: str, by: str) -> None:
        self.handed_back.append((sender_id, by))


@dataclass
class Running:
    channel: Channel
    chatwoot: Chatwoot
    conversation_id: int
    actions: FakeActions

    @property
    def url(self) -> str:
        return f"{self.channel.base}/webhooks/whatsapp/chatwoot"

    async def settled(self) -> List[Dict[str, Any]]:
        hooks = await self.chatwoot.webhooks()
        assert hooks["settled"], hooks
        return hooks["deliveries"]


def settings_for(chatwoot: Chatwoot, db_url: str, twilio_url: str, **overrides: Any) -> Settings:
    values: Dict[str, Any] = dict(
        twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, twilio_api_base_url=twilio_url,
        tracker_db_url=db_url, inbox_poll_seconds=0.2, outbound_backoff_base_seconds=0.01,
        chatwoot_base_url=chatwoot.url, chatwoot_account_id=ACCOUNT_ID, chatwoot_inbox_id=INBOX_ID,
        chatwoot_api_token=API_TOKEN, chatwoot_webhook_secret=WEBHOOK_SECRET)
    values.update(overrides)
    return Settings(**values)


async def start(chatwoot: Chatwoot, db_url: str, twilio: Sandbox, agent: Any = None,
                **overrides: Any) -> Tuple[Channel, FakeActions]:
    channel = await Channel(settings_for(chatwoot, db_url, twilio.url, **overrides), echo, port=chatwoot.channel_port,
                            agent=agent).start()
    actions = FakeActions()
    runtime = channel.input_channel.runtime if channel.input_channel else None
    if runtime is not None and runtime.helpdesk is not None and agent is None:
        runtime.helpdesk.webhook.actions = actions
    return channel, actions


async def mirrored_conversation(engine: sa.engine.Engine) -> int:
    """The mirror creates Ana's Chatwoot conversation from her first message."""
    add_rows(engine, ANA, ("message_in", message("hola")))

    def mapped() -> Any:
        with engine.connect() as conn:
            return conn.execute(sa.select(conversations.c.conversation_id)).scalar()
    return int(await eventually(mapped, timeout=15))


@pytest.fixture
async def running(chatwoot: Chatwoot, db_url: str, engine: sa.engine.Engine,
                  sandbox: Sandbox) -> AsyncIterator[Running]:  # noqa: F811
    channel, actions = await start(chatwoot, db_url, sandbox)
    try:
        yield Running(channel, chatwoot, await mirrored_conversation(engine), actions)
    finally:
        await channel.stop()


def signed(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> Dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Chatwoot-Timestamp": stamp, "X-Chatwoot-Signature": f"sha256={digest}",
            "Content-Type": "application/json"}


async def test_only_the_secret_gets_in(running: Running) -> None:
    body = json.dumps({"event": "conversation_updated", "id": running.conversation_id}).encode()
    plain = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=10) as http:
        answers = [
            (await http.post(running.url, content=body, headers=plain)).status_code,  # nothing
            (await http.post(running.url, params={"token": "guess"}, content=body, headers=plain)).status_code,
            (await http.post(running.url, content=body, headers=signed(body, "other-secret"))).status_code,
            (await http.post(running.url, content=body, headers=signed(body, timestamp=int(time.time()) - 3600))
             ).status_code,  # a replayed old delivery
            (await http.post(running.url, content=body + b" ", headers=signed(body))).status_code,  # body changed
            (await http.post(running.url, content=body, headers=signed(body))).status_code,  # signature alone
            (await http.post(running.url, params={"token": WEBHOOK_SECRET}, content=body, headers=plain)).status_code,
        ]
    assert answers == [401, 401, 401, 401, 401, 200, 200]


async def test_an_agent_reply_is_sent_once_and_the_rest_ignored(running: Running) -> None:
    control = running.chatwoot.control
    await control.post("/_sandbox/agent_reply", json={"conversation_id": running.conversation_id,
                                                      "content": "Hola Ana, soy Marta", "agent_name": "Marta"})
    await control.post("/_sandbox/agent_reply", json={"conversation_id": running.conversation_id,
                                                      "content": "nota interna", "private": True})
    deliveries = await running.settled()
    assert [(s, t, a["name"], a["source"]) for s, t, a in running.actions.sent] == [
        (ANA, "Hola Ana, soy Marta", "Marta", "chatwoot")]
    assert all(d["state"] == "delivered" for d in deliveries)  # every event acknowledged, 200
    # Chatwoot delivers the agent's reply again (a lost 200): acknowledged, not sent twice
    reply = next(d["payload"] for d in deliveries
                 if d["event"] == "message_created" and d["payload"]["content"] == "Hola Ana, soy Marta")
    async with httpx.AsyncClient(timeout=10) as http:
        again = await http.post(running.url, params={"token": WEBHOOK_SECRET}, json=reply)
    assert again.status_code == 200 and again.json().get("duplicate") is True
    assert len(running.actions.sent) == 1


async def test_our_own_mirrored_messages_are_not_sent_back(running: Running, engine: sa.engine.Engine) -> None:
    add_rows(engine, ANA, ("message_out", message("¡Hola! ¿En qué te ayudo?")),
             ("handoff", {"reason": "pedido_del_cliente", "last_turns": []}))

    async def noted() -> bool:
        return any(m["private"] for m in await running.chatwoot.messages(running.conversation_id))
    await eventually(noted, timeout=15)
    deliveries = await running.settled()
    ours = [d for d in deliveries if d["event"] == "message_created" and d["payload"]["message_type"] == "outgoing"]
    assert len(ours) == 2 and all(d["state"] == "delivered" for d in ours)
    assert running.actions.sent == []


async def test_resolved_hands_back_once(running: Running) -> None:
    await running.chatwoot.control.post("/_sandbox/resolve", json={"conversation_id": running.conversation_id})
    deliveries = await running.settled()
    assert running.actions.handed_back == [(ANA, "helpdesk")]
    resolved = next(d["payload"] for d in deliveries if d["event"] == "conversation_status_changed")
    async with httpx.AsyncClient(timeout=10) as http:
        await http.post(running.url, params={"token": WEBHOOK_SECRET}, json=resolved)
    assert running.actions.handed_back == [(ANA, "helpdesk")]


async def test_a_failed_send_answers_500_and_chatwoots_retry_sends_it(running: Running) -> None:
    running.actions.fail = 1
    await running.chatwoot.control.post("/_sandbox/agent_reply", json={
        "conversation_id": running.conversation_id, "content": "¿Sigues ahí?"})
    deliveries = await running.settled()
    reply = next(d for d in deliveries if d["event"] == "message_created" and d["payload"]["content"] == "¿Sigues ahí?")
    assert [a["status"] for a in reply["attempts"]] == [500, 200]
    assert [t for _, t, _ in running.actions.sent] == ["¿Sigues ahí?"]


async def test_mirror_off_is_404(chatwoot: Chatwoot, db_url: str, sandbox: Sandbox) -> None:  # noqa: F811
    channel, _ = await start(chatwoot, db_url, sandbox, chatwoot_base_url="")
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(f"{channel.base}/webhooks/whatsapp/chatwoot",
                                     params={"token": WEBHOOK_SECRET}, json={"event": "message_created"})
        assert answer.status_code == 404
    finally:
        await channel.stop()


async def test_the_agent_reply_reaches_the_client_and_the_tracker(
        chatwoot: Chatwoot, db_url: str, engine: sa.engine.Engine, sandbox: Sandbox) -> None:  # noqa: F811
    """With H1's `send_as_business` for real: through the channel's output to the Twilio sandbox."""
    trackers = InMemoryTrackerStore(Domain.empty())
    agent = SimpleNamespace(lock_store=InMemoryLockStore(), tracker_store=trackers)
    channel, _ = await start(chatwoot, db_url, sandbox, agent=agent)
    try:
        conversation_id = await mirrored_conversation(engine)
        client_wrote(engine, ANA)  # the mirrored message came through the channel: WhatsApp's window is open
        await chatwoot.control.post("/_sandbox/agent_reply", json={
            "conversation_id": conversation_id, "content": "Te escribo desde el estudio", "agent_name": "Marta"})
        replies = await channel.replies(sandbox, ANA)
        assert [r["body"] for r in replies] == ["Te escribo desde el estudio"]
        tracker = await eventually(lambda: trackers.retrieve(ANA))  # recorded right after Twilio took it
        uttered = [e for e in tracker.events if isinstance(e, BotUttered)]
        assert [(e.text, e.metadata["helpdesk"]["name"]) for e in uttered] == [("Te escribo desde el estudio", "Marta")]
    finally:
        await channel.stop()


"""The human handoff through Chatwoot, end to end: the client asks for a person on WhatsApp, the team
answers from Chatwoot (the stand-in, its webhooks to our route), resolving gives the client back to the
bot; with Chatwoot down for a whole handoff no turn fails and everything arrives once when it returns."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

import httpx
import pytest
import sqlalchemy as sa

from rasa_project.devtools.local_stack import LocalStack
from rasa_project.devtools.whatsapp_simulator import agent_reply, chatwoot_conversation_id, resolve_conversation
from tests.e2e.support import WhatsAppClient

pytestmark = pytest.mark.e2e

ASK_FOR_A_PERSON = "quiero hablar con una persona"
WAITING = [f"mensaje {n} para el equipo" for n in range(5)]


async def conversation(stack: LocalStack, http: httpx.AsyncClient, phone: str) -> Dict[str, Any]:
    state = (await http.get(f"{stack.chatwoot_url}/_sandbox/state")).raise_for_status().json()
    conversation_id = await chatwoot_conversation_id(http, stack.chatwoot_url, phone)
    found = next(c for c in state["conversations"] if c["id"] == conversation_id)
    found["all_messages"] = [m for m in state["messages"] if m["conversation_id"] == conversation_id]
    return found


async def until(check: Any, timeout: float = 60.0) -> Any:
    """Poll the async `check` until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        try:
            last = await check()
        except LookupError:  # no Chatwoot conversation yet
            last = None
        if last:
            return last
        await asyncio.sleep(0.5)
    raise AssertionError(f"not reached in {timeout}s (last: {last!r})")


def incoming(conv: Dict[str, Any]) -> List[str]:
    return [m["content"] for m in conv["all_messages"] if m["message_type"] == 0]


async def hand_off(client: WhatsAppClient) -> None:
    assert await client.say("hola")
    replies = await client.say(ASK_FOR_A_PERSON)
    assert any("persona del equipo" in reply for reply in replies), replies


async def test_handoff_through_chatwoot_and_back(stack: LocalStack, http: httpx.AsyncClient, client: WhatsAppClient,
                                                 log_engine: sa.engine.Engine) -> None:
    await hand_off(client)

    async def opened_with_note() -> Any:
        conv = await conversation(stack, http, client.phone)
        notes = [m for m in conv["all_messages"] if m["private"]]
        return conv if conv["status"] == "open" and notes else None
    conv = await until(opened_with_note)
    note = next(m["content"] for m in conv["all_messages"] if m["private"])
    assert ASK_FOR_A_PERSON in note  # the last turns, for the agent to read

    for text in WAITING:
        assert (await client.send(text)).status_code == 200

    async def all_in() -> Any:
        return set(WAITING) <= set(incoming(await conversation(stack, http, client.phone)))
    await until(all_in)
    assert await client.settle(quiet=2.0) == []  # the bot stays silent while the team has it

    await agent_reply(http, stack.chatwoot_url, client.phone, "Hola, soy Marta del estudio", agent_name="Marta")
    assert [m["body"] for m in await client.replies(1)] == ["Hola, soy Marta del estudio"]

    async def recorded() -> Any:  # send_as_business records it right after Twilio accepted it
        with log_engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'bot' "
                                        "ORDER BY id"), {"s": client.phone}).all()
        return [e for e in (json.loads(row[0]) for row in rows) if (e.get("metadata") or {}).get("helpdesk")]
    team = await until(recorded, timeout=20)
    assert [(e["text"], e["metadata"]["helpdesk"]["name"]) for e in team] == [("Hola, soy Marta del estudio", "Marta")]

    await resolve_conversation(http, stack.chatwoot_url, client.phone)
    await asyncio.sleep(1.0)  # the webhook hands back
    [menu] = await client.say("ayuda")  # the bot answers again, and understands: no "no entendí", no new handoff
    assert menu.startswith("Esto es lo que puedo hacer"), menu
    assert await client.settle(quiet=2) == []

    conv = await until(lambda: conversation(stack, http, client.phone))
    texts = [m["content"] for m in conv["all_messages"] if m["message_type"] in (0, 1) and not m["private"]]
    assert texts.count("Hola, soy Marta del estudio") == 1 and all(texts.count(t) == 1 for t in WAITING)


async def test_chatwoot_down_for_a_whole_handoff(stack: LocalStack, http: httpx.AsyncClient,
                                                 client: WhatsAppClient) -> None:
    assert await client.say("hola")
    await until(lambda: conversation(stack, http, client.phone))  # mirrored while Chatwoot was up
    (await http.post(f"{stack.chatwoot_url}/_sandbox/faults", json={"outcomes": [{"status": 503, "count": 100000}]})
     ).raise_for_status()
    try:
        replies = await client.say(ASK_FOR_A_PERSON)  # the turn does not wait for Chatwoot
        assert any("persona del equipo" in reply for reply in replies), replies
        for text in WAITING:
            assert (await client.send(text)).status_code == 200
        assert await client.settle(quiet=3.0) == []
    finally:
        (await http.delete(f"{stack.chatwoot_url}/_sandbox/faults")).raise_for_status()

    async def caught_up() -> Any:
        conv = await conversation(stack, http, client.phone)
        return conv if conv["status"] == "open" and set(WAITING) <= set(incoming(conv)) else None
    conv = await until(caught_up, timeout=120)
    chat = [m["content"] for m in conv["all_messages"] if m["message_type"] in (0, 1)]
    assert all(chat.count(text) == 1 for text in set(chat)), chat  # every message once
    assert chat.index(ASK_FOR_A_PERSON) < chat.index(WAITING[0])
    assert [t for t in incoming(conv) if t in WAITING] == WAITING  # in order

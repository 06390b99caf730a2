"""Human handoff end to end, entering at the webhook: the client asks for a person, the bot goes quiet but
logs everything, the operator writes through the channel, hands back, and the bot answers again.

Restarting Rasa costs a model load (~90 s), so "another instance honours the pause" is proven at the store
level instead (tests/handoff/test_state.py: a second store, its own pool, after the window moved)."""

from __future__ import annotations

import json
from typing import Any, List

import httpx
import sqlalchemy as sa

from tests.e2e.support import OPERATOR_TOKEN, WhatsAppClient, wait_until

AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def operator_url(client: WhatsAppClient, path: str) -> str:
    return client.stack.webhook_url.rsplit("/", 1)[0] + f"/operator{path}"


def logged(engine: sa.engine.Engine, phone: str, kind: str) -> List[Any]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT data FROM events WHERE sender_id = :s AND type_name = :t ORDER BY id"),
                            {"s": phone, "t": kind}).all()
    return [json.loads(row[0]) for row in rows]


async def test_a_person_takes_over_and_hands_back(client: WhatsAppClient, http: httpx.AsyncClient,
                                                  log_engine: sa.engine.Engine) -> None:
    [reply] = await client.say("quiero hablar con una persona del equipo")
    assert "Te paso con una persona del equipo" in reply

    for n in range(5):
        assert (await client.send(f"¿hola? mensaje {n}")).status_code == 200
    await wait_until(lambda: sum("mensaje" in (e.get("text") or "") for e in logged(log_engine, client.phone, "user"))
                     == 5, timeout=60)
    assert await client.settle(quiet=4) == []  # nothing from the bot while the team has it

    listed = (await http.get(operator_url(client, "/handoffs"), headers=AUTH)).json()["handoffs"]
    assert client.phone in [h["sender"] for h in listed]

    sent = await http.post(operator_url(client, f"/conversations/{client.phone}/messages"), headers=AUTH,
                           json={"text": "Hola, soy Marta del estudio. ¿En qué te ayudo?", "author": "Marta"})
    assert sent.status_code == 201, sent.text
    [team] = await client.replies(1)
    assert team["body"] == "Hola, soy Marta del estudio. ¿En qué te ayudo?"
    bots = logged(log_engine, client.phone, "bot")
    assert bots[-1]["metadata"]["helpdesk"]["name"] == "Marta"

    back = await http.post(operator_url(client, f"/conversations/{client.phone}/handback"), headers=AUTH)
    assert back.status_code == 200, back.text
    [menu] = await client.say("ayuda")  # the bot answers again, and understands: no "no entendí", no new handoff
    assert menu.startswith("Esto es lo que puedo hacer"), menu
    assert await client.settle(quiet=2) == []


async def test_the_operator_api_is_closed_without_the_token(client: WhatsAppClient, http: httpx.AsyncClient) -> None:
    response = await http.get(operator_url(client, "/handoffs"))
    assert response.status_code == 401

"""The mirror against real Postgres and the Chatwoot stand-in: order, exactly once, Chatwoot down and back,
an answer lost after Chatwoot stored the message, two workers on one database."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import sqlalchemy as sa

from rasa_project.handoff.tables import handoffs
from rasa_project.helpdesk.chatwoot_client import ChatwootClient
from rasa_project.helpdesk.mirror import HelpdeskMirror
from rasa_project.helpdesk.outbox import utcnow
from rasa_project.helpdesk.tables import conversations
from tests.helpdesk.conftest import Chatwoot, add_rows, message, unsent

ANA, LUIS = "+5215511110001", "+5215511110002"


def mirror(engine: sa.engine.Engine, client: ChatwootClient, **options: Any) -> HelpdeskMirror:
    defaults: Dict[str, Any] = {"poll_seconds": 0.05, "backoff_base": 0.05, "backoff_cap": 0.2, "lease_seconds": 30}
    return HelpdeskMirror(engine, client, **{**defaults, **options})


async def chat(chatwoot: Chatwoot, phone: str) -> List[tuple]:
    """(content, type, private) of the phone's conversation, activity messages left out."""
    state = await chatwoot.state()
    ids = [c["id"] for c in state["conversations"] if c["meta"]["sender"]["phone_number"] == phone]
    assert len(ids) == 1, f"{phone} has {len(ids)} conversations"
    return [(m["content"], m["message_type"], m["private"]) for m in state["messages"]
            if m["conversation_id"] == ids[0] and m["message_type"] != 2]


async def status_of(chatwoot: Chatwoot, phone: str) -> str:
    state = await chatwoot.state()
    return next(c["status"] for c in state["conversations"] if c["meta"]["sender"]["phone_number"] == phone)


async def test_a_conversation_in_order_with_its_handoff_and_handback(chatwoot: Chatwoot, client: ChatwootClient,
                                                                      engine: sa.engine.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(handoffs.insert().values(sender_id=ANA, state="human", started_at=utcnow(),
                                              last_message_at=utcnow()))
    add_rows(engine, ANA, ("message_in", message("hola")), ("message_out", message("¡Hola! ¿En qué te ayudo?")),
             ("message_in", message("quiero hablar con una persona")),
             ("handoff", {"reason": "pedido_del_cliente", "in_hours": False, "next_open": "mañana a las 9:00",
                          "last_turns": [{"who": "client", "text": "hola"}, {"who": "bot", "text": "¡Hola!"}]}),
             ("notify", {"reason": "x"}),  # the notification webhook's, not ours
             ("message_in", message("¿hay alguien?")))
    assert await mirror(engine, client).drain() == 5
    assert await status_of(chatwoot, ANA) == "open"
    turns = await chat(chatwoot, ANA)
    assert turns[:3] == [("hola", 0, False), ("¡Hola! ¿En qué te ayudo?", 1, False),
                         ("quiero hablar con una persona", 0, False)]
    note, private = turns[3][0], turns[3][2]
    assert private and "pedido_del_cliente" in note and "Cliente: hola" in note and "Fuera de horario" in note
    assert turns[4] == ("¿hay alguien?", 0, False)
    assert [r.kind for r in unsent(engine)] == ["notify"]
    with engine.connect() as conn:
        row = conn.execute(sa.select(handoffs)).mappings().one()
        mapped = conn.execute(sa.select(conversations)).mappings().one()
    assert row["helpdesk_conversation_id"] == mapped["conversation_id"] and mapped["source_id"] == ANA

    add_rows(engine, ANA, ("handback", {"by": "helpdesk"}), ("message_in", message("gracias")))
    assert await mirror(engine, client).drain() == 2
    assert await status_of(chatwoot, ANA) == "pending"  # the bot has it again, and stays pending
    assert (await chat(chatwoot, ANA))[-2:][1] == ("gracias", 0, False)


async def test_chatwoot_down_then_back_catches_up_in_order_exactly_once(
        chatwoot: Chatwoot, client: ChatwootClient, engine: sa.engine.Engine) -> None:
    await chatwoot.faults({"status": 503, "count": 1000})
    worker = mirror(engine, client, lanes=3)
    worker.start()
    try:
        texts = [f"mensaje {n}" for n in range(6)]
        for n, text in enumerate(texts):  # the turns go on while Chatwoot is down: only rows are written
            add_rows(engine, ANA, ("message_in", message(text, n)))
            add_rows(engine, LUIS, ("message_in", message(text, n)))
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        assert len(unsent(engine)) == 12
        await chatwoot.clear_faults()
        for _ in range(200):
            if not unsent(engine):
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    assert unsent(engine) == []
    for phone in (ANA, LUIS):
        assert await chat(chatwoot, phone) == [(text, 0, False) for text in texts]
    with engine.connect() as conn:
        errors = conn.execute(sa.text("SELECT count(*) FROM helpdesk_outbox WHERE last_error LIKE 'unavailable%'"))
        assert errors.scalar() >= 2  # the outage was seen and recorded


async def test_an_answer_lost_after_chatwoot_stored_the_message_is_not_doubled(
        chatwoot: Chatwoot, client: ChatwootClient, engine: sa.engine.Engine) -> None:
    add_rows(engine, ANA, ("message_in", message("primero")))
    worker = mirror(engine, client)
    await worker.drain()
    # Chatwoot stores the next message only after our 2 s timeout: we never hear it succeeded
    await chatwoot.faults({"delay_ms": 3000, "path": "/messages", "method": "POST"})
    add_rows(engine, ANA, ("message_in", message("segundo")), ("message_in", message("tercero")))
    assert await worker.run_once() == 1
    assert len(unsent(engine)) == 2
    await asyncio.sleep(1.5)  # the stalled request lands in Chatwoot
    for _ in range(100):
        await worker.drain()
        if not unsent(engine):
            break
        await asyncio.sleep(0.05)
    assert await chat(chatwoot, ANA) == [("primero", 0, False), ("segundo", 0, False), ("tercero", 0, False)]


async def test_two_workers_on_one_database_never_double(chatwoot: Chatwoot, client: ChatwootClient,
                                                        engine: sa.engine.Engine) -> None:
    other = ChatwootClient(chatwoot.url, client.account_id, client.inbox_id, "helpdesk-test-token", timeout=2.0)
    phones = [f"+52155122200{n:02d}" for n in range(4)]
    for phone in phones:
        add_rows(engine, phone, *[("message_in", message(f"{phone} #{n}", n)) for n in range(5)])
    workers = [mirror(engine, client, lanes=2), mirror(engine, other, lanes=2)]
    for worker in workers:
        worker.start()
    try:
        for _ in range(200):
            if not unsent(engine):
                break
            await asyncio.sleep(0.05)
    finally:
        for worker in workers:
            await worker.stop()
        await other.aclose()
    assert unsent(engine) == []
    for phone in phones:
        assert await chat(chatwoot, phone) == [(f"{phone} #{n}", 0, False) for n in range(5)]


async def test_a_row_chatwoot_refuses_for_good_does_not_block_the_rest(
        chatwoot: Chatwoot, client: ChatwootClient, engine: sa.engine.Engine) -> None:
    add_rows(engine, ANA, ("message_in", message("x" * 150_001)), ("message_in", message("sigue")))
    assert await mirror(engine, client).drain() == 2
    assert await chat(chatwoot, ANA) == [("sigue", 0, False)]
    with engine.connect() as conn:
        first = conn.execute(sa.text("SELECT sent_at, last_error FROM helpdesk_outbox ORDER BY id LIMIT 1")).one()
    assert first.sent_at is not None and first.last_error.startswith("rejected")


async def test_a_conversation_deleted_in_chatwoot_gets_a_new_one(chatwoot: Chatwoot, client: ChatwootClient,
                                                                 engine: sa.engine.Engine) -> None:
    add_rows(engine, ANA, ("message_in", message("hola")))
    worker = mirror(engine, client)
    await worker.drain()
    with engine.begin() as conn:  # as if an admin deleted it: our cached id now answers 404
        conn.execute(conversations.update().values(conversation_id="9999"))
    add_rows(engine, ANA, ("message_in", message("¿sigues ahí?")))
    for _ in range(50):
        await worker.drain()
        if not unsent(engine):
            break
        await asyncio.sleep(0.05)
    state = await chatwoot.state()
    assert len(state["conversations"]) == 2 and unsent(engine) == []

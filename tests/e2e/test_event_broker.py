"""End to end: a scripted conversation through the webhook reaches the event broker's queue on the machine's
RabbitMQ, in order and redacted exactly like the conversation log (the shared stack streams to a queue of
its own, see conftest.py)."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterator, List

import httpx
import pytest
import sqlalchemy as sa

from rasa_project.devtools.local_stack import LocalStack
from tests.broker.support import QueueReader, rabbitmq_up
from tests.e2e.support import WhatsAppClient, wait_until

pytestmark = pytest.mark.e2e

CARD = "4242 4242 4242 4242"


@pytest.fixture(scope="session")
def events_queue(stack: LocalStack) -> Iterator[str]:
    """The stack's queue (the stack fixture deletes it, with its exchange, when the session ends)."""
    if not rabbitmq_up():
        pytest.fail("RabbitMQ is not reachable at 127.0.0.1:5672 (start it: rabbitmq-server -detached)")
    yield stack.env["EVENT_BROKER_QUEUE"]


def logged_events(engine: sa.engine.Engine, sender: str) -> List[Dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}).all()
    return [json.loads(row.data) for row in rows]


async def test_a_conversation_streams_in_order_redacted(
    stack: LocalStack, events_queue: str, client: WhatsAppClient, http: httpx.AsyncClient,
    log_engine: sa.engine.Engine,
) -> None:
    await client.say("hola")
    assert (await client.send(f"quiero pagar con mi tarjeta {CARD}")).status_code == 200
    await client.replies(1)

    def both_turns_logged() -> bool:  # the tracker is saved (and streamed) after the replies went out
        events = logged_events(log_engine, client.phone)
        return [e["event"] for e in events].count("user") == 2 and events[-1].get("name") == "action_listen"

    await wait_until(both_turns_logged)
    logged = logged_events(log_engine, client.phone)
    async with QueueReader(events_queue) as reader:
        streamed = await reader.take(len(logged), timeout=30, sender_id=client.phone)
        streamed += await reader.take(1, timeout=2, sender_id=client.phone)  # nothing more than the log has

    assert [{k: v for k, v in e.items() if k != "sender_id"} for e in streamed] == logged  # same events, order, masks
    kinds = [e["event"] for e in streamed]
    first_user, second_user = [i for i, kind in enumerate(kinds) if kind == "user"]
    assert "session_started" in kinds[:first_user], kinds
    assert "bot" in kinds[first_user:second_user] and "bot" in kinds[second_user:]  # user → actions → bot, twice
    assert streamed[first_user]["text"] == "hola"
    assert streamed[second_user]["text"] == "quiero pagar con mi tarjeta [tarjeta •••• 4242]"
    assert CARD not in json.dumps(streamed)

    metrics = (await http.get(f"http://127.0.0.1:{stack.ports.rasa}/webhooks/whatsapp/metrics")).text
    published = re.search(r'^assistant_event_broker_events_total\{outcome="published"\} (\S+)$', metrics, re.M)
    assert published is not None and float(published.group(1)) >= len(streamed)

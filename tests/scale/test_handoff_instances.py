"""A handoff is the conversation's state, not an instance's: started on one Rasa instance, the other stays
silent too, and so does an instance that restarted meanwhile (the pause lives in the Postgres tracker and
the handoffs table, both shared)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from rasa_project.devtools.local_stack import LocalStack
from tests.scale.support import (
    inbox_statuses,
    new_numbers,
    post_message,
    query,
    replies_by_number,
    wait_for_reply_counts,
)

pytestmark = pytest.mark.slow


async def processed(scale_db: str, number: str, count: int, timeout: float = 60) -> None:
    """Wait until the inbox has finished `count` messages of `number` (answered or not)."""
    for _ in range(int(timeout / 0.5)):
        if inbox_statuses(scale_db, [number]) == {"done": count}:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"inbox of {number}: {inbox_statuses(scale_db, [number])}, expected {count} done")


async def test_a_handoff_is_honoured_by_the_other_instance_and_after_a_restart(
    stack: LocalStack, scale_db: str, http: httpx.AsyncClient
) -> None:
    [number] = new_numbers(1)
    assert (await post_message(http, stack, 0, number, "quiero hablar con una persona")).status_code == 200
    [handoff] = (await wait_for_reply_counts(http, stack, {number: 1}, timeout=60))[number]
    assert "persona del equipo" in handoff, handoff
    assert query(scale_db, "SELECT state FROM handoffs WHERE sender_id = :s", s=number) == [("human",)]

    for body in ("hola?", "ayuda"):  # the other instance: logged, not answered
        assert (await post_message(http, stack, 1, number, body)).status_code == 200
    await processed(scale_db, number, 3)
    await asyncio.to_thread(stack.restart, "rasa1", 240)
    assert (await post_message(http, stack, 1, number, "sigue alguien ahí?")).status_code == 200
    await processed(scale_db, number, 4)
    await asyncio.sleep(2)  # a late reply would show

    assert (await replies_by_number(http, stack, [number]))[number] == [handoff]
    texts = [row[0] for row in query(scale_db, "SELECT data::jsonb ->> 'text' FROM events WHERE sender_id = :s "
                                               "AND type_name = 'user' ORDER BY id", s=number)]
    assert texts == ["quiero hablar con una persona", "hola?", "ayuda", "sigue alguien ahí?"]
    assert query(scale_db, "SELECT state FROM handoffs WHERE sender_id = :s", s=number) == [("human",)]

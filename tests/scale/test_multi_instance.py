"""Two Rasa instances behind one public URL: 20 clients writing at once, each client's messages landing
on both instances one after the other (as a load balancer spreads them). Every message must be
answered exactly once and in order, although the instances share only Postgres and Redis.
"""

from __future__ import annotations

import asyncio
import re
from typing import Dict, List

import httpx
import pytest

from rasa_project.devtools.local_stack import LocalStack
from tests.scale.support import (
    GREETING,
    MENU,
    events_of,
    inbox_statuses,
    new_numbers,
    post_message,
    query,
    wait_for_reply_counts,
)

pytestmark = pytest.mark.slow

SENDERS = 20
MESSAGES = ("hola", "ayuda", "hola", "ayuda")  # distinct deterministic replies, so order shows
EXPECTED_REPLY_START = {"hola": GREETING, "ayuda": MENU}


async def turns_by_instance(http: httpx.AsyncClient, stack: LocalStack) -> List[float]:
    """`assistant_turns_total{outcome="ok"}` of each instance (Prometheus text format)."""
    counts = []
    for port in stack.rasa_ports:
        text = (await http.get(f"http://127.0.0.1:{port}/webhooks/whatsapp/metrics")).text
        match = re.search(r'^assistant_turns_total\{outcome="ok"\} ([0-9.e+]+)$', text, re.M)
        counts.append(float(match.group(1)) if match else 0.0)
    return counts


async def test_twenty_clients_across_two_instances_answered_once_and_in_order(
    stack: LocalStack, scale_db: str, http: httpx.AsyncClient
) -> None:
    for port in stack.rasa_ports:  # both instances up (earlier tests kill and restart one)
        health = await http.get(f"http://127.0.0.1:{port}/webhooks/whatsapp/")
        assert health.status_code == 200, f"instance :{port} unhealthy before the test: {health.text}"
    turns_before = await turns_by_instance(http, stack)
    numbers = new_numbers(SENDERS)
    acked: Dict[str, List[str]] = {n: [] for n in numbers}

    async def client(index: int, number: str) -> None:
        # Each message goes to the other instance than the previous one, right after its ack: the
        # instances receive one client's messages while the previous one is still being processed.
        for position, body in enumerate(MESSAGES):
            response = await post_message(http, stack, (index + position) % 2, number, body)
            assert response.status_code == 200, f"{number} message {position}: {response.status_code}"
            acked[number].append(body)

    await asyncio.wait_for(asyncio.gather(*(client(i, n) for i, n in enumerate(numbers))), timeout=60)
    sent = sum(len(bodies) for bodies in acked.values())
    expected_counts = {n: len(MESSAGES) for n in numbers}
    replies = await wait_for_reply_counts(http, stack, expected_counts, timeout=150)

    answered = sum(min(len(replies[n]), len(MESSAGES)) for n in numbers)
    extra = {n: len(r) - len(MESSAGES) for n, r in replies.items() if len(r) != len(MESSAGES)}
    turns_after = await turns_by_instance(http, stack)
    split = [after - before for before, after in zip(turns_before, turns_after, strict=True)]
    print(f"\nmulti-instance: {sent} sent, {answered} answered, turns per instance {split}")
    assert answered == sent == SENDERS * len(MESSAGES), f"{answered}/{sent} answered"
    assert not extra, f"reply count per sender differs from message count (extra or missing): {extra}"

    out_of_order = {n: [r[:25] for r in replies[n]] for n in numbers
                    if not all(r.startswith(EXPECTED_REPLY_START[m])
                               for m, r in zip(MESSAGES, replies[n], strict=True))}
    assert not out_of_order, f"{len(out_of_order)}/{SENDERS} senders got replies out of order: {out_of_order}"

    statuses = inbox_statuses(scale_db, numbers)
    assert statuses == {"done": sent}, f"inbox statuses for {sent} messages: {statuses}"
    attempts = query(scale_db, "SELECT attempts, count(*) FROM whatsapp_inbox WHERE sender_id = ANY(:s) "
                               "GROUP BY attempts ORDER BY attempts", s=numbers)
    print(f"inbox attempts histogram: {[(a, c) for a, c in attempts]}")

    events = events_of(scale_db, numbers)
    user_texts = {n: [e["text"] for e in events[n] if e["type"] == "user"] for n in numbers}
    wrong_user_order = {n: t for n, t in user_texts.items() if t != list(MESSAGES)}
    assert not wrong_user_order, \
        f"{len(wrong_user_order)}/{SENDERS} senders' user events not as sent: {wrong_user_order}"
    # The tracker interleaves each message with its answer: user, bot, user, bot, ... in id order, and
    # each bot event is the answer to the user event before it.
    bad_tracker = {}
    for n in numbers:
        sequence = [e for e in events[n] if e["type"] in ("user", "bot")]
        kinds = [e["type"] for e in sequence]
        bots = [e["text"] or "" for e in sequence if e["type"] == "bot"]
        if kinds != ["user", "bot"] * len(MESSAGES) or \
                not all(b.startswith(EXPECTED_REPLY_START[m]) for m, b in zip(MESSAGES, bots, strict=True)):
            bad_tracker[n] = [(e["type"], (e["text"] or "")[:20]) for e in sequence]
    assert not bad_tracker, f"{len(bad_tracker)}/{SENDERS} trackers not user/bot alternating in order: {bad_tracker}"
    assert all(s > 0 for s in split), f"one instance processed no turn: turns per instance {split}"

"""With several instances (a shared lock store), a busy instance hands a sender on instead of claiming its
next message itself (`connectors/whatsapp/worker.py`): the first free instance runs it. Alone (Rasa's
in-memory lock store), or with no other turn running, the drain keeps the sender."""

from __future__ import annotations

import asyncio
from typing import Dict, List, Tuple

import pytest

from connectors.whatsapp.inbox_store import Claim, InboxRow
from connectors.whatsapp.worker import InboxWorker
from rasa_project.settings import Settings


def row(row_id: int, sender: str) -> InboxRow:
    return InboxRow(row_id, f"SM{row_id}", sender, None, "hola", {}, None, "processing", 1, None)  # type: ignore[arg-type]


class Inbox:
    """Each sender's queue of row ids; claims pop them in order. Records hand-offs."""

    def __init__(self, queues: Dict[str, List[int]], notify: bool) -> None:
        self.queues = queues
        self.notify = notify
        self.claims: List[Tuple[str, int]] = []
        self.handed_off: List[str] = []

    def claim_next(self, sender_id: str, owner: str, lease: float, window: float) -> Claim:
        queue = self.queues[sender_id]
        if not queue:
            return Claim(None)
        row_id = queue.pop(0)
        self.claims.append((sender_id, row_id))
        return Claim(row(row_id, sender_id), more=bool(queue))

    def hand_off(self, sender_id: str) -> None:
        self.handed_off.append(sender_id)


class Processor:
    """A turn takes `seconds[sender]`; `local`: the lock store is this process's own."""

    def __init__(self, seconds: Dict[str, float], local: bool) -> None:
        self.seconds = seconds
        self.local = local

    async def process(self, claimed: InboxRow) -> bool:
        await asyncio.sleep(self.seconds[claimed.sender_id])
        return True

    def lock_is_local(self) -> bool:
        return self.local


async def run(local: bool, seconds: Dict[str, float], notify: bool = True) -> Inbox:
    inbox = Inbox({"A": [1, 2], "B": [3]}, notify)
    worker = InboxWorker(Settings(), inbox, Processor(seconds, local), "me")  # type: ignore[arg-type]
    worker.wake("B", row_id=3)
    worker.wake("A", row_id=2)
    for _ in range(100):
        await asyncio.sleep(0.02)
        if not worker._drains:
            break
    return inbox


async def test_a_busy_instance_hands_the_sender_on() -> None:
    inbox = await run(local=False, seconds={"A": 0.05, "B": 0.5})  # B's turn still runs when A's ends
    assert inbox.handed_off == ["A"]
    assert ("A", 2) not in inbox.claims, "the next message is left for whichever instance is free"


@pytest.mark.parametrize("local, seconds, notify", [
    (True, {"A": 0.05, "B": 0.5}, True),    # alone: nobody to hand on to
    (False, {"A": 0.05, "B": 0.01}, True),  # shared, but nothing else runs
    (False, {"A": 0.05, "B": 0.5}, False),  # no NOTIFY (INBOX_NOTIFY=false): the others would only see it at a poll
])
async def test_otherwise_the_drain_keeps_the_sender(local: bool, seconds: Dict[str, float], notify: bool) -> None:
    inbox = await run(local, seconds, notify)
    assert inbox.handed_off == []
    assert sorted(inbox.claims) == [("A", 1), ("A", 2), ("B", 3)]

"""The load loop of the channel benchmark: closed-loop senders, reply collection, per-message timings.

Each sender is one WhatsApp client who writes a message, waits until the bot fully answered it, then
writes the next one (people wait for the reply). A message is fully answered when the expected number
of replies for its position reached the Twilio sandbox (counted beforehand by a calibration sender
running the same conversation, which also warms the model), or, for the REST channel, when the HTTP
response came back (it carries the replies). Everything is bounded: per-reply timeout and a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Dict, List, Optional, Sequence

import httpx

from rasa_project.devtools.whatsapp_simulator import build_inbound_form, poll_replies, post_inbound, whatsapp_address

Post = Callable[[httpx.AsyncClient, str, str], Awaitable[httpx.Response]]


@dataclass
class Target:
    """How one variant receives a message; `synchronous`: the HTTP response is the answer (REST)."""

    name: str
    post: Post
    synchronous: bool = False


@dataclass
class Outcome:
    acks: List[float] = field(default_factory=list)  # seconds, HTTP response time of each post
    turns: List[float] = field(default_factory=list)  # seconds, post → last reply recorded
    first_post: Optional[float] = None
    last_answer: Optional[float] = None
    sent: int = 0
    answered: int = 0
    http_errors: int = 0
    timeouts: int = 0

    @property
    def wall(self) -> Optional[float]:
        if self.first_post is None or self.last_answer is None:
            return None
        return self.last_answer - self.first_post


def twilio_target(name: str, urls: Sequence[str], auth_token: str, signed_url: Optional[str] = None) -> Target:
    """Signed Twilio webhook posts, alternating over `urls` (several instances, no load balancer)."""
    counter = {"n": 0}

    async def post(client: httpx.AsyncClient, phone: str, text: str) -> httpx.Response:
        url = urls[counter["n"] % len(urls)]
        counter["n"] += 1
        form = build_inbound_form(phone, text, profile_name="Cliente bench")
        return await post_inbound(url, form, auth_token, signed_url=signed_url, client=client)

    return Target(name, post)


def rest_target(url: str) -> Target:
    async def post(client: httpx.AsyncClient, phone: str, text: str) -> httpx.Response:
        return await client.post(url, json={"sender": phone, "message": text})

    return Target("rest", post, synchronous=True)


class ReplyCollector:
    """One long-poll of the sandbox for every recipient; stamps each reply when it is seen."""

    def __init__(self, sandbox_url: str) -> None:
        self.sandbox_url = sandbox_url
        self.seen: Dict[str, List[float]] = defaultdict(list)
        self._changed = asyncio.Condition()
        self._task: Optional[asyncio.Task] = None

    async def __aenter__(self) -> ReplyCollector:
        self._client = httpx.AsyncClient(timeout=30)
        _, after = await poll_replies(self._client, self.sandbox_url, None, 0, 0)
        self._task = asyncio.create_task(self._run(after))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._client.aclose()

    async def _run(self, after: int) -> None:
        while True:
            found, after = await poll_replies(self._client, self.sandbox_url, None, after, 5.0)
            now = time.perf_counter()
            if found:
                async with self._changed:
                    for message in found:
                        self.seen[message["to"]].append(now)
                    self._changed.notify_all()

    async def wait_count(self, address: str, count: int, timeout: float) -> Optional[float]:
        """When the `count`-th reply to `address` was seen, or None after `timeout` seconds."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(self.seen[address]) >= count), timeout)
            except asyncio.TimeoutError:
                return None
        return self.seen[address][count - 1]

    async def settle(self, address: str, first_timeout: float, quiet: float) -> int:
        """How many replies `address` got: wait for at least one, then until none came for `quiet` s."""
        if await self.wait_count(address, 1, first_timeout) is None:
            return 0
        while True:
            count = len(self.seen[address])
            if await self.wait_count(address, count + 1, quiet) is None:
                return count


async def calibrate(target: Target, collector: ReplyCollector, client: httpx.AsyncClient, phone: str,
                    texts: Sequence[str], quiet: float = 1.5) -> List[int]:
    """Replies per position of the conversation `texts` (also the warm-up of the instance)."""
    counts: List[int] = []
    address = whatsapp_address(phone)
    for text in texts:
        before = len(collector.seen[address])
        response = await target.post(client, phone, text)
        response.raise_for_status()
        if target.synchronous:
            counts.append(len(response.json()))
            continue
        counts.append(await collector.settle(address, 90.0, quiet) - before)
    return counts


async def converse(target: Target, collector: ReplyCollector, client: httpx.AsyncClient, phone: str,
                   texts: Sequence[str], expected: Sequence[int], outcome: Outcome, reply_timeout: float) -> None:
    address, total = whatsapp_address(phone), 0
    for text, count in zip(texts, expected, strict=True):
        started = time.perf_counter()
        outcome.first_post = started if outcome.first_post is None else min(outcome.first_post, started)
        outcome.sent += 1
        try:
            response = await target.post(client, phone, text)
        except httpx.HTTPError:
            outcome.http_errors += 1
            return
        acked = time.perf_counter()
        outcome.acks.append(acked - started)
        if response.status_code >= 300:
            outcome.http_errors += 1
            return
        total += count
        if target.synchronous:
            answered: Optional[float] = acked
        else:
            answered = await collector.wait_count(address, total, reply_timeout)
        if answered is None:
            outcome.timeouts += 1
            return
        outcome.answered += 1
        outcome.turns.append(answered - started)
        outcome.last_answer = answered if outcome.last_answer is None else max(outcome.last_answer, answered)


async def run_load(target: Target, collector: ReplyCollector, client: httpx.AsyncClient, phones: Sequence[str],
                   texts: Sequence[str], expected: Sequence[int], concurrency: int, reply_timeout: float,
                   deadline: float) -> Outcome:
    """All senders' conversations, at most `concurrency` at once, stopped at `deadline` seconds."""
    outcome = Outcome()
    semaphore = asyncio.Semaphore(concurrency)

    async def one(phone: str) -> None:
        async with semaphore:
            await converse(target, collector, client, phone, texts, expected, outcome, reply_timeout)

    tasks = [asyncio.create_task(one(phone)) for phone in phones]
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.result()
    return outcome

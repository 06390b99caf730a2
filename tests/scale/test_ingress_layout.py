"""The production layout (docs/deployment.md): an ingress process serves Twilio's webhook (signed → inbox row
with a NOTIFY → empty TwiML), and two Rasa processes, which serve no webhook (`CHANNEL_SERVE_WEBHOOK=false`)
and share a Redis lock store, race for each NOTIFY'd row (or find it by their pollers). 20 clients × 3
messages answered once and in order, by both processes; the ingress killed with SIGKILL mid-load and
restarted (clients re-post what was not acked, as Twilio does); one Rasa process killed mid-load (the other
takes over its leased rows once their lease expires) and restarted. Each time: nothing lost, nothing
answered twice (counts asserted).
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import httpx
import pytest

from rasa_project.devtools.local_stack import LocalStack, StackPorts
from rasa_project.devtools.throwaway_db import throwaway_database
from tests.scale.support import (
    AUTH_TOKEN,
    BOOKING_TOKEN,
    WEBHOOK_PATH,
    inbox_statuses,
    new_numbers,
    post_message,
    post_until_acked,
    wait_for_reply_counts,
)
from tests.scale.test_faults import unexpected_replies

pytestmark = pytest.mark.slow

SENDERS = 20
MESSAGES = ("hola", "ayuda", "hola")
LOCK_STORE_URL = "redis://127.0.0.1:6379/6"  # not the scale stack's db 5: this module's stack is its own


@pytest.fixture(scope="module")
def ingress_db() -> Iterator[str]:
    with throwaway_database("t_ingress") as url:
        yield url


@pytest.fixture(scope="module")
def layout(model_path: Path, ingress_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("ingress")
    assistant = LocalStack(
        ports=StackPorts.free(), model=model_path, tracker_db_url=ingress_db,
        booking_db_url=f"sqlite:///{tmp / 'booking.db'}", log_dir=tmp / "logs", with_ingress=True,
        rasa_instances=2,
        extra_env={
            "REDIS_URL": LOCK_STORE_URL,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "BOOKING_API_TOKEN": BOOKING_TOKEN,
            "INBOX_LEASE_SECONDS": "6",
            "INBOX_POLL_SECONDS": "2",
            "INBOX_RETRY_BASE_SECONDS": "0.3",
            "OUTBOUND_BACKOFF_BASE_SECONDS": "0.05",
            "OUTBOUND_BACKOFF_MAX_SECONDS": "0.2",
        },
    )
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        assistant.start(timeout=400)
        yield assistant
    finally:
        assistant.stop()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


async def rasa_metric(http: httpx.AsyncClient, port: int, series: str) -> float:
    """One series of the Rasa process on `port` (0 while it has not counted any)."""
    text = (await http.get(f"http://127.0.0.1:{port}/webhooks/whatsapp/metrics")).text
    match = re.search(rf"^{re.escape(series)} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


async def per_rasa_process(http: httpx.AsyncClient, stack: LocalStack, series: str) -> List[float]:
    return [await rasa_metric(http, port, series) for port in stack.rasa_ports]


async def load(http: httpx.AsyncClient, stack: LocalStack, numbers: List[str],
               fault: Callable[[], Any]) -> Dict[str, List[str]]:
    """Each client posts its messages one after the other, re-posting (same MessageSid) until acked; `fault`
    runs once half the messages were posted. The bodies acked per number."""
    acked: Dict[str, List[str]] = {n: [] for n in numbers}
    posted = {"count": 0}
    halfway = asyncio.Event()

    async def client(number: str) -> None:
        for body in MESSAGES:
            if await post_until_acked(http, stack, [0], number, body, attempts=80, pause=0.5):
                acked[number].append(body)
            posted["count"] += 1
            if posted["count"] >= len(numbers) * len(MESSAGES) // 2:
                halfway.set()
            await asyncio.sleep(0.2)

    async def injector() -> None:
        await halfway.wait()
        await fault()

    await asyncio.wait_for(asyncio.gather(injector(), *(client(n) for n in numbers)), timeout=240)
    return acked


def check(replies: Dict[str, List[str]], acked: Dict[str, List[str]], statuses: Dict[str, int], label: str) -> None:
    sent = sum(len(b) for b in acked.values())
    answered = sum(min(len(replies[n]), len(acked[n])) for n in acked)
    twice = {n: len(replies[n]) - len(acked[n]) for n in acked if len(replies[n]) > len(acked[n])}
    print(f"\n{label}: {sent}/{SENDERS * len(MESSAGES)} acked, {answered} answered, duplicates {twice}, "
          f"inbox {statuses}")
    assert sent == SENDERS * len(MESSAGES), f"{label}: {sent}/{SENDERS * len(MESSAGES)} messages acked"
    assert answered == sent, f"{label}: {answered}/{sent} acked messages answered"
    assert not twice, f"{label}: {sum(twice.values())} of {sent} messages answered twice: {twice}"
    wrong = unexpected_replies(replies, acked)
    assert not wrong, f"{label}: replies out of order: {wrong}"
    assert statuses == {"done": sent}, f"{label}: inbox statuses {statuses}"


async def test_twenty_clients_through_the_ingress_answered_once_and_in_order(
    layout: LocalStack, ingress_db: str, http: httpx.AsyncClient
) -> None:
    assert len(layout.rasa_ports) == 2
    for port in layout.rasa_ports:
        rasa_webhook = await http.post(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", data={})
        assert rasa_webhook.status_code == 404, f"the Rasa process on {port} serves no webhook in this layout"
    live = (await http.get(f"http://127.0.0.1:{layout.ports.ingress}/webhooks/whatsapp/")).json()
    assert live["role"] == "ingress", live
    notify, turns = 'whatsapp_inbox_wakeups_total{source="notify"}', 'assistant_turns_total{outcome="ok"}'
    notified_before = sum(await per_rasa_process(http, layout, notify))
    turns_before = await per_rasa_process(http, layout, turns)
    numbers = new_numbers(SENDERS)
    acked: Dict[str, List[str]] = {n: [] for n in numbers}

    async def client(number: str) -> None:
        for body in MESSAGES:
            response = await post_message(http, layout, 0, number, body)
            assert response.status_code == 200, f"{number}: {response.status_code}"
            acked[number].append(body)

    await asyncio.wait_for(asyncio.gather(*(client(n) for n in numbers)), timeout=60)
    replies = await wait_for_reply_counts(http, layout, {n: len(MESSAGES) for n in numbers}, timeout=180)
    notified = sum(await per_rasa_process(http, layout, notify)) - notified_before
    ran = [after - before for after, before in zip(await per_rasa_process(http, layout, turns), turns_before,
                                                   strict=True)]
    print(f"\ningress layout: {notified:.0f} wake-ups by NOTIFY for {SENDERS * len(MESSAGES)} messages; "
          f"turns per Rasa process {ran}")
    check(replies, acked, inbox_statuses(ingress_db, numbers), "ingress layout")
    assert notified >= 1, "no Rasa worker was ever woken by the ingress's NOTIFY"
    assert all(count > 0 for count in ran), f"one Rasa process ran no turn of the 60: {ran}"


async def test_ingress_killed_mid_load_loses_and_repeats_nothing(
    layout: LocalStack, ingress_db: str, http: httpx.AsyncClient
) -> None:
    numbers = new_numbers(SENDERS)

    async def kill_and_restart() -> None:
        layout.kill("ingress")  # SIGKILL: requests in flight get no answer; clients re-post them
        await asyncio.to_thread(layout.restart, "ingress", 120)

    acked = await load(http, layout, numbers, kill_and_restart)
    replies = await wait_for_reply_counts(http, layout, {n: len(b) for n, b in acked.items()}, timeout=180)
    check(replies, acked, inbox_statuses(ingress_db, numbers), "ingress kill -9")


async def test_one_rasa_worker_killed_mid_load_loses_and_repeats_nothing(
    layout: LocalStack, ingress_db: str, http: httpx.AsyncClient
) -> None:
    numbers = new_numbers(SENDERS)
    restarted: List[asyncio.Task] = []

    async def kill_and_restart() -> None:
        # SIGKILL mid-turn: the other Rasa process goes on, and takes the killed one's leased rows once
        # their lease (INBOX_LEASE_SECONDS) expires
        layout.kill("rasa")
        restarted.append(asyncio.create_task(asyncio.to_thread(layout.restart, "rasa", 300)))

    try:
        acked = await load(http, layout, numbers, kill_and_restart)  # the ingress keeps acking meanwhile
        replies = await wait_for_reply_counts(http, layout, {n: len(b) for n, b in acked.items()}, timeout=300)
    finally:
        await asyncio.gather(*restarted)
    check(replies, acked, inbox_statuses(ingress_db, numbers), "Rasa kill -9")

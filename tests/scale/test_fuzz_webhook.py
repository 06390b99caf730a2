"""Hostile traffic at the webhook over real HTTP: ≥10,000 seeded random form bodies, signed and not.

The channel's blueprint runs in a small Sanic app (as `rasa run` mounts it) with an echo turn instead
of Rasa, on a throwaway Postgres database, replies going to the Twilio sandbox. What must hold:
never a 5xx, every request without a valid signature is refused (403) and writes nothing, and the
server still answers a normal signed message at the end.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from dataclasses import replace
from typing import Dict, Iterator, List, Optional, Tuple

import httpx
import pytest
import sqlalchemy as sa
from aiohttp import web
from twilio.request_validator import RequestValidator

from rasa_project.devtools.local_stack import free_port
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.devtools.whatsapp_simulator import build_inbound_form, post_inbound, wait_for_replies
from rasa_project.sandboxes.twilio_api import create_app
from rasa_project.settings import Settings
from tests.connector.support import ACCOUNT_SID, AUTH_TOKEN, Channel, echo
from tests.scale.fuzz_bodies import FORM, FuzzCase, HostileForms, encode_pairs, signed_params

pytestmark = pytest.mark.slow

SEED = 20241126
CASES = 10_000
CONCURRENCY = 16
TIME_BUDGET_SECONDS = 300.0  # a bound, not a target: ~65 s on an idle 2-core box, ~140 s under load 7


@pytest.fixture
def fuzz_db() -> Iterator[str]:
    with throwaway_database("t_scale_fuzz") as url:
        yield url


@pytest.fixture
async def sandbox_url() -> Iterator[str]:
    port = free_port()
    runner = web.AppRunner(create_app(ACCOUNT_SID, AUTH_TOKEN, status_delays=(0.05, 0.05, 0.05)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def channel(fuzz_db: str, sandbox_url: str) -> Iterator[Channel]:
    settings = Settings(
        twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, twilio_api_base_url=sandbox_url,
        tracker_db_url=fuzz_db, outbound_backoff_base_seconds=0.01, outbound_backoff_max_seconds=0.05,
        inbox_poll_seconds=0.5, inbox_retry_base_seconds=0.05, twilio_timeout_seconds=5.0,
    )
    running = await Channel(replace(settings), echo).start()
    yield running
    await running.stop()


def inbox_count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM whatsapp_inbox")).scalar())
    finally:
        engine.dispose()


def bad_signature(rng: random.Random, webhook_url: str, case: FuzzCase) -> Tuple[str, Optional[str]]:
    """A signature that must not pass: none, garbage, another token's, or a valid one for another form."""
    mode = rng.choice(("missing", "empty", "garbage", "wrong_token", "tampered"))
    params = signed_params(case) or {}
    if mode == "missing":
        return mode, None
    if mode == "empty":
        return mode, ""
    if mode == "garbage":
        return mode, rng.choice(("x", "=" * 28, "AAAA" * 7, "<script>", "' OR 1=1 --"))
    if mode == "wrong_token":
        return mode, RequestValidator("not-the-token").compute_signature(webhook_url, params)
    other = dict(params) if params else {}
    other["Body"] = ["otro texto"]
    from sanic.request import RequestParameters
    return mode, RequestValidator(AUTH_TOKEN).compute_signature(webhook_url, RequestParameters(other))


def good_signature(webhook_url: str, case: FuzzCase) -> Optional[str]:
    params = signed_params(case)
    return None if params is None else RequestValidator(AUTH_TOKEN).compute_signature(webhook_url, params)


async def post_timed(http: httpx.AsyncClient, url: str, case: FuzzCase, signature: Optional[str]) -> Tuple[int, float]:
    started = time.monotonic()
    headers = {"Content-Type": case.content_type or FORM, **({"X-Twilio-Signature": signature} if signature else {})}
    response = await http.post(url, content=case.body, headers=headers)
    return response.status_code, time.monotonic() - started


async def health_latency(http: httpx.AsyncClient, url: str) -> float:
    """How long a health check takes while the big body is being handled (the event loop's stall)."""
    await asyncio.sleep(0.5)
    started = time.monotonic()
    await http.get(url)
    return time.monotonic() - started


async def barrage(http: httpx.AsyncClient, url: str, requests: List[Tuple[FuzzCase, Optional[str]]],
                  deadline: float) -> Tuple[Counter, Counter, List[str]]:
    """Post every request (bounded concurrency); status counts, counts by kind of 5xx, 5xx samples."""
    statuses: Counter = Counter()
    server_errors: Counter = Counter()
    samples: List[str] = []
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty() and time.monotonic() < deadline:
            case, signature = queue.get_nowait()
            headers: Dict[str, str] = {}
            if case.content_type is not None:
                headers["Content-Type"] = case.content_type
            if signature is not None:
                headers["X-Twilio-Signature"] = signature
            response = await http.post(url, content=case.body, headers=headers)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                server_errors[case.kind] += 1
                if len(samples) < 5:
                    samples.append(f"{case.kind} {case.content_type!r} {case.body[:120]!r} → "
                                   f"{response.status_code} {response.text[:120]!r}")

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return statuses, server_errors, samples


@pytest.fixture
def quiet_channel_logs() -> Iterator[None]:
    """Ten thousand rejections log ten thousand warnings (some with 100 kB values): keep errors only."""
    logger = logging.getLogger("connectors.whatsapp")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


async def test_ten_thousand_hostile_bodies_never_5xx_and_forgeries_store_nothing(
    channel: Channel, sandbox_url: str, quiet_channel_logs: None
) -> None:
    generator = HostileForms(SEED)
    rng = random.Random(SEED + 1)
    url = channel.webhook_url
    cases = [generator.case() for _ in range(CASES)]
    huge = FuzzCase("10MB", encode_pairs(list(generator.base_form().items()) + [("Body", "ñ<" * 1_120_000)]), FORM)
    assert len(huge.body) >= 10_000_000, f"the big body is only {len(huge.body)} bytes"
    forged = [(case, bad_signature(rng, url, case)[1]) for case in cases[: CASES // 2]]
    signed = [(case, good_signature(url, case)) for case in cases[CASES // 2:]]
    started = time.monotonic()
    deadline = started + TIME_BUDGET_SECONDS
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        rows_before = await asyncio.to_thread(inbox_count, channel.settings.tracker_db_url)
        forged_statuses, forged_5xx, forged_samples = await barrage(http, url, forged, deadline)
        (huge_forged, huge_forged_seconds), stalled = await asyncio.gather(
            post_timed(http, url, huge, "AAAA"), health_latency(http, f"{channel.base}/webhooks/whatsapp/"))
        rows_after_forged = await asyncio.to_thread(inbox_count, channel.settings.tracker_db_url)
        signed_statuses, signed_5xx, signed_samples = await barrage(http, url, signed, deadline)
        huge_signed, huge_signed_seconds = await post_timed(http, url, huge, good_signature(url, huge))
        elapsed = time.monotonic() - started

        posted = sum(forged_statuses.values()) + sum(signed_statuses.values()) + 2
        print(f"\nfuzz: {posted} requests in {elapsed:.1f}s; forged {dict(forged_statuses)}; "
              f"signed {dict(signed_statuses)}; 10 MB body: forged → {huge_forged} in {huge_forged_seconds:.2f}s, "
              f"signed → {huge_signed} in {huge_signed_seconds:.2f}s; a health check meanwhile took {stalled:.2f}s")
        assert posted == len(forged) + len(signed) + 2 >= 10_000, \
            f"only {posted}/{len(forged) + len(signed) + 2} requests posted within {TIME_BUDGET_SECONDS:.0f}s"
        assert not forged_5xx and not signed_5xx, (
            f"5xx answers: forged {sum(forged_5xx.values())}/{len(forged)} {dict(forged_5xx)}, signed "
            f"{sum(signed_5xx.values())}/{len(signed)} {dict(signed_5xx)}; e.g. {forged_samples + signed_samples}")
        assert forged_statuses == Counter({403: len(forged)}) and huge_forged == 403, \
            f"requests without a valid signature not all refused with 403: {dict(forged_statuses)}, 10 MB {huge_forged}"
        assert rows_after_forged == rows_before, \
            f"{rows_after_forged - rows_before} inbox rows written by {len(forged) + 1} forged requests"
        assert huge_signed == 200, f"signed 10 MB body answered {huge_signed} in {huge_signed_seconds:.2f}s"
        accepted = signed_statuses[200]
        assert accepted > 0, f"no signed hostile request was accepted: {dict(signed_statuses)}"

        # Still up and still answering: a normal signed message from a fresh number gets its echo.
        number = "+5215599990001"
        response = await post_inbound(url, build_inbound_form(number, "hola, ¿siguen ahí?"), AUTH_TOKEN,
                                      client=http)
        assert response.status_code == 200, f"normal message after the barrage: {response.status_code}"
        [reply] = await wait_for_replies(sandbox_url, f"whatsapp:{number}", 0, timeout=30)
        assert reply["body"] == "eco: hola, ¿siguen ahí?", f"reply after the barrage: {reply['body']!r}"
        health = await http.get(f"{channel.base}/webhooks/whatsapp/")
        assert health.status_code == 200, f"health after the barrage: {health.status_code} {health.text}"

"""Fixtures for the channel's integration tests: a throwaway Postgres database per test, the Twilio
sandbox and a Sanic app hosting the channel's blueprint, both on free loopback ports in the test's loop.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, List

import httpx
import pytest
from aiohttp import web

from rasa_project.devtools.local_stack import free_port
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.sandboxes.twilio_api import create_app
from rasa_project.settings import Settings
from tests.connector.support import ACCOUNT_SID, AUTH_TOKEN, Channel, Handler, Sandbox, echo


@pytest.fixture
def pg_url():
    with throwaway_database("t_connector") as url:
        yield url


@pytest.fixture
async def sandbox():
    port = free_port()
    runner = web.AppRunner(create_app(ACCOUNT_SID, AUTH_TOKEN, status_delays=(0.02, 0.02, 0.02)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with httpx.AsyncClient(timeout=20) as client:
        yield Sandbox(f"http://127.0.0.1:{port}", client)
    await runner.cleanup()


@pytest.fixture
def settings(pg_url, sandbox) -> Settings:
    return Settings(
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base_url=sandbox.url,
        tracker_db_url=pg_url,
        outbound_backoff_base_seconds=0.01,
        outbound_backoff_max_seconds=0.05,
        outbound_max_attempts=4,
        inbox_poll_seconds=0.2,
        inbox_retry_base_seconds=0.05,
        inbox_max_attempts=3,
        twilio_timeout_seconds=5.0,
    )


@pytest.fixture
async def start_channel(settings):
    started: List[Channel] = []

    async def start(handler: Handler = echo, agent: Any = None, **overrides: Any) -> Channel:
        channel = await Channel(replace(settings, **overrides), handler, agent=agent).start()
        started.append(channel)
        return channel

    yield start
    for channel in reversed(started):
        await channel.stop()

"""The action endpoint the channel gives Rasa: a call that never gets its answer fails after the
configured timeout (Rasa's own waits 300 s), so the inbox can retry the turn."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import aiohttp
import pytest

from connectors.whatsapp.agent_setup import ActionEndpoint, configure_agent
from rasa_project.settings import Settings


async def test_a_call_the_action_server_never_answers_fails_after_the_total_timeout() -> None:
    async def accept_and_say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    endpoint = ActionEndpoint(f"http://127.0.0.1:{port}/webhook", "secret", connect_timeout=1.0, total_timeout=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(asyncio.TimeoutError):
            # what RemoteAction.run sends: timeout=DEFAULT_REQUEST_TIMEOUT (300 s), replaced by ours
            await asyncio.wait_for(endpoint.request(json={"next_action": "action_saludo"}, method="post",
                                                    timeout=300), timeout=20)
        assert time.monotonic() - started < 15, "Rasa's 300 s applied, not the endpoint's timeout"
    finally:
        server.close()


def test_the_agent_and_its_processor_get_the_endpoint_from_settings() -> None:
    processor = SimpleNamespace(action_endpoint=None, tracker_store=None)
    agent = SimpleNamespace(action_endpoint=None, processor=processor, tracker_store=None)
    settings = Settings(action_server_url="http://actions:5055/webhook", action_server_token="t",
                        action_server_connect_timeout_seconds=2.0, action_server_timeout_seconds=12.0)
    configure_agent(agent, settings)
    endpoint = agent.action_endpoint
    assert isinstance(endpoint, ActionEndpoint) and processor.action_endpoint is endpoint
    assert (endpoint.url, endpoint.token) == ("http://actions:5055/webhook", "t")
    assert endpoint.timeout == aiohttp.ClientTimeout(total=12.0, sock_connect=2.0)

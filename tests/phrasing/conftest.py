"""Fixtures for the phrasing tests: the OpenAI-compatible stand-in on a free loopback port."""

from __future__ import annotations

import socket
from typing import Any, AsyncIterator, Callable, List

import httpx
import pytest
from aiohttp import web

from rasa_project.phrasing import Phraser
from rasa_project.sandboxes.llm_server import create_app
from tests.phrasing.support import LlmSandbox


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
async def llm_sandbox() -> AsyncIterator[LlmSandbox]:
    runner = web.AppRunner(create_app(), shutdown_timeout=2.0)
    await runner.setup()
    sock = _bound_socket()
    await web.SockSite(runner, sock).start()
    async with httpx.AsyncClient(timeout=10.0) as http:
        yield LlmSandbox(f"http://127.0.0.1:{sock.getsockname()[1]}", http)
    await runner.cleanup()


@pytest.fixture
async def make_phraser(llm_sandbox: LlmSandbox) -> AsyncIterator[Callable[..., Phraser]]:
    """Phrasers pointed at the stand-in (settings overrides as keyword arguments), closed afterwards."""
    made: List[Phraser] = []

    def make(**overrides: Any) -> Phraser:
        phraser = Phraser.from_settings(llm_sandbox.settings(**overrides))
        made.append(phraser)
        return phraser

    yield make
    for phraser in made:
        await phraser.aclose()

"""Per test: a throwaway queue on the machine's RabbitMQ (deleted afterwards), a reader for it, a relay to cut,
and a factory of started brokers (closed before the queue is deleted)."""

from __future__ import annotations

import uuid
from typing import Any, AsyncIterator, Awaitable, Callable, List

import pytest

from rasa_project.conversation_log.event_broker import SettingsEventBroker
from rasa_project.settings import Settings
from tests.broker.support import QueueReader, TcpProxy, rabbitmq_up

MakeBroker = Callable[..., Awaitable[SettingsEventBroker]]


@pytest.fixture(scope="session", autouse=True)
def rabbitmq() -> None:
    if not rabbitmq_up():
        pytest.fail("RabbitMQ is not reachable at 127.0.0.1:5672 (start it: rabbitmq-server -detached)")


@pytest.fixture
async def queue() -> AsyncIterator[str]:
    name = f"t_broker_{uuid.uuid4().hex[:12]}"
    yield name
    async with QueueReader(name) as reader:
        await reader.delete()


@pytest.fixture
async def reader(queue: str) -> AsyncIterator[QueueReader]:
    async with QueueReader(queue) as opened:
        yield opened


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    relay = TcpProxy()
    yield relay
    await relay.stop()


@pytest.fixture
async def make_broker(queue: str) -> AsyncIterator[MakeBroker]:
    brokers: List[SettingsEventBroker] = []

    async def make(url: str, *, timeout: float = 3.0, **options: Any) -> SettingsEventBroker:
        options.setdefault("retry_base_seconds", 0.05)
        options.setdefault("retry_cap_seconds", 0.3)
        settings = Settings(event_broker_url=url, event_broker_queue=queue)
        broker = SettingsEventBroker.from_settings(settings, timeout=timeout, **options)
        brokers.append(broker)
        await broker.start()
        return broker

    yield make
    for broker in brokers:
        await broker.close()

"""The broker away: at start-up, mid-run, for long, or refusing us. Publishing never raises or waits,
every event that could not go when due is counted, and when the broker is back the buffer arrives in order.

The machine's RabbitMQ is shared, so outages are made with a relay in front of it (`TcpProxy`)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Dict, List

import pytest

from rasa_project.conversation_log.event_broker import SettingsEventBroker
from rasa_project.settings import Settings
from tests.broker.conftest import MakeBroker
from tests.broker.support import Counts, QueueReader, TcpProxy, eventually, free_port

SENDER = "+5215500000010"


def events(first: int, count: int) -> List[Dict[str, Any]]:
    return [{"sender_id": SENDER, "event": "user", "text": f"mensaje {i}"} for i in range(first, first + count)]


def publish_all(broker: SettingsEventBroker, batch: List[Dict[str, Any]]) -> float:
    """Publish `batch` as the tracker store would; the seconds it took (no call may raise)."""
    started = time.perf_counter()
    for event in batch:
        broker.publish(event)
    return time.perf_counter() - started


def texts(got: List[Dict[str, Any]]) -> List[str]:
    return [e["text"] for e in got]


async def test_unreachable_at_start_up_then_back(make_broker: MakeBroker, proxy: TcpProxy, reader: QueueReader) -> None:
    counts = Counts()
    started = time.perf_counter()
    broker = await make_broker(proxy.url())  # nothing listens there yet
    assert time.perf_counter() - started < 2.0 and not broker.is_ready()  # Rasa starts at once
    assert publish_all(broker, events(0, 20)) < 0.1
    await eventually(lambda: counts.delta()["connect_failed"] >= 2)  # it keeps trying in the background
    assert counts.delta()["failed"] == 20 and counts.delta()["published"] == 0
    await proxy.start()
    got = await reader.take(20)
    assert texts(got) == texts(events(0, 20))
    await eventually(lambda: broker.pending == 0)
    assert counts.delta()["published"] == 20 and counts.delta()["connected"] == 1


async def test_lost_mid_run_then_back(make_broker: MakeBroker, proxy: TcpProxy, reader: QueueReader) -> None:
    await proxy.start()
    broker = await make_broker(proxy.url(query="reconnect_interval=0.3"))
    publish_all(broker, events(0, 5))
    assert texts(await reader.take(5)) == texts(events(0, 5))
    counts = Counts()
    await proxy.stop()
    assert publish_all(broker, events(5, 30)) < 0.1
    await eventually(lambda: counts.delta()["failed"] == 30)
    await asyncio.sleep(1.0)  # aio-pika's own reconnect fails a few times meanwhile
    assert broker.pending == 30 and counts.delta()["published"] == 0
    await proxy.start()
    publish_all(broker, events(35, 5))  # new events queue behind the old ones
    assert texts(await reader.take(35)) == texts(events(5, 35))
    await eventually(lambda: broker.pending == 0)
    assert counts.delta()["published"] == 35 and counts.delta()["connected"] == 0  # the same connection, restored
    assert await reader.take(1, timeout=0.5) == []  # nothing twice


async def test_down_for_long_a_new_connection_is_opened(
    make_broker: MakeBroker, proxy: TcpProxy, reader: QueueReader, caplog: pytest.LogCaptureFixture
) -> None:
    """In case the client's own reconnect gave up (aio-pika after a RabbitMQ restart, rasa-pitfalls.md)."""
    await proxy.start()
    broker = await make_broker(proxy.url(query="reconnect_interval=30"), reset_after_seconds=1.0)
    publish_all(broker, events(0, 3))
    assert len(await reader.take(3)) == 3
    counts = Counts()
    await proxy.stop()
    with caplog.at_level(logging.WARNING, logger="rasa_project.conversation_log.event_broker"):
        publish_all(broker, events(3, 10))
        await eventually(lambda: "opening a new connection" in caplog.text, timeout=10)
    await proxy.start()
    assert texts(await reader.take(10)) == texts(events(3, 10))  # long before aio-pika's 30 s
    assert counts.delta()["connected"] == 1 and counts.delta()["failed"] == 10
    assert await reader.take(1, timeout=0.5) == []


@pytest.mark.parametrize(
    "path_and_credentials",
    ["guest:wrong-password@127.0.0.1:5672/", "guest:guest@127.0.0.1:5672/no_such_vhost_t_broker"],
)
async def test_refused_by_rabbitmq_turns_go_on(make_broker: MakeBroker, path_and_credentials: str) -> None:
    counts = Counts()
    broker = await make_broker(f"amqp://{path_and_credentials}")
    assert publish_all(broker, events(0, 10)) < 0.1
    await eventually(lambda: counts.delta()["connect_failed"] >= 2)
    assert counts.delta()["failed"] == 10 and broker.pending == 10 and not broker.is_ready()


async def test_the_buffer_is_bounded(make_broker: MakeBroker) -> None:
    counts = Counts()
    broker = await make_broker(f"amqp://127.0.0.1:{free_port()}/", max_pending=25)
    publish_all(broker, events(0, 40))
    assert broker.pending == 25 and counts.delta()["dropped"] == 15
    await broker.close()  # still down: what was waiting is dropped too, counted
    assert broker.pending == 0 and counts.delta()["dropped"] == 40


async def test_kafka_unreachable_turns_go_on() -> None:
    """No Kafka server runs here: this covers the Kafka path with the broker down (see docs/deployment.md)."""
    counts = Counts()
    settings = Settings(event_broker_url=f"kafka://127.0.0.1:{free_port()}", event_broker_queue="t_broker")
    broker = SettingsEventBroker.from_settings(settings, timeout=1.0, retry_base_seconds=0.05, retry_cap_seconds=0.2)
    started = time.perf_counter()
    await broker.start()
    assert time.perf_counter() - started < 3.0
    assert publish_all(broker, events(0, 5)) < 0.1
    await eventually(lambda: counts.delta()["connect_failed"] >= 2, timeout=10)
    assert counts.delta()["failed"] == 5 and broker.pending == 5
    await broker.close()
    assert counts.delta()["dropped"] == 5

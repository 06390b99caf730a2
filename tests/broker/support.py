"""RabbitMQ helpers for the broker tests: a relay the tests can cut, and a consumer (fixtures in conftest.py).

The RabbitMQ server on this machine is shared with every other test run, so a test never stops it: it
points the broker at a `TcpProxy` in front of it and cuts that instead (connections dropped, new ones
refused), which is what the client sees when the server goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any, Dict, List, Optional, Set

import aio_pika
import aiormq
from prometheus_client import REGISTRY

RABBITMQ_HOST = "127.0.0.1"
RABBITMQ_PORT = 5672
RABBITMQ_URL = f"amqp://guest:guest@{RABBITMQ_HOST}:{RABBITMQ_PORT}/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rabbitmq_up() -> bool:
    with contextlib.suppress(OSError), socket.create_connection((RABBITMQ_HOST, RABBITMQ_PORT), timeout=2):
        return True
    return False


class TcpProxy:
    """127.0.0.1:`port` relayed to RabbitMQ while started; `stop()` drops every connection and refuses new ones."""

    def __init__(self, port: Optional[int] = None) -> None:
        self.port = port or free_port()
        self._server: Optional[asyncio.AbstractServer] = None
        self._writers: Set[asyncio.StreamWriter] = set()

    def url(self, path: str = "/", query: str = "") -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port, reuse_address=True)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(RABBITMQ_HOST, RABBITMQ_PORT)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update({client_writer, server_writer})
        await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)


class QueueReader:
    """Reads a queue the broker declared, straight from RabbitMQ (not through any proxy)."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        self._connection: Optional[aio_pika.abc.AbstractConnection] = None

    async def __aenter__(self) -> QueueReader:
        self._connection = await aio_pika.connect(RABBITMQ_URL)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def take(self, count: int, timeout: float = 20.0, sender_id: Optional[str] = None) -> List[Dict[str, Any]]:
        """The next `count` events (only `sender_id`'s, when given), in queue order; fewer when `timeout` ends."""
        assert self._connection is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:  # the broker declares the queue once it connects
            channel = await self._connection.channel()
            try:
                queue = await channel.declare_queue(self.queue, durable=True, passive=True)
                break
            except aiormq.exceptions.ChannelNotFoundEntity:
                if loop.time() > deadline:
                    return []
                await asyncio.sleep(0.1)
        got: List[Dict[str, Any]] = []
        while len(got) < count and loop.time() < deadline:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            event = json.loads(message.body)
            if sender_id is None or event.get("sender_id") == sender_id:
                got.append(event)
        await channel.close()
        return got

    async def delete(self) -> None:
        """Remove the queue and its exchange (both named after the queue)."""
        assert self._connection is not None
        channel = await self._connection.channel()
        with contextlib.suppress(Exception):
            await channel.queue_delete(self.queue)
        with contextlib.suppress(Exception):
            await channel.exchange_delete(self.queue)
        with contextlib.suppress(Exception):
            await channel.close()


def delete_queue(queue: str) -> None:
    """Remove `queue` and its exchange from a synchronous teardown (a session fixture)."""

    async def delete() -> None:
        async with QueueReader(queue) as reader:
            await reader.delete()

    asyncio.run(delete())


OUTCOMES = ("published", "failed", "dropped")


def event_counts() -> Dict[str, float]:
    """The broker's counters now: events by outcome, plus connection attempts as `connected` / `connect_failed`."""
    counts = {o: REGISTRY.get_sample_value("assistant_event_broker_events_total", {"outcome": o}) or 0.0
              for o in OUTCOMES}
    for outcome, key in (("connected", "connected"), ("failed", "connect_failed")):
        counts[key] = REGISTRY.get_sample_value("assistant_event_broker_connections_total", {"outcome": outcome}) or 0.0
    return counts


class Counts:
    """How much each counter moved since this object was made."""

    def __init__(self) -> None:
        self.start = event_counts()

    def delta(self) -> Dict[str, float]:
        now = event_counts()
        return {key: now[key] - self.start[key] for key in now}


async def eventually(predicate: Any, timeout: float = 20.0, interval: float = 0.05) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)

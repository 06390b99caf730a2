"""The inbox listener's connection terminated by Postgres must not take another socket of the event loop
with it. libpq closes its socket inside `poll()` when the server goes away; the loop still has that fd
number registered, and the next socket the loop opens gets the same number (lowest free fd). Removing
the stale registration then removed the new socket's: under uvloop (what Rasa runs) a connect to the
action server never completed and the turn hung (tests/scale/test_faults.py, Postgres drops). The
listener registers a duplicate of the socket it owns and closes only after unregistering it."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import List

import pytest
import sqlalchemy as sa
import uvloop
from sqlalchemy.pool import NullPool

from connectors.whatsapp.inbox_notify import InboxListener


def terminate_listeners(db_url: str, stop: threading.Event, killed: List[int]) -> None:
    engine = sa.create_engine(db_url, poolclass=NullPool, future=True)
    database = db_url.rsplit("/", 1)[1]
    try:
        while not stop.is_set():
            with engine.connect() as conn:
                killed.append(int(conn.execute(sa.text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :db AND application_name = 'whatsapp-inbox-listener'"), {"db": database})
                    .scalar() or 0))
            time.sleep(0.05)
    finally:
        engine.dispose()


async def connects_while_the_listener_is_dropped(db_url: str, seconds: float) -> dict:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    listener = InboxListener(db_url, wake=lambda sender, row_id: None)
    listener.start()
    await asyncio.wait_for(listener.connected.wait(), timeout=10)
    stop, killed = threading.Event(), []
    terminator = threading.Thread(target=terminate_listeners, args=(db_url, stop, killed))
    terminator.start()
    outcome = {"connects": 0, "hung": 0}
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:  # what Rasa does per action call: a new connection
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout=2)
                writer.close()
                outcome["connects"] += 1
            except asyncio.TimeoutError:
                outcome["hung"] += 1
    finally:
        stop.set()
        await asyncio.to_thread(terminator.join)
        await listener.stop()
        server.close()
    outcome["terminated"] = sum(killed)
    return outcome


@pytest.mark.parametrize("loop_factory", [uvloop.new_event_loop, asyncio.new_event_loop], ids=["uvloop", "asyncio"])
def test_connects_of_the_loop_survive_the_listener_being_terminated(pg_url: str, loop_factory) -> None:
    loop = loop_factory()
    try:
        outcome = loop.run_until_complete(connects_while_the_listener_is_dropped(pg_url, seconds=6))
    finally:
        loop.close()
    assert outcome["terminated"] >= 5, outcome
    assert outcome["hung"] == 0 and outcome["connects"] > 50, outcome

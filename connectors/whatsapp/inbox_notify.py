"""Waking the inbox worker across processes: Postgres `LISTEN/NOTIFY` on `INBOX_NOTIFY_CHANNEL`.

Whoever inserts an inbox row (the webhook's `InboxStore.accept`, a proactive `enqueue`) calls `notify`
in the SAME transaction, so the notification is delivered exactly when the row is committed (Postgres
delivers NOTIFY at commit, never for a rolled-back insert), with `sender|row id` as its payload.

The Rasa process's worker runs an `InboxListener`: one psycopg2 connection of its own, in autocommit,
`LISTEN whatsapp_inbox`, read without a thread (a duplicate of its socket is registered with the event
loop's `add_reader`; `poll()` only reads what arrived). Each notification `wake`s that sender's drain. A
notification is a hint, never the record: the row is in the inbox, and the worker's poller (every
`INBOX_POLL_SECONDS`) still wakes every sender with a ready message, so a notification lost while the
listener reconnects (Postgres restarted, the connection terminated) only costs up to one poll interval.
In the single-process layout the webhook also wakes its own worker directly; the notification that
follows finds the drain already running, which costs nothing (see `worker.py`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Callable, Optional, Tuple

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url

from connectors.whatsapp.tables import INBOX_NOTIFY_CHANNEL
from rasa_project.backoff import backoff_delay

logger = logging.getLogger(__name__)

Wake = Callable[[str, Optional[int]], None]  # sender, the row id the NOTIFY named (None: not named)


def notify(conn: Connection, sender_id: str, row_id: Optional[int] = None) -> None:
    """`NOTIFY whatsapp_inbox, '<sender_id>|<row id>'` inside `conn`'s transaction (Postgres only; no-op
    elsewhere). The id lets a worker tell the wake-up for the message it just ran from a newer one."""
    if conn.engine.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_notify(:channel, :payload)"),
                     {"channel": INBOX_NOTIFY_CHANNEL, "payload": payload_of(sender_id, row_id)})


def payload_of(sender_id: str, row_id: Optional[int]) -> str:
    """`sender|id`, or `sender|` when no row is named (the separator is always there)."""
    return f"{sender_id}|{'' if row_id is None else row_id}"


def parse_payload(payload: str) -> Tuple[str, Optional[int]]:
    """`sender|id` → (sender, id), `sender|` → (sender, None); a bare sender (a process of an earlier
    version, without the separator) → (sender, None)."""
    sender, bar, tail = payload.rpartition("|")
    if not bar:
        return payload, None
    return sender, int(tail) if tail.isdigit() else None


def libpq_dsn(sqlalchemy_url: str) -> str:
    """`postgresql+psycopg2://u:p@h/db` → `postgresql://u:p@h/db` (what psycopg2.connect takes)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def is_postgres_url(sqlalchemy_url: str) -> bool:
    return make_url(sqlalchemy_url).get_backend_name() == "postgresql"


class InboxListener:
    """`LISTEN whatsapp_inbox` until stopped; `wake(sender_id)` per notification; reconnects with backoff.

    `on_connected` runs after every (re)connection: what was inserted while nobody listened is found
    by a poll, not by notifications."""

    def __init__(self, db_url: str, wake: Wake, on_connected: Optional[Callable[[], Any]] = None,
                 channel: str = INBOX_NOTIFY_CHANNEL) -> None:
        self.dsn = libpq_dsn(db_url)
        self.wake = wake
        self.on_connected = on_connected
        self.channel = channel
        self.received = 0
        self._task: Optional[asyncio.Task] = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="whatsapp-inbox-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _connect(self) -> Any:
        conn = psycopg2.connect(self.dsn, connect_timeout=5, keepalives=1, keepalives_idle=30,
                                keepalives_interval=10, keepalives_count=3,
                                application_name="whatsapp-inbox-listener")
        conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        with conn.cursor() as cur:
            cur.execute(f'LISTEN "{self.channel}"')
        return conn

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            lost: asyncio.Future = loop.create_future()
            conn, fd = None, None
            try:
                conn = await asyncio.to_thread(self._connect)
                # A duplicate we own: libpq closes ITS socket inside poll() when the server goes away, and
                # the loop's next socket (a connect to the action server) would get that number while
                # it is still registered here; unregistering it then took the new socket's events along
                # (under uvloop the connect never completed: the turn hung). Ours closes after removal.
                fd = os.dup(conn.fileno())
                try:
                    loop.add_reader(fd, self._readable, loop, conn, fd, lost)
                except BaseException:
                    os.close(fd)
                    fd = None
                    raise
                failures = 0
                self.connected.set()
                logger.info("Inbox listener: LISTEN %s", self.channel)
                if self.on_connected is not None:
                    self.on_connected()
                await lost
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # psycopg2.Error, OSError, anything: the listener must never die
                failures += 1
                delay = backoff_delay(failures, 0.5, 10.0)
                logger.warning("Inbox listener lost its connection (%s: %s); the poller covers meanwhile, "
                               "reconnecting in %.1fs", type(exc).__name__, str(exc).strip(), delay)
                self._close(loop, conn, fd)
                conn = fd = None
                await asyncio.sleep(delay)
            finally:
                self._close(loop, conn, fd)

    def _close(self, loop: asyncio.AbstractEventLoop, conn: Any, fd: Optional[int]) -> None:
        self.connected.clear()
        if fd is not None:
            loop.remove_reader(fd)
            os.close(fd)
        if conn is not None and not conn.closed:
            conn.close()

    def _readable(self, loop: asyncio.AbstractEventLoop, conn: Any, fd: int, lost: asyncio.Future) -> None:
        try:
            conn.poll()
        except (psycopg2.Error, OSError) as exc:
            loop.remove_reader(fd)  # at once: a socket at EOF stays readable until `_close` runs
            if not lost.done():
                lost.set_exception(exc)
            return
        while conn.notifies:
            note = conn.notifies.pop(0)
            self.received += 1
            if note.payload:
                self.wake(*parse_payload(note.payload))


"""Counting what the process sends to Postgres: every statement, BEGIN, COMMIT and ROLLBACK that reaches
the server, as psycopg2 sends it (one round trip each).

`counting_round_trips()` patches `psycopg2.connect` so every connection opened inside it (SQLAlchemy's
pools included) is a `CountingConnection`: `execute` counts one round trip, plus the `BEGIN` psycopg2
sends first when the connection is not in autocommit and no transaction is open; `commit` / `rollback`
count only when a transaction is open (psycopg2 sends nothing otherwise).
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from typing import Any, Iterator, List

import psycopg2
import psycopg2.extensions as ext

IDLE = ext.TRANSACTION_STATUS_IDLE


class RoundTrips:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.log: List[str] = []
        self.connects = 0

    def record(self, what: str) -> None:
        with self._lock:
            self.log.append(what)

    def take(self) -> List[str]:
        with self._lock:
            taken, self.log = self.log, []
            return taken

    @staticmethod
    def breakdown(log: List[str]) -> str:
        counts = Counter(log)
        return "\n".join(f"{n:3d} x {what}" for what, n in counts.most_common())


def _label(query: Any) -> str:
    text = query.decode() if isinstance(query, bytes) else str(query)
    return " ".join(text.split())[:110]


class CountingCursor(ext.cursor):
    def execute(self, query: Any, vars: Any = None) -> Any:  # noqa: A002 (psycopg2's name)
        self.connection.count_execute(query)
        return super().execute(query, vars)

    def executemany(self, query: Any, vars_list: Any) -> Any:
        params = list(vars_list)
        for _ in params:  # psycopg2 sends one statement per parameter set
            self.connection.count_execute(query)
        return super().executemany(query, params)


class CountingConnection(ext.connection):
    trips: RoundTrips

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_factory = CountingCursor

    def count_execute(self, query: Any) -> None:
        if not self.autocommit and self.info.transaction_status == IDLE:
            self.trips.record("BEGIN")
        self.trips.record(_label(query))

    def commit(self) -> None:
        if self.info.transaction_status != IDLE:
            self.trips.record("COMMIT")
        super().commit()

    def rollback(self) -> None:
        if self.info.transaction_status != IDLE:
            self.trips.record("ROLLBACK")
        super().rollback()


@contextmanager
def counting_round_trips() -> Iterator[RoundTrips]:
    trips = RoundTrips()
    factory = type("Counting", (CountingConnection,), {"trips": trips})
    original = psycopg2.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("connection_factory", factory)
        trips.connects += 1
        return original(*args, **kwargs)

    psycopg2.connect = connect
    try:
        yield trips
    finally:
        psycopg2.connect = original

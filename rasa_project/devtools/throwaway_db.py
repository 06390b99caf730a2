"""Throwaway Postgres databases on the shared local server, for tests and benchmarks.

Each is created with a random name under a caller's prefix and dropped (forcibly) afterwards; the
server's own databases are never touched and the server is never stopped.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Iterator

import psycopg2

PG_ADMIN = dict(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=5)


@contextlib.contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """A new database `<prefix>_<random>` for the duration; its SQLAlchemy URL is yielded.

    Raises `psycopg2.OperationalError` when the server cannot be reached."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(**PG_ADMIN)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

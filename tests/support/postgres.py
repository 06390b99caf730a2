"""Throwaway Postgres databases on the shared local server (never its own tables, never stopped)."""

from __future__ import annotations

import contextlib
import uuid
from typing import Iterator

import psycopg2

PG_ADMIN = dict(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")


@contextlib.contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """A new database `<prefix>_<random>` for the duration; its SQLAlchemy URL is yielded."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(**PG_ADMIN)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

"""Engines for the conversation-log database, configured once from settings.

Idle connections are dropped by proxies and by Postgres restarts (rasa#8515), so every engine
pre-pings and recycles; and a wrong host must fail start-up fast rather than hang (Rasa's own
SQL store retries forever with `sleep(5)`).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from rasa_project.settings import Settings


class DatabaseUnavailable(RuntimeError):
    """The conversation-log database cannot be reached or does not exist."""


def create_log_engine(url: str, settings: Settings) -> Engine:
    """A pooled engine for `url`; SQLite files get their folder created for newcomers."""
    parsed = make_url(url)
    kwargs: dict = {"pool_pre_ping": True, "future": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs.update(
            pool_size=settings.tracker_db_pool_size,
            max_overflow=settings.tracker_db_max_overflow,
            pool_recycle=settings.tracker_db_pool_recycle_seconds,
            connect_args={"connect_timeout": 5},
        )
    return sa.create_engine(parsed, **kwargs)


def check_reachable(engine: Engine) -> None:
    """Raise `DatabaseUnavailable` with the reason when the database cannot answer `SELECT 1`."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        safe_url = engine.url.render_as_string(hide_password=True)
        reason = f"{exc.__class__.__name__}: {exc}"
        raise DatabaseUnavailable(f"conversation-log database {safe_url} unreachable: {reason}") from exc

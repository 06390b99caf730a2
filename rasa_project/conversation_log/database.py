"""Engines for the conversation-log database, configured once from settings.

Idle connections are dropped by proxies and by Postgres restarts (rasa#8515), so every engine
pre-pings and recycles; and a wrong host must fail start-up fast rather than hang (Rasa's own
SQL store retries forever with `sleep(5)`). A Rasa process has several users of the one database
(the tracker store, the WhatsApp channel, the health check): `shared_engine` gives them one engine
and one connection pool per URL, checked once and migrated once.

Single statements (most of the channel's writes, every read) go through `autocommit_engine(engine)`: a
second pool on the same URL whose connections are in autocommit from the start, so a statement costs one
round trip (no BEGIN, no COMMIT; a data-modifying CTE is still one atomic statement). Its connections are
never toggled per checkout (isolation set once, at connect), and instead of pre-ping's `SELECT 1` a
checkout only asks the socket whether the server closed it (a restart, a terminated backend).
"""

from __future__ import annotations

import logging
import select
import threading
import weakref
from pathlib import Path
from typing import Any, Dict

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from rasa_project.conversation_log.migrations import migrate
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)

_shared: Dict[str, Engine] = {}
_shared_lock = threading.Lock()
_autocommit: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


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


def _closed_by_server(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Checkout check without a round trip: an idle connection's socket is readable only when the server
    sent something unasked (its closing notice) or closed it; SQLAlchemy then takes a fresh connection."""
    if getattr(dbapi_connection, "closed", 0):
        raise sa.exc.DisconnectionError("connection closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise sa.exc.DisconnectionError("the server closed the connection or sent an unasked message")


def autocommit_engine(engine: Engine) -> Engine:
    """The autocommit sibling of `engine` (module docstring), created once; `engine` itself for SQLite.

    Disposing `engine` disposes it too."""
    if engine.dialect.name != "postgresql":
        return engine
    sibling = _autocommit.get(engine)
    if sibling is not None:
        return sibling
    with _shared_lock:
        sibling = _autocommit.get(engine)
        if sibling is None:
            pool = engine.pool
            size = pool.size() if isinstance(pool, sa.pool.QueuePool) else 5
            overflow = max(0, getattr(pool, "_max_overflow", 10))
            sibling = sa.create_engine(
                engine.url, future=True, isolation_level="AUTOCOMMIT", pool_pre_ping=False,
                pool_reset_on_return=None,  # no transaction is ever open: nothing to roll back
                # every connection it ever needed stays: an overflow connection closed at check-in (the
                # default) is a new connection and its set-up, in CPU, at the next burst
                pool_size=size + overflow, max_overflow=overflow,
                pool_recycle=getattr(pool, "_recycle", -1),
                connect_args={"connect_timeout": 5},
            )
            sa.event.listen(sibling, "checkout", _closed_by_server)
            sa.event.listen(engine, "engine_disposed", lambda _: sibling.dispose())
            _autocommit[engine] = sibling
        return sibling


def check_reachable(engine: Engine) -> None:
    """Raise `DatabaseUnavailable` with the reason when the database cannot answer `SELECT 1`."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        safe_url = engine.url.render_as_string(hide_password=True)
        reason = f"{exc.__class__.__name__}: {exc}"
        raise DatabaseUnavailable(f"conversation-log database {safe_url} unreachable: {reason}") from exc


def open_checked_engine(url: str, settings: Settings) -> Engine:
    """An engine for `url` that answered `SELECT 1` in the database it was asked for.

    A Postgres URL naming a database that does not exist must not land in another one (rasa#8267)."""
    engine = create_log_engine(url, settings)
    check_reachable(engine)
    if engine.dialect.name == "postgresql":
        wanted = make_url(url).database
        with engine.connect() as conn:
            actual = conn.execute(sa.text("SELECT current_database()")).scalar()
        if wanted and actual != wanted:
            engine.dispose()
            raise DatabaseUnavailable(f"connected to database {actual!r} instead of {wanted!r}")
    return engine


def shared_engine(url: str, settings: Settings) -> Engine:
    """This process's one engine for `url`: opened and checked on first use, its schema migrated then.

    Raises `DatabaseUnavailable` (nothing is cached) when the database cannot be reached."""
    with _shared_lock:
        engine = _shared.get(url)
        if engine is None:
            engine = open_checked_engine(url, settings)
            applied = migrate(engine)
            if applied:
                logger.info("Conversation-log migrations applied: %s", ", ".join(applied))
            _shared[url] = engine
        return engine

"""Schema migrations for the conversation-log database: numbered modules and a version table.

Each module `mNNNN_name.py` in this package defines `upgrade(conn)`; `migrate()` applies the ones
not yet recorded in `schema_migrations`, each in its own transaction, in order. On Postgres an
advisory lock serializes concurrent runners (several Rasa instances starting at once), so running
it twice, or from two processes, is harmless.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass
from typing import Callable, List

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

logger = logging.getLogger(__name__)

_ADVISORY_LOCK_KEY = 720_305_001


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    upgrade: Callable[[Connection], None]


def discover() -> List[Migration]:
    """The migrations of this package, in version order."""
    found = []
    for module_info in pkgutil.iter_modules(__path__):
        name = module_info.name
        if not (name.startswith("m") and name[1:5].isdigit()):
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        found.append(Migration(int(name[1:5]), name[6:], module.upgrade))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return found


def _ensure_version_table(conn: Connection) -> None:
    conn.execute(
        sa.text(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY,"
            " name VARCHAR(200) NOT NULL,"
            " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
    )


def migrate(engine: Engine) -> List[str]:
    """Apply pending migrations; returns the names applied (empty when up to date)."""
    applied: List[str] = []
    is_postgres = engine.dialect.name == "postgresql"
    with engine.connect() as lock_conn:
        if is_postgres:
            lock_conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
            lock_conn.commit()
        try:
            with engine.begin() as conn:
                _ensure_version_table(conn)
            for migration in discover():
                with engine.begin() as conn:
                    done = conn.execute(
                        sa.text("SELECT 1 FROM schema_migrations WHERE version = :v"),
                        {"v": migration.version},
                    ).first()
                    if done:
                        continue
                    logger.info("Applying migration %04d_%s", migration.version, migration.name)
                    migration.upgrade(conn)
                    conn.execute(
                        sa.text("INSERT INTO schema_migrations (version, name) VALUES (:v, :n)"),
                        {"v": migration.version, "n": migration.name},
                    )
                    applied.append(f"{migration.version:04d}_{migration.name}")
        finally:
            if is_postgres:
                lock_conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK_KEY})
                lock_conn.commit()
    return applied

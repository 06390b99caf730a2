"""The migrated schema is what the code declares: the channel's SQLAlchemy tables (`connectors/whatsapp/
tables.py`) must match the tables the migrations create, column for column, on Postgres and SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest
import sqlalchemy as sa

from connectors.whatsapp.tables import metadata as channel_metadata
from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.settings import Settings

Column = Tuple[str, bool, bool]  # type family, nullable, primary key


def _family(column_type: sa.types.TypeEngine) -> str:
    """Compare types by what they store, not by the dialect's spelling (VARCHAR(64), TIMESTAMP, DATETIME)."""
    for family, generic in (("bool", sa.Boolean), ("integer", sa.Integer), ("text", sa.String),
                            ("datetime", sa.DateTime), ("float", sa.Float)):
        if isinstance(column_type, generic):
            return family
    return type(column_type).__name__.lower()


def _declared(table: sa.Table) -> Dict[str, Column]:
    return {c.name: (_family(c.type), bool(c.nullable), bool(c.primary_key)) for c in table.columns}


def _migrated(engine: sa.engine.Engine, name: str) -> Dict[str, Column]:
    inspector = sa.inspect(engine)
    primary = set(inspector.get_pk_constraint(name)["constrained_columns"])
    return {c["name"]: (_family(c["type"]), bool(c["nullable"]) and c["name"] not in primary, c["name"] in primary)
            for c in inspector.get_columns(name)}


@pytest.fixture(params=["postgresql", "sqlite"])
def migrated_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.engine.Engine]:
    if request.param == "postgresql":
        with throwaway_database("t_schema") as url:
            engine = create_log_engine(url, Settings())
            migrate(engine)
            yield engine
            engine.dispose()
    else:
        engine = create_log_engine(f"sqlite:///{tmp_path / 'log.db'}", Settings())
        migrate(engine)
        yield engine
        engine.dispose()


def test_every_declared_table_is_migrated_column_for_column(migrated_engine: sa.engine.Engine) -> None:
    for table in channel_metadata.sorted_tables:
        assert _migrated(migrated_engine, table.name) == _declared(table), table.name


def test_unique_keys_the_code_relies_on_exist(migrated_engine: sa.engine.Engine) -> None:
    """Idempotency by MessageSid and one outbound row per Twilio SID are enforced by the database."""
    inspector = sa.inspect(migrated_engine)
    for table, column in (("whatsapp_inbox", "message_sid"), ("whatsapp_outbound", "twilio_sid")):
        unique = [set(u["column_names"]) for u in inspector.get_unique_constraints(table)]
        unique += [set(i["column_names"]) for i in inspector.get_indexes(table) if i.get("unique")]
        assert {column} in unique, (table, column)

"""The handoff tables the code queries (`rasa_project/handoff/tables.py`) are the ones m0008 creates, on
Postgres and SQLite, column for column."""

from __future__ import annotations

import sqlalchemy as sa

from rasa_project.handoff.tables import metadata
from tests.conversation_log.test_schema import _declared, _migrated, migrated_engine  # noqa: F401  (fixture)


def test_handoff_tables_are_migrated_column_for_column(migrated_engine: sa.engine.Engine) -> None:  # noqa: F811
    for table in metadata.sorted_tables:
        assert _migrated(migrated_engine, table.name) == _declared(table), table.name
    indexes = {i["name"] for i in sa.inspect(migrated_engine).get_indexes("helpdesk_outbox")}
    assert "ix_helpdesk_outbox_sent_next" in indexes

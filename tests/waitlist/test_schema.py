"""The waitlist table the code queries (`rasa_project/waitlist/tables.py`) is the one m0013 creates, on
Postgres and SQLite, column for column; the database itself refuses a second live entry of a client and
a second offer of a slot."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from rasa_project.waitlist.tables import entries, metadata
from tests.conversation_log.test_schema import _declared, _migrated, migrated_engine  # noqa: F401  (fixture)

NOW = datetime(2030, 1, 1, 12, 0)


def _row(phone: str, state: str, slot_id: int = 7) -> dict:
    return dict(slot_id=slot_id, service_code="yoga", service_name="Yoga", starts_at=NOW, client_phone=phone,
                state=state, joined_at=NOW)


def test_waitlist_table_is_migrated_column_for_column(migrated_engine: sa.engine.Engine) -> None:  # noqa: F811
    for table in metadata.sorted_tables:
        assert _migrated(migrated_engine, table.name) == _declared(table), table.name
    indexes = {i["name"]: i for i in sa.inspect(migrated_engine).get_indexes("waitlist_entries")}
    assert indexes["uq_waitlist_one_offer_per_slot"]["unique"]
    assert indexes["uq_waitlist_live_client"]["unique"]
    assert "ix_waitlist_slot_queue" in indexes and "ix_waitlist_state_expires" in indexes


@pytest.mark.parametrize("holding", ["offered", "accepted"])
def test_the_database_refuses_a_second_offer_of_a_slot(migrated_engine: sa.engine.Engine,  # noqa: F811
                                                       holding: str) -> None:
    with migrated_engine.begin() as conn:
        conn.execute(entries.insert().values(**_row("+5215500000001", "offered")))
        conn.execute(entries.insert().values(**_row("+5215500000002", "waiting")))
        conn.execute(entries.insert().values(**_row("+5215500000003", "declined")))
        conn.execute(entries.insert().values(**_row("+5215500000004", "offered", slot_id=8)))  # another slot
    with pytest.raises(sa.exc.IntegrityError):
        with migrated_engine.begin() as conn:
            conn.execute(entries.insert().values(**_row("+5215500000005", holding)))


def test_the_database_refuses_a_second_live_entry_of_a_client(migrated_engine: sa.engine.Engine) -> None:  # noqa: F811
    with migrated_engine.begin() as conn:
        conn.execute(entries.insert().values(**_row("+5215500000001", "declined")))
        conn.execute(entries.insert().values(**_row("+5215500000001", "expired")))
        conn.execute(entries.insert().values(**_row("+5215500000001", "waiting")))  # a new try after both
    with pytest.raises(sa.exc.IntegrityError):
        with migrated_engine.begin() as conn:
            conn.execute(entries.insert().values(**_row("+5215500000001", "waiting")))

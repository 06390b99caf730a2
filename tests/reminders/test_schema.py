"""The `reminders` table the code queries (`rasa_project/reminders/tables.py`) is the one m0012 creates, on
Postgres and SQLite, column for column, with the unique key the planner relies on and the due index; and
the `reminder_stats` view counts what it says."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from connectors.whatsapp.tables import utcnow
from rasa_project.reminders.tables import metadata, reminders
from tests.conversation_log.test_schema import _declared, _migrated, migrated_engine  # noqa: F401  (fixture)


def test_reminders_table_is_migrated_column_for_column(migrated_engine: sa.engine.Engine) -> None:  # noqa: F811
    for table in metadata.sorted_tables:
        assert _migrated(migrated_engine, table.name) == _declared(table), table.name
    inspector = sa.inspect(migrated_engine)
    unique = [set(u["column_names"]) for u in inspector.get_unique_constraints("reminders")]
    assert {"booking_id", "offset_minutes"} in unique
    indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("reminders")}
    assert indexes["ix_reminders_state_due"] == ["state", "due_at"]


def test_reminder_stats_counts_each_state_per_day(migrated_engine: sa.engine.Engine) -> None:  # noqa: F811
    now = utcnow().replace(hour=12)
    day = now.date()
    base = dict(client_phone="+5215512345678", service_code="yoga", service_name="Yoga", starts_at=now,
                due_at=now - timedelta(hours=2), attempts=0, created_at=now, updated_at=now)
    states = [("sent", now), ("sent", None), ("skipped", None), ("failed", None), ("cancelled", None),
              ("pending", None)]
    with migrated_engine.begin() as conn:
        conn.execute(reminders.insert(), [dict(base, booking_id=f"B{i}", offset_minutes=120, state=state,
                                               confirmed_at=confirmed) for i, (state, confirmed) in enumerate(states)])
    with migrated_engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM reminder_stats")).mappings().one()
    assert str(row["day"])[:10] == day.isoformat()
    assert (row["planned"], row["sent"], row["skipped"], row["failed"], row["cancelled"], row["confirmed"]) == \
        (5, 2, 1, 1, 1, 1)
    assert float(row["confirmation_rate"]) == 0.5

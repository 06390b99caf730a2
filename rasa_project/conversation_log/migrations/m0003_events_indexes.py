"""`events`: an id default Rasa's own inserts can use, and the indexes our reads and analytics need.

m0001 declares `id` with a plain `Sequence`, so on Postgres the column has no default; Rasa's
`SQLEvent` marks its sequence `optional` and inserts no id (NOT NULL violation). Binding the column
to `events_seq` fixes both our inserts and the stock store's. Indexes: `sender_id, id` for retrieves
(rasa#3645: Rasa has no migration for it), `type_name, timestamp` and `intent_name` for the views.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

INDEXES = {
    "ix_events_sender_id_id": "events (sender_id, id)",
    "ix_events_type_name_timestamp": "events (type_name, timestamp)",
    "ix_events_intent_name": "events (intent_name)",
}


def upgrade(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("CREATE SEQUENCE IF NOT EXISTS events_seq OWNED BY events.id"))
        conn.execute(sa.text("ALTER SEQUENCE events_seq OWNED BY events.id"))
        conn.execute(sa.text("ALTER TABLE events ALTER COLUMN id SET DEFAULT nextval('events_seq')"))
        conn.execute(sa.text("SELECT setval('events_seq', GREATEST((SELECT COALESCE(MAX(id), 0) FROM events), 1))"))
    for name, target in INDEXES.items():
        conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {name} ON {target}"))

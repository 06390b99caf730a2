"""`whatsapp_content_templates`: the Twilio Content resource (SID) created for each distinct set of options.

Frozen copy of the table at this version (queries use `connectors/whatsapp/content_store.py`, which must
match). `content_key` is the sha256 of the Content's type and entries (`connectors/whatsapp/buttons.py`);
its primary key lets two processes that created the same Content at once agree on one SID (the first
insert wins, ON CONFLICT DO NOTHING). Naive UTC `TIMESTAMP`, as in the other channel tables.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "whatsapp_content_templates",
        metadata,
        sa.Column("content_key", sa.String(64), primary_key=True),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("content_sid", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    metadata.create_all(conn)

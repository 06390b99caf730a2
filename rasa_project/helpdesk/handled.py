"""Chatwoot webhook events already handled (`helpdesk_webhook_events`): Chatwoot re-delivers on timeouts
and 5xx, and an agent's reply must reach the client once. Claim before acting, release if acting failed
(so Chatwoot's retry acts again); sync, called through `asyncio.to_thread`."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from rasa_project.helpdesk.outbox import utcnow
from rasa_project.helpdesk.tables import webhook_events


class HandledEvents:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(webhook_events)

    def claim(self, key: str) -> bool:
        """True for the first claim of `key`; False when it was (or is being) handled."""
        with self.engine.begin() as conn:
            inserted = conn.execute(self._insert.values(event_key=key, received_at=utcnow())
                                    .on_conflict_do_nothing(index_elements=["event_key"]))
            return inserted.rowcount == 1

    def release(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(webhook_events.delete().where(webhook_events.c.event_key == key))

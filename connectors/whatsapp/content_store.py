"""The Twilio Content resources our options need, created once and remembered (Postgres + memory).

A set of options (`buttons.ContentSpec`) needs one Content resource; creating one per message would
cost a round trip and litter the account. Lookup order: this process's memory, then the
`whatsapp_content_templates` table (m0009), then `POST /v1/Content` through the Twilio client. Within
a process one lock per key makes concurrent sends wait for a single create; two processes racing
create at most one extra resource, and the table's primary key (insert ON CONFLICT DO NOTHING, then
read back) makes both use the first SID stored. A SID Twilio no longer knows (deleted in the console)
is forgotten, so the next message creates a fresh one. Any failure answers None: the caller sends
numbered text instead, and `CONTENT_TEMPLATES` counts it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.whatsapp.buttons import ContentSpec
from connectors.whatsapp.tables import dialect_insert, utcnow
from connectors.whatsapp.twilio_client import TwilioClient
from rasa_project.metrics import CONTENT_TEMPLATES

logger = logging.getLogger(__name__)

metadata = sa.MetaData()

# As m0009 creates it (tests/connector/test_buttons_content.py compares the two).
content_templates = sa.Table(
    "whatsapp_content_templates",
    metadata,
    sa.Column("content_key", sa.String(64), primary_key=True),
    sa.Column("content_type", sa.String(40), nullable=False),
    sa.Column("content_sid", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)


class ContentTemplates:
    """One per process (held by the outbound sender): the SID for each set of options."""

    def __init__(self, twilio: TwilioClient, engine: Engine) -> None:
        self.twilio = twilio
        self.engine = engine
        self._sids: Dict[str, str] = {}
        self._locks: Dict[str, asyncio.Lock] = {}

    def _stored(self, key: str) -> Optional[str]:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(content_templates.c.content_sid)
                                 .where(content_templates.c.content_key == key)).scalar()
        return str(value) if value is not None else None

    def _store(self, spec: ContentSpec, sid: str) -> str:
        """Insert unless another process did first; the SID everyone uses from now on."""
        stmt = dialect_insert(self.engine, content_templates).values(
            content_key=spec.key, content_type=spec.kind, content_sid=sid, created_at=utcnow())
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["content_key"]))
            return str(conn.execute(sa.select(content_templates.c.content_sid)
                                    .where(content_templates.c.content_key == spec.key)).scalar_one())

    def _drop(self, sid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(content_templates.delete().where(content_templates.c.content_sid == sid))

    async def sid_for(self, spec: ContentSpec) -> Optional[str]:
        """The Content SID for `spec`, created if no process made one yet; None when that failed."""
        key = spec.key
        if key in self._sids:
            return self._sids[key]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key in self._sids:
                return self._sids[key]
            try:
                sid = await asyncio.to_thread(self._stored, key)
                if sid is None:
                    created = await self.twilio.create_content(spec.definition())
                    sid = await asyncio.to_thread(self._store, spec, created)
                    CONTENT_TEMPLATES.labels(outcome="created" if sid == created else "lost_race").inc()
                    if sid != created:
                        logger.info("Content %s for options %s lost a race; using %s", created, key[:12], sid)
            except Exception:  # noqa: BLE001 - Twilio or the database: never lose the message over it
                CONTENT_TEMPLATES.labels(outcome="create_failed").inc()
                logger.exception("Could not get a Content resource for %s options %s; sending numbered text",
                                 spec.kind, key[:12])
                return None
            self._sids[key] = sid
            return sid

    async def forget(self, sid: str) -> None:
        """Twilio no longer knows `sid`: drop it here and in the table so the next send creates anew."""
        for key in [k for k, v in self._sids.items() if v == sid]:
            del self._sids[key]
        await asyncio.to_thread(self._drop, sid)
        CONTENT_TEMPLATES.labels(outcome="forgotten").inc()

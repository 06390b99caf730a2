"""Fixtures for the helpdesk tests: a migrated throwaway Postgres database, the Chatwoot stand-in on a
free loopback port (its webhooks pointed at a port chosen up front for the channel), our client on it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, AsyncIterator, Dict, Iterator, List

import httpx
import pytest
import sqlalchemy as sa
from aiohttp import web

from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.devtools.local_stack import free_port
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.handoff.tables import helpdesk_outbox
from rasa_project.helpdesk.chatwoot_client import ChatwootClient
from rasa_project.helpdesk.outbox import utcnow
from rasa_project.sandboxes.chatwoot import create_app
from rasa_project.settings import Settings

ACCOUNT_ID = 4
INBOX_ID = 2
API_TOKEN = "helpdesk-test-token"
WEBHOOK_SECRET = "helpdesk-webhook-secret"


@dataclass
class Chatwoot:
    """The running stand-in: `control` talks to /_sandbox (no auth)."""

    url: str
    control: httpx.AsyncClient
    channel_port: int  # where its webhooks go: /webhooks/whatsapp/chatwoot?token=<secret>

    async def state(self) -> Dict[str, Any]:
        return (await self.control.get("/_sandbox/state")).raise_for_status().json()

    async def messages(self, conversation_id: int) -> List[Dict[str, Any]]:
        return [m for m in (await self.state())["messages"] if m["conversation_id"] == conversation_id]

    async def faults(self, *outcomes: Dict[str, Any]) -> None:
        (await self.control.post("/_sandbox/faults", json={"outcomes": list(outcomes)})).raise_for_status()

    async def clear_faults(self) -> None:
        (await self.control.delete("/_sandbox/faults")).raise_for_status()

    async def webhooks(self, wait: float = 10.0) -> Dict[str, Any]:
        return (await self.control.get("/_sandbox/webhooks", params={"wait": wait})).raise_for_status().json()


@pytest.fixture
async def chatwoot() -> AsyncIterator[Chatwoot]:
    channel_port = free_port()
    app = create_app(ACCOUNT_ID, API_TOKEN, inbox_id=INBOX_ID, webhook_secret=WEBHOOK_SECRET,
                     webhook_url=f"http://127.0.0.1:{channel_port}/webhooks/whatsapp/chatwoot?token={WEBHOOK_SECRET}",
                     retry_delays=(0.05, 0.05, 0.05), webhook_timeout=5.0)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url, timeout=20) as control:
        yield Chatwoot(url, control, channel_port)
    await runner.cleanup()


@pytest.fixture
async def client(chatwoot: Chatwoot) -> AsyncIterator[ChatwootClient]:
    cw = ChatwootClient(chatwoot.url, ACCOUNT_ID, INBOX_ID, API_TOKEN, timeout=2.0, backoff_base=0.01)
    yield cw
    await cw.aclose()


@pytest.fixture
def db_url() -> Iterator[str]:
    with throwaway_database("t_helpdesk") as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.engine.Engine]:
    log_engine = create_log_engine(db_url, Settings())
    migrate(log_engine)
    yield log_engine
    log_engine.dispose()


def add_rows(engine: sa.engine.Engine, sender_id: str, *rows: tuple) -> List[int]:
    """Outbox rows as the tracker store writes them: (kind, payload) each, due now, in this order."""
    now = utcnow() - timedelta(seconds=1)
    ids = []
    with engine.begin() as conn:
        for kind, payload in rows:
            ids.append(conn.execute(helpdesk_outbox.insert().values(
                sender_id=sender_id, kind=kind, payload=json.dumps(payload), created_at=now, attempts=0,
                next_attempt_at=now).returning(helpdesk_outbox.c.id)).scalar_one())
    return ids


def message(text: str, n: int = 0) -> Dict[str, Any]:
    return {"text": text, "timestamp": datetime.now().timestamp(), "event_id": f"ev{n}"}


def unsent(engine: sa.engine.Engine) -> List[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(helpdesk_outbox).where(helpdesk_outbox.c.sent_at.is_(None))).all()

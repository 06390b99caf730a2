"""The ingress role (`connectors/whatsapp/ingress.py`) and the NOTIFY wake-up (`inbox_notify.py`), in process:
the ingress app stores a signed message and answers empty TwiML, its insert NOTIFYs the sender id at commit,
an `InboxListener` hears it (and survives its connection being terminated), the Rasa-role channel with
`channel_serve_webhook=False` serves no Twilio route but is woken by the NOTIFY and answers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from dataclasses import replace
from typing import Any, List, Optional, Tuple

import httpx
import pytest
import sqlalchemy as sa

from connectors.whatsapp.inbox_notify import InboxListener, libpq_dsn
from connectors.whatsapp.ingress import build_app
from connectors.whatsapp.proactive import ProactiveMessage, enqueue
from rasa_project.conversation_log.database import shared_engine
from rasa_project.devtools.local_stack import free_port
from rasa_project.devtools.whatsapp_simulator import build_inbound_form, post_inbound
from rasa_project.settings import PROJECT_ROOT, Settings
from tests.connector.support import AUTH_TOKEN, eventually


class Ingress:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.server: Any = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/whatsapp"

    async def start(self) -> Ingress:
        app = build_app(self.settings, name=f"t_ingress_{uuid.uuid4().hex[:8]}")
        self.server = await app.create_server(host="127.0.0.1", port=self.port, return_asyncio_server=True,
                                              access_log=False)
        await self.server.startup()
        await self.server.before_start()
        await self.server.after_start()
        return self

    async def stop(self) -> None:
        await self.server.before_stop()
        self.server.close()
        await self.server.wait_closed()
        await self.server.after_stop()

    async def send(self, number: str, body: str, sid: str | None = None) -> httpx.Response:
        form = build_inbound_form(number, body, message_sid=sid)
        return await post_inbound(f"{self.base}/webhook", form, AUTH_TOKEN,
                                  sandbox_url=self.settings.twilio_api_base_url)


@pytest.fixture
async def ingress(settings: Settings):
    running = await Ingress(settings).start()
    yield running
    await running.stop()


async def test_ingress_stores_acks_and_notifies_the_sender_at_commit(ingress: Ingress, settings: Settings) -> None:
    heard: List[Tuple[str, Optional[int]]] = []
    listener = InboxListener(settings.tracker_db_url, lambda sender, row_id: heard.append((sender, row_id)))
    listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        response = await ingress.send("+5215512340001", "hola", sid="SM" + "a" * 32)
        again = await ingress.send("+5215512340001", "hola", sid="SM" + "a" * 32)  # Twilio re-delivers
        assert (response.status_code, again.status_code) == (200, 200)
        assert response.text.endswith("<Response/>")
        await eventually(lambda: heard, timeout=10)
        await asyncio.sleep(0.3)
        assert [sender for sender, _ in heard] == ["+5215512340001"], \
            "one NOTIFY per stored row, none for the duplicate"
        assert isinstance(heard[0][1], int), f"the NOTIFY names the stored row: {heard}"
        engine = sa.create_engine(settings.tracker_db_url, future=True)
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT sender_id, status FROM whatsapp_inbox")).all()
        finally:
            engine.dispose()
        assert [tuple(r) for r in rows] == [("+5215512340001", "pending")], "stored once, left for a Rasa worker"
    finally:
        await listener.stop()


async def test_ingress_serves_only_twilio_routes_and_probes(ingress: Ingress) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        live = await http.get(f"{ingress.base}/")
        ready = await http.get(f"{ingress.base}/health")
        metrics = await http.get(f"{ingress.base}/metrics")
        operator = await http.get(f"{ingress.base}/operator/handoffs")
        chatwoot = await http.post(f"{ingress.base}/chatwoot", json={})
        forged = await http.post(f"{ingress.base}/webhook", data={"From": "whatsapp:+5215512340002"})
    assert live.status_code == 200 and live.json()["role"] == "ingress", live.text
    assert ready.status_code == 200 and set(ready.json()["checks"]) == {"tracker_db"}, ready.text
    assert "whatsapp_webhook_ack_seconds" in metrics.text
    assert (operator.status_code, chatwoot.status_code) == (404, 404), "routes that need Rasa stay on Rasa"
    assert forged.status_code == 403


def test_building_and_importing_the_ingress_loads_no_model() -> None:
    code = ("import sys\n"
            "from connectors.whatsapp.ingress import build_app\n"
            "from rasa_project.settings import Settings\n"
            "build_app(Settings())\n"
            "heavy = ('tensorflow', 'rasa.core.agent', 'rasa.core.processor', 'rasa.core.run')\n"
            "loaded = [m for m in heavy if m in sys.modules]\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


async def test_listener_reconnects_after_its_connection_is_terminated(settings: Settings) -> None:
    heard: List[Tuple[str, Optional[int]]] = []
    listener = InboxListener(settings.tracker_db_url, lambda sender, row_id: heard.append((sender, row_id)))
    listener.start()
    engine = shared_engine(settings.tracker_db_url, settings)
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE application_name = 'whatsapp-inbox-listener' AND datname = current_database()"))
        await eventually(lambda: not listener.connected.is_set(), timeout=10)
        await asyncio.wait_for(listener.connected.wait(), 20)
        with engine.begin() as conn:  # a proactive row notifies too, in its producer's transaction
            assert enqueue(conn, ProactiveMessage("+5215512340003", "k1", "recordatorio"))
            assert not enqueue(conn, ProactiveMessage("+5215512340003", "k1", "recordatorio"))
        await eventually(lambda: heard, timeout=10)
        with engine.connect() as conn:
            row_id = conn.execute(sa.text("SELECT id FROM whatsapp_inbox WHERE sender_id = '+5215512340003'")).scalar()
        assert heard == [("+5215512340003", row_id)]  # named: the drain that runs it needs no closing claim
    finally:
        await listener.stop()


async def test_rasa_role_without_the_webhook_is_woken_by_the_ingress_notify(
    start_channel: Any, settings: Settings, sandbox: Any
) -> None:
    # a long poll interval: only the NOTIFY can get the message answered within the wait below
    rasa = await start_channel(channel_serve_webhook=False, inbox_poll_seconds=60.0)
    ingress = await Ingress(replace(settings, inbox_poll_seconds=60.0)).start()
    try:
        assert rasa.input_channel is not None and rasa.input_channel.runtime is not None
        listener = rasa.input_channel.runtime.listener
        assert listener is not None
        await asyncio.wait_for(listener.connected.wait(), 10)
        await asyncio.sleep(0.5)  # the poll the (re)connection triggers has run
        async with httpx.AsyncClient(timeout=10) as http:
            not_here = await http.post(rasa.webhook_url, data={})
            status_not_here = await http.post(rasa.status_url, data={})
        assert (not_here.status_code, status_not_here.status_code) == (404, 404)
        assert (await ingress.send("+5215512340004", "hola")).status_code == 200
        replies = await rasa.replies(sandbox, "+5215512340004", timeout=20)
        assert [r["body"] for r in replies] == ["eco: hola"]
        assert listener.received >= 1
    finally:
        await ingress.stop()


def test_libpq_dsn_drops_the_driver() -> None:
    assert libpq_dsn("postgresql+psycopg2://u:p@h:5432/db") == "postgresql://u:p@h:5432/db"

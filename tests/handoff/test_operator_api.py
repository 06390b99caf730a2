"""The operator API over real HTTP (the channel's Sanic app, the Twilio sandbox, Postgres, a real tracker
store and lock store), the idle hand-back with two claimers, and the notification webhook."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, List

import httpx
import pytest
import sqlalchemy as sa
from aiohttp import web
from rasa.core.lock_store import InMemoryLockStore
from rasa.shared.core.events import BotUttered

from connectors.whatsapp.handoff_loops import IdleHandback
from rasa_project.conversation_log.database import create_log_engine
from rasa_project.devtools.local_stack import free_port
from rasa_project.handoff.notify import HandoffNotifier
from rasa_project.handoff.store import HandoffStore
from rasa_project.handoff.tables import utcnow
from rasa_project.settings import Settings
from tests.connector.conftest import sandbox, settings, start_channel  # noqa: F401  (fixtures)
from tests.connector.support import client_wrote
from tests.handoff.support import PHONE, handoff_row, handoff_turn, make_store, outbox, paused_message, save_turn

TOKEN = "operator-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def fake_agent(url: str, **settings: Any) -> Any:
    """The two pieces of Rasa's agent the handoff actions use, real ones."""
    return SimpleNamespace(lock_store=InMemoryLockStore(), tracker_store=make_store(url, **settings))


@pytest.fixture
async def operator(start_channel: Any, pg_url: str) -> Any:  # noqa: F811
    agent = fake_agent(pg_url)
    channel = await start_channel(agent=agent, operator_api_token=TOKEN)
    async with httpx.AsyncClient(base_url=f"{channel.base}/webhooks/whatsapp/operator", timeout=20) as client:
        yield SimpleNamespace(channel=channel, agent=agent, http=client)


async def test_every_route_needs_the_token(operator: Any) -> None:
    routes = [("GET", "/handoffs"), ("GET", f"/conversations/{PHONE}/transcript"),
              ("POST", f"/conversations/{PHONE}/messages"), ("POST", f"/conversations/{PHONE}/handback")]
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            response = await operator.http.request(method, path, headers=headers, json={"text": "x"})
            assert response.status_code == 401 and response.json()["error"], (method, path, headers)


async def test_an_empty_token_closes_the_api(start_channel: Any, pg_url: str) -> None:  # noqa: F811
    channel = await start_channel(agent=fake_agent(pg_url), operator_api_token="")
    async with httpx.AsyncClient() as client:
        for header in ("Bearer", "Bearer x", ""):
            response = await client.get(f"{channel.base}/webhooks/whatsapp/operator/handoffs",
                                        headers={"Authorization": header})
            assert response.status_code == 401


async def test_list_transcript_send_and_hand_back(operator: Any, sandbox: Any, pg_url: str) -> None:  # noqa: F811
    store = operator.agent.tracker_store
    await save_turn(store, handoff_turn("pago_fallido"))
    await save_turn(store, paused_message("¿hay alguien?"))

    listed = (await operator.http.get("/handoffs", headers=AUTH)).json()["handoffs"]
    assert [(h["sender"], h["reason"]) for h in listed] == [(PHONE, "pago_fallido")] and listed[0]["since"]

    transcript = await operator.http.get(f"/conversations/{PHONE}/transcript", params={"limit": 2}, headers=AUTH)
    assert transcript.status_code == 200 and transcript.json()["handed_off"] is True
    assert [(m["author"], m["text"]) for m in transcript.json()["messages"]] == [
        ("bot", "Te paso con una persona del equipo"), ("client", "¿hay alguien?")]

    engine = create_log_engine(pg_url, Settings())
    client_wrote(engine, PHONE)  # "¿hay alguien?" came through the channel: WhatsApp's window is open
    engine.dispose()
    sent = await operator.http.post(f"/conversations/{PHONE.replace('+', '%2B')}/messages", headers=AUTH,
                                    json={"text": "Hola, soy Marta del estudio", "author": "Marta"})
    assert sent.status_code == 201, sent.text
    [message] = await sandbox.messages(to=f"whatsapp:{PHONE}")
    assert message["body"] == "Hola, soy Marta del estudio"
    tracker = await store.retrieve(PHONE)
    last = [e for e in tracker.events if isinstance(e, BotUttered)][-1]
    assert last.text == "Hola, soy Marta del estudio"
    assert last.metadata["helpdesk"] == {"name": "Marta", "source": "operator_api"}
    assert tracker.is_paused()  # writing to the client does not hand back
    kinds = operator.channel.query("SELECT kind FROM whatsapp_outbound WHERE sender_id = :s", s=PHONE)
    assert [k[0] for k in kinds] == ["helpdesk"]
    team = (await operator.http.get(f"/conversations/{PHONE}/transcript", headers=AUTH)).json()["messages"][-1]
    assert team["author"] == {"name": "Marta", "source": "operator_api"}

    back = await operator.http.post(f"/conversations/{PHONE}/handback", headers=AUTH)
    assert back.status_code == 200 and back.json() == {"handed_back": True}
    assert not (await store.retrieve(PHONE)).is_paused()
    row = handoff_row(pg_url)
    assert row["state"] == "bot" and row["ended_by"] == "operator"  # type: ignore[index]
    assert (await operator.http.post(f"/conversations/{PHONE}/handback", headers=AUTH)).status_code == 404
    assert (await operator.http.get("/handoffs", headers=AUTH)).json()["handoffs"] == []


@pytest.mark.parametrize("method, path, body, status", [
    ("GET", "/conversations/+5215500000000/transcript", None, 404),
    ("POST", "/conversations/+5215500000000/messages", {"text": "hola"}, 404),
    ("POST", "/conversations/+5215500000000/handback", None, 404),
    ("GET", "/conversations/ana/transcript", None, 400),
    ("GET", f"/conversations/{PHONE}/transcript?limit=cero", None, 400),
    ("POST", f"/conversations/{PHONE}/messages", {"text": "  "}, 400),
    ("POST", f"/conversations/{PHONE}/messages", {"author": "Marta"}, 400),
])
async def test_json_errors(operator: Any, method: str, path: str, body: Any, status: int) -> None:
    await save_turn(operator.agent.tracker_store, handoff_turn())
    response = await operator.http.request(method, path, headers=AUTH, json=body)
    assert response.status_code == status and "error" in response.json()


async def test_two_instances_claim_each_idle_handoff_once(pg_url: str) -> None:
    store = make_store(pg_url)
    senders = [f"+52155100000{n:02d}" for n in range(24)]
    for sender in senders:
        await save_turn(store, handoff_turn(), sender=sender)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE handoffs SET last_message_at = :old"), {"old": utcnow() - timedelta(hours=5)})
    engines = [create_log_engine(pg_url, Settings()) for _ in range(2)]
    try:
        claimers = [HandoffStore(engine) for engine in engines]
        results: List[List[str]] = await asyncio.gather(*[
            asyncio.to_thread(claimer.claim_idle, 240) for claimer in claimers for _ in range(3)])
        claimed = [sender for result in results for sender in result]
        assert sorted(claimed) == sorted(senders)  # every one, none twice
        assert await asyncio.to_thread(claimers[0].claim_idle, 240) == []  # the claim is a lease
    finally:
        for engine in engines:
            engine.dispose()


async def test_the_idle_loop_hands_back_with_idle_timeout(pg_url: str) -> None:
    agent = fake_agent(pg_url)
    await save_turn(agent.tracker_store, handoff_turn())
    await save_turn(agent.tracker_store, handoff_turn(), sender="+5215599990001")
    idle = IdleHandback(HandoffStore(agent.tracker_store.engine), lambda: agent, idle_minutes=30)
    assert await idle.run_once() == []  # nobody idle yet
    with agent.tracker_store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE handoffs SET last_message_at = :old WHERE sender_id = :s"),
                     {"old": utcnow() - timedelta(minutes=31), "s": PHONE})
    assert await idle.run_once() == [PHONE]
    assert not (await agent.tracker_store.retrieve(PHONE)).is_paused()
    assert handoff_row(pg_url)["ended_by"] == "idle_timeout"  # type: ignore[index]
    assert handoff_row(pg_url, "+5215599990001")["state"] == "human"  # type: ignore[index]
    assert await IdleHandback(idle.store, lambda: agent, idle_minutes=0).run_once() == []  # 0 = never


async def test_notifications_are_posted_and_retried(pg_url: str) -> None:
    received: List[Any] = []
    answers = [500, 200]

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=answers.pop(0) if answers else 200)

    app = web.Application()
    app.router.add_post("/notify", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/notify"
    store = make_store(pg_url, handoff_notify_url=url, chatwoot_base_url="http://127.0.0.1:9")
    await save_turn(store, handoff_turn())
    notifier = HandoffNotifier(HandoffStore(store.engine), url, retry_base_seconds=0.01)
    try:
        assert await notifier.run_once() == 0  # 500: kept, retried later
        [row] = outbox(pg_url, "notify")
        assert row["sent_at"] is None and row["attempts"] == 1 and "500" in row["last_error"]
        await asyncio.sleep(0.05)
        assert await notifier.run_once() == 1
        [row] = outbox(pg_url, "notify")
        assert row["sent_at"] is not None and row["attempts"] == 2
        assert await notifier.run_once() == 0
        assert len(received) == 2 and received[-1]["client"] == PHONE and received[-1]["reason"]
        assert all(r["sent_at"] is None for r in outbox(pg_url) if r["kind"] != "notify")  # the mirror's rows
    finally:
        await notifier.stop()
        await runner.cleanup()

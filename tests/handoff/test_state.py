"""The tracker store's handoff hook on a real Postgres: pause/resume/messages → `handoffs` and the outbox,
nothing written (and no query) when there is nothing to write, session expiry, a second instance."""

from __future__ import annotations

from typing import Any, Iterator, List

import pytest
import sqlalchemy as sa
from rasa.shared.core.events import ConversationPaused, Restarted, SessionStarted

from rasa_project.conversation_log import window as win
from tests.conversation_log.support import act, bot, ts, user
from tests.handoff.support import (
    PHONE,
    handoff_row,
    handoff_turn,
    make_store,
    outbox,
    paused_message,
    resume,
    save_turn,
)

MIRROR = {"chatwoot_base_url": "http://127.0.0.1:9"}
NOTIFY = {"handoff_notify_url": "http://127.0.0.1:9/notify"}


class Statements:
    """Every SQL statement an engine sends, to count round trips."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine
        self.seen: List[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(statement)

    def touching(self, *tables: str) -> List[str]:
        return [s for s in self.seen if any(t in s for t in tables)]

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.fixture
def statements() -> Iterator[Any]:
    made: List[Statements] = []

    def watch(store: Any) -> Statements:
        made.append(Statements(store.engine))
        return made[-1]

    yield watch
    for watcher in made:
        watcher.close()


async def test_a_pause_opens_the_handoff_with_the_reason_and_a_resume_closes_it(pg_url: str) -> None:
    store = make_store(pg_url)
    await save_turn(store, [user("saludo", "hola"), act("utter_saludo"), bot("¡Hola!"), act("action_listen")])
    assert handoff_row(pg_url) is None
    tracker = await save_turn(store, handoff_turn("pago_fallido"))
    assert tracker.is_paused()
    row = handoff_row(pg_url)
    assert row is not None and row["state"] == "human" and row["reason"] == "pago_fallido"
    assert row["ended_at"] is None and row["started_at"] == row["last_message_at"]
    await save_turn(store, resume(by="helpdesk"))
    row = handoff_row(pg_url)
    assert row is not None and row["state"] == "bot" and row["ended_by"] == "helpdesk" and row["ended_at"]
    assert outbox(pg_url) == []  # neither a mirror nor a notification URL is configured


async def test_a_resume_without_by_is_the_operator_and_a_new_handoff_reopens_the_row(pg_url: str) -> None:
    store = make_store(pg_url)
    await save_turn(store, handoff_turn())
    await save_turn(store, resume(by=None))
    assert handoff_row(pg_url)["ended_by"] == "operator"  # type: ignore[index]
    await save_turn(store, handoff_turn("dos_fallbacks"))
    row = handoff_row(pg_url)
    assert row["state"] == "human" and row["reason"] == "dos_fallbacks" and row["ended_by"] is None  # type: ignore[index]


async def test_messages_while_paused_move_last_message_at_with_one_statement(pg_url: str, statements: Any) -> None:
    store = make_store(pg_url)
    await save_turn(store, handoff_turn())
    first = handoff_row(pg_url)["last_message_at"]  # type: ignore[index]
    watch = statements(store)
    await save_turn(store, paused_message("¿hola?"))
    assert len(watch.touching("handoffs", "helpdesk_outbox")) == 1
    assert handoff_row(pg_url)["last_message_at"] > first  # type: ignore[index]


async def test_no_query_when_nothing_is_configured_and_nothing_changes(pg_url: str, statements: Any) -> None:
    store = make_store(pg_url)
    await save_turn(store, [user("saludo", "hola"), act("utter_saludo"), bot("¡Hola!"), act("action_listen")])
    watch = statements(store)
    for _ in range(3):
        await save_turn(store, [user("saludo", "hola"), act("utter_saludo"), bot("¡Hola!"), act("action_listen")])
    assert watch.touching("handoffs", "helpdesk_outbox") == []


async def test_with_the_mirror_every_text_is_queued_but_not_the_teams_own(pg_url: str, statements: Any) -> None:
    store = make_store(pg_url, **MIRROR)
    watch = statements(store)
    await save_turn(store, [user("saludo", "hola, mi tarjeta es 4111 1111 1111 1111"), act("utter_saludo"),
                            bot("¡Hola!"), act("action_listen")])
    assert len(watch.touching("handoffs", "helpdesk_outbox")) == 1
    await save_turn(store, handoff_turn())
    watch.seen.clear()
    await save_turn(store, paused_message("¿siguen ahí?") + [bot("Sí, soy Marta", {"helpdesk": {"name": "Marta"}})])
    assert len(watch.touching("handoffs", "helpdesk_outbox")) == 1  # touch + insert as one statement (CTE)
    await save_turn(store, resume(by="helpdesk"))
    rows = outbox(pg_url)
    assert [r["kind"] for r in rows] == ["message_in", "message_out", "message_in", "message_out", "handoff",
                                         "message_in", "handback"]
    assert "4111" not in rows[0]["payload"]["text"]  # redacted like the log
    assert rows[0]["payload"]["event_id"] and rows[0]["payload"]["timestamp"]
    handoff = rows[4]["payload"]
    assert handoff["reason"] == "pedido_del_cliente" and handoff["in_hours"] is True and handoff["next_open"]
    assert handoff["last_turns"][-1] == {"who": "bot", "text": "Te paso con una persona del equipo"}
    assert {"who": "client", "text": "quiero hablar con una persona"} in handoff["last_turns"]
    assert len(handoff["last_turns"]) <= 6
    assert rows[6]["payload"] == {"by": "helpdesk"}
    assert all("Marta" not in str(r["payload"]) for r in rows)  # the agent's message is not mirrored back
    assert all(r["sent_at"] is None and r["attempts"] == 0 for r in rows)


async def test_a_notification_row_only_with_a_notify_url(pg_url: str) -> None:
    store = make_store(pg_url, **NOTIFY)
    await save_turn(store, [user("saludo", "hola"), act("utter_saludo"), bot("¡Hola!"), act("action_listen")])
    assert outbox(pg_url) == []  # messages are the mirror's business
    await save_turn(store, handoff_turn())
    [row] = outbox(pg_url)
    assert row["kind"] == "notify" and row["sender_id"] == PHONE
    payload = row["payload"]
    assert payload["client"] == PHONE and payload["reason"] == "pedido_del_cliente" and payload["since"]
    assert payload["last_turns"][0] == {"who": "client", "text": "hola"}
    await save_turn(store, paused_message("hola?"))
    assert len(outbox(pg_url)) == 1


async def test_a_session_that_expires_paused_and_is_paused_again_continues_the_handoff(pg_url: str) -> None:
    store = make_store(pg_url, **MIRROR)
    await save_turn(store, handoff_turn())
    started = handoff_row(pg_url)["started_at"]  # type: ignore[index]
    continued = ConversationPaused(timestamp=ts(), metadata={"continued": "session_start"})
    tracker = await save_turn(store, [act("action_session_start"), SessionStarted(timestamp=ts()), continued,
                                      act("action_listen"), user("informar", "¿me responden?")])
    assert tracker.is_paused()
    row = handoff_row(pg_url)
    assert row["state"] == "human" and row["started_at"] == started  # type: ignore[index]
    assert row["last_message_at"] > started  # type: ignore[index]
    assert [r["kind"] for r in outbox(pg_url)].count("handoff") == 1
    assert (await store.retrieve(PHONE)).is_paused()  # type: ignore[union-attr]


@pytest.mark.parametrize("reset, ended_by", [(SessionStarted, "session_end"), (Restarted, "restart")])
async def test_a_reset_that_unpauses_the_tracker_ends_the_handoff(pg_url: str, reset: Any, ended_by: str) -> None:
    store = make_store(pg_url)
    await save_turn(store, handoff_turn())
    await save_turn(store, [reset(timestamp=ts()), act("action_listen")])
    row = handoff_row(pg_url)
    assert row["state"] == "bot" and row["ended_by"] == ended_by  # type: ignore[index]


async def test_a_second_instance_honours_the_pause_even_after_the_window_moved(pg_url: str) -> None:
    first = make_store(pg_url, tracker_window_events=5)
    second = make_store(pg_url + "?application_name=second", tracker_window_events=5)
    assert first.engine is not second.engine  # two pools, as two processes would have
    await save_turn(first, handoff_turn())
    for i in range(40):  # far more than twice the window: the window start moves past the pause
        await save_turn(second if i % 2 else first, paused_message(f"mensaje {i}"))
    for store in (first, second):
        tracker = await store.retrieve(PHONE)
        assert tracker is not None and tracker.is_paused()
        window = win.attached(tracker)
        assert window is not None and window.prefix_len > 0  # loaded from the snapshot, the pause long past
        assert len(tracker.events) < 30
    full = await first.retrieve_full_tracker(PHONE)
    assert full is not None and full.is_paused() and len([e for e in full.events if e.type_name == "user"]) == 41
    await save_turn(second, resume())
    assert not (await first.retrieve(PHONE)).is_paused()  # type: ignore[union-attr]

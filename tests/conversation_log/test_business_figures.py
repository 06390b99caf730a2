"""A scripted day of conversations, written through the tracker store, gives the expected rows of every
m0007 view, on Postgres and SQLite: bookings, a reschedule, a cancellation, payment links (some paid in
the real booking sandbox, found by the purchase sync), ratings, fallbacks, a handoff, returning clients.
The stats CLI prints the new tables and draws the charts.

`python -m tests.conversation_log.test_business_figures docs/img` draws the scripted day's charts for
docs/conversation-log.md (stats-*.png).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import AsyncIterator, Dict, Iterator, List, Optional

import httpx
import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)

from rasa_project.booking_api import BookingApiClient, Purchase
from rasa_project.conversation_log import business_figures as figures
from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.conversation_log.purchase_outcomes import (
    PURCHASE_OUTCOMES,
    purchase_outcomes,
    sync_purchase_outcomes,
)
from rasa_project.conversation_log.tracker_store import WindowedSQLTrackerStore
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.settings import Settings
from tests.conversation_log.support import domain, rasa_response, replier_message, write_session
from tests.conversation_log.test_schema import _declared, _migrated
from tests.support.booking_sandbox import (  # noqa: F401  (fixtures)
    ANA,
    LUCIA,
    MARTIN,
    TOKEN,
    TZ,
    Sandbox,
    sandbox,
    sandbox_server,
)

UTC = dt.timezone.utc
CARLOS, FALLING, HANDOFF, GREETER = "+5215500000004", "+5215500000005", "+5215500000006", "+5215500000007"
RETURNING, PROACTIVE, REGULAR = "+5215500000008", "+5215500000009", "+5215500000010"
LUCIA_WA = f"whatsapp:{LUCIA}"  # a sender id with the channel prefix: the sync strips it like the actions do


def at(day: str, hour: int) -> float:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=UTC).timestamp()


class Conversation:
    """One session of one sender as the log holds it, its events a second apart from `start`."""

    def __init__(self, sender: str, start: float) -> None:
        self.sender, self.start, self.t = sender, start, start
        self.events: List[Event] = [ActionExecuted("action_session_start", timestamp=start),
                                    SessionStarted(timestamp=start), ActionExecuted("action_listen", timestamp=start)]

    def _now(self) -> float:
        self.t += 1
        return self.t

    def user(self, intent: str, text: Optional[str] = None) -> Conversation:
        parse = {"text": text or intent, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
        self.events.append(UserUttered(text or intent, parse["intent"], [], parse_data=parse, timestamp=self._now()))
        return self

    def rasa(self, response: str) -> Conversation:
        """A rule's domain response."""
        self.events += rasa_response(response, f"({response})", self._now())
        return self

    def says(self, template: str, event: Optional[str] = None, **facts: object) -> Conversation:
        """A message of our actions (`Replier.say`)."""
        self.events.append(replier_message(template, self._now(), event=event, facts=facts))
        return self

    def offer(self, by_form: bool = True) -> Conversation:
        """agendar_form's confirmation question: Rasa asks it (utter_action), or an action would (template_name)."""
        if by_form:
            self.events.append(BotUttered("¿Lo confirmo?", metadata={"utter_action": "utter_ask_confirmar_reserva"},
                                          timestamp=self._now()))
            return self
        return self.says("utter_ask_confirmar_reserva")

    def booked(self, booking_id: str) -> Conversation:
        return self.says("utter_reserva_confirmada", "booking_created", reserva_id=booking_id,
                         booking={"id": booking_id, "slot_id": 7, "starts_at": "2026-03-12T18:00:00-06:00"})

    def nlu_fallback(self) -> Conversation:
        return self.user("nlu_fallback", "asdf qwer").rasa("utter_default")

    def core_fallback(self, intent: str) -> Conversation:
        """Rasa's core fallback: the policy was unsure, `action_default_fallback` answered and reverted."""
        t = self._now()
        self.user(intent)
        self.events += [ActionExecuted("action_default_fallback", timestamp=t),
                        BotUttered("(utter_default)", metadata={"utter_action": "utter_default"}, timestamp=t),
                        UserUtteranceReverted(timestamp=t)]
        return self

    def rating(self, about: str, value: Optional[object]) -> Conversation:
        """The bot asks "¿Qué tal te atendí?"; with a value, the client answers and the bot thanks them."""
        self.says("utter_pregunta_satisfaccion", "satisfaction_asked", sobre=about)
        if value is not None:
            self.user("informar", str(value)).says("utter_gracias_valoracion", "satisfaction_rated",
                                                   valoracion=value, sobre=about)
        return self

    def link(self, purchase: Purchase, resent: bool = False) -> Conversation:
        return self.says(
            "utter_link_pago", "purchase_link_resent" if resent else "purchase_created",
            paquete_nombre=purchase.package_name, monto=f"{purchase.amount} {purchase.currency}",
            link_pago=purchase.payment_url, compra_id=purchase.id,
            purchase={"id": purchase.id, "amount": str(purchase.amount), "status": purchase.status, "reused": resent},
        )


def scripted_log(p: Dict[str, Purchase]) -> List[Conversation]:
    """The conversations, in time order. Purchases by key: martin (paid), lucia (paid later), lucia_later
    (paid), ana (left pending: it expires)."""
    day = "2026-03-10"
    return [
        Conversation(RETURNING, at("2026-02-27", 10)).user("agendar_cita").offer().user("afirmar")
        .booked("RSV-0900").rating("agendar_cita", 4),
        Conversation(REGULAR, at("2026-03-03", 10)).user("saludo").says("utter_saludo"),
        Conversation(ANA, at(day, 10)).user("agendar_cita").offer().user("afirmar").booked("RSV-1001")
        .rating("agendar_cita", 5).user("pagar_servicio").user("afirmar").link(p["ana"]),
        Conversation(MARTIN, at(day, 10) + 1800).user("agendar_cita").offer().user("negar")
        .says("utter_operacion_cancelada").user("pagar_servicio").user("afirmar").link(p["martin"])
        .rating("pagar_servicio", 3),
        Conversation(LUCIA_WA, at(day, 11)).user("pagar_servicio").user("afirmar").link(p["lucia"])
        .user("afirmar").link(p["lucia"], resent=True).rating("pagar_servicio", None),
        Conversation(CARLOS, at(day, 12)).user("reprogramar_cita").user("afirmar")
        .says("utter_cita_reprogramada", "booking_rescheduled", booking={"id": "RSV-1003"}, replaced="RSV-0950")
        .rating("reprogramar_cita", 4).user("cancelar_cita").user("afirmar")
        .says("utter_reserva_cancelada", "booking_cancelled", reserva_id="RSV-1003").rating("cancelar_cita", 2),
        Conversation(FALLING, at(day, 13)).user("saludo").says("utter_saludo").nlu_fallback()
        .core_fallback("informar").rating("cancelar_cita", "muy bien"),  # not a 1-5 rating: ignored
        Conversation(HANDOFF, at(day, 14)).user("ayuda").says("utter_ayuda").user("informar", "con una persona")
        .says("utter_handoff", "handoff_started"),
        Conversation(GREETER, at(day, 15)).user("saludo").says("utter_saludo").nlu_fallback().user("agendar_cita")
        .offer(by_form=False).user("afirmar").booked("RSV-1004").nlu_fallback().rating("agendar_cita", 2),
        Conversation(LUCIA_WA, at(day, 16)).user("pagar_servicio").user("afirmar").link(p["lucia_later"]),
        Conversation(RETURNING, at(day, 17)).user("agendar_cita").offer().user("afirmar")
        .says("utter_error_api"),  # confirmed, but the booking API failed: not booked
        Conversation(PROACTIVE, at(day, 18)).says("utter_recordatorio"),  # no client message: not a conversation
        Conversation(REGULAR, at(day, 19)).user("saludo").says("utter_saludo"),
        Conversation(ANA, at("2026-03-11", 9)).user("saludo").says("utter_saludo"),
    ]


async def write_log(store: WindowedSQLTrackerStore, conversations: List[Conversation]) -> None:
    for conversation in sorted(conversations, key=lambda c: c.start):
        await write_session(store, conversation.sender, conversation.events)


async def sandbox_purchases(api: BookingApiClient) -> Dict[str, Purchase]:
    packages = await api.list_packages()
    first, second = packages[0], packages[1]
    return {"ana": await api.purchase_package(ANA, first.id),
            "martin": await api.purchase_package(MARTIN, second.id),
            "lucia": await api.purchase_package(LUCIA, first.id),
            "lucia_later": await api.purchase_package(LUCIA, second.id)}


async def pay(sandbox: Sandbox, purchase: Purchase) -> None:
    """Open the payment link, as the client would (the sandbox's demo payment)."""
    response = await sandbox.http.get(f"/pay/{purchase.id}")
    assert response.status_code == 200 and "Pago recibido" in response.text, response.text


@pytest.fixture(params=["postgresql", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgresql":
        with throwaway_database("t_figures") as pg:
            yield pg
    else:
        yield f"sqlite:///{tmp_path / 'log.db'}"


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[BookingApiClient]:
    async with BookingApiClient(sandbox.url, TOKEN, timeout=3.0, max_retries=0) as client:
        yield client


def test_purchase_outcomes_is_migrated_as_declared(url: str) -> None:
    engine = create_log_engine(url, Settings())
    migrate(engine)
    assert _migrated(engine, "purchase_outcomes") == _declared(PURCHASE_OUTCOMES)
    engine.dispose()


async def test_figures_of_a_scripted_day(url: str, sandbox: Sandbox, api: BookingApiClient) -> None:
    p = await sandbox_purchases(api)
    store = WindowedSQLTrackerStore(domain=domain(), settings=Settings(tracker_db_url=url))
    await write_log(store, scripted_log(p))
    engine = store.engine

    # Before any sync the log knows the links, not whether anyone paid.
    before = {r["day"]: r for r in figures.conversion_stats(engine)}["2026-03-10"]
    assert (before["links_sent"], before["purchases_paid"], before["purchases_unchecked"]) == (5, 0, 4)
    assert figures.revenue_stats(engine) == []

    await pay(sandbox, p["martin"])
    await pay(sandbox, p["lucia_later"])
    t1, t2 = dt.datetime(2026, 3, 11, 6, 0), dt.datetime(2026, 3, 12, 6, 0)
    first = await sync_purchase_outcomes(engine, api, now=lambda: t1)
    assert (first.asked, first.recorded, first.paid) == (4, 4, 2)
    assert first.missing == first.skipped == first.failed == []
    outcomes = {r["purchase_id"]: r for r in purchase_outcomes(engine)}
    assert {key: (outcomes[q.id]["status"], outcomes[q.id]["paid_at"]) for key, q in p.items()} == {
        "ana": ("pending", None), "martin": ("paid", t1), "lucia": ("pending", None), "lucia_later": ("paid", t1)}
    for purchase in p.values():
        row = outcomes[purchase.id]
        assert (row["amount"], row["currency"], row["checked_at"]) == (purchase.amount, purchase.currency, t1)
    assert (outcomes[p["lucia"].id]["sender_id"], outcomes[p["lucia"].id]["phone"]) == (LUCIA_WA, LUCIA)

    # Lucía pays her first link; a day later Ana's link has expired. Only open links are asked again.
    await pay(sandbox, p["lucia"])
    sandbox.clock.offset = timedelta(hours=25)
    await sandbox.clear_requests()
    second = await sync_purchase_outcomes(engine, api, now=lambda: t2)
    assert (second.asked, second.recorded, second.paid) == (2, 2, 1)
    assert len(await sandbox.requests("/client/purchase-history")) == 2  # Ana and Lucía, not Martín
    outcomes = {r["purchase_id"]: r for r in purchase_outcomes(engine)}
    assert {key: (outcomes[q.id]["status"], outcomes[q.id]["paid_at"], outcomes[q.id]["checked_at"])
            for key, q in p.items()} == {
        "ana": ("expired", None, t2), "martin": ("paid", t1, t1), "lucia": ("paid", t2, t2),
        "lucia_later": ("paid", t1, t1)}
    third = await sync_purchase_outcomes(engine, api)
    assert (third.asked, third.recorded) == (0, 0)  # every outcome is final
    assert len(await sandbox.requests("/client/purchase-history")) == 2

    paid = [p["martin"], p["lucia"], p["lucia_later"]]
    currency = paid[0].currency
    assert {q.currency for q in paid} == {currency}
    amount = round(float(sum(q.amount for q in paid)), 2)
    zeros = dict.fromkeys(["reschedules", "reschedule_conversations", "cancellations", "cancellation_conversations",
                           "links_sent", "link_conversations", "purchases_paid", "paid_conversations",
                           "purchases_unchecked"], 0)
    assert figures.conversion_stats(engine) == [
        {"day": "2026-02-27", "bookings": 1, "booking_conversations": 1, **zeros, "amount_paid": 0.0,
         "currency": None, "booking_starts": 1, "offered_share": 1.0, "confirmed_share": 1.0, "booked_share": 1.0},
        {"day": "2026-03-10", "bookings": 2, "booking_conversations": 2, "reschedules": 1,
         "reschedule_conversations": 1, "cancellations": 1, "cancellation_conversations": 1,
         "links_sent": 5, "link_conversations": 4,  # Lucía's first link went out twice in one conversation
         "purchases_paid": 3, "paid_conversations": 3, "amount_paid": amount, "currency": currency,
         "purchases_unchecked": 0, "booking_starts": 3,  # Ana, Martín, the returning client (not the greeter)
         "offered_share": 1.0, "confirmed_share": pytest.approx(2 / 3), "booked_share": pytest.approx(1 / 3)},
    ]
    assert figures.revenue_stats(engine) == [
        {"day": "2026-03-10", "currency": currency, "purchases_paid": 3, "amount_paid": amount, "conversations": 3}]
    assert figures.booking_funnel(engine) == [
        {"day": "2026-02-27", "started": 1, "offered": 1, "confirmed": 1, "booked": 1},
        {"day": "2026-03-10", "started": 3, "offered": 3, "confirmed": 2, "booked": 1},
    ]

    active = [(r["period"], r["period_start"], r["clients"], r["new_clients"], r["returning_clients"])
              for r in figures.active_users(engine)]
    assert active == [
        ("day", "2026-02-27", 1, 1, 0), ("day", "2026-03-03", 1, 1, 0),
        ("day", "2026-03-10", 9, 7, 2),  # the returning client and the regular were here before
        ("day", "2026-03-11", 1, 0, 1),
        ("week", "2026-02-23", 1, 1, 0), ("week", "2026-03-02", 1, 1, 0),
        ("week", "2026-03-09", 9, 7, 2),  # Ana's Wednesday is in the week she was first seen
        ("month", "2026-02-01", 1, 1, 0),
        ("month", "2026-03-01", 9, 8, 1),  # the regular's first message was in March too
    ]
    assert figures.active_users(engine, "week") == [r for r in figures.active_users(engine) if r["period"] == "week"]

    rating = {(r["day"], r["intent"]): (r["asked"], r["ratings"], r["avg_rating"], r["response_rate"])
              for r in figures.satisfaction_stats(engine)}
    assert rating == {
        ("2026-02-27", "agendar_cita"): (1, 1, 4.0, 1.0),
        ("2026-03-10", "agendar_cita"): (2, 2, 3.5, 1.0),
        ("2026-03-10", "cancelar_cita"): (2, 1, 2.0, 0.5),  # asked twice; the answer "muy bien" is no rating
        ("2026-03-10", "pagar_servicio"): (2, 1, 3.0, 0.5),
        ("2026-03-10", "reprogramar_cita"): (1, 1, 4.0, 1.0),
    }

    contained = {r["day"]: (r["conversations"], r["contained"], r["handoffs"], r["repeated_fallbacks"],
                            r["containment_rate"]) for r in figures.containment(engine)}
    assert contained == {
        "2026-02-27": (1, 1, 0, 0, 1.0),
        "2026-03-03": (1, 1, 0, 0, 1.0),
        # 10 sessions with a client message (Lucía had two; the reminder alone is none); the greeter's two
        # fallbacks were not in a row; the handoff and the two fallbacks in a row were not contained
        "2026-03-10": (10, 8, 1, 1, 0.8),
        "2026-03-11": (1, 1, 0, 0, 1.0),
    }
    assert migrate(engine) == []


@pytest.mark.parametrize(
    "sender, purchase_id, expected",
    [
        (MARTIN, None, "failed"),  # the API answers 503: asked again next run
        ("+5215599999999", "PAY-100001", "skipped"),  # not a client of the booking API
        ("default", "PAY-100002", "skipped"),  # `rasa shell`'s conversation id is no phone
        (ANA, "PAY-999999", "missing"),  # the client's history does not list it
    ],
)
async def test_sync_records_nothing_it_could_not_check(
    sender: str, purchase_id: Optional[str], expected: str, sandbox: Sandbox, api: BookingApiClient, tmp_path: Path
) -> None:
    purchase = await api.purchase_package(MARTIN, (await api.list_packages())[0].id)
    store = WindowedSQLTrackerStore(domain=domain(), settings=Settings(tracker_db_url=f"sqlite:///{tmp_path / 'l.db'}"))
    conversation = Conversation(sender, at("2026-03-10", 10)).user("pagar_servicio").link(purchase)
    if purchase_id is not None:
        conversation.events[-1].metadata["facts"]["purchase"]["id"] = purchase_id
    await write_log(store, [conversation])
    if expected == "failed":
        await sandbox.fault(path_prefix="/client/purchase-history", status=503, count=1)
    result = await sync_purchase_outcomes(store.engine, api)
    assert getattr(result, expected) == ([purchase_id] if expected == "missing" else [sender])
    assert (result.recorded, purchase_outcomes(store.engine)) == (0, [])
    assert figures.conversion_stats(store.engine)[0]["purchases_unchecked"] == 1


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


async def test_stats_cli_syncs_prints_the_figures_and_draws_them(
    sandbox: Sandbox, api: BookingApiClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rasa_project.stats_cli import main

    with throwaway_database("t_figures_cli") as url:
        p = await sandbox_purchases(api)
        await write_log(WindowedSQLTrackerStore(domain=domain(), settings=Settings(tracker_db_url=url)),
                        scripted_log(p))
        await pay(sandbox, p["martin"])
        settings = Settings(booking_api_url=sandbox.url, booking_api_token=TOKEN, booking_api_max_retries=0)
        charts = tmp_path / "charts"

        code = await asyncio.to_thread(main, ["--db", url, "--sync-purchases"], settings)
        out = capsys.readouterr().out
        assert code == 0 and out.strip() == "Pagos sincronizados: 4 consultados, 4 registrados, 1 pagados"

        code = await asyncio.to_thread(main, ["--db", url, "--png", str(charts)], settings)
        out = capsys.readouterr().out
        assert code == 0
        for title in ("Conversiones por día", "Ingresos por día", "Embudo de reservas", "Clientes activos",
                      "Satisfacción por día", "resueltas sin ayuda", "Conversaciones por día"):
            assert title in out, title
        assert "reprogramar_cita" in out and "2026-03-10" in out
        names = ["messages_per_day.png", "intents.png", "conversions_per_day.png", "booking_funnel.png", "ratings.png"]
        assert sorted(path.name for path in charts.iterdir()) == sorted(names)
        assert all(_is_png(charts / name) for name in names)

        code = await asyncio.to_thread(main, ["--db", url, "--report", "funnel"], settings)
        out = capsys.readouterr().out
        assert code == 0 and "Embudo de reservas" in out and "Conversiones" not in out

        await sandbox.fault(path_prefix="/client/purchase-history", status=503, count=10)
        code = await asyncio.to_thread(main, ["--db", url, "--sync-purchases"], settings)
        captured = capsys.readouterr()
        assert code == 1 and "did not answer" in captured.err


def render_doc_charts(directory: Path) -> List[Path]:
    """The scripted day in a fresh sandbox and SQLite log, through the CLI, into `directory/stats-*.png`."""
    from rasa_project.sandboxes.booking_api import create_app
    from rasa_project.stats_cli import main
    from tests.support.threaded_server import Clock, ThreadedServer

    with tempfile.TemporaryDirectory() as tmp:
        server = ThreadedServer(create_app(f"sqlite:///{tmp}/sandbox.db", TOKEN, TZ, now=Clock().now)).start()
        log_url = f"sqlite:///{tmp}/log.db"
        try:
            async def build() -> None:
                async with BookingApiClient(server.url, TOKEN) as client:
                    p = await sandbox_purchases(client)
                    store = WindowedSQLTrackerStore(domain=domain(), settings=Settings(tracker_db_url=log_url))
                    await write_log(store, scripted_log(p))
                    async with httpx.AsyncClient(base_url=server.url) as http:
                        for key in ("martin", "lucia", "lucia_later"):
                            await http.get(f"/pay/{p[key].id}")

            asyncio.run(build())
            settings = Settings(booking_api_url=server.url, booking_api_token=TOKEN)
            charts = Path(tmp) / "charts"
            assert main(["--db", log_url, "--sync-purchases", "--png", str(charts), "--report", "conversions"],
                        settings) == 0
        finally:
            server.stop()
        directory.mkdir(parents=True, exist_ok=True)
        return [Path(shutil.copy(chart, directory / f"stats-{chart.name}")) for chart in sorted(charts.iterdir())]


if __name__ == "__main__":
    for written in render_doc_charts(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")):
        print(written)

"""SettingsEventBroker against the machine's RabbitMQ: what Rasa builds from endpoints.yml, the URL it
reads, and the events a consumer gets (in order, redacted exactly like the conversation log)."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List

import pytest
import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig
from yarl import URL

from rasa_project.conversation_log import event_broker as module
from rasa_project.conversation_log.event_broker import (
    AmqpTarget,
    KafkaSink,
    KafkaTarget,
    PikaSink,
    SettingsEventBroker,
    parse_broker_url,
)
from rasa_project.conversation_log.redaction import redact_event
from rasa_project.conversation_log.tracker_store import WindowedSQLTrackerStore
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.settings import PROJECT_ROOT, Settings
from tests.broker.conftest import MakeBroker
from tests.broker.support import RABBITMQ_URL, Counts, QueueReader, eventually
from tests.conversation_log.support import domain, session_start, turn

PATH = "rasa_project.conversation_log.event_broker.SettingsEventBroker"
CARD = "4242 4242 4242 4242"
PHONE = "+5215512345678"
EMAIL = "ana.lopez@example.com"


def rasa_stream(sender_id: str, events: List[Event]) -> List[Dict[str, Any]]:
    """What `TrackerStore._stream_new_events` hands the broker for each event."""
    return [{"sender_id": sender_id, **event.as_dict()} for event in events]


def payment_turn() -> List[Event]:
    """A client who types a card and its code, and gives a phone and an email (which the log keeps)."""
    text = f"te pago con {CARD} cvv 123, mi cel {PHONE} y correo {EMAIL}"
    entities = [{"entity": "tarjeta", "value": CARD, "start": 12, "end": 31}]
    return [
        ActionExecuted("action_session_start", timestamp=1.0),
        SessionStarted(timestamp=2.0),
        ActionExecuted("action_listen", timestamp=3.0),
        UserUttered(text, intent={"name": "pagar", "confidence": 0.93}, entities=entities,
                    parse_data={"text": text, "intent": {"name": "pagar", "confidence": 0.93}, "entities": entities},
                    timestamp=4.0),
        SlotSet("tarjeta", CARD, timestamp=5.0),
        ActionExecuted("utter_sin_pagos_por_chat", timestamp=6.0),
        BotUttered(f"No escribas tu tarjeta {CARD} aquí; te escribimos al {PHONE}.", timestamp=7.0),
        ActionExecuted("action_listen", timestamp=8.0),
    ]


# -- the URL -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, target",
    [
        ("amqp://guest:guest@127.0.0.1:5672/", AmqpTarget(False, "127.0.0.1", 5672, "guest", "guest", "/")),
        ("amqp://rabbit", AmqpTarget(False, "rabbit", 5672, "guest", "guest", "/")),
        ("AMQP://Rabbit.Example.com/%2F", AmqpTarget(False, "rabbit.example.com", 5672, "guest", "guest", "/")),
        ("amqps://bot:s3cret@mq.example.com/prod", AmqpTarget(True, "mq.example.com", 5671, "bot", "s3cret", "prod")),
        ("amqp://u%40corp:p%3Aw%2Fd%40@h:5673/%2Fprod?heartbeat=30&reconnect_interval=2",
         AmqpTarget(False, "h", 5673, "u@corp", "p:w/d@", "/prod", "heartbeat=30&reconnect_interval=2")),
        ("amqp://bot@[::1]:5672/", AmqpTarget(False, "::1", 5672, "bot", "", "/")),
        (" amqps://h:443/?cafile=/ca.pem ", AmqpTarget(True, "h", 443, "guest", "guest", "/", "cafile=/ca.pem")),
        ("kafka://k1:9092,k2", KafkaTarget(("k1:9092", "k2:9092"), False)),
        ("kafka://bot:pw@k1", KafkaTarget(("k1:9092",), False, "bot", "pw")),
        ("kafka+ssl://bot:p%40ss@k1:9093,[::1]:9094?sasl_mechanism=SCRAM-SHA-512&cafile=/etc/ca.pem",
         KafkaTarget(("k1:9093", "[::1]:9094"), True, "bot", "p@ss", "SCRAM-SHA-512", "/etc/ca.pem")),
    ],
)
def test_url_table(url: str, target: Any) -> None:
    assert parse_broker_url(url) == target


def test_security_protocol_follows_scheme_and_credentials() -> None:
    assert [parse_broker_url(u).security_protocol for u in  # type: ignore[union-attr]
            ("kafka://k", "kafka://u:p@k", "kafka+ssl://k", "kafka+ssl://u:p@k")] == [
        "PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL"]


@pytest.mark.parametrize(
    "url, says",
    [
        ("redis://127.0.0.1:6379", "unsupported scheme"),
        ("127.0.0.1:5672", "unsupported scheme"),
        ("amqp://", "no host"),
        ("amqp://bot:supersecret@h:99999/", "invalid port"),
        ("amqp://bot:supersecret@h:port/", "invalid port"),
        ("kafka://k1/rasa_events", "no path"),
        ("kafka://k1,,k2", "no host"),
        ("kafka://k1?acks=all", "unknown Kafka options"),
    ],
)
def test_bad_urls_say_why_without_the_password(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as error:
        parse_broker_url(url)
    assert "supersecret" not in str(error.value)


@pytest.mark.parametrize(
    "url",
    [
        "amqp://guest:guest@127.0.0.1:5672/",
        "amqp://u%40corp:p%3Aw%2Fd%40@h:5673/%2Fprod?heartbeat=30",
        "amqps://bot:s%20cret@mq.example.com/prod%20eu",
        "amqp://rabbit",
    ],
)
async def test_what_rasa_connects_to_is_what_the_url_says(url: str) -> None:
    """Rasa's PikaEventBroker rebuilds a URL from host + username + password; aiormq reads it like this."""
    target = parse_broker_url(url)
    assert isinstance(target, AmqpTarget)
    sink = PikaSink(target, "q", timeout=1)
    built = URL(sink._configure_url())
    assert (built.scheme, built.host, built.port) == ("amqps" if target.tls else "amqp", target.host, target.port)
    assert (built.user, built.password) == (target.username, target.password)
    assert (built.path[1:] or "/") == target.vhost  # aiormq: path "/" → vhost "/", else path[1:]
    assert dict(built.query) == dict(URL(url.strip()).query)
    assert target.password not in sink.host or not target.password  # what Rasa logs has no credentials
    assert sink.exchange_name == sink.queues[0] == "q"


async def test_kafka_producer_is_configured_by_rasas_broker() -> None:
    target = parse_broker_url("kafka+ssl://bot:pw@k1:9093,k2?sasl_mechanism=SCRAM-SHA-256&cafile=/etc/ca.pem")
    assert isinstance(target, KafkaTarget)
    sink = KafkaSink(target, "rasa_events", timeout=4)
    config = sink.producer_config()
    assert {k: config[k] for k in ("bootstrap.servers", "security.protocol", "sasl.username", "sasl.password",
                                   "sasl.mechanism", "ssl.ca.location", "enable.idempotence",
                                   "message.timeout.ms")} == {
        "bootstrap.servers": "k1:9093,k2:9092", "security.protocol": "SASL_SSL", "sasl.username": "bot",
        "sasl.password": "pw", "sasl.mechanism": "SCRAM-SHA-256", "ssl.ca.location": "/etc/ca.pem",
        "enable.idempotence": True, "message.timeout.ms": 4000,
    }
    await sink.close()


# -- off, and what Rasa builds -------------------------------------------------------------------------


async def test_endpoints_yml_names_it_and_unset_means_no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = AvailableEndpoints.read_endpoints(str(PROJECT_ROOT / "endpoints.yml"))
    assert endpoints.event_broker is not None and endpoints.event_broker.type == PATH
    monkeypatch.setattr(module, "get_settings", lambda: Settings.from_env({}))
    assert await EventBroker.create(endpoints.event_broker) is None  # the tracker store then streams nothing
    monkeypatch.setattr(module, "get_settings", lambda: Settings(event_broker_url="   "))
    assert await EventBroker.create(endpoints.event_broker) is None


async def test_rasa_builds_it_from_settings(monkeypatch: pytest.MonkeyPatch, queue: str, reader: QueueReader) -> None:
    monkeypatch.setattr(module, "get_settings", lambda: Settings(event_broker_url=RABBITMQ_URL,
                                                                 event_broker_queue=queue))
    broker = await EventBroker.create(EndpointConfig(type=PATH))
    assert isinstance(broker, SettingsEventBroker) and broker.is_ready()
    broker.publish({"sender_id": "+5215500000001", "event": "action", "name": "action_listen"})
    [got] = await reader.take(1)
    assert got["name"] == "action_listen"
    await broker.close()


async def test_a_bad_url_fails_rasa_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "get_settings", lambda: Settings(event_broker_url="rabbitmq://h"))
    with pytest.raises(ValueError, match="unsupported scheme"):
        await EventBroker.create(EndpointConfig(type=PATH))


# -- what a consumer gets ------------------------------------------------------------------------------


async def test_events_arrive_in_order_redacted_like_the_log(make_broker: MakeBroker, reader: QueueReader) -> None:
    counts = Counts()
    broker = await make_broker(RABBITMQ_URL)
    sent = rasa_stream("+5215500000002", payment_turn())
    for event in sent:
        broker.publish(event)
    got = await reader.take(len(sent))
    assert got == [redact_event(event) for event in sent]  # the very function the log uses
    user = got[3]
    assert user["text"] == f"te pago con [tarjeta •••• 4242] cvv ***, mi cel {PHONE} y correo {EMAIL}"
    assert user["parse_data"]["entities"][0]["value"] == "[tarjeta •••• 4242]"
    assert got[4]["value"] == "[tarjeta •••• 4242]" and CARD not in json.dumps(got)
    assert sent[3]["text"].startswith(f"te pago con {CARD}")  # the caller's dict is not touched
    await eventually(lambda: broker.pending == 0)
    assert counts.delta()["published"] == len(sent) and counts.delta()["failed"] == 0


async def test_many_events_keep_their_order(make_broker: MakeBroker, reader: QueueReader) -> None:
    broker = await make_broker(RABBITMQ_URL)
    for i in range(300):
        broker.publish({"sender_id": f"+52155000000{i % 3}", "event": "user", "text": f"mensaje {i}"})
    got = await reader.take(300)
    assert [e["text"] for e in got] == [f"mensaje {i}" for i in range(300)]


async def test_the_tracker_store_streams_exactly_what_it_logs(make_broker: MakeBroker, reader: QueueReader) -> None:
    broker = await make_broker(RABBITMQ_URL)
    sender = "+5215500000003"
    with throwaway_database("t_broker") as url:
        store = WindowedSQLTrackerStore(domain=domain(), settings=Settings(tracker_db_url=url), event_broker=broker)
        tracker = store.init_tracker(sender)
        for event in session_start() + turn(0) + [e for e in payment_turn()[3:] if not isinstance(e, SlotSet)]:
            tracker.update(event)
        await store.save(tracker)
        tracker = await store.retrieve(sender)
        assert tracker is not None
        for event in turn(1):
            tracker.update(event)
        await store.save(tracker)
        with store.engine.connect() as conn:
            logged = [json.loads(row.data) for row in conn.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender})]
        store.engine.dispose()
    got = await reader.take(len(logged) + 1, timeout=3)  # one more than logged: nothing extra arrives
    assert [{k: v for k, v in e.items() if k != "sender_id"} for e in got] == logged
    assert {e["sender_id"] for e in got} == {sender}


async def test_publish_never_waits(make_broker: MakeBroker, reader: QueueReader) -> None:
    broker = await make_broker(RABBITMQ_URL)
    event = rasa_stream("+5215500000004", payment_turn())[3]
    started = time.perf_counter()
    for _ in range(1000):
        broker.publish(event)
    assert time.perf_counter() - started < 1.0  # redact + serialise + append: no I/O inside the turn
    assert len(await reader.take(1000)) == 1000


async def test_what_cannot_be_sent_is_dropped_and_counted(make_broker: MakeBroker, reader: QueueReader) -> None:
    counts = Counts()
    broker = await make_broker(RABBITMQ_URL)
    broker.publish({"sender_id": "+5215500000005", "event": "slot", "name": "x", "value": object()})  # not JSON
    broker.publish({"sender_id": "+5215500000005", "event": "action", "name": "action_listen"})
    [got] = await reader.take(1)
    assert got["name"] == "action_listen"
    await broker.close()
    broker.publish({"sender_id": "+5215500000005", "event": "action", "name": "after_close"})
    assert counts.delta()["dropped"] == 2 and counts.delta()["published"] == 1
    assert await reader.take(1, timeout=0.5) == []


async def test_close_sends_what_is_pending(queue: str) -> None:
    settings = Settings(event_broker_url=RABBITMQ_URL, event_broker_queue=queue)
    broker = SettingsEventBroker.from_settings(settings)
    await broker.start()
    for i in range(50):
        broker.publish({"sender_id": "+5215500000006", "event": "user", "text": f"m{i}"})
    await broker.close()
    assert broker.pending == 0 and not broker.is_ready()
    async with QueueReader(queue) as reader:
        assert len(await reader.take(50, timeout=5)) == 50

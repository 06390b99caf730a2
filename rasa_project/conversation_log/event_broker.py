"""The conversation events, streamed to the business's broker (RabbitMQ or Kafka), redacted like the log.

Named in `endpoints.yml` as::

    event_broker:
      type: rasa_project.conversation_log.event_broker.SettingsEventBroker

Rasa's `${VAR}` fails when a variable is unset, so the class reads `EVENT_BROKER_URL` and
`EVENT_BROKER_QUEUE` from settings itself. With no URL `from_endpoint_config` returns None, which Rasa
takes as "no event broker": the tracker store never calls one, so `rasa shell` / `rasa run` without an
environment pay nothing.

Rasa's brokers connect and format; this class decides when to send (rasa-pitfalls.md, "Event brokers"):
- `amqp://` / `amqps://`: Rasa's `PikaEventBroker` opens aio-pika's robust connection (which reconnects
  by itself), declares a fanout exchange and a durable queue, both named `EVENT_BROKER_QUEUE` (not Rasa's
  shared `rasa-exchange`, which would hand every queue bound to it the events of every assistant on the vhost).
  `kafka://` / `kafka+ssl://`: the producer configuration of Rasa's `KafkaEventBroker`, topic
  `EVENT_BROKER_QUEUE`; its own `publish` sleeps on the event loop for minutes when Kafka is down, so the
  producer is driven here, in a thread.
- `publish` (called by the tracker store inside the turn, after the log saved the events) redacts with the
  log's `redact_event`, serialises and appends to a bounded buffer: it never raises and never waits.
- One worker task sends the buffer in order, one event at a time, awaiting the broker's confirmation; a
  failure keeps the event at the head and retries with backoff, so the stream stays in order (at least
  once). Rasa's own Pika `publish` fires a task per event, silently drops events sent before the first
  connection, and keeps failed ones in an unbounded queue that it re-sends out of order.
- A broker unreachable at start-up does not stop Rasa: the worker keeps connecting in the background. A
  connection that stays down past `reset_after_seconds` is closed and opened anew, in case the client's
  own reconnect gave up.
- Counted in `assistant_event_broker_events_total{outcome}`, `assistant_event_broker_connections_total`
  and `assistant_event_broker_pending` (rasa_project/metrics.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Deque, Dict, List, Optional, Protocol, Tuple, Union
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import aio_pika
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.kafka import KafkaEventBroker
from rasa.core.brokers.pika import PikaEventBroker
from rasa.utils.endpoints import EndpointConfig

from rasa_project import metrics
from rasa_project.backoff import backoff_delay
from rasa_project.conversation_log.redaction import redact_event
from rasa_project.settings import Settings, get_settings

logger = logging.getLogger(__name__)

AMQP_DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671}
KAFKA_SCHEMES = ("kafka", "kafka+ssl")
KAFKA_DEFAULT_PORT = 9092
KAFKA_URL_OPTIONS = ("sasl_mechanism", "cafile")

MAX_PENDING_EVENTS = 10_000
RECONNECT_POLL_SECONDS = 0.5
CLOSE_FLUSH_SECONDS = 5.0


# -- where to connect ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AmqpTarget:
    """RabbitMQ as `amqp[s]://user:password@host:port/vhost?options` names it.

    No credentials means guest/guest, no port the scheme's, no path the default vhost "/" (write it as
    `%2F` to name it explicitly). The options (`heartbeat`, `reconnect_interval`, `cafile`, `certfile`,
    `keyfile`, `no_verify_ssl`, ...) are aio-pika's and pass through untouched.
    """

    tls: bool
    host: str
    port: int
    username: str
    password: str
    vhost: str
    options: str = ""

    @property
    def address(self) -> str:
        """The URL without credentials: Rasa's `PikaEventBroker` gets it as `host` and logs it."""
        scheme = "amqps" if self.tls else "amqp"
        host = f"[{self.host}]" if ":" in self.host else self.host
        vhost = "" if self.vhost == "/" else quote(self.vhost, safe="")
        query = f"?{self.options}" if self.options else ""
        return f"{scheme}://{host}:{self.port}/{vhost}{query}"


@dataclass(frozen=True)
class KafkaTarget:
    """Kafka as `kafka[+ssl]://[user:password@]host:port[,host:port...][?sasl_mechanism=...&cafile=...]`.

    Credentials turn on SASL (mechanism PLAIN unless named), `+ssl` turns on TLS (CA file from `cafile`).
    """

    servers: Tuple[str, ...]
    tls: bool
    username: str = ""
    password: str = ""
    sasl_mechanism: str = "PLAIN"
    cafile: str = ""

    @property
    def security_protocol(self) -> str:
        return ("SASL_" if self.username else "") + ("SSL" if self.tls else "PLAINTEXT")

    @property
    def address(self) -> str:
        return f"{'kafka+ssl' if self.tls else 'kafka'}://{','.join(self.servers)}"


BrokerTarget = Union[AmqpTarget, KafkaTarget]


def parse_broker_url(url: str) -> BrokerTarget:
    """`EVENT_BROKER_URL` → where to connect; ValueError says what is wrong (never echoing a password)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme in AMQP_DEFAULT_PORTS:
        return _amqp_target(parts.netloc, parts.path, parts.query, scheme)
    if scheme in KAFKA_SCHEMES:
        return _kafka_target(parts.netloc, parts.path, parts.query, scheme)
    raise ValueError(f"EVENT_BROKER_URL: unsupported scheme {parts.scheme!r} (amqp, amqps, kafka, kafka+ssl)")


def _credentials(userinfo: str, default: Tuple[str, str]) -> Tuple[str, str]:
    if not userinfo:
        return default
    user, _, password = userinfo.partition(":")
    return unquote(user), unquote(password)


def _host_port(hostinfo: str, default_port: int) -> Tuple[str, int]:
    parts = urlsplit(f"//{hostinfo}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"EVENT_BROKER_URL: invalid port in {hostinfo!r}") from None
    if not parts.hostname:
        raise ValueError("EVENT_BROKER_URL: no host")
    return parts.hostname, port or default_port


def _amqp_target(netloc: str, path: str, query: str, scheme: str) -> AmqpTarget:
    userinfo, _, hostinfo = netloc.rpartition("@")
    host, port = _host_port(hostinfo, AMQP_DEFAULT_PORTS[scheme])
    username, password = _credentials(userinfo, ("guest", "guest"))
    vhost = unquote(path[1:]) if len(path) > 1 else "/"
    return AmqpTarget(scheme == "amqps", host, port, username, password, vhost, query)


def _kafka_target(netloc: str, path: str, query: str, scheme: str) -> KafkaTarget:
    userinfo, _, hostinfo = netloc.rpartition("@")
    servers = []
    for item in hostinfo.split(","):
        host, port = _host_port(item.strip(), KAFKA_DEFAULT_PORT)
        servers.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    if path not in ("", "/"):
        raise ValueError("EVENT_BROKER_URL: a Kafka URL has no path (the topic is EVENT_BROKER_QUEUE)")
    options = dict(parse_qsl(query))
    unknown = sorted(set(options) - set(KAFKA_URL_OPTIONS))
    if unknown:
        raise ValueError(f"EVENT_BROKER_URL: unknown Kafka options {unknown} (known: {list(KAFKA_URL_OPTIONS)})")
    username, password = _credentials(userinfo, ("", ""))
    return KafkaTarget(
        tuple(servers), scheme == "kafka+ssl", username, password,
        options.get("sasl_mechanism", "PLAIN"), options.get("cafile", ""),
    )


# -- the two kinds of broker -----------------------------------------------------------------------


class Sink(Protocol):
    """One connection to a broker, driven by the worker of `SettingsEventBroker`."""

    name: str

    @property
    def opened(self) -> bool:
        """A connection object exists (it may be reconnecting by itself)."""

    def ready(self) -> bool:
        """`send` can be tried now."""

    async def open(self) -> None:
        """Connect once, within `timeout` seconds; raise when it fails (leaving nothing half-open)."""

    async def send(self, sender_id: str, body: bytes) -> None:
        """Deliver one event and wait for the broker's confirmation, within `timeout`; raise when it fails."""

    async def reset(self) -> None:
        """Drop the connection so the next `open` starts afresh."""

    async def close(self) -> None:
        """Disconnect for good."""


class PikaSink(PikaEventBroker):
    """Rasa's PikaEventBroker for everything AMQP, one attempt per `open`; `send` awaits the publisher
    confirmation instead of firing a task (Rasa's `publish` is never used)."""

    _connection: Optional[aio_pika.abc.AbstractRobustConnection]
    _exchange: Optional[aio_pika.RobustExchange]

    def __init__(self, target: AmqpTarget, queue: str, timeout: float) -> None:
        # Rasa builds `scheme://username:password@host...` from these without encoding: encode them here.
        super().__init__(
            host=target.address,
            username=quote(target.username, safe=""),
            password=quote(target.password, safe=""),
            port=target.port,
            queues=[queue],
            exchange_name=queue,
            should_keep_unpublished_messages=False,
            connection_attempts=1,
            retry_delay_in_seconds=0,
            event_loop=asyncio.get_running_loop(),
        )
        self.name = f"{target.address} queue {queue}"
        self.timeout = timeout

    @property
    def opened(self) -> bool:
        return self._connection is not None

    def ready(self) -> bool:
        connection = self._connection
        return (
            connection is not None
            and not connection.is_closed
            and connection.connected.is_set()
            and self._exchange is not None
        )

    async def open(self) -> None:
        connecting = asyncio.ensure_future(self.connect())
        connecting.add_done_callback(_retrieve)  # a failure racing a cancel is not "never retrieved"
        try:
            await asyncio.wait_for(connecting, self.timeout)
        except BaseException:
            await self.reset()
            raise

    async def send(self, sender_id: str, body: bytes) -> None:
        exchange = self._exchange
        if exchange is None:
            raise RuntimeError("RabbitMQ exchange not declared")
        # the message Rasa's `_message` builds: JSON, persistent, app_id from RASA_ENVIRONMENT
        message = aio_pika.Message(body, app_id=self.rasa_environment, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await asyncio.wait_for(exchange.publish(message, routing_key=""), self.timeout)

    async def reset(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), self.timeout)

    async def close(self) -> None:
        await self.reset()


class KafkaSink:
    """The producer configured by Rasa's KafkaEventBroker (security protocol, SASL, TLS, RASA_ENVIRONMENT
    header), keyed by sender so a conversation stays on one partition, idempotent so retries keep order."""

    def __init__(self, target: KafkaTarget, topic: str, timeout: float) -> None:
        # Rasa's __init__ also starts a poll thread, which ends at once (it has no producer yet).
        self._rasa = KafkaEventBroker(
            url=",".join(target.servers),
            topic=topic,
            sasl_username=target.username or None,
            sasl_password=target.password or None,
            sasl_mechanism=target.sasl_mechanism,
            ssl_cafile=target.cafile or None,
            security_protocol=target.security_protocol,
        )
        self.name = f"{target.address} topic {topic}"
        self.timeout = timeout
        self._producer: Optional[Any] = None

    def producer_config(self) -> Dict[str, Any]:
        config: Dict[str, Any] = self._rasa._get_kafka_config()
        config.update(
            {
                "error_cb": _log_kafka_error,  # Rasa's raises from inside flush(); the delivery report is enough
                "log_level": 2,  # not every reconnect attempt on stderr: the worker warns once per outage
                "enable.idempotence": True,
                "message.timeout.ms": int(self.timeout * 1000),  # a report always comes before flush gives up
            }
        )
        return config

    @property
    def opened(self) -> bool:
        return self._producer is not None

    def ready(self) -> bool:
        return self._producer is not None  # librdkafka reconnects by itself

    async def open(self) -> None:
        self._producer = await asyncio.to_thread(self._connect)

    def _connect(self) -> Any:
        import confluent_kafka

        producer = confluent_kafka.Producer(self.producer_config())
        try:
            producer.list_topics(timeout=self.timeout)  # KafkaException when unreachable
        except Exception:
            del producer  # destroyed in this thread, not later on the event loop
            raise
        return producer

    async def send(self, sender_id: str, body: bytes) -> None:
        producer = self._producer
        if producer is None:
            raise RuntimeError("Kafka producer not open")
        reports: List[Any] = []
        headers = [("RASA_ENVIRONMENT", str(self._rasa.rasa_environment).encode("utf-8"))]
        producer.produce(
            self._rasa.topic, value=body, key=sender_id.encode("utf-8"), headers=headers,
            on_delivery=lambda error, _message: reports.append(error),
        )
        await asyncio.to_thread(producer.flush, self.timeout + 5)
        if not reports:
            raise TimeoutError("no delivery report from Kafka")
        if reports[0] is not None:
            raise RuntimeError(f"Kafka delivery failed: {reports[0]}")

    async def reset(self) -> None:
        self._producer = None

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await asyncio.to_thread(producer.flush, 1)
        await self._rasa.close()


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _log_kafka_error(error: Any) -> None:
    logger.debug("Kafka: %s", error)


# -- the broker Rasa calls ---------------------------------------------------------------------------


class SettingsEventBroker(EventBroker):
    """Rasa's event broker from settings: redact, buffer, send in order, never fail a turn (module docstring)."""

    def __init__(
        self,
        sink: Sink,
        *,
        max_pending: int = MAX_PENDING_EVENTS,
        retry_base_seconds: float = 0.5,
        retry_cap_seconds: float = 30.0,
        reset_after_seconds: float = 60.0,
    ) -> None:
        self.sink = sink
        self.max_pending = max_pending
        self.retry_base_seconds = retry_base_seconds
        self.retry_cap_seconds = retry_cap_seconds
        self.reset_after_seconds = reset_after_seconds
        self._pending: Deque[Tuple[str, bytes]] = deque()
        self._failed_at_head = 0  # how many of the first pending events are already counted as failed
        self._down_since: Optional[float] = None  # set while the broker cannot take events
        self._reset_at = 0.0
        self._dropping = False
        self._accepting = True
        self._wake = asyncio.Event()  # an event was queued
        self._settled = asyncio.Event()  # nothing left to send, or the broker is down
        self._first_attempt = asyncio.Event()
        self._worker: Optional[asyncio.Task[None]] = None

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: Optional[EndpointConfig] = None, event_loop: Optional[asyncio.AbstractEventLoop] = None
    ) -> Optional[SettingsEventBroker]:
        """Rasa's factory: None (no broker at all) when `EVENT_BROKER_URL` is empty."""
        settings = get_settings()
        if not settings.event_broker_url.strip():
            return None
        broker = cls.from_settings(settings)
        await broker.start()
        return broker

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout: float = 10.0, **options: Any) -> SettingsEventBroker:
        """A broker for `settings.event_broker_url` (which must be set); call `start()` in the event loop."""
        target = parse_broker_url(settings.event_broker_url)
        queue = settings.event_broker_queue.strip()
        if not queue:
            raise ValueError("EVENT_BROKER_QUEUE is empty")
        sink = PikaSink(target, queue, timeout) if isinstance(target, AmqpTarget) else KafkaSink(target, queue, timeout)
        return cls(sink, **options)

    async def start(self) -> None:
        """Start the worker and wait for its first connection attempt; Rasa goes on whatever it gives."""
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run(), name="event-broker")
        await self._first_attempt.wait()

    # -- inside the turn ---------------------------------------------------------------------------

    def publish(self, event: Dict[str, Any]) -> None:
        """Queue one event (`{"sender_id": ..., **event.as_dict()}`), redacted; never raises, never waits."""
        try:
            if not self._accepting or len(self._pending) >= self.max_pending:
                self._drop(1)
                return
            body = json.dumps(redact_event(event)).encode("utf-8")
            self._pending.append((str(event.get("sender_id") or ""), body))
            metrics.EVENT_BROKER_PENDING.inc()
            if self._down_since is not None:
                metrics.EVENT_BROKER_EVENTS.labels("failed").inc()
                self._failed_at_head += 1
            self._wake.set()
        except Exception:
            metrics.EVENT_BROKER_EVENTS.labels("dropped").inc()
            logger.exception("Event broker: an event could not be queued (the conversation log has it)")

    def is_ready(self) -> bool:
        return self.sink.ready()

    @property
    def pending(self) -> int:
        return len(self._pending)

    # -- the worker --------------------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                if await self._step():
                    attempt = 0
                else:
                    attempt += 1
                    await asyncio.sleep(backoff_delay(attempt, self.retry_base_seconds, self.retry_cap_seconds))
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not end the stream
                logger.exception("Event broker worker")
                attempt += 1
                await asyncio.sleep(backoff_delay(attempt, self.retry_base_seconds, self.retry_cap_seconds))

    async def _step(self) -> bool:
        """One move: connect, wait for events, or send the oldest; False when the broker failed."""
        if not self.sink.opened:
            return await self._open()
        if not self._pending:
            self._settled.set()
            self._wake.clear()
            await self._wake.wait()
            return True
        if not self.sink.ready():  # the client is reconnecting on its own
            self._went_down("not connected")
            if await self._reset_if_down_too_long():
                return False
            await asyncio.sleep(RECONNECT_POLL_SECONDS)
            return True
        sender_id, body = self._pending[0]
        try:
            await self.sink.send(sender_id, body)
        except Exception as error:
            self._went_down(_describe(error))
            await self._reset_if_down_too_long()
            return False
        self._pending.popleft()
        metrics.EVENT_BROKER_PENDING.dec()
        metrics.EVENT_BROKER_EVENTS.labels("published").inc()
        self._failed_at_head = max(0, self._failed_at_head - 1)
        self._came_back()
        return True

    async def _open(self) -> bool:
        try:
            await self.sink.open()
        except Exception as error:
            metrics.EVENT_BROKER_CONNECTIONS.labels("failed").inc()
            self._went_down(_describe(error))
            return False
        finally:
            self._first_attempt.set()
        metrics.EVENT_BROKER_CONNECTIONS.labels("connected").inc()
        logger.info("Event broker connected: %s", self.sink.name)
        self._came_back()
        return True

    def _went_down(self, reason: str) -> None:
        """Count every pending event not counted yet as failed; log once per outage."""
        unmarked = len(self._pending) - self._failed_at_head
        if unmarked > 0:
            metrics.EVENT_BROKER_EVENTS.labels("failed").inc(unmarked)
            self._failed_at_head = len(self._pending)
        self._settled.set()
        if self._down_since is None:
            self._down_since = asyncio.get_running_loop().time()
            logger.warning("Event broker %s unavailable (%s): events are kept (up to %d) and retried; turns go on",
                           self.sink.name, reason, self.max_pending)

    def _came_back(self) -> None:
        if self._down_since is not None:
            logger.info("Event broker %s back after %.1f s", self.sink.name,
                        asyncio.get_running_loop().time() - self._down_since)
            self._down_since = None
        if self._dropping and len(self._pending) < self.max_pending:
            self._dropping = False

    async def _reset_if_down_too_long(self) -> bool:
        now = asyncio.get_running_loop().time()
        if self._down_since is None or now - max(self._down_since, self._reset_at) < self.reset_after_seconds:
            return False
        logger.warning("Event broker %s down for %.0f s: opening a new connection", self.sink.name,
                       now - self._down_since)
        self._reset_at = now
        await self.sink.reset()
        return True

    def _drop(self, count: int) -> None:
        metrics.EVENT_BROKER_EVENTS.labels("dropped").inc(count)
        if not self._dropping:
            self._dropping = True
            why = "closing" if not self._accepting else f"{self.max_pending} events already waiting"
            logger.warning("Event broker %s: events not streamed (%s); the conversation log has them",
                           self.sink.name, why)

    # -- shutdown ----------------------------------------------------------------------------------

    async def close(self) -> None:
        """Give the buffer a few seconds to drain, count what is left as dropped, disconnect."""
        self._accepting = False
        worker, self._worker = self._worker, None
        if worker is not None:
            if self._pending and self._down_since is None:
                self._settled.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._settled.wait(), CLOSE_FLUSH_SECONDS)
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker
        left = len(self._pending)
        if left:
            self._pending.clear()
            metrics.EVENT_BROKER_PENDING.dec(left)
            self._drop(left)
        with contextlib.suppress(Exception):
            await self.sink.close()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

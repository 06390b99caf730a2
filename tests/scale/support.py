"""Shared constants and helpers for the scale tests: signed posts, replies, log queries (fixtures in conftest.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence

import httpx
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from rasa_project import stack_dump
from rasa_project.devtools.local_stack import LocalStack
from rasa_project.devtools.whatsapp_simulator import as_numbered_text, build_inbound_form, post_inbound

AUTH_TOKEN = "scale-twilio-auth-token"
BOOKING_TOKEN = "scale-booking-token"
REDIS_URL = "redis://127.0.0.1:6379/5"  # a DB of our own on the shared Redis
WEBHOOK_PATH = "/webhooks/whatsapp/webhook"

# Deterministic replies for a number the booking API does not know (greeting and menu skip the LLM).
GREETING = "¡Hola! 👋 Soy el asistente de Estudio Equilibrio."
MENU = "Esto es lo que puedo hacer por ti. Responde con el número:"


def instance_url(stack: LocalStack, index: int) -> str:
    """The webhook of Rasa instance `index`; with an ingress (`with_ingress`), the ingress's, whatever `index`."""
    if stack.with_ingress:
        return stack.webhook_url
    return f"http://127.0.0.1:{stack.rasa_ports[index]}{WEBHOOK_PATH}"


def public_url(stack: LocalStack) -> str:
    """What Twilio signs: WEBHOOK_PUBLIC_URL (the first instance) + the webhook path."""
    return stack.env["WEBHOOK_PUBLIC_URL"].rstrip("/") + WEBHOOK_PATH


def new_numbers(count: int) -> List[str]:
    """`count` numbers nobody used before in this database (unknown to the booking API)."""
    prefix = str(uuid.uuid4().int)[:4]
    return [f"+52155{prefix}{n:04d}" for n in range(count)]


def address(number: str) -> str:
    return f"whatsapp:{number}"


async def post_message(http: httpx.AsyncClient, stack: LocalStack, instance: int, number: str, body: str,
                       sid: Optional[str] = None) -> httpx.Response:
    """One signed inbound message posted to `instance`, signed for the public URL."""
    form = build_inbound_form(number, body, message_sid=sid, profile_name="Cliente escala")
    try:
        return await post_inbound(instance_url(stack, instance), form, AUTH_TOKEN, signed_url=public_url(stack),
                                  client=http, sandbox_url=stack.twilio_url)
    except httpx.TimeoutException:  # shown with the failing test: what the database was doing meanwhile
        print(f"webhook of instance {instance} timed out for {number}; database activity:\n"
              f"{database_activity(stack.env['TRACKER_DB_URL'])}")
        raise


def database_activity(url: str) -> str:
    """The database's sessions that are not idle (state, wait, transaction age, query) and the count of
    all connections to the server, for a webhook that did not answer in time."""
    database = url.rsplit("/", 1)[1].split("?")[0]
    rows = query(url.rsplit("/", 1)[0] + "/postgres",
                 "SELECT application_name, state, wait_event_type, wait_event, now() - xact_start AS xact_age, "
                 "left(query, 160) AS query FROM pg_stat_activity WHERE datname = :db AND state <> 'idle' "
                 "AND pid <> pg_backend_pid() ORDER BY xact_start NULLS LAST", db=database)
    total = query(url.rsplit("/", 1)[0] + "/postgres", "SELECT count(*), current_setting('max_connections') "
                                                       "FROM pg_stat_activity")[0]
    lines = [f"{total[0]} connections to the server (max_connections {total[1]})"]
    lines += [f"  {r.application_name or '-'} {r.state} wait={r.wait_event_type}/{r.wait_event} "
              f"xact_age={r.xact_age} {r.query!r}" for r in rows]
    return "\n".join(lines)


async def post_until_acked(http: httpx.AsyncClient, stack: LocalStack, instances: Sequence[int], number: str,
                           body: str, attempts: int = 8, pause: float = 0.5) -> Optional[str]:
    """Post like Twilio re-delivers: the same MessageSid again after a non-2xx answer or a refused
    connection, over `instances` in turn. The MessageSid once acked (200), or None if never acked."""
    sid = "SM" + uuid.uuid4().hex
    for attempt in range(attempts):
        try:
            response = await post_message(http, stack, instances[attempt % len(instances)], number, body, sid)
            if response.status_code == 200:
                return sid
        except httpx.TransportError:
            pass
        await asyncio.sleep(pause)
    return None


async def sandbox_messages(http: httpx.AsyncClient, stack: LocalStack, to: Optional[str] = None) -> List[dict]:
    params: Dict[str, Any] = {"after": 0, "wait": 0, **({"to": to} if to else {})}
    response = await http.get(f"{stack.twilio_url}/_sandbox/messages", params=params)
    response.raise_for_status()
    return response.json()["messages"]


async def replies_by_number(http: httpx.AsyncClient, stack: LocalStack, numbers: Sequence[str]) -> Dict[str, List[str]]:
    """Bodies the Twilio sandbox accepted for each number, in acceptance order."""
    wanted = {address(n): n for n in numbers}
    found: Dict[str, List[str]] = defaultdict(list)
    for message in sorted(await sandbox_messages(http, stack), key=lambda m: m["index"]):
        if message["to"] in wanted:
            found[wanted[message["to"]]].append(as_numbered_text(message))
    return {n: found.get(n, []) for n in numbers}


async def wait_for_reply_counts(http: httpx.AsyncClient, stack: LocalStack, expected: Dict[str, int],
                                timeout: float, quiet: float = 3.0) -> Dict[str, List[str]]:
    """Poll until every number has at least its expected reply count (or `timeout`), then wait `quiet`
    seconds more so a late duplicate would show; the replies seen by then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        replies = await replies_by_number(http, stack, list(expected))
        if all(len(replies[n]) >= count for n, count in expected.items()):
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(quiet)
    return await replies_by_number(http, stack, list(expected))


def log_engine(url: str) -> sa.engine.Engine:
    """No pool: our own connections must survive the tests that terminate every backend."""
    return sa.create_engine(url, poolclass=NullPool, future=True)


def query(url: str, sql: str, **params: Any) -> List[Any]:
    engine = log_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).all()
    finally:
        engine.dispose()


def events_of(url: str, numbers: Sequence[str]) -> Dict[str, List[Dict[str, Any]]]:
    """Each number's user and bot events, in id order, as {type, text, message_id, metadata}."""
    rows = query(url, "SELECT sender_id, type_name, data FROM events WHERE sender_id = ANY(:s) "
                      "AND type_name IN ('user', 'bot') ORDER BY id", s=list(numbers))
    events: Dict[str, List[Dict[str, Any]]] = {n: [] for n in numbers}
    for sender, kind, data in rows:
        payload = json.loads(data)
        events[sender].append({"type": kind, "text": payload.get("text"), "message_id": payload.get("message_id"),
                               "metadata": payload.get("metadata") or {}})
    return events


def inbox_statuses(url: str, numbers: Sequence[str]) -> Dict[str, int]:
    rows = query(url, "SELECT status, count(*) FROM whatsapp_inbox WHERE sender_id = ANY(:s) GROUP BY status",
                 s=list(numbers))
    return {status: int(count) for status, count in rows}


def unfinished_report(url: str, stack: LocalStack, numbers: Sequence[str], log_lines: int = 12) -> str:
    """Why messages are still unfinished: each row's state, lease and error, and the instances' log lines
    naming its id (the first thing to read when a fault test finds a message never answered)."""
    rows = query(url, "SELECT id, sender_id, status, attempts, lease_owner, lease_until - now() AS lease_left, "
                      "next_attempt_at - now() AS backoff_left, last_error FROM whatsapp_inbox "
                      "WHERE sender_id = ANY(:s) AND status IN ('pending', 'processing') ORDER BY id",
                 s=list(numbers))
    lines = []
    for row in rows:
        lines.append(f"inbox {row.id} {row.sender_id} {row.status} attempts={row.attempts} owner={row.lease_owner} "
                     f"lease_left={row.lease_left} backoff_left={row.backoff_left} error={row.last_error!r}")
        needles = (f"message {row.id}", f"message {row.id}:", row.sender_id)
        for process in stack.processes:
            path = stack.log_path(process)
            if not process.name.startswith("rasa") or not path.exists():
                continue
            hits = [line for line in path.read_text(errors="replace").splitlines()
                    if any(needle in line for needle in needles)]
            lines.extend(f"  {process.name}: {hit[:300]}" for hit in hits[-log_lines:])
    if rows:
        lines.append(database_activity(url))
        lines.append(drain_tasks(stack))
    return "\n".join(lines) or "no unfinished rows"


def drain_tasks(stack: LocalStack, wait: float = 1.5) -> str:
    """Where each Rasa process's drain tasks wait: `kill -USR1` (rasa_project/stack_dump.py), then the
    `whatsapp-drain` tasks of the dump each process logged."""
    alive = [p for p in stack.processes if p.name.startswith("rasa") and p.popen is not None
             and p.popen.poll() is None]
    for process in alive:
        os.kill(process.popen.pid, signal.SIGUSR1)  # type: ignore[union-attr]
    actions = stack.process("actions")
    if actions.popen is not None and actions.popen.poll() is None:  # its tasks, and its threads even if stuck
        os.kill(actions.popen.pid, signal.SIGUSR1)
        os.kill(actions.popen.pid, signal.SIGUSR2)
    time.sleep(wait)
    lines = []
    for process in alive:
        text = stack.log_path(process).read_text(errors="replace")
        dump = text.rsplit(stack_dump.MARK, 1)[-1] if stack_dump.MARK in text else ""
        tasks = [t for t in dump.split("\n  task ") if t.startswith("whatsapp-drain")]
        lines.append(f"{process.name}: {len(tasks)} drain tasks")
        lines.extend(f"  task {t.strip()[:1500]}" for t in tasks[:4])
    if actions.popen is not None:
        text = stack.log_path(actions).read_text(errors="replace")
        dump = text.rsplit(stack_dump.MARK, 1)[-1][:3000] if stack_dump.MARK in text else "(no task dump: loop stuck?)"
        threads = text.rsplit("most recent call first", 1)[-1][:2000] if "most recent call first" in text else ""
        lines.append(f"actions tasks:{dump}\nactions threads (faulthandler):{threads}")
    return "\n".join(lines)


def duplicates(replies: Dict[str, List[str]], expected: Dict[str, List[str]]) -> Dict[str, int]:
    """Replies beyond the expected count, per number that got any."""
    return {n: len(got) - len(expected[n]) for n, got in replies.items() if len(got) > len(expected[n])}


def booking_admin(stack: LocalStack) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.booking_url, headers={"Authorization": f"Bearer {BOOKING_TOKEN}"},
                             timeout=10)


def llm_url(stack: LocalStack) -> str:
    return f"http://127.0.0.1:{stack.ports.llm}"

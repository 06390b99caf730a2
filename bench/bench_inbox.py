"""The durable inbox alone (no Rasa, no HTTP): accept → claim → finish in messages/s, 1/2/4 claimers.

    python bench/bench_inbox.py [--senders 200] [--messages 5] [--claimers 1,2,4] [--acceptors 2]

What is left of the inbox's headroom once Rasa is taken away: how many messages one Postgres inbox can
move per second on this machine, i.e. how many Rasa processes (each ~6–16 turns/s, bench/README.md)
one inbox database can feed (docs/scale-out.md). Per claimer count, in its own throwaway
`t_bench_inbox_*` database, migrated, on the engine the channel builds (`create_log_engine`: pool
pre-ping, the settings' pool size) and the `InboxStore` the ingress uses (`notify=True`: every accept
also NOTIFYs, in its transaction):

- `--acceptors` threads accept `--senders` × `--messages` messages (message k of every sender before
  message k+1 of any, so each sender's messages interleave with the others'), as the ingress does;
- after each accept the sender is "woken" in every claimer (a NOTIFY reaches every Rasa process);
- each claimer thread (= one Rasa process's worker, with a zero-cost turn) drains its woken senders as
  `worker.py` does: `claim_next` until nothing is ready, `finish` each claimed row as done. Claimers race
  for the same senders; the claim's `FOR UPDATE SKIP LOCKED` + lease keeps one sender in order;
- a final sweep (`claimable_senders`, the poller's query) picks up anything a race left, and is counted.

Figures: accepted/s (first accept → last accept), **msgs/s end to end** (first accept → last finish),
database transactions per message (`pg_stat_database` commits / rollbacks), statements and pre-pings per
message (SQLAlchemy events) and ≈ round trips per message (`Counters.round_trips`).
Checked and printed: every message finished exactly once, claimed once (attempts = 1) and in order
per sender. Threads share the GIL: with processes the claim side could only do better. Figures only.
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from bench.channel_stacks import db_transactions  # noqa: E402
from bench.common import fmt, machine  # noqa: E402
from rasa_project.devtools.throwaway_db import throwaway_database  # noqa: E402

LEASE_SECONDS = 120.0
PUBLIC_URL = "http://127.0.0.1:5006"


# --- the one place that knows the inbox's API (connectors/whatsapp/inbox_store.py) -------------------


@dataclass
class InboxAdapter:
    """accept / claim / finish / sweep over the real `InboxStore`; if its method names or signatures
    change (issue 13's database rewrite), only this class changes."""

    engine: Engine
    store: Any = None

    def __post_init__(self) -> None:
        from connectors.whatsapp.inbox_store import InboxStore

        self.store = InboxStore(self.engine, notify=True)  # as the ingress builds it (INBOX_NOTIFY default)

    def accept(self, message_sid: str, sender: str, text: str) -> Optional[int]:
        from connectors.whatsapp.inbound import InboundMessage

        metadata = {"message_sid": message_sid, "profile_name": "Cliente bench", "wa_id": sender.lstrip("+"),
                    "medium": "whatsapp", "media": [], "location": None, "button": None, "kind": "text"}
        return self.store.accept(InboundMessage(message_sid, sender, text, metadata), PUBLIC_URL)

    def claim(self, sender: str, owner: str) -> Optional[Tuple[int, str]]:
        """(row id, message sid) claimed for `owner`, or None when nothing of `sender` is ready for it."""
        row = self.store.claim_next(sender, owner, LEASE_SECONDS).row
        return None if row is None else (row.id, row.message_sid)

    def finish(self, row_id: int, owner: str) -> bool:
        return bool(self.store.finish(row_id, owner, "done"))

    def ready_senders(self) -> List[str]:
        return list(self.store.claimable_senders())

    def engines(self) -> List[Tuple[Engine, bool]]:
        """Every engine the store sends statements through, and whether it is in autocommit (the
        database rewrite adds an autocommit sibling, `database.autocommit_engine`)."""
        from rasa_project.conversation_log import database

        sibling = getattr(database, "autocommit_engine", None)
        extra = sibling(self.engine) if sibling is not None else self.engine
        return [(self.engine, False)] + ([(extra, True)] if extra is not self.engine else [])


def open_engine(db_url: str) -> Engine:
    """The channel's engine (`shared_engine` minus the process-wide cache), schema migrated."""
    from rasa_project.conversation_log.database import open_checked_engine
    from rasa_project.conversation_log.migrations import migrate
    from rasa_project.settings import Settings

    engine = open_checked_engine(db_url, Settings())
    migrate(engine)
    return engine


def inbox_rows(engine: Engine) -> List[Tuple[int, str, str, str, int]]:
    """(id, sender, message sid, status, attempts) of every inbox row, for the checks."""
    from connectors.whatsapp.tables import inbox

    with engine.connect() as conn:
        rows = conn.execute(sa.select(inbox.c.id, inbox.c.sender_id, inbox.c.message_sid, inbox.c.status,
                                      inbox.c.attempts).order_by(inbox.c.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


# --- the run ------------------------------------------------------------------------------------------


class Counters:
    """Statements, pool checkouts, BEGINs and COMMITs on the engines the inbox uses (SQLAlchemy events)."""

    def __init__(self, engines: List[Tuple[Engine, bool]]) -> None:
        """`engines`: (engine, its connections are in autocommit: no BEGIN/COMMIT sent)."""
        self.statements = self.pings = self.begins = self.commits = 0
        self._lock = threading.Lock()
        for engine, autocommit in engines:
            sa.event.listen(engine, "before_cursor_execute", self._bump("statements"))
            if getattr(engine.pool, "_pre_ping", False):
                sa.event.listen(engine.pool, "checkout", self._bump("pings"))
            if not autocommit:
                sa.event.listen(engine, "begin", self._bump("begins"))
                sa.event.listen(engine, "commit", self._bump("commits"))

    def _bump(self, name: str) -> Any:
        def count(*_: Any) -> None:
            with self._lock:
                setattr(self, name, getattr(self, name) + 1)
        return count

    @property
    def round_trips(self) -> int:
        """Statements + the pre-ping's `SELECT 1` per checkout (psycopg2 pings in autocommit: Postgres
        counts it as one more committed transaction) + the BEGIN psycopg2 sends before a transaction's first
        statement + COMMITs (the pool's rollback on return after a commit sends nothing)."""
        return self.statements + self.pings + self.begins + self.commits


@dataclass
class Claimer:
    name: str
    woken: queue.Queue[Optional[str]] = field(default_factory=queue.Queue)
    claimed: int = 0
    empty_claims: int = 0


def sid_of(sender_index: int, k: int) -> str:
    return f"SMbench{sender_index:05d}n{k:03d}{uuid.uuid4().hex[:16]}"


def run_once(db_url: str, senders: int, messages: int, claimers: int, acceptors: int) -> Dict[str, Any]:
    engine = open_engine(db_url)
    engine.dispose()  # the migration's backends exit, so their transactions are counted before the baseline
    time.sleep(0.7)
    inbox = InboxAdapter(engine)
    phones = [f"+5215{i:08d}" for i in range(senders)]
    plan: List[Tuple[int, int]] = [(s, k) for k in range(messages) for s in range(senders)]
    sids = {(s, k): sid_of(s, k) for s, k in plan}
    seq_of = {sid: key for key, sid in sids.items()}
    workers = [Claimer(f"claimer{i}") for i in range(claimers)]
    claimed_log: Dict[str, List[int]] = defaultdict(list)  # sender → message numbers, in claim order
    finished: Dict[str, int] = defaultdict(int)  # sid → times finished
    log_lock = threading.Lock()
    errors: List[str] = []
    accepted_at: List[float] = []

    def drain(worker: Claimer, sender: str) -> None:
        while True:
            got = inbox.claim(sender, worker.name)
            if got is None:
                worker.empty_claims += 1
                return
            row_id, sid = got
            with log_lock:  # before the finish: the next message can only be claimed after it
                claimed_log[sender].append(seq_of[sid][1])
            worker.claimed += 1
            if not inbox.finish(row_id, worker.name):
                errors.append(f"{worker.name} lost the lease of row {row_id}")
            with log_lock:
                finished[sid] += 1

    def claimer_loop(worker: Claimer) -> None:
        try:
            while True:
                sender = worker.woken.get()
                if sender is None:
                    return
                drain(worker, sender)
        except Exception as exc:  # printed with the figures: a failed claimer must not look like a slow one
            errors.append(f"{worker.name}: {type(exc).__name__}: {exc}")

    next_index = {"i": 0}
    plan_lock = threading.Lock()

    def acceptor_loop() -> None:
        try:
            while True:
                with plan_lock:
                    i = next_index["i"]
                    next_index["i"] += 1
                if i >= len(plan):
                    return
                s, k = plan[i]
                if inbox.accept(sids[(s, k)], phones[s], "hola") is None:
                    errors.append(f"message {s}/{k} refused as a duplicate")
                for worker in workers:  # the NOTIFY reaches every process
                    worker.woken.put(phones[s])
                accepted_at.append(time.perf_counter())
        except Exception as exc:
            errors.append(f"acceptor: {type(exc).__name__}: {exc}")

    counters = Counters(inbox.engines())
    xact_before = db_transactions(db_url)
    threads = [threading.Thread(target=claimer_loop, args=(w,), name=w.name) for w in workers]
    accept_threads = [threading.Thread(target=acceptor_loop, name=f"acceptor{i}") for i in range(acceptors)]
    started = time.perf_counter()
    for t in threads + accept_threads:
        t.start()
    for t in accept_threads:
        t.join()
    accept_done = time.perf_counter()
    for worker in workers:
        worker.woken.put(None)
    for t in threads:
        t.join()
    swept: Set[str] = set()
    sweeper = Claimer("sweeper")
    for _ in range(3):  # the poller: what a race left (should be nothing)
        ready = inbox.ready_senders()
        if not ready:
            break
        for sender in ready:
            swept.add(sender)
            drain(sweeper, sender)
    ended = time.perf_counter()
    statements, pings, round_trips = counters.statements, counters.pings, counters.round_trips
    rows = inbox_rows(engine)
    engine.dispose()  # the backends exit: their statistics reach pg_stat_database
    time.sleep(0.7)
    commits, rollbacks = db_transactions(db_url)
    commits -= xact_before[0]
    rollbacks -= xact_before[1]
    total = len(plan)

    in_order = all(seq == list(range(messages)) for seq in claimed_log.values()) and len(claimed_log) == senders
    once = len(finished) == total and all(v == 1 for v in finished.values())
    db_ok = (len(rows) == total and all(r[3] == "done" and r[4] == 1 for r in rows)
             and all(seq_of[r[2]][1] == k for rows_of in _by_sender(rows).values() for k, r in enumerate(rows_of)))
    return {
        "claimers": claimers, "acceptors": acceptors, "messages": total,
        "accept_per_s": total / (accept_done - started),
        "msgs_per_s": total / (ended - started),
        "wall_s": ended - started,
        "claimed_by": {w.name: w.claimed for w in workers + [sweeper] if w.claimed},
        "empty_claims": sum(w.empty_claims for w in workers),
        "swept_senders": len(swept),
        "commits_per_msg": commits / total, "rollbacks_per_msg": rollbacks / total,
        "statements_per_msg": statements / total, "pings_per_msg": pings / total,
        "round_trips_per_msg": round_trips / total,
        "finished_twice": sum(1 for v in finished.values() if v > 1),
        "claimed_again_rows": sum(1 for r in rows if r[4] != 1),
        "out_of_order_examples": [(sender, seq) for sender, seq in claimed_log.items()
                                  if seq != list(range(messages))][:3],
        "finished_once": once, "in_order": in_order, "db_checked": db_ok, "errors": errors[:5],
    }


def _by_sender(rows: List[Tuple[int, str, str, str, int]]) -> Dict[str, List[Tuple[int, str, str, str, int]]]:
    grouped: Dict[str, List[Tuple[int, str, str, str, int]]] = defaultdict(list)
    for r in rows:  # rows come ordered by id: accept order
        grouped[r[1]].append(r)
    return grouped


def print_table(results: List[Dict[str, Any]], load_before: str, load_after: str) -> None:
    print(f"\ninbox alone, accept → claim → finish ({load_before}; after: {load_after})")
    print("| claimers | messages | accepted/s | msgs/s end to end | wall s | commits / rollbacks per msg "
          "| statements + pings per msg | ≈ round trips per msg | empty claims | swept | once | in order | DB check |")
    print("|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---|---|---|")
    for r in results:
        print(f"| {r['claimers']} | {r['messages']} | {fmt(r['accept_per_s'], 0)} | {fmt(r['msgs_per_s'], 0)} "
              f"| {fmt(r['wall_s'], 2)} | {fmt(r['commits_per_msg'], 2)} / {fmt(r['rollbacks_per_msg'], 2)} "
              f"| {fmt(r['statements_per_msg'], 2)} + {fmt(r['pings_per_msg'], 2)} "
              f"| {fmt(r['round_trips_per_msg'], 1)} | {r['empty_claims']} "
              f"| {r['swept_senders']} | {'yes' if r['finished_once'] else 'NO'} "
              f"| {'yes' if r['in_order'] else 'NO'} | {'yes' if r['db_checked'] else 'NO'} |")
    for r in results:
        note = f"  {r['claimers']} claimer(s): rows claimed by {r['claimed_by']}"
        if not (r["finished_once"] and r["in_order"] and r["db_checked"]):
            note += (f"; CHECK FAILED: {r['finished_twice']} messages finished twice, {r['claimed_again_rows']} "
                     f"rows with attempts != 1, senders out of order e.g. {r['out_of_order_examples']}")
        if r["errors"]:
            note += f"; ERRORS {r['errors']}"
        print(note)


def main(argv: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senders", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5, help="messages per sender")
    parser.add_argument("--claimers", default="1,2,4", help="comma-separated claimer counts, one run each")
    parser.add_argument("--acceptors", type=int, default=2, help="threads accepting (the ingress's)")
    args = parser.parse_args(argv)
    load_before = machine()
    results = []
    for count in [int(c) for c in args.claimers.split(",") if c.strip()]:
        with throwaway_database("t_bench_inbox") as db_url:
            results.append(run_once(db_url, args.senders, args.messages, count, args.acceptors))
        print(f"  {count} claimer(s): {results[-1]}", flush=True)
    print_table(results, load_before, machine())
    return results


if __name__ == "__main__":
    main()

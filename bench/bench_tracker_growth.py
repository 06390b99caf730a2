"""Turn time at turn ~10 vs turn ~400 of one sender: Rasa's SQLTrackerStore vs WindowedSQLTrackerStore.

    .venv/bin/python bench/bench_tracker_growth.py --model models/<model>.tar.gz [--turns 400]
        [--window 120] [--action-endpoint http://127.0.0.1:5055/webhook] [--text "hola" ...]

Each store gets its own throwaway Postgres database (`t_convlog_bench_<random>`, dropped at the end)
and a fresh sender; every turn goes through `Agent.handle_text` (NLU, policies, actions, save),
so the figure is what a user waits for, minus the network. Prints per store the median turn time
around turn 10 and around the last turn, and their ratio. Figures only, no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, List

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rasa.core.agent import Agent  # noqa: E402
from rasa.core.lock_store import InMemoryLockStore  # noqa: E402
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore  # noqa: E402
from rasa.utils.endpoints import EndpointConfig  # noqa: E402

from rasa_project.conversation_log.tracker_store import WindowedSQLTrackerStore  # noqa: E402
from rasa_project.devtools.throwaway_db import throwaway_database  # noqa: E402
from rasa_project.settings import Settings  # noqa: E402

DEFAULT_TEXTS = ["hola", "quiero reservar un masaje", "mañana a las 10", "sí", "gracias", "¿qué servicios tienen?"]


def stock_store(db: str, _window: int) -> TrackerStore:
    return SQLTrackerStore(dialect="postgresql", host="127.0.0.1", port=5432, db=db, username="postgres")


def windowed_store(db: str, window: int) -> TrackerStore:
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{db}"
    return WindowedSQLTrackerStore(settings=Settings(tracker_db_url=url, tracker_window_events=window))


async def run(name: str, factory: Callable[[str, int], TrackerStore], args: argparse.Namespace) -> List[float]:
    with throwaway_database("t_convlog_bench") as url:
        db = sa.engine.make_url(url).database
        store = None
        try:
            if name == "stock":  # our migrations own the schema in production; give Rasa the same one
                windowed_store(db, args.window).engine.dispose()
            store = factory(db, args.window)
            endpoint = EndpointConfig(args.action_endpoint) if args.action_endpoint else None
            agent = Agent.load(args.model, tracker_store=store, lock_store=InMemoryLockStore(),
                               action_endpoint=endpoint)
            sender = f"bench-{uuid.uuid4().hex[:8]}"
            times = []
            for turn in range(args.turns):
                started = time.perf_counter()
                await agent.handle_text(args.text[turn % len(args.text)], sender_id=sender)
                times.append(time.perf_counter() - started)
                if (turn + 1) % 50 == 0:
                    print(f"  {name}: turn {turn + 1}: {times[-1] * 1000:.0f} ms", flush=True)
            return times
        finally:
            if store is not None:
                store.engine.dispose()


def quiet_rasa_logging() -> None:
    """Rasa's logging at WARNING for this process only. Rasa records the level in `os.environ["LOG_LEVEL"]`,
    which every process a later bench starts would inherit (`python -m bench` runs them all in one process):
    a Rasa started with WARNING logs none of the start-up lines the start-up bench stamps."""
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    before = os.environ.get("LOG_LEVEL")
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    if before is None:
        os.environ.pop("LOG_LEVEL", None)
    else:
        os.environ["LOG_LEVEL"] = before


def main(argv: List[str] | None = None) -> dict:
    """Prints the table; returns {turns, window, stores: {name: {early_ms, late_ms, ratio}}} for `-m bench`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--window", type=int, default=Settings().tracker_window_events)
    parser.add_argument("--action-endpoint")
    parser.add_argument("--text", action="append", help="user messages, cycled (default: a booking dialogue)")
    parser.add_argument("--stores", default="stock,windowed")
    args = parser.parse_args(argv)
    args.text = args.text or DEFAULT_TEXTS
    quiet_rasa_logging()
    if not args.action_endpoint:  # custom actions then fail fast, identically for both stores: hide the tracebacks
        logging.getLogger("rasa.core.processor").setLevel(logging.CRITICAL)
    factories = {"stock": stock_store, "windowed": windowed_store}
    print(f"model {args.model}, {args.turns} turns, window {args.window} events")
    results = {}
    for name in args.stores.split(","):
        times = asyncio.run(run(name, factories[name], args))
        early = statistics.median(times[5:15])
        late = statistics.median(times[-10:])
        results[name] = (early, late)
    print(f"\n{'store':<10} {'turn~10 ms':>11} {f'turn~{args.turns} ms':>12} {'ratio':>7}")
    for name, (early, late) in results.items():
        print(f"{name:<10} {early * 1000:>11.1f} {late * 1000:>12.1f} {late / early:>7.2f}")
    stores = {name: {"early_ms": early * 1000, "late_ms": late * 1000, "ratio": late / early}
              for name, (early, late) in results.items()}
    return {"turns": args.turns, "window": args.window, "stores": stores}


if __name__ == "__main__":
    main()

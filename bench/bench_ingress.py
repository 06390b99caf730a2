"""Webhook ack under an offered rate: the single-process layout (`rasa run` serves the webhook) against the
production layout (an ingress process serves it, `python -m rasa_project ingress`; docs/deployment.md).

    python bench/bench_ingress.py [--rate 20] [--seconds 10] [--senders 40] [--layouts single,ingress]
        [--overload 2.0] [--drain-timeout 120] [--model PATH] [--keep-logs]

Open loop, unlike bench_channel.py's closed-loop senders: messages are posted at a fixed rate whatever the
answers do, as Twilio delivers them. Each layout runs on real processes on loopback (LocalStack, one Rasa
process, a throwaway Postgres log), warmed by one conversation, then:
  1. `--rate` msg/s for `--seconds` (each message "hola" from one of `--senders` fresh numbers, in turn):
     ack p50/p99 (HTTP response time of the signed post); then every reply is awaited, and the stack's
     capacity is measured as answered / (last reply − first post) (the load is above it: a backlog builds);
  2. `--overload` × that capacity msg/s for `--seconds`: ack p50/p99 when offered more than it can process.
Figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import httpx  # noqa: E402

from bench.channel_load import ReplyCollector, Target, calibrate, twilio_target  # noqa: E402
from bench.channel_stacks import AUTH_TOKEN, ours_stack  # noqa: E402
from bench.common import bench_model, choose, fmt, machine, percentile, work_dir  # noqa: E402
from rasa_project.devtools.throwaway_db import throwaway_database  # noqa: E402
from rasa_project.devtools.whatsapp_simulator import whatsapp_address  # noqa: E402

LABELS = {"single": "single process (rasa run serves the webhook)", "ingress": "ingress + 1 Rasa (production)"}


def new_phone() -> str:
    return "+52156" + str(uuid.uuid4().int)[:8]


async def offer(target: Target, client: httpx.AsyncClient, rate: float, seconds: float,
                phones: Sequence[str]) -> Dict[str, Any]:
    """Post `rate` msg/s for `seconds`, open loop; the ack of each post (s) and what was posted to whom."""
    count = max(1, round(rate * seconds))
    acks: List[float] = []
    errors = {"count": 0}
    sent: Dict[str, int] = {}
    start = time.perf_counter()

    async def one(index: int) -> None:
        await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
        phone = phones[index % len(phones)]
        began = time.perf_counter()
        try:
            response = await target.post(client, phone, "hola")
        except httpx.HTTPError:
            errors["count"] += 1
            return
        acks.append(time.perf_counter() - began)
        if response.status_code == 200:
            sent[phone] = sent.get(phone, 0) + 1
        else:
            errors["count"] += 1

    await asyncio.gather(*(one(i) for i in range(count)))
    return {"acks": acks, "errors": errors["count"], "sent": sent, "first_post": start,
            "offered_rate": rate, "posted": count}


async def drain(collector: ReplyCollector, sent: Dict[str, int], per_message: int, timeout: float) -> Optional[float]:
    """When the last expected reply was seen, or None when some never came within `timeout`."""
    deadline = time.perf_counter() + timeout
    last = 0.0
    for phone, count in sent.items():
        seen = await collector.wait_count(whatsapp_address(phone), count * per_message,
                                          max(0.1, deadline - time.perf_counter()))
        if seen is None:
            return None
        last = max(last, seen)
    return last


def summary(phase: Dict[str, Any]) -> Dict[str, Any]:
    ms = [a * 1000 for a in phase["acks"]]
    return {"offered": phase["offered_rate"], "posted": phase["posted"], "errors": phase["errors"],
            "ack_p50": percentile(ms, 50), "ack_p99": percentile(ms, 99), "ack_max": max(ms) if ms else None}


async def measure(layout: str, webhook: str, signed_url: str, sandbox_url: str,
                  args: argparse.Namespace) -> Dict[str, Any]:
    target = twilio_target(layout, [webhook], AUTH_TOKEN, signed_url=signed_url)
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client, ReplyCollector(sandbox_url) as collector:
        [per_message] = await calibrate(target, collector, client, new_phone(), ["hola"])
        first = await offer(target, client, args.rate, args.seconds, [new_phone() for _ in range(args.senders)])
        last = await drain(collector, first["sent"], per_message, args.drain_timeout)
        answered = sum(first["sent"].values())
        capacity = answered / (last - first["first_post"]) if last else None
        result: Dict[str, Any] = {"rate": summary(first), "capacity": capacity}
        if capacity:
            over = await offer(target, client, args.overload * capacity, args.seconds,
                               [new_phone() for _ in range(args.senders)])
            result["overload"] = summary(over)
            await drain(collector, over["sent"], per_message, args.drain_timeout)  # leave the stack idle
    return result


def run_layout(layout: str, model: Path, args: argparse.Namespace, work_dir: Path) -> Dict[str, Any]:
    with throwaway_database("t_bench_ingress") as db_url:
        stack = ours_stack(model, db_url, work_dir / layout, with_ingress=layout == "ingress")
        with stack:
            signed = stack.env["WEBHOOK_PUBLIC_URL"].rstrip("/") + "/webhooks/whatsapp/webhook"
            return asyncio.run(measure(layout, stack.webhook_url, signed, stack.twilio_url, args))


def print_table(results: Dict[str, Dict[str, Any]], load_before: str, load_after: str) -> None:
    print(f"\nwebhook ack, open loop ({load_before}; after: {load_after})")
    print(f"{'layout':<48} {'offered msg/s':>13} {'ack p50 ms':>10} {'ack p99 ms':>10} {'max ms':>8} "
          f"{'errors':>6} {'capacity turns/s':>16}")
    for layout, result in results.items():
        for phase in ("rate", "overload"):
            row = result.get(phase)
            if row is None:
                continue
            label = LABELS[layout] + ("" if phase == "rate" else " — overload")
            print(f"{label:<48} {row['offered']:>13.1f} {fmt(row['ack_p50']):>10} {fmt(row['ack_p99']):>10} "
                  f"{fmt(row['ack_max']):>8} {row['errors']:>6} {fmt(result.get('capacity'), 2):>16}")


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--senders", type=int, default=40)
    parser.add_argument("--overload", type=float, default=2.0, help="× the measured capacity, second phase")
    parser.add_argument("--layouts", default="single,ingress")
    parser.add_argument("--drain-timeout", type=float, default=150.0)
    parser.add_argument("--model", default=None)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    layouts = choose(parser, args.layouts, LABELS, "layout")
    model = bench_model(args.model)
    load_before = machine()
    results: Dict[str, Dict[str, Any]] = {}
    with work_dir("bench_ingress_", args.keep_logs) as work:
        for layout in layouts:
            results[layout] = run_layout(layout, model, args, work)
    print_table(results, load_before, machine())
    return {"layouts": results, "rate": args.rate, "seconds": args.seconds, "overload": args.overload,
            "machine": machine()}


if __name__ == "__main__":
    main()

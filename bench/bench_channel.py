"""Webhook ack latency and turns/s of our WhatsApp channel under concurrent senders, against references.

    .venv/bin/python bench/bench_channel.py [--senders 20] [--messages 5] [--concurrency 20]
        [--variants ours,ingress,ours2,ingress2,twilio,rest] [--pairs 3] [--scale-senders 60] [--deadline 300]
        [--keep-logs]

Variants (each on real processes on loopback, the trained model, Postgres conversation log):
  ours    connectors.whatsapp (signed webhook → durable inbox → 200 at once; worker runs the turn), 1 Rasa
  ingress the production layout: an ingress process serves the webhook and status callbacks (stores, acks),
          1 Rasa process runs the turns, woken by NOTIFY (LocalStack(with_ingress=True))
  ours2   the same as ours, 2 Rasa instances + Redis lock store (db 7); posts alternate over the instances (no LB),
          signed for the public URL (the first instance)
  ingress2 the production layout as docs/deployment.md scales it: the one ingress, 2 Rasa processes racing for
          each NOTIFY'd row + Redis lock store (db 7)
  twilio  Rasa's built-in TwilioInput (bench/reference_channels.py), its Twilio client on the sandbox
  rest    Rasa's REST channel (answers synchronously: ack latency = turn latency)
With `ingress`, `--pairs` rounds then compare the Rasa CPU per turn of our channel and of the REST channel
in that same Rasa process (`run_pairs`), the figure issue 13's CPU target is about, free of process drift.
With `ours` and `ours2` (or `ingress` and `ingress2`), each also runs a longer load (`--scale-senders`) for
the 2-process ratio of that layout.
Each sender says "hola", "ayuda", "que paquetes tienen?" (cycled) and waits for the full answer before the
next message. Figures: ack p50/p95/p99 (HTTP response time of the posts), turn p50/p95 (post → last reply
seen at the Twilio sandbox), turns/s (answered messages / first post → last answer). Figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import httpx  # noqa: E402

from bench.channel_load import ReplyCollector, Target, calibrate, rest_target, run_load, twilio_target  # noqa: E402
from bench.channel_stacks import (  # noqa: E402
    AUTH_TOKEN,
    cpu_seconds,
    db_transactions,
    ours_stack,
    ours_webhooks,
    postgres_cpu,
    scrape_histograms,
    stack_cpu,
    start_reference,
)
from bench.common import (  # noqa: E402
    REDIS_BENCH_URL,
    bench_model,
    choose,
    fmt,
    machine,
    percentile,
    ratio,
    work_dir,
)
from rasa_project.devtools.throwaway_db import throwaway_database  # noqa: E402

SETTLE_SECONDS = 3.5
TEXTS = ["hola", "ayuda", "que paquetes tienen?"]
SCALE_PARTNER = {"ours": "ours2", "ours2": "ours", "ingress": "ingress2", "ingress2": "ingress"}  # 1 vs 2 Rasa
LABELS = {
    "ours": "ours (1 Rasa)",
    "ingress": "ours, ingress + 1 Rasa (prod.)",
    "ours2": "ours (2 Rasa + Redis lock)",
    "ingress2": "ours, ingress + 2 Rasa (prod.)",
    "twilio": "Rasa TwilioInput (built-in)",
    "rest": "Rasa REST channel",
}


def new_phone() -> str:
    return "+52155" + str(uuid.uuid4().int)[:8]


def conversation(args: argparse.Namespace) -> List[str]:
    """What every sender writes: `TEXTS` cycled to `--messages`."""
    return [TEXTS[i % len(TEXTS)] for i in range(args.messages)]


def bench_client(args: argparse.Namespace) -> httpx.AsyncClient:
    """The senders' HTTP client: a connection for every sender in flight (and the long-poll)."""
    limits = httpx.Limits(max_connections=args.concurrency + 10, max_keepalive_connections=args.concurrency + 10)
    return httpx.AsyncClient(timeout=120, limits=limits)


async def warm_up(target: Target, sandbox_url: str, args: argparse.Namespace,
                  warm_targets: Sequence[Target] = ()) -> List[int]:
    """Before the clock: a calibration conversation learns how many replies each message gets on this
    channel, then `--warmup` senders run the load's conversations unmeasured, on every instance. A fresh
    Rasa process traces TensorFlow functions for each new input shape during its first turns; without
    this, the variant measured first in a process pays that and the next one in the same process does not
    (REST after TwilioInput measured 47 ms of CPU per message against 56 ms in a fresh process)."""
    texts = conversation(args)
    async with bench_client(args) as client, ReplyCollector(sandbox_url) as collector:
        expected = await calibrate(target, collector, client, new_phone(), texts)
        for extra in warm_targets:  # every instance answers one conversation before the clock starts
            await calibrate(extra, collector, client, new_phone(), texts)
        for each in (target, *warm_targets):
            if args.warmup:
                await run_load(each, collector, client, [new_phone() for _ in range(args.warmup)], texts, expected,
                               args.concurrency, args.reply_timeout, args.deadline)
    return expected


async def measure(target: Target, sandbox_url: str, args: argparse.Namespace, expected: List[int]) -> Dict[str, Any]:
    texts = conversation(args)
    async with bench_client(args) as client, ReplyCollector(sandbox_url) as collector:
        phones = [new_phone() for _ in range(args.senders)]
        outcome = await run_load(target, collector, client, phones, texts, expected, args.concurrency,
                                 args.reply_timeout, args.deadline)
    ms = [a * 1000 for a in outcome.acks]
    turns_ms = [t * 1000 for t in outcome.turns]
    wall = outcome.wall
    return {
        "replies_per_message": expected,
        "sent": outcome.sent, "answered": outcome.answered,
        "http_errors": outcome.http_errors, "timeouts": outcome.timeouts,
        "ack_p50_ms": percentile(ms, 50), "ack_p95_ms": percentile(ms, 95), "ack_p99_ms": percentile(ms, 99),
        "turn_p50_ms": percentile(turns_ms, 50), "turn_p95_ms": percentile(turns_ms, 95),
        "turn_max_ms": max(turns_ms) if turns_ms else None,
        "wall_s": wall, "turns_per_s": (outcome.answered / wall) if wall else None,
    }


def _cpu(stack: Any) -> Dict[str, float]:
    own = os.times()
    return {**stack_cpu(stack), "bench client": own.user + own.system, "postgres": postgres_cpu()}


def _scrape(metrics_urls: Sequence[str]) -> Dict[str, float]:
    """The histograms of every process that serves some of them (the ingress: the ack; Rasa: the turn)."""
    values: Dict[str, float] = {}
    for url in metrics_urls:
        for name, value in scrape_histograms(url).items():
            values[name] = values.get(name, 0.0) + value
    return values


def _run_measured(stack: Any, db_url: str, target: Target, args: argparse.Namespace,
                  metrics_urls: Sequence[str] = (), warm_targets: Sequence[Target] = ()) -> Dict[str, Any]:
    """One variant's load after its warm-up, plus where the time went: CPU seconds per process and database
    transactions over the measured load and the status callbacks that trail its last reply."""
    expected = asyncio.run(warm_up(target, stack.twilio_url, args, warm_targets))
    time.sleep(SETTLE_SECONDS)  # the warm-up's trailing status callbacks stay out of the figures
    cpu_before, xact_before = _cpu(stack), db_transactions(db_url)
    before = _scrape(metrics_urls)
    started = time.perf_counter()
    result = asyncio.run(measure(target, stack.twilio_url, args, expected))
    result["elapsed_s"] = time.perf_counter() - started
    time.sleep(SETTLE_SECONDS)  # status callbacks trail the replies; pg_stat_database flushes ~1 s late
    cpu_after = _cpu(stack)
    result["cpu_s"] = {name: round(cpu_after[name] - cpu_before.get(name, 0.0), 1) for name in cpu_after}
    messages = max(result["sent"], 1)
    result["messages_total"] = messages  # the measured load: what the CPU and transaction figures cover
    commits, rollbacks = db_transactions(db_url)
    result["db_commits_per_message"] = (commits - xact_before[0]) / messages
    result["db_rollbacks_per_message"] = (rollbacks - xact_before[1]) / messages
    if metrics_urls:
        after = _scrape(metrics_urls)

        def grew(key: str) -> float:
            return after.get(key, 0) - before.get(key, 0)

        for short, name in (("server_ack_mean_ms", "whatsapp_webhook_ack_seconds"),
                            ("server_turn_mean_ms", "assistant_turn_seconds")):
            count = grew(f"{name}_count")
            result[short] = grew(f"{name}_sum") / count * 1000 if count else None
        result["gc_full_collections"] = grew("assistant_gc_full_pause_seconds_count")
        result["gc_full_pause_ms"] = grew("assistant_gc_full_pause_seconds_sum") * 1000
    return result


def run_pairs(stack: Any, ours: Target, ours_expected: List[int], rest: Target,
              args: argparse.Namespace) -> Dict[str, Any]:
    """Rasa CPU per turn of our channel and of the REST channel in the SAME Rasa process, measured in
    `--pairs` alternating rounds (ours, REST, then REST, ours, ...) of the same load.

    The separate REST row comes from another process started minutes apart, and on a shared 2-core VM that
    alone moves a 100-message figure by 10-20 % (bench/README.md). Here both channels run on one warmed
    process, model, tracker store and Postgres, interleaved so drift cancels: the difference is the channel's
    own cost (the inbox, the gate, the Twilio sends and their records) against REST's HTTP answer."""
    rasa = next(p for p in stack.processes if p.name == "rasa")
    expected = {ours.name: ours_expected,  # the process is warm for ours already
                rest.name: asyncio.run(warm_up(rest, stack.twilio_url, args))}
    rounds: List[Dict[str, float]] = []
    for index in range(args.pairs):
        order = (ours, rest) if index % 2 == 0 else (rest, ours)
        figures: Dict[str, float] = {}
        for target in order:
            time.sleep(SETTLE_SECONDS)
            before = cpu_seconds(rasa.popen.pid)
            result = asyncio.run(measure(target, stack.twilio_url, args, expected[target.name]))
            time.sleep(SETTLE_SECONDS)  # what trails the last reply (status callbacks, idle loops) counts for both
            figures[target.name] = (cpu_seconds(rasa.popen.pid) - before) / max(result["sent"], 1)
        figures["ratio"] = figures[ours.name] / figures[rest.name] if figures[rest.name] else float("nan")
        rounds.append({k: round(v, 4) for k, v in figures.items()})
    return {"rounds": rounds, "median_ratio": percentile([r["ratio"] for r in rounds], 50),
            "median_ours_s": percentile([r[ours.name] for r in rounds], 50),
            "median_rest_s": percentile([r[rest.name] for r in rounds], 50)}


def run_scale_load(stack: Any, target: Target, measured: Dict[str, Any], args: argparse.Namespace) -> Dict[str, Any]:
    """turns/s over a longer load (`--scale-senders` × `--messages`, same concurrency) on the stack just
    measured, for the 2-process ratio: on a fast VM the 20 × 5 load is over in 4-7 s, and over such a
    window the single process's turns/s moved between 13.6 and 17.5 in one day, the ratio between 0.99 and
    1.73 (bench/README.md). More senders rather than more messages each: a sender writing 15 messages in a
    minute meets the channel's rate limit (`RATE_LIMIT_MESSAGES`, 12)."""
    more = argparse.Namespace(**{**vars(args), "senders": args.scale_senders})
    time.sleep(SETTLE_SECONDS)
    result = asyncio.run(measure(target, stack.twilio_url, more, measured["replies_per_message"]))
    print(f"  {target.name}, {args.scale_senders} x {args.messages}: {fmt(result['turns_per_s'], 2)} turns/s, "
          f"answered {result['answered']}/{result['sent']}", flush=True)
    return {"senders": args.scale_senders, "turns_per_s": result["turns_per_s"], "answered": result["answered"],
            "sent": result["sent"]}


@contextmanager
def started_stack(model: Path, work: Path, folder: str, label: str, **layout: Any) -> Iterator[Tuple[Any, str]]:
    """One of `ours_stack`'s layouts on a throwaway conversation log, started; stopped on the way out."""
    with throwaway_database("t_bench") as db_url:
        stack = ours_stack(model, db_url, work / folder, **layout)
        try:
            print(f"starting the stack ({label}), logs in {work / folder / 'logs'}", flush=True)
            stack.start(timeout=300)
            yield stack, db_url
        finally:
            stack.stop()


def _measure(results: Dict[str, Dict[str, Any]], key: str, stack: Any, db_url: str, target: Target,
             args: argparse.Namespace, metrics_ports: Sequence[int] = (), warm: Sequence[Target] = ()) -> None:
    """`key`'s measured load (histograms scraped from `metrics_ports`), then the longer load when the
    variant it is compared with for the 2-process ratio (`SCALE_PARTNER`) is measured too."""
    metrics = [f"http://127.0.0.1:{port}/webhooks/whatsapp/metrics" for port in metrics_ports]
    results[key] = _run_measured(stack, db_url, target, args, metrics, warm)
    print(f"  {key}: {results[key]}", flush=True)
    if args.scale_senders and SCALE_PARTNER.get(key) in args.variants:
        results[key]["scale"] = run_scale_load(stack, target, results[key], args)


def run_variants(args: argparse.Namespace) -> Dict[str, Dict[str, Any]]:
    model = bench_model(args.model)
    print(f"model {model}", flush=True)
    wanted = args.variants
    results: Dict[str, Dict[str, Any]] = {}
    with work_dir("bench_channel_", args.keep_logs) as work:
        if {"ours", "twilio", "rest"} & set(wanted):
            with started_stack(model, work, "one", "1 Rasa instance") as (stack, db_url):
                if "ours" in wanted:
                    target = twilio_target("ours", ours_webhooks(stack), AUTH_TOKEN)
                    _measure(results, "ours", stack, db_url, target, args, [stack.ports.rasa])
                if {"twilio", "rest"} & set(wanted):
                    print("starting the reference Rasa (TwilioInput + REST)", flush=True)
                    port = start_reference(stack, work / "one")
                    base = f"http://127.0.0.1:{port}/webhooks"
                    if "twilio" in wanted:
                        target = twilio_target("twilio", [f"{base}/twilio/webhook"], AUTH_TOKEN)
                        _measure(results, "twilio", stack, db_url, target, args)
                    if "rest" in wanted:
                        _measure(results, "rest", stack, db_url, rest_target(f"{base}/rest/webhook"), args)
        if "ingress" in wanted:
            with started_stack(model, work, "ingress", "ingress + 1 Rasa", with_ingress=True) as (stack, db_url):
                target = twilio_target("ingress", [stack.webhook_url], AUTH_TOKEN)
                _measure(results, "ingress", stack, db_url, target, args, [stack.ports.ingress, stack.ports.rasa])
                if args.pairs:
                    rest = rest_target(f"http://127.0.0.1:{stack.ports.rasa}/webhooks/rest/webhook")
                    results["paired"] = run_pairs(stack, target, results["ingress"]["replies_per_message"],
                                                  rest, args)
                    print(f"  paired: {results['paired']}", flush=True)
        if "ours2" in wanted:
            with started_stack(model, work, "two", "2 Rasa instances + Redis", instances=2,
                               redis_url=REDIS_BENCH_URL) as (stack, db_url):
                urls = ours_webhooks(stack)
                target = twilio_target("ours2", urls, AUTH_TOKEN, signed_url=urls[0])
                warm = [twilio_target("warm", [url], AUTH_TOKEN, signed_url=urls[0]) for url in urls[1:]]
                _measure(results, "ours2", stack, db_url, target, args, [stack.ports.rasa], warm)
        if "ingress2" in wanted:
            with started_stack(model, work, "ingress2", "ingress + 2 Rasa + Redis", instances=2,
                               redis_url=REDIS_BENCH_URL, with_ingress=True) as (stack, db_url):
                # one webhook for both: the warm-up's concurrent senders reach both processes (NOTIFY race)
                target = twilio_target("ingress2", [stack.webhook_url], AUTH_TOKEN)
                _measure(results, "ingress2", stack, db_url, target, args, [stack.ports.ingress, *stack.rasa_ports])
    return results


def print_table(results: Dict[str, Dict[str, Any]], args: argparse.Namespace) -> None:
    ours = results.get("ours", {})
    print(f"\nWebhook channel: {args.senders} senders x {args.messages} messages, concurrency {args.concurrency}; "
          f"{machine()}")
    print("| variant                      | ack p50 | ack p95 | ack p99 | turn p50 | turn p95 | turns/s "
          "| answered | ack p50 / ours | turns/s / ours |")
    print("|------------------------------|--------:|--------:|--------:|---------:|---------:|--------:"
          "|---------:|---------------:|---------------:|")
    for key in ("ours", "ingress", "ours2", "ingress2", "twilio", "rest"):
        r = results.get(key)
        if not r:
            continue
        print(f"| {LABELS[key]:<28} | {fmt(r['ack_p50_ms']):>7} | {fmt(r['ack_p95_ms']):>7} "
              f"| {fmt(r['ack_p99_ms']):>7} "
              f"| {fmt(r['turn_p50_ms'], 0):>8} | {fmt(r['turn_p95_ms'], 0):>8} | {fmt(r['turns_per_s'], 2):>7} "
              f"| {r['answered']:>4}/{r['sent']:<3} | {fmt(ratio(r['ack_p50_ms'], ours.get('ack_p50_ms')), 2):>14} "
              f"| {fmt(ratio(r['turns_per_s'], ours.get('turns_per_s')), 2):>14} |")
    print("(ms; turn = post → last reply seen at the Twilio sandbox, REST: → HTTP response)")
    for key, r in results.items():
        if key == "paired":
            print("  same Rasa process, alternating rounds: Rasa CPU s per turn, ours / REST = "
                  + ", ".join(f"{fmt(x['ingress'], 4)} / {fmt(x['rest'], 4)} ({fmt(x['ratio'], 2)})"
                              for x in r["rounds"]) + f"; median ratio {fmt(r['median_ratio'], 2)}")
            continue
        server = ""
        if r.get("server_ack_mean_ms") is not None:
            server = (f"; server-side mean ack {fmt(r['server_ack_mean_ms'], 2)} ms, "
                      f"turn {fmt(r.get('server_turn_mean_ms'), 0)} ms")
        if r.get("gc_full_collections") is not None:
            server += (f"; full GC collections {r['gc_full_collections']:.0f} "
                       f"({fmt(r.get('gc_full_pause_ms'), 1)} ms in all)")
        print(f"  {key}: replies per message {r['replies_per_message']}, errors {r['http_errors']}, "
              f"timeouts {r['timeouts']}, turn max {fmt(r.get('turn_max_ms'), 0)} ms{server}; "
              f"DB commits/rollbacks per message "
              f"{fmt(r['db_commits_per_message'])}/{fmt(r['db_rollbacks_per_message'])}; "
              f"CPU s over {fmt(r['elapsed_s'])} s: {r['cpu_s']}")


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5, help="messages per sender")
    parser.add_argument("--concurrency", type=int, default=20, help="senders in flight at once")
    parser.add_argument("--warmup", type=int, default=10,
                        help="senders whose conversations run unmeasured on every instance first (0: none)")
    parser.add_argument("--variants", default="ours,ingress,ours2,ingress2,twilio,rest")
    parser.add_argument("--reply-timeout", type=float, default=90.0, help="seconds a sender waits for a reply")
    parser.add_argument("--deadline", type=float, default=300.0, help="max seconds of load per variant")
    parser.add_argument("--scale-senders", type=int, default=60,
                        help="senders of the longer load behind the 2-process ratio (0: none)")
    parser.add_argument("--pairs", type=int, default=3,
                        help="rounds of ours vs REST in the production layout's Rasa process (0: none)")
    parser.add_argument("--model", help="model archive (default: newest in models/)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs (temp dir)")
    args = parser.parse_args(argv)
    args.variants = choose(parser, args.variants, LABELS)
    results = run_variants(args)
    print_table(results, args)
    return {"variants": results, "senders": args.senders, "messages": args.messages,
            "concurrency": args.concurrency, "machine": machine()}


if __name__ == "__main__":
    main()

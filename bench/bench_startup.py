"""Start-up: from process start to the WhatsApp webhook answering a signed post with 200.

    python bench/bench_startup.py [--variants ours,stock,ingress] [--timeout 420] [--model PATH] [--keep-logs]

Variants, each started alone (one after the other) with the same model, credentials.yml, endpoints.yml
and environment as `LocalStack` gives its Rasa process (a throwaway `t_bench_startup_*` conversation
log, migrated beforehand so no variant pays the migration; the Twilio sandbox, where a reply would go):
  ours     `python -m rasa_project serve run ...`: Rasa with our fast model load (rasa_project/fast_load.py)
  stock    `rasa run ...`: the same server, Rasa's own model load (the same channel: only the load differs)
  ingress  `python -m rasa_project ingress`: the production layout's webhook process (no model)

The clock starts just before `Popen`; the webhook is polled every 0.25 s with a signed Twilio post
(a new MessageSid each time; refused connections are retried) until the first 200 — that is the route
Twilio calls, answered, not only the port open. Each output line is stamped as it arrives, so the
split is printed where the log says it: `Starting Rasa server` (imports and CLI done) → `Rasa server
is up and running` (the model loaded) → first 200 (the channel opened: engine, Twilio client, worker).
The process is stopped right after its first 200. Figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import httpx  # noqa: E402

from bench.channel_stacks import AUTH_TOKEN, BOOKING_TOKEN  # noqa: E402
from bench.common import bench_model, choose, fmt, machine, work_dir  # noqa: E402
from rasa_project.devtools.local_stack import LocalStack, StackPorts, free_port  # noqa: E402
from rasa_project.devtools.throwaway_db import throwaway_database  # noqa: E402
from rasa_project.devtools.whatsapp_simulator import build_inbound_form, post_inbound  # noqa: E402

LABELS = {
    "ours": "ours: python -m rasa_project serve run (fast load)",
    "stock": "stock: rasa run (Rasa's own model load)",
    "ingress": "ingress: python -m rasa_project ingress",
}
# (label, text of the log line that marks it), in the order they appear
MARKERS = [
    ("server starting", "Starting Rasa server on"),
    ("model loaded", "Rasa server is up and running"),
    ("ingress starting", "WhatsApp ingress on"),
]
WEBHOOK = "/webhooks/whatsapp/webhook"


def argv_for(variant: str, stack: LocalStack, port: int) -> List[str]:
    if variant == "ours":
        return stack.rasa_process(port).argv
    if variant == "stock":
        rasa = str(Path(sys.executable).with_name("rasa"))
        return [rasa, "run", "--model", str(stack.model), "--credentials", "credentials.yml",
                "--endpoints", "endpoints.yml", "--interface", "127.0.0.1", "--port", str(port)]
    if variant == "ingress":
        return stack.ingress_process(port).argv
    raise ValueError(f"unknown variant {variant!r}")


class StampedOutput(threading.Thread):
    """Reads a process's output, writes it to `log`, and stamps the first line of each marker."""

    def __init__(self, stream: Any, log: Path, started: float) -> None:
        super().__init__(daemon=True)
        self.stream, self.log, self.started = stream, log, started
        self.marks: Dict[str, float] = {}

    def run(self) -> None:
        with open(self.log, "w", encoding="utf-8") as out:
            for raw in iter(self.stream.readline, b""):
                now = time.perf_counter() - self.started
                line = raw.decode("utf-8", "replace")
                out.write(f"[{now:8.2f}] {line}")
                for label, text in MARKERS:
                    if label not in self.marks and text in line:
                        self.marks[label] = now


async def first_200(url: str, started: float, deadline: float, popen: subprocess.Popen) -> Optional[float]:
    """Seconds from `started` to the first 200 of a signed post to `url`; None by `deadline` or death."""
    async with httpx.AsyncClient(timeout=10) as client:
        while time.perf_counter() < deadline and popen.poll() is None:
            form = build_inbound_form("+52157" + str(uuid.uuid4().int)[:8], "hola", profile_name="Arranque",
                                      message_sid="SM" + uuid.uuid4().hex)
            try:
                response = await post_inbound(url, form, AUTH_TOKEN, client=client)
                if response.status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.25)
    return None


def stop(popen: subprocess.Popen) -> None:
    if popen.poll() is None:
        os.killpg(popen.pid, signal.SIGTERM)
        try:
            popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait(timeout=10)


def start_once(variant: str, stack: LocalStack, timeout: float, log_dir: Path) -> Dict[str, Any]:
    port = free_port()
    env = dict(stack.env)
    env["WEBHOOK_PUBLIC_URL"] = f"http://127.0.0.1:{port}"  # the signature is checked against it
    env.pop("CHANNEL_SERVE_WEBHOOK", None)  # the Rasa variants serve the webhook (single-process layout)
    argv = argv_for(variant, stack, port)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    popen = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
    reader = StampedOutput(popen.stdout, log_dir / f"{variant}.log", started)
    reader.start()
    try:
        ready = asyncio.run(first_200(f"http://127.0.0.1:{port}{WEBHOOK}", started, started + timeout, popen))
    finally:
        stop(popen)
        reader.join(timeout=10)
    return {"variant": variant, "ready_s": ready, "marks": dict(reader.marks), "load_1min_at_start": load_before,
            "exit_code": popen.returncode if ready is None else None, "log": str(log_dir / f"{variant}.log")}


def migrate(db_url: str) -> None:
    from rasa_project.conversation_log.database import open_checked_engine
    from rasa_project.conversation_log.migrations import migrate as run_migrations
    from rasa_project.settings import Settings

    engine = open_checked_engine(db_url, Settings())
    try:
        run_migrations(engine)
    finally:
        engine.dispose()


def run(variants: List[str], model: Path, timeout: float, work: Path) -> List[Dict[str, Any]]:
    results = []
    with throwaway_database("t_bench_startup") as db_url:
        migrate(db_url)
        env = {"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "BOOKING_API_TOKEN": BOOKING_TOKEN}
        stack = LocalStack(ports=StackPorts.free(), model=model, tracker_db_url=db_url, log_dir=work / "logs",
                           booking_db_url=f"sqlite:///{work / 'booking.db'}", extra_env=env,
                           with_transcription=False, only=("twilio_api",))
        with stack:
            stack.setup_templates(60)  # WHATSAPP_TEMPLATES as the stack's Rasa gets it
            for variant in variants:
                print(f"starting {variant} ...", flush=True)
                results.append(start_once(variant, stack, timeout, work / "logs"))
                print(f"  {results[-1]}", flush=True)
    return results


def print_table(results: List[Dict[str, Any]], load_before: str, load_after: str) -> None:
    print(f"\nstart-up: process start → first 200 of a signed webhook post ({load_before}; after: {load_after})")
    print("| variant | first 200 s | 'Starting Rasa server' s | 'up and running' s (model loaded) "
          "| model load s | up → first 200 s | load avg at start |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        marks = r["marks"]
        begin = marks.get("server starting") or marks.get("ingress starting")
        up = marks.get("model loaded")
        model_s = up - begin if up is not None and begin is not None else None
        tail = r["ready_s"] - up if r["ready_s"] is not None and up is not None else None
        print(f"| {LABELS[r['variant']]} | {fmt(r['ready_s'], 1)} | {fmt(begin, 1)} | {fmt(up, 1)} "
              f"| {fmt(model_s, 1)} | {fmt(tail, 1)} | {r['load_1min_at_start']:.2f} |")
    by = {r["variant"]: r["ready_s"] for r in results}
    if by.get("ours") and by.get("stock"):
        print(f"stock / ours: {by['stock'] / by['ours']:.2f}×")
    for r in results:
        if r["ready_s"] is None:
            print(f"  {r['variant']}: NO 200 (exit code {r['exit_code']}); see {r['log']}")


def main(argv: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="ours,stock,ingress")
    parser.add_argument("--timeout", type=float, default=420.0, help="seconds to wait for each first 200")
    parser.add_argument("--model", default=None)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    variants = choose(parser, args.variants, LABELS)
    model = bench_model(args.model)
    load_before = machine()
    with work_dir("bench_startup_", args.keep_logs) as work:
        results = run(variants, model, args.timeout, work)
    print_table(results, load_before, machine())
    return results


if __name__ == "__main__":
    main()

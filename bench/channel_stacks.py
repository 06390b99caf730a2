"""The processes each channel-benchmark variant runs against, built on `rasa_project.devtools.local_stack`.

- ours: `LocalStack` as the e2e tests start it (our channel, durable inbox in Postgres), 1 Rasa instance;
- ours ×2: the same with 2 Rasa instances sharing the inbox and a Redis lock store (`REDIS_URL`, db 7);
- reference: after ours, the same sandboxes and action server with our Rasa instance stopped and a
  `rasa run` (through `python -m rasa_project serve`: the same fast model load) started with a generated
  credentials file (Rasa's TwilioInput pointed at the sandbox via
  `bench.reference_channels`, plus `rest: {}`) and a generated endpoints file (same tracker store and
  lock store classes as ours; the action server URL/token that our channel would apply from settings).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Dict, List, Optional

import httpx
import psycopg2

from rasa_project.devtools.local_stack import LocalStack, Process, StackPorts, free_port
from rasa_project.devtools.throwaway_db import PG_ADMIN

AUTH_TOKEN = "bench-twilio-auth-token"
BOOKING_TOKEN = "bench-booking-token"
REFERENCE = "rasa_reference"


def ours_stack(model: Path, tracker_db_url: str, work_dir: Path, *, instances: int = 1,
               redis_url: Optional[str] = None, with_ingress: bool = False) -> LocalStack:
    env = {"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "BOOKING_API_TOKEN": BOOKING_TOKEN}
    if redis_url:
        env["REDIS_URL"] = redis_url
    return LocalStack(ports=StackPorts.free(), model=model, tracker_db_url=tracker_db_url,
                      booking_db_url=f"sqlite:///{work_dir / 'booking.db'}", log_dir=work_dir / "logs",
                      extra_env=env, rasa_instances=instances, with_ingress=with_ingress)


def ours_webhooks(stack: LocalStack) -> List[str]:
    return [f"http://127.0.0.1:{port}/webhooks/whatsapp/webhook" for port in stack.rasa_ports]


def _write_reference_files(stack: LocalStack, work_dir: Path) -> tuple:
    env = stack.env
    credentials = work_dir / "reference_credentials.yml"
    credentials.write_text(
        "bench.reference_channels.SandboxTwilioInput:\n"
        f"  account_sid: \"{env.get('TWILIO_ACCOUNT_SID') or 'AC00000000000000000000000000000000'}\"\n"
        f"  auth_token: \"{env['TWILIO_AUTH_TOKEN']}\"\n"
        f"  twilio_number: \"{env.get('TWILIO_WHATSAPP_NUMBER') or 'whatsapp:+14155238886'}\"\n"
        f"  sandbox_url: \"{stack.twilio_url}\"\n"
        "rest: {}\n", encoding="utf-8")
    endpoints = work_dir / "reference_endpoints.yml"
    endpoints.write_text(
        "action_endpoint:\n"
        f"  url: \"{env['ACTION_SERVER_URL']}\"\n"
        f"  token: \"{env['ACTION_SERVER_TOKEN']}\"\n"
        "tracker_store:\n  type: rasa_project.conversation_log.tracker_store.WindowedSQLTrackerStore\n"
        "lock_store:\n  type: rasa_project.lock_store.SettingsLockStore\n", encoding="utf-8")
    return credentials, endpoints


def start_reference(stack: LocalStack, work_dir: Path, timeout: float = 300.0) -> int:
    """Stop our Rasa instance(s) and start the reference `rasa run` on a new port; returns the port."""
    for name in [p.name for p in stack.processes if p.name.startswith("rasa")]:
        stack.kill(name)
    credentials, endpoints = _write_reference_files(stack, work_dir)
    port = free_port()
    # the same fast model load as our stack (`rasa_project/fast_load.py`): the rows compare channels, not loads
    argv = [sys.executable, "-m", "rasa_project", "serve", "run", "--model", str(stack.model),
            "--credentials", str(credentials), "--endpoints", str(endpoints),
            "--interface", "127.0.0.1", "--port", str(port)]
    process = Process(REFERENCE, argv, f"http://127.0.0.1:{port}/webhooks/rest/")
    stack.processes.append(process)
    stack.start_process(process)
    stack.wait_ready(process, timeout)
    return port


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (Linux /proc), to see which process a benchmark keeps busy."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> float:
    """CPU seconds of every `postgres` process on the machine (the server is shared: meaningful on a quiet one)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text.split("(", 1)[1].startswith("postgres)"):
            total += cpu_seconds(int(stat.parent.name))
    return total


def stack_cpu(stack: LocalStack) -> Dict[str, float]:
    return {p.name: cpu_seconds(p.popen.pid) for p in stack.processes
            if p.popen is not None and p.popen.poll() is None}


def scrape_histograms(metrics_url: str) -> Dict[str, float]:
    """`<name>_sum` / `<name>_count` of our channel's Prometheus histograms (server-side timings: ack, turn,
    and the full garbage collections' pauses, generation 2 of `assistant_gc_pause_seconds`)."""
    try:
        text = httpx.get(metrics_url, timeout=5).text
    except httpx.HTTPError:
        return {}
    values: Dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(("whatsapp_webhook_ack_seconds_", "assistant_turn_seconds_")) and "{" not in line:
            name, _, value = line.partition(" ")
            if name.endswith(("_sum", "_count")):
                values[name] = float(value)
        elif line.startswith(("assistant_gc_pause_seconds_sum{", "assistant_gc_pause_seconds_count{")) \
                and 'generation="2"' in line:  # full collections: `assistant_gc_full_pause_seconds_sum`...
            name = line.partition("{")[0].replace("gc_pause", "gc_full_pause")
            values[name] = float(line.rpartition(" ")[2])
    return values


def db_transactions(db_url: str) -> tuple:
    """(commits, rollbacks) of the benchmark's own database so far (pg_stat_database)."""
    name = db_url.rsplit("/", 1)[1]
    conn = psycopg2.connect(**PG_ADMIN)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = %s", (name,))
            row = cur.fetchone()
            return (int(row[0]), int(row[1])) if row else (0, 0)
    finally:
        conn.close()

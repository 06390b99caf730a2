"""`python -m rasa_project reminders` serves its Prometheus metrics: run apart from Rasa (the default), the
reminder and waitlist counters live in that process, and Prometheus scrapes them there."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.devtools.local_stack import free_port
from rasa_project.metrics import REMINDERS_CLAIMED
from rasa_project.reminders.runner import serve_metrics
from rasa_project.settings import PROJECT_ROOT, Settings


def test_no_endpoint_when_the_port_is_zero() -> None:
    assert serve_metrics(Settings(reminders_metrics_port=0)) is None


def test_the_endpoint_serves_this_processs_counters() -> None:
    port = free_port()
    server = serve_metrics(Settings(reminders_metrics_port=port))
    assert server is not None
    try:
        REMINDERS_CLAIMED.inc()
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert response.status_code == 200
        [line] = [x for x in response.text.splitlines() if x.startswith("reminders_claimed_total ")]
        assert float(line.split()[1]) >= 1
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_in_use_stops_the_process_naming_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit, match=f"REMINDERS_METRICS_PORT {port}"):
            serve_metrics(replace(Settings(), reminders_metrics_port=port))


def test_the_reminders_process_is_scrapable_and_stops_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    engine = create_log_engine(url, Settings(tracker_db_url=url))
    migrate(engine)
    engine.dispose()
    port = free_port()
    env = {**os.environ, "TRACKER_DB_URL": url, "REMINDERS_METRICS_PORT": str(port),
           "BOOKING_API_URL": f"http://127.0.0.1:{free_port()}", "REMINDERS_POLL_SECONDS": "0.5"}
    process = subprocess.Popen([sys.executable, "-m", "rasa_project", "reminders"], cwd=PROJECT_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        text = ""
        while time.monotonic() < deadline and process.poll() is None:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                if "reminders_claimed_total" in text:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        assert "reminders_claimed_total" in text and "assistant_waitlist_total" in text, \
            process.stdout.read().decode() if process.poll() is not None and process.stdout else text[:500]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

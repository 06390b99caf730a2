"""`python -m rasa_project.sandboxes.booking_api` as a real subprocess on a free port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from rasa_project.settings import PROJECT_ROOT

TOKEN = "cli-test-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_cli_serves_the_seeded_sandbox(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "BOOKING_API_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "rasa_project.sandboxes.booking_api",
        "--port",
        str(port),
        "--db-url",
        f"sqlite:///{tmp_path / 'cli.db'}",
        "--reset",
    ]
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/services", headers=headers, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and len(response.json()) == 4
        summary = httpx.post(f"http://127.0.0.1:{port}/_sandbox/reset", headers=headers, timeout=10).json()
        assert summary["full_slot"]["booked"] == summary["full_slot"]["capacity"] == 4
        assert [c["name"] for c in summary["clients"]] == ["Ana López", "Martín Pérez", "Lucía García"]
        assert json.dumps(summary)
    finally:
        process.terminate()
        process.wait(10)

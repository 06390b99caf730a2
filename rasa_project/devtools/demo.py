"""`make run` / `python -m rasa_project run-local`: the whole assistant offline, as a chat window.

The terminal shows the conversation and nothing else: every process of the stack writes its log to
`var/logs/<process>.log`, and this process's own log lines (the simulator's HTTP calls) go to
`var/logs/run-local.log`. While the stack starts (the Rasa model takes the longest) one status line
says what is up; when something cannot start, the message names it, its log, and its last lines.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Dict, List, TextIO

from rasa_project.devtools.local_stack import LocalStack, StackFailed, StackPorts
from rasa_project.devtools.model_cache import ensure_model
from rasa_project.devtools.whatsapp_simulator import main as simulator_main
from rasa_project.settings import LOCAL_STATE_DIR

LOG_DIR = LOCAL_STATE_DIR / "logs"
LABELS = {"booking_api": "API de reservas", "twilio_api": "Twilio (sandbox)", "actions": "acciones",
          "llm": "LLM (sandbox)", "transcription": "notas de voz (sandbox)", "chatwoot": "Chatwoot (sandbox)",
          "rasa": "Rasa"}


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _last_lines(path: Path, count: int = 12) -> List[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-count:]
    except OSError:
        return []


class StatusLine:
    """One line that says which processes are up, rewritten in place on a terminal."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self.stream = stream
        self.states: Dict[str, str] = {}
        self.started = time.monotonic()
        self.tty = stream.isatty()

    def __call__(self, name: str, state: str) -> None:
        self.states[name] = state
        parts = [f"{LABELS.get(n, n)} {'✓' if s == 'ready' else '…'}" for n, s in self.states.items()]
        line = f"Arrancando ({time.monotonic() - self.started:.0f} s): " + " · ".join(parts)
        if self.tty:
            self.stream.write("\r\033[K" + line)
        elif state == "ready":
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


def run(args: argparse.Namespace) -> int:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=LOG_DIR / "run-local.log", level=logging.INFO, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ports = StackPorts()
    taken = [port for port in (ports.rasa, ports.actions, ports.booking, ports.twilio, ports.transcription,
                                            ports.chatwoot)
             if _port_taken(port)]
    if taken:
        print(f"No puedo arrancar: el puerto {', '.join(map(str, taken))} ya está en uso en 127.0.0.1 "
              "(¿otro `make run` abierto?). Ciérralo y vuelve a intentarlo.", file=sys.stderr)
        return 1
    print("Preparando el modelo (se entrena solo si cambiaron los datos)…", flush=True)
    # reminders and the waitlist run inside the Rasa process, the single-process layout (docs/reminders.md);
    # the Twilio sandbox enforces WhatsApp's 24-hour window (the simulator reports each message, as Twilio sees it)
    stack = LocalStack(ports=ports, model=ensure_model(), with_llm=args.llm, with_chatwoot=True, log_dir=LOG_DIR,
                       enforce_window=True,
                       extra_env={"REMINDERS_IN_PROCESS": os.environ.get("REMINDERS_IN_PROCESS", "true")})
    status = StatusLine()
    try:
        stack.start(timeout=300, progress=status)
    except StackFailed as exc:
        status.done()
        print(f"\nNo pude arrancar {LABELS.get(exc.name, exc.name)}: {exc.reason}.", file=sys.stderr)
        print(f"Su registro está en {exc.log}; las últimas líneas:", file=sys.stderr)
        for line in _last_lines(exc.log):
            print(f"  {line}", file=sys.stderr)
        return 1
    status.done()
    print(f"Listo en {time.monotonic() - status.started:.0f} s. Registros en {LOG_DIR}/. "
          "Escribe como cliente; /salir para terminar.", flush=True)
    try:
        return simulator_main(["--webhook", stack.webhook_url, "--sandbox", stack.twilio_url,
                               "--chatwoot", stack.chatwoot_url, "--from", args.phone, "--name", args.name]) or 0
    finally:
        stack.stop()

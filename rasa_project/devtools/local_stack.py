"""The whole assistant on one machine: booking API and Twilio sandboxes (and, `with_chatwoot`, the
Chatwoot stand-in the handoff mirrors into), action server, Rasa server; the repo's WhatsApp templates
are created and approved in the Twilio sandbox before Rasa starts (`sandbox_templates.py`).

One piece of code starts it for the README's run command and for the end-to-end tests, so both
exercise the same wiring: each process is configured only through the environment variables of
`rasa_project.settings`, pointed at loopback stand-ins instead of Twilio and the business's API.

`with_ingress=True` is the production layout (docs/deployment.md): an ingress process
(`python -m rasa_project ingress`) serves Twilio's webhook and status callbacks (`webhook_url` and
`WEBHOOK_PUBLIC_URL` point at it) and the Rasa processes run with `CHANNEL_SERVE_WEBHOOK=false`, woken
by the ingress's NOTIFY. The default is the single-process layout.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set

import httpx

from rasa_project.devtools.sandbox_templates import create_and_approve, templates_setting
from rasa_project.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)


Progress = Callable[[str, str], None]


class StackFailed(RuntimeError):
    """A process of the stack died or never answered; `log` is where it wrote why."""

    def __init__(self, name: str, log: Path, reason: str) -> None:
        super().__init__(f"{name} {reason}; see {log}")
        self.name, self.log, self.reason = name, log, reason


_HANDED_OUT: Set[int] = set()


def free_port() -> int:
    """A loopback port nobody listens on, and never one this process has handed out before.

    The ports of a stack are chosen before any of its processes binds them, so the kernel may offer a
    port again once its probe socket is closed: a second Rasa instance once got the booking
    sandbox's port (CI answered its health check with the sandbox's 401).
    """
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def latest_model(models_dir: Path = PROJECT_ROOT / "models") -> Path:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise FileNotFoundError(f"no trained model in {models_dir}: run `make model` first")
    return models[-1]


@dataclass
class StackPorts:
    rasa: int = 5005
    actions: int = 5055
    booking: int = 8081
    twilio: int = 8082
    llm: int = 8083
    transcription: int = 8084
    chatwoot: int = 8085
    ingress: int = 5006

    @classmethod
    def free(cls) -> StackPorts:
        return cls(free_port(), free_port(), free_port(), free_port(), free_port(), free_port(), free_port(),
                   free_port())


@dataclass
class Process:
    name: str
    argv: List[str]
    ready_url: str
    ready_headers: Dict[str, str] = field(default_factory=dict)
    popen: Optional[subprocess.Popen] = None


class LocalStack:
    """Starts, checks and stops the processes of the assistant on loopback ports."""

    def __init__(
        self,
        *,
        ports: Optional[StackPorts] = None,
        model: Optional[Path] = None,
        tracker_db_url: Optional[str] = None,
        booking_db_url: Optional[str] = None,
        with_llm: bool = False,
        with_transcription: bool = True,
        with_chatwoot: bool = False,
        extra_env: Optional[Mapping[str, str]] = None,
        log_dir: Optional[Path] = None,
        rasa_instances: int = 1,
        only: Optional[Sequence[str]] = None,
        enforce_window: bool = False,
        with_ingress: bool = False,
    ) -> None:
        """`enforce_window`: the Twilio sandbox applies WhatsApp's 24-hour rule (63016) from the start; callers
        must then report each inbound message (`whatsapp_simulator.post_inbound(..., sandbox_url=)` does).
        `with_ingress`: the production layout (an ingress process in front, see the module's docstring)."""
        self.ports = ports or StackPorts()
        self.with_ingress = with_ingress
        self.model = model or latest_model()
        self.log_dir = log_dir or PROJECT_ROOT / "var" / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.rasa_ports = [self.ports.rasa] + [free_port() for _ in range(rasa_instances - 1)]
        env = dict(os.environ)
        env.update(
            {
                "TWILIO_API_BASE_URL": f"http://127.0.0.1:{self.ports.twilio}",
                "WEBHOOK_PUBLIC_URL": f"http://127.0.0.1:{self.public_port}",
                "BOOKING_API_URL": f"http://127.0.0.1:{self.ports.booking}",
                "ACTION_SERVER_URL": f"http://127.0.0.1:{self.ports.actions}/webhook",
                "ACTION_SERVER_PORT": str(self.ports.actions),
                "ACTION_SERVER_TOKEN": env.get("ACTION_SERVER_TOKEN") or "local-action-server-token",
                "PYTHONUNBUFFERED": "1",
                # Rasa's telemetry unpacks the whole model archive a second time at start-up just to read
                # its fingerprint (~2-4 s), and could not reach its server here anyway
                "RASA_TELEMETRY_ENABLED": "false",
            }
        )
        if with_ingress:
            env["CHANNEL_SERVE_WEBHOOK"] = "false"
            env["INGRESS_PORT"] = str(self.ports.ingress)
        if tracker_db_url:
            env["TRACKER_DB_URL"] = tracker_db_url
        if booking_db_url:
            env["SANDBOX_BOOKING_DB_URL"] = booking_db_url
        if with_llm:
            env["OPENROUTER_BASE_URL"] = f"http://127.0.0.1:{self.ports.llm}/v1"
            env.setdefault("OPENROUTER_API_KEY", "local-llm-key")
        env.update(extra_env or {})
        self.env = env
        if with_transcription:  # voice notes: the speech-to-text stand-in
            env.setdefault("TRANSCRIPTION_API_URL", f"http://127.0.0.1:{self.ports.transcription}/v1")
            env.setdefault("TRANSCRIPTION_API_KEY", "local-transcription-key")
        if with_chatwoot:  # the helpdesk: the Chatwoot stand-in, its webhooks signed and tokened to our route
            env.setdefault("CHATWOOT_BASE_URL", self.chatwoot_url)
            env.setdefault("CHATWOOT_ACCOUNT_ID", "1")
            env.setdefault("CHATWOOT_INBOX_ID", "1")
            env.setdefault("CHATWOOT_API_TOKEN", "local-chatwoot-token")
            env.setdefault("CHATWOOT_WEBHOOK_SECRET", "local-chatwoot-webhook-secret")
        self.with_llm = with_llm
        self.with_transcription = with_transcription
        self.with_chatwoot = with_chatwoot
        self.enforce_window = enforce_window
        self.processes: List[Process] = [p for p in self._plan() if only is None or p.name in only]

    @property
    def public_port(self) -> int:
        """Where Twilio's routes are: the ingress, or the (first) Rasa process."""
        return self.ports.ingress if self.with_ingress else self.ports.rasa

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.public_port}/webhooks/whatsapp/webhook"

    @property
    def twilio_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.twilio}"

    @property
    def chatwoot_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.chatwoot}"

    @property
    def booking_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.booking}"

    def _plan(self) -> List[Process]:
        py = sys.executable
        token = self.env.get("BOOKING_API_TOKEN", "local-booking-api-token")
        plan = [
            Process(
                "booking_api",
                [py, "-m", "rasa_project.sandboxes.booking_api", "--port", str(self.ports.booking)],
                f"{self.booking_url}/services",
                {"Authorization": f"Bearer {token}"},
            ),
            Process(
                "twilio_api",
                [py, "-m", "rasa_project.sandboxes.twilio_api", "--port", str(self.ports.twilio),
                 "--window" if self.enforce_window else "--no-window"],
                f"{self.twilio_url}/_sandbox/stats",
            ),
            Process("actions", [py, "-m", "actions"], f"http://127.0.0.1:{self.ports.actions}/health"),
        ]
        if self.with_transcription:
            plan.append(
                Process(
                    "transcription",
                    [py, "-m", "rasa_project.sandboxes.transcription", "--port", str(self.ports.transcription),
                     "--api-key", self.env["TRANSCRIPTION_API_KEY"]],
                    f"http://127.0.0.1:{self.ports.transcription}/_sandbox/requests",
                )
            )
        if self.with_llm:
            plan.append(
                Process(
                    "llm",
                    [py, "-m", "rasa_project.sandboxes.llm_server", "--port", str(self.ports.llm)],
                    f"http://127.0.0.1:{self.ports.llm}/_sandbox/requests",
                )
            )
        if self.with_chatwoot:
            webhook = (f"http://127.0.0.1:{self.ports.rasa}/webhooks/whatsapp/chatwoot"
                       f"?token={self.env['CHATWOOT_WEBHOOK_SECRET']}")
            plan.append(
                Process(
                    "chatwoot",
                    [py, "-m", "rasa_project.sandboxes.chatwoot", "--port", str(self.ports.chatwoot),
                     "--account-id", self.env["CHATWOOT_ACCOUNT_ID"], "--inbox-id", self.env["CHATWOOT_INBOX_ID"],
                     "--api-token", self.env["CHATWOOT_API_TOKEN"], "--webhook-url", webhook,
                     "--webhook-secret", self.env["CHATWOOT_WEBHOOK_SECRET"]],
                    f"{self.chatwoot_url}/_sandbox/faults",
                )
            )
        if self.with_ingress:
            plan.append(self.ingress_process())
        for index, port in enumerate(self.rasa_ports):
            plan.append(self.rasa_process(port, f"rasa{index or ''}"))
        return plan

    def ingress_process(self, port: Optional[int] = None, name: str = "ingress") -> Process:
        port = port or self.ports.ingress
        argv = [sys.executable, "-m", "rasa_project", "ingress", "--host", "127.0.0.1", "--port", str(port)]
        return Process(name, argv, f"http://127.0.0.1:{port}/webhooks/whatsapp/")

    def rasa_process(self, port: int, name: str = "rasa") -> Process:
        argv = [
            sys.executable, "-m", "rasa_project", "serve", "run", "--model", str(self.model),
            "--credentials", "credentials.yml", "--endpoints", "endpoints.yml",
            "--interface", "127.0.0.1", "--port", str(port),
        ]
        return Process(name, argv, f"http://127.0.0.1:{port}/webhooks/whatsapp/")

    def start(self, timeout: float = 240.0, progress: Optional[Progress] = None) -> LocalStack:
        """Start every process and wait until each answers; on failure, stop what was started.

        `progress(name, state)` hears "starting" for each process, then "ready" as each answers (in
        whatever order they come up)."""
        try:
            # the ingress and Rasa read WHATSAPP_TEMPLATES: they start after the templates are approved
            late = (["rasa_project", "serve"], ["rasa_project", "ingress"])
            rasa = [p for p in self.processes if p.argv[2:4] in late]
            for process in [p for p in self.processes if p not in rasa] + rasa:
                if process is (rasa[0] if rasa else None):
                    self.setup_templates(timeout)
                self.start_process(process)
                if progress is not None:
                    progress(process.name, "starting")
            self.wait_all_ready(timeout, progress)
        except BaseException:
            self.stop()
            raise
        return self

    def setup_templates(self, timeout: float) -> None:
        """The repo's templates created and approved in the Twilio sandbox, their SIDs in Rasa's environment
        (`WHATSAPP_TEMPLATES`), as an operator does in the Twilio console; kept when the caller set them."""
        if self.env.get("WHATSAPP_TEMPLATES") or not any(p.name == "twilio_api" for p in self.processes):
            return
        self.wait_ready(self.process("twilio_api"), timeout)
        defaults = Settings()
        sids = create_and_approve(self.twilio_url, self.env.get("TWILIO_ACCOUNT_SID") or defaults.twilio_account_sid,
                                  self.env.get("TWILIO_AUTH_TOKEN") or defaults.twilio_auth_token)
        self.env["WHATSAPP_TEMPLATES"] = templates_setting(sids)
        logger.info("templates approved in the Twilio sandbox: %s", self.env["WHATSAPP_TEMPLATES"])

    def wait_all_ready(self, timeout: float, progress: Optional[Progress] = None) -> None:
        """Poll every process until all answer; raises `StackFailed` naming the first that died or hung."""
        deadline = time.monotonic() + timeout
        waiting = list(self.processes)
        while waiting:
            for process in list(waiting):
                self._check_alive(process)
                if self._answers(process):
                    waiting.remove(process)
                    if progress is not None:
                        progress(process.name, "ready")
            if waiting and time.monotonic() > deadline:
                process = waiting[0]
                raise StackFailed(process.name, self.log_path(process),
                                  f"not ready after {timeout:.0f} s at {process.ready_url}")
            if waiting:
                time.sleep(0.3)

    def log_path(self, process: Process) -> Path:
        return self.log_dir / f"{process.name}.log"

    def _check_alive(self, process: Process) -> None:
        if process.popen is not None and process.popen.poll() is not None:
            raise StackFailed(process.name, self.log_path(process), f"exited with {process.popen.returncode}")

    @staticmethod
    def _answers(process: Process) -> bool:
        try:
            return httpx.get(process.ready_url, headers=process.ready_headers, timeout=2).status_code < 500
        except httpx.HTTPError:
            return False

    def start_process(self, process: Process) -> None:
        log = open(self.log_path(process), "ab")
        process.popen = subprocess.Popen(
            process.argv, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        logger.info("started %s (pid %s)", process.name, process.popen.pid)

    def wait_ready(self, process: Process, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive(process)
            if self._answers(process):
                return
            time.sleep(0.3)
        reason = f"not ready after {timeout:.0f} s at {process.ready_url}"
        raise StackFailed(process.name, self.log_path(process), reason)

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one process (the fault tests' `kill -9`)."""
        popen = self.process(name).popen
        if popen and popen.poll() is None:
            os.killpg(popen.pid, sig)
            popen.wait(timeout=30)

    def restart(self, name: str, timeout: float = 240.0) -> None:
        process = self.process(name)
        self.kill(name, signal.SIGTERM)
        self.start_process(process)
        self.wait_ready(process, timeout)

    def stop(self) -> None:
        for process in reversed(self.processes):
            popen = process.popen
            if popen is None or popen.poll() is not None:
                continue
            os.killpg(popen.pid, signal.SIGTERM)
        for process in self.processes:
            popen = process.popen
            if popen is None:
                continue
            try:
                popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait(timeout=10)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

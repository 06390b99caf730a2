"""`python -m rasa_project <command>`: the project's command line.

  run-local   start the whole assistant offline (sandboxes, action server, Rasa) and chat with it
              through the terminal WhatsApp simulator
  shell       `rasa shell` as a known client, with the booking sandbox and action server started
  model       train the model if domain/config/data changed (cached by their hash)
  migrate     create or upgrade the conversation-log schema (idempotent)
  stats       conversation-log analytics as tables (and PNG charts)
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional


def _migrate(_: argparse.Namespace) -> int:
    from rasa_project.conversation_log.database import check_reachable, create_log_engine
    from rasa_project.conversation_log.migrations import migrate
    from rasa_project.settings import get_settings

    settings = get_settings()
    engine = create_log_engine(settings.tracker_db_url, settings)
    check_reachable(engine)
    applied = migrate(engine)
    print("applied: " + ", ".join(applied) if applied else "schema up to date")
    return 0


def _model(_: argparse.Namespace) -> int:
    from rasa_project.devtools.model_cache import ensure_model

    print(ensure_model())
    return 0


def _run_local(args: argparse.Namespace) -> int:
    from rasa_project.devtools.local_stack import LocalStack
    from rasa_project.devtools.model_cache import ensure_model
    from rasa_project.devtools.whatsapp_simulator import main as simulator_main

    stack = LocalStack(model=ensure_model(), with_llm=args.llm)
    print("Starting the assistant (sandboxes, action server, Rasa)… logs in var/logs/", flush=True)
    with stack:
        print(f"Ready. Webhook: {stack.webhook_url}  Twilio sandbox: {stack.twilio_url}", flush=True)
        simulator_argv = ["--webhook", stack.webhook_url, "--sandbox", stack.twilio_url,
                          "--from", args.phone, "--name", args.name]
        return simulator_main(simulator_argv) or 0


def _shell(args: argparse.Namespace) -> int:
    import subprocess
    from pathlib import Path

    from rasa_project.devtools.local_stack import LocalStack
    from rasa_project.devtools.model_cache import ensure_model

    model = ensure_model()
    # rasa shell reads endpoints.yml (action server on 127.0.0.1:5055, no token): match it.
    stack = LocalStack(model=model, only=("booking_api", "actions"), extra_env={"ACTION_SERVER_TOKEN": ""})
    with stack:
        rasa = str(Path(sys.executable).with_name("rasa"))
        return subprocess.call([rasa, "shell", "--model", str(model), "--conversation-id", args.phone])


def _stats(args: argparse.Namespace) -> int:
    from rasa_project.stats_cli import main as stats_main

    return stats_main(args.rest)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rasa_project", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_local = commands.add_parser("run-local", help="run everything offline and chat over 'WhatsApp'")
    run_local.add_argument("--phone", default="+5215512345678", help="the client you write as")
    run_local.add_argument("--name", default="Ana López", help="your WhatsApp profile name")
    run_local.add_argument("--llm", action="store_true", help="phrase replies with the local LLM stand-in")
    run_local.set_defaults(func=_run_local)
    shell = commands.add_parser("shell", help="rasa shell with the booking sandbox and action server")
    shell.add_argument("--phone", default="+5215512345678", help="the client you write as")
    shell.set_defaults(func=_shell)
    commands.add_parser("model", help="train the model when its inputs changed").set_defaults(func=_model)
    commands.add_parser("migrate", help="create/upgrade the conversation-log schema").set_defaults(func=_migrate)
    stats = commands.add_parser("stats", help="conversation-log analytics", add_help=False)
    stats.add_argument("rest", nargs=argparse.REMAINDER)
    stats.set_defaults(func=_stats)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

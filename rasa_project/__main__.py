"""`python -m rasa_project <command>`: the project's command line.

For operators (production):
  migrate     create or upgrade the conversation-log schema (idempotent)
  stats       conversation-log analytics as tables (and PNG charts)
  reminders   the reminder sync and scheduler until SIGTERM (docs/reminders.md); several are safe
  serve       `rasa <args>` (e.g. `serve run --credentials ...`) with the model loaded in seconds
  ingress     the Twilio webhook and status callbacks without a model (docs/deployment.md); several are safe
For developers (rasa_project/devtools, imported only by these commands):
  run-local   start the whole assistant offline (sandboxes, action server, Rasa) and chat with it
              through the terminal WhatsApp simulator
  shell       `rasa shell` as a known client, with the booking sandbox and action server started
  model       train the model if domain/config/data changed (cached by their hash)
  validate    `rasa data validate`, failing on every warning that matters
  nlu-check   intent accuracy on the held-out messages (fails below --min-accuracy)
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional


def _migrate(_: argparse.Namespace) -> int:
    from rasa_project.conversation_log.database import open_checked_engine
    from rasa_project.conversation_log.migrations import migrate
    from rasa_project.settings import get_settings

    settings = get_settings()
    engine = open_checked_engine(settings.tracker_db_url, settings)
    applied = migrate(engine)
    print("applied: " + ", ".join(applied) if applied else "schema up to date")
    return 0


def _reminders(_: argparse.Namespace) -> int:
    from rasa_project.reminders.runner import main as reminders_main
    from rasa_project.settings import get_settings

    return reminders_main(get_settings())


def _model(_: argparse.Namespace) -> int:
    from rasa_project.devtools.model_cache import ensure_model

    print(ensure_model())
    return 0


def _run_local(args: argparse.Namespace) -> int:
    from rasa_project.devtools.demo import run

    return run(args)


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


def _validate(_: argparse.Namespace) -> int:
    from rasa_project.devtools.data_check import main as validate_main

    return validate_main()


def _serve(args: argparse.Namespace) -> int:
    from rasa_project.fast_load import run_rasa

    return run_rasa(list(args.rest))


def _ingress(args: argparse.Namespace) -> int:
    from connectors.whatsapp.ingress import serve
    from rasa_project.settings import get_settings

    settings = get_settings()
    return serve(settings, args.host or settings.ingress_host, args.port or settings.ingress_port)


def _nlu_check(args: argparse.Namespace) -> int:
    from rasa_project.devtools.nlu_check import main as nlu_check_main

    return nlu_check_main(args.rest)


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
    commands.add_parser("reminders", help="reminder sync + scheduler until SIGTERM").set_defaults(func=_reminders)
    stats = commands.add_parser("stats", help="conversation-log analytics", add_help=False)
    stats.add_argument("rest", nargs=argparse.REMAINDER)
    stats.set_defaults(func=_stats)
    commands.add_parser("validate", help="rasa data validate, strict").set_defaults(func=_validate)
    serve = commands.add_parser("serve", help="rasa <args>, the model loaded in seconds (fast_load.py)", add_help=False)
    serve.add_argument("rest", nargs=argparse.REMAINDER)
    serve.set_defaults(func=_serve)
    ingress = commands.add_parser("ingress", help="Twilio's routes without a model (the production layout)")
    ingress.add_argument("--host", default=None, help="bind address (default INGRESS_HOST)")
    ingress.add_argument("--port", type=int, default=None, help="port (default INGRESS_PORT)")
    ingress.set_defaults(func=_ingress)
    nlu_check = commands.add_parser("nlu-check", help="held-out intent accuracy", add_help=False)
    nlu_check.add_argument("rest", nargs=argparse.REMAINDER)
    nlu_check.set_defaults(func=_nlu_check)
    # `stats` and `nlu-check` hand their own options to their own parsers (argparse's REMAINDER cannot
    # start with an option such as --nlu).
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        if not hasattr(args, "rest"):
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.rest = unknown + list(args.rest)
    if args.func not in (_run_local, _serve):  # the chat window logs to var/logs/; Rasa configures its own
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

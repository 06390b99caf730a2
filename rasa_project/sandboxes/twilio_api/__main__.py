"""`python -m rasa_project.sandboxes.twilio_api`: serve the Twilio sandbox with the project's settings."""

from __future__ import annotations

import argparse
import logging
from typing import Sequence

from aiohttp import web

from rasa_project.sandboxes.twilio_api.app import create_app
from rasa_project.sandboxes.twilio_api.window import ENFORCED_BY_DEFAULT
from rasa_project.settings import get_settings


def _delays(raw: str) -> tuple:
    try:
        return tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated seconds, e.g. 0.5,1,1: {exc}") from exc


def main(argv: Sequence[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Local Twilio Messages API sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.sandbox_twilio_port)
    parser.add_argument("--status-delays", type=_delays, default=(0.5, 1.0, 1.0),
                        help="seconds before each status callback: sent, delivered, read (from a Messaging Service: "
                             "queued, sent, delivered) (default 0.5,1,1)")
    parser.add_argument("--window", action=argparse.BooleanOptionalAction, default=ENFORCED_BY_DEFAULT,
                        help="enforce WhatsApp's 24-hour window from the start (POST /_sandbox/window switches it)")
    parser.add_argument("--allow-unknown-content", action="store_true",
                        help="accept sends naming ContentSids never created here, as opaque templates")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings.twilio_account_sid, settings.twilio_auth_token,
                     status_delays=args.status_delays, enforce_window=args.window,
                     allow_unknown_content=args.allow_unknown_content)
    print(f"Twilio sandbox for {settings.twilio_account_sid} on http://{args.host}:{args.port}", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()

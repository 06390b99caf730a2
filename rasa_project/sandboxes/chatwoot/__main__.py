"""`python -m rasa_project.sandboxes.chatwoot`: serve the Chatwoot stand-in on loopback."""

from __future__ import annotations

import argparse
import logging
from typing import Sequence, Tuple

from aiohttp import web

from rasa_project.sandboxes.chatwoot.app import create_app
from rasa_project.sandboxes.chatwoot.webhooks import DEFAULT_EVENTS, EVENTS

DEFAULT_PORT = 8085
DEFAULT_TOKEN = "chatwoot-sandbox-token"


def _delays(raw: str) -> Tuple[float, ...]:
    try:
        delays = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated seconds, e.g. 0.5,1,2: {exc}") from exc
    if any(delay < 0 for delay in delays):
        raise argparse.ArgumentTypeError("retry delays must be non-negative")
    return delays


def _events(raw: str) -> Tuple[str, ...]:
    events = tuple(part.strip() for part in raw.split(",") if part.strip())
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown events {unknown}; known: {', '.join(EVENTS)}")
    return events


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Chatwoot Application API and webhooks stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--account-id", type=int, default=1)
    parser.add_argument("--inbox-id", type=int, default=1, help="the API-channel inbox's id (default 1)")
    parser.add_argument("--api-token", default=DEFAULT_TOKEN, help="the api_access_token clients must send")
    parser.add_argument("--webhook-url", default=None, help="where webhooks go (none are sent without it)")
    parser.add_argument("--webhook-secret", default=None,
                        help="signs webhooks (X-Chatwoot-Signature); without it they go unsigned")
    parser.add_argument("--webhook-events", type=_events, default=DEFAULT_EVENTS,
                        help=f"comma-separated subscriptions (default {','.join(DEFAULT_EVENTS)})")
    parser.add_argument("--retry-delays", type=_delays, default=(0.5, 1.0, 2.0),
                        help="seconds before each webhook retry (default 0.5,1,2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(args.account_id, args.api_token, webhook_url=args.webhook_url,
                     webhook_secret=args.webhook_secret, inbox_id=args.inbox_id,
                     webhook_events=args.webhook_events, retry_delays=args.retry_delays)
    signed = "signed" if args.webhook_secret else "unsigned"
    target = f"webhooks ({signed}) to {args.webhook_url}" if args.webhook_url else "no webhooks"
    print(f"Chatwoot sandbox for account {args.account_id} (inbox {args.inbox_id}) on "
          f"http://{args.host}:{args.port}, {target}", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()

"""`python -m rasa_project.sandboxes.booking_api [--host] [--port] [--db-url] [--reset]`.

Defaults come from settings: the port from `booking_api_url`, the database from
`sandbox_booking_db_url`, the token from `booking_api_token`, so the bot finds it with no configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from typing import List
from urllib.parse import urlsplit

from aiohttp import web

from rasa_project.sandboxes.booking_api.app import STORE, create_app
from rasa_project.settings import get_settings


def parse_args(argv: List[str] | None = None) -> argparse.Namespace:
    settings = get_settings()
    url = urlsplit(settings.booking_api_url)
    parser = argparse.ArgumentParser(prog="python -m rasa_project.sandboxes.booking_api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=url.port or (443 if url.scheme == "https" else 80))
    parser.add_argument("--db-url", default=settings.sandbox_booking_db_url)
    parser.add_argument("--reset", action="store_true", help="wipe and re-seed the database before serving")
    return parser.parse_args(argv)


def main(argv: List[str] | None = None) -> None:
    args = parse_args(argv)
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(args.db_url, settings.booking_api_token, settings.business_timezone)
    if args.reset:
        summary = asyncio.run(asyncio.to_thread(app[STORE].reset))
        print(json.dumps(summary, ensure_ascii=False, indent=2), flush=True)
    web.run_app(app, host=args.host, port=args.port, print=lambda text: print(text, flush=True))


if __name__ == "__main__":
    main()

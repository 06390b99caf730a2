"""`python -m rasa_project.sandboxes.llm_server`: serve the OpenAI-compatible stand-in on loopback."""

from __future__ import annotations

import argparse
import logging
from typing import Sequence

from aiohttp import web

from rasa_project.sandboxes.llm_server.app import create_app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local OpenAI-compatible chat-completions stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every completion (default 0)")
    args = parser.parse_args(argv)
    if args.latency_ms < 0:
        parser.error("--latency-ms must be non-negative")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    base_url = f"http://{args.host}:{args.port}/v1"
    print(
        f"LLM sandbox on {base_url} (set OPENROUTER_BASE_URL={base_url} and any OPENROUTER_API_KEY)",
        flush=True,
    )
    web.run_app(create_app(latency_ms=args.latency_ms), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()

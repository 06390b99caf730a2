"""`python -m rasa_project.sandboxes.transcription`: serve the speech-to-text stand-in on loopback."""

from __future__ import annotations

import argparse
import logging
from typing import Sequence

from aiohttp import web

from rasa_project.sandboxes.transcription.app import create_app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local OpenAI-compatible /audio/transcriptions stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8084)
    parser.add_argument("--api-key", default="", help="the only Bearer key accepted (default: any non-empty key)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every transcription (default 0)")
    args = parser.parse_args(argv)
    if args.latency_ms < 0:
        parser.error("--latency-ms must be non-negative")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    base_url = f"http://{args.host}:{args.port}/v1"
    print(
        f"Transcription sandbox on {base_url} (set TRANSCRIPTION_API_URL={base_url} and TRANSCRIPTION_API_KEY)",
        flush=True,
    )
    app = create_app(api_key=args.api_key or None, latency_ms=args.latency_ms)
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()

"""`python -m actions [--host H] [--port P]`: the action server with token check and /metrics."""

import argparse
import logging

from actions.server import serve
from rasa_project.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the assistant's action server")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(get_settings(), args.host, args.port)


if __name__ == "__main__":
    main()

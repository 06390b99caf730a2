"""`python -m rasa_project stats`: the analytics views as tables, optionally as PNG charts.

    python -m rasa_project stats [--report conversations|intents|errors|users|all]
                                 [--sender ID] [--threshold 0.45] [--png DIR] [--db URL]

Reads the conversation log at settings.tracker_db_url (or --db); runs pending migrations first so
the views exist. Exit status: 0, or 2 when the database is unreachable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from sqlalchemy.engine import Engine
from tabulate import tabulate

from rasa_project.conversation_log import analytics
from rasa_project.conversation_log.database import DatabaseUnavailable, open_checked_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.settings import get_settings

TITLES = {
    "conversations": "Conversaciones por día",
    "intents": "Intenciones",
    "errors": "Errores por día",
    "users": "Usuarios",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rasa_project stats", description=__doc__.splitlines()[0])
    parser.add_argument("--report", choices=[*analytics.REPORTS, "all"], default="all")
    parser.add_argument("--sender", help="only this sender (users report)")
    parser.add_argument("--threshold", type=float, help="fallback threshold for the intents report")
    parser.add_argument("--png", type=Path, metavar="DIR", help="also write messages_per_day.png and intents.png")
    parser.add_argument("--db", help="database URL (default: settings.tracker_db_url)")
    return parser


def _collect(engine: Engine, names: List[str], args: argparse.Namespace) -> Dict[str, List[dict]]:
    reports = {}
    for name in names:
        if name == "users":
            reports[name] = analytics.user_conversation_stats(engine, args.sender)
        elif name == "intents":
            reports[name] = analytics.intent_stats(engine, args.threshold)
        else:
            reports[name] = analytics.REPORTS[name](engine)
    return reports


def write_charts(reports: Dict[str, List[dict]], directory: Path) -> List[Path]:
    """Bar charts of messages per day (in/out) and messages per intent; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    days = reports.get("conversations") or []
    if days:
        fig, ax = plt.subplots(figsize=(8, 4))
        x = range(len(days))
        ax.bar([i - 0.2 for i in x], [d["messages_in"] for d in days], width=0.4, label="recibidos")
        ax.bar([i + 0.2 for i in x], [d["messages_out"] for d in days], width=0.4, label="enviados")
        ax.set_xticks(list(x), [d["day"] for d in days], rotation=45, ha="right")
        ax.set_title("Mensajes por día")
        ax.legend()
        fig.tight_layout()
        written.append(directory / "messages_per_day.png")
        fig.savefig(written[-1])
        plt.close(fig)
    intents = reports.get("intents") or []
    if intents:
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.barh([r["intent"] for r in intents][::-1], [r["messages"] for r in intents][::-1])
        ax.set_title("Mensajes por intención")
        fig.tight_layout()
        written.append(directory / "intents.png")
        fig.savefig(written[-1])
        plt.close(fig)
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    try:
        engine = open_checked_engine(args.db or settings.tracker_db_url, settings)
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        migrate(engine)
        names = list(analytics.REPORTS) if args.report == "all" else [args.report]
        if args.png:
            names = list(dict.fromkeys(names + ["conversations", "intents"]))
        reports = _collect(engine, names, args)
    finally:
        engine.dispose()
    for name in names if args.report == "all" else [args.report]:
        print(f"\n{TITLES[name]}")
        rows = reports[name]
        print(tabulate(rows, headers="keys", floatfmt=".3f") if rows else "(sin datos)")
    if args.png:
        for path in write_charts(reports, args.png):
            print(f"chart: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

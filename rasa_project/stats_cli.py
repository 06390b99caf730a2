"""`python -m rasa_project stats`: the analytics views as tables, optionally as PNG charts.

    python -m rasa_project stats [--report NAME|all] [--sender ID] [--threshold 0.45] [--png DIR]
                                 [--sync-purchases] [--db URL]

Reports: conversations, intents, errors, users (m0005); conversions, revenue, funnel, active,
satisfaction, containment (m0007, the owner's figures). `--sync-purchases` first asks the booking API
what became of every payment link not yet paid or expired (table `purchase_outcomes`); given alone it
prints only what the sync did, so cron can run it. Reads the conversation log at
settings.tracker_db_url (or --db); runs pending migrations first so the views exist. Exit status: 0;
1 when the sync could not read some clients' purchases (the API failed; run it again); 2 when the
database is unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from sqlalchemy.engine import Engine
from tabulate import tabulate

from rasa_project.booking_api import BookingApiClient
from rasa_project.charts import CHART_REPORTS, write_charts
from rasa_project.conversation_log import analytics, business_figures
from rasa_project.conversation_log.database import DatabaseUnavailable, open_checked_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.conversation_log.purchase_outcomes import SyncResult, sync_purchase_outcomes
from rasa_project.settings import Settings, get_settings

REPORTS: Dict[str, Callable[[Engine], List[dict]]] = {**analytics.REPORTS, **business_figures.REPORTS}
TITLES = {
    "conversations": "Conversaciones por día",
    "intents": "Intenciones",
    "errors": "Errores por día",
    "users": "Usuarios",
    "conversions": "Conversiones por día (reservas, cambios, pagos)",
    "revenue": "Ingresos por día y moneda (compras pagadas)",
    "funnel": "Embudo de reservas por día",
    "active": "Clientes activos por día, semana y mes",
    "satisfaction": "Satisfacción por día e intención",
    "containment": "Conversaciones resueltas sin ayuda por día",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rasa_project stats", description=__doc__.splitlines()[0])
    parser.add_argument("--report", choices=[*REPORTS, "all"],
                        help="one report, or all (the default unless --sync-purchases is given alone)")
    parser.add_argument("--sender", help="only this sender (users report)")
    parser.add_argument("--threshold", type=float, help="fallback threshold for the intents report")
    parser.add_argument("--png", type=Path, metavar="DIR", help="also write the charts (PNG) into DIR")
    parser.add_argument("--sync-purchases", action="store_true",
                        help="first record what the booking API says of each open payment link")
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
            reports[name] = REPORTS[name](engine)
    return reports


async def _sync(engine: Engine, settings: Settings) -> SyncResult:
    async with BookingApiClient.from_settings(settings) as api:
        return await sync_purchase_outcomes(engine, api)


def _sync_summary(result: SyncResult) -> str:
    text = (f"Pagos sincronizados: {result.asked} consultados, {result.recorded} registrados, "
            f"{result.paid} pagados")
    if result.missing:
        text += f"; la API no lista {', '.join(result.missing)}"
    if result.skipped:
        text += f"; sin cliente en la API: {', '.join(result.skipped)}"
    return text


def _table(rows: List[dict]) -> str:
    """Money with cents, every other float with three decimals."""
    formats = [".2f" if column.startswith("amount") else ".3f" for column in rows[0]]
    return tabulate(rows, headers="keys", floatfmt=formats)


def main(argv: Optional[Sequence[str]] = None, settings: Optional[Settings] = None) -> int:
    args = _parser().parse_args(argv)
    settings = settings or get_settings()
    try:
        engine = open_checked_engine(args.db or settings.tracker_db_url, settings)
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = args.report or (None if args.sync_purchases and not args.png else "all")
    printed = [] if report is None else list(REPORTS) if report == "all" else [report]
    names = list(dict.fromkeys(printed + (list(CHART_REPORTS) if args.png else [])))
    sync: Optional[SyncResult] = None
    try:
        migrate(engine)
        if args.sync_purchases:
            sync = asyncio.run(_sync(engine, settings))
        reports = _collect(engine, names, args)
    finally:
        engine.dispose()
    if sync is not None:
        print(_sync_summary(sync))
        if sync.failed:
            print(f"error: the booking API did not answer for {', '.join(sync.failed)}", file=sys.stderr)
    for name in printed:
        print(f"\n{TITLES[name]}")
        rows = reports[name]
        print(_table(rows) if rows else "(sin datos)")
    if args.png:
        for path in write_charts(reports, args.png):
            print(f"chart: {path}")
    return 1 if sync is not None and sync.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

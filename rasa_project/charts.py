"""PNG charts of the stats reports (`python -m rasa_project stats --png DIR`), drawn with matplotlib's Agg.

Charts take the reports' rows exactly as the CLI prints them (`analytics`, `business_figures`), so a
chart never computes a figure the tables do not show; each is skipped when its report has no rows.
Agg draws without a display (servers, CI), and matplotlib is imported only when a chart is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

Rows = List[Dict[str, Any]]

# The reports the charts read; the CLI collects them whenever --png is given.
CHART_REPORTS = ("conversations", "intents", "active", "conversions", "funnel", "satisfaction")

CONVERSION_BARS = (
    ("bookings", "reservas"),
    ("reschedules", "reprogramadas"),
    ("cancellations", "canceladas"),
    ("links_sent", "links de pago"),
    ("purchases_paid", "compras pagadas"),
)
FUNNEL_STAGES = (("started", "piden reservar"), ("offered", "horario ofrecido"),
                 ("confirmed", "confirmado"), ("booked", "reservado"))


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _counts(ax: Any) -> None:
    """Whole numbers on the count axis (no "2.5 bookings")."""
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    _plt().close(fig)
    return path


def _grouped_bars(ax: Any, labels: Sequence[str], series: Sequence[tuple]) -> None:
    """Side-by-side bars per label; `series` is (legend, values)."""
    width = 0.8 / max(1, len(series))
    for k, (legend, values) in enumerate(series):
        offset = (k - (len(series) - 1) / 2) * width
        ax.bar([i + offset for i in range(len(labels))], values, width=width, label=legend)
    ax.set_xticks(list(range(len(labels))), list(labels), rotation=45, ha="right")
    ax.legend()


def messages_per_day(reports: Dict[str, Rows], path: Path) -> Optional[Path]:
    """Messages in/out per day (bars) and active clients per day (line)."""
    days = reports.get("conversations") or []
    if not days:
        return None
    plt = _plt()
    active = {r["period_start"]: r["clients"] for r in reports.get("active") or [] if r["period"] == "day"}
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [d["day"] for d in days]
    _grouped_bars(ax, labels, [("recibidos", [d["messages_in"] for d in days]),
                               ("enviados", [d["messages_out"] for d in days])])
    if active:
        ax.plot(range(len(labels)), [active.get(day, 0) for day in labels], "o-", color="black",
                label="clientes activos")
        ax.legend()
    _counts(ax)
    ax.set_title("Mensajes y clientes activos por día")
    return _save(fig, path)


def intents(reports: Dict[str, Rows], path: Path) -> Optional[Path]:
    rows = reports.get("intents") or []
    if not rows:
        return None
    fig, ax = _plt().subplots(figsize=(8, 4))
    ax.barh([r["intent"] for r in rows][::-1], [r["messages"] for r in rows][::-1])
    ax.set_title("Mensajes por intención")
    return _save(fig, path)


def conversions_per_day(reports: Dict[str, Rows], path: Path) -> Optional[Path]:
    """What the bot did for the business each day: bookings, changes, payment links, purchases paid."""
    days = reports.get("conversions") or []
    if not days:
        return None
    fig, ax = _plt().subplots(figsize=(9, 4))
    _grouped_bars(ax, [d["day"] for d in days],
                  [(legend, [d[column] for d in days]) for column, legend in CONVERSION_BARS])
    _counts(ax)
    ax.set_title("Conversiones por día")
    return _save(fig, path)


def booking_funnel(reports: Dict[str, Rows], path: Path) -> Optional[Path]:
    """The four stages summed over the days shown, each labelled with its share of the first."""
    days = reports.get("funnel") or []
    if not days:
        return None
    totals = [sum(int(d[column]) for d in days) for column, _ in FUNNEL_STAGES]
    fig, ax = _plt().subplots(figsize=(7, 4))
    bars = ax.bar([label for _, label in FUNNEL_STAGES], totals, color="tab:green")
    for bar, total in zip(bars, totals, strict=True):
        share = f"{total} ({100 * total / totals[0]:.0f} %)" if totals[0] else str(total)
        ax.annotate(share, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom")
    _counts(ax)
    ax.set_title(f"Embudo de reservas ({days[0]['day']} a {days[-1]['day']})")
    return _save(fig, path)


def ratings(reports: Dict[str, Rows], path: Path) -> Optional[Path]:
    """Average rating per intent rated over the days shown, with how many ratings it rests on."""
    rows = [r for r in reports.get("satisfaction") or [] if r["ratings"]]
    if not rows:
        return None
    by_intent: Dict[str, List[float]] = {}
    for r in rows:  # the days' averages weighted by their ratings
        total = by_intent.setdefault(str(r["intent"]), [0.0, 0.0])
        total[0] += float(r["avg_rating"]) * int(r["ratings"])
        total[1] += int(r["ratings"])
    names = sorted(by_intent)
    averages = [by_intent[n][0] / by_intent[n][1] for n in names]
    fig, ax = _plt().subplots(figsize=(7, 4))
    bars = ax.barh(names, averages, color="tab:orange")
    for bar, name, average in zip(bars, names, averages, strict=True):
        ax.annotate(f"{average:.1f} (n={int(by_intent[name][1])})",
                    (bar.get_width(), bar.get_y() + bar.get_height() / 2), va="center")
    ax.set_xlim(0, 5.9)
    ax.set_title("Valoración media (1–5) por intención")
    return _save(fig, path)


CHARTS: Dict[str, Callable[[Dict[str, Rows], Path], Optional[Path]]] = {
    "messages_per_day.png": messages_per_day,
    "intents.png": intents,
    "conversions_per_day.png": conversions_per_day,
    "booking_funnel.png": booking_funnel,
    "ratings.png": ratings,
}


def write_charts(reports: Dict[str, Rows], directory: Path) -> List[Path]:
    """Every chart whose report has rows, into `directory`; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [draw(reports, directory / name) for name, draw in CHARTS.items()]
    return [path for path in written if path is not None]

"""What the monitoring files under docs/monitoring/ name, read the way the checks need it: the metric
names in the dashboard's PromQL and the alert rules, the SQL of the Postgres panels (Grafana's macros
expanded), the views manifest, and a Prometheus text exposition's metric families.

Used by tests/monitoring (the files on their own) and tests/e2e/test_monitoring.py (against the running
stack and a real Prometheus)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Set, Tuple

import sqlalchemy as sa
import yaml

from rasa_project.settings import PROJECT_ROOT

MONITORING = PROJECT_ROOT / "docs" / "monitoring"
PROMETHEUS_DIR = MONITORING / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST = PROMETHEUS_DIR / "alerts.test.yml"
BUSINESS_HOURS_TEST = PROMETHEUS_DIR / "business_hours.test.yml"
GRAFANA = MONITORING / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "whatsapp-assistant.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "assistant.yml"
DASHBOARD_PROVIDER = GRAFANA / "provisioning" / "dashboards" / "assistant.yml"
VIEWS_MANIFEST = GRAFANA / "postgres-views.yml"

# Series Prometheus makes itself for every target, not exposed by our processes.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"}
SERIES_SUFFIXES = ("_bucket", "_sum", "_count", "_created")
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
                   "unless", "offset", "inf", "nan"}

# ------------------------------------------------------------------ files


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_dashboard() -> Dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def dashboard_panels(dashboard: Optional[Mapping[str, Any]] = None) -> List[Dict[str, Any]]:
    """Every panel but rows, including those nested in collapsed rows."""
    found: List[Dict[str, Any]] = []
    for panel in (dashboard or load_dashboard())["panels"]:
        if panel.get("type") == "row":
            found.extend(panel.get("panels") or [])
        else:
            found.append(panel)
    return found


def datasource_uids() -> Dict[str, str]:
    """uid → type of the provisioned data sources."""
    return {ds["uid"]: ds["type"] for ds in load_yaml(DATASOURCES)["datasources"]}


def views_manifest() -> Dict[str, List[str]]:
    return {view: list(columns) for view, columns in load_yaml(VIEWS_MANIFEST).items()}


def alert_rules() -> List[Dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def recorded_names() -> Set[str]:
    return {rule["record"] for rule in alert_rules() if "record" in rule}


# ------------------------------------------------------------------ PromQL


def prometheus_exprs() -> List[Tuple[str, str]]:
    """(where, expression) for every PromQL the dashboard and the rules hold."""
    exprs = [(f"rule {rule.get('alert') or rule.get('record')}", rule["expr"]) for rule in alert_rules()]
    for panel in dashboard_panels():
        for target in panel.get("targets") or []:
            if "expr" in target:
                exprs.append((f"panel {panel['title']!r} {target['refId']}", target["expr"]))
    return exprs


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_GRAFANA_VARIABLES = re.compile(r"\$\{?\w+\}?")
_NAMES = re.compile(r"(?<![\w.:])[a-zA-Z_:][\w:]*")


def metric_names(expr: str) -> Set[str]:
    """The metric (series) names a PromQL expression selects: not functions, keywords or label names."""
    text = _STRINGS.sub('""', expr)
    text = _GRAFANA_VARIABLES.sub("1m", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _LABEL_LISTS.sub(" ", text)
    names = set()
    for match in _NAMES.finditer(text):
        rest = text[match.end():].lstrip()
        if rest.startswith("(") or match.group().lower() in PROMQL_KEYWORDS:
            continue
        names.add(match.group())
    return names


def grafana_promql(expr: str) -> str:
    """A dashboard expression as Prometheus would get it from Grafana (its interval variables filled)."""
    return (expr.replace("$__rate_interval", "1m").replace("$__range", "5m")
            .replace("$__interval", "15s"))


# ------------------------------------------------------------------ exposition


_META = re.compile(r"^# (HELP|TYPE) ([a-zA-Z_:][\w:]*)(?: (.*))?$")


def exposition_families(text: str) -> Dict[str, str]:
    """Metric family → type, from the `# TYPE` lines of a text exposition (there even before a labelled
    counter's first increment); `# HELP` lines without a TYPE count as `untyped`."""
    families: Dict[str, str] = {}
    for line in text.splitlines():
        match = _META.match(line)
        if match is None:
            continue
        kind, name, rest = match.groups()
        if kind == "TYPE":
            families[name] = (rest or "untyped").strip()
        else:
            families.setdefault(name, "untyped")
    return families


def is_exposed(series: str, families: Mapping[str, str]) -> bool:
    """A series name belongs to a family: itself (counters are declared with `_total`, gauges), or a
    histogram's/summary's `_bucket`/`_sum`/`_count`/`_created`."""
    if series in families:
        return True
    for suffix in SERIES_SUFFIXES:
        if series.endswith(suffix) and families.get(series[: -len(suffix)]) in ("histogram", "summary"):
            return True
    return False


def missing_metrics(families: Mapping[str, str]) -> Dict[str, List[str]]:
    """Metric names the dashboard or a rule names that `families` does not expose, by where they are."""
    own = PROMETHEUS_OWN | recorded_names()
    missing: Dict[str, List[str]] = {}
    for where, expr in prometheus_exprs():
        for name in sorted(metric_names(expr) - own):
            if not is_exposed(name, families):
                missing.setdefault(name, []).append(where)
    return missing


# ------------------------------------------------------------------ SQL


def sql_targets() -> Iterator[Tuple[str, str]]:
    """(panel title + refId, rawSql) of every Postgres query of the dashboard."""
    for panel in dashboard_panels():
        for target in panel.get("targets") or []:
            if "rawSql" in target:
                yield f"{panel['title']!r} {target['refId']}", target["rawSql"]


_TIME_FROM, _TIME_TO = "'2000-01-01T00:00:00Z'", "'2100-01-01T00:00:00Z'"
_MACROS = [
    (re.compile(r"\$__timeFilter\(([^()]+)\)"), rf"\1 BETWEEN {_TIME_FROM} AND {_TIME_TO}"),
    (re.compile(r"\$__timeFrom\(\)"), _TIME_FROM),
    (re.compile(r"\$__timeTo\(\)"), _TIME_TO),
    (re.compile(r"\$__time\(([^()]+)\)"), r'\1 AS "time"'),
]


def expand_grafana_sql(sql: str) -> str:
    """Grafana's Postgres macros as Grafana expands them (a wide time range); any other `$` is an error."""
    for pattern, replacement in _MACROS:
        sql = pattern.sub(replacement, sql)
    if "$" in sql:
        raise ValueError(f"unexpanded Grafana variable or macro in: {sql}")
    return sql


_FROM = re.compile(r"\b(?:FROM|JOIN)\s+([a-zA-Z_]\w*)", re.IGNORECASE)
_WORDS = re.compile(r"[a-zA-Z_]\w*")


def sql_views(sql: str) -> Set[str]:
    return {name.lower() for name in _FROM.findall(sql)}


def sql_words(sql: str) -> Set[str]:
    return {word.lower() for word in _WORDS.findall(_STRINGS.sub("''", sql))}


def view_columns(engine: sa.engine.Engine, views: List[str]) -> Dict[str, Set[str]]:
    """The columns each of `views` has in `engine`'s database (empty set: no such view)."""
    inspector = sa.inspect(engine)
    present = set(inspector.get_view_names())
    return {view: ({c["name"] for c in inspector.get_columns(view)} if view in present else set())
            for view in views}


def check_views_against(engine: sa.engine.Engine) -> List[str]:
    """What is wrong between the manifest, the panels' SQL and the views in `engine`'s database."""
    manifest = views_manifest()
    problems: List[str] = []
    columns = view_columns(engine, sorted(manifest))
    for view, wanted in manifest.items():
        if not columns[view]:
            problems.append(f"view {view} does not exist")
            continue
        problems += [f"{view}.{column} does not exist" for column in wanted if column not in columns[view]]
    if not problems:  # each listed column read through the database, as a panel would
        with engine.connect() as conn:
            for view, wanted in manifest.items():
                conn.execute(sa.text(f"SELECT {', '.join(wanted)} FROM {view} LIMIT 0"))
    for where, sql in sql_targets():
        unknown = sql_views(sql) - set(manifest)
        problems += [f"panel {where} reads {view}, missing in {VIEWS_MANIFEST.name}" for view in sorted(unknown)]
        for view in sql_views(sql) & set(columns):
            undeclared = (sql_words(sql) & columns[view]) - set(manifest[view])
            problems += [f"panel {where} reads {view}.{column}, missing in {VIEWS_MANIFEST.name}"
                         for column in sorted(undeclared)]
        try:  # the query itself, as Grafana would send it (one connection each: a failure aborts it)
            with engine.connect() as conn:
                conn.execute(sa.text(expand_grafana_sql(sql).replace(":", r"\:"))).fetchall()
        except sa.exc.DBAPIError as exc:
            problems.append(f"panel {where}: {type(exc.orig).__name__}: {str(exc.orig).splitlines()[0]}")
    return problems


# ------------------------------------------------------------------ promtool


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: `apt-get install prometheus` (.ci/run installs it)"
    return path


def run_promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120)

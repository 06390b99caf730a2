"""The monitoring files on their own: the Grafana dashboard and its provisioning, the views manifest
against a freshly migrated log database, the metric names against what the processes declare, and
promtool on the Prometheus config, the alert rules and their unit tests.

The same checks against the running stack (its /metrics endpoints, its log database) and a real
Prometheus firing an alert are in tests/e2e/test_monitoring.py."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY, generate_latest

import rasa_project.metrics  # noqa: F401  (declares every metric in the default registry)
from rasa_project.conversation_log.migrations import migrate
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.settings import PROJECT_ROOT, Settings
from tests.monitoring import support
from tests.monitoring.support import (
    ALERTS,
    ALERTS_TEST,
    BUSINESS_HOURS_TEST,
    DASHBOARD,
    DASHBOARD_PROVIDER,
    PROMETHEUS_CONFIG,
    alert_rules,
    dashboard_panels,
    datasource_uids,
    exposition_families,
    is_exposed,
    load_dashboard,
    load_yaml,
    metric_names,
    missing_metrics,
    run_promtool,
    sql_targets,
    sql_views,
    sql_words,
    views_manifest,
)

DOC = PROJECT_ROOT / "docs" / "monitoring.md"
PANEL_TYPES = {"timeseries", "stat", "table", "bargauge"}


# ------------------------------------------------------------------ dashboard and provisioning


def test_dashboard_is_valid_json_with_a_stable_uid_and_unique_panel_ids() -> None:
    dashboard = load_dashboard()
    assert dashboard["uid"] == "whatsapp-assistant" and dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    rows = [panel for panel in dashboard["panels"] if panel["type"] == "row"]
    ids = [panel["id"] for panel in rows + dashboard_panels(dashboard)]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for panel in dashboard_panels(dashboard):
        pos = panel["gridPos"]
        assert pos["w"] >= 1 and pos["h"] >= 1 and pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]


def test_every_panel_has_a_provisioned_datasource_and_queries_it() -> None:
    provisioned = datasource_uids()
    assert sorted(provisioned.values()) == ["postgres", "prometheus"]
    panels = dashboard_panels()
    assert panels
    for panel in panels:
        title = panel["title"]
        assert panel["type"] in PANEL_TYPES, title
        source = panel.get("datasource")
        assert isinstance(source, dict) and source.get("uid") in provisioned, f"{title}: datasource {source}"
        assert source["type"] == provisioned[source["uid"]], title
        assert panel["targets"], f"{title}: no query"
        for target in panel["targets"]:
            assert target.get("datasource", source) == source, f"{title}: a target on another datasource"
            if source["type"] == "prometheus":
                assert target["expr"].strip(), title
            else:
                assert target["rawSql"].strip() and target["format"] in ("time_series", "table"), title
                if target["format"] == "time_series":
                    assert '"time"' in target["rawSql"], f"{title}: a time series needs a time column"
        assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"]), title


def test_dashboard_covers_each_live_metric_and_each_business_view() -> None:
    named = set().union(*(metric_names(expr) for expr in _dashboard_exprs()))
    for metric in ("assistant_turns_total", "assistant_turn_seconds_bucket", "whatsapp_inbox_backlog",
                   "whatsapp_outbound_messages_total", "llm_phrasing_calls_total", "booking_api_calls_total",
                   "assistant_action_api_errors_total", "whatsapp_voice_notes_total",
                   # what the bot says first and the helpdesk (reminders process, Rasa, action server)
                   "reminders_claimed_total", "reminders_sent_total", "reminders_skipped_total",
                   "reminders_failed_total", "reminder_send_delay_seconds_bucket", "assistant_waitlist_total",
                   "whatsapp_outside_window_messages_total", "whatsapp_undeliverable_marks_total",
                   "assistant_helpdesk_mirror_total", "assistant_helpdesk_outbox_backlog"):
        assert metric in named, metric
    read = set().union(*(sql_views(sql) for _, sql in sql_targets()))
    assert read == set(views_manifest())
    for view in ("conversion_stats", "booking_funnel", "active_users", "satisfaction_stats", "containment",
                 "user_conversation_stats", "error_stats", "intent_stats", "conversation_stats", "turn_latency"):
        assert view in read, view


def _dashboard_exprs() -> Iterator[str]:
    for panel in dashboard_panels():
        for target in panel["targets"]:
            if "expr" in target:
                yield target["expr"]


def test_provisioning_points_at_the_dashboard_folder_and_both_sources() -> None:
    datasources = load_yaml(support.DATASOURCES)
    assert datasources["apiVersion"] == 1
    by_type = {ds["type"]: ds for ds in datasources["datasources"]}
    assert by_type["prometheus"]["url"] and by_type["prometheus"]["access"] == "proxy"
    postgres = by_type["postgres"]
    assert postgres["jsonData"]["database"] and postgres["user"] and postgres["secureJsonData"]["password"]
    providers = load_yaml(DASHBOARD_PROVIDER)
    assert providers["apiVersion"] == 1
    [provider] = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    assert DASHBOARD.parent.name == "dashboards"


# ------------------------------------------------------------------ views


def test_manifest_lists_only_columns_a_panel_reads() -> None:
    for view, columns in views_manifest().items():
        words = set().union(*(sql_words(sql) for _, sql in sql_targets() if view in sql_views(sql)))
        unused = [column for column in columns if column not in words]
        assert unused == [], f"{view}: listed but read by no panel"


@pytest.fixture(scope="module")
def migrated_log() -> Iterator[sa.engine.Engine]:
    with throwaway_database("t_monitoring") as url:
        engine = sa.create_engine(url, future=True)  # as the log's own engine (database.py)
        migrate(engine)
        yield engine
        engine.dispose()


def test_every_view_and_column_a_panel_names_exists_and_every_query_runs(migrated_log: sa.engine.Engine) -> None:
    assert support.check_views_against(migrated_log) == []


def test_the_view_check_finds_a_missing_column_and_a_broken_query(
    migrated_log: sa.engine.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = views_manifest()
    manifest["containment"] = manifest["containment"] + ["no_such_column"]
    monkeypatch.setattr(support, "views_manifest", lambda: manifest)
    assert support.check_views_against(migrated_log) == ["containment.no_such_column does not exist"]
    broken = [("'x' A", "SELECT day, share FROM containment WHERE $__timeFilter(day)")]
    monkeypatch.setattr(support, "views_manifest", views_manifest)
    monkeypatch.setattr(support, "sql_targets", lambda: iter(broken))
    [problem] = support.check_views_against(migrated_log)
    assert problem.startswith("panel 'x' A: UndefinedColumn")


# ------------------------------------------------------------------ metric names


def test_metric_names_are_read_from_promql() -> None:
    expr = ('histogram_quantile(0.95, sum by (le, job) (rate(a_seconds_bucket{job=~"x|y", le!="1"}[5m]))) > 8 '
            'and on () (sum(increase(b_total{outcome="accepted"}[$__range])) or vector(0)) < 1 '
            "and min_over_time(c:ratio[30m] offset 5m) == bool 1")
    assert metric_names(expr) == {"a_seconds_bucket", "b_total", "c:ratio"}
    families = {"a_seconds": "histogram", "b_total": "counter", "g": "gauge"}
    assert is_exposed("a_seconds_bucket", families) and is_exposed("b_total", families)
    assert not is_exposed("g_bucket", families) and not is_exposed("b", families)


def test_every_metric_the_dashboard_or_a_rule_names_is_declared() -> None:
    """In-process (what both processes import); the e2e suite scrapes the running endpoints too."""
    families = exposition_families(generate_latest(REGISTRY).decode())
    assert missing_metrics(families) == {}
    assert missing_metrics({}) != {}  # the check sees names at all


# ------------------------------------------------------------------ Prometheus files and promtool


def test_promtool_check_rules() -> None:
    result = run_promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_config(tmp_path: Path) -> None:
    # Full check (files it names must exist): the config and its rules as deployed, with a token file.
    for path in (PROMETHEUS_CONFIG, ALERTS):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "action_server_token").write_text("token\n", encoding="utf-8")
    result = run_promtool("check", "config", str(tmp_path / PROMETHEUS_CONFIG.name), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "rules found" in result.stdout


def test_promtool_unit_tests_of_the_alert_rules() -> None:
    result = run_promtool("test", "rules", str(ALERTS_TEST), str(BUSINESS_HOURS_TEST))
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_every_process_that_counts() -> None:
    """Rasa, the ingress (the webhook's own figures), the reminders process (reminders and waitlist, on
    REMINDERS_METRICS_PORT) and the action server; the down alert covers each of them."""
    jobs = {job["job_name"]: job for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]}
    assert jobs["assistant-rasa"]["metrics_path"] == "/webhooks/whatsapp/metrics"
    assert jobs["assistant-ingress"]["metrics_path"] == "/webhooks/whatsapp/metrics"
    assert jobs["assistant-ingress"]["static_configs"][0]["targets"] == [f"127.0.0.1:{Settings().ingress_port}"]
    assert jobs["assistant-reminders"]["metrics_path"] == "/metrics"
    assert jobs["assistant-reminders"]["static_configs"][0]["targets"] == [
        f"127.0.0.1:{Settings().reminders_metrics_port}"]
    [down] = [rule for rule in alert_rules() if rule.get("alert") == "AssistantTargetDown"]
    assert all(job in down["expr"] for job in jobs), down["expr"]
    assert jobs["assistant-actions"]["metrics_path"] == "/metrics"
    assert jobs["assistant-actions"]["authorization"]["credentials_file"]  # every path but /health needs the token
    assert load_yaml(PROMETHEUS_CONFIG)["rule_files"] == [ALERTS.name]


def test_every_alert_has_severity_for_summaries_runbook_and_a_unit_test() -> None:
    doc = DOC.read_text(encoding="utf-8")
    anchors = {_slug(line.lstrip("#")) for line in doc.splitlines() if line.startswith("#")}
    tested = {case["alertname"] for test in load_yaml(ALERTS_TEST)["tests"]
              for case in test.get("alert_rule_test") or []}
    alerts = [rule for rule in alert_rules() if "alert" in rule]
    assert {a["alert"] for a in alerts} >= {"AssistantTurnErrorRate", "AssistantInboxBacklog", "AssistantSendFailures",
                                            "AssistantLLMFallbackShare", "AssistantTurnLatencyP95",
                                            "AssistantNoInboundMessages"}
    for alert in alerts:
        name = alert["alert"]
        assert alert["labels"]["severity"] in ("critical", "warning"), name
        assert re.fullmatch(r"\d+[smh]", alert["for"]), name
        assert alert["annotations"]["summary"] and alert["annotations"]["summary_es"], name
        assert alert["annotations"]["runbook"] == f"docs/monitoring.md#{name.lower()}", name
        assert name.lower() in anchors, f"{name}: no section in docs/monitoring.md"
        assert name in tested, f"{name}: no case in {ALERTS_TEST.name}"


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")

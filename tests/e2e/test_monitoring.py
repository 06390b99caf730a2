"""The monitoring files against the running assistant: every metric the dashboard and the alert rules
name is exposed at the endpoints prometheus.yml scrapes, every view and column a panel reads exists in
the stack's conversation log, and a real Prometheus (the Debian binary, on a free loopback port, with
docs/monitoring/prometheus/ turned into a 1-second test copy) scrapes both processes, evaluates every
rule, and fires AssistantSendFailures when Twilio fails every message.

The test copy changes only intervals, targets and `for:` (to 0 s); every expression is the real one."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
import yaml

from rasa_project.devtools.local_stack import LocalStack, free_port
from rasa_project.settings import Settings
from tests.e2e.support import WhatsAppClient
from tests.monitoring.support import (
    ALERTS,
    PROMETHEUS_CONFIG,
    alert_rules,
    check_views_against,
    exposition_families,
    grafana_promql,
    load_yaml,
    missing_metrics,
    prometheus_exprs,
)

pytestmark = pytest.mark.e2e

ALERT_TIMEOUT = 90.0


def job_port(stack: LocalStack, job: str) -> Optional[int]:
    """The stack's port for a scrape job; None for a process it does not run, whose job prometheus.yml says
    to drop (no ingress in the single-process layout; no reminders process with REMINDERS_IN_PROCESS=true)."""
    ports = {"assistant-rasa": stack.ports.rasa, "assistant-actions": stack.ports.actions}
    if stack.with_ingress:
        ports["assistant-ingress"] = stack.ports.ingress
    return ports.get(job)


def scrape_jobs(stack: LocalStack) -> List[Dict[str, Any]]:
    """The shipped scrape jobs of the processes this stack runs (Rasa and the action server at least)."""
    jobs = [job for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"] if job_port(stack, job["job_name"])]
    assert {"assistant-rasa", "assistant-actions"} <= {job["job_name"] for job in jobs}
    return jobs


def action_token(stack: LocalStack) -> str:
    return stack.env["ACTION_SERVER_TOKEN"]


# ------------------------------------------------------------------ names against the running stack


async def test_every_metric_named_is_exposed_where_prometheus_scrapes(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    families: Dict[str, str] = {}
    for job in scrape_jobs(stack):
        url = f"http://127.0.0.1:{job_port(stack, job['job_name'])}{job['metrics_path']}"
        headers = {"Authorization": f"Bearer {action_token(stack)}"} if "authorization" in job else {}
        response = await http.get(url, headers=headers)
        assert response.status_code == 200, f"{job['job_name']}: {url} answered {response.status_code}"
        exposed = exposition_families(response.text)
        assert "assistant_turns_total" in exposed, job["job_name"]
        families.update(exposed)
        if headers:  # the credentials_file is needed: without the token the action server refuses
            assert (await http.get(url)).status_code == 401
    assert missing_metrics(families) == {}


def test_every_view_and_column_a_panel_reads_exists_in_the_stack_log(
    stack: LocalStack, log_engine: sa.engine.Engine
) -> None:
    assert check_views_against(log_engine) == []


# ------------------------------------------------------------------ a real Prometheus


@dataclass
class RunningPrometheus:
    url: str
    process: subprocess.Popen
    log: Path

    async def api(self, http: httpx.AsyncClient, path: str, **params: str) -> Any:
        response = await http.get(f"{self.url}/api/v1/{path}", params=params)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", f"{path} {params}: {body}"
        return body["data"]

    async def alerts(self, http: httpx.AsyncClient, name: str) -> List[Dict[str, Any]]:
        return [a for a in (await self.api(http, "alerts"))["alerts"] if a["labels"]["alertname"] == name]

    def log_tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]


def rules_for_test() -> Dict[str, Any]:
    """alerts.yml with every group evaluated each second and `for:` at 0 s; expressions untouched."""
    rules = load_yaml(ALERTS)
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "0s"
    return rules


def config_for_test(stack: LocalStack) -> Dict[str, Any]:
    """prometheus.yml scraping the stack on loopback every second, no Alertmanager."""
    config = load_yaml(PROMETHEUS_CONFIG)
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config.pop("alerting", None)
    config["rule_files"] = [ALERTS.name]
    config["scrape_configs"] = scrape_jobs(stack)
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{job_port(stack, job['job_name'])}"]}]
    return config


@pytest.fixture(scope="module")
def prometheus(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    binary = shutil.which("prometheus")
    assert binary, "the prometheus server is missing: `apt-get install prometheus` (.ci/run installs it)"
    tmp = tmp_path_factory.mktemp("prometheus")
    (tmp / ALERTS.name).write_text(yaml.safe_dump(rules_for_test(), sort_keys=False), encoding="utf-8")
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config_for_test(stack), sort_keys=False), encoding="utf-8")
    (tmp / "action_server_token").write_text(action_token(stack) + "\n", encoding="utf-8")
    port = free_port()
    log = tmp / "prometheus.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h"],
            cwd=tmp, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    running = RunningPrometheus(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"prometheus exited with {process.returncode}:\n{running.log_tail()}"
            try:
                if httpx.get(f"{running.url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"prometheus not ready after 30 s:\n{running.log_tail()}"
            time.sleep(0.3)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def poll(check: Any, timeout: float, what: str, interval: float = 0.5) -> None:
    """Await `check()` → (done, what it saw) until done; fail with what it saw last."""
    deadline = time.monotonic() + timeout
    while True:
        done, seen = await check()
        if done:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout:.0f} s (last: {seen!r})")
        await asyncio.sleep(interval)


def business_hours_open(timestamp: float, zone: str) -> int:
    local = datetime.fromtimestamp(timestamp, ZoneInfo(zone))
    return int(local.weekday() != 6 and 7 <= local.hour < 21)


async def test_prometheus_scrapes_both_processes_and_evaluates_every_rule(
    prometheus: RunningPrometheus, http: httpx.AsyncClient
) -> None:
    async def targets_up() -> Any:
        targets = (await prometheus.api(http, "targets", state="active"))["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets}
        return health == {"assistant-rasa": "up", "assistant-actions": "up"}, targets

    await poll(targets_up, 30, "both targets up")

    async def rules_evaluated() -> Any:
        rules = [r for g in (await prometheus.api(http, "rules"))["groups"] for r in g["rules"]]
        pending = [(r["name"], r["health"], r.get("lastError")) for r in rules
                   if r["health"] != "ok" or r["lastEvaluation"].startswith("0001")]
        return len(rules) == len(alert_rules()) and not pending, pending or rules

    await poll(rules_evaluated, 20, "every rule evaluated without error")

    for where, expr in prometheus_exprs():  # Grafana's queries are valid PromQL for this Prometheus
        response = await http.get(f"{prometheus.url}/api/v1/query", params={"query": grafana_promql(expr)})
        assert response.json()["status"] == "success", f"{where}: {response.text}"

    # The recording rule's business hours agree with the business's own time zone (tzdata), sample by sample.
    zone = Settings().business_timezone
    [series] = (await prometheus.api(http, "query", query="assistant:business_hours[10s]"))["result"]
    assert series["values"]
    for timestamp, value in series["values"]:
        assert int(float(value)) == business_hours_open(float(timestamp), zone), (
            datetime.fromtimestamp(float(timestamp), timezone.utc))

    # nothing failing yet: the alert is not trivially on
    assert await prometheus.alerts(http, "AssistantSendFailures") == []


@pytest.fixture
def undeliverable_phones(stack: LocalStack) -> Iterator[List[str]]:
    """Four new clients every message to whom Twilio fails (63003, via the status callback); restored after."""
    phones = ["+52155" + str(uuid.uuid4().int)[:8] for _ in range(4)]
    try:
        for phone in phones:
            response = httpx.post(f"{stack.twilio_url}/_sandbox/delivery",
                                  json={"to": f"whatsapp:{phone}", "error_code": 63003}, timeout=10)
            assert response.status_code == 200 and response.json()["final_status"] == "failed", response.text
        yield phones
    finally:
        for phone in phones:
            httpx.delete(f"{stack.twilio_url}/_sandbox/delivery", params={"to": f"whatsapp:{phone}"}, timeout=10)


async def test_send_failure_alert_fires_when_twilio_fails_every_message(
    prometheus: RunningPrometheus, stack: LocalStack, http: httpx.AsyncClient, undeliverable_phones: List[str]
) -> None:
    clients = [WhatsAppClient(stack, http, phone) for phone in undeliverable_phones]
    deadline = time.monotonic() + ALERT_TIMEOUT
    sent = 0
    firing: List[Dict[str, Any]] = []
    while not firing:
        if time.monotonic() > deadline:
            counts = await prometheus.api(http, "query", query="whatsapp_outbound_messages_total")
            raise AssertionError(f"AssistantSendFailures not firing after {ALERT_TIMEOUT:.0f} s and {sent} messages: "
                                 f"{await prometheus.alerts(http, 'AssistantSendFailures')}; {counts['result']}")
        # one message every 2 s, round robin: 7.5 a minute per client, under the channel's rate limit
        response = await clients[sent % len(clients)].send("hola")
        assert response.status_code == 200, response.text
        sent += 1
        await asyncio.sleep(2)
        firing = [a for a in await prometheus.alerts(http, "AssistantSendFailures") if a["state"] == "firing"]
    [alert] = firing
    assert alert["labels"]["severity"] == "critical"
    assert float(alert["value"]) > 0.1
    assert "%" in alert["annotations"]["summary"] and "%" in alert["annotations"]["summary_es"]
    failures = 'sum(whatsapp_outbound_messages_total{status="delivery_failed"})'
    failed = await prometheus.api(http, "query", query=failures)
    assert float(failed["result"][0]["value"][1]) >= 3

"""The alerts and dashboard components: every alert is complete, and every metric an alert or a
dashboard panel queries is one the code defines, so they cannot drift from the code."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
ALERTS = K8S / "components" / "alerts"
DASHBOARDS = K8S / "components" / "dashboards"
DASHBOARD_JSON = DASHBOARDS / "alooba-greenhouse.json"
OPERATIONS = ROOT / "docs" / "operations.md"
METRICS_DOC = ROOT / "docs" / "metrics.md"
SOURCES = (ROOT / "libs", ROOT / "services")

EXPECTED_ALERTS = {
    "OutboxDeadLetters",
    "OutboxBacklogOld",
    "WebhookSignatureFailures",
    "GreenhouseCallbacksRejected",
    "CallbackRetriesHigh",
    "HarvestRateLimited",
    "HarvestPushesWaiting",
    "ServiceDown",
    "GrpcCallsDenied",
    "GrpcErrorsHigh",
    "HttpServerErrorsHigh",
}
SERVICES = {"gateway", "assessments", "candidates", "harvest-sync", "console"}
# Series Prometheus itself makes, not the services.
PROMETHEUS_SERIES = {"up"}
_PROMQL_WORDS = """
sum min max avg group stddev stdvar count count_values bottomk topk quantile
by without on ignoring group_left group_right bool and or unless offset
rate irate increase delta idelta deriv abs absent absent_over_time clamp_min clamp_max
histogram_quantile label_replace max_over_time min_over_time avg_over_time time vector
sum_over_time changes resets scalar sort sort_desc round ceil floor
"""
# Aggregations, their modifiers, and the functions (add one when an expression starts using it).
PROMQL_WORDS = frozenset(_PROMQL_WORDS.split())
# Histograms expose <name>_bucket, <name>_sum and <name>_count.
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def render_component(kubectl: str, component: Path, tmp_path: Path) -> list[dict[str, Any]]:
    """A component cannot be built alone: wrap it in a Kustomization (relative paths only)."""
    wrapper = tmp_path / "wrapper"
    wrapper.mkdir()
    relative = os.path.relpath(component, wrapper)
    (wrapper / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        f"components:\n  - {relative}\n"
    )
    result = subprocess.run(
        [kubectl, "kustomize", str(wrapper)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture
def rules(kubectl: str, tmp_path: Path) -> list[dict[str, Any]]:
    docs = render_component(kubectl, ALERTS, tmp_path)
    assert [doc["kind"] for doc in docs] == ["PrometheusRule"]
    assert docs[0]["apiVersion"] == "monitoring.coreos.com/v1"
    return [rule for group in docs[0]["spec"]["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects (good enough for the expressions we write:
    no string functions, no subqueries with odd spacing)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values and template strings
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # range selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", expr)
    words = set(re.findall(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return {word for word in words if word not in PROMQL_WORDS and not word.startswith("$__")}


def defined_in_code(name: str) -> bool:
    candidates = {name, *(name.removesuffix(s) for s in HISTOGRAM_SUFFIXES if name.endswith(s))}
    for source in SOURCES:
        for path in source.rglob("*.py"):
            if "tests" in path.parts:
                continue
            text = path.read_text()
            if any(f'"{candidate}"' in text for candidate in candidates):
                return True
    return False


def test_metric_names_parser() -> None:
    assert metric_names(
        'sum by (namespace, kind) (increase(outbox_dead_letters_total{kind="a"}[15m])) > 0'
    ) == {"outbox_dead_letters_total"}
    assert metric_names(
        "histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket[$__rate_interval])))"
    ) == {"x_seconds_bucket"}
    assert metric_names('up{job=~"a|b"} == 0 and on (job) y') == {"up", "y"}


def test_the_expected_alerts(rules: list[dict[str, Any]]) -> None:
    names = [rule.get("alert") for rule in rules]
    assert len(names) == len(set(names)), "duplicate alert names"
    assert set(names) == EXPECTED_ALERTS


def test_every_alert_is_complete(rules: list[dict[str, Any]]) -> None:
    for rule in rules:
        name = rule["alert"]
        assert str(rule.get("expr", "")).strip(), name
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), name
        assert rule.get("labels", {}).get("severity") in {"critical", "warning"}, name
        annotations = rule.get("annotations", {})
        assert annotations.get("summary"), name
        assert annotations.get("description"), name
        # A full URL: Alertmanager and its receivers link it from outside the repository.
        assert annotations.get("runbook_url") == f"{RUNBOOKS}#{name.lower()}", name


RUNBOOKS = "https://github.com/alooba/greenhouse-integration/blob/main/docs/operations.md"


def test_every_alert_has_a_runbook_section(rules: list[dict[str, Any]]) -> None:
    headings = {
        line.lstrip("#").strip() for line in OPERATIONS.read_text().splitlines() if line[:1] == "#"
    }
    missing = [rule["alert"] for rule in rules if rule["alert"] not in headings]
    assert not missing, f"docs/operations.md has no '### <alert>' section for {missing}"


def test_alert_metrics_exist_in_the_code(rules: list[dict[str, Any]]) -> None:
    used = {name for rule in rules for name in metric_names(str(rule["expr"]))}
    assert "outbox_dead_letters_total" in used  # the parser found something
    missing = sorted(name for name in used - PROMETHEUS_SERIES if not defined_in_code(name))
    assert not missing, f"alerts query metrics no code defines: {missing}"


def test_service_down_covers_the_scraped_jobs(rules: list[dict[str, Any]]) -> None:
    (expr,) = [rule["expr"] for rule in rules if rule["alert"] == "ServiceDown"]
    jobs = re.search(r'job=~"([^"]+)"', expr)
    assert jobs is not None
    assert set(jobs.group(1).split("|")) == SERVICES
    monitors = (K8S / "components" / "service-monitors" / "servicemonitors.yaml").read_text()
    assert set(re.findall(r"^  name: (\S+)$", monitors, re.MULTILINE)) == SERVICES


def test_alert_and_dashboard_metrics_are_documented(rules: list[dict[str, Any]]) -> None:
    documented = METRICS_DOC.read_text()
    exprs = [str(rule["expr"]) for rule in rules] + dashboard_exprs()
    for name in {name for expr in exprs for name in metric_names(expr)} - PROMETHEUS_SERIES:
        base = next((name.removesuffix(s) for s in HISTOGRAM_SUFFIXES if name.endswith(s)), name)
        assert f"`{base}`" in documented, f"docs/metrics.md does not list {base}"


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD_JSON.read_text())
    return [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def test_dashboard_metrics_exist_in_the_code() -> None:
    used = {name for expr in dashboard_exprs() for name in metric_names(expr)}
    assert len(used) >= 10
    missing = sorted(name for name in used - PROMETHEUS_SERIES if not defined_in_code(name))
    assert not missing, f"the dashboard queries metrics no code defines: {missing}"


def test_dashboard_configmap(kubectl: str, tmp_path: Path) -> None:
    docs = render_component(kubectl, DASHBOARDS, tmp_path)
    assert [doc["kind"] for doc in docs] == ["ConfigMap"]
    (configmap,) = docs
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["name"] == "grafana-dashboard-alooba-greenhouse"  # no hash
    assert configmap["data"] == {DASHBOARD_JSON.name: DASHBOARD_JSON.read_text()}
    dashboard = json.loads(DASHBOARD_JSON.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


BREAKAGES = {
    "bad-for-duration": ("for: 10m\n", "for: ten minutes\n"),
    "alert-without-severity": ("severity: critical\n", "severity_: critical\n"),
    "unknown-rule-field": ("          for: 1m\n", "          for: 1m\n          fro: 1m\n"),
}


@pytest.mark.usefixtures("kubectl")
@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_validation_fails_on_a_broken_prometheus_rule(breakage: str, tmp_path: Path) -> None:
    old, new = BREAKAGES[breakage]
    broken = tmp_path / "k8s"
    shutil.copytree(K8S, broken)
    path = broken / "components" / "alerts" / "prometheusrule.yaml"
    text = path.read_text()
    assert old in text, f"prometheusrule.yaml no longer holds {old!r}: update the test"
    path.write_text(text.replace(old, new, 1))

    result = subprocess.run(
        [str(K8S / "validate.sh"), str(broken)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHON": sys.executable},
        timeout=120,
    )

    assert result.returncode != 0, result.stdout + result.stderr
    assert "INVALID" in result.stdout
    assert "PrometheusRule/alooba-greenhouse" in result.stdout

"""The Grafana dashboard and Prometheus config in deploy/ only use metrics the app exports."""

import json
import re

import yaml
from django.conf import settings

from dreamseed.core.metrics import task_outcome_record

DEPLOY = settings.BASE_DIR / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dreamseed-dashboard.json"
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "le",
}  # fmt: skip


def _expressions(node):
    """Every PromQL expression in the dashboard: panel targets and template variable queries."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            else:
                yield from _expressions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _expressions(value)


def _metric_names(expression: str) -> set[str]:
    # Drop label matchers, strings, ranges and Grafana variables; what is left before "(" is a
    # function, any other identifier is a metric name.
    bare = re.sub(r'"[^"]*"', "", expression)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\$\w+", "", bare)
    # Grafana's label_values(metric, label): the second argument is a label, not a metric.
    bare = re.sub(r"label_values\(([^,()]*),\s*\w+\)", r"label_values(\1)", bare)
    bare = re.sub(r"\b(by|without)\s*\([^)]*\)", "", bare)
    bare = re.sub(r"(?<![\w.])\d+(\.\d+)?(e[+-]?\d+)?", "", bare)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare):
        following = bare[match.end() :].lstrip()[:1]
        word = match.group()
        if following != "(" and word not in PROMQL_WORDS:
            names.add(word)
    return names


def _scraped_names(client_for, alpha_admin) -> set[str]:
    client_for(alpha_admin).get("/")
    task_outcome_record("dreamseed.example.task", "success")
    body = client_for(host="10.0.0.1").get("/metrics").content.decode()
    names = set()
    for line in body.splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group())
    return names


def test_the_dashboard_only_uses_metrics_the_app_exports(client_for, alpha_admin):
    dashboard = json.loads(DASHBOARD.read_text())
    exported = _scraped_names(client_for, alpha_admin)
    used = set()
    for expression in _expressions(dashboard):
        used |= _metric_names(expression)
    assert used, "no metric names found in the dashboard"
    assert used - exported == set(), f"exported: {sorted(exported)}"
    # Every family the app defines is on the dashboard.
    families = {name for name in exported if name.startswith("dreamseed_")}
    for family in ("dreamseed_http_request_duration_seconds", "dreamseed_celery_tasks"):
        assert any(name.startswith(family) for name in used & families), family
    assert "dreamseed_active_exam_sessions" in used


def test_the_dashboard_picks_its_prometheus_datasource_from_a_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert all(target["datasource"]["uid"] == "${datasource}" for target in panel["targets"])
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_the_expression_parser_finds_metric_names():
    expression = (
        "histogram_quantile(0.95, sum by (view, le) (rate(dreamseed_http_request_duration_seconds_"
        'bucket{job=~"$job",status="5xx"}[$__rate_interval]))) / clamp_min(up, 1e-9)'
    )
    assert _metric_names(expression) == {"dreamseed_http_request_duration_seconds_bucket", "up"}
    variable = 'label_values(dreamseed_http_request_duration_seconds_count{job=~"$job"}, view)'
    assert _metric_names(variable) == {"dreamseed_http_request_duration_seconds_count"}


def test_prometheus_scrapes_metrics_with_the_bearer_token():
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert job["authorization"]["credentials_file"]

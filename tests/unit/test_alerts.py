"""The shipped alert rules are valid Prometheus rules, and each has a test case that passes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: deploy/setup.sh installs Debian's prometheus")
        pytest.skip("promtool is not installed (deploy/setup.sh installs it)")
    return found


def test_the_rules_are_valid_and_their_tests_pass() -> None:
    tool = promtool()
    checked = subprocess.run(
        [tool, "check", "rules", "alerts.yml"], cwd=RULES, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [tool, "test", "rules", "alerts.test.yml"], cwd=RULES, capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_test_case_that_expects_it_to_fire() -> None:
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    cases = yaml.safe_load((RULES / "alerts.test.yml").read_text())
    firing = {
        check["alertname"]
        for case in cases["tests"]
        for check in case.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    assert alerts - firing == set(), "alerts without a test case that fires them"


def test_compose_runs_prometheus_with_the_rules_and_grafana_with_the_dashboards() -> None:
    compose = yaml.safe_load((RULES.parents[1] / "docker-compose.yml").read_text())
    prometheus = compose["services"]["prometheus"]
    mounted = {volume.split(":")[0] for volume in prometheus["volumes"]}
    assert {"./deploy/prometheus/prometheus.yml", "./deploy/prometheus/alerts.yml"} <= mounted
    config = yaml.safe_load((RULES / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    targets = config["scrape_configs"][0]["static_configs"][0]["targets"]
    for name in ("checkin", "cases", "verification", "notifications"):
        port = compose["services"][name]["environment"]["FRONTDESK_HTTP_PORT"]
        assert f"{name}:{port}" in targets
    grafana = compose["services"]["grafana"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]


def test_dashboards_parse_and_every_panel_queries_prometheus() -> None:
    import json

    for path in sorted((RULES.parent / "grafana" / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"].startswith("frontdesk-")
        for panel in dashboard["panels"]:
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            assert all(target["expr"] for target in panel["targets"])


def test_the_kubernetes_deployments_carry_the_scrape_configuration() -> None:
    base = RULES.parents[1] / "deploy" / "k8s" / "base"
    for name in ("checkin", "cases", "verification", "notifications"):
        documents = list(yaml.safe_load_all((base / f"{name}.yaml").read_text()))
        [deployment] = [d for d in documents if d and d["kind"] == "Deployment"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"

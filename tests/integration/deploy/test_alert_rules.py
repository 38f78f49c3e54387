"""The PrometheusRule of config/prometheus, checked and unit-tested by promtool (shipped with
the Debian `prometheus` package the metrics tests use): every expression parses, and the two
alerts we add to the reference's fire when they should and only then."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from .kubectl import REPO

GROUP = {"namespace": "pacific", "name": "rpc"}
METRICS_JOB = "sei-k8s-controller-manager-metrics-service"


def promtool() -> str:
    for candidate in (
        os.environ.get("PROMTOOL_BIN"),
        shutil.which("promtool"),
        "/usr/bin/promtool",
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("promtool not found: `make system-deps` installs the prometheus package")


def rule_groups() -> dict[str, Any]:
    doc = yaml.safe_load((REPO / "config" / "prometheus" / "alerts.yaml").read_text())
    groups: dict[str, Any] = doc["spec"]
    return groups


def rule(name: str) -> dict[str, Any]:
    return next(r for g in rule_groups()["groups"] for r in g["rules"] if r.get("alert") == name)


def rule_annotations(name: str, labels: dict[str, str]) -> dict[str, str]:
    """The rule's annotations with its `{{ $labels.x }}` templates filled in."""
    out = {}
    for key, text in rule(name)["annotations"].items():
        for label, value in labels.items():
            text = text.replace(f"{{{{ $labels.{label} }}}}", value)
        out[key] = text
    return out


def run_promtool(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=tmp_path, capture_output=True, text=True, check=False
    )


def write_rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rule_groups()))
    return path


def test_every_rule_parses(tmp_path: Path) -> None:
    result = run_promtool(tmp_path, "check", "rules", str(write_rules(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 12 rules found" in result.stdout


def alert_test(tmp_path: Path, series: list[dict[str, str]], checks: list[Any]) -> str:
    write_rules(tmp_path)
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": checks}],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = run_promtool(tmp_path, "test", "rules", "tests.yaml")
    return "" if result.returncode == 0 else result.stdout + result.stderr


def group_series(ready: int, desired: int) -> list[dict[str, str]]:
    ns, name = GROUP["namespace"], GROUP["name"]
    return [
        {"series": f'sei_controller_seinodedeployment_phase{{namespace="{ns}",name="{name}",'
                   'phase="Upgrading"}', "values": "1x20"},
        {"series": f'sei_controller_seinodedeployment_replicas{{namespace="{ns}",name="{name}",'
                   'type="ready"}', "values": f"{ready}x20"},
        {"series": f'sei_controller_seinodedeployment_replicas{{namespace="{ns}",name="{name}",'
                   'type="desired"}', "values": f"{desired}x20"},
    ]  # fmt: skip


def test_rollout_stalled_fires_after_ten_minutes_upgrading_with_unready_nodes(
    tmp_path: Path,
) -> None:
    labels = {**GROUP, "phase": "Upgrading", "severity": "warning", "team": "platform"}
    checks = [
        {"eval_time": "9m", "alertname": "RolloutStalled", "exp_alerts": []},
        {
            "eval_time": "11m",
            "alertname": "RolloutStalled",
            "exp_alerts": [
                {
                    "exp_labels": labels,
                    "exp_annotations": rule_annotations("RolloutStalled", labels),
                }
            ],
        },
    ]
    assert alert_test(tmp_path, group_series(ready=2, desired=3), checks) == ""


def test_rollout_stalled_stays_silent_while_every_node_is_ready(tmp_path: Path) -> None:
    checks = [{"eval_time": "15m", "alertname": "RolloutStalled", "exp_alerts": []}]
    assert alert_test(tmp_path, group_series(ready=3, desired=3), checks) == ""


def leader_series(*statuses: int) -> list[dict[str, str]]:
    return [
        {
            "series": f'leader_election_master_status{{job="{METRICS_JOB}",instance="r{i}",'
            'name="bc1f5b0a.sei.io"}',
            "values": f"{status}x20",
        }
        for i, status in enumerate(statuses)
    ]


def test_no_leader_fires_when_no_replica_holds_the_lease(tmp_path: Path) -> None:
    labels = {"severity": "critical", "team": "platform"}
    checks = [
        {
            "eval_time": "6m",
            "alertname": "ControllerNoLeader",
            "exp_alerts": [
                {
                    "exp_labels": labels,
                    "exp_annotations": rule_annotations("ControllerNoLeader", {}),
                }
            ],
        }
    ]
    assert alert_test(tmp_path, leader_series(0, 0), checks) == ""


def test_no_leader_stays_silent_while_one_replica_leads(tmp_path: Path) -> None:
    checks = [{"eval_time": "10m", "alertname": "ControllerNoLeader", "exp_alerts": []}]
    assert alert_test(tmp_path, leader_series(1, 0), checks) == ""

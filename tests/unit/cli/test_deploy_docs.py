"""What a user deploying the operator reads and applies agrees with the command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from controllers.cli import build_parser
from controllers.platform import Platform, env_var_name

REPO = Path(__file__).resolve().parents[3]


def run_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser: argparse.ArgumentParser = sub.choices["run"]
    return parser


def manager_container() -> dict[str, Any]:
    docs = yaml.safe_load_all((REPO / "config" / "manager" / "manager.yaml").read_text())
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_readme_documents_every_run_flag_and_its_variable() -> None:
    readme = (REPO / "README.md").read_text()
    for action in run_parser()._actions:
        longs = [o for o in action.option_strings if o.startswith("--") and o != "--help"]
        if not longs:
            continue
        variable = "SEI_CONTROLLER_" + longs[0][2:].upper().replace("-", "_")
        assert f"| `{longs[0]}` | `{variable}` |" in readme


def test_manager_manifest_sets_a_valid_platform() -> None:
    env = {e["name"]: e["value"] for e in manager_container()["env"]}
    platform = Platform.from_env(env)
    assert platform.nodepool_name == "sei-node"
    required = {env_var_name(f) for f in Platform.model_fields} - {"SEI_GATEWAY_PUBLIC_DOMAIN"}
    assert required <= set(env)


def test_manager_manifest_args_are_accepted_by_run() -> None:
    args = run_parser().parse_args(manager_container()["args"])
    assert args.leader_elect is True
    assert args.graceful_shutdown_timeout == 20.0

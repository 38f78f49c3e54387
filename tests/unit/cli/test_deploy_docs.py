"""What a user deploying the operator reads and applies agrees with the command."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import yaml

from controller_runtime.manager import BoolFlag, parse_duration
from controllers.cli import build_parser
from controllers.platform import Platform, env_var_name
from controllers.rollout_status.command import EXIT_CODES
from controllers.run import ENV_PREFIX

REPO = Path(__file__).resolve().parents[3]


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found: argparse.ArgumentParser = sub.choices[name]
    return found


def run_parser() -> argparse.ArgumentParser:
    return subcommand(build_parser(), "run")


def readme_section(title: str) -> str:
    """The README's text under the heading ``title``, up to the next heading."""
    text = (REPO / "README.md").read_text()
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ )", text, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def table_rows(section: str) -> list[list[str]]:
    """The cells of every body row of the Markdown tables in ``section``."""
    rows = []
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def flag_rows() -> dict[str, list[str]]:
    """The Configuration table's rows of ``run`` flags, by flag."""
    return {
        row[0].strip("`"): row
        for row in table_rows(readme_section("Configuration"))
        if row[0].startswith("`--")
    }


def run_flags() -> dict[str, argparse.Action]:
    return {
        action.option_strings[0]: action
        for action in run_parser()._actions
        if action.option_strings and action.option_strings[0] != "-h"
    }


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


def test_readme_documents_only_flags_that_run_has() -> None:
    assert sorted(flag_rows()) == sorted(run_flags())


def test_readme_names_the_environment_variable_of_each_flag() -> None:
    for flag, row in flag_rows().items():
        assert row[1] == f"`{ENV_PREFIX}{flag[2:].upper().replace('-', '_')}`", flag


def test_readme_defaults_are_the_flags_defaults() -> None:
    for flag, action in run_flags().items():
        cell = flag_rows()[flag][2].strip("`")
        if action.default in (None, ""):  # derived at run time: the README says from what
            continue
        if isinstance(action, BoolFlag):
            assert cell == str(action.default).lower(), flag
        elif action.type in (parse_duration,) or flag.endswith(("-timeout", "-threshold")):
            assert parse_duration(cell) == parse_duration(str(action.default)), flag
        else:
            assert cell == str(action.default), flag


def test_readme_lists_every_platform_variable() -> None:
    section = readme_section("Configuration")
    documented = set(re.findall(r"`(SEI_[A-Z_]+)`", section)) - {
        f"{ENV_PREFIX}{flag[2:].upper().replace('-', '_')}" for flag in run_flags()
    }
    assert documented == {env_var_name(field) for field in Platform.model_fields}


def test_readme_documents_every_rollout_status_exit_code_and_flag() -> None:
    section = readme_section("Following a rollout")
    rows = table_rows(section)
    codes = {int(row[0].strip("`")) for row in rows if re.fullmatch(r"`\d+`", row[0])}
    assert sorted(codes) == sorted(EXIT_CODES)
    status = subcommand(subcommand(build_parser(), "rollout"), "status")
    for action in status._actions:
        longs = [o for o in action.option_strings if o.startswith("--") and o != "--help"]
        if longs:
            assert any(longs[0] in row[0] for row in rows), longs[0]

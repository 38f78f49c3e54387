"""`sei-controller dev` flags: defaults, and bad values refused with one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from controllers.cli import build_parser
from controllers.devmode.manifest import UPGRADE_IMAGE


def test_defaults_run_the_whole_story_and_stay_up() -> None:
    args = build_parser().parse_args(["dev"])
    assert (args.state_dir, args.kubeconfig, args.nodes, args.sidecars) == (
        Path(".dev"),
        None,
        3,
        "auto",
    )
    assert (args.upgrade_image, args.timeout, args.exit_after_upgrade, args.output) == (
        UPGRADE_IMAGE,
        300.0,
        False,
        "auto",
    )


def test_timeout_takes_a_go_duration() -> None:
    assert build_parser().parse_args(["dev", "--timeout", "1m30s"]).timeout == 90.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--nodes", "0"], "argument --nodes: must be a whole number of at least 1, got '0'"),
        (["--timeout", "0s"], "argument --timeout: must be more than 0, got '0s'"),
        (["--sidecars", "docker"], "argument --sidecars: invalid choice: 'docker'"),
    ],
)
def test_bad_values_are_refused_in_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["dev", *argv])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"sei-controller dev: error: {message}")

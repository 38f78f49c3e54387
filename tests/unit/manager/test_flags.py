from __future__ import annotations

import argparse

from controller_runtime.manager import add_manager_flags, manager_options


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_manager_flags(parser, leader_election_id="sei-controller-leader")
    return parser.parse_args(argv)


def test_defaults_follow_the_scaffold() -> None:
    options = manager_options(parse())
    assert options.metrics_bind_address == "0"
    assert options.secure_metrics is True
    assert options.health_probe_bind_address == ":8081"
    assert options.leader_election is False
    assert options.leader_election_id == "sei-controller-leader"
    assert options.graceful_shutdown_timeout == 30.0


def test_flags_map_to_options() -> None:
    options = manager_options(
        parse(
            "--metrics-bind-address=:8080",
            "--no-metrics-secure",
            "--health-probe-bind-address=0",
            "--leader-elect",
            "--leader-election-namespace=sei-system",
            "--leader-election-release-on-cancel",
            "--namespace=pacific",
        )
    )
    assert (options.metrics_bind_address, options.secure_metrics) == (":8080", False)
    assert options.health_probe_bind_address == "0"
    assert options.leader_election
    assert options.leader_election_namespace == "sei-system"
    assert options.leader_election_release_on_cancel
    assert options.namespace == "pacific"

from __future__ import annotations

import argparse

import pytest

from controller_runtime.manager import (
    FlagDefaults,
    add_manager_flags,
    apply_env_defaults,
    bind_address,
    manager_options,
    parse_duration,
)


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


def test_bool_flag_takes_go_style_false() -> None:
    assert parse("--leader-elect=false").leader_elect is False


def test_bool_flag_refuses_a_value_that_is_not_a_bool() -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_manager_flags(parser, leader_election_id="x")
    with pytest.raises(argparse.ArgumentError, match="expected true or false, got 'maybe'"):
        parser.parse_args(["--leader-elect=maybe"])


def test_operator_defaults_replace_the_scaffold_ones() -> None:
    parser = argparse.ArgumentParser()
    add_manager_flags(parser, "x", FlagDefaults(metrics_bind_address=":8080", leader_elect=True))
    options = manager_options(parser.parse_args([]))
    assert (options.metrics_bind_address, options.leader_election) == (":8080", True)


def test_max_concurrent_reconciles_reaches_every_controller_default() -> None:
    options = manager_options(parse("--max-concurrent-reconciles=4"))
    assert options.controller.max_concurrent_reconciles == 4


def test_watch_namespace_restricts_the_cache() -> None:
    assert manager_options(parse("--watch-namespace=pacific")).namespace == "pacific"


def test_graceful_shutdown_timeout_is_a_go_duration() -> None:
    assert (
        manager_options(parse("--graceful-shutdown-timeout=1m30s")).graceful_shutdown_timeout == 90
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10m", 600.0), ("1h30m", 5400.0), ("2.5s", 2.5), ("500ms", 0.5), ("0", 0.0), ("-1s", -1.0)],
)
def test_parse_duration_reads_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10", "", "m", "10 m", "1x", "1m-2s"])
def test_parse_duration_refuses_what_go_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="invalid duration"):
        parse_duration(text)


def test_bind_address_is_checked_at_parse_time() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="invalid bind address"):
        bind_address("8080")


def env_parser(environ: dict[str, str]) -> tuple[argparse.ArgumentParser, list[str]]:
    parser = argparse.ArgumentParser()
    add_manager_flags(parser, leader_election_id="x")
    return parser, apply_env_defaults(parser, "OP_", environ)


def test_environment_sets_a_flag_default() -> None:
    parser, problems = env_parser({"OP_LEADER_ELECT": "true", "OP_WATCH_NAMESPACE": "pacific"})
    args = parser.parse_args([])
    assert (problems, args.leader_elect, args.namespace) == ([], True, "pacific")


def test_command_line_wins_over_the_environment() -> None:
    parser, _ = env_parser({"OP_METRICS_BIND_ADDRESS": ":9000"})
    assert parser.parse_args(["--metrics-bind-address=:9100"]).metrics_bind_address == ":9100"


def test_environment_values_are_converted_like_the_flag() -> None:
    parser, _ = env_parser({"OP_GRACEFUL_SHUTDOWN_TIMEOUT": "2m"})
    assert parser.parse_args([]).graceful_shutdown_timeout == 120.0


def test_a_refused_environment_value_is_reported_by_variable() -> None:
    parser, problems = env_parser({"OP_MAX_CONCURRENT_RECONCILES": "zero"})
    assert problems == [
        "environment variable OP_MAX_CONCURRENT_RECONCILES='zero': "
        "expected a positive integer, got 'zero'"
    ]
    assert parser.parse_args([]).max_concurrent_reconciles == 1


def test_help_names_each_flags_variable() -> None:
    parser, _ = env_parser({})
    helps = {a.dest: a.help or "" for a in parser._actions}
    assert helps["leader_election_namespace"].endswith("[env OP_LEADER_ELECTION_NAMESPACE]")
    assert helps["namespace"].endswith("[env OP_WATCH_NAMESPACE]")

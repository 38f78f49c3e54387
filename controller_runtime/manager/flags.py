"""The command-line flags operators built on controller-runtime share, mapped to
ManagerOptions (names and defaults as in the kubebuilder scaffold's main.go)."""

from __future__ import annotations

import argparse

from controller_runtime.manager.manager import ManagerOptions


def add_manager_flags(parser: argparse.ArgumentParser, leader_election_id: str) -> None:
    group = parser.add_argument_group("manager")
    group.add_argument("--kubeconfig", default=None, help="path to a kubeconfig (else in-cluster)")
    group.add_argument(
        "--metrics-bind-address",
        default="0",
        help='metrics endpoint address, e.g. ":8443" (HTTPS) or ":8080" (HTTP); "0" disables',
    )
    group.add_argument(
        "--metrics-secure",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve metrics over HTTPS with authentication and authorization",
    )
    group.add_argument("--metrics-cert-dir", default=None, help="tls.crt/tls.key for metrics")
    group.add_argument(
        "--health-probe-bind-address", default=":8081", help="probe endpoint address"
    )
    group.add_argument(
        "--leader-elect",
        action="store_true",
        help="enable leader election, ensuring only one active controller manager",
    )
    group.add_argument("--leader-election-id", default=leader_election_id)
    group.add_argument("--leader-election-namespace", default="")
    group.add_argument("--leader-election-release-on-cancel", action="store_true")
    group.add_argument("--namespace", default=None, help="watch only this namespace")
    group.add_argument("--graceful-shutdown-timeout", type=float, default=30.0)


def manager_options(args: argparse.Namespace) -> ManagerOptions:
    return ManagerOptions(
        namespace=args.namespace,
        metrics_bind_address=args.metrics_bind_address,
        secure_metrics=args.metrics_secure,
        metrics_cert_dir=args.metrics_cert_dir,
        health_probe_bind_address=args.health_probe_bind_address,
        leader_election=args.leader_elect,
        leader_election_id=args.leader_election_id,
        leader_election_namespace=args.leader_election_namespace,
        leader_election_release_on_cancel=args.leader_election_release_on_cancel,
        graceful_shutdown_timeout=args.graceful_shutdown_timeout,
    )

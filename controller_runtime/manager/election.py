"""The manager's leader elector: Lease location and timings from ManagerOptions, its own
connection pool, and the manager's callbacks."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from controller_runtime.client import Client, RestClient
from controller_runtime.events import EventRecorder
from controller_runtime.leaderelection import (
    LeaderCallback,
    LeaderElectionConfig,
    LeaderElector,
)

if TYPE_CHECKING:
    from controller_runtime.manager.manager import ManagerOptions

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def election_config(options: ManagerOptions) -> LeaderElectionConfig:
    """The Lease and timings; raises ValueError for what controller-runtime refuses."""
    namespace = options.leader_election_namespace
    if not namespace and SERVICE_ACCOUNT_NAMESPACE.exists():
        namespace = SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    if not namespace:
        raise ValueError(
            "unable to find leader election namespace: set leader_election_namespace "
            "(outside a cluster there is no service account namespace to default to)"
        )
    if not options.leader_election_id:
        raise ValueError("LeaderElectionID must be configured (leader_election_id)")
    config = LeaderElectionConfig(
        lease_name=options.leader_election_id,
        lease_namespace=namespace,
        lease_duration=options.lease_duration,
        renew_deadline=options.renew_deadline,
        retry_period=options.retry_period,
        release_on_cancel=options.leader_election_release_on_cancel,
    )
    if options.leader_election_identity:
        config = dataclasses.replace(config, identity=options.leader_election_identity)
    return config


def new_elector(
    options: ManagerOptions,
    rest: RestClient,
    recorder: EventRecorder,
    registry: CollectorRegistry,
    on_started_leading: LeaderCallback,
    on_stopped_leading: LeaderCallback,
) -> tuple[LeaderElector, RestClient]:
    """The elector and the REST client it owns (the caller closes it). The client is its own
    connection pool: Lease renewals must never queue behind watches and lists."""
    config = election_config(options)
    elector_rest = RestClient(rest.configuration, user_agent="leader-election")
    elector = LeaderElector(
        Client(elector_rest),
        config,
        on_started_leading=on_started_leading,
        on_stopped_leading=on_stopped_leading,
        recorder=recorder,
        registry=registry,
    )
    return elector, elector_rest

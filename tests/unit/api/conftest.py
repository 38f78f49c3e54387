"""Stored objects as the API server returns them (keys sorted, defaults applied, status set)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

_METADATA: dict[str, Any] = {
    "creationTimestamp": "2025-03-01T10:00:00Z",
    "finalizers": ["sei.io/seinode-finalizer"],
    "generation": 3,
    "labels": {"sei.io/nodedeployment": "grp", "team": "rpc"},
    "managedFields": [
        {
            "apiVersion": "sei.io/v1alpha1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:image": {}}},
            "manager": "seinodedeployment-controller",
            "operation": "Update",
            "time": "2025-03-01T10:00:00Z",
        }
    ],
    "name": "grp-0",
    "namespace": "sei",
    "ownerReferences": [
        {
            "apiVersion": "sei.io/v1alpha1",
            "blockOwnerDeletion": True,
            "controller": True,
            "kind": "SeiNodeDeployment",
            "name": "grp",
            "uid": "0b7c1a52-7d55-4f5e-9f0a-3c2d1e0f9a8b",
        }
    ],
    "resourceVersion": "4711",
    "uid": "5e0c3a1b-2d4f-4a6b-8c9d-0e1f2a3b4c5d",
}

_PLAN: dict[str, Any] = {
    "id": "11111111-1111-4111-8111-111111111111",
    "phase": "Active",
    "tasks": [
        {
            "id": "b9d69009-f302-5308-864e-653a8a1244d8",
            "params": {"nodeNames": None, "namespace": "sei", "nested": {"a": [1, "x", None]}},
            "status": "Complete",
            "submittedAt": "2025-03-01T10:00:01Z",
            "type": "update-node-specs",
        },
        {
            "id": "87a5767d-fc2d-5613-9d34-e17b60e15b41",
            "maxRetries": 180,
            "params": {"namespace": "sei", "nodeNames": ["grp-0", "grp-1"]},
            "retryCount": 2,
            "status": "Pending",
            "type": "await-spec-update",
        },
    ],
}


@pytest.fixture
def stored_seinode() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNode",
            "metadata": _METADATA,
            "spec": {
                "chainId": "pacific-1",
                "entrypoint": {"args": ["start", "--home", "/sei"], "command": ["seid"]},
                "fullNode": {
                    "snapshot": {
                        "bootstrapImage": "ghcr.io/sei-protocol/seid:v6.3.0",
                        "s3": {"targetHeight": 150000000},
                        "trustPeriod": "9999h0m0s",
                    },
                    "snapshotGeneration": {"keepRecent": 5},
                },
                "image": "ghcr.io/sei-protocol/seid:v6.3.0",
                "overrides": {"evm.http_port": "8545"},
                "peers": [
                    {"ec2Tags": {"region": "eu-central-1", "tags": {"Chain": "pacific-1"}}},
                    {"label": {"selector": {"sei.io/nodedeployment": "grp"}}},
                ],
                "podLabels": {"sei.io/nodedeployment": "grp", "sei.io/revision": "3"},
                "sidecar": {
                    "port": 7777,
                    "resources": {
                        "limits": {"memory": "1Gi"},
                        "requests": {"cpu": "100m", "memory": 268435456},
                    },
                },
            },
            "status": {
                "conditions": [
                    {
                        "lastTransitionTime": "2025-03-01T10:05:00Z",
                        "message": "Monitor task result-export completed — app-hash divergence",
                        "observedGeneration": 3,
                        "reason": "DivergenceDetected",
                        "status": "True",
                        "type": "ResultExportComplete",
                    }
                ],
                "currentImage": "ghcr.io/sei-protocol/seid:v6.3.0",
                "monitorTasks": {
                    "snapshot-upload": {
                        "id": "0aeb61e9-375f-5430-a2ad-f6d83f4cee3d",
                        "status": "Pending",
                        "submittedAt": "2025-03-01T10:04:00Z",
                    }
                },
                "phase": "Running",
                "plan": {**_PLAN, "phase": "Complete"},
                "resolvedPeers": ["grp-1-0.grp-1.sei.svc.cluster.local"],
            },
        }
    )


@pytest.fixture
def stored_seinodedeployment() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNodeDeployment",
            "metadata": {
                **{k: v for k, v in _METADATA.items() if k != "ownerReferences"},
                "name": "grp",
            },
            "spec": {
                "deletionPolicy": "Delete",
                "genesis": {
                    "accountBalance": "1000usei",
                    "chainId": "sei-devnet-1",
                    "fork": {
                        "exportHeight": 1000,
                        "sourceChainId": "pacific-1",
                        "sourceImage": "ghcr.io/sei-protocol/seid:v6.2.0",
                    },
                    "overrides": {"x": "y"},
                    "stakingAmount": "10usei",
                },
                "monitoring": {"serviceMonitor": {"interval": "30s"}},
                "networking": {},
                "replicas": 2,
                "template": {
                    "metadata": {"annotations": {"a": "b"}, "labels": {"team": "rpc"}},
                    "spec": {
                        "chainId": "sei-devnet-1",
                        "image": "ghcr.io/sei-protocol/seid:v6.3.0",
                        "validator": {"snapshot": {"stateSync": {}}},
                    },
                },
                "updateStrategy": {"hardFork": {"haltHeight": 5000}, "type": "HardFork"},
            },
            "status": {
                "conditions": [
                    {
                        "lastTransitionTime": "2025-03-01T10:05:00Z",
                        "message": "templateHash changed from 9c13d843e3cbbdb0 to 347bc046dd25de17",
                        "observedGeneration": 3,
                        "reason": "TemplateChanged",
                        "status": "True",
                        "type": "RolloutInProgress",
                    },
                    {
                        "lastTransitionTime": "2025-03-01T10:05:00.25Z",
                        "message": "Plan execution started",
                        "observedGeneration": 3,
                        "reason": "PlanStarted",
                        "status": "True",
                        "type": "PlanInProgress",
                    },
                ],
                "incumbentNodes": ["grp-0", "grp-1"],
                "networkingStatus": {
                    "routes": [{"hostname": "grp-evm.sei.example.com", "protocol": "evm"}]
                },
                "nodes": [{"name": "grp-0", "phase": "Running"}, {"name": "grp-1"}],
                "observedGeneration": 2,
                "phase": "Upgrading",
                "plan": _PLAN,
                "readyReplicas": 1,
                "replicas": 2,
                "rollout": {
                    "entrantRevision": "3",
                    "incumbentNodes": ["grp-0", "grp-1"],
                    "incumbentRevision": "2",
                    "nodes": [
                        {"name": "grp-0", "phase": "Running", "ready": True},
                        {"name": "grp-1", "phase": "Initializing", "ready": False},
                    ],
                    "startedAt": "2025-03-01T10:05:00Z",
                    "strategy": "HardFork",
                    "targetHash": "347bc046dd25de17",
                },
                "templateHash": "9c13d843e3cbbdb0",
            },
        }
    )

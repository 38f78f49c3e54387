"""Bootstrap tasks refuse, transiently, owners that have no bootstrap objects (spec 6.7.2)."""

from __future__ import annotations

import pytest

from api.v1alpha1 import SeiNodeDeployment
from controllers.plan import TransientTaskError, seinode_task_registry
from tests.unit.plan.fakes import FakeSidecar, sidecar_context
from tests.unit.plan.nodes import snapshot_node


def _group() -> SeiNodeDeployment:
    return SeiNodeDeployment.from_dict(
        {
            "metadata": {"name": "grp", "namespace": "sei"},
            "spec": {
                "replicas": 1,
                "template": {"spec": {"chainId": "c", "image": "i", "validator": {}}},
                "updateStrategy": {"type": "InPlace"},
            },
        }
    )


async def test_deploy_bootstrap_service_with_a_group_owner_is_transient() -> None:
    ctx = sidecar_context(_group(), FakeSidecar())
    params = {"serviceName": "grp", "namespace": "sei"}
    task = seinode_task_registry().build(ctx, "deploy-bootstrap-service", "id", params)

    with pytest.raises(TransientTaskError, match="requires a SeiNode owner, got SeiNodeDeployment"):
        await task.execute()


async def test_deploy_bootstrap_job_without_bootstrap_resources_is_transient() -> None:
    ctx = sidecar_context(snapshot_node(), FakeSidecar())
    params = {"jobName": "test-node-bootstrap", "namespace": "default"}
    task = seinode_task_registry().build(ctx, "deploy-bootstrap-job", "id", params)

    with pytest.raises(TransientTaskError, match="no bootstrap resources"):
        await task.execute()

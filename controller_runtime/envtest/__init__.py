"""envtest: a real local Kubernetes control plane for tests and the dev mode."""

from controller_runtime.envtest.assets import ASSETS_ENV, Assets
from controller_runtime.envtest.controlplane import (
    APISERVER,
    CONTROLLER_MANAGER,
    ETCD,
    KWOK,
    SCHEDULER,
    ControlPlane,
    ControlPlaneOptions,
)
from controller_runtime.envtest.process import ManagedProcess, ProcessError
from controller_runtime.envtest.proxy import ProxyState, TcpProxy
from controller_runtime.envtest.wait import ConditionTimeout, eventually

__all__ = [
    "APISERVER",
    "ASSETS_ENV",
    "CONTROLLER_MANAGER",
    "ETCD",
    "KWOK",
    "SCHEDULER",
    "Assets",
    "ConditionTimeout",
    "ControlPlane",
    "ControlPlaneOptions",
    "ManagedProcess",
    "ProcessError",
    "ProxyState",
    "TcpProxy",
    "eventually",
]

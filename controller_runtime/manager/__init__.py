"""The manager: shared cache and client, servers, leader election, runnables."""

from controller_runtime.controller.options import ControllerConfig
from controller_runtime.manager.cached_client import CachedClient
from controller_runtime.manager.flags import add_manager_flags, manager_options
from controller_runtime.manager.manager import (
    GracefulShutdownTimeoutError,
    LeaderElectionLostError,
    Manager,
    ManagerOptions,
    Runnable,
)
from controller_runtime.manager.signals import run_until_signal

__all__ = [
    "CachedClient",
    "ControllerConfig",
    "GracefulShutdownTimeoutError",
    "LeaderElectionLostError",
    "Manager",
    "ManagerOptions",
    "Runnable",
    "add_manager_flags",
    "manager_options",
    "run_until_signal",
]

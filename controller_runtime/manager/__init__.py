"""The manager: shared cache and client, servers, leader election, runnables."""

from controller_runtime.controller.options import ControllerConfig
from controller_runtime.manager.cached_client import CachedClient
from controller_runtime.manager.election import election_config
from controller_runtime.manager.flags import (
    BoolFlag,
    FlagDefaults,
    add_manager_flags,
    apply_env_defaults,
    bind_address,
    env_var_for,
    manager_options,
    parse_bool,
    parse_duration,
)
from controller_runtime.manager.manager import (
    GracefulShutdownTimeoutError,
    LeaderElectionLostError,
    Manager,
    ManagerOptions,
    Runnable,
)
from controller_runtime.manager.signals import run_until_signal

__all__ = [
    "BoolFlag",
    "CachedClient",
    "ControllerConfig",
    "FlagDefaults",
    "GracefulShutdownTimeoutError",
    "LeaderElectionLostError",
    "Manager",
    "ManagerOptions",
    "Runnable",
    "add_manager_flags",
    "apply_env_defaults",
    "bind_address",
    "election_config",
    "env_var_for",
    "manager_options",
    "parse_bool",
    "parse_duration",
    "run_until_signal",
]

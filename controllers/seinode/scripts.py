"""Shell scripts of the seid containers, byte-exact as the reference writes them (5.3, 12.3).

Any byte of difference changes the pod template and restarts the pod when a node is taken over
from the Go operator, hence the exact texts and Go ``%q`` quoting of the entrypoint.
"""

from __future__ import annotations

from typing import Final

from api.v1alpha1 import EntrypointConfig

from .node import DATA_DIR
from .quoting import go_quote

__all__ = [
    "DEFAULT_NODE_COMMAND",
    "bootstrap_script",
    "node_command",
    "seid_init_script",
    "wait_wrapper_script",
]

DEFAULT_NODE_COMMAND: Final = f'seid "start" "--home" "{DATA_DIR}"'


def seid_init_script(chain_id: str) -> str:
    """Initialise the home once; the chain ID is substituted verbatim (no shell quoting),
    as the reference does (the moniker is the chain ID)."""
    return (
        f"if [ -f {DATA_DIR}/config/genesis.json ]; then"
        ' echo "data directory already initialized, skipping seid init";'
        f" else seid init {chain_id} --chain-id {chain_id} --home {DATA_DIR} --overwrite;"
        f" fi && mkdir -p {DATA_DIR}/tmp"
    )


def _wait_for_sidecar(port: int) -> str:
    # Raw HTTP over bash /dev/tcp: the seid image has no curl. "\r\n" are the four literal
    # characters of the printf format, not CR LF.
    return (
        "while true; do if (exec 3<>/dev/tcp/localhost/"
        f'{port} && printf "GET /v0/healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n" >&3'
        ' && head -1 <&3 | grep -q "200") 2>/dev/null; then break; fi; sleep 5; done;'
    )


def node_command(entrypoint: EntrypointConfig | None) -> str:
    """The command the wrapper execs: ``command[0]`` verbatim, then every further word of
    ``command[1:] + args`` Go-%q-quoted; the default without an entrypoint."""
    if entrypoint is None or not entrypoint.command:
        return DEFAULT_NODE_COMMAND
    words = [*entrypoint.command[1:], *(entrypoint.args or [])]
    return entrypoint.command[0] + "".join(" " + go_quote(word) for word in words)


def wait_wrapper_script(port: int, command: str) -> str:
    """seid waits until the sidecar answers /v0/healthz with 200 (mark-ready), then execs."""
    return (
        'echo "waiting for sidecar to become ready..."; '
        + _wait_for_sidecar(port)
        + f' echo "sidecar ready, starting seid"; exec {command}'
    )


def bootstrap_script(port: int, halt_height: int) -> str:
    """Bootstrap Job: wait for the sidecar, sync to ``halt_height``; exit 130 (halt) is success."""
    return (
        'echo "waiting for sidecar bootstrap tasks to complete..."; '
        + _wait_for_sidecar(port)
        + f' echo "sidecar healthy, starting seid with halt-height {halt_height}";'
        f" seid start --home {DATA_DIR} --halt-height {halt_height}; rc=$?;"
        ' if [ $rc -eq 130 ]; then echo "seid halted at target height (exit 130),'
        ' treating as success"; exit 0; fi; exit $rc'
    )

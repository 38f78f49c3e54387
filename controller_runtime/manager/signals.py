"""Running a manager as a process: SIGTERM/SIGINT stop it gracefully, a second one exits."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger("manager")


async def run_until_signal(main: Coroutine[Any, Any, None]) -> int:
    """Runs main (e.g. manager.start()) until it ends or a signal arrives. Returns the process
    exit code: 0 after a clean (signalled) stop, 1 when main failed, e.g. lost leadership."""
    task = asyncio.create_task(main)
    loop = asyncio.get_running_loop()
    signalled = 0

    def on_signal(sig: signal.Signals) -> None:
        nonlocal signalled
        signalled += 1
        if signalled > 1:
            log.error("second signal, exiting immediately", signal=sig.name)
            os._exit(1)
        log.info("stopping gracefully", signal=sig.name)
        task.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        await task
        return 0
    except asyncio.CancelledError:
        if signalled:
            return 0
        raise
    except Exception as exc:
        log.error("manager stopped with an error", error=str(exc) or repr(exc))
        return 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)

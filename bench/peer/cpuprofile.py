"""Runs a script under cProfile timed by process CPU time, not wall time: on a shared machine the
wall time of a call that hands work to another process (a socket send waking the API server on
the same cores) is mostly that other process's.

    python bench/peer/cpuprofile.py OUT.prof SCRIPT [ARGS...]
"""

from __future__ import annotations

import cProfile
import runpy
import sys
import time

out, script, *args = sys.argv[1:]
sys.argv = [script, *args]
profiler = cProfile.Profile(time.process_time)
try:
    profiler.runcall(runpy.run_path, script, run_name="__main__")
except SystemExit:
    pass
finally:
    profiler.dump_stats(out)

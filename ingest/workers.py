"""Worker processes that never outlive the ingest that started them.

A parent killed with SIGKILL runs no clean-up code, so each worker asks the kernel to kill it when its parent
dies (Linux prctl PR_SET_PDEATHSIG) and, where that is unavailable, watches its parent's pid from a thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

PR_SET_PDEATHSIG = 1
PARENT_POLL_SECONDS = 1.0


def _die_with(parent_pid: int) -> None:
    """Pool initializer, run in the worker."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent_pid:  # the parent died before the request was made
                os._exit(1)
            return
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def worker_pool(max_workers: int) -> ProcessPoolExecutor:
    """A spawn-context pool (no inherited SQLite handles or threads) whose workers die with this process."""
    return ProcessPoolExecutor(max_workers=max_workers, mp_context=get_context("spawn"),
                               initializer=_die_with, initargs=(os.getpid(),))

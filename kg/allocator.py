"""The memory allocator kg's processes run with: mimalloc where it is installed, else the C
library's own.

Why: a process that answers many questions (a ``kg serve`` worker, a notebook) slows down with
glibc's ``malloc`` once it has answered a large one. Oxigraph's engine and RocksDB's block
cache allocate and free millions of small blocks; afterwards glibc's free lists are long and
scattered, and every later allocation searches them (``_int_malloc`` went from 5% to 23% of
the time in a profile). Measured at 100k articles (8.1M quads), the timeline of one topic: 5.4
ms in a new process, 10.4 ms after six listings had been answered; with mimalloc 5.5 and 5.7
ms, the listings themselves 13-23% quicker, the busiest actor's meetings 345 to 262 ms, for
a peak memory of 495 MB against 449. A whole build took 118 s instead of 127 s, its peak
memory 1.7 GB instead of 2.1 GB. (glibc's tunables came closest with
``glibc.malloc.tcache_count=65535``: 7 ms after the listings, but 0.5 GB more memory.)

How: an allocator replaces ``malloc`` only if it is loaded before the program starts
(``LD_PRELOAD``). So the ``kg`` command starts itself again, once, with mimalloc preloaded
(:func:`restart`), before it does anything; the processes it starts (a build's workers, a
server's query workers) inherit it. mimalloc comes from the ``cmeel-mimalloc`` wheel, a
dependency on Linux (:func:`library`). Anything else keeps the C library's allocator: another
system, a missing wheel, or ``KG_ALLOCATOR=system`` in the environment. A long-lived Python
session can be started with it by hand::

    LD_PRELOAD=$(python -m kg.allocator) jupyter lab

>>> active() in (True, False)
True
>>> environ({"KG_ALLOCATOR": "system"})
{'KG_ALLOCATOR': 'system'}
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["library", "active", "environ", "restart", "describe"]

#: ``KG_ALLOCATOR=system`` keeps the C library's allocator.
SWITCH = "KG_ALLOCATOR"
#: Set in the environment of a process :func:`restart` started, so that it never loops.
_RESTARTED = "KG_ALLOCATOR_RESTARTED"
_NAME = "libmimalloc"


def library() -> Path | None:
    """The mimalloc shared library to preload, or None: not on Linux, the wheel is not
    installed, or ``KG_ALLOCATOR=system``."""
    if not sys.platform.startswith("linux") or os.environ.get(SWITCH) == "system":
        return None
    from importlib import metadata

    try:
        dist = metadata.distribution("cmeel-mimalloc")
    except metadata.PackageNotFoundError:
        return None
    # a wheel holds each name (libmimalloc.so, .so.3, .so.3.4) as a copy of its own: the most
    # versioned one is preloaded, so that every process names the same file
    names = sorted((f for f in dist.files or () if f.name.startswith(_NAME + ".so")),
                   key=lambda f: (-f.name.count("."), f.name))
    for name in names:
        path = Path(dist.locate_file(name))
        if path.is_file():
            return path.resolve()
    return None


def active() -> bool:
    """Whether this process runs with mimalloc (it is mapped into its memory)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            return any(_NAME in line for line in maps)
    except OSError:
        return False


def environ(env: dict | None = None) -> dict:
    """``env`` (default: this process's environment) with mimalloc preloaded for the
    processes started with it, where :func:`library` finds it."""
    env = dict(os.environ if env is None else env)
    lib = None if env.get(SWITCH) == "system" else library()
    return env if lib is None else _preloading(env, lib)


def _preloading(env: dict, lib: Path) -> dict:
    preload = [p for p in env.get("LD_PRELOAD", "").split(":") if p and p != str(lib)]
    env["LD_PRELOAD"] = ":".join([str(lib), *preload])
    return env


def restart() -> None:
    """Start this program again with mimalloc preloaded (same interpreter, arguments and open
    files), unless it runs with it already, cannot, or was started again once before.
    Call it first thing: nothing done before it is kept."""
    if active() or os.environ.get(_RESTARTED):
        return
    lib, argv = library(), getattr(sys, "orig_argv", None)
    if lib is None or not argv or not sys.executable:
        return
    env = _preloading(dict(os.environ), lib)
    env[_RESTARTED] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, [sys.executable, *argv[1:]], env)
    except OSError:  # cannot start again (a sandbox): go on with the allocator there is
        return


def describe() -> str:
    """Which allocator this process runs with, in words."""
    return "mimalloc" if active() else "the C library's malloc"


if __name__ == "__main__":  # the path to preload, for a session started by hand
    lib = library()
    if lib is None:
        sys.exit("mimalloc is not installed here (pip install cmeel-mimalloc; Linux only)")
    print(lib)

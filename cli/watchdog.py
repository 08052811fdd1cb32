"""A watchdog that ends a command's children when the command dies, however it dies (a SIGKILL, an OOM kill):
an embedded run starts Prefect's temporary server as a child process, which outlived a killed run (a uvicorn
server holding a port and a sqlite database, one per killed run).

The command keeps the write end of a pipe open for its whole life; the watchdog, a small process of its own
session, blocks on the read end, and notes the command's children every second (pid and start time). When the
pipe reads end-of-file the command is gone: each noted child still alive with the same start time (not a
reused pid) gets SIGTERM, then SIGKILL after 10 s. A command that ends normally stops its children first, so
the watchdog finds none. Only commands that run flows in this process use it (`recsys services start`
launches servers meant to outlive it).

Run as ``python -m cli.watchdog PARENT_PID FD``.
"""

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from recsys.processes import started, stat_fields

_HELD: list[int] = []  # the pipe's write end, open until the process ends


def guard_children() -> None:
    """Start the watchdog for this process (once)."""
    if _HELD:
        return
    read, write = os.pipe()
    subprocess.Popen(
        [sys.executable, "-m", "cli.watchdog", str(os.getpid()), str(read)],
        pass_fds=(read,),
        start_new_session=True,  # not in the command's process group: a Ctrl-C or killpg spares it
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[1],
    )
    os.close(read)
    _HELD.append(write)


def children_of(parent: int) -> dict[int, str]:
    """The processes whose parent is ``parent``: pid -> start time."""
    found = {}
    for entry in Path("/proc").iterdir():
        fields = stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields and int(fields[1]) == parent:
            found[int(entry.name)] = fields[19]
    return found


def watch(parent: int, fd: int, poll: float = 1.0, grace: float = 10.0) -> list[int]:
    """Block until ``fd`` reads end-of-file (the parent is gone), then end the parent's children; returns the
    pids that were signalled."""
    seen: dict[int, str] = {}
    while True:
        seen.update(children_of(parent))
        ready, _, _ = select.select([fd], [], [], poll)
        if ready and not os.read(fd, 1):
            break
    alive = {pid for pid, start in seen.items() if started(pid) == start}
    for pid in alive:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(started(p) == seen[p] for p in alive):
        time.sleep(0.2)
    for pid in alive:
        if started(pid) == seen[pid]:
            os.kill(pid, signal.SIGKILL)
    return sorted(alive)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(int(sys.argv[1]), int(sys.argv[2]))

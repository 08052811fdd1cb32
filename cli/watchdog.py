"""A watchdog that ends a command's children when the command dies, however it dies (a SIGKILL, an OOM kill):
an embedded run starts Prefect's temporary server as a child process, which outlived a killed run (a uvicorn
server holding a port and a sqlite database, one per killed run).

The command keeps the write end of a pipe open for its whole life; the watchdog, a small process of its own
session, blocks on the read end, and notes the command's descendants every second (children, their children,
...: pid and start time; a child's own children are orphaned, not ended, when it is killed, so they are noted
while their parent lives). When the pipe reads end-of-file the command is gone: each noted process still alive
with the same start time (not a reused pid) gets SIGTERM, then SIGKILL after 5 s. A command that ends normally
stops its children first, so the watchdog finds none (the watchdog, a child itself, leaves itself out). Only
commands that run flows in this process use it (`recsys services start` launches servers meant to outlive it).

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


def descendants_of(roots: set[int]) -> dict[int, str]:
    """The processes below ``roots`` (children, their children, ...): pid -> start time; never the watchdog
    itself, which is the command's child too."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        fields = stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields:
            children.setdefault(int(fields[1]), []).append((int(entry.name), fields[19]))
    found: dict[int, str] = {}
    below = list(roots)
    while below:
        for pid, start in children.get(below.pop(), []):
            if pid not in found and pid != os.getpid():
                found[pid] = start
                below.append(pid)
    return found


def watch(parent: int, fd: int, poll: float = 1.0, grace: float = 5.0) -> list[int]:
    """Block until ``fd`` reads end-of-file (the parent is gone), then end the parent's descendants; returns the
    pids that were signalled."""
    seen: dict[int, str] = {}
    while True:
        seen.update(descendants_of({parent}))
        ready, _, _ = select.select([fd], [], [], poll)
        if ready and not os.read(fd, 1):
            break
    alive = {pid for pid, start in seen.items() if started(pid) == start}
    seen.update(descendants_of(alive))  # started by a survivor since the last look
    alive = {pid for pid, start in seen.items() if started(pid) == start}
    for pid in alive:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(started(p) == seen[p] for p in alive):
        time.sleep(0.2)
    for pid in alive:
        if started(pid) == seen[pid]:
            _signal(pid, signal.SIGKILL)
    return sorted(alive)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:  # it ended since the look (a child ends with its parent): nothing to do
        pass


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(int(sys.argv[1]), int(sys.argv[2]))

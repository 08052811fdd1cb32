"""The watchdog of `cli.watchdog` with real processes: a command SIGKILLed (no chance to clean up) leaves
neither its child nor its child's child behind, one that ignores SIGTERM included."""

import os
import signal
import subprocess
import sys
import time

from recsys.processes import started
from tests.conftest import REPO

COMMAND = """
import subprocess, sys, time
from cli.watchdog import guard_children
guard_children()
time.sleep(0.5)  # the watchdog is up
stubborn = "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
stubborn += "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
stubborn += "print(g.pid, flush=True); time.sleep(600)"
child = subprocess.Popen([sys.executable, "-c", stubborn], stdout=subprocess.PIPE, text=True)
grandchild = int(child.stdout.readline())
print(child.pid, grandchild, flush=True)
time.sleep(600)
"""


def test_a_killed_command_leaves_neither_its_child_nor_its_grandchild(tmp_path):
    command = subprocess.Popen([sys.executable, "-c", COMMAND], cwd=REPO, stdout=subprocess.PIPE, text=True)
    child, grandchild = (int(pid) for pid in command.stdout.readline().split())
    noted = {pid: started(pid) for pid in (child, grandchild)}
    time.sleep(1.5)  # the watchdog looks every second
    try:
        os.kill(command.pid, signal.SIGKILL)
        command.wait()
        deadline = time.monotonic() + 30
        while any(started(pid) == start for pid, start in noted.items()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid, start in noted.items() if started(pid) == start] == []
    finally:
        for pid, start in noted.items():
            if started(pid) == start:
                os.kill(pid, signal.SIGKILL)

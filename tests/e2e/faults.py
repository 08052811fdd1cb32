"""Helpers of the fault suite: `recsys` run as a real process whose output can be waited on, signalled and
cleaned up (its whole process session), and a small tmpfs whose size is the disk."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent


class Recsys:
    """``recsys ARGS`` in its own session; its output lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.process = subprocess.Popen(
            [str(BIN / "recsys"), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 180) -> str:
        """The first output line matching ``pattern``; raises if the process ends or time runs out first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in list(self.lines) if re.search(pattern, line)), None)
            if found:
                return found
            if self.process.poll() is not None:
                time.sleep(0.2)  # the reader may still be behind
                found = next((line for line in list(self.lines) if re.search(pattern, line)), None)
                if found:
                    return found
                raise AssertionError(
                    f"recsys ended ({self.process.returncode}) without {pattern!r}:\n{self.output[-3000:]}"
                )
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} within {timeout} s:\n{self.output[-3000:]}")

    def finish(self, timeout: float = 600) -> int:
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code

    def session(self) -> list[int]:
        """Pids still alive in the process's session (the process, Prefect's temporary server, ...)."""
        return session_members(self.process.pid)

    def kill_session(self) -> None:
        for pid in self.session():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def session_members(sid: int) -> list[int]:
    """Live (not zombie) processes whose session id is ``sid``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def described(pids: list[int]) -> list[str]:
    """``pid: command line`` of each pid (for an assertion message naming what survived)."""
    lines = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            lines.append(f"{pid}: {command[:300]}")
        except OSError:
            lines.append(f"{pid}: (gone)")
    return lines


def mount_tmpfs(folder: Path, size: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)


def unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], check=False)


def error_line(output: str) -> str:
    """The one ``error:`` line a failed command printed (asserting there is exactly one)."""
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output[-3000:]
    return errors[0]

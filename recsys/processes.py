"""Processes as /proc shows them (Linux): who started when, and who a process's parent is. A pid alone can be
reused by an unrelated process; a pid with its start time names one process for good."""

from pathlib import Path


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (field 3 onwards), None when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None


def started(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), "" when it is gone."""
    fields = stat_fields(pid)
    return fields[19] if fields else ""

"""Process checks shared by the engines (Linux/POSIX)."""

from __future__ import annotations

import os


def pid_exists(pid: int) -> bool:
    """Whether a process ``pid`` exists (signal 0; one we may not signal exists too).

    A zombie exists until it is reaped; callers that care check for it themselves.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""Running a child process that file permissions apply to, even when the tests run as root.

Root ignores read-only files and directories (CAP_DAC_OVERRIDE), so a test that makes the
question log read-only proves nothing as root. Containers and CI often do run as root; there the
child is started through `setpriv` without the capabilities that bypass permissions: still
uid 0, so it can read everything root owns, but a file without a write bit is read-only.
"""

from __future__ import annotations

import os
import shutil

import pytest

# The capabilities that let root ignore file modes and ownership.
_BYPASS = ("dac_override", "dac_read_search", "fowner")


def unprivileged_prefix() -> list[str]:
    """The argv prefix that starts a child subject to file permissions (skips if impossible)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a file read-only to the bot")
    drop = ",".join(f"-{cap}" for cap in _BYPASS)
    return [setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}", "--"]

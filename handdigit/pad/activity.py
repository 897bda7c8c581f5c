"""Drawing activity, as the app's kernel manager sees it: the pad in a visitor's kernel touches a
file named after its kernel when the visitor really draws (a stroke that moves, an upload, a test
digit), and `handdigit app` ends sessions whose file is older than the idle time.

Jupyter's own idle culling counts every message as activity, so a visitor (or a script) clicking a
button every few seconds kept a kernel, and a slot, for ever. Outside `handdigit app` (no
HANDDIGIT_ACTIVITY_DIR in the environment) `note_drawing()` does nothing.
"""

import contextlib
import os
import re
import time
from pathlib import Path

ENVIRONMENT_VARIABLE = "HANDDIGIT_ACTIVITY_DIR"
MIN_SECONDS_BETWEEN_NOTES = 2.0
_last_note = [0.0]


def kernel_id():
    """This kernel's id (from its connection file's name), or None outside a Jupyter kernel."""
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:  # noqa: BLE001 - not in a kernel: nothing to note
        return None
    match = re.fullmatch(r"kernel-([0-9A-Za-z-]+)\.json", name)
    return match.group(1) if match else None


def note_drawing():
    """Record that the visitor drew just now (at most every MIN_SECONDS_BETWEEN_NOTES)."""
    directory = os.environ.get(ENVIRONMENT_VARIABLE)
    now = time.monotonic()
    if not directory or now - _last_note[0] < MIN_SECONDS_BETWEEN_NOTES:
        return
    identifier = kernel_id()
    if identifier is None:
        return
    _last_note[0] = now
    with contextlib.suppress(OSError):  # unnoted, the session ends at its idle time
        Path(directory, identifier).touch()


def last_drawing(directory, identifier):
    """Wall-clock time of the kernel's last noted drawing, or None."""
    try:
        return Path(directory, identifier).stat().st_mtime
    except OSError:
        return None
